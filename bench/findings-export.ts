/**
 * Benchmark of the findings export (issue 22): Security Hub imports and SSM Compliance puts of one
 * hourly run at fleet sizes, against the simulated account through the real SDK clients (bench/wire),
 * the real adapters and the real engine, on a virtual clock:
 * first run (healthy fleet), steady state, a fleet-wide regression (every clock drifts), the hour
 * after it, the daily refresh of failing findings, and the recovery. Prints one Markdown table and
 * the monthly Security Hub cost per account-region (PRICES in ./cost.ts).
 *
 *   npx tsx bench/findings-export.ts [--n 1000,10000,50000]
 */
import './env';
import { MemorySnapshotStore } from '../lambda/aws/readiness-cache';
import { createSecurityHubPort } from '../lambda/aws/securityhub';
import { createSsmCompliancePort } from '../lambda/aws/ssm-compliance';
import { REFRESH_MS } from '../lambda/core/findings-export/state';
import type { Finding, InstanceEvaluation } from '../lambda/core/types';
import { exportFindings, type FindingsExportSummary } from '../lambda/engine/findings-export';
import { HOURS_PER_MONTH, securityHubMonthlyUSD } from './cost';
import { SimAccount } from './sim/account';
import { simInstance } from './sim/fleet';
import { securityHubState } from './sim/securityhub';
import { DiscreteEventClock } from './sim/virtual-clock';
import { wireClients } from './wire/clients';

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

/** One phase's figures. */
export interface PhaseFigures {
  readonly phase: string;
  readonly importCalls: number;
  readonly ingestionEvents: number;
  readonly compliancePuts: number;
  readonly deferred: number;
  /** Virtual seconds the export took (pacing included). */
  readonly seconds: number;
}

/** Runs the phases at one fleet size. `budgetMs` bounds each run as the check handler does (its remaining time). */
export async function benchFindingsExport(n: number, budgetMs = 10 * 60_000): Promise<PhaseFigures[]> {
  const clock = new DiscreteEventClock({ startMs: Date.UTC(2026, 11, 7, 0) });
  const account = new SimAccount(Array.from({ length: n }, (_, k) => simInstance(iid(k))), clock, { ssmBucket: { capacity: 1e9, refillPerSecond: 1e9 } });
  const clients = wireClients(account);
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
    out.push({ phase: name, importCalls: s.importCalls, ingestionEvents: sh.ingestionEvents - events, compliancePuts: s.compliancePuts, deferred: s.deferred, seconds: Math.round((clock.now() - start) / 1000) });
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
  return out;
}

/** Monthly Security Hub cost of one account-region: a healthy month, and a month in which the whole fleet stays at risk. */
export function monthlyFigures(n: number): { healthy: number; allFailingAllMonth: number; oneRegressionAndRecovery: number } {
  return { healthy: securityHubMonthlyUSD(0), allFailingAllMonth: securityHubMonthlyUSD(n * (HOURS_PER_MONTH / 24)), oneRegressionAndRecovery: securityHubMonthlyUSD(2 * n) };
}

async function main(): Promise<void> {
  const arg = process.argv.indexOf('--n');
  const sizes = arg > 0 ? (process.argv[arg + 1] ?? '').split(',').map(Number) : [1000, 10_000, 50_000];
  const lines = ['| N | phase | BatchImportFindings calls | ingestion events | PutComplianceItems calls | left for the next run | export time (s) |', '|---|---|---|---|---|---|---|'];
  const cost = ['| N | healthy month | one fleet-wide regression + recovery | whole fleet failing all month (daily refresh) |', '|---|---|---|---|'];
  for (const n of sizes) {
    for (const p of await benchFindingsExport(n)) lines.push(`| ${n.toLocaleString('en-US')} | ${p.phase} | ${p.importCalls} | ${p.ingestionEvents} | ${p.compliancePuts} | ${p.deferred} | ${p.seconds} |`);
    process.stderr.write(`${lines.slice(-8).join('\n')}\n`);
    const m = monthlyFigures(n);
    cost.push(`| ${n.toLocaleString('en-US')} | $${m.healthy.toFixed(2)} | $${m.oneRegressionAndRecovery.toFixed(2)} | $${m.allFailingAllMonth.toFixed(2)} |`);
  }
  process.stdout.write(`${lines.join('\n')}\n\nSecurity Hub finding ingestion, one account-region, per month:\n\n${cost.join('\n')}\n`);
}

if (require.main === module) {
  main().catch((e: unknown) => {
    process.stderr.write(`${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exitCode = 1;
  });
}
