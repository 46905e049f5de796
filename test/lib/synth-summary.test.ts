import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App } from 'aws-cdk-lib';
import { TimeSyncGuardOrgStack } from '../../lib/time-sync-guard-org-stack';
import { TimeSyncGuardStack } from '../../lib/time-sync-guard-stack';

const script = join(__dirname, '..', '..', 'bin', 'synth-summary.js');
let outdir: string;
/** The stack's alarm list (GuardAlarmSet, the optional ones it builds): the summary's count is derived from it. */
let alarmCount: number;

function summary(dir: string): { code: number | null; out: string } {
  const r = spawnSync(process.execPath, [script, dir], { encoding: 'utf8' });
  return { code: r.status, out: `${r.stdout}${r.stderr}` };
}

function report(violations: unknown[]): void {
  writeFileSync(
    join(outdir, 'validation-report.json'),
    JSON.stringify({ version: '55.0.0', title: 'Validation Report', pluginReports: violations.length ? [{ pluginName: 'AwsSolutions', conclusion: 'failure', violations }] : [] }),
  );
}

/** Synthesizes what `build` adds (bundling skipped) into a fresh directory, hands it to `use`, then removes it. */
function withAssembly(build: (app: App) => void, use: (dir: string) => void): void {
  const dir = mkdtempSync(join(tmpdir(), 'tsg-summary-'));
  try {
    const app = new App({ outdir: dir, context: { 'aws:cdk:bundling-stacks': [] } });
    build(app);
    app.synth();
    use(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

beforeAll(() => {
  outdir = mkdtempSync(join(tmpdir(), 'tsg-summary-'));
  const app = new App({ outdir, context: { 'aws:cdk:bundling-stacks': [] } });
  const stack = new TimeSyncGuardStack(app, 'Summary', { guard: { checkSchedule: 'rate(30 minutes)' } });
  alarmCount = Object.values(stack.guard.alarms).filter((a) => a !== undefined).length;
  app.synth();
});
afterAll(() => rmSync(outdir, { recursive: true, force: true }));

describe('bin/synth-summary.js', () => {
  it('summarises resources, schedules, functions and alarms and passes with no finding', () => {
    report([]);
    const { code, out } = summary(outdir);
    expect(code).toBe(0);
    expect(out).toMatch(/Stack Summary \(aws:\/\/unknown-account\/unknown-region\): \d+ resources/);
    expect(out).toMatch(/ 2 {2}AWS::Lambda::Function/);
    expect(out).toContain('rate(30 minutes) tz=Etc/UTC ENABLED');
    expect(out).toContain('cron(0 2 * * ? *) tz=Etc/UTC');
    expect(out).toMatch(/nodejs24\.x arm64 512 MB timeout 900 s reserved concurrency none/);
    expect(out).toContain(`Alarms (${alarmCount}):`);
    expect(out).toMatch(/InstancesSeen SampleCount 3600s < 1, missing=breaching/);
    expect(out).toContain('cdk-nag: 0 unacknowledged finding(s)');
  });

  it('fails and lists each unacknowledged finding', () => {
    report([{ ruleName: 'AwsSolutions-IAM5[Resource::*]', violatingConstructs: [{ constructPath: 'Summary/Extra/DefaultPolicy/Resource' }] }]);
    const { code, out } = summary(outdir);
    expect(code).toBe(1);
    expect(out).toContain('cdk-nag: 1 unacknowledged finding(s) (AwsSolutions)');
    expect(out).toContain('AwsSolutions-IAM5[Resource::*] at Summary/Extra/DefaultPolicy/Resource');
  });

  it('fails when no validation report was written (nag did not run)', () => {
    rmSync(join(outdir, 'validation-report.json'), { force: true });
    expect(summary(outdir).code).toBe(1);
  });

  it('says first every action the deploy will take: schedules, live or dry run, urgent fixes, caps, fixes, IMDSv2, account defaults, launch check, findings, e-mails, opt-out tag', () => {
    report([]);
    const { out } = summary(outdir);
    expect(out).toContain('check:          rate(30 minutes) (Etc/UTC)');
    expect(out).toContain('remediation:    ON cron(0 2 * * ? *) (Etc/UTC), LIVE (changes instances)');
    expect(out).toContain('caps:           at most 10000 instances and 100% of the fleet per run; SSM MaxConcurrency 50%, MaxErrors 10%');
    expect(out).toContain('fixes:          hop limit raised to 2 on container hosts (not Kubernetes/ECS nodes); time sync yes');
    expect(out).toContain('alarm e-mails:  none');
    expect(out).toContain('opt-out tag:    timesync-guard:opt-out');
    // Beyond the check and the nightly fix: urgent fixes, the opt-in fixes, IMDSv2, account defaults, launch check, findings.
    for (const line of [
      'urgent fixes:   after each check, hosts 60 s or more off or without credentials fixed at once',
      '; NO_PROXY no; mixed sources no',
      'IMDSv2:         readiness reported; HttpTokens never changed',
      'account:        metadata defaults reported, never written',
      'launch check:   off',
      'findings:       Security Hub yes; SSM Compliance yes',
    ]) expect(out).toContain(line);
  });

  it('shows a dry run, the e-mails, a disabled remediation and each deprecation warning', () => {
    withAssembly(
      (app) => {
        new TimeSyncGuardStack(app, 'Dry', { guard: { dryRun: true, alarmEmails: ['ops@example.com'], commandMaxErrors: '5' } });
        new TimeSyncGuardStack(app, 'Off', { guard: { remediationEnabled: false } });
      },
      (dir) => {
        const r = spawnSync(process.execPath, [script, 'synth', '-q', '-c', 'dryRun=true', '-o', dir], { encoding: 'utf8' });
        expect(r.stdout).toContain('DRY RUN (plans and reports, changes nothing)');
        expect(r.stdout).toContain('alarm e-mails:  ops@example.com');
        expect(r.stdout).toContain('MaxErrors 5');
        expect(r.stdout).toContain('WARNING:        commandMaxErrors is deprecated: use remediationMaxErrors');
        expect(r.stdout).toContain('remediation:    OFF');
      },
    );
  });

  it('tells the organization hub apart: its OUs and regions, and no setting it cannot read ("?")', () => {
    withAssembly(
      (app) => {
        new TimeSyncGuardOrgStack(app, 'Hub', { organizationalUnits: ['ou-abcd-12345678'], regions: ['eu-west-1', 'us-east-1'], guard: { dryRun: true, maxOffsetSeconds: 0.5 } });
      },
      (dir) => {
        const out = spawnSync(process.execPath, [script, dir], { encoding: 'utf8' }).stdout;
        const head = out.slice(0, out.indexOf('Stack Hub'));
        expect(head).toContain('organization:   OUs ou-abcd-12345678; regions eu-west-1,us-east-1; through the spoke role TimeSyncGuardSpoke');
        expect(head).toContain('offset/bound thresholds 0.5 s / 1 s');
        expect(head).toContain('DRY RUN');
        expect(head).not.toMatch(/ \?( s\b|%| instances| hosts|$)/m);
      },
    );
  });

  it.each([
    ['LIVE', false, ''],
    ['DRY RUN', true, ' (dry run: planned, not made)'],
  ])('names every opt-in action that changes something when it is on (%s)', (_mode, dryRun, planned) => {
    withAssembly(
      (app) => {
        new TimeSyncGuardStack(app, 'On', {
          guard: { dryRun, imdsv2: 'enforce', imdsv2AutoUndo: true, accountDefaults: 'set', fixNoProxy: true, fixMixedSources: true, launchCheck: true, remediateOnLaunch: true, securityHub: false },
        });
      },
      (dir) => {
        const out = summary(dir).out;
        const head = out.slice(0, out.indexOf('Stack On'));
        expect(head).toContain('; NO_PROXY yes; mixed sources yes');
        expect(head).toContain(`IMDSv2:         ENFORCE: HttpTokens=required set at night on ready instances; rejected IMDSv1 calls alarmed${planned}; auto-undo: the check sets optional again`);
        expect(head).toContain(`account:        SET: metadata defaults raised to the hop-limit target, tokens required once IMDSv2 is enforced${planned}`);
        expect(head).toContain(`launch check:   on, each new instance within minutes; at-risk launches remediated at once${planned}`);
        expect(head).toContain('findings:       Security Hub no; SSM Compliance yes');
        // The urgent path is live only when remediation is.
        expect(head).toContain(dryRun ? 'urgent fixes:   off' : 'urgent fixes:   after each check');
        expect(head).not.toMatch(/ \?( s\b|%| instances| hosts|$)/m);
      },
    );
  });

  it('summarises an organization hub whose OUs are asked at deploy (no organizationalUnits): names the parameter, no crash', () => {
    withAssembly(
      (app) => {
        new TimeSyncGuardOrgStack(app, 'Hub', {});
      },
      (dir) => {
        writeFileSync(join(dir, 'validation-report.json'), JSON.stringify({ pluginReports: [] }));
        const { code, out } = summary(dir);
        expect(out).not.toContain('synth-summary:');
        expect(code).toBe(0);
        expect(out).toContain('organization:   OUs the OrganizationalUnitIds parameter (asked at deploy); regions the deploy region');
        expect(out).toContain('urgent fixes:   off');
      },
    );
  });

  it("finds the assembly where cdk.json's output sends it when no -o is given", () => {
    const cwd = mkdtempSync(join(tmpdir(), 'tsg-summary-cwd-'));
    try {
      writeFileSync(join(cwd, 'cdk.json'), JSON.stringify({ app: 'true', output: outdir }));
      report([]);
      const r = spawnSync(process.execPath, [script, 'synth', '-q', '-c', 'dryRun=true'], { cwd, encoding: 'utf8' });
      expect(r.stderr).not.toContain('no cloud assembly');
      expect(r.stdout).toContain('What stack Summary will do:');
    } finally {
      rmSync(cwd, { recursive: true, force: true });
    }
  });

  it('fails clearly without a cloud assembly', () => {
    const { code, out } = summary(join(outdir, 'nope'));
    expect(code).toBe(2);
    expect(out).toContain('no cloud assembly');
  });
});
