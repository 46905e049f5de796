/**
 * cdk-nag AwsSolutions on the organization hub, synthesized in-process with bundling skipped (as
 * `npm run synth -- -c organization=true` checks it with bundling): every finding is acknowledged
 * beside its resource with its reason, and an unacknowledged one still fails.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Validations } from 'aws-cdk-lib';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { AwsSolutionsChecks } from 'cdk-nag';
import { TimeSyncGuardOrgStack } from '../../lib/time-sync-guard-org-stack';
import { OU } from './util';

let outdir: string;
beforeEach(() => {
  outdir = mkdtempSync(join(tmpdir(), 'tsg-org-nag-'));
});
afterEach(() => rmSync(outdir, { recursive: true, force: true }));

function nagApp(): App {
  const app = new App({ outdir, context: { 'aws:cdk:bundling-stacks': [] } });
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  return app;
}

/** Unacknowledged findings as `rule at path`, or the synth error itself. */
function findings(app: App): string[] {
  try {
    app.synth();
    return [];
  } catch (e) {
    const report = JSON.parse(readFileSync(join(outdir, 'validation-report.json'), 'utf8')) as {
      pluginReports: Array<{ violations: Array<{ ruleName: string; violatingConstructs: Array<{ constructPath: string }> }> }>;
    };
    const found = report.pluginReports.flatMap((r) => r.violations.flatMap((v) => v.violatingConstructs.map((c) => `${v.ruleName} at ${c.constructPath}`)));
    return found.length > 0 ? found : [String(e)];
  }
}

describe('cdk-nag AwsSolutions on the organization hub', () => {
  it('finds nothing unacknowledged with the OUs asked at deploy and e-mail alarms', () => {
    const app = nagApp();
    new TimeSyncGuardOrgStack(app, 'OrgNag', { guard: { alarmEmails: ['ops@example.com'] } });
    expect(findings(app)).toEqual([]);
  });

  it('finds nothing unacknowledged with an organization id, several regions, an existing topic and no remediation', () => {
    const app = nagApp();
    new TimeSyncGuardOrgStack(app, 'OrgNagCustom', {
      organizationalUnits: [OU],
      accounts: ['123456789012'],
      regions: ['eu-west-1', 'us-east-1'],
      organizationId: 'o-abcdefghij',
      spokeRoleName: 'AcmeTimeSync',
      callAs: 'SELF',
      alarmTopicArn: 'arn:aws:sns:us-east-1:123456789012:ops',
      guard: { remediationEnabled: false },
    });
    expect(findings(app)).toEqual([]);
  });

  it('still reports a wildcard nobody acknowledged (the check can fail)', () => {
    const app = nagApp();
    const stack = new TimeSyncGuardOrgStack(app, 'OrgNagBroken', { organizationalUnits: [OU] });
    stack.runFunction.role.addToPrincipalPolicy(new PolicyStatement({ actions: ['s3:GetObject'], resources: ['arn:aws:s3:::bucket/*'] }));
    expect(findings(app)).toEqual([expect.stringMatching(/^AwsSolutions-IAM5\[Resource::arn:aws:s3:::bucket\/\*\] at OrgNagBroken\/HubRun\/Role\/DefaultPolicy/)]);
  });
});
