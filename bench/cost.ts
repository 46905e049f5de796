/**
 * Modelled monthly cost at us-east-1 list prices, no free tier except Security Hub's (aws-limits.md): hourly checks and
 * nightly remediation, from the benchmark's measured log bytes, durations and metric counts.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { FUNCTION_MEMORY_MB } from '../lib/function-bundling';

/** List prices used (USD). */
export const PRICES = {
  /** Custom metric-month, tiered: first 10,000, next 240,000, next 750,000, beyond. */
  metricTiers: [
    { upTo: 10_000, usd: 0.3 },
    { upTo: 250_000, usd: 0.1 },
    { upTo: 1_000_000, usd: 0.05 },
    { upTo: Number.POSITIVE_INFINITY, usd: 0.02 },
  ],
  alarmStandard: 0.1,
  /** CloudWatch Logs ingestion per GB (2^30 bytes). */
  logIngestPerGB: 0.5,
  /** Lambda arm64 per GB-second, and per request. */
  lambdaArmGbSecond: 0.0000133334,
  lambdaRequest: 0.2 / 1e6,
  /** Step Functions standard, per state transition. */
  sfnTransition: 0.025 / 1000,
  /** EventBridge custom events (PutEvents) per event. */
  eventBridgeEvent: 1.0 / 1e6,
  /** SNS publish per request (beyond the free million). */
  snsPublish: 0.5 / 1e6,
  /**
   * Security Hub (CSPM) finding ingestion events, per event beyond the free first 10,000 per account,
   * region and month (AWS Security Hub pricing page, "finding ingestion events"; found through the
   * search corpus as quoted by a third-party cost guide, A#: re-check against the pricing page).
   * PutComplianceItems has no charge of its own.
   */
  securityHubIngestionEvent: 0.00003,
  securityHubFreeEventsPerMonth: 10_000,
} as const;

/** Monthly Security Hub ingestion cost of one account-region for `events` finding imports a month. */
export function securityHubMonthlyUSD(events: number): number {
  return Math.max(0, events - PRICES.securityHubFreeEventsPerMonth) * PRICES.securityHubIngestionEvent;
}

/** Hours in a month (730) and nights (30). */
export const HOURS_PER_MONTH = 730;
export const NIGHTS_PER_MONTH = 30;
/** Lambda's START/END/REPORT platform lines per invocation (≈ 350 bytes, A12). */
export const LAMBDA_PLATFORM_LOG_BYTES = 350;
/** Memory of the functions: the construct's own constant (lib/function-bundling.ts), never a copy. */
export { FUNCTION_MEMORY_MB };

/**
 * Billed alarm metrics when neither cdk.out nor an in-process synth is available: GuardAlarmSet in
 * lib/constructs/guard-alarms.ts had 10 standard alarms on 2026-11-29 (9 + the remediation heartbeat).
 */
export const ALARMS_FALLBACK = 10;

/**
 * Billed alarm metrics of the stack: from an in-process synth of the default stack (bench/alarms.ts,
 * so the count follows lib/ as it is now), else from cdk.out/*.template.json when a synth left one
 * (it may be older than lib/), else {@link ALARMS_FALLBACK}.
 */
export async function countAlarms(root: string): Promise<{ count: number; source: string }> {
  const { billedAlarmMetrics, stackAlarms } = await import('./alarms');
  let synthError: string;
  try {
    const a = stackAlarms();
    return { count: a.billed, source: `in-process synth of the default stack: ${a.alarms} alarms, ${a.billed} billed metrics` };
  } catch (e) {
    synthError = e instanceof Error ? e.message : String(e);
  }
  const out = join(root, 'cdk.out');
  if (existsSync(out)) {
    let billed = 0;
    let found = false;
    for (const f of readdirSync(out)) {
      if (!f.endsWith('.template.json')) continue;
      found = true;
      const t = JSON.parse(readFileSync(join(out, f), 'utf8')) as { Resources?: Parameters<typeof billedAlarmMetrics>[0] };
      billed += billedAlarmMetrics(t.Resources ?? {}).billed;
    }
    if (found) return { count: billed, source: `cdk.out templates (in-process synth failed: ${synthError})` };
  }
  return { count: ALARMS_FALLBACK, source: `constant (synth failed: ${synthError})` };
}

/** Monthly price of `count` custom metrics published every hour of the month. */
export function metricsMonthlyUSD(count: number): number {
  let left = count;
  let prev = 0;
  let usd = 0;
  for (const t of PRICES.metricTiers) {
    const inTier = Math.max(0, Math.min(left, t.upTo - prev));
    usd += inTier * t.usd;
    left -= inTier;
    prev = t.upTo;
    if (left <= 0) break;
  }
  return usd;
}

/** What one run costs in the units the model prices. */
export interface RunUsage {
  readonly seconds: number;
  readonly logBytes: number;
  readonly invocations: number;
  readonly auditEvents?: number;
  readonly sfnTransitions?: number;
  readonly snsPublishes?: number;
}

/** Inputs of the monthly model. */
export interface CostInputs {
  readonly hourlyCheck: RunUsage;
  readonly nightlyRemediation: RunUsage;
  /** Distinct metrics emitted by the hourly check (each a full metric-month). */
  readonly checkMetrics: number;
  /** Distinct metrics emitted once a night (CloudWatch prorates by the hour: 1/24 each). */
  readonly remediationMetrics: number;
  readonly alarms: number;
  readonly memoryMB?: number;
  /** Security Hub finding ingestion events a month in the account-region (bench/findings-export.ts). @default 0 */
  readonly securityHubEventsPerMonth?: number;
}

/** The monthly bill by line. */
export interface MonthlyCost {
  readonly metrics: number;
  readonly alarms: number;
  readonly logs: number;
  readonly lambda: number;
  readonly stepFunctions: number;
  readonly eventBridge: number;
  readonly sns: number;
  /** Security Hub finding ingestion (the free 10,000 events a month counted: they are per account-region, not per account). */
  readonly securityHub: number;
  readonly total: number;
  readonly logGBPerMonth: number;
}

const round = (v: number, d = 2): number => Math.round(v * 10 ** d) / 10 ** d;

/** Monthly cost of hourly checks + nightly remediation. */
export function monthlyCost(i: CostInputs): MonthlyCost {
  const gb = (i.memoryMB ?? FUNCTION_MEMORY_MB) / 1024;
  const checks = HOURS_PER_MONTH;
  const nights = NIGHTS_PER_MONTH;
  const metrics = metricsMonthlyUSD(i.checkMetrics) + metricsMonthlyUSD(i.remediationMetrics) / 24;
  const alarms = i.alarms * PRICES.alarmStandard;
  const logBytes =
    checks * (i.hourlyCheck.logBytes + i.hourlyCheck.invocations * LAMBDA_PLATFORM_LOG_BYTES) +
    nights * (i.nightlyRemediation.logBytes + i.nightlyRemediation.invocations * LAMBDA_PLATFORM_LOG_BYTES);
  const logGB = logBytes / 2 ** 30;
  const logs = logGB * PRICES.logIngestPerGB;
  const lambda =
    checks * (i.hourlyCheck.seconds * gb * PRICES.lambdaArmGbSecond + i.hourlyCheck.invocations * PRICES.lambdaRequest) +
    nights * (i.nightlyRemediation.seconds * gb * PRICES.lambdaArmGbSecond + i.nightlyRemediation.invocations * PRICES.lambdaRequest);
  const stepFunctions = nights * (i.nightlyRemediation.sfnTransitions ?? 0) * PRICES.sfnTransition;
  const eventBridge = nights * (i.nightlyRemediation.auditEvents ?? 0) * PRICES.eventBridgeEvent;
  const sns = nights * (i.nightlyRemediation.snsPublishes ?? 0) * PRICES.snsPublish;
  const securityHub = securityHubMonthlyUSD(i.securityHubEventsPerMonth ?? 0);
  const total = metrics + alarms + logs + lambda + stepFunctions + eventBridge + sns + securityHub;
  return {
    metrics: round(metrics),
    alarms: round(alarms),
    logs: round(logs),
    lambda: round(lambda),
    stepFunctions: round(stepFunctions, 4),
    eventBridge: round(eventBridge),
    sns: round(sns, 4),
    securityHub: round(securityHub),
    total: round(total),
    logGBPerMonth: round(logGB, 3),
  };
}

/**
 * Step Functions transitions of one remediation run in the stack's state machine
 * (lib/constructs/remediation-state-machine.ts): start → Init → OverlapGuard task → OverlapGuard
 * choice, then per invocation Remediate + IsDone (+ NextIteration when looping), then Done.
 */
export function sfnTransitions(invocations: number): number {
  return 4 + 2 * invocations + Math.max(0, invocations - 1) + 1;
}
