/**
 * The real CDK app and the real `npm run synth`, spawned as a user runs them: configuration
 * mistakes print one line `timesync-guard: <setting>: <problem>` with no stack trace, and
 * `npm run synth -- -c key=value` reaches the app.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { appRunsInOneProcess } from '../support/app-in-process';
import { type Ran, runAsync } from '../support/run-async';

const root = join(__dirname, '..', '..');
const outdir = mkdtempSync(join(tmpdir(), 'tsg-app-'));
afterAll(() => rmSync(outdir, { recursive: true, force: true }));

/** Runs bin/app.ts as cdk does (context in CDK_CONTEXT_JSON, bundling skipped). */
function app(context: Record<string, unknown>, env: Record<string, string> = {}, out = outdir): Promise<Ran> {
  return runAsync(process.execPath, ['-r', 'tsx/cjs', 'bin/app.ts'], {
    cwd: root,
    env: { ...process.env, CDK_OUTDIR: out, CDK_CONTEXT_JSON: JSON.stringify({ ...context, 'aws:cdk:bundling-stacks': [] }), ...env },
    timeoutMs: 280_000,
  });
}

const STACK_FRAME = /^\s+at .+[:(]/m;

const MISTAKES: [string, Record<string, unknown>, string][] = [
  ['a misspelled key', { dryrun: 'true' }, 'timesync-guard: dryrun: unknown context key; did you mean dryRun?'],
  ['a key in the wrong case', { DryRun: 'true' }, 'timesync-guard: DryRun: unknown context key; did you mean dryRun?'],
  ['an out-of-range value', { maxChangesPercent: '150' }, 'timesync-guard: maxChangesPercent: expected a number in [0, 100], got "150"'],
  ['an empty value', { alarmEmails: '' }, 'timesync-guard: alarmEmails: is empty (remove it to use the default)'],
  ['a cron with * in both day fields', { remediationSchedule: 'cron(0 2 * * * *)' }, 'timesync-guard: remediationSchedule: must be a valid schedule expression: exactly one of day-of-month and day-of-week must be ?'],
  ['a check interval that contradicts the schedule', { checkIntervalMinutes: '5' }, 'timesync-guard: checkIntervalMinutes: contradicts checkSchedule rate(1 hour) (every 60 minutes)'],
  ['a near-miss of an alarm e-mail key', { alarmEmail: 'ops@example.com' }, 'timesync-guard: alarmEmail: unknown context key; did you mean alarmEmails?'],
  ['a dashed key', { 'dry-run': 'true' }, 'timesync-guard: dry-run: unknown context key; did you mean dryRun?'],
];

const synthOut = join(outdir, 'assembly');
/** What a fresh clone synthesizes: the app with cdk.json's context and nothing else. */
const freshOut = join(outdir, 'fresh');
const freshContext = (JSON.parse(readFileSync(join(root, 'cdk.json'), 'utf8')) as { context: Record<string, unknown> }).context;
/** The organization hub with no OUs (documented as valid: the OUs are then a deploy parameter). */
const orgOut = join(outdir, 'org');
const summaryOf = (dir: string): Promise<Ran> => runAsync(process.execPath, ['bin/synth-summary.js', dir], { cwd: root, timeoutMs: 60_000 });
// The file's processes (each mostly loading the CDK) run at once, started before the first test.
// The first mistake is a real `node bin/app.ts` (its exit code and stderr as the user sees them);
// all of them also run in one process (support/app-in-process.ts), which must agree with it.
let spawnedMistake: Ran;
let mistakes: Ran[];
let debugRun: Ran;
let synthRun: Ran;
let freshSummary: Ran;
let orgSummary: Ran;
beforeAll(async () => {
  [spawnedMistake, mistakes, debugRun, synthRun, freshSummary, orgSummary] = await Promise.all([
    app(MISTAKES[0]![1]),
    appRunsInOneProcess(MISTAKES.map(([, context]) => context)),
    app({ dryrun: 'true' }, { TSG_DEBUG: '1' }),
    runAsync('npm', ['run', 'synth', '--', '-c', 'dryRun=true', '--context', 'alarmEmails=ops@example.com', '-o', synthOut], { cwd: root, timeoutMs: 280_000 }),
    app(freshContext, {}, freshOut).then(() => summaryOf(freshOut)),
    app({ organization: 'yes' }, {}, orgOut).then(() => summaryOf(orgOut)),
  ]);
}, 300_000);

describe('bin/app.ts', () => {
  it('stops a spawned synth on a mistake with exit code 1 and one line, as the in-process runs of the other mistakes report', () => {
    expect(spawnedMistake.code).toBe(1);
    expect(spawnedMistake.stderr).toBe(`${MISTAKES[0]![2]}\n`);
    expect(mistakes[0]).toEqual({ code: spawnedMistake.code, stdout: '', stderr: spawnedMistake.stderr });
  });

  it.each(MISTAKES.map(([what, , line], i) => [what, line, i] as const))('stops synth on %s with one line and no stack trace', (_what, line, i) => {
    const r = mistakes[i]!;
    expect(r.code).toBe(1);
    expect(r.stderr.startsWith(line)).toBe(true);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).not.toMatch(STACK_FRAME);
  });

  it('shows the stack trace with TSG_DEBUG=1', () => {
    expect(debugRun.code).not.toBe(0);
    expect(debugRun.stderr).toMatch(STACK_FRAME);
  });
});

describe('npm run synth', () => {
  it('passes -c and --context to cdk and summarises the assembly it wrote with -o', () => {
    const r = synthRun;
    expect(r.stderr).not.toContain('no cloud assembly');
    expect(r.code).toBe(0);
    const file = readdirSync(synthOut).find((f) => f.endsWith('.template.json'))!;
    const template = JSON.parse(readFileSync(join(synthOut, file), 'utf8'));
    const fns = Object.values(template.Resources as Record<string, { Type: string; Properties: { Environment?: { Variables: Record<string, unknown> } } }>).filter((x) => x.Type === 'AWS::Lambda::Function');
    expect(fns.map((f) => f.Properties.Environment!.Variables.TSG_DRY_RUN)).toContain('true');
    expect(Object.values(template.Resources as Record<string, { Type: string }>).filter((x) => x.Type === 'AWS::SNS::Subscription')).toHaveLength(1);
    expect(r.stdout).toContain('DRY RUN (plans and reports, changes nothing)');
    expect(r.stdout).toContain('alarm e-mails:  ops@example.com');
    expect(r.stdout).toContain('cdk-nag: 0 unacknowledged finding(s)');
  });

  it('ships each function with a source map of our own code only (the afterBundling hook trimmed it)', () => {
    const maps = readdirSync(synthOut)
      .filter((d) => d.startsWith('asset.') && existsSync(join(synthOut, d, 'index.js.map')))
      .map((d) => JSON.parse(readFileSync(join(synthOut, d, 'index.js.map'), 'utf8')) as { sources: string[] });
    expect(maps.length).toBeGreaterThanOrEqual(2);
    for (const m of maps) {
      expect(m.sources.some((s) => s.includes('lambda/handlers/'))).toBe(true);
      expect(m.sources.filter((s) => s.includes('node_modules'))).toEqual([]);
    }
  });
});

describe('the README', () => {
  it("shows exactly what a fresh clone's synth summary says the deploy will do", () => {
    const readme = readFileSync(join(root, 'README.md'), 'utf8');
    const block = /<!-- default-summary:begin[^>]*-->\n```\n([\s\S]*?)```\n<!-- default-summary:end -->/.exec(readme)?.[1];
    const out = freshSummary.stdout;
    const head = out.slice(0, out.indexOf('\nStack ') + 1);
    expect(head).toMatch(/^What stack TimeSyncGuard will do:\n/);
    expect(block).toBe(head);
  });
});

describe('the app with -c organization=yes and no organizationalUnits, then the summary', () => {
  it('summarises the hub, its OUs asked at deploy, without crashing', () => {
    expect(orgSummary.stderr).toBe('');
    expect(orgSummary.stdout).toContain('What stack TimeSyncGuardOrg will do:');
    expect(orgSummary.stdout).toContain('OUs the OrganizationalUnitIds parameter (asked at deploy)');
    expect(orgSummary.code).toBe(0);
  });
});
