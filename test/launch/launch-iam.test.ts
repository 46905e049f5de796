/**
 * Who can feed the launch check and who can start a remediation through it, decided by
 * @cloud-copilot/iam-simulate on the SYNTHESIZED template (identity policies of every role, the
 * launch queue's resource policy), resolved to one account and region. The context keys are the
 * ones the real requests carry: `aws:PrincipalArn` for IAM principals (the simulator does not
 * derive it), `aws:SourceArn` / `aws:SourceAccount` for EventBridge delivering to its target.
 */
import { Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { TimeSyncGuard, type TimeSyncGuardProps } from '../../lib/time-sync-guard';
import { resolver } from '../support/cfn-resolve';
import { simulate } from '../support/iam-simulate';
import { testApp } from '../lib/util';

import { ACCOUNT, REGION } from '../support/cfn-resolve';
type Json = Record<string, unknown>;

function synthesized(props: TimeSyncGuardProps) {
  const stack = new Stack(testApp(), 'LaunchIam');
  new TimeSyncGuard(stack, 'Guard', props);
  const resources = Template.fromStack(stack).toJSON().Resources as Record<string, Json>;
  const { resolve, arnOf } = resolver(resources);
  const ids = (type: string) => Object.keys(resources).filter((id) => resources[id]!.Type === type);
  const one = (type: string, prefix: string): string => {
    const found = ids(type).filter((id) => id.startsWith(prefix));
    if (found.length !== 1) throw new Error(`expected one ${type} ${prefix}*, found ${found.join(', ')}`);
    return found[0]!;
  };
  const policiesOf = (roleId: string) =>
    ids('AWS::IAM::Policy')
      .filter((id) => JSON.stringify((resources[id]!.Properties as Json).Roles).includes(`"${roleId}"`))
      .map((name) => ({ name, policy: resolve((resources[name]!.Properties as Json).PolicyDocument) }));
  const queueId = one('AWS::SQS::Queue', 'GuardLaunchCheckQueue');
  const queuePolicyId = ids('AWS::SQS::QueuePolicy').find((id) => JSON.stringify((resources[id]!.Properties as Json).Queues).includes(`"${queueId}"`))!;
  const launchRole = one('AWS::IAM::Role', 'GuardLaunchCheckHandlerRole');
  return {
    roles: ids('AWS::IAM::Role'),
    policiesOf,
    arnOf,
    launchRole,
    queueArn: arnOf(queueId),
    queuePolicy: resolve((resources[queuePolicyId]!.Properties as Json).PolicyDocument),
    ruleArn: arnOf(one('AWS::Events::Rule', 'GuardLaunchCheckRunningRule')),
    stateMachineArn: arnOf(ids('AWS::StepFunctions::StateMachine')[0]!),
  };
}

/** Whatever an identity policy could give someone in the account: everything. */
const ADMIN = [{ name: 'admin', policy: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }] } }];

describe('launch queue: only the product sends (queue policy, evaluated by iam-simulate)', () => {
  const s = synthesized({ launchCheck: true, remediateOnLaunch: true } as TimeSyncGuardProps);
  const asIam = (principal: string, action: string, policies: { name: string; policy: unknown }[], resourcePolicy: unknown = s.queuePolicy) =>
    simulate({ principal, action, resource: s.queueArn, accountId: ACCOUNT, context: { 'aws:PrincipalArn': principal, 'aws:SecureTransport': 'true' } }, policies, resourcePolicy);
  const asEvents = (sourceArn: string) =>
    simulate(
      { principal: 'events.amazonaws.com', action: 'sqs:SendMessage', resource: s.queueArn, accountId: ACCOUNT, context: { 'aws:SourceArn': sourceArn, 'aws:SourceAccount': ACCOUNT, 'aws:SecureTransport': 'true' } },
      [],
      s.queuePolicy,
    );

  it('lets the launch role send its retries', async () => {
    expect(await asIam(s.arnOf(s.launchRole), 'sqs:SendMessage', s.policiesOf(s.launchRole))).toBe('Allowed');
  });

  it('lets the running rule deliver EC2 events, and no other rule', async () => {
    expect(await asEvents(s.ruleArn)).toBe('Allowed');
    expect(await asEvents(`arn:aws:events:${REGION}:${ACCOUNT}:rule/forger`)).toBe('ExplicitlyDenied');
  });

  it.each([`arn:aws:iam::${ACCOUNT}:role/Developer`, `arn:aws:iam::${ACCOUNT}:user/ci`, `arn:aws:iam::${ACCOUNT}:root`])(
    'denies SendMessage to %s even with an identity policy allowing everything',
    async (principal) => {
      expect(await asIam(principal, 'sqs:SendMessage', ADMIN)).toBe('ExplicitlyDenied');
    },
  );

  it.each(['sqs:SetQueueAttributes', 'sqs:GetQueueAttributes', 'sqs:ReceiveMessage', 'sqs:PurgeQueue', 'sqs:DeleteQueue'])(
    'does not lock the account out of managing the queue (%s is still allowed to an administrator)',
    async (action) => {
      expect(await asIam(`arn:aws:iam::${ACCOUNT}:role/cdk-hnb659fds-cfn-exec-role-${ACCOUNT}-${REGION}`, action, ADMIN)).toBe('Allowed');
    },
  );

  it('the test can fail: without its Deny statement the queue policy lets an administrator send a forged retry', async () => {
    const policy = s.queuePolicy as { Statement: { Sid?: string }[] };
    const withoutDeny = { ...policy, Statement: policy.Statement.filter((st) => st.Sid !== 'OnlyTheLaunchCheckAndItsRuleSend') };
    expect(withoutDeny.Statement.length).toBe(policy.Statement.length - 1);
    expect(await asIam(`arn:aws:iam::${ACCOUNT}:role/Developer`, 'sqs:SendMessage', ADMIN, withoutDeny)).toBe('Allowed');
  });
});

describe('launch remediation: only the launch role starts it (identity policies of every role)', () => {
  const s = synthesized({ launchCheck: true, remediateOnLaunch: true } as TimeSyncGuardProps);
  const start = (roleId: string, stateMachineArn = s.stateMachineArn) =>
    simulate({ principal: s.arnOf(roleId), action: 'states:StartExecution', resource: stateMachineArn, accountId: ACCOUNT, context: { 'aws:PrincipalArn': s.arnOf(roleId) } }, s.policiesOf(roleId));

  it('lets the launch role start the remediation state machine and no other', async () => {
    expect(await start(s.launchRole)).toBe('Allowed');
    expect(await start(s.launchRole, `arn:aws:states:${REGION}:${ACCOUNT}:stateMachine:SomethingElse`)).toBe('ImplicitlyDenied');
  });

  it('gives StartExecution on it to the launch role, the check role and the nightly schedule only: no EventBridge rule role', async () => {
    const allowed: string[] = [];
    for (const role of s.roles) if ((await start(role)) === 'Allowed') allowed.push(role.replace(/[0-9A-F]{8}$/, ''));
    // The check role starts its urgent runs (urgentRemediation, live by default: docs/remediation.md).
    expect(allowed.sort()).toEqual(['GuardCheckHandlerRole', 'GuardLaunchCheckHandlerRole', 'GuardSchedulerRole'].sort());
  });

  it('without remediateOnLaunch the launch role may start nothing', async () => {
    const plain = synthesized({ launchCheck: true } as TimeSyncGuardProps);
    expect(
      await simulate(
        { principal: plain.arnOf(plain.launchRole), action: 'states:StartExecution', resource: plain.stateMachineArn, accountId: ACCOUNT, context: {} },
        plain.policiesOf(plain.launchRole),
      ),
    ).toBe('ImplicitlyDenied');
  });
});
