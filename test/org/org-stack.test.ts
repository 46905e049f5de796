/**
 * The organization hub as synthesized: the spoke StackSets (service-managed, automatic deployment,
 * only an IAM role inline, the documents by TemplateURL), the distributed Map over accounts, the
 * schedules, the hub roles and the alarms. The single-account stack is untouched (its own tests).
 */
import { Match } from 'aws-cdk-lib/assertions';
import { LAUNCH_EVENT_PATTERN, spokeDocuments, TEMPLATE_BODY_LIMIT_BYTES, TEMPLATE_URL_LIMIT_BYTES, spokeDocumentsTemplate, spokeRoleTemplate } from '../../lib/constructs/org-spoke';
import { orgPropsFromContext, organizationMode } from '../../lib/time-sync-guard-org-stack';
import { flat, policyStatements, type Statement, stackTemplate, statementsFor } from '../lib/util';
import { OU, orgTemplate, resourcesOf, stackSet } from './util';

type Json = Record<string, unknown>;
type Definition = { StartAt: string; States: Record<string, Json> };

function definitionOf(template: ReturnType<typeof orgTemplate>['template']): Definition {
  const [, sm] = resourcesOf(template, 'AWS::StepFunctions::StateMachine')[0]!;
  return JSON.parse(flat((sm.Properties as Json).DefinitionString)) as Definition;
}

describe('spoke StackSets', () => {
  const { template } = orgTemplate({ organizationalUnits: [OU, 'r-ab12'], regions: ['eu-west-1', 'us-east-1'] });
  const role = stackSet(template, 'SpokeRoleStackSet');
  const docs = stackSet(template, 'SpokeDocumentsStackSet');
  const inner = JSON.parse(role.TemplateBody as string) as { Parameters: Json; Resources: Record<string, { Type: string; Properties: Json }> };

  it.each([
    ['role', role],
    ['documents', docs],
  ])('deploys the %s StackSet service-managed, to every account of the OUs and to accounts that join later', (_name, p) => {
    expect(p.PermissionModel).toBe('SERVICE_MANAGED');
    expect(p.AutoDeployment).toEqual({ Enabled: true, RetainStacksOnAccountRemoval: false });
    expect(p.CallAs).toBe('DELEGATED_ADMIN');
    expect((p.StackInstancesGroup as Json[])[0]!.DeploymentTargets).toEqual({ OrganizationalUnitIds: [OU, 'r-ab12'] });
  });

  it('deploys the role in one region (IAM is global) and the documents in every covered region', () => {
    expect((role.StackInstancesGroup as Json[])[0]!.Regions).toEqual([{ Ref: 'AWS::Region' }]);
    expect((docs.StackInstancesGroup as Json[])[0]!.Regions).toEqual(['eu-west-1', 'us-east-1']);
    expect(role.Capabilities).toEqual(['CAPABILITY_NAMED_IAM']);
  });

  it('carries the role inline, under the TemplateBody limit, with only an IAM role in it', () => {
    expect(role.TemplateURL).toBeUndefined();
    expect(Buffer.byteLength(role.TemplateBody as string, 'utf8')).toBeLessThan(TEMPLATE_BODY_LIMIT_BYTES);
    expect(Object.values(inner.Resources).map((r) => r.Type)).toEqual(['AWS::IAM::Role']);
    expect(inner.Resources.SpokeRole!.Properties.RoleName).toBe('TimeSyncGuardSpoke');
  });

  it('passes the hub account and the hub-item role ARN as the trusted principals', () => {
    const params = Object.fromEntries((role.Parameters as { ParameterKey: string; ParameterValue: unknown }[]).map((x) => [x.ParameterKey, x.ParameterValue]));
    expect(params.HubAccountId).toEqual({ Ref: 'AWS::AccountId' });
    expect(flat(params.HubRoleArns)).toMatch(/^\$\{HubItemRole[0-9A-F]+\.Arn\}$/);
  });

  it('bounds the role to the very regions the documents StackSet deploys to (one list, both StackSets)', () => {
    const { template: t } = orgTemplate({ organizationalUnits: [OU], regions: ['eu-west-1', 'us-east-1'] });
    const params = Object.fromEntries((stackSet(t, 'SpokeRoleStackSet').Parameters as { ParameterKey: string; ParameterValue: unknown }[]).map((x) => [x.ParameterKey, x.ParameterValue]));
    const deployed = (stackSet(t, 'SpokeDocumentsStackSet').StackInstancesGroup as { Regions: string[] }[])[0]!.Regions;
    expect(deployed).toEqual(['eu-west-1', 'us-east-1']);
    expect(params.Regions).toBe(deployed.join(','));
  });

  it('needs a TemplateURL for the documents: the guest scripts are above the inline limit, below the URL limit', () => {
    const size = Buffer.byteLength(JSON.stringify(spokeDocumentsTemplate()), 'utf8');
    expect(size).toBeGreaterThan(TEMPLATE_BODY_LIMIT_BYTES);
    expect(size).toBeLessThan(TEMPLATE_URL_LIMIT_BYTES);
    expect(docs.TemplateBody).toBeUndefined();
    expect((docs.TemplateURL as { 'Fn::Sub': string })['Fn::Sub']).toMatch(/^https:\/\/s3\.\$\{AWS::Region\}\.\$\{AWS::URLSuffix\}\/cdk-[a-z0-9]+-assets-\$\{AWS::AccountId\}-\$\{AWS::Region\}\/[0-9a-f]{64}\.json$/);
    const resources = Object.values(spokeDocumentsTemplate().Resources as Record<string, { Type: string; Properties: Json }>);
    expect(resources.map((r) => [r.Type, r.Properties.Name, r.Properties.UpdateMethod])).toEqual([
      ['AWS::SSM::Document', 'TimeSyncGuard-Collect', 'NewVersion'],
      ['AWS::SSM::Document', 'TimeSyncGuard-Remediate', 'NewVersion'],
      ['AWS::SSM::Document', 'TimeSyncGuard-Remediate-Windows', 'NewVersion'],
    ]);
  });

  it('deploys no code to member accounts: no Lambda, no asset reference in either template', () => {
    for (const t of [role.TemplateBody as string, JSON.stringify(spokeDocumentsTemplate())]) {
      expect(t).not.toMatch(/AWS::Lambda::|AWS::Serverless|aws:asset|cdk-hnb659fds/);
    }
  });

  it('uses CallAs SELF when the hub is the management account', () => {
    const { template: t } = orgTemplate({ organizationalUnits: [OU], callAs: 'SELF' });
    expect(stackSet(t, 'SpokeRoleStackSet').CallAs).toBe('SELF');
  });

  it('asks for the OUs at deploy when none are given', () => {
    const { template: t } = orgTemplate({});
    t.hasParameter('OrganizationalUnitIds', { Type: 'CommaDelimitedList' });
    expect((stackSet(t, 'SpokeRoleStackSet').StackInstancesGroup as Json[])[0]!.DeploymentTargets).toEqual({ OrganizationalUnitIds: { Ref: 'OrganizationalUnitIds' } });
  });
});

describe('spoke role: trust and statements', () => {
  const trustOf = (organizationId?: string, launchTemplates?: 'report' | 'fix') => {
    const t = spokeRoleTemplate({ spokeRoleName: 'TimeSyncGuardSpoke', optOutTagKey: 'timesync-guard:opt-out', hopLimitTarget: 2, enableMetadataEndpoint: false, organizationId, ...(launchTemplates ? { launchTemplates } : {}) });
    const props = (t.Resources as Record<string, { Properties: Json }>).SpokeRole!.Properties;
    return { trust: (props.AssumeRolePolicyDocument as { Statement: Statement[] }).Statement, policy: (props.Policies as { PolicyDocument: { Statement: Statement[] } }[])[0]!.PolicyDocument.Statement };
  };

  it('trusts the hub account only, and within it only the hub role ARNs', () => {
    const { trust } = trustOf();
    expect(trust).toEqual([
      {
        Sid: 'HubItemFunctionOnly',
        Effect: 'Allow',
        Principal: { AWS: { 'Fn::Sub': 'arn:${AWS::Partition}:iam::${HubAccountId}:root' } },
        Action: 'sts:AssumeRole',
        Condition: { ArnEquals: { 'aws:PrincipalArn': { Ref: 'HubRoleArns' } } },
      },
    ]);
  });

  it('also requires aws:PrincipalOrgID when the organization id is given', () => {
    expect(trustOf('o-abcdefghij').trust[0]!.Condition).toEqual({ ArnEquals: { 'aws:PrincipalArn': { Ref: 'HubRoleArns' } }, StringEquals: { 'aws:PrincipalOrgID': 'o-abcdefghij' } });
  });

  // launchTemplates report (the default: the sources read) and fix (the remediate role's writes and Denies): the single-account remediate role's, whatever the mode.
  it.each([undefined, 'fix'] as const)('has the single-account fleet statements (same Sids, actions and conditions), running and reading the documents only in the StackSet regions (launchTemplates %s)', (launchTemplates) => {
    const { policy } = trustOf(undefined, launchTemplates);
    const { template } = stackTemplate(launchTemplates ? { guard: { launchTemplates } } : {});
    // The account metadata defaults read comes with them; the audit events and the summary are the hub's own.
    const single = policyStatements(template, 'GuardRemediateHandlerRoleDefaultPolicy').filter(
      (s) => !['AuditEvents', 'PublishRunSummary', 'EncryptRunSummary'].includes(s.Sid ?? '') && s.Sid !== undefined,
    );
    // IMDSv2 readiness (imdsv2 report by default): the single-account policy's statements on the account's own resources (its snapshot and audit live in the hub).
    const imdsv2 = policyStatements(template, 'GuardRemediateImdsv2Policy').filter((s) => !['ReadinessSnapshot', 'Imdsv2AuditEvents'].includes(s.Sid ?? ''));
    const shape = (s: Statement) => ({ Sid: s.Sid, Effect: s.Effect, Action: s.Action, Condition: s.Condition });
    // The spoke's own additions: the region bound on the documents, and the hub's read of their hash.
    const regionBound = { StringEquals: { 'aws:RequestedRegion': { Ref: 'Regions' } } };
    const expected = single.map(shape).map((s) => (s.Sid === 'RunDocumentsOnInstances' ? { ...s, Condition: regionBound } : s));
    expected.splice(expected.findIndex((s) => s.Sid === 'NeverTouchOptedOutInstances') + 1, 0, { Sid: 'ReadPinnedDocuments', Effect: 'Allow', Action: 'ssm:DescribeDocument', Condition: regionBound });
    expected.push(...imdsv2.map(shape));
    // And the findings export, which the single-account stack grants its check role (lib/findings-export-grants.ts).
    expected.push(
      { Sid: 'ImportOwnFindings', Effect: 'Allow', Action: 'securityhub:BatchImportFindings', Condition: { StringEquals: { 'securityhub:TargetAccount': { 'Fn::Sub': '${AWS::AccountId}' } } } },
      { Sid: 'PutInstanceCompliance', Effect: 'Allow', Action: 'ssm:PutComplianceItems', Condition: undefined },
    );
    expect(policy.map(shape)).toEqual(expected);
    const resources = policy.flatMap((s) => [s.Resource].flat()).map((r) => (typeof r === 'string' ? r : (r as { 'Fn::Sub': string })['Fn::Sub']));
    expect([...new Set(resources)].sort()).toEqual([
      '*',
      'arn:${AWS::Partition}:ec2:*:${AWS::AccountId}:instance/*',
      'arn:${AWS::Partition}:ec2:*:${AWS::AccountId}:launch-template/*',
      'arn:${AWS::Partition}:securityhub:*:${AWS::AccountId}:product/${AWS::AccountId}/default',
      'arn:${AWS::Partition}:ssm:*:${AWS::AccountId}:document/TimeSyncGuard-Collect',
      'arn:${AWS::Partition}:ssm:*:${AWS::AccountId}:document/TimeSyncGuard-Remediate',
      'arn:${AWS::Partition}:ssm:*:${AWS::AccountId}:document/TimeSyncGuard-Remediate-Windows',
      'arn:${AWS::Partition}:ssm:*:${AWS::AccountId}:managed-instance/*',
    ]);
  });
});

describe('hub state machine', () => {
  const { template } = orgTemplate({ organizationalUnits: [OU], maxConcurrency: 25 });
  const definition = definitionOf(template);
  const map = definition.States.AccountRegions as Json & { ItemProcessor: Definition & { ProcessorConfig: Json } };

  it('guards against overlap, maps over the account-regions in DISTRIBUTED mode from and to S3 tolerating every failure, then summarizes', () => {
    expect(definition.StartAt).toBe('ListTargets');
    expect(Object.keys(definition.States).sort()).toEqual(['AccountRegions', 'ListTargets', 'OverlapGuard', 'SkippedOverlap', 'Summarize']);
    expect(definition.States.OverlapGuard).toMatchObject({ Type: 'Choice', Default: 'AccountRegions', Choices: [expect.objectContaining({ Next: 'SkippedOverlap' })] });
    expect(map).toMatchObject({ Type: 'Map', MaxConcurrency: 25, ToleratedFailurePercentage: 100, ResultPath: '$.results' });
    expect(map.ItemsPath).toBeUndefined();
    expect(map.ItemProcessor.ProcessorConfig).toEqual({ Mode: 'DISTRIBUTED', ExecutionType: 'STANDARD' });
    expect(flat(map.ItemReader)).toContain('s3:getObject');
    expect(flat(map.ResultWriter)).toContain('s3:putObject');
    expect(map.ItemSelector).toEqual({ 'accountId.$': '$$.Map.Item.Value.accountId', 'region.$': '$$.Map.Item.Value.region', 'mode.$': '$.listing.mode', 'target.$': '$$.Map.Item.Value' });
  });

  it('loops hub-item until done in each account-region', () => {
    const loop = map.ItemProcessor.States;
    expect(loop.CheckOrRemediateItem).toMatchObject({ Type: 'Task', Catch: [{ ErrorEquals: ['States.ALL'], Next: 'ItemFailed' }] });
    expect(loop.ItemIsDone).toMatchObject({ Type: 'Choice', Default: 'NextSlice' });
    expect(loop.NextSlice).toMatchObject({ Next: 'CheckOrRemediateItem' });
    expect(JSON.stringify((loop.ItemIsDone as Json).Choices)).toContain('"NumericGreaterThanEquals":99');
    expect(loop.TooManyInvocations).toMatchObject({ Type: 'Pass', Parameters: { status: 'failed', reason: 'error', done: true } });
  });

  it('defaults to 40 account-regions at once', () => {
    expect((definitionOf(orgTemplate().template).States.AccountRegions as Json).MaxConcurrency).toBe(40);
  });

  it('lets hub-run read only its own executions (overlap guard) and only the run prefix of its bucket', () => {
    const [, policy] = resourcesOf(template, 'AWS::IAM::Policy').find(([id]) => id.startsWith('HubRunRole'))!;
    const statements = (policy.Properties as { PolicyDocument: { Statement: (Json & { Sid?: string })[] } }).PolicyDocument.Statement;
    const [, sm] = resourcesOf(template, 'AWS::StepFunctions::StateMachine')[0]!;
    const name = (sm.Properties as { StateMachineName: string }).StateMachineName;
    expect(flat(statements.find((x) => x.Sid === 'OverlapGuard'))).toMatch(new RegExp(`"Action":"states:ListExecutions".*:stateMachine:${name}"`));
    expect(flat(statements.find((x) => x.Sid === 'RunData'))).toContain('/runs/*');
  });

  it('is started hourly with {"mode":"check"} and nightly with {"mode":"remediate"} by EventBridge Scheduler', () => {
    const inputs = resourcesOf(template, 'AWS::Scheduler::Schedule').map(([, r]) => {
      const p = r.Properties as { ScheduleExpression: string; Target: { Input: string; Arn: unknown } };
      return [p.ScheduleExpression, JSON.parse(p.Target.Input), flat(p.Target.Arn)];
    });
    expect(inputs).toEqual([
      ['rate(1 hour)', { mode: 'check' }, expect.stringMatching(/^\$\{Run[0-9A-F]+\}$/)],
      ['cron(0 2 * * ? *)', { mode: 'remediate' }, expect.stringMatching(/^\$\{Run[0-9A-F]+\}$/)],
    ]);
    const { template: off } = orgTemplate({ organizationalUnits: [OU], guard: { remediationEnabled: false } });
    off.resourceCountIs('AWS::Scheduler::Schedule', 1);
  });
});

describe('hub functions', () => {
  const { template } = orgTemplate({ organizationalUnits: [OU], accounts: ['123456789012'], regions: ['eu-west-1', 'eu-central-1'], organizationId: 'o-abcdefghij', guard: { dryRun: true } });
  const envOf = (prefix: string) => {
    const [, fn] = resourcesOf(template, 'AWS::Lambda::Function').find(([id]) => id.startsWith(prefix))!;
    return ((fn.Properties as Json).Environment as { Variables: Record<string, unknown> }).Variables;
  };

  it('gives hub-item the spoke role name, the slice size, the spokes\' fixed document names and the settings', () => {
    expect(envOf('HubItem')).toMatchObject({ TSG_SPOKE_ROLE_NAME: 'TimeSyncGuardSpoke', TSG_HUB_SLICE_PAGES: '10', TSG_COLLECTOR_DOCUMENT: 'TimeSyncGuard-Collect', TSG_REMEDIATION_DOCUMENT: 'TimeSyncGuard-Remediate', TSG_DRY_RUN: 'true' });
    expect(envOf('HubItem').TSG_CONTINUATION_KEY_SECRET).toBeDefined();
  });

  it('gives hub-run the OUs, the explicit accounts and the regions', () => {
    expect(envOf('HubRun')).toMatchObject({ TSG_HUB_OUS: OU, TSG_HUB_ACCOUNTS: '123456789012', TSG_HUB_REGIONS: 'eu-west-1,eu-central-1' });
  });

  it('lets hub-item assume only the spoke role name, inside the organization, and never list or publish', () => {
    const item = policyStatements(template, 'HubItemRoleDefaultPolicy');
    expect(statementsFor(item, 'sts:AssumeRole')).toEqual([
      { Sid: 'AssumeSpokeRoles', Effect: 'Allow', Action: 'sts:AssumeRole', Resource: { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':iam::*:role/TimeSyncGuardSpoke']] }, Condition: { StringEquals: { 'aws:ResourceOrgID': 'o-abcdefghij' } } },
    ]);
    expect(statementsFor(item, 'organizations:ListAccountsForParent')).toEqual([]);
    expect(statementsFor(item, 'sns:Publish')).toEqual([]);
    expect(statementsFor(item, 'events:PutEvents')).toHaveLength(1);
  });

  it('lets hub-run list accounts and publish the summary, and never assume a spoke role', () => {
    const run = policyStatements(template, 'HubRunRoleDefaultPolicy');
    expect(statementsFor(run, 'organizations:ListAccountsForParent')).toHaveLength(1);
    expect(statementsFor(run, 'sns:Publish')).toHaveLength(1);
    expect(statementsFor(run, 'sts:AssumeRole')).toEqual([]);
  });
});

describe('alarms and dashboard', () => {
  const { stack, template } = orgTemplate();

  it('has the single-account alarms (the IMDSv2 ones included: imdsv2 report by default) plus one on account-regions not covered', () => {
    template.resourceCountIs('AWS::CloudWatch::Alarm', Object.values(stack.alarms).filter((a) => a !== undefined).length);
    template.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: 'Imdsv2Rejected' });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'AccountRegionsNotCovered',
      Dimensions: [{ Name: 'service', Value: 'timesync-guard' }],
      ComparisonOperator: 'GreaterThanThreshold',
      Threshold: 0,
    });
    expect(Object.keys(stack.alarms)).toContain('checkHeartbeat');
  });

  it('shows the accounts at risk and not covered by Logs Insights over hub-item\'s records, not by per-account metrics', () => {
    const [, dash] = resourcesOf(template, 'AWS::CloudWatch::Dashboard')[0]!;
    const body = flat((dash.Properties as Json).DashboardBody);
    expect(body).not.toContain('AccountId,');
    expect(body).toMatch(/"type":"log".*check-summary.*by accountId, region/);
    expect(body).toMatch(/"type":"log".*account-not-covered/);
    expect(body).toContain('hub-item errors');
  });

  it('creates one encrypted topic with the e-mail subscriptions', () => {
    const { template: t } = orgTemplate({ organizationalUnits: [OU], guard: { alarmEmails: ['ops@example.com'] } });
    t.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: Match.anyValue() });
    t.resourceCountIs('AWS::SNS::Subscription', 1);
  });
});

describe('launch check of the member accounts', () => {
  const ORG = 'o-abcdefghij';
  const { template } = orgTemplate({ organizationalUnits: [OU], organizationId: ORG, guard: { launchCheck: true } });

  it('admits PutEvents on the hub launch bus from the organization only', () => {
    template.hasResourceProperties('AWS::Events::EventBusPolicy', {
      Statement: { Action: 'events:PutEvents', Effect: 'Allow', Principal: { AWS: '*' }, Condition: { StringEquals: { 'aws:PrincipalOrgID': ORG } } },
    });
  });

  it('routes the bus\'s EC2 running events to the hub launch queue and handler (any member account: the handler checks coverage)', () => {
    const [, rule] = resourcesOf(template, 'AWS::Events::Rule').find(([, r]) => flat((r.Properties as Json).EventBusName).includes('LaunchBus'))!;
    expect((rule.Properties as Json).EventPattern).toEqual({ source: ['aws.ec2'], 'detail-type': ['EC2 Instance State-change Notification'], detail: { state: ['running'] } });
    template.hasResourceProperties('AWS::Lambda::Function', { Description: 'timesync-guard organization hub: launch check of the member accounts' });
  });

  it('deploys the forwarding rule in every covered region and its role once per account, through the StackSets', () => {
    const roleBody = JSON.parse(stackSet(template, 'SpokeRoleStackSet').TemplateBody as string) as { Resources: Record<string, { Type: string; Properties: Json }> };
    const forwarder = roleBody.Resources.LaunchForwarderRole!;
    expect(forwarder.Properties.RoleName).toBe('TimeSyncGuardSpoke-LaunchEvents');
    expect(JSON.stringify(forwarder.Properties.Policies)).toContain('"Action":"events:PutEvents","Resource":{"Ref":"HubLaunchBusArn"}');
    const params = (stackSet(template, 'SpokeDocumentsStackSet').Parameters as { ParameterKey: string }[]).map((p) => p.ParameterKey);
    expect(params).toEqual(['HubLaunchBusArn']);
    const rule = spokeDocumentsTemplate(spokeDocuments(), { spokeRoleName: 'TimeSyncGuardSpoke' }) as { Resources: Record<string, { Type: string; Properties: Json }> };
    expect(rule.Resources.LaunchForwarder).toMatchObject({ Type: 'AWS::Events::Rule', Properties: { EventPattern: LAUNCH_EVENT_PATTERN, Targets: [{ Arn: { Ref: 'HubLaunchBusArn' } }] } });
  });

  it('lets the launch handler\'s role assume the spoke role beside the item function\'s', () => {
    const params = stackSet(template, 'SpokeRoleStackSet').Parameters as { ParameterKey: string; ParameterValue: unknown }[];
    const arns = flat(params.find((p) => p.ParameterKey === 'HubRoleArns')!.ParameterValue);
    expect(arns).toMatch(/HubItemRole.*LaunchCheckHandler/);
  });

  it('with remediateOnLaunch the launch role alone may start the hub\'s run (a launch run), and knows which one', () => {
    const { template: t } = orgTemplate({ organizationalUnits: [OU], organizationId: 'o-abcdefghij', guard: { launchCheck: true, remediateOnLaunch: true } });
    const [smId] = resourcesOf(t, 'AWS::StepFunctions::StateMachine')[0]!;
    const [, fn] = resourcesOf(t, 'AWS::Lambda::Function').find(([id]) => id.startsWith('LaunchCheckHandler'))!;
    expect((fn.Properties as { Environment: { Variables: Json } }).Environment.Variables).toMatchObject({ TSG_REMEDIATE_ON_LAUNCH: 'true', TSG_REMEDIATION_STATE_MACHINE_ARN: { Ref: smId } });
    const start = policyStatements(t, 'LaunchCheckHandlerRoleDefaultPolicy').find((x) => x.Sid === 'LaunchRemediationStart')!;
    expect(start).toMatchObject({ Action: 'states:StartExecution', Resource: { Ref: smId } });
    // Besides it only the schedules' role (and the distributed Map, for its own child executions) may start executions.
    const starters = resourcesOf(t, 'AWS::IAM::Policy').filter(([, p]) => flat(p).includes('states:StartExecution')).map(([id]) => id.replace(/[0-9A-F]{8}$/, ''));
    expect(starters.sort()).toEqual(['LaunchCheckHandlerRoleDefaultPolicy', 'RunDistributedMapPolicy', 'SchedulerRoleDefaultPolicy']);
    const { template: off } = orgTemplate({ organizationalUnits: [OU], organizationId: 'o-abcdefghij', guard: { launchCheck: true } });
    expect(policyStatements(off, 'LaunchCheckHandlerRoleDefaultPolicy').find((x) => x.Sid === 'LaunchRemediationStart')).toBeUndefined();
  });

  it('has no launch resources without launchCheck', () => {
    const { template: t } = orgTemplate({ organizationalUnits: [OU] });
    t.resourceCountIs('AWS::Events::EventBus', 0);
    expect(stackSet(t, 'SpokeDocumentsStackSet').Parameters).toBeUndefined();
  });
});

describe('IMDSv2 undo (imdsv2AutoUndo with enforce): a second spoke role, entered by hub-item only', () => {
  const { template: t } = orgTemplate({ organizationalUnits: [OU], guard: { imdsv2: 'enforce', imdsv2AutoUndo: true, launchCheck: true }, organizationId: 'o-abcdefghij' });
  const set = stackSet(t, 'SpokeRoleStackSet');
  const inner = JSON.parse(set.TemplateBody as string) as { Parameters: Json; Resources: Record<string, { Properties: Json }> };
  const params = set.Parameters as { ParameterKey: string; ParameterValue: unknown }[];

  it('deploys the undo role beside the spoke role, trusting the hub item role alone (its ARN as the HubItemRoleArn parameter)', () => {
    expect(inner.Resources.Imdsv2UndoRole!.Properties.RoleName).toBe('TimeSyncGuardSpoke-Imdsv2Undo');
    expect(JSON.stringify(inner.Resources.Imdsv2UndoRole!.Properties.AssumeRolePolicyDocument)).toContain('"Ref":"HubItemRoleArn"');
    expect(JSON.stringify(params.find((p) => p.ParameterKey === 'HubItemRoleArn')!.ParameterValue)).toMatch(/HubItemRole[0-9A-F]+\b/);
    expect(JSON.stringify(params.find((p) => p.ParameterKey === 'HubItemRoleArn')!.ParameterValue)).not.toMatch(/LaunchCheck/);
    expect((set.TemplateBody as string).length).toBeLessThan(TEMPLATE_BODY_LIMIT_BYTES);
  });

  it('lets hub-item assume it (inside the organization), and not the launch check', () => {
    const item = policyStatements(t, 'HubItemRoleDefaultPolicy').find((x) => x.Sid === 'AssumeSpokeRoles')!;
    expect(JSON.stringify(item.Resource)).toContain('TimeSyncGuardSpoke-Imdsv2Undo');
    const launch = policyStatements(t, 'LaunchCheckHandlerRoleDefaultPolicy').find((x) => x.Sid === 'AssumeSpokeRoles')!;
    expect(JSON.stringify(launch.Resource)).not.toContain('Imdsv2Undo');
  });

  it('has no undo role without imdsv2AutoUndo, nor in report mode', () => {
    for (const guard of [{ imdsv2: 'enforce' as const }, { imdsv2: 'report' as const, imdsv2AutoUndo: true }]) {
      const s = stackSet(orgTemplate({ organizationalUnits: [OU], guard }).template, 'SpokeRoleStackSet');
      expect(s.TemplateBody as string).not.toContain('Imdsv2Undo');
      expect((s.Parameters as { ParameterKey: string }[]).map((p) => p.ParameterKey)).not.toContain('HubItemRoleArn');
    }
  });
});

describe('props and context', () => {
  it.each<[string, object, RegExp]>([
    ['a malformed OU', { organizationalUnits: ['ou-x'] }, /organizationalUnits must be OU or root ids/],
    ['an empty OU list', { organizationalUnits: [] }, /organizationalUnits must not be empty/],
    ['a short account id', { accounts: ['1234'] }, /accounts must be 12-digit account ids/],
    ['a bad region', { regions: ['Europe'] }, /regions must be region names/],
    ['maxConcurrency 0', { maxConcurrency: 0 }, /maxConcurrency must be an integer in \[1, 10000\]/],
    ['a bad organization id', { organizationId: 'org-1' }, /organizationId must be an organization id/],
    ['a spoke role name leaving no room for the IMDSv2 undo role', { spokeRoleName: 'R'.repeat(60), guard: { imdsv2: 'enforce', imdsv2AutoUndo: true } }, /spokeRoleName must leave room for the IMDSv2 undo role/],
    ['an invalid guard setting', { guard: { maxChangesPercent: 150 } }, /maxChangesPercent/],
  ])('refuses %s, naming the prop', (_what, props, message) => {
    expect(() => orgTemplate({ organizationalUnits: [OU], ...props })).toThrow(message);
  });

  it('reads lists from -c strings and from cdk.json arrays alike', () => {
    const fromCli = orgPropsFromContext((k) => ({ organizationalUnits: `${OU}, r-ab12`, regions: 'eu-west-1', maxConcurrency: '10' })[k]);
    const fromJson = orgPropsFromContext((k) => ({ organizationalUnits: [OU, 'r-ab12'], regions: ['eu-west-1'], maxConcurrency: 10 })[k]);
    expect(fromCli).toEqual(fromJson);
    expect(fromCli).toMatchObject({ organizationalUnits: [OU, 'r-ab12'], regions: ['eu-west-1'], maxConcurrency: 10, accounts: undefined });
  });

  it.each<[unknown, boolean | RegExp]>([
    [undefined, false],
    ['false', false],
    [true, true],
    ['true', true],
    ['yes', true],
    ['NO', false],
    ['maybe', /context organization="maybe": expected true or false/],
  ])('organization=%p → %p', (value, expected) => {
    const get = (k: string) => (k === 'organization' ? value : undefined);
    if (expected instanceof RegExp) expect(() => organizationMode(get)).toThrow(expected);
    else expect(organizationMode(get)).toBe(expected);
  });
});
