import { type CfnElement, type Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { LogGroup, type RetentionDays } from 'aws-cdk-lib/aws-logs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import type { Construct } from 'constructs';

/** What {@link loggedStateMachine} builds a state machine from. */
export interface LoggedStateMachineProps {
  /** Fixed name (the log group is named after it). */
  readonly stateMachineName: string;
  readonly definition: sfn.IChainable;
  readonly timeout: Duration;
  /** Retention of the execution log group. */
  readonly logRetention: RetentionDays;
  /** The functions its LambdaInvoke tasks call, with what each is (for the cdk-nag acknowledgement). */
  readonly invokes: readonly { readonly fn: IFunction; readonly what: string }[];
}

/**
 * A standard workflow with X-Ray tracing and execution logging at level ALL into its own log group,
 * as both state machines of this project are built (the remediation loop and the organization hub).
 * The children are `Logs` and `Resource` of `scope`, so the logical ids are those of the construct
 * that calls it. Acknowledges the two wildcard grants CDK writes for it, each with its true reason.
 */
export function loggedStateMachine(scope: Construct, props: LoggedStateMachineProps): { stateMachine: sfn.StateMachine; logGroup: LogGroup } {
  const stack = Stack.of(scope);
  // The /aws/vendedlogs/ prefix keeps Step Functions from growing the account's CloudWatch Logs
  // resource policy (10 per region, 5,120 characters) for every log group it delivers to.
  // Deleted with the stack (unlike the function logs, which hold the audit trail): a retained log
  // group with this fixed name would make re-creating a stack of the same name fail.
  const logGroup = new LogGroup(scope, 'Logs', {
    logGroupName: `/aws/vendedlogs/states/${props.stateMachineName}`,
    retention: props.logRetention,
    removalPolicy: RemovalPolicy.DESTROY,
  });
  const stateMachine = new sfn.StateMachine(scope, 'Resource', {
    stateMachineName: props.stateMachineName,
    stateMachineType: sfn.StateMachineType.STANDARD,
    definitionBody: sfn.DefinitionBody.fromChainable(props.definition),
    timeout: props.timeout,
    tracingEnabled: true,
    logs: { destination: logGroup, level: sfn.LogLevel.ALL, includeExecutionData: true },
  });

  const policy = stateMachine.role.node.tryFindChild('DefaultPolicy');
  Validations.of(policy ?? stateMachine.role).acknowledge(
    {
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'X-Ray (PutTraceSegments, PutTelemetryRecords, GetSamplingRules, GetSamplingTargets) and the CloudWatch Logs log-delivery actions Step Functions documents for execution logging (CreateLogDelivery, GetLogDelivery, UpdateLogDelivery, DeleteLogDelivery, ListLogDeliveries, PutResourcePolicy, DescribeResourcePolicies, DescribeLogGroups) on "*": the delivery actions have no resource-level permissions, and PutResourcePolicy/DescribeResourcePolicies/DescribeLogGroups are what lets the log delivery create the log group resource policy for delivery.logs.amazonaws.com the first time (CloudWatch Logs, "Logs sent to CloudWatch Logs").',
    },
    ...props.invokes.map(({ fn, what }) => ({
      id: `AwsSolutions-IAM5[Resource::<${stack.getLogicalId(fn.node.defaultChild as CfnElement)}.Arn>:*]`,
      reason: `LambdaInvoke grants ${what} and its versions/aliases (ARN:*); no other function is reachable.`,
    })),
  );
  return { stateMachine, logGroup };
}
