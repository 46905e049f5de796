/**
 * `timesync-guard check`: the hourly check from a workstation, with the user's credentials, before
 * anything is deployed. Same engine as the Lambda; the collector goes out through AWS-RunShellScript /
 * AWS-RunPowerShellScript (or a deployed document with --document). Publishes nothing unless --publish.
 *
 * Exit codes: 0 no instance at risk; 1 at least one instance at risk; 2 usage error (no region included); 3 the check could not run.
 */
import type { AwsClients, ClientOptions } from '../../lambda/aws/clients';
import { type Clock, realClock } from '../../lambda/aws/clock';
import { Ec2SsmInventory } from '../../lambda/aws/inventory';
import { putCheckMetrics } from '../../lambda/aws/metrics';
import { SsmRunCommand } from '../../lambda/aws/run-command';
import { type CheckSettings, parseCheckSettings, SettingsError } from '../../lambda/core/settings';
import type { InstanceEvaluation } from '../../lambda/core/types';
import { type CheckRun, type DocumentStrategy, runCheck } from '../../lambda/engine/check';
import { GUEST_SCRIPTS, readGuestScript } from '../../lambda/guest/scripts';
import { ArgReader } from './args';
import type { CliIo } from './io';

export const summary = 'Check every running instance in a region now (read-only; --publish to send metrics)';

const USAGE = `Usage: npx timesync-guard check [--region R] [--profile P] [--json] [--no-guest] [--publish] [--document NAME --document-hash SHA256]

  --region R       AWS region (default: AWS_REGION / the profile's region); --region=R works too
  --profile P      named profile from ~/.aws/config and ~/.aws/credentials
  --json           print one JSON document (summary + one record per instance) instead of a table
  --no-guest       skip the in-guest collector (no SSM Run Command): IMDS findings only
  --publish        also send the fleet metrics to CloudWatch (PutMetricData, namespace TSG_METRIC_NAMESPACE)
  --document NAME  run a deployed collector document instead of AWS-RunShellScript/AWS-RunPowerShellScript
  --document-hash SHA256
                   the content that document must have (its SHA-256, the stack's TSG_COLLECTOR_DOCUMENT_HASH;
                   default: TSG_COLLECTOR_DOCUMENT_HASH from the environment): a document with other content runs nothing

Exit codes: 0 nothing at risk, 1 instances at risk, 2 usage error, 3 the check could not run.`;

/** Parsed command line. */
export interface CheckArgs {
  readonly region?: string;
  readonly profile?: string;
  readonly json: boolean;
  readonly guest: boolean;
  readonly publish: boolean;
  readonly document?: string;
  readonly documentHash?: string;
  readonly help: boolean;
}

/** Parses the arguments; throws a message for a usage error. */
export function parseArgs(args: readonly string[]): CheckArgs {
  const out: { -readonly [K in keyof CheckArgs]: CheckArgs[K] } = { json: false, guest: true, publish: false, help: false };
  const r = new ArgReader(args);
  while (r.next()) {
    switch (r.flag) {
      case '--region': out.region = r.value(); break;
      case '--profile': out.profile = r.value(); break;
      case '--document': out.document = r.value(); break;
      case '--document-hash': out.documentHash = r.value(); break;
      case '--json': out.json = true; break;
      case '--no-guest': out.guest = false; break;
      case '--publish': out.publish = true; break;
      case '--help': case '-h': out.help = true; break;
      default: throw new Error(`unknown option ${JSON.stringify(r.arg)}`);
    }
  }
  if (out.documentHash !== undefined && !/^[0-9a-f]{64}$/.test(out.documentHash)) throw new Error('--document-hash must be a SHA-256 as 64 lower-case hex digits');
  if (out.documentHash !== undefined && out.document === undefined) throw new Error('--document-hash pins a --document: give both');
  return out;
}

/** What the command needs from outside, injectable for tests. */
export interface CheckCommandDeps {
  readonly clock: Clock;
  readonly makeClients: (options: ClientOptions) => AwsClients;
  /** Credentials of a named profile (`--profile`). */
  readonly profileCredentials?: (profile: string) => ClientOptions['credentials'];
}

const fmt = (x: number | null | undefined, digits = 6): string => (typeof x === 'number' && Number.isFinite(x) ? x.toFixed(digits) : '-');

/** Renders the instance table (one row per instance, offenders first). */
export function renderTable(evaluations: readonly InstanceEvaluation[]): string {
  const order = { 'at-risk': 0, unknown: 1, ok: 2, 'opted-out': 3 } as const;
  const rows = [...evaluations]
    .sort((a, b) => order[a.status] - order[b.status] || a.instanceId.localeCompare(b.instanceId))
    .map((e) => [
      e.instanceId,
      (e.name ?? '').slice(0, 24),
      e.platform,
      e.status,
      e.verdict?.timeSource ?? (e.checkState === 'checked' ? '-' : e.checkState),
      fmt(e.verdict?.offsetSeconds),
      fmt(e.verdict?.clockErrorBoundSeconds),
      e.imds.hopLimit === undefined ? '-' : String(e.imds.hopLimit),
      e.findings.map((f) => f.code).join(',') || '-',
    ]);
  const header = ['INSTANCE', 'NAME', 'PLATFORM', 'STATUS', 'TIME SOURCE', 'OFFSET s', 'BOUND s', 'HOP', 'FINDINGS'];
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => (r[c] as string).length)));
  const line = (r: string[]): string => r.map((v, c) => (c === r.length - 1 ? v : v.padEnd(widths[c] as number))).join('  ');
  return [line(header), ...rows.map(line)].join('\n');
}

function renderSummary(run: CheckRun): string {
  const c = run.summary.counts;
  return [
    `${c.instancesSeen} running, ${c.instancesChecked} checked, ${c.instancesAtRisk} at risk, ${c.instancesNotChecked} not checked, ${run.summary.byStatus['opted-out']} opted out`,
    `not on Amazon Time Sync ${c.notOnAmazonTimeSync}, not synchronised ${c.notSynchronized}, offset/bound over threshold ${c.clockErrorBoundOverThreshold}, hop limit too low for containers ${c.hopLimitTooLowForContainers}, metadata endpoint disabled ${c.metadataEndpointDisabled}`,
    `max clock error bound ${fmt(run.summary.maxClockErrorBoundSeconds)} s, p99 ${fmt(run.summary.p99ClockErrorBoundSeconds)} s, max |offset| ${fmt(run.summary.maxAbsOffsetSeconds)} s; took ${(run.durationMs / 1000).toFixed(1)} s`,
  ].join('\n');
}

function collectorScripts(io: CliIo): DocumentStrategy {
  const linux = readGuestScript(GUEST_SCRIPTS.collectLinux);
  let windows: string;
  try {
    windows = readGuestScript(GUEST_SCRIPTS.collectWindows);
  } catch {
    io.err('timesync-guard check: warning: the Windows collector is not available in this build; Windows guests will show output-unreadable');
    windows = "Write-Output 'timesync-guard: no Windows collector in this build'";
  }
  return { kind: 'scripts', linux, windows };
}

/**
 * What to do when no region was found: the SDK says only "Region is missing", and the user needs to
 * know the three places a region can come from.
 */
export function noRegionMessage(profile: string | undefined): string {
  const configure = `aws configure set region eu-west-1${profile === undefined ? '' : ` --profile ${profile}`}`;
  return [
    'no AWS region: the check runs in one region and none was given; name it with one of',
    `  ${'--region eu-west-1'.padEnd(configure.length)}  (command line)`,
    `  ${'AWS_REGION=eu-west-1'.padEnd(configure.length)}  (environment)`,
    `  ${configure}  (${profile === undefined ? 'the default profile' : `the profile ${profile}`} in ~/.aws/config)`,
  ].join('\n');
}

/** Builds the command over injected dependencies. */
export function createRun(deps: CheckCommandDeps): (args: string[], io: CliIo) => Promise<number> {
  return async (args, io) => {
    let parsed: CheckArgs;
    try {
      parsed = parseArgs(args);
    } catch (e) {
      io.err(`timesync-guard check: ${(e as Error).message}\n\n${USAGE}`);
      return 2;
    }
    if (parsed.help) {
      io.out(USAGE);
      return 0;
    }
    let settings: CheckSettings;
    try {
      settings = parseCheckSettings(io.env);
    } catch (e) {
      if (e instanceof SettingsError) {
        io.err(`timesync-guard check: ${e.setting}: ${e.problem}`);
        return 2;
      }
      throw e;
    }
    if (parsed.document !== undefined && (parsed.documentHash ?? settings.collectorDocumentHash) === undefined) {
      io.err(`timesync-guard check: --document ${parsed.document} needs the content it must have: --document-hash SHA256 (or TSG_COLLECTOR_DOCUMENT_HASH)\n\n${USAGE}`);
      return 2;
    }
    const clients = deps.makeClients({
      ...(parsed.region ? { region: parsed.region } : {}),
      ...(parsed.profile && deps.profileCredentials ? { credentials: deps.profileCredentials(parsed.profile) } : {}),
    });
    const { clock } = deps;
    let run: CheckRun;
    try {
      // A deployed document runs only with its pin: its name alone says nothing about what it runs.
      const collector: DocumentStrategy = parsed.document
        ? { kind: 'document', documentName: parsed.document, documentHash: parsed.documentHash ?? settings.collectorDocumentHash }
        : collectorScripts(io);
      run = await runCheck(
        {
          inventory: new Ec2SsmInventory({ ec2: clients.ec2, ssm: clients.ssm, clock, optOutTagKey: settings.optOutTagKey }),
          runCommand: new SsmRunCommand({ ssm: clients.ssm, clock }),
          clock,
        },
        settings,
        { guest: parsed.guest, collector },
      );
    } catch (e) {
      if (e instanceof Error && e.message === 'Region is missing') {
        io.err(`timesync-guard check: ${noRegionMessage(parsed.profile)}`);
        return 2;
      }
      io.err(`timesync-guard check: the check could not run: ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`);
      return 3;
    }
    if (parsed.json) {
      io.out(JSON.stringify({ completed: run.completed, errors: run.errors, summary: run.summary, evaluations: run.evaluations }, null, 2));
    } else {
      io.out(run.evaluations.length > 0 ? renderTable(run.evaluations) : 'No running instances in this region.');
      io.out('');
      io.out(renderSummary(run));
    }
    if (!run.completed) {
      io.err(`timesync-guard check: the run failed: ${run.errors.join('; ')}`);
      return 3;
    }
    if (parsed.publish) {
      try {
        await putCheckMetrics(clients.cloudwatch, settings.metricNamespace, run.summary, clock);
        io.err(`published the fleet metrics to namespace ${settings.metricNamespace}`);
      } catch (e) {
        io.err(`timesync-guard check: publishing failed: ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`);
        return 3;
      }
    }
    return run.summary.counts.instancesAtRisk > 0 ? 1 : 0;
  };
}

/**
 * The CLI entry (`bin/cli.ts` loads it). The SDK clients are built only when a check runs: building
 * them prints the SDK's Node-version notice, which `--help` must not.
 */
export const run = createRun({
  clock: realClock,
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  makeClients: (options) => (require('../../lambda/aws/clients') as typeof import('../../lambda/aws/clients')).createClients(options),
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  profileCredentials: (profile) => (require('@aws-sdk/credential-providers') as typeof import('@aws-sdk/credential-providers')).fromIni({ profile }),
});
