/**
 * The README gets a new user to a safe first deploy; docs/ is the reference. Every finding code,
 * verdict field, setting, metric, audit detail-type, alarm and check state the code defines must be
 * documented there, no heading may appear twice, and the generated blocks (settings table, bench
 * figures, cost) must match their sources — so nothing ships undocumented and no figure is typed by hand.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { generatedFiles } from '../../bin/docs';
import { MEMORY_TARGET_MB } from '../../bench/memory';
import { FUNCTION_MEMORY_MB } from '../../lib/function-bundling';
import { COLLECTOR_STEP_TIMEOUT_SECONDS, REMEDIATION_STEP_TIMEOUT_SECONDS } from '../../lib/constructs/guest-documents';
import { AUDIT_DETAIL_TYPES } from '../../lambda/aws/audit';
import { FINDING_TABLE } from '../../lambda/core/diagnosis/findings';
import { CHECK_METRICS, REMEDIATION_METRICS } from '../../lambda/core/fleet/metric-names';
import { contextKey, rows } from '../../lambda/core/settings';

const root = join(__dirname, '..', '..');
const read = (f: string): string => readFileSync(join(root, f), 'utf8');
const docFiles = ['README.md', ...readdirSync(join(root, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)];
const text: Record<string, string> = Object.fromEntries(docFiles.map((f) => [f, read(f)]));
const readme = text['README.md']!;
const doc = (name: string): string => text[`docs/${name}`] ?? '';

/** Markdown headings outside fenced code blocks. */
function headings(md: string): string[] {
  let fenced = false;
  const out: string[] = [];
  for (const line of md.split('\n')) {
    if (line.startsWith('```')) fenced = !fenced;
    else if (!fenced && /^#{1,6} /.test(line)) out.push(line.replace(/^#+ /, '').trim());
  }
  return out;
}

/** GitHub's anchor of a heading. */
const slug = (h: string): string => h.toLowerCase().replace(/[^\p{L}\p{N}\s-]/gu, '').replace(/\s/g, '-');

/** Pages other branches add; linked already, not required to exist here. */
const PAGES_ADDED_ELSEWHERE = new Set(['docs/windows.md', 'docs/security.md', 'docs/remediation-safety.md']);

describe('README.md', () => {
  it('stays short enough to read: at most 15,000 characters', () => {
    expect(readme.length).toBeLessThanOrEqual(15_000);
  });

  it('gives the two set-up commands and how to diagnose a box by hand', () => {
    expect(readme).toContain('`npm ci && npm run synth`');
    expect(readme).toContain('`npm ci && npm test`');
    expect(readme).toContain('npx timesync-guard collector linux');
    expect(readme).toContain('npx timesync-guard diagnose report.txt');
  });

  it('gets a new user to a safe first deploy: e-mails and dry run in cdk.json, one deploy, run the check now', () => {
    const first = readme.slice(readme.indexOf('## Safe first deploy'), readme.indexOf('## Where to look after deploying'));
    const snippet = /```json\n([\s\S]*?)```/.exec(first)?.[1];
    expect(JSON.parse(snippet!)).toEqual({ context: { alarmEmails: [expect.stringContaining('@')], dryRun: true } });
    expect(first.match(/npx cdk deploy/g)).toHaveLength(2); // the one deploy, and the one that turns it live
    expect(first).not.toMatch(/cdk deploy -c/);
    expect(first).toContain('aws lambda invoke --function-name');
    expect(first).toContain('CheckFunctionName');
    for (const field of ['completed', 'durationMs', 'counts', 'byCheckState']) expect(first).toContain(`\`${field}\``);
  });

  it('says how to upgrade and uninstall, and what stays after cdk destroy', () => {
    expect(readme).toMatch(/## Upgrade[\s\S]*npx cdk deploy/);
    expect(readme).toMatch(/## Uninstall[\s\S]*npx cdk destroy[\s\S]*log groups[\s\S]*KMS key[\s\S]*pending window/);
  });

  it('quotes the monthly cost at 100, 1,000 and 10,000 instances including the KMS key, the dashboard, the secret and the IMDSv2 refresh', () => {
    expect(readme).toMatch(/\| 100 instances \| 1,000 instances \| 10,000 instances \|/);
    expect(readme).toContain('| KMS key of the alarm topic | $1.00 |');
    expect(readme).toContain('| dashboard | $3.00 |');
    expect(readme).toContain('| Secrets Manager secrets (continuation key, IMDSv2 record key) | $0.80 |');
    expect(readme).toContain('| IMDSv2 readiness (daily `GetMetricData`) |');
  });

  it('lists every CLI command (bin/commands) with its npx line', () => {
    const cli = readme.slice(readme.indexOf('## Command-line interface'), readme.indexOf('## Documentation'));
    const commands = readdirSync(join(root, 'bin', 'commands')).filter((f) => f.endsWith('.ts') && !['io.ts', 'args.ts'].includes(f)).map((f) => f.replace(/\.ts$/, ''));
    expect(commands.length).toBeGreaterThanOrEqual(5);
    for (const c of [...commands, '--version']) expect(cli).toContain(`npx timesync-guard ${c}`);
  });

  it('says plainly that remediation is live by default, before the safe first deploy turns on the dry run', () => {
    const before = readme.slice(0, readme.indexOf('## Safe first deploy'));
    expect(before).toContain('**Remediation is LIVE by default**');
    expect(before).toMatch(/remediation: +ON .*, LIVE \(changes instances\)/);
  });

  it('links the troubleshooting page and the changelog', () => {
    expect(readme).toContain('(docs/troubleshooting.md)');
    expect(readme).toContain('(CHANGELOG.md)');
    expect(read('docs/README.md')).toContain('(troubleshooting.md)');
  });

  it('links the reference pages, including those other branches add', () => {
    for (const page of ['configuration', 'operations', 'diagnosis', 'remediation', 'guest-scripts', 'development', 'decisions', 'windows', 'security', 'remediation-safety']) {
      expect(readme).toContain(`(docs/${page}.md`);
    }
  });
});

describe('docs/troubleshooting.md', () => {
  const page = doc('troubleshooting.md');

  it('starts from the errors users arrive with', () => {
    const first = page.slice(0, page.indexOf('## 1.'));
    for (const message of ['ExpiredToken', 'Signature expired', 'RequestExpired', 'SignatureDoesNotMatch', 'RequestTimeTooSkewed']) expect(first).toContain(`\`${message}`);
  });

  it('walks to the cause with CLI commands that exist', () => {
    const used = [...page.matchAll(/npx timesync-guard ([a-z-]+)/g)].map((m) => m[1]!);
    const commands = readdirSync(join(root, 'bin', 'commands')).filter((f) => f.endsWith('.ts')).map((f) => f.replace(/\.ts$/, ''));
    expect(used).toEqual(expect.arrayContaining(['check', 'collector', 'diagnose']));
    expect(used.filter((c) => !commands.includes(c))).toEqual([]);
  });

  it('names only finding codes that exist', () => {
    const table = page.slice(page.indexOf('## 3.'), page.indexOf('## 4.'));
    const codes = [...table.matchAll(/`([a-z0-9]+(?:-[a-z0-9]+)+)`/g)].map((m) => m[1]!).filter((c) => !c.includes('orchestrators'));
    expect(codes.length).toBeGreaterThanOrEqual(15);
    expect(codes.filter((c) => !(c in FINDING_TABLE))).toEqual([]);
  });
});

describe('README.md and docs/', () => {
  it('never uses the same heading twice', () => {
    const seen = new Map<string, string>();
    const dupes: string[] = [];
    for (const [file, md] of Object.entries(text)) {
      for (const h of headings(md)) {
        const key = h.toLowerCase();
        if (seen.has(key)) dupes.push(`"${h}" in ${seen.get(key)} and ${file}`);
        else seen.set(key, file);
      }
    }
    expect(dupes).toEqual([]);
  });

  // Synthesizes both stacks to count their alarms (the cost tables price what deploys).
  it('has every generated block up to date (npm run docs)', () => {
    for (const [file, render] of Object.entries(generatedFiles())) {
      // bench/README.md is not a docs/ page, but its reading of the figures is generated too.
      const committed = text[file] ?? read(file);
      expect({ file, text: render(committed) }).toEqual({ file, text: committed });
    }
  }, 240_000);

  it('quotes the guest documents\' step timeouts as the constants define them', () => {
    const config = doc('configuration.md');
    expect(config).toContain(`collector step timeout ${COLLECTOR_STEP_TIMEOUT_SECONDS} s`);
    expect(config).toContain(`remediation step timeout ${REMEDIATION_STEP_TIMEOUT_SECONDS} s`);
  });

  it('quotes the Lambda memory and the memory the benchmark measures small fleets in as the constants define them', () => {
    const config = doc('configuration.md');
    expect(config).toContain(`Lambda memory ${FUNCTION_MEMORY_MB} MB`);
    expect(config).toContain(`started as a ${FUNCTION_MEMORY_MB} MB function`);
    expect(config).toContain(`measured as a ${MEMORY_TARGET_MB} MB function`);
  });

  it('has no broken relative link or anchor', () => {
    const broken: string[] = [];
    for (const [file, md] of Object.entries(text)) {
      for (const m of md.matchAll(/\]\(([^)\s]+)\)/g)) {
        const target = m[1]!;
        if (/^[a-z]+:/.test(target)) continue;
        const [path, anchor] = target.split('#') as [string, string | undefined];
        const resolved = path === '' ? file : join(dirname(file), path).replace(/\\/g, '/');
        if (PAGES_ADDED_ELSEWHERE.has(resolved)) continue;
        if (!existsSync(resolve(root, resolved))) {
          broken.push(`${file}: ${target}`);
          continue;
        }
        if (anchor && resolved.endsWith('.md') && !headings(text[resolved] ?? read(resolved)).map(slug).includes(anchor)) broken.push(`${file}: ${target}`);
      }
    }
    expect(broken).toEqual([]);
  });

  // Every row of the finding table, guest or instance: a code added to the table fails here until it has its doc line.
  it.each(Object.entries(FINDING_TABLE).map(([code, info]) => [code, info.level === 'guest' ? 'diagnosis.md' : 'operations.md'] as const))(
    'documents finding code %s (%s)',
    (code, page) => {
      expect(doc(page)).toContain(`| \`${code}\` |`);
    },
  );

  it.each(['platform', 'daemon', 'timeSource', 'synchronized', 'offsetSeconds', 'clockErrorBoundSeconds', 'containers', 'status', 'findings'])(
    'documents verdict field %s (diagnosis.md)',
    (field) => {
      expect(doc('diagnosis.md')).toContain(`| \`${field}\` |`);
    },
  );

  it.each(rows().map((r) => [r.key, r] as const))('documents setting %s in the configuration table', (_key, r) => {
    const ctx = contextKey(r.key);
    expect(doc('configuration.md')).toContain(ctx ? `| \`${ctx}\`` : `| \`${r.key}\` (not a context key)`);
    if (r.env) expect(doc('configuration.md')).toContain(`\`${r.env}\``);
  });

  it.each([...Object.values(CHECK_METRICS), ...Object.values(REMEDIATION_METRICS).filter((m) => m !== REMEDIATION_METRICS.remediationCompleted)])(
    'documents metric %s (operations.md)',
    (metric) => {
      expect(doc('operations.md')).toContain(metric.replace(/^Remediation/, ''));
    },
  );

  it.each(Object.values(AUDIT_DETAIL_TYPES))('documents the audit detail-type %s (operations.md)', (detailType) => {
    expect(doc('operations.md')).toContain(detailType);
  });

  // The alarm set of both stacks, and each alarm a stack adds of its own (`new cw.Alarm(this, 'XAlarm'` → x).
  const ownAlarms = ['lib/time-sync-guard.ts', 'lib/time-sync-guard-org-stack.ts', ...readdirSync(join(root, 'lib', 'constructs')).map((f) => `lib/constructs/${f}`)]
    .flatMap((f) => [...read(f).matchAll(/new cw\.Alarm\(this, '(\w+?)Alarm'/g)].map((m) => m[1]!.charAt(0).toLowerCase() + m[1]!.slice(1)));
  const alarmKeys = [...[...read('lib/constructs/guard-alarms.ts').matchAll(/readonly (\w+)\??: cw\.Alarm;/g)].map((m) => m[1]!), ...ownAlarms];
  it('finds the alarms to check, the organization hub\'s own included', () => {
    expect(alarmKeys.length).toBeGreaterThanOrEqual(12);
    expect(alarmKeys).toContain('accountRegionsNotCovered');
  });
  it.each(alarmKeys)('troubleshoots alarm %s: what it means and three things to check', (key) => {
    const row = doc('operations.md').split('\n').find((l) => l.startsWith(`| \`${key}\` |`) && l.includes('1. '));
    expect(row).toMatch(/1\. .*2\. .*3\. /);
  });

  const checkStates = [.../export type CheckState =([^;]*);/.exec(read('lambda/core/types.ts'))![1]!.matchAll(/'([a-z-]+)'/g)].map((m) => m[1]!);
  it('finds the check states to document', () => {
    expect(checkStates).toEqual(expect.arrayContaining(['ssm-offline', 'unmanaged', 'timed-out', 'output-unreadable']));
  });
  it.each(checkStates)('says what to do for check state %s', (state) => {
    const section = doc('operations.md').slice(doc('operations.md').indexOf('### What to do for each check state'));
    expect(section).toMatch(new RegExp(`^\\| \`${state}\` \\| \\S`, 'm'));
  });

  it('mentions no renamed setting under its old name except where it says so', () => {
    for (const [file, md] of Object.entries(text)) {
      for (const line of md.split('\n').filter((l) => /commandMax(Concurrency|Errors)|TSG_COMMAND_MAX/.test(l))) {
        expect({ file, line }).toEqual({ file, line: expect.stringMatching(/formerly|→|Renamed|renamed/) });
      }
    }
  });
});
