#!/usr/bin/env node
// Prints what `cdk synth` produced in cdk.out: resources by type, schedules, alarms, Lambda
// functions, and the cdk-nag verdict. Exits non-zero if any validation finding is unacknowledged
// or the cloud assembly is missing. Plain Node (no TypeScript, no dependencies) so it runs anywhere.
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const outdir = path.resolve(process.argv[2] || 'cdk.out');

function readJson(file) {
  return JSON.parse(fs.readFileSync(file, 'utf8'));
}

function flat(v) {
  if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (Array.isArray(v)) return v.map(flat).join(',');
  if (v && typeof v === 'object') {
    if ('Fn::Join' in v) return v['Fn::Join'][1].map(flat).join(v['Fn::Join'][0]);
    if ('Ref' in v) return `{${v.Ref}}`;
    if ('Fn::GetAtt' in v) return `{${[].concat(v['Fn::GetAtt']).join('.')}}`;
  }
  return JSON.stringify(v);
}

function dirSize(dir) {
  let total = 0;
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    total += e.isDirectory() ? dirSize(p) : fs.statSync(p).size;
  }
  return total;
}

function kib(n) {
  return n >= 1024 * 1024 ? `${(n / 1024 / 1024).toFixed(1)} MiB` : `${Math.round(n / 1024)} KiB`;
}

function main() {
  const manifestFile = path.join(outdir, 'manifest.json');
  if (!fs.existsSync(manifestFile)) {
    console.error(`synth-summary: no cloud assembly at ${outdir} (run cdk synth first)`);
    return 2;
  }
  const manifest = readJson(manifestFile);
  const stacks = Object.entries(manifest.artifacts || {}).filter(([, a]) => a.type === 'aws:cloudformation:stack');
  if (stacks.length === 0) {
    console.error('synth-summary: the cloud assembly has no stack');
    return 2;
  }
  for (const [name, artifact] of stacks) {
    const template = readJson(path.join(outdir, artifact.properties.templateFile));
    const resources = Object.entries(template.Resources || {});
    const env = artifact.environment || 'unknown';
    console.log(`Stack ${name} (${env}): ${resources.length} resources`);
    const byType = {};
    for (const [, r] of resources) byType[r.Type] = (byType[r.Type] || 0) + 1;
    for (const [type, n] of Object.entries(byType).sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))) {
      console.log(`  ${String(n).padStart(3)}  ${type}`);
    }

    console.log('Schedules:');
    for (const [id, r] of resources.filter(([, r]) => r.Type === 'AWS::Scheduler::Schedule')) {
      const p = r.Properties;
      const rp = (p.Target && p.Target.RetryPolicy) || {};
      console.log(
        `  ${id}: ${p.ScheduleExpression} tz=${p.ScheduleExpressionTimezone || 'UTC'} ${p.State || 'ENABLED'}` +
          ` → ${flat(p.Target.Arn)} (retries ${rp.MaximumRetryAttempts ?? 'default'}, max age ${rp.MaximumEventAgeInSeconds ?? 'default'} s, DLQ ${p.Target.DeadLetterConfig ? 'yes' : 'NO'})`,
      );
    }

    console.log('Lambda functions:');
    const assetDirs = {};
    for (const [id, r] of resources.filter(([, r]) => r.Type === 'AWS::Lambda::Function')) {
      const p = r.Properties;
      const assetPath = r.Metadata && r.Metadata['aws:asset:path'];
      let size = 'not bundled';
      if (assetPath && fs.existsSync(path.join(outdir, assetPath))) {
        size = kib(dirSize(path.join(outdir, assetPath)));
        assetDirs[id] = assetPath;
      }
      console.log(
        `  ${id}: ${p.Runtime} ${(p.Architectures || ['x86_64']).join(',')} ${p.MemorySize || 128} MB timeout ${p.Timeout || 3} s` +
          ` reserved concurrency ${p.ReservedConcurrentExecutions ?? 'none'}, bundle ${size}`,
      );
    }

    const sm = resources.filter(([, r]) => r.Type === 'AWS::StepFunctions::StateMachine');
    if (sm.length > 0) {
      console.log('State machines:');
      for (const [id, r] of sm) {
        const p = r.Properties;
        console.log(`  ${id}: ${p.StateMachineType || 'STANDARD'} ${p.StateMachineName || ''} logging ${p.LoggingConfiguration ? p.LoggingConfiguration.Level : 'OFF'} tracing ${p.TracingConfiguration && p.TracingConfiguration.Enabled ? 'on' : 'off'}`);
      }
    }

    const alarms = resources.filter(([, r]) => r.Type === 'AWS::CloudWatch::Alarm');
    console.log(`Alarms (${alarms.length}):`);
    const ops = { GreaterThanThreshold: '>', GreaterThanOrEqualToThreshold: '>=', LessThanThreshold: '<', LessThanOrEqualToThreshold: '<=' };
    for (const [id, r] of alarms) {
      const p = r.Properties;
      const what = p.MetricName ? `${p.Namespace ? flat(p.Namespace) : ''}/${p.MetricName} ${p.ExtendedStatistic || p.Statistic} ${p.Period}s` : `math ${(p.Metrics || []).find((m) => m.Expression)?.Expression || ''}`;
      console.log(`  ${id}: ${what} ${ops[p.ComparisonOperator] || p.ComparisonOperator} ${p.Threshold}, missing=${p.TreatMissingData || 'missing'}`);
    }
  }

  const reportFile = path.join(outdir, 'validation-report.json');
  if (!fs.existsSync(reportFile)) {
    console.log('cdk-nag: no validation report in cdk.out (no policy-validation plugin ran): FAIL');
    return 1;
  }
  const report = readJson(reportFile);
  const findings = [];
  for (const plugin of report.pluginReports || []) {
    for (const v of plugin.violations || []) {
      for (const c of v.violatingConstructs || []) findings.push(`${plugin.pluginName}: ${v.ruleName} at ${c.constructPath}`);
    }
  }
  const plugins = (report.pluginReports || []).map((p) => p.pluginName);
  console.log(`cdk-nag: ${findings.length} unacknowledged finding(s)${plugins.length ? ` (${plugins.join(', ')})` : ''}`);
  for (const f of findings) console.log(`  ${f}`);
  return findings.length === 0 ? 0 : 1;
}

try {
  process.exitCode = main();
} catch (e) {
  console.error(`synth-summary: ${e && e.message ? e.message : e}`);
  process.exitCode = 2;
}
