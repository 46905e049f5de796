/**
 * IAM of the fix at the source, decided by @cloud-copilot/iam-simulate on the statements the construct
 * adds (lib/launch-template-grants.ts), and the construct's hook checked on the synthesized template.
 */
import { Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { launchTemplateStatements } from '../../lib/launch-template-grants';
import { TimeSyncGuard, type TimeSyncGuardProps } from '../../lib/time-sync-guard';
import { type Decision, simulate } from '../support/iam-simulate';
import { testApp } from './util';

const ACCOUNT = '111122223333';
const TEMPLATES = `arn:aws:ec2:eu-west-1:${ACCOUNT}:launch-template/*`;
const TEMPLATE = `arn:aws:ec2:eu-west-1:${ACCOUNT}:launch-template/lt-0123456789abcdef0`;
const OPT_OUT = 'timesync-guard:opt-out';

type Policies = { name: string; policy: unknown }[];
const policies = (mode: 'off' | 'report' | 'fix', write = true): Policies => [
  { name: 'p', policy: { Version: '2012-10-17', Statement: launchTemplateStatements({ mode, write, templates: TEMPLATES, optOutTagKey: OPT_OUT }).map((s) => s.toStatementJson()) } },
];
const decide = (p: Policies, action: string, tags: Record<string, string> = {}, resource = TEMPLATE): Promise<Decision> =>
  simulate({ principal: `arn:aws:iam::${ACCOUNT}:role/GuardRole`, action, resource, accountId: ACCOUNT, context: Object.fromEntries(Object.entries(tags).map(([k, v]) => [`aws:ResourceTag/${k}`, v])) }, p);

describe('launch templates IAM (launchTemplates), evaluated by iam-simulate', () => {
  it.each(['ec2:CreateLaunchTemplateVersion', 'ec2:ModifyLaunchTemplate'])('fix mode allows %s on a template CloudFormation does not manage', async (action) => {
    expect(await decide(policies('fix'), action, { Name: 'web' })).toBe('Allowed');
  });

  it.each(['ec2:CreateLaunchTemplateVersion', 'ec2:ModifyLaunchTemplate'])('denies %s on a template tagged aws:cloudformation:stack-name, explicitly', async (action) => {
    expect(await decide(policies('fix'), action, { 'aws:cloudformation:stack-name': 'web-stack' })).toBe('ExplicitlyDenied');
  });

  it('denies a template that carries the opt-out tag', async () => {
    expect(await decide(policies('fix'), 'ec2:CreateLaunchTemplateVersion', { [OPT_OUT]: 'true' })).toBe('ExplicitlyDenied');
    expect(await decide(policies('fix'), 'ec2:CreateLaunchTemplateVersion', { [OPT_OUT]: 'false' })).toBe('Allowed');
  });

  it.each([
    ['off', 'ec2:DeleteLaunchTemplate'],
    ['report', 'ec2:DeleteLaunchTemplateVersions'],
    ['fix', 'ec2:DeleteLaunchTemplate'],
    ['fix', 'ec2:DeleteLaunchTemplateVersions'],
  ] as const)('in %s mode never allows %s', async (mode, action) => {
    expect(await decide(policies(mode), action)).toBe('ExplicitlyDenied');
  });

  it('report mode and the check role read the sources and write nothing', async () => {
    for (const p of [policies('report'), policies('fix', false)]) {
      expect(await decide(p, 'ec2:DescribeLaunchTemplateVersions', {}, '*')).toBe('Allowed');
      expect(await decide(p, 'autoscaling:DescribeAutoScalingGroups', {}, '*')).toBe('Allowed');
      expect(await decide(p, 'ec2:CreateLaunchTemplateVersion')).toBe('ImplicitlyDenied');
    }
    expect(await decide(policies('off'), 'ec2:DescribeLaunchTemplates', {}, '*')).toBe('ImplicitlyDenied');
  });

  it('the test can fail: without the Deny and the condition, a CloudFormation template is writable', async () => {
    const [{ policy }] = policies('fix');
    const p = policy as { Statement: Record<string, unknown>[] };
    const broken = [{ name: 'p', policy: { ...p, Statement: p.Statement.filter((s) => s.Sid !== 'NeverTouchCloudFormationTemplates').map((s) => (s.Sid === 'NewLaunchTemplateVersions' ? Object.fromEntries(Object.entries(s).filter(([k]) => k !== 'Condition')) : s)) } }];
    expect(await decide(broken, 'ec2:CreateLaunchTemplateVersion', { 'aws:cloudformation:stack-name': 'web-stack' })).toBe('Allowed');
  });

  it('the construct grants the writes to the remediate role only with launchTemplates: fix', () => {
    const template = (props: TimeSyncGuardProps) => {
      const stack = new Stack(testApp(), 'Sim');
      new TimeSyncGuard(stack, 'Guard', props);
      return Template.fromStack(stack);
    };
    const has = (t: Template) => Object.values(t.findResources('AWS::IAM::Policy')).some((r) => JSON.stringify(r).includes('"NewLaunchTemplateVersions"'));
    expect(has(template({}))).toBe(false);
    expect(has(template({ launchTemplates: 'fix' } as TimeSyncGuardProps))).toBe(true);
  });
});
