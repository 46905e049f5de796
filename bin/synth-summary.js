#!/usr/bin/env node
// Prints what `cdk synth` produced: first every action the deploy will take (for the organization
// hub, which OUs and regions; check schedule, remediation live or dry run, urgent fixes, caps, what
// gets fixed, IMDSv2 enforcement, account-default writes, launch check, findings export, alarm
// e-mails, opt-out tag, deprecation warnings), then
// resources by type, schedules, Lambda functions, alarms and the cdk-nag verdict. Exits non-zero if
// any validation finding is unacknowledged or the cloud assembly is missing. Plain Node (no
// TypeScript, no dependencies) so it runs anywhere.
//
// Usage: node bin/synth-summary.js [ASSEMBLY_DIR] — or the cdk arguments themselves, from which it
// takes -o/--output (else cdk.json's `output`, else cdk.out), so `npm run synth -- -c k=v -o out`
// finds what cdk wrote.
'use strict';
const fs = require('node:fs');
const path = require('node:path');

/** What each hopLimitScope raises, in the summary's words. */
const HOP_SCOPE_TEXT = {
  containers: 'container hosts (not Kubernetes/ECS nodes)',
  'containers-and-orchestrators': 'container hosts, Kubernetes/ECS nodes included',
  all: 'all instances',
};

/** cdk.json's `output` (where cdk writes when no -o is given), or undefined. */
function configuredOutput() {
  try {
    const o = JSON.parse(fs.readFileSync('cdk.json', 'utf8')).output;
    return typeof o === 'string' && o !== '' ? o : undefined;
  } catch {
    return undefined;
  }
}

/** The assembly directory: a lone positional argument, else cdk's -o/--output, else cdk.json's output, else cdk.out. */
function outdirOf(args) {
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === '-o' || a === '--output') return args[i + 1] || 'cdk.out';
    if (a.startsWith('--output=')) return a.slice('--output='.length);
  }
  const positional = args.length === 1 && !args[0].startsWith('-') ? args[0] : undefined;
  return positional || configuredOutput() || 'cdk.out';
}

const outdir = path.resolve(outdirOf(process.argv.slice(2)));

function readJson(file) {
  return JSON.parse(fs.readFileSync(file, 'utf8'));
}

function flat(v) {
  if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (Array.isArray(v)) return v.map(flat).join(',');
  if (v && typeof v === 'object') {
    // The list may itself be a token (a Ref to a CommaDelimitedList parameter), not an array.
    if ('Fn::Join' in v) {
      const [separator, list] = v['Fn::Join'];
      return Array.isArray(list) ? list.map(flat).join(separator) : flat(list);
    }
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

/** What each `imdsv2` mode does, in the summary's words. */
const IMDSV2_TEXT = {
  off: 'off (no readiness report; HttpTokens never changed)',
  report: 'readiness reported; HttpTokens never changed',
  enforce: 'ENFORCE: HttpTokens=required set at night on ready instances; rejected IMDSv1 calls alarmed',
};

/** A template value with its parameters named: `{OrganizationalUnitIds}` → the parameter asked at deploy. */
function withParameters(text, parameters) {
  return text.replace(/\{(\w+)\}/g, (m, name) => (name in parameters ? `the ${name} parameter (asked at deploy)` : m));
}

/** The settings a user must see before deploying, read back from the template: every action the deploy will take. */
function whatItDoes(name, resources, artifact, parameters) {
  const fns = resources.filter(([, r]) => r.Type === 'AWS::Lambda::Function').map(([, r]) => (r.Properties.Environment || {}).Variables || {});
  const remediate = fns.find((v) => 'TSG_DRY_RUN' in v && !('TSG_LAUNCH_SSM_WAIT_SECONDS' in v)) || {};
  const check = fns.find((v) => 'TSG_COLLECTOR_DOCUMENT' in v && !('TSG_DRY_RUN' in v)) || {};
  const launch = fns.find((v) => 'TSG_LAUNCH_SSM_WAIT_SECONDS' in v);
  const schedules = resources.filter(([, r]) => r.Type === 'AWS::Scheduler::Schedule').map(([, r]) => r.Properties);
  const checkSchedule = schedules.find((p) => /check/.test(p.Description || ''));
  const remediationSchedule = schedules.find((p) => /remediation/.test(p.Description || ''));
  const emails = resources.filter(([, r]) => r.Type === 'AWS::SNS::Subscription' && r.Properties.Protocol === 'email').map(([, r]) => flat(r.Properties.Endpoint));
  const when = (p) => (p ? `${p.ScheduleExpression} (${p.ScheduleExpressionTimezone || 'UTC'})` : 'none');
  const dryRun = remediate.TSG_DRY_RUN === 'true';
  const yes = (v) => (v === 'true' ? 'yes' : 'no');
  // The organization hub has no separate check function: hub-item checks and remediates.
  const hubRun = fns.find((v) => 'TSG_HUB_OUS' in v);
  const hubItem = fns.find((v) => 'TSG_SPOKE_ROLE_NAME' in v) || {};
  const setting = (key) => check[key] ?? remediate[key] ?? '?';
  // A change the nightly run makes is only planned in a dry run.
  const planned = dryRun ? ' (dry run: planned, not made)' : '';
  console.log(`What stack ${name} will do:`);
  if (hubRun) {
    const ous = withParameters(flat(hubRun.TSG_HUB_OUS), parameters);
    const regions = flat(hubRun.TSG_HUB_REGIONS ?? '?').replace('{AWS::Region}', 'the deploy region');
    const accounts = hubRun.TSG_HUB_ACCOUNTS ? `, accounts ${flat(hubRun.TSG_HUB_ACCOUNTS)}` : '';
    console.log(`  organization:   OUs ${ous}${accounts}; regions ${regions}; through the spoke role ${hubItem.TSG_SPOKE_ROLE_NAME ?? '?'}`);
  }
  console.log(`  check:          ${when(checkSchedule)}, read-only; offset/bound thresholds ${setting('TSG_MAX_OFFSET_SECONDS')} s / ${setting('TSG_MAX_CLOCK_ERROR_BOUND_SECONDS')} s`);
  if (!remediationSchedule) console.log('  remediation:    OFF (no schedule; the state machine can be started by hand)');
  else console.log(`  remediation:    ON ${when(remediationSchedule)}, ${dryRun ? 'DRY RUN (plans and reports, changes nothing)' : 'LIVE (changes instances)'}`);
  const urgent = setting('TSG_URGENT_REMEDIATION') === 'true';
  console.log(`  urgent fixes:   ${urgent ? `after each check, hosts ${setting('TSG_URGENT_OFFSET_SECONDS')} s or more off or without credentials fixed at once` : 'off'}`);
  console.log(`  caps:           at most ${remediate.TSG_MAX_CHANGES_PER_RUN ?? '?'} instances and ${remediate.TSG_MAX_CHANGES_PERCENT ?? '?'}% of the fleet per run; SSM MaxConcurrency ${remediate.TSG_REMEDIATION_MAX_CONCURRENCY ?? '?'}, MaxErrors ${remediate.TSG_REMEDIATION_MAX_ERRORS ?? '?'}`);
  console.log(
    `  fixes:          hop limit raised to ${remediate.TSG_HOP_LIMIT_TARGET ?? '?'} on ${HOP_SCOPE_TEXT[remediate.TSG_HOP_LIMIT_SCOPE] ?? `${remediate.TSG_HOP_LIMIT_SCOPE ?? '?'} hosts`}; time sync ${yes(remediate.TSG_FIX_TIME_SYNC)}; metadata endpoint ${yes(remediate.TSG_ENABLE_METADATA_ENDPOINT)}; install chrony ${yes(remediate.TSG_INSTALL_CHRONY)}` +
      `; NO_PROXY ${yes(remediate.TSG_FIX_NO_PROXY)}; mixed sources ${yes(remediate.TSG_FIX_MIXED_SOURCES)}`,
  );
  const imdsv2 = setting('TSG_IMDSV2');
  const undo = imdsv2 === 'enforce' ? (setting('TSG_IMDSV2_AUTO_UNDO') === 'true' ? '; auto-undo: the check sets optional again' : '; never undone automatically') : '';
  console.log(`  IMDSv2:         ${IMDSV2_TEXT[imdsv2] ?? imdsv2}${imdsv2 === 'enforce' ? planned : ''}${undo}`);
  if (remediate.TSG_ACCOUNT_DEFAULTS !== undefined) {
    const writes = remediate.TSG_ACCOUNT_DEFAULTS === 'set';
    console.log(`  account:        ${writes ? `SET: metadata defaults raised to the hop-limit target, tokens required once IMDSv2 is enforced${planned}` : 'metadata defaults reported, never written'}`);
  }
  if (!hubRun) console.log(`  launch check:   ${launch ? `on, each new instance within minutes; ${launch.TSG_REMEDIATE_ON_LAUNCH === 'true' ? `at-risk launches remediated at once${planned}` : 'report only'}` : 'off'}`);
  console.log(`  findings:       Security Hub ${yes(setting('TSG_SECURITY_HUB'))}; SSM Compliance ${yes(setting('TSG_SSM_COMPLIANCE'))}`);
  console.log(`  alarm e-mails:  ${emails.length ? `${emails.join(', ')} (each confirms the subscription by e-mail)` : 'none (alarms reach only the topic)'}`);
  console.log(`  opt-out tag:    ${check.TSG_OPT_OUT_TAG_KEY ?? remediate.TSG_OPT_OUT_TAG_KEY ?? '?'} (instances carrying it are never checked nor changed)`);
  const warnings = [];
  // Recent cdk versions move the metadata into a side file (additionalMetadataFile).
  const metadata = { ...(artifact.metadata || {}) };
  if (artifact.additionalMetadataFile && fs.existsSync(path.join(outdir, artifact.additionalMetadataFile))) {
    Object.assign(metadata, readJson(path.join(outdir, artifact.additionalMetadataFile)));
  }
  for (const entries of Object.values(metadata)) {
    if (!Array.isArray(entries)) continue;
    for (const m of entries) if (m.type === 'aws:cdk:warning') warnings.push(String(m.data).replace(/ \[ack: [^\]]*\]$/, ''));
  }
  for (const w of warnings) console.log(`  WARNING:        ${w}`);
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
    whatItDoes(name, resources, artifact, template.Parameters || {});
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
