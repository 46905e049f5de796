/**
 * The urgent path's start (docs/remediation.md, "Urgent hosts"), decided by @cloud-copilot/iam-simulate
 * on the SYNTHESIZED default stack: the check role may start the remediation state machine and read
 * its executions, and nothing else in Step Functions; in dry run it may not even do that.
 */
import { Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { TimeSyncGuard, type TimeSyncGuardProps } from '../../lib/time-sync-guard';
import { ACCOUNT, REGION, resolver } from '../support/cfn-resolve';
import { simulate } from '../support/iam-simulate';
import { testApp } from './util';

type Json = Record<string, unknown>;

function synthesized(props: TimeSyncGuardProps = {}) {
  const stack = new Stack(testApp(), 'UrgentIam');
  new TimeSyncGuard(stack, 'Guard', props);
  const resources = Template.fromStack(stack).toJSON().Resources as Record<string, Json>;
  const { resolve, arnOf } = resolver(resources);
  const ids = (type: string) => Object.keys(resources).filter((id) => resources[id]!.Type === type);
  const checkRole = ids('AWS::IAM::Role').find((id) => id.startsWith('GuardCheckHandlerRole'))!;
  const machine = ids('AWS::StepFunctions::StateMachine')[0]!;
  const policies = ids('AWS::IAM::Policy')
    .filter((id) => JSON.stringify((resources[id]!.Properties as Json).Roles).includes(`"${checkRole}"`))
    .map((name) => ({ name, policy: resolve((resources[name]!.Properties as Json).PolicyDocument) }));
  const principal = arnOf(checkRole);
  const asCheck = (action: string, resource: string) => simulate({ principal, action, resource, accountId: ACCOUNT, context: { 'aws:PrincipalArn': principal } }, policies);
  return { asCheck, machineArn: arnOf(machine), executionArn: (name: string) => `arn:aws:states:${REGION}:${ACCOUNT}:execution:${machine}:${name}`, policies };
}

const OTHER_MACHINE = `arn:aws:states:${REGION}:${ACCOUNT}:stateMachine:SomethingElse`;

describe('urgent path: the check role starts the remediation state machine only (default synth)', () => {
  const s = synthesized();

  it('lets the check role start the remediation state machine and list its executions', async () => {
    expect(await s.asCheck('states:StartExecution', s.machineArn)).toBe('Allowed');
    expect(await s.asCheck('states:ListExecutions', s.machineArn)).toBe('Allowed');
    expect(await s.asCheck('states:DescribeExecution', s.executionArn('urgent-20261207T020000000Z-0123456789abcdef'))).toBe('Allowed');
  });

  it.each(['states:StartExecution', 'states:ListExecutions', 'states:StartSyncExecution', 'states:UpdateStateMachine', 'states:DeleteStateMachine'])(
    'refuses %s on any other state machine',
    async (action) => {
      expect(await s.asCheck(action, OTHER_MACHINE)).toBe('ImplicitlyDenied');
    },
  );

  it.each(['states:StartSyncExecution', 'states:UpdateStateMachine', 'states:DeleteStateMachine', 'states:TagResource'])('refuses %s on the remediation state machine itself', async (action) => {
    expect(await s.asCheck(action, s.machineArn)).toBe('ImplicitlyDenied');
  });

  it("refuses StopExecution and another machine's executions", async () => {
    expect(await s.asCheck('states:StopExecution', s.executionArn('nightly'))).toBe('ImplicitlyDenied');
    expect(await s.asCheck('states:DescribeExecution', `arn:aws:states:${REGION}:${ACCOUNT}:execution:SomethingElse:x`)).toBe('ImplicitlyDenied');
  });

  it.each([
    ['dry run', { dryRun: true }],
    ['urgentRemediation false', { urgentRemediation: false }],
    ['remediation disabled', { remediationEnabled: false }],
  ] as const)('with %s the check role may start nothing', async (_name, props) => {
    const off = synthesized(props as TimeSyncGuardProps);
    expect(await off.asCheck('states:StartExecution', off.machineArn)).toBe('ImplicitlyDenied');
    expect(JSON.stringify(off.policies)).not.toContain('states:');
  });
});
