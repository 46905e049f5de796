/**
 * The typed settings object that crosses the seam from the CDK construct (which writes
 * environment variables) to the Lambda handlers and the CLI (which parse them once, at cold start).
 * `lib/` imports only the key names and defaults from here; it never imports the SDK.
 */
import type { Thresholds } from './types';

/** Environment variable names: the one contract between lib/ and lambda/. */
export const ENV = {
  metricNamespace: 'TSG_METRIC_NAMESPACE',
  optOutTagKey: 'TSG_OPT_OUT_TAG_KEY',
  collectorDocument: 'TSG_COLLECTOR_DOCUMENT',
  remediationDocument: 'TSG_REMEDIATION_DOCUMENT',
  maxOffsetSeconds: 'TSG_MAX_OFFSET_SECONDS',
  maxClockErrorBoundSeconds: 'TSG_MAX_CLOCK_ERROR_BOUND_SECONDS',
  commandMaxConcurrency: 'TSG_COMMAND_MAX_CONCURRENCY',
  commandMaxErrors: 'TSG_COMMAND_MAX_ERRORS',
  commandTimeoutSeconds: 'TSG_COMMAND_TIMEOUT_SECONDS',
  dryRun: 'TSG_DRY_RUN',
  hopLimitTarget: 'TSG_HOP_LIMIT_TARGET',
  hopLimitScope: 'TSG_HOP_LIMIT_SCOPE',
  enableMetadataEndpoint: 'TSG_ENABLE_METADATA_ENDPOINT',
  fixTimeSync: 'TSG_FIX_TIME_SYNC',
  maxChangesPerRun: 'TSG_MAX_CHANGES_PER_RUN',
  maxChangesPercent: 'TSG_MAX_CHANGES_PERCENT',
  installChrony: 'TSG_INSTALL_CHRONY',
  forceDomainMembers: 'TSG_FORCE_DOMAIN_MEMBERS',
  stepLargeOffset: 'TSG_STEP_LARGE_OFFSET',
  usePhc: 'TSG_USE_PHC',
  topicArn: 'TSG_TOPIC_ARN',
  eventSource: 'TSG_EVENT_SOURCE',
  launchSsmWaitSeconds: 'TSG_LAUNCH_SSM_WAIT_SECONDS',
  remediateOnLaunch: 'TSG_REMEDIATE_ON_LAUNCH',
} as const;

export type HopLimitScope = 'containers' | 'all';

export interface Settings extends Thresholds {
  /** CloudWatch namespace of the fleet metrics. */
  readonly metricNamespace: string;
  /** Instances with this tag key (any value but `false`) are counted, never checked or changed. */
  readonly optOutTagKey: string;
  readonly collectorDocument: string;
  readonly remediationDocument: string;
  /** SSM MaxConcurrency of the remediation document (number or percent); the read-only collector always runs at 100%. */
  readonly commandMaxConcurrency: string;
  /** SSM MaxErrors of the remediation document (number or percent); the read-only collector always runs with 100%. */
  readonly commandMaxErrors: string;
  /** SSM delivery timeout for one command. */
  readonly commandTimeoutSeconds: number;
  readonly dryRun: boolean;
  readonly hopLimitTarget: number;
  readonly hopLimitScope: HopLimitScope;
  readonly enableMetadataEndpoint: boolean;
  readonly fixTimeSync: boolean;
  readonly maxChangesPerRun: number;
  readonly maxChangesPercent: number;
  readonly installChrony: boolean;
  readonly forceDomainMembers: boolean;
  readonly stepLargeOffset: boolean;
  readonly usePhc: boolean;
  readonly topicArn?: string;
  /** EventBridge `source` of the audit events. */
  readonly eventSource: string;
  /** Launch check: how long after the `running` event the guest check waits for SSM `Online` (re-queued with backoff). */
  readonly launchSsmWaitSeconds: number;
  /** Launch check: ask the remediation state machine to fix what the launch check found. */
  readonly remediateOnLaunch: boolean;
}

/**
 * Defaults, justified:
 * - maxOffsetSeconds 1: SigV4 rejects requests ~300 s off and IMDS credentials are refreshed 300 s
 *   before expiry, so anything near minutes is an outage. A host on Amazon Time Sync sits within
 *   a millisecond; 1 s is far above healthy noise, far below the outage, and is the threshold at
 *   which distributions' chrony (`makestep 1 3`) already steps the clock.
 * - maxClockErrorBoundSeconds 1: same reasoning for the bound (|offset| + dispersion + delay/2);
 *   a free-running or badly served clock crosses it long before it reaches 300 s.
 * - hopLimitTarget 2: one extra hop for a container bridge network (AWS's documented fix).
 * - dryRun false: the product promise is "fixed after one night"; caps, opt-out tag and verification bound the risk,
 *   and the README shows how to dry-run first.
 * - maxChangesPerRun 10,000 / maxChangesPercent 100: the promise is that one night fixes every
 *   instance that can be fixed, and the benchmark shows 10,000 hop limits fit in one night. The
 *   automatic brake on a bad night is commandMaxErrors instead: the guest step stops once more than
 *   10 % of its instances fail or roll back. Tighten the caps to roll out gradually.
 * - launchSsmWaitSeconds 600: an SSM agent registers within one to three minutes of boot on a
 *   healthy instance; ten minutes covers slow Windows boots, and past it the instance is reported
 *   as not reachable rather than waited for.
 * - remediateOnLaunch false: a launch check reports; fixing stays the nightly run's unless asked.
 * - commandMaxErrors 10%: SSM stops a remediation command, and the engine stops sending new waves,
 *   past 10 % failures or rollbacks (the read-only collector always runs with 100%).
 */
export const DEFAULTS = {
  metricNamespace: 'TimeSyncGuard',
  optOutTagKey: 'timesync-guard:opt-out',
  collectorDocument: 'TimeSyncGuard-Collect',
  remediationDocument: 'TimeSyncGuard-Remediate',
  maxOffsetSeconds: 1,
  maxClockErrorBoundSeconds: 1,
  commandMaxConcurrency: '50%',
  commandMaxErrors: '10%',
  commandTimeoutSeconds: 600,
  dryRun: false,
  hopLimitTarget: 2,
  hopLimitScope: 'containers' as HopLimitScope,
  enableMetadataEndpoint: false,
  fixTimeSync: true,
  maxChangesPerRun: 10_000,
  maxChangesPercent: 100,
  installChrony: false,
  forceDomainMembers: false,
  stepLargeOffset: false,
  usePhc: false,
  eventSource: 'timesync-guard',
  launchSsmWaitSeconds: 600,
  remediateOnLaunch: false,
} as const;

export class SettingsError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'SettingsError';
  }
}

type Env = Readonly<Record<string, string | undefined>>;

function str(env: Env, key: string, dflt: string): string {
  const v = env[key];
  return v === undefined || v.trim() === '' ? dflt : v.trim();
}

function num(env: Env, key: string, dflt: number, min: number, max: number, integer = false): number {
  const raw = env[key];
  if (raw === undefined || raw.trim() === '') return dflt;
  const v = Number(raw);
  if (!Number.isFinite(v) || v < min || v > max || (integer && !Number.isInteger(v))) {
    throw new SettingsError(`${key}=${JSON.stringify(raw)}: expected ${integer ? 'an integer' : 'a number'} in [${min}, ${max}]`);
  }
  return v;
}

function bool(env: Env, key: string, dflt: boolean): boolean {
  const raw = env[key];
  if (raw === undefined || raw.trim() === '') return dflt;
  const v = raw.trim().toLowerCase();
  if (v === 'true' || v === '1' || v === 'yes') return true;
  if (v === 'false' || v === '0' || v === 'no') return false;
  throw new SettingsError(`${key}=${JSON.stringify(raw)}: expected true or false`);
}

const CONCURRENCY = /^([1-9]\d{0,4}|([1-9]\d?|100)%)$/;
const ERRORS = /^(\d{1,5}|(\d{1,2}|100)%)$/;

function pattern(env: Env, key: string, dflt: string, re: RegExp, what: string): string {
  const v = str(env, key, dflt);
  if (!re.test(v)) throw new SettingsError(`${key}=${JSON.stringify(v)}: expected ${what}`);
  return v;
}

/** Parses and validates settings once; a bad value fails the cold start with a message naming it. */
export function parseSettings(env: Env = process.env): Settings {
  const scope = str(env, ENV.hopLimitScope, DEFAULTS.hopLimitScope);
  if (scope !== 'containers' && scope !== 'all') {
    throw new SettingsError(`${ENV.hopLimitScope}=${JSON.stringify(scope)}: expected containers or all`);
  }
  const topicArn = str(env, ENV.topicArn, '');
  return {
    metricNamespace: str(env, ENV.metricNamespace, DEFAULTS.metricNamespace),
    optOutTagKey: str(env, ENV.optOutTagKey, DEFAULTS.optOutTagKey),
    collectorDocument: str(env, ENV.collectorDocument, DEFAULTS.collectorDocument),
    remediationDocument: str(env, ENV.remediationDocument, DEFAULTS.remediationDocument),
    maxOffsetSeconds: num(env, ENV.maxOffsetSeconds, DEFAULTS.maxOffsetSeconds, 0.001, 300),
    maxClockErrorBoundSeconds: num(env, ENV.maxClockErrorBoundSeconds, DEFAULTS.maxClockErrorBoundSeconds, 0.001, 300),
    commandMaxConcurrency: pattern(env, ENV.commandMaxConcurrency, DEFAULTS.commandMaxConcurrency, CONCURRENCY, 'a number or a percent'),
    commandMaxErrors: pattern(env, ENV.commandMaxErrors, DEFAULTS.commandMaxErrors, ERRORS, 'a number or a percent'),
    commandTimeoutSeconds: num(env, ENV.commandTimeoutSeconds, DEFAULTS.commandTimeoutSeconds, 30, 2592000, true),
    dryRun: bool(env, ENV.dryRun, DEFAULTS.dryRun),
    hopLimitTarget: num(env, ENV.hopLimitTarget, DEFAULTS.hopLimitTarget, 2, 64, true),
    hopLimitScope: scope,
    enableMetadataEndpoint: bool(env, ENV.enableMetadataEndpoint, DEFAULTS.enableMetadataEndpoint),
    fixTimeSync: bool(env, ENV.fixTimeSync, DEFAULTS.fixTimeSync),
    maxChangesPerRun: num(env, ENV.maxChangesPerRun, DEFAULTS.maxChangesPerRun, 0, 1_000_000, true),
    maxChangesPercent: num(env, ENV.maxChangesPercent, DEFAULTS.maxChangesPercent, 0, 100),
    installChrony: bool(env, ENV.installChrony, DEFAULTS.installChrony),
    forceDomainMembers: bool(env, ENV.forceDomainMembers, DEFAULTS.forceDomainMembers),
    stepLargeOffset: bool(env, ENV.stepLargeOffset, DEFAULTS.stepLargeOffset),
    usePhc: bool(env, ENV.usePhc, DEFAULTS.usePhc),
    topicArn: topicArn === '' ? undefined : topicArn,
    eventSource: str(env, ENV.eventSource, DEFAULTS.eventSource),
    launchSsmWaitSeconds: num(env, ENV.launchSsmWaitSeconds, DEFAULTS.launchSsmWaitSeconds, 0, 3600, true),
    remediateOnLaunch: bool(env, ENV.remediateOnLaunch, DEFAULTS.remediateOnLaunch),
  };
}
