/**
 * The spoke role as IAM decides it (@cloud-copilot/iam-simulate on the template the StackSet deploys,
 * its `Fn::Sub`s resolved for one member account): the check and remediation calls the hub makes
 * are allowed in that account, the documents run (and are read) only in the regions the documents
 * StackSet deploys to, a lowering or an opted-out instance is denied as in the single-account roles,
 * and only the hub's item-function role can assume it.
 */
import { spokeRoleTemplate } from '../../lib/constructs/org-spoke';
import { simulate } from '../support/iam-simulate';
import { policyStatements } from '../lib/util';
import { HUB, orgTemplate } from './util';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { TimeSyncGuardStack } from '../../lib/time-sync-guard-stack';

/** The single-account stack with the same undo setting: its check role's IMDSv2 policy is the reference. */
const singleAccountUndo = Template.fromStack(new TimeSyncGuardStack(new App({ context: { 'aws:cdk:bundling-stacks': [] } }), 'Single', { guard: { imdsv2: 'enforce', imdsv2AutoUndo: true } }));

const MEMBER = '111122223333';
/** The regions the documents StackSet deploys to (the role StackSet's `Regions` parameter). */
const STACKSET_REGIONS = ['eu-west-1', 'us-east-1', 'ap-southeast-2'];
const OTHER = '444455556666';
const ORG = 'o-abcdefghij';
const SPOKE = `arn:aws:iam::${MEMBER}:role/TimeSyncGuardSpoke`;
const HUB_ITEM_ROLE = `arn:aws:iam::${HUB}:role/Org-HubItemRole5EF2922A-ABCDEF`;
const HUB_LAUNCH_ROLE = `arn:aws:iam::${HUB}:role/Org-LaunchCheckHandlerRole1A2B3C4D-GHIJKL`;
const UNDO_ROLE = `arn:aws:iam::${MEMBER}:role/TimeSyncGuardSpoke-Imdsv2Undo`;
const instance = (region = 'eu-west-1') => `arn:aws:ec2:${region}:${MEMBER}:instance/i-0123456789abcdef0`;
const document = (name: string, region = 'eu-west-1', account = MEMBER) => `arn:aws:ssm:${region}:${account}:document/${name}`;

type Json = Record<string, unknown>;

/** Resolves the inner template's Fn::Sub / Ref for one member account and the hub's parameters. */
function resolve(v: unknown, params: Record<string, string | string[]>): unknown {
  const values: Record<string, string | string[]> = { 'AWS::Partition': 'aws', 'AWS::AccountId': MEMBER, ...params };
  if (Array.isArray(v)) return v.map((x) => resolve(x, params));
  if (v && typeof v === 'object') {
    const o = v as Json;
    if ('Fn::Sub' in o) return (o['Fn::Sub'] as string).replace(/\$\{([A-Za-z:]+)\}/g, (_m, k: string) => String(values[k]));
    if ('Ref' in o) return values[o.Ref as string];
    return Object.fromEntries(Object.entries(o).map(([k, x]) => [k, resolve(x, params)]));
  }
  return v;
}

type SpokeOptions = { organizationId?: string; hopLimitTarget?: number; optOutTagKey?: string; accountDefaults?: string; imdsv2?: string; imdsv2AutoUndo?: boolean; launchTemplates?: 'off' | 'report' | 'fix' };

function spoke(options: SpokeOptions = {}, resource = 'SpokeRole') {
  const t = spokeRoleTemplate({
    spokeRoleName: 'TimeSyncGuardSpoke',
    optOutTagKey: options.optOutTagKey ?? 'timesync-guard:opt-out',
    hopLimitTarget: options.hopLimitTarget ?? 2,
    enableMetadataEndpoint: false,
    organizationId: options.organizationId,
    ...(options.accountDefaults ? { accountDefaults: options.accountDefaults } : {}),
    ...(options.imdsv2 ? { imdsv2: options.imdsv2 } : {}),
    ...(options.imdsv2AutoUndo !== undefined ? { imdsv2AutoUndo: options.imdsv2AutoUndo } : {}),
    ...(options.launchTemplates ? { launchTemplates: options.launchTemplates } : {}),
  });
  const role = (t.Resources as Record<string, { Properties: Json }>)[resource]!.Properties;
  const params = { HubAccountId: HUB, HubRoleArns: [HUB_ITEM_ROLE, HUB_LAUNCH_ROLE], HubItemRoleArn: HUB_ITEM_ROLE, Regions: STACKSET_REGIONS };
  return {
    policy: [{ name: 'timesync-guard', policy: resolve((role.Policies as { PolicyDocument: Json }[])[0]!.PolicyDocument, params) }],
    trust: resolve(role.AssumeRolePolicyDocument, params),
  };
}

const decide = simulate;

/** A call the hub makes inside the member account under the spoke role (in the region of its resource, as IAM sets aws:RequestedRegion). */
const asSpoke = (policy: { name: string; policy: unknown }[], action: string, resource: string, context: Record<string, string | string[]> = {}) =>
  decide(
    {
      principal: `${SPOKE.replace(':role/', ':assumed-role/').replace('iam::', 'sts::')}/timesync-guard-check`,
      action,
      resource,
      accountId: MEMBER,
      context: { 'aws:RequestedRegion': resource.split(':')[3] || 'eu-west-1', ...context },
    },
    policy,
  );

const raise = (hop: string, tags: Record<string, string> = {}) => ({
  'ec2:Attribute/HttpPutResponseHopLimit': hop,
  ...Object.fromEntries(Object.entries(tags).map(([k, v]) => [`aws:ResourceTag/${k}`, v])),
});

describe('spoke role permissions (iam-simulate)', () => {
  const { policy } = spoke();

  it.each(['eu-west-1', 'us-east-1', 'ap-southeast-2'])('allows the check calls in %s', async (region) => {
    expect(await asSpoke(policy, 'ec2:DescribeInstances', '*')).toBe('Allowed');
    expect(await asSpoke(policy, 'ssm:DescribeInstanceInformation', '*')).toBe('Allowed');
    expect(await asSpoke(policy, 'ssm:ListCommandInvocations', '*')).toBe('Allowed');
    expect(await asSpoke(policy, 'ssm:SendCommand', document('TimeSyncGuard-Collect', region))).toBe('Allowed');
    expect(await asSpoke(policy, 'ssm:SendCommand', instance(region))).toBe('Allowed');
  });

  it('allows only the two timesync-guard documents of the member account', async () => {
    expect(await asSpoke(policy, 'ssm:SendCommand', document('TimeSyncGuard-Remediate'))).toBe('Allowed');
    expect(await asSpoke(policy, 'ssm:SendCommand', document('AWS-RunShellScript'))).toBe('ImplicitlyDenied');
    expect(await asSpoke(policy, 'ssm:SendCommand', document('TimeSyncGuard-Collect', 'eu-west-1', OTHER))).toBe('ImplicitlyDenied');
  });

  it.each(['sa-east-1', 'eu-central-1'])('cannot run or read a same-name document in %s, a region the StackSet does not deploy to', async (region) => {
    expect(await asSpoke(policy, 'ssm:SendCommand', document('TimeSyncGuard-Collect', region))).toBe('ImplicitlyDenied');
    expect(await asSpoke(policy, 'ssm:SendCommand', document('TimeSyncGuard-Remediate', region))).toBe('ImplicitlyDenied');
    expect(await asSpoke(policy, 'ssm:SendCommand', instance(region))).toBe('ImplicitlyDenied');
    expect(await asSpoke(policy, 'ssm:DescribeDocument', document('TimeSyncGuard-Collect', region))).toBe('ImplicitlyDenied');
  });

  it('reads the documents\' hash (DescribeDocument) in the StackSet regions, and no other document', async () => {
    for (const region of STACKSET_REGIONS) expect(await asSpoke(policy, 'ssm:DescribeDocument', document('TimeSyncGuard-Remediate', region))).toBe('Allowed');
    expect(await asSpoke(policy, 'ssm:DescribeDocument', document('Other'))).toBe('ImplicitlyDenied');
  });

  it('the region test can fail: the same requests are allowed when the Regions parameter names that region', async () => {
    const t = spokeRoleTemplate({ spokeRoleName: 'TimeSyncGuardSpoke', optOutTagKey: 'timesync-guard:opt-out', hopLimitTarget: 2, enableMetadataEndpoint: false });
    const role = (t.Resources as Record<string, { Properties: Json }>).SpokeRole!.Properties;
    const wide = [{ name: 'timesync-guard', policy: resolve((role.Policies as { PolicyDocument: Json }[])[0]!.PolicyDocument, { HubAccountId: HUB, HubRoleArns: [HUB_ITEM_ROLE], Regions: [...STACKSET_REGIONS, 'sa-east-1'] }) }];
    expect(await asSpoke(wide, 'ssm:SendCommand', document('TimeSyncGuard-Collect', 'sa-east-1'))).toBe('Allowed');
    expect(await asSpoke(wide, 'ssm:SendCommand', instance('sa-east-1'))).toBe('Allowed');
  });

  it('allows the hop-limit raise to the target and above', async () => {
    expect(await asSpoke(policy, 'ec2:ModifyInstanceMetadataOptions', instance(), raise('2'))).toBe('Allowed');
    expect(await asSpoke(policy, 'ec2:ModifyInstanceMetadataOptions', instance('us-east-1'), raise('3'))).toBe('Allowed');
  });

  it('denies lowering the hop limit, making tokens optional and disabling the endpoint', async () => {
    expect(await asSpoke(policy, 'ec2:ModifyInstanceMetadataOptions', instance(), raise('1'))).toBe('ExplicitlyDenied');
    expect(await asSpoke(policy, 'ec2:ModifyInstanceMetadataOptions', instance(), { 'ec2:Attribute/HttpTokens': 'optional' })).toBe('ExplicitlyDenied');
    expect(await asSpoke(policy, 'ec2:ModifyInstanceMetadataOptions', instance(), { 'ec2:Attribute/HttpEndpoint': 'disabled' })).toBe('ExplicitlyDenied');
    const target4 = spoke({ hopLimitTarget: 4 }).policy;
    expect(await asSpoke(target4, 'ec2:ModifyInstanceMetadataOptions', instance(), raise('3'))).toBe('ExplicitlyDenied');
  });

  it.each`
    key                         | value      | expected
    ${'timesync-guard:opt-out'} | ${'true'}  | ${'ExplicitlyDenied'}
    ${'TimeSync-Guard:Opt-Out'} | ${'yes'}   | ${'ExplicitlyDenied'}
    ${'timesync-guard:opt-out'} | ${'false'} | ${'Allowed'}
  `('opted-out instance ($key=$value) → $expected for the raise and for SendCommand', async ({ key, value, expected }) => {
    expect(await asSpoke(policy, 'ec2:ModifyInstanceMetadataOptions', instance(), raise('2', { [key]: value }))).toBe(expected);
    expect(await asSpoke(policy, 'ssm:SendCommand', instance(), { [`ssm:resourceTag/${key}`]: value })).toBe(expected);
  });

  it('grants nothing else (no PassRole, no IAM, no role assumption onwards)', async () => {
    expect(await asSpoke(policy, 'iam:PassRole', `arn:aws:iam::${MEMBER}:role/Admin`)).toBe('ImplicitlyDenied');
    expect(await asSpoke(policy, 'sts:AssumeRole', `arn:aws:iam::${MEMBER}:role/Admin`)).toBe('ImplicitlyDenied');
    expect(await asSpoke(policy, 'ec2:TerminateInstances', instance())).toBe('ImplicitlyDenied');
  });

  it('imports findings into the member account\'s own Security Hub product only, for the member account only', async () => {
    const own = (region: string, account = MEMBER) => `arn:aws:securityhub:${region}:${account}:product/${account}/default`;
    for (const region of ['eu-west-1', 'sa-east-1']) expect(await asSpoke(policy, 'securityhub:BatchImportFindings', own(region), { 'securityhub:TargetAccount': MEMBER })).toBe('Allowed');
    expect(await asSpoke(policy, 'securityhub:BatchImportFindings', own('eu-west-1'), { 'securityhub:TargetAccount': OTHER })).toBe('ImplicitlyDenied');
    expect(await asSpoke(policy, 'securityhub:BatchImportFindings', `arn:aws:securityhub:eu-west-1:${MEMBER}:product/${OTHER}/default`, { 'securityhub:TargetAccount': MEMBER })).toBe('ImplicitlyDenied');
    expect(await asSpoke(policy, 'ssm:PutComplianceItems', instance())).toBe('Allowed');
    expect(await asSpoke(policy, 'ssm:PutComplianceItems', `arn:aws:ec2:eu-west-1:${OTHER}:instance/i-0123456789abcdef0`)).toBe('ImplicitlyDenied');
  });
});

describe('spoke role: the single-account capabilities in the member account (same builders as the single-account roles)', () => {
  const ENFORCED = 'timesync-guard:imdsv2-enforced';
  const defaults = (attrs: Record<string, string>) => Object.fromEntries(Object.entries(attrs).map(([k, v]) => [`ec2:Attribute/${k}`, v]));

  it('reads the account metadata defaults always, and raises them only with accountDefaults=set', async () => {
    const report = spoke().policy;
    expect(await asSpoke(report, 'ec2:GetInstanceMetadataDefaults', '*')).toBe('Allowed');
    expect(await asSpoke(report, 'ec2:ModifyInstanceMetadataDefaults', '*', defaults({ HttpPutResponseHopLimit: '2' }))).toBe('ImplicitlyDenied');
    const set = spoke({ accountDefaults: 'set' }).policy;
    expect(await asSpoke(set, 'ec2:ModifyInstanceMetadataDefaults', '*', defaults({ HttpPutResponseHopLimit: '2' }))).toBe('Allowed');
    expect(await asSpoke(set, 'ec2:ModifyInstanceMetadataDefaults', '*', defaults({ HttpPutResponseHopLimit: '1' }))).toBe('ExplicitlyDenied');
    expect(await asSpoke(set, 'ec2:ModifyInstanceMetadataDefaults', '*', defaults({ HttpTokens: 'optional' }))).toBe('ExplicitlyDenied');
    // Tokens required by default only when IMDSv2 enforcement is on, as in one account.
    expect(await asSpoke(set, 'ec2:ModifyInstanceMetadataDefaults', '*', defaults({ HttpTokens: 'required' }))).toBe('ImplicitlyDenied');
    expect(await asSpoke(spoke({ accountDefaults: 'set', imdsv2: 'enforce' }).policy, 'ec2:ModifyInstanceMetadataDefaults', '*', defaults({ HttpTokens: 'required' }))).toBe('Allowed');
  });

  it('reads the MetadataNoToken metrics for IMDSv2 readiness unless imdsv2=off (GetMetricData has no resource type: the statement itself is compared)', () => {
    const reads = (p: { policy: unknown }[]) => (p[0]!.policy as { Statement: { Sid?: string; Action?: unknown; Effect: string }[] }).Statement.filter((x) => x.Action === 'cloudwatch:GetMetricData' && x.Effect === 'Allow');
    expect(reads(spoke().policy)).toEqual([expect.objectContaining({ Sid: 'ReadImdsMetrics', Resource: '*' })]);
    expect(reads(spoke({ imdsv2: 'off' }).policy)).toEqual([]);
  });

  it('enforces IMDSv2 (tag first, then HttpTokens=required) only with imdsv2=enforce, never on an opted-out instance', async () => {
    const required = { 'ec2:Attribute/HttpTokens': 'required' };
    const tag = { 'aws:TagKeys': [ENFORCED] };
    expect(await asSpoke(spoke().policy, 'ec2:ModifyInstanceMetadataOptions', instance(), required)).toBe('ImplicitlyDenied');
    expect(await asSpoke(spoke().policy, 'ec2:CreateTags', instance(), tag)).toBe('ImplicitlyDenied');
    const enforce = spoke({ imdsv2: 'enforce' }).policy;
    expect(await asSpoke(enforce, 'ec2:ModifyInstanceMetadataOptions', instance(), required)).toBe('Allowed');
    expect(await asSpoke(enforce, 'ec2:CreateTags', instance(), tag)).toBe('Allowed');
    expect(await asSpoke(enforce, 'ec2:CreateTags', instance(), { 'aws:TagKeys': ['Name'] })).toBe('ImplicitlyDenied');
    expect(await asSpoke(enforce, 'ec2:ModifyInstanceMetadataOptions', instance(), { ...required, 'aws:ResourceTag/timesync-guard:opt-out': 'true' })).toBe('ExplicitlyDenied');
    expect(await asSpoke(enforce, 'ec2:CreateTags', instance(), { ...tag, 'aws:ResourceTag/timesync-guard:opt-out': 'true' })).toBe('ExplicitlyDenied');
  });

  it('never undoes an enforcement from the spoke: tokens optional is denied even on an enforced instance', async () => {
    const enforce = spoke({ imdsv2: 'enforce' }).policy;
    expect(await asSpoke(enforce, 'ec2:ModifyInstanceMetadataOptions', instance(), { 'ec2:Attribute/HttpTokens': 'optional', [`aws:ResourceTag/${ENFORCED}`]: 'record' })).toBe('ExplicitlyDenied');
  });
});

describe('spoke role: the launch templates in the member account (launchTemplates, the single-account builder)', () => {
  const template = (region = 'eu-west-1') => `arn:aws:ec2:${region}:${MEMBER}:launch-template/lt-0123456789abcdef0`;
  const tagged = (tags: Record<string, string>) => Object.fromEntries(Object.entries(tags).map(([k, v]) => [`aws:ResourceTag/${k}`, v]));
  const WRITES = ['ec2:CreateLaunchTemplateVersion', 'ec2:ModifyLaunchTemplate'];

  it.each(['eu-west-1', 'ap-southeast-2'])('fix: creates a version and moves $Default on a template without the CloudFormation tag (%s)', async (region) => {
    const fix = spoke({ launchTemplates: 'fix' }).policy;
    for (const action of WRITES) expect(await asSpoke(fix, action, template(region), tagged({ Name: 'web' }))).toBe('Allowed');
  });

  it('fix: never on a template CloudFormation manages, nor on an opted-out one (explicit Denies)', async () => {
    const fix = spoke({ launchTemplates: 'fix' }).policy;
    for (const action of WRITES) {
      expect(await asSpoke(fix, action, template(), tagged({ 'aws:cloudformation:stack-name': 'web-stack' }))).toBe('ExplicitlyDenied');
      expect(await asSpoke(fix, action, template(), tagged({ 'timesync-guard:opt-out': 'true' }))).toBe('ExplicitlyDenied');
    }
  });

  it.each(['off', 'report', 'fix'] as const)('%s: never deletes a launch template or a version', async (launchTemplates) => {
    const p = spoke({ launchTemplates }).policy;
    for (const action of ['ec2:DeleteLaunchTemplate', 'ec2:DeleteLaunchTemplateVersions']) expect(await asSpoke(p, action, template(), tagged({ Name: 'web' }))).toBe('ExplicitlyDenied');
  });

  it('report (the default): reads the groups, templates and AMIs, and writes nothing', async () => {
    for (const p of [spoke().policy, spoke({ launchTemplates: 'report' }).policy]) {
      for (const action of ['autoscaling:DescribeAutoScalingGroups', 'ec2:DescribeLaunchTemplates', 'ec2:DescribeLaunchTemplateVersions', 'ec2:DescribeImages']) expect(await asSpoke(p, action, '*')).toBe('Allowed');
      for (const action of WRITES) expect(await asSpoke(p, action, template(), tagged({ Name: 'web' }))).toBe('ImplicitlyDenied');
    }
  });

  it('off: reads nothing of the sources', async () => {
    const off = spoke({ launchTemplates: 'off' }).policy;
    expect(await asSpoke(off, 'autoscaling:DescribeAutoScalingGroups', '*')).toBe('ImplicitlyDenied');
    expect(await asSpoke(off, 'ec2:DescribeLaunchTemplateVersions', '*')).toBe('ImplicitlyDenied');
  });

  it('the test can fail: the fix-mode write is allowed on the very request report mode denies', async () => {
    expect(await asSpoke(spoke({ launchTemplates: 'report' }).policy, 'ec2:CreateLaunchTemplateVersion', template(), tagged({ Name: 'web' }))).toBe('ImplicitlyDenied');
    expect(await asSpoke(spoke({ launchTemplates: 'fix' }).policy, 'ec2:CreateLaunchTemplateVersion', template(), tagged({ Name: 'web' }))).toBe('Allowed');
  });
});

describe('spoke role trust: only the hub item role can assume it', () => {
  // The hub item role's own policy, from the synthesized org stack (cross-account needs both sides).
  const { template } = orgTemplate();
  const hubPolicy = [{ name: 'hub', policy: { Version: '2012-10-17', Statement: policyStatements(template, 'HubItemRoleDefaultPolicy').filter((s) => s.Sid === 'AssumeSpokeRoles').map((s) => ({ ...s, Resource: 'arn:aws:iam::*:role/TimeSyncGuardSpoke' })) } }];
  const assume = (principal: string, trust: unknown, context: Record<string, string> = {}, identity = hubPolicy) =>
    decide({ principal, action: 'sts:AssumeRole', resource: SPOKE, accountId: MEMBER, context: { 'aws:PrincipalArn': principal, 'aws:PrincipalAccount': principal.split(':')[4]!, ...context } }, identity, trust);

  it('lets the hub item role assume the spoke role', async () => {
    expect(await assume(HUB_ITEM_ROLE, spoke().trust)).toBe('Allowed');
  });

  it('refuses another role of the hub account, even one allowed to assume it by its own policy', async () => {
    expect(await assume(`arn:aws:iam::${HUB}:role/Org-HubRunRole00AB4C9D-XYZ`, spoke().trust)).not.toBe('Allowed');
    expect(await assume(`arn:aws:iam::${HUB}:role/Admin`, spoke().trust)).not.toBe('Allowed');
  });

  it('refuses a role of the same name in another account', async () => {
    expect(await assume(`arn:aws:iam::${OTHER}:role/Org-HubItemRole5EF2922A-ABCDEF`, spoke().trust)).not.toBe('Allowed');
  });

  it('with the organization id, also refuses the hub item role when it is outside the organization', async () => {
    const trust = spoke({ organizationId: ORG }).trust;
    expect(await assume(HUB_ITEM_ROLE, trust, { 'aws:PrincipalOrgID': ORG })).toBe('Allowed');
    expect(await assume(HUB_ITEM_ROLE, trust, { 'aws:PrincipalOrgID': 'o-zzzzzzzzzz' })).not.toBe('Allowed');
  });

  it('the test can fail: a trust without the PrincipalArn condition admits any role of the hub account', async () => {
    const open = structuredClone(spoke().trust) as { Statement: { Condition?: unknown }[] };
    delete open.Statement[0]!.Condition;
    expect(await assume(`arn:aws:iam::${HUB}:role/Admin`, open)).toBe('Allowed');
  });
});

describe('IMDSv2 undo in the member account (imdsv2AutoUndo with enforce): a second spoke role, as the single-account check role', () => {
  const ENFORCED = 'timesync-guard:imdsv2-enforced';
  const TAG = { [`aws:ResourceTag/${ENFORCED}`]: 'record' };
  const optional = { 'ec2:Attribute/HttpTokens': 'optional' };
  const required = { 'ec2:Attribute/HttpTokens': 'required' };
  const enforcing = spoke({ imdsv2: 'enforce', imdsv2AutoUndo: true }).policy;
  const undo = spoke({ imdsv2: 'enforce', imdsv2AutoUndo: true }, 'Imdsv2UndoRole');
  const asUndo = (action: string, resource: string, context: Record<string, string | string[]> = {}) =>
    decide(
      { principal: `arn:aws:sts::${MEMBER}:assumed-role/TimeSyncGuardSpoke-Imdsv2Undo/timesync-guard-imdsv2-undo`, action, resource, accountId: MEMBER, context: { 'aws:RequestedRegion': 'eu-west-1', ...context } },
      undo.policy,
    );

  it('exists only with enforce and imdsv2AutoUndo (report ignores the undo, as in one account)', () => {
    const resources = (o: SpokeOptions) => Object.keys(spokeRoleTemplate({ spokeRoleName: 'TimeSyncGuardSpoke', optOutTagKey: 'timesync-guard:opt-out', hopLimitTarget: 2, enableMetadataEndpoint: false, ...o }).Resources as Json);
    expect(resources({ imdsv2: 'enforce', imdsv2AutoUndo: true })).toEqual(['SpokeRole', 'Imdsv2UndoRole']);
    expect(resources({ imdsv2: 'enforce' })).toEqual(['SpokeRole']);
    expect(resources({ imdsv2: 'report', imdsv2AutoUndo: true })).toEqual(['SpokeRole']);
  });

  it('the undo role makes tokens optional only alone and only on an instance carrying the enforcement tag (any key case)', async () => {
    expect(await asUndo('ec2:ModifyInstanceMetadataOptions', instance(), { ...optional, ...TAG })).toBe('Allowed');
    expect(await asUndo('ec2:ModifyInstanceMetadataOptions', instance(), { ...optional, 'aws:ResourceTag/TimeSync-Guard:IMDSv2-Enforced': 'x' })).toBe('Allowed');
    expect(await asUndo('ec2:ModifyInstanceMetadataOptions', instance(), optional)).toBe('ExplicitlyDenied');
    expect(await asUndo('ec2:ModifyInstanceMetadataOptions', instance(), { ...optional, ...TAG, 'ec2:Attribute/HttpEndpoint': 'disabled' })).not.toBe('Allowed');
    expect(await asUndo('ec2:ModifyInstanceMetadataOptions', instance(), { ...optional, ...TAG, 'ec2:Attribute/HttpPutResponseHopLimit': '3' })).not.toBe('Allowed');
    expect(await asUndo('ec2:ModifyInstanceMetadataOptions', instance(), { ...optional, ...TAG, 'aws:ResourceTag/timesync-guard:opt-out': 'true' })).toBe('ExplicitlyDenied');
  });

  it('the role that may undo cannot enforce, tag afresh, raise or run anything', async () => {
    expect(await asUndo('ec2:ModifyInstanceMetadataOptions', instance(), required)).toBe('ImplicitlyDenied');
    expect(await asUndo('ec2:ModifyInstanceMetadataOptions', instance(), { 'ec2:Attribute/HttpPutResponseHopLimit': '2' })).toBe('ImplicitlyDenied');
    expect(await asUndo('ec2:CreateTags', instance(), { 'aws:TagKeys': [ENFORCED] })).toBe('ImplicitlyDenied');
    // The rollback's mark: the tag rewritten only where it already is.
    expect(await asUndo('ec2:CreateTags', instance(), { 'aws:TagKeys': [ENFORCED], ...TAG })).toBe('Allowed');
    expect(await asUndo('ec2:CreateTags', instance(), { 'aws:TagKeys': ['Name'], ...TAG })).toBe('ImplicitlyDenied');
    expect(await asUndo('ssm:SendCommand', document('TimeSyncGuard-Remediate'))).toBe('ImplicitlyDenied');
    expect(await asUndo('ec2:ModifyInstanceMetadataDefaults', '*')).toBe('ImplicitlyDenied');
    expect(await asUndo('sts:AssumeRole', SPOKE)).toBe('ImplicitlyDenied');
  });

  it('the role that enforces cannot undo, tagged or not, with imdsv2AutoUndo on', async () => {
    expect(await asSpoke(enforcing, 'ec2:ModifyInstanceMetadataOptions', instance(), required)).toBe('Allowed');
    expect(await asSpoke(enforcing, 'ec2:ModifyInstanceMetadataOptions', instance(), { ...optional, ...TAG })).toBe('ExplicitlyDenied');
    expect(await asSpoke(enforcing, 'ec2:ModifyInstanceMetadataOptions', instance(), optional)).toBe('ExplicitlyDenied');
  });

  it('the undo role holds exactly the single-account check role\'s undo statements (same builder)', () => {
    const single = policyStatements(singleAccountUndo, 'GuardCheckImdsv2Policy').filter((x) => !['ReadinessSnapshot', 'Imdsv2AuditEvents'].includes(x.Sid ?? ''));
    const sids = (undo.policy[0]!.policy as { Statement: { Sid?: string }[] }).Statement.map((x) => x.Sid);
    expect(sids).toEqual(single.map((x) => x.Sid));
  });

  describe('trust: only the hub item role, not the launch check', () => {
    const { template } = orgTemplate({ organizationalUnits: ['ou-ab12-cdef3456'], guard: { imdsv2: 'enforce', imdsv2AutoUndo: true } });
    const hubPolicy = [{ name: 'hub', policy: { Version: '2012-10-17', Statement: policyStatements(template, 'HubItemRoleDefaultPolicy').filter((x) => x.Sid === 'AssumeSpokeRoles').map((x) => ({ ...x, Resource: (x.Resource as unknown[]).map((_r, i) => (i === 0 ? 'arn:aws:iam::*:role/TimeSyncGuardSpoke' : 'arn:aws:iam::*:role/TimeSyncGuardSpoke-Imdsv2Undo')) })) } }];
    const assume = (principal: string, identity = hubPolicy) =>
      decide({ principal, action: 'sts:AssumeRole', resource: UNDO_ROLE, accountId: MEMBER, context: { 'aws:PrincipalArn': principal, 'aws:PrincipalAccount': principal.split(':')[4]! } }, identity, undo.trust);

    it('lets the hub item role assume it (its own policy names the undo role)', async () => {
      expect(await assume(HUB_ITEM_ROLE)).toBe('Allowed');
    });

    it('refuses the launch check role (trusted by the spoke role) and any other role of the hub account', async () => {
      expect(await assume(HUB_LAUNCH_ROLE)).not.toBe('Allowed');
      expect(await assume(`arn:aws:iam::${HUB}:role/Admin`)).not.toBe('Allowed');
      // The spoke role itself does trust the launch check role: the undo role is narrower.
      expect(await decide({ principal: HUB_LAUNCH_ROLE, action: 'sts:AssumeRole', resource: SPOKE, accountId: MEMBER, context: { 'aws:PrincipalArn': HUB_LAUNCH_ROLE, 'aws:PrincipalAccount': HUB } }, hubPolicy, spoke().trust)).toBe('Allowed');
    });
  });
});
