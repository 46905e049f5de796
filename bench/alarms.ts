/**
 * Billed alarm metrics of the stack, from the stack itself: synthesized in-process with bundling
 * skipped (the way test/lib does), so the count follows lib/ as it changes. A standard alarm is one
 * billed metric; a metric-math alarm counts each metric it reads.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App } from 'aws-cdk-lib';
import { TimeSyncGuardOrgStack } from '../lib/time-sync-guard-org-stack';
import { TimeSyncGuardStack } from '../lib/time-sync-guard-stack';

type Resources = Record<string, { Type?: string; Properties?: { Metrics?: { MetricStat?: unknown }[] } }>;

/** Counts the billed alarm metrics in a CloudFormation template's resources. */
export function billedAlarmMetrics(resources: Resources): { alarms: number; billed: number } {
  let alarms = 0;
  let billed = 0;
  for (const r of Object.values(resources)) {
    if (r.Type !== 'AWS::CloudWatch::Alarm') continue;
    alarms++;
    const m = r.Properties?.Metrics;
    billed += Array.isArray(m) ? Math.max(1, m.filter((x) => x.MetricStat !== undefined).length) : 1;
  }
  return { alarms, billed };
}

/** Synthesizes the default stack (no bundling) into a temporary directory and counts its alarms. */
export function stackAlarms(): { alarms: number; billed: number } {
  return synthAlarms((app) => new TimeSyncGuardStack(app, 'TimeSyncGuardBench').stackName);
}

/** The same for the organization hub with its defaults (its alarm set differs from the single-account one). */
export function orgStackAlarms(): { alarms: number; billed: number } {
  return synthAlarms((app) => new TimeSyncGuardOrgStack(app, 'TimeSyncGuardOrgBench', { organizationalUnits: ['ou-abcd-12345678'] }).stackName);
}

function synthAlarms(build: (app: App) => string): { alarms: number; billed: number } {
  const outdir = mkdtempSync(join(tmpdir(), 'tsg-bench-synth-'));
  try {
    const app = new App({ outdir, context: { 'aws:cdk:bundling-stacks': [] } });
    const name = build(app);
    const template = app.synth().getStackByName(name).template as { Resources?: Resources };
    return billedAlarmMetrics(template.Resources ?? {});
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}
