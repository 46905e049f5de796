/**
 * Billed alarm metrics of the stack, from the stack itself: synthesized in-process with bundling
 * skipped (the way test/lib does), so the count follows lib/ as it changes. A standard alarm is one
 * billed metric; a metric-math alarm counts each metric it reads.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App } from 'aws-cdk-lib';
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
  const outdir = mkdtempSync(join(tmpdir(), 'tsg-bench-synth-'));
  try {
    const app = new App({ outdir, context: { 'aws:cdk:bundling-stacks': [] } });
    const stack = new TimeSyncGuardStack(app, 'TimeSyncGuardBench');
    const template = app.synth().getStackByName(stack.stackName).template as { Resources?: Resources };
    return billedAlarmMetrics(template.Resources ?? {});
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}
