import { ArnFormat, type CfnElement, Stack, Validations } from 'aws-cdk-lib';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { StateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import { URGENT_STATE_MACHINE_ENV } from '../../lambda/core/fleet/urgent';
import type { GuardFunction } from './guard-function';

/**
 * The urgent path's wiring (docs/remediation.md, "Urgent hosts"): the check function starts the
 * remediation state machine itself, so nothing on an event bus can start it with ids of its
 * choosing. Its role may start this one machine and read this machine's executions (the urgent
 * memory and the day's spent cap), nothing else in Step Functions.
 */
export function wireUrgentPath(check: GuardFunction, stateMachine: StateMachine): void {
  const stack = Stack.of(check);
  check.function.addEnvironment(URGENT_STATE_MACHINE_ENV, stateMachine.stateMachineArn);
  check.role.addToPrincipalPolicy(
    new PolicyStatement({ sid: 'UrgentRemediationStart', actions: ['states:StartExecution', 'states:ListExecutions'], resources: [stateMachine.stateMachineArn] }),
  );
  // DescribeExecution is authorized on the execution ARN: every execution of this machine, and only of it.
  const executions = stack.formatArn({ service: 'states', resource: 'execution', resourceName: `${stateMachine.stateMachineName}:*`, arnFormat: ArnFormat.COLON_RESOURCE_NAME });
  check.role.addToPrincipalPolicy(new PolicyStatement({ sid: 'UrgentRemediationHistory', actions: ['states:DescribeExecution'], resources: [executions] }));
  Validations.of(check.role).acknowledge({
    id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:<${stack.getLogicalId(stateMachine.node.defaultChild as CfnElement)}.Name>:*]`,
    reason: "DescribeExecution of the remediation state machine's own executions (the urgent path's 24 h memory); execution names are generated per run, so the ARN ends in :*, scoped to that one machine.",
  });
}
