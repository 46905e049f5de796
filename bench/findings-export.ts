/**
 * Benchmark of the findings export (issue 22): Security Hub imports and SSM Compliance puts of one
 * hourly run at fleet sizes, against the simulated account through the real SDK clients (bench/wire),
 * the real adapters and the real engine, on a virtual clock:
 * first run (healthy fleet), steady state, a fleet-wide regression (every clock drifts), the hour
 * after it, the daily refresh of failing findings, and the recovery. `npm run bench` runs it per
 * size in a worker (bench/worker.ts, mode `findings-export`) and writes the `findingsExport` key of
 * results.json (summed up in ./findings-export-figures.ts); by hand it prints every run's figures:
 *
 *   npx tsx bench/findings-export.ts [--n 1000,10000,50000] [--mock] [--write]
 *
 * `--mock`: without the SDK's serializers; `--write`: as `npm run bench` measures (serializers up
 * to {@link WIRE_MAX_N}), then merges the key into results.json and regenerates the docs.
 */
import './env';
import { MemorySnapshotStore } from '../lambda/aws/readiness-cache';
import { createSecurityHubPort } from '../lambda/aws/securityhub';
import { createSsmCompliancePort } from '../lambda/aws/ssm-compliance';
import { REFRESH_MS } from '../lambda/core/findings-export/state';
import type { Finding, InstanceEvaluation } from '../lambda/core/types';
import { exportFindings, type FindingsExportSummary } from '../lambda/engine/findings-export';
import { type FindingsExportKey, type FindingsExportSize, findingsExportTarget, type PhaseFigures, renderFindingsExport, summarizeFindingsExport } from './findings-export-figures';
import type { Target } from './reading';
import { mergeResults } from './results-file';
import { writeGeneratedDocs } from './generated-docs';
import { SimAccount } from './sim/account';
import { simInstance } from './sim/fleet';
import { securityHubState } from './sim/securityhub';
import { DiscreteEventClock } from './sim/virtual-clock';
import { wireClients } from './wire/clients';
import type { Transport } from './drive';
import { SecurityHubClient } from '@aws-sdk/client-securityhub';
import { SSMClient } from '@aws-sdk/client-ssm';

const iid = (k: number): string => `i-${(0x10000000 + k).toString(16).padStart(17, '0')}`;

function evaluation(k: number, drifting: boolean): InstanceEvaluation {
  const findings: Finding[] = drifting ? [{ code: 'offset-over-threshold', message: 'offset 12 s over 1 s' }] : [];
  return {
    instanceId: iid(k),
    platform: 'linux',
    status: drifting ? 'at-risk' : 'ok',
    checkState: 'checked',
    findings,
    imds: { httpEndpoint: 'enabled', httpTokens: 'required', hopLimit: 2, state: 'applied' },
    hasInstanceProfile: true,
    verdict: { platform: 'linux', daemon: 'chrony', timeSource: 'amazon-ipv4', synchronized: true, offsetSeconds: drifting ? 12 : 0.0002, clockErrorBoundSeconds: drifting ? 12.001 : 0.001, containers: false, status: drifting ? 'at-risk' : 'ok', findings },
  };
}

/**
 * Runs the phases at one fleet size. `budgetMs` bounds each run as the check handler does (its
 * remaining time). `transport` as in ./drive.ts: `wire` (the real clients' serializers, the
 * default) or `mock` (the same simulated answers without serializing, for the large sizes in `npm run bench`).
 */
export async function benchFindingsExport(n: number, budgetMs = 10 * 60_000, transport: Transport = 'wire'): Promise<PhaseFigures[]> {
  const clock = new DiscreteEventClock({ startMs: Date.UTC(2026, 11, 7, 0) });
  const account = new SimAccount(Array.from({ length: n }, (_, k) => simInstance(iid(k))), clock, { ssmBucket: { capacity: 1e9, refillPerSecond: 1e9 } });
  const clients = transport === 'wire' ? wireClients(account) : { securityhub: new SecurityHubClient({ region: 'us-east-1' }), ssm: new SSMClient({ region: 'us-east-1' }) };
  if (transport === 'mock') account.install();
  const store = new MemorySnapshotStore();
  const deps = { securityHub: createSecurityHubPort({ securityHub: clients.securityhub, clock }), compliance: createSsmCompliancePort({ ssm: clients.ssm, clock }), store, clock };
  const sh = securityHubState(account);
  const healthy = Array.from({ length: n }, (_, k) => evaluation(k, false));
  const drifting = Array.from({ length: n }, (_, k) => evaluation(k, true));
  const out: PhaseFigures[] = [];
  const phase = async (name: string, evaluations: InstanceEvaluation[], advanceMs = 3_600_000): Promise<void> => {
    const events = sh.ingestionEvents;
    let s!: FindingsExportSummary;
    const start = clock.now();
    await clock.run(async () => {
      s = await exportFindings(deps, evaluations, { context: { partition: 'aws', region: 'us-east-1', accountId: '123456789012' }, runId: name, complete: true, deadline: start + budgetMs });
    });
    let failingFindings = 0;
    for (const f of sh.findings.values()) if (f.finding['RecordState'] === 'ACTIVE' && (f.finding['Compliance'] as { Status?: string } | undefined)?.Status === 'FAILED') failingFindings++;
    let nonCompliantInstances = 0;
    for (const items of sh.compliance.values()) if (items.some((i) => i['Status'] === 'NON_COMPLIANT')) nonCompliantInstances++;
    out.push({ phase: name, importCalls: s.importCalls, ingestionEvents: sh.ingestionEvents - events, compliancePuts: s.compliancePuts, deferred: s.deferred, seconds: Math.round((clock.now() - start) / 1000), failingFindings, nonCompliantInstances });
    await clock.run(() => clock.sleep(advanceMs));
    account.trimHistory();
  };
  await phase('first run (healthy)', healthy);
  // Puts the first run could not fit in its budget follow in the next runs.
  for (let k = 0; k < 10 && store.text && out[out.length - 1]!.deferred > 0; k++) await phase(`first run, carried over (${k + 1})`, healthy);
  await phase('steady state', healthy);
  await phase('fleet-wide regression', drifting);
  for (let k = 0; k < 10 && out[out.length - 1]!.deferred > 0; k++) await phase(`regression, carried over (${k + 1})`, drifting);
  await phase('the hour after', drifting, REFRESH_MS - 3_600_000);
  await phase('daily refresh of failing findings', drifting);
  await phase('recovery (all fixed)', healthy);
  for (let k = 0; k < 10 && out[out.length - 1]!.deferred > 0; k++) await phase(`recovery, carried over (${k + 1})`, healthy);
  account.restore();
  return out;
}

/** What the figures assume (written beside them). */
const MODEL = {
  run: "one hourly run's export: the real engine and adapters over the simulated account, on a virtual clock, bounded to 600 s (the rest carried to the next run)",
  limits: 'BatchImportFindings ≤ 100 findings a call, 10/s burst 30; PutComplianceItems on the SSM bucket (assumed 10/s)',
  fleet: 'every instance healthy, then every clock drifting (one failing check each), then every instance fixed',
  price: '$0.00003 per finding ingestion event beyond the free 10,000 per account-region and month (PRICES in bench/cost.ts); PutComplianceItems has no charge',
} as const;

/**
 * Above this size `npm run bench` measures without the SDK's serializers: at 50,000 they are most
 * of a 3-minute run (150,000 PutComplianceItems, 1,500 imports of 100 findings), and the call
 * counts, the figures this measures, do not depend on them.
 */
export const WIRE_MAX_N = 10_000;

/** The figures of one fleet size, summed up (bench/worker.ts runs it in a process of its own). */
export async function findingsExportSize(n: number, transport: Transport = 'wire'): Promise<FindingsExportSize> {
  const wall0 = Date.now();
  const phases = await benchFindingsExport(n, undefined, transport);
  return summarizeFindingsExport(n, phases, Math.round((Date.now() - wall0) / 100) / 10, transport);
}

/** The `findingsExport` key of results.json from the sizes measured, and its target per size (bench/run.ts). */
export function findingsExportKey(sizes: readonly FindingsExportSize[], targets: Target[]): FindingsExportKey {
  for (const s of sizes) targets.push(findingsExportTarget(s));
  return { model: MODEL, sizes };
}

async function main(): Promise<void> {
  const arg = process.argv.indexOf('--n');
  const sizes = arg > 0 ? (process.argv[arg + 1] ?? '').split(',').map(Number) : [1000, 10_000, 50_000];
  const mock = process.argv.includes('--mock');
  const lines = ['| N | phase | BatchImportFindings calls | ingestion events | PutComplianceItems calls | left for the next run | export time (s) |', '|---|---|---|---|---|---|---|'];
  const measured: FindingsExportSize[] = [];
  for (const n of sizes) {
    const s = await findingsExportSize(n, mock || (process.argv.includes('--write') && n > WIRE_MAX_N) ? 'mock' : 'wire');
    measured.push(s);
    for (const p of s.phases) lines.push(`| ${n.toLocaleString('en-US')} | ${p.phase} | ${p.importCalls} | ${p.ingestionEvents} | ${p.compliancePuts} | ${p.deferred} | ${p.seconds} |`);
  }
  const key = findingsExportKey(measured, []);
  process.stdout.write(`${lines.join('\n')}\n\n${renderFindingsExport(key)}\n`);
  if (process.argv.includes('--write')) {
    // Only this key and the docs generated from it; the full `npm run bench` writes it as well.
    mergeResults({ findingsExport: key });
    const docs = writeGeneratedDocs();
    process.stdout.write(`wrote the findingsExport key of bench/results.json${docs.length ? ` (and ${docs.join(', ')})` : ''}\n`);
  }
}

if (require.main === module) {
  main().catch((e: unknown) => {
    process.stderr.write(`${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exitCode = 1;
  });
}
