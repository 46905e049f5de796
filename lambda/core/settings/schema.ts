/**
 * The settings schema: one row per setting, and everything else derived from it — the Lambda
 * parser (`parse.ts`), the construct's prop validation and context keys (`lib/`), each function's
 * environment, and the configuration table in docs/configuration.md (a test compares them).
 *
 * Adding a setting is one row here, with its TSDoc and `@default` (the construct prop is derived
 * from the row and shows that TSDoc), plus its use. Pure data: no SDK, no CDK, no I/O.
 */

/**
 * Which code reads a setting: the check, the remediation, or both. Every row with an environment
 * variable reaches the remediate function (it re-checks before it fixes); the check function gets
 * only `check` and `both` rows. `stack` rows size the infrastructure and never reach a function.
 */
export type Scope = 'check' | 'remediation' | 'both' | 'launch' | 'stack';

interface RowBase {
  readonly scope: Scope;
  /** One line for the docs table and error messages. */
  readonly doc: string;
  /** Environment variable the construct writes and the Lambdas/CLI read; absent for `stack` rows. */
  readonly env?: `TSG_${string}`;
  /** CDK context key (`-c key=value`); `false` when the construct sets it itself. Default: the row's key. */
  readonly context?: string | false;
  /** Construct prop; `false` when the construct sets it itself. Default: the row's key. */
  readonly prop?: string | false;
  /** Former context keys and props, still accepted with a deprecation warning. */
  readonly formerly?: readonly string[];
  /** Unit shown in the docs table. */
  readonly unit?: string;
}

export interface NumberRow extends RowBase {
  readonly type: 'number';
  readonly default?: number;
  readonly min: number;
  readonly max: number;
  readonly integer?: boolean;
  /** The only values the service accepts, when not every number in [min, max] is one (log retention). */
  readonly oneOf?: readonly number[];
}
export interface BooleanRow extends RowBase {
  readonly type: 'boolean';
  readonly default?: boolean;
}
export interface StringRow extends RowBase {
  readonly type: 'string';
  readonly default?: string;
  readonly pattern?: RegExp;
  /** What a valid value looks like, for messages ("a tag key (1–128 …)"). */
  readonly expected?: string;
  /** Further rule: returns the problem ("must not start with aws:") or undefined. */
  readonly check?: (value: string) => string | undefined;
}
export interface EnumRow<T extends string = string> extends RowBase {
  readonly type: 'enum';
  readonly values: readonly T[];
  readonly default: T;
}
export interface ListRow extends RowBase {
  readonly type: 'list';
  readonly pattern: RegExp;
  readonly expected: string;
}
export type SettingRow = NumberRow | BooleanRow | StringRow | EnumRow | ListRow;

/** MaxConcurrency of SSM Run Command: a count 1–99999 or a percent 1%–100%. */
const CONCURRENCY = /^([1-9]\d{0,4}|([1-9]\d?|100)%)$/;
/** MaxErrors of SSM Run Command: a count 0–99999 or a percent 0%–100%. */
const ERRORS = /^(\d{1,5}|(\d{1,2}|100)%)$/;
const TAG_KEY = /^[\p{L}\p{N}_.:/=+\-@]{1,128}$/u;
const NAMESPACE = /^[A-Za-z0-9._\-/#]{1,255}$/;
const EMAIL = /^[^\s@,;]+@[^\s@,;]+\.[^\s@,;]+$/;
const SNS_TOPIC_ARN = /^arn:[\w-]+:sns:[\w-]+:\d{12}:[\w-]{1,256}$/;
/** A SHA-256 digest as SSM writes a document's Hash: 64 lower-case hex digits. */
const SHA256_HEX = /^[0-9a-f]{64}$/;

/**
 * Values of `hopLimitScope`: `containers` (guests running containers, except Kubernetes nodes and
 * ECS container instances, which keep hop limit 1 as the EKS/ECS guidance asks),
 * `containers-and-orchestrators` (those too), `all` (every instance).
 */
export const HOP_LIMIT_SCOPES = ['containers', 'containers-and-orchestrators', 'all'] as const;
export type HopLimitScope = (typeof HOP_LIMIT_SCOPES)[number];

/**
 * Values of `accountDefaults`: `report` (read and report the account's instance metadata defaults)
 * or `set` (also write them, within the rules of lambda/core/fleet/metadata-defaults.ts).
 */
export const ACCOUNT_DEFAULTS_MODES = ['report', 'set'] as const;
export type AccountDefaultsMode = (typeof ACCOUNT_DEFAULTS_MODES)[number];
/** Values of `launchTemplates` (docs/launch-templates.md). */
export const LAUNCH_TEMPLATE_MODES = ['off', 'report', 'fix'] as const;
export type LaunchTemplateMode = (typeof LAUNCH_TEMPLATE_MODES)[number];
/** Values of `imdsv2` (docs/imdsv2.md). */
export const IMDSV2_MODES = ['off', 'report', 'enforce'] as const;
export type Imdsv2Mode = (typeof IMDSV2_MODES)[number];

/** CloudWatch Logs retention values (days) the API accepts. */
export const LOG_RETENTION_DAYS = [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653] as const;

/**
 * The table. Defaults, justified:
 * - maxOffsetSeconds 1: SigV4 rejects requests ~300 s off and IMDS credentials are refreshed 300 s
 *   before expiry, so anything near minutes is an outage. A host on Amazon Time Sync sits within
 *   a millisecond; 1 s is far above healthy noise, far below the outage, and is the threshold at
 *   which distributions' chrony (`makestep 1 3`) already steps the clock.
 * - maxClockErrorBoundSeconds 1: same reasoning for the bound (|offset| + dispersion + delay/2);
 *   a free-running or badly served clock crosses it long before it reaches 300 s.
 * - hopLimitTarget 2: one extra hop for a container bridge network (AWS's documented fix).
 * - dryRun false: the product promise is "fixed after one night"; caps, opt-out tag and
 *   verification bound the risk, and the README shows how to dry-run first.
 * - maxChangesPerRun 10,000 / maxChangesPercent 100: the promise is that one night fixes every
 *   instance that can be fixed, and the benchmark shows 10,000 hop limits fit in one night. The
 *   automatic brake on a bad night is remediationMaxErrors instead: the guest step stops once more
 *   than 10 % of its instances fail or roll back. Tighten the caps to roll out gradually.
 * - remediationMaxErrors 10%: SSM stops a remediation command, and the engine stops sending new
 *   waves, past 10 % failures or rollbacks (the read-only collector always runs with 100%).
 */
export const SETTINGS = {
  // ── read by the check (and by the remediation's check-before-fix) ──────────────────────────
  /**
   * CloudWatch namespace of the fleet metrics (metrics carry only the dimension `service=timesync-guard`).
   * @default 'TimeSyncGuard'
   */
  metricNamespace: {
    type: 'string', scope: 'check', env: 'TSG_METRIC_NAMESPACE', default: 'TimeSyncGuard',
    pattern: NAMESPACE, expected: 'a CloudWatch namespace (letters, digits, . - _ / #; 1–255 characters)',
    check: (v) => (v.startsWith('AWS/') ? 'must not start with AWS/ (reserved for AWS services)' : undefined),
    doc: 'CloudWatch namespace of the fleet metrics (dimension `service=timesync-guard` only).',
  },
  /**
   * Instances carrying this tag key (any value except `false`) are counted but never checked or changed;
   * IAM denies the remediation on them as well.
   * @default 'timesync-guard:opt-out'
   */
  optOutTagKey: {
    type: 'string', scope: 'check', env: 'TSG_OPT_OUT_TAG_KEY', default: 'timesync-guard:opt-out',
    pattern: TAG_KEY, expected: 'a tag key (1–128 letters, digits, _ . : / = + - @)',
    check: (v) => (v.toLowerCase().startsWith('aws:') ? 'must not start with aws: (reserved)' : undefined),
    doc: 'Instances with this tag key (any value but `false`) are counted, never checked or changed; IAM denies changes on them too.',
  },
  collectorDocument: {
    type: 'string', scope: 'check', env: 'TSG_COLLECTOR_DOCUMENT', default: 'TimeSyncGuard-Collect', context: false, prop: false,
    doc: 'Name of the SSM collector document (set by the construct).',
  },
  // The pin of each document: SendCommand names it (DocumentHash, Sha256), so a same-name document
  // with other content (changed in place, or created where the stack did not deploy) runs nothing.
  // No default: a run without a pin sends nothing (lambda/aws/run-command-session.ts).
  collectorDocumentHash: {
    type: 'string', scope: 'check', env: 'TSG_COLLECTOR_DOCUMENT_HASH', context: false, prop: false,
    pattern: SHA256_HEX, expected: 'a SHA-256 as 64 lower-case hex digits',
    doc: 'SHA-256 of the collector document content, sent as its DocumentHash (set by the construct).',
  },
  /**
   * |offset| above this many seconds is the finding OffsetOverThreshold. Range 0.001–300.
   * @default 1
   */
  maxOffsetSeconds: {
    type: 'number', scope: 'check', env: 'TSG_MAX_OFFSET_SECONDS', default: 1, min: 0.001, max: 300, unit: 's',
    doc: '|offset| above this is the finding `offset-over-threshold`.',
  },
  /**
   * Clock error bound above this many seconds is the finding ClockErrorBoundOverThreshold. Range 0.001–300.
   * @default 1
   */
  maxClockErrorBoundSeconds: {
    type: 'number', scope: 'check', env: 'TSG_MAX_CLOCK_ERROR_BOUND_SECONDS', default: 1, min: 0.001, max: 300, unit: 's',
    doc: 'Clock error bound above this is the finding `clock-error-bound-over-threshold`.',
  },
  /**
   * SSM Run Command delivery timeout in seconds (integer 30–2592000).
   * @default 600
   */
  commandTimeoutSeconds: {
    type: 'number', scope: 'both', env: 'TSG_COMMAND_TIMEOUT_SECONDS', default: 600, min: 30, max: 2_592_000, integer: true, unit: 's',
    doc: 'SSM Run Command delivery timeout of one command (collector and remediation).',
  },
  /**
   * IMDS PUT response hop limit the remediation raises to (never lowers). Integer 2–64.
   * @default 2
   */
  hopLimitTarget: {
    type: 'number', scope: 'both', env: 'TSG_HOP_LIMIT_TARGET', default: 2, min: 2, max: 64, integer: true,
    doc: 'IMDS PUT response hop limit the check requires for container hosts and the remediation raises to (never lowers).',
  },
  // ── urgent path: the hourly check starts the remediation for urgent hosts (docs/remediation.md) ──
  /**
   * After each hourly check, remediate the urgent instances at once (|offset| ≥
   * {@link urgentOffsetSeconds}, a container host whose hop limit is below the target, or a finding
   * that stops credentials) with the nightly run's engine, plan, caps (the day's budget), opt-out and
   * pacing, restricted to those ids. It depends on `dryRun`: the value is true, but the urgent path
   * is live only when remediation is (the construct writes `urgentRemediation && !dryRun &&
   * remediationEnabled` to the functions and grants the start only then), so in dry run it is off
   * and nothing is started; set false to keep every change for the night.
   * Live only when `dryRun` is false and `remediationEnabled` is true.
   * @default true
   */
  urgentRemediation: {
    type: 'boolean', scope: 'check', env: 'TSG_URGENT_REMEDIATION', default: true,
    doc: 'After each check, remediate urgent hosts at once (same engine, plan, day\'s caps, opt-out and pacing as the night); live only when remediation is (off with dryRun or remediationEnabled false).',
  },
  /**
   * |offset| at or above this many seconds makes a checked instance urgent (SigV4 refuses requests
   * about 300 s off). Range 1–3600.
   * @default 60
   */
  urgentOffsetSeconds: {
    type: 'number', scope: 'check', env: 'TSG_URGENT_OFFSET_SECONDS', default: 60, min: 1, max: 3600, unit: 's',
    doc: '|offset| at or above this makes a checked instance urgent (fixed within the hour, not at night).',
  },
  // ── read only by the remediation ───────────────────────────────────────────────────────────
  remediationDocument: {
    type: 'string', scope: 'remediation', env: 'TSG_REMEDIATION_DOCUMENT', default: 'TimeSyncGuard-Remediate', context: false, prop: false,
    doc: 'Name of the SSM remediation document for Linux instances (set by the construct).',
  },
  remediationDocumentHash: {
    type: 'string', scope: 'remediation', env: 'TSG_REMEDIATION_DOCUMENT_HASH', context: false, prop: false,
    pattern: SHA256_HEX, expected: 'a SHA-256 as 64 lower-case hex digits',
    doc: 'SHA-256 of the Linux remediation document content, sent as its DocumentHash (set by the construct).',
  },
  // One remediation document per platform (room to grow under SSM's 64 KB): the rows above name the Linux one.
  windowsRemediationDocument: {
    type: 'string', scope: 'remediation', env: 'TSG_WINDOWS_REMEDIATION_DOCUMENT', default: 'TimeSyncGuard-Remediate-Windows', context: false, prop: false,
    doc: 'Name of the SSM remediation document for Windows instances (set by the construct).',
  },
  windowsRemediationDocumentHash: {
    type: 'string', scope: 'remediation', env: 'TSG_WINDOWS_REMEDIATION_DOCUMENT_HASH', context: false, prop: false,
    pattern: SHA256_HEX, expected: 'a SHA-256 as 64 lower-case hex digits',
    doc: 'SHA-256 of the Windows remediation document content, sent as its DocumentHash (set by the construct).',
  },
  /**
   * SSM Run Command MaxConcurrency of the remediation document: a count (1–99999) or a percent (1%–100%).
   * The read-only collector always runs at 100%: it changes nothing and ends in seconds.
   * @default '50%'
   */
  remediationMaxConcurrency: {
    type: 'string', scope: 'remediation', env: 'TSG_REMEDIATION_MAX_CONCURRENCY', default: '50%', formerly: ['commandMaxConcurrency'],
    pattern: CONCURRENCY, expected: "a count 1–99999 or a percent 1%–100% (e.g. '50%')",
    doc: 'SSM MaxConcurrency of the remediation document (the read-only collector always runs at 100%).',
  },
  /**
   * SSM Run Command MaxErrors of the remediation document: a count (0–99999) or a percent (0%–100%).
   * Past it, SSM stops the command and the engine sends no further wave: the automatic brake on a
   * bad night. The read-only collector always runs with 100%.
   * @default '10%'
   */
  remediationMaxErrors: {
    type: 'string', scope: 'remediation', env: 'TSG_REMEDIATION_MAX_ERRORS', default: '10%', formerly: ['commandMaxErrors'],
    pattern: ERRORS, expected: "a count 0–99999 or a percent 0%–100% (e.g. '10')",
    doc: 'SSM MaxErrors of the remediation document: past it SSM stops the command and no further wave is sent (the brake on a bad night).',
  },
  /**
   * Plan and report (audit events, summary) but change nothing.
   * @default false
   */
  dryRun: {
    type: 'boolean', scope: 'remediation', env: 'TSG_DRY_RUN', default: false,
    doc: 'Plan and report (audit events, summary) but change nothing.',
  },
  /**
   * Which instances get the hop limit raised: `containers` (guests that run containers, except
   * Kubernetes nodes and ECS container instances: they are reported with the finding
   * `imds-hop-limit-orchestrator-node` and keep hop limit 1, as the EKS best practices ask with
   * IRSA / Pod Identity), `containers-and-orchestrators` (those nodes too) or `all`.
   * @default 'containers'
   */
  hopLimitScope: {
    type: 'enum', scope: 'both', env: 'TSG_HOP_LIMIT_SCOPE', values: HOP_LIMIT_SCOPES, default: 'containers',
    doc: 'Which instances get the hop limit raised: container hosts except Kubernetes/ECS nodes (containers), those too (containers-and-orchestrators), or all.',
  } satisfies EnumRow<HopLimitScope>,
  /**
   * Enable the metadata endpoint where it is disabled on an instance with an instance profile.
   * @default false
   */
  enableMetadataEndpoint: {
    type: 'boolean', scope: 'both', env: 'TSG_ENABLE_METADATA_ENDPOINT', default: false,
    doc: 'Enable the metadata endpoint where it is disabled on an instance with an instance profile.',
  },
  /**
   * The account's instance metadata defaults in the region (they apply to new launches only):
   * `report` reads and reports them every run; `set` also lets the nightly run raise the hop-limit
   * default to `hopLimitTarget` when the fleet runs containers (never lowering it) and set
   * `HttpTokens=required` only once IMDSv2 enforcement is on and the fleet is ready. Nothing is written
   * when an AWS Organizations declarative policy manages the defaults. `set` adds
   * `ec2:ModifyInstanceMetadataDefaults` to the remediate role (see docs/account-defaults.md).
   * @default 'report'
   */
  accountDefaults: {
    type: 'enum', scope: 'remediation', env: 'TSG_ACCOUNT_DEFAULTS', values: ACCOUNT_DEFAULTS_MODES, default: 'report',
    doc: 'Account instance metadata defaults (new launches only): report them (report), or also raise the hop-limit default to the target on a fleet that runs containers and require tokens once IMDSv2 enforcement is on and the fleet is ready (set); never written when a declarative policy manages them (docs/account-defaults.md).',
  } satisfies EnumRow<AccountDefaultsMode>,
  /**
   * IMDS options where they come from (docs/launch-templates.md): `off`, `report` (attribute every
   * instance to the layer that decided its options and report the launch templates, groups, EKS node
   * groups and Karpenter node classes that launch non-compliant instances, each with the exact IaC
   * change), or `fix` (also create a new launch template version copied from the one a group
   * launches with only `MetadataOptions` changed, and move `$Default` where a group follows it;
   * never a template CloudFormation manages, never a delete).
   * @default 'report'
   */
  launchTemplates: {
    type: 'enum', scope: 'both', env: 'TSG_LAUNCH_TEMPLATES', values: LAUNCH_TEMPLATE_MODES, default: 'report',
    doc: 'IMDS options at their source: off, report (attribution, non-compliant launch templates and groups with the IaC change), or fix (new template version with only MetadataOptions changed; $Default moved where a group follows it; never CloudFormation-managed templates) (docs/launch-templates.md).',
  } satisfies EnumRow<LaunchTemplateMode>,
  /**
   * Run the in-guest time-sync remediation document.
   * @default true
   */
  fixTimeSync: {
    type: 'boolean', scope: 'both', env: 'TSG_FIX_TIME_SYNC', default: true,
    doc: 'Run the in-guest time-sync remediation document.',
  },
  /**
   * Cap on instances changed per run (count, integer 0–1,000,000). The default lets one night fix a
   * 10,000-instance fleet; lower it to roll out gradually.
   * @default 10000
   */
  maxChangesPerRun: {
    type: 'number', scope: 'remediation', env: 'TSG_MAX_CHANGES_PER_RUN', default: 10_000, min: 0, max: 1_000_000, integer: true,
    doc: 'Cap on instances changed per run (count); lower it to roll out gradually.',
  },
  /**
   * Cap on instances changed per run (percent of the fleet, 0–100).
   * @default 100
   */
  maxChangesPercent: {
    type: 'number', scope: 'remediation', env: 'TSG_MAX_CHANGES_PERCENT', default: 100, min: 0, max: 100, unit: '%',
    doc: 'Cap on instances changed per run (percent of the fleet).',
  },
  /**
   * Install chrony with the OS package manager on Linux instances with no time daemon.
   * @default false
   */
  installChrony: {
    type: 'boolean', scope: 'remediation', env: 'TSG_INSTALL_CHRONY', default: false,
    doc: 'Install chrony with the OS package manager on Linux instances with no time daemon.',
  },
  /**
   * Windows: also reconfigure domain members (normally left to the domain time hierarchy).
   * @default false
   */
  forceDomainMembers: {
    type: 'boolean', scope: 'remediation', env: 'TSG_FORCE_DOMAIN_MEMBERS', default: false,
    doc: 'Windows: also reconfigure domain members (normally left to the domain time hierarchy).',
  },
  /**
   * Step a large offset (`chronyc makestep`) after switching to Amazon Time Sync.
   * @default false
   */
  stepLargeOffset: {
    type: 'boolean', scope: 'remediation', env: 'TSG_STEP_LARGE_OFFSET', default: false,
    doc: 'Step a large offset (`chronyc makestep`) after switching to Amazon Time Sync.',
  },
  /**
   * Add the PTP hardware clock refclock where the device exists.
   * @default false
   */
  usePhc: {
    type: 'boolean', scope: 'remediation', env: 'TSG_USE_PHC', default: false,
    doc: 'Add the PTP hardware clock refclock where the device exists.',
  },
  /**
   * Where the check found a system-wide HTTP(S) proxy whose NO_PROXY misses 169.254.169.254
   * (finding `proxy-without-no-proxy`), add `169.254.169.254,169.254.170.2,fd00:ec2::254` to
   * NO_PROXY and no_proxy in the guest: in the file that sets the proxy on Linux, in the machine
   * environment on Windows. Running services keep their old environment until they restart (on
   * Windows, until the next reboot), so this is opt-in.
   * @default false
   */
  fixNoProxy: {
    type: 'boolean', scope: 'both', env: 'TSG_FIX_NO_PROXY', default: false,
    doc: 'Where a system-wide HTTP(S) proxy is set and NO_PROXY misses 169.254.169.254 (finding `proxy-without-no-proxy`), add the IMDS addresses to NO_PROXY/no_proxy in the guest (running services see it at their next restart).',
  },
  /**
   * On a Linux host whose chrony already follows Amazon Time Sync, comment out the sources that do
   * not smear leap seconds and the leap file in the main chrony config (findings
   * `mixed-smeared-sources`, `leap-file-with-smeared-source`), validated, verified and rolled back
   * like any other change. Off: such hosts are left as they are (the harm appears only around a leap
   * second, and Amazon Linux 2 ships this mix). Hosts switched to Amazon Time Sync lose the mix anyway.
   * @default false
   */
  fixMixedSources: {
    type: 'boolean', scope: 'both', env: 'TSG_FIX_MIXED_SOURCES', default: false,
    doc: 'On Linux hosts already on Amazon Time Sync, comment out non-smearing sources and the leap file in the main chrony config (findings `mixed-smeared-sources`, `leap-file-with-smeared-source`).',
  },
  topicArn: {
    type: 'string', scope: 'remediation', env: 'TSG_TOPIC_ARN', context: false, prop: false,
    doc: 'Topic of the run summary (set by the construct).',
  },
  continuationKeySecret: {
    type: 'string', scope: 'remediation', env: 'TSG_CONTINUATION_KEY_SECRET', context: false, prop: false,
    doc: 'ARN of the secret whose value signs remediation continuations (set by the construct; remediate function only).',
  },
  /**
   * EventBridge `source` of the audit events on the default bus (must not start with `aws.`).
   * @default 'timesync-guard'
   */
  eventSource: {
    type: 'string', scope: 'both', env: 'TSG_EVENT_SOURCE', default: 'timesync-guard',
    pattern: /^\S{1,256}$/, expected: '1–256 characters without spaces',
    check: (v) => (v.startsWith('aws.') ? 'must not start with aws.' : undefined),
    doc: 'EventBridge `source` of the audit events on the default bus (the check sends the IMDSv2 rollback events).',
  },
  // ── IMDSv2 readiness and gated enforcement (docs/imdsv2.md) ──────────────────────────────
  /**
   * IMDSv2 readiness and enforcement (docs/imdsv2.md): `report` judges every instance from its
   * daily `MetadataNoToken` sums (uses-imdsv1, ready, not-enough-history, already-required);
   * `enforce` also sets `HttpTokens=required` at night on `ready` instances only, within the same
   * caps and pacing as hop-limit changes, and alarms on any rejected IMDSv1 call within
   * {@link imdsv2RollbackWindowHours} (rolls back only with {@link imdsv2AutoUndo}); `off` does
   * neither. Outside `enforce` with `imdsv2AutoUndo`, no role may set `HttpTokens=optional` (IAM).
   * @default 'report'
   */
  imdsv2: {
    type: 'enum', scope: 'both', env: 'TSG_IMDSV2', values: IMDSV2_MODES, default: 'report',
    doc: 'IMDSv2: `report` readiness per instance (daily MetadataNoToken sums); `enforce` also sets HttpTokens=required on `ready` instances at night and alarms on rejected IMDSv1 calls after; `off` neither.',
  } satisfies EnumRow<Imdsv2Mode>,
  /**
   * With `imdsv2: 'enforce'`, roll an enforced instance back to `HttpTokens=optional` when its
   * IMDSv1 calls were rejected in at least two separate hours within {@link imdsv2RollbackWindowHours}.
   * Off: a rejected call raises the `imdsv2Rejected` alarm and an audit event, and nothing is undone
   * (an SSRF attacker's tokenless probe looks exactly like a broken workload; docs/imdsv2.md).
   * Only when on does the check role get `HttpTokens=optional` (on instances carrying the enforcement tag).
   * @default false
   */
  imdsv2AutoUndo: {
    type: 'boolean', scope: 'check', env: 'TSG_IMDSV2_AUTO_UNDO', default: false,
    doc: 'With `imdsv2: enforce`, roll an enforced instance back to HttpTokens=optional when IMDSv1 calls were rejected in two separate hours of the window; off: alarm and audit only.',
  },
  /**
   * Whole days of `MetadataNoToken` data an instance needs (each with a datapoint, all zero) to be
   * `ready`. Integer 1–455 (CloudWatch keeps hourly data 455 days).
   * @default 14
   */
  imdsv2LookbackDays: {
    type: 'number', scope: 'both', env: 'TSG_IMDSV2_LOOKBACK_DAYS', default: 14, min: 1, max: 455, integer: true, unit: 'days',
    doc: 'Whole days of MetadataNoToken data an instance needs, all with zero IMDSv1 calls, to be `ready` (CloudWatch keeps hourly data 455 days).',
  },
  /**
   * Hours after enforcement during which every check reads `MetadataNoTokenRejected` of the
   * instance: a rejected call raises the `imdsv2Rejected` alarm (and, with {@link imdsv2AutoUndo},
   * rejections in two separate hours roll it back). Integer 1–2160.
   * @default 72
   */
  imdsv2RollbackWindowHours: {
    type: 'number', scope: 'both', env: 'TSG_IMDSV2_ROLLBACK_WINDOW_HOURS', default: 72, min: 1, max: 2160, integer: true, unit: 'h',
    doc: 'After enforcement, each check watches MetadataNoTokenRejected this long: alarm on any rejected call (rollback only with imdsv2AutoUndo).',
  },
  imdsv2CacheBucket: {
    type: 'string', scope: 'both', env: 'TSG_IMDSV2_CACHE_BUCKET', context: false, prop: false,
    doc: 'Bucket of the daily readiness snapshot (set by the construct).',
  },
  imdsv2RecordKeySecret: {
    type: 'string', scope: 'both', env: 'TSG_IMDSV2_RECORD_KEY_SECRET', context: false, prop: false,
    doc: 'ARN of the secret whose value signs the IMDSv2 enforcement records (set by the construct).',
  },
  // ── CloudTrail's record of IMDSv1 credentials (docs/imdsv2.md#cloudtrails-view) ──────────────
  /**
   * Where CloudTrail is queried for the IMDSv1-credential signal (docs/imdsv2.md#cloudtrails-view):
   * `off`, a CloudTrail Lake event data store ARN, or `log-group:<name>` of a CloudWatch Logs group a
   * trail delivers to (context: that string; construct prop: `{ eventDataStoreArn }` or
   * `{ logGroupName }`). Once a day the last 14 days are queried for instance-role calls signed with
   * IMDSv1-delivered credentials (`ec2RoleDelivery = 1.0`) and for clock-shaped failures; an
   * instance with any IMDSv1 delivery is never `ready` for IMDSv2. Needs `imdsv2` report or enforce.
   * @default 'off'
   */
  cloudTrail: {
    type: 'string', scope: 'both', env: 'TSG_CLOUDTRAIL', default: 'off',
    pattern: /^(off|arn:[\w-]+:cloudtrail:[\w-]+:\d{12}:eventdatastore\/[\w-]{1,128}|log-group:[\w\-./#]{1,512})$/,
    expected: '`off`, a CloudTrail Lake event data store ARN, or log-group:<CloudWatch Logs group name>',
    doc: 'CloudTrail queried daily (14 days) for IMDSv1-delivered role credentials and clock-shaped failures per instance: `off`, an event data store ARN, or `log-group:<name>`.',
  },
  // ── findings where security teams look (docs/operations.md#security-hub-and-systems-manager-compliance) ──
  /**
   * Import one AWS Security Finding Format finding per instance and failing check into Security Hub,
   * as this account's own product (`product/<account>/default`): only what changed since the last
   * run, fixed or gone instances archived. An account without Security Hub gets one log line and
   * the `SecurityHubNotSubscribed` metric, never a failed check.
   * @default true
   */
  securityHub: {
    type: 'boolean', scope: 'check', env: 'TSG_SECURITY_HUB', default: true,
    doc: 'Import a Security Hub finding per instance and failing check (own product, only changes; fixed or gone instances archived).',
  },
  /**
   * Put each SSM-managed instance's checks as Systems Manager Compliance items of type
   * `Custom:TimeSyncGuard` (Fleet Manager, Explorer), full upload so a fixed item disappears; only
   * instances whose items changed are put again.
   * @default true
   */
  ssmCompliance: {
    type: 'boolean', scope: 'check', env: 'TSG_SSM_COMPLIANCE', default: true,
    doc: 'Put the checks of each SSM-managed instance as Compliance items `Custom:TimeSyncGuard` (only changed instances).',
  },
  exportStateBucket: {
    type: 'string', scope: 'check', env: 'TSG_EXPORT_STATE_BUCKET', context: false, prop: false,
    doc: 'Bucket where the check remembers what it last exported to Security Hub and SSM Compliance (set by the construct).',
  },
  // ── launch-time check (docs/launch-check.md) ───────────────────────────────────────────────
  /**
   * Seconds the launch check waits, from the `running` event, for the instance's SSM agent to come
   * Online (retries with backoff); after it the instance is reported as not reachable. Integer 0–3600.
   * @default 600
   */
  launchSsmWaitSeconds: {
    type: 'number', scope: 'launch', env: 'TSG_LAUNCH_SSM_WAIT_SECONDS', default: 600, min: 0, max: 3600, integer: true, unit: 's',
    doc: 'How long after its `running` event a new instance is waited for to be SSM `Online` (re-queued with backoff) before it is reported as not reachable.',
  },
  /**
   * Start the remediation state machine (the nightly plan, caps and pacing) for launches the check
   * finds at risk. Off: a launch check only reports.
   * @default false
   */
  remediateOnLaunch: {
    type: 'boolean', scope: 'launch', env: 'TSG_REMEDIATE_ON_LAUNCH', default: false,
    doc: 'Start the remediation state machine when a launch check finds something to fix (same plan, caps and pacing as the nightly run).',
  },
  launchQueueUrl: {
    type: 'string', scope: 'launch', env: 'TSG_LAUNCH_QUEUE_URL', context: false, prop: false,
    doc: 'Queue of the launch check (set by the construct), where instances not yet Online are re-queued.',
  },
  launchRemediationStateMachineArn: {
    type: 'string', scope: 'launch', env: 'TSG_REMEDIATION_STATE_MACHINE_ARN', context: false, prop: false,
    doc: 'With `remediateOnLaunch`: the remediation state machine the launch function starts itself (set by the construct; its role may start only this one).',
  },
  // ── infrastructure only (never reach a function) ───────────────────────────────────────────
  /**
   * Check every instance within minutes of its launch (EC2 `running` events → SQS → a launch-check
   * Lambda running the hourly check's engine on just those instances). See docs/launch-check.md.
   * Off by default so that an existing deployment changes only when asked.
   * @default false
   */
  launchCheck: {
    type: 'boolean', scope: 'stack', default: false,
    doc: 'Check new instances within minutes of their `running` event (EventBridge rule → SQS → launch-check Lambda).',
  },
  /**
   * EventBridge Scheduler expression of the fleet check: `rate(…)` or a `cron(…)` that fires every
   * day at evenly spaced times. Its interval (whole minutes, at most 12 hours) sizes the alarm
   * periods and the heartbeat window (twice it).
   * @default 'rate(1 hour)'
   */
  checkSchedule: {
    type: 'string', scope: 'stack', default: 'rate(1 hour)', expected: 'rate(N unit) or cron(6 fields), as EventBridge Scheduler accepts them',
    doc: 'EventBridge Scheduler expression of the fleet check; the alarm periods and heartbeat follow its interval (regular, at most 12 hours).',
  },
  /**
   * EventBridge Scheduler expression of the nightly remediation.
   * @default 'cron(0 2 * * ? *)'
   */
  remediationSchedule: {
    type: 'string', scope: 'stack', default: 'cron(0 2 * * ? *)', expected: 'rate(N unit) or cron(6 fields), as EventBridge Scheduler accepts them',
    doc: 'EventBridge Scheduler expression of the nightly remediation.',
  },
  timeZone: {
    type: 'string', scope: 'stack', default: 'Etc/UTC', expected: 'an IANA time zone name',
    doc: 'IANA time zone of both schedules.',
  },
  /**
   * false: deploy without the remediation schedule and its heartbeat alarm (the check runs; the
   * state machine is still deployed, so a run can be started by hand).
   * @default true
   */
  remediationEnabled: {
    type: 'boolean', scope: 'stack', default: true,
    doc: 'false: no remediation schedule nor its heartbeat (the state machine can still be started by hand).',
  },
  /**
   * Remediate invocations per run after which the run fails (integer 1–1000).
   * @default 60
   */
  remediationMaxIterations: {
    type: 'number', scope: 'stack', default: 60, min: 1, max: 1000, integer: true,
    doc: 'Remediate invocations per run after which the run fails (60 × 15 min = 15 h).',
  },
  remediationHeartbeatWindowMinutes: {
    type: 'number', scope: 'stack', default: 1440, min: 1, max: 1440, integer: true, prop: 'remediationHeartbeatWindow', unit: 'min',
    doc: 'Window of the RemediationCompleted heartbeat alarm.',
  },
  /**
   * InstancesNotChecked alarms when above this count (integer ≥ 0).
   * @default 0
   */
  notCheckedThreshold: {
    type: 'number', scope: 'stack', default: 0, min: 0, max: 1_000_000, integer: true,
    doc: 'InstancesNotChecked alarms above this count.',
  },
  /**
   * Reserved concurrency of each of the two Lambdas (integer 1–1000), e.g. 1 to make even a manual
   * invocation wait for a running one. Without it the stack deploys on accounts still at the
   * new-account concurrency quota of 10 (where any reservation fails: unreserved concurrency may
   * not drop below 10). Overlap stays impossible without it: the nightly runs have the state
   * machine's overlap guard, and scheduled checks cannot overlap because the check interval must
   * then be at least the check timeout (15 min; validated).
   * @default - no reservation
   */
  reservedConcurrency: {
    type: 'number', scope: 'stack', min: 1, max: 1000, integer: true,
    doc: 'Reserved concurrency of each function; unset by default so the stack deploys on accounts with the default quota of 10 (1 also stops a manual invoke overlapping a check).',
  },
  /**
   * The SsmCoveragePercent alarm fires when fewer than this percentage of the running instances are
   * SSM managed (Online) in two checks in a row (docs/coverage.md). 0 never fires.
   * @default 90
   */
  coverageAlarmPercent: {
    type: 'number', scope: 'stack', default: 90, min: 0, max: 100, unit: '%',
    doc: 'SsmCoveragePercent (SSM-managed ÷ running instances) alarms below this in two checks in a row.',
  },
  /**
   * Turn on Default Host Management Configuration in the region: the stack creates the role with
   * AWS's managed policy AmazonSSMManagedEC2InstanceDefaultPolicy and points the SSM service setting
   * `/ssm/managed-instance/default-ec2-instance-management-role` at it; deleting the stack (or
   * turning this off) resets the setting. See docs/coverage.md.
   * @default false
   */
  defaultHostManagement: {
    type: 'boolean', scope: 'stack', default: false,
    doc: 'Create the Default Host Management role and turn DHMC on in the region (reset on delete): instances without a profile become SSM managed.',
  },
  // A year by default: Control Tower's CT.CLOUDWATCH.PR.2 refuses a shorter retention (docs/control-tower.md).
  logRetentionDays: {
    type: 'number', scope: 'stack', default: 365, min: 1, max: 3653, integer: true, prop: 'logRetention', unit: 'days',
    oneOf: LOG_RETENTION_DAYS,
    doc: 'Retention of the function and state machine log groups (a value CloudWatch Logs accepts).',
  },
  /**
   * Subnets every function of the guard runs in (`subnet-…` ids of one VPC), with
   * `vpcSecurityGroupIds`. They need a route to every AWS API the functions call: a NAT gateway,
   * or the VPC endpoints docs/vpc.md lists. Construct users may give `vpc` (an `ec2.IVpc`) instead.
   * @default - the functions run outside any VPC
   */
  vpcSubnetIds: {
    type: 'list', scope: 'stack', pattern: /^subnet-[0-9a-f]{8,17}$/, expected: 'a list of subnet ids (subnet-…)',
    doc: 'Subnets every function runs in (comma-separated in context), with vpcSecurityGroupIds; they need NAT or the VPC endpoints in docs/vpc.md.',
  },
  /**
   * Security groups of the functions' network interfaces (`sg-…` ids), with `vpcSubnetIds`; they
   * must allow outbound HTTPS to the AWS APIs (the functions take no inbound connection).
   * @default - none (required with `vpcSubnetIds`)
   */
  vpcSecurityGroupIds: {
    type: 'list', scope: 'stack', pattern: /^sg-[0-9a-f]{8,17}$/, expected: 'a list of security group ids (sg-…)',
    doc: 'Security groups of the functions (comma-separated in context), with vpcSubnetIds; outbound HTTPS to the AWS APIs is all they need.',
  },
  /**
   * E-mail addresses subscribed to the alarm topic (each confirms by e-mail). Excludes `alarmTopic`.
   * @default - no subscription
   */
  alarmEmails: {
    type: 'list', scope: 'stack', pattern: EMAIL, expected: 'a list of e-mail addresses',
    doc: 'E-mail addresses subscribed to the alarm topic (comma-separated in context); excludes alarmTopicArn.',
  },
  alarmTopicArn: {
    type: 'string', scope: 'stack', pattern: SNS_TOPIC_ARN, expected: 'an SNS topic ARN', prop: false,
    doc: 'An existing SNS topic for alarms and run summaries instead of a new one (the construct prop is `alarmTopic`).',
  },
  stackName: {
    type: 'string', scope: 'stack', default: 'TimeSyncGuard', pattern: /^[A-Za-z][A-Za-z0-9-]{0,127}$/, expected: 'a CloudFormation stack name', prop: false,
    doc: 'Name of the app\'s stack (two names, two independent guards).',
  },
} as const satisfies Record<string, SettingRow>;

export type SettingKey = keyof typeof SETTINGS;
type Rows = typeof SETTINGS;

type ValueOf<R> = R extends { type: 'number' } ? number
  : R extends { type: 'boolean' } ? boolean
  : R extends { type: 'enum'; values: readonly (infer T)[] } ? T
  : R extends { type: 'list' } ? readonly string[]
  : string;
type EnvKeys<S extends Scope> = { [K in SettingKey]: Rows[K] extends { env: string; scope: S } ? K : never }[SettingKey];
type Typed<K extends SettingKey> = { readonly [P in K as Rows[P] extends { default: unknown } ? P : never]: ValueOf<Rows[P]> } & {
  readonly [P in K as Rows[P] extends { default: unknown } ? never : P]?: ValueOf<Rows[P]>;
};

/**
 * Rows whose construct prop is declared by the construct itself, with a CDK type (`TimeZone`,
 * `Duration`, `RetentionDays`) or under another name; every other prop is derived from its row.
 */
type ConstructTypedRow = 'timeZone' | 'cloudTrail';
type PropValueOf<R> = R extends { type: 'list' } ? string[] : ValueOf<R>;

/**
 * The construct props derived from the schema: one per row with a prop of the row's own name and
 * plain type. The mapping keeps each row's TSDoc (summary and `@default`), so the row above is the
 * prop's documentation too: a new setting is one row here.
 */
export type SchemaProps = {
  readonly [K in keyof Rows as Rows[K] extends { prop: string | false } ? never : K extends ConstructTypedRow ? never : K]?: PropValueOf<Rows[K]>;
};

/** Construct prop names the schema declares (a test checks `TimeSyncGuardProps` has each). */
export type SchemaPropName = { [K in SettingKey]: Rows[K] extends { prop: false } ? never : Rows[K] extends { prop: infer P extends string } ? P : K }[SettingKey];

/** What the check reads (the check function's environment holds exactly these). */
export type CheckSettings = Typed<EnvKeys<'check' | 'both'>>;
/** What the remediation reads besides the check settings. */
export type RemediationSettings = Typed<EnvKeys<'remediation' | 'both'>>;
/** The remediate function's settings: it re-checks before it fixes. */
export type Settings = CheckSettings & RemediationSettings;
/** The launch-check function's settings: every setting (it may start a remediation) and its own. */
export type LaunchSettings = Settings & Typed<EnvKeys<'launch'>>;

/** Rows with an environment variable, by key. */
export const ENV = Object.fromEntries(
  Object.entries(SETTINGS as Record<string, SettingRow>).flatMap(([k, r]) => (r.env ? [[k, r.env]] : [])),
) as { readonly [K in EnvKeys<Scope>]: Rows[K] extends { env: infer E } ? E : never };

/** Defaults of every row that has one, by key. */
export const DEFAULTS = Object.fromEntries(
  Object.entries(SETTINGS as Record<string, SettingRow>).flatMap(([k, r]) => ('default' in r && r.default !== undefined ? [[k, r.default]] : [])),
) as { readonly [K in SettingKey as Rows[K] extends { default: unknown } ? K : never]: ValueOf<Rows[K]> };

/** Every row, with its key. */
export function rows(): readonly (SettingRow & { readonly key: SettingKey })[] {
  return (Object.entries(SETTINGS) as [SettingKey, SettingRow][]).map(([key, r]) => ({ ...r, key }));
}

/** The context key of a row, or undefined. */
export function contextKey(key: SettingKey): string | undefined {
  const r: SettingRow = SETTINGS[key];
  return r.context === false ? undefined : (r.context ?? key);
}

/** The construct prop of a row, or undefined. */
export function propName(key: SettingKey): string | undefined {
  const r: SettingRow = SETTINGS[key];
  return r.prop === false ? undefined : (r.prop ?? key);
}

/** Does a function of this scope receive the row? */
export function reaches(row: SettingRow, fn: 'check' | 'remediation' | 'launch'): boolean {
  if (!row.env) return false;
  if (row.scope === 'check' || row.scope === 'both') return true;
  if (row.scope === 'remediation') return fn !== 'check';
  // The launch check may start a remediation with the same settings, so it reads those and its own.
  return row.scope === 'launch' && fn === 'launch';
}

/**
 * `TSG_*` variables that are not settings but are read elsewhere on purpose, so they are not
 * reported as unknown: the error-stack switch and the
 * remediation state machine's ARN on the check function with the urgent path live (set by the
 * construct on that function only: a setting row would reach the remediate function, whose
 * environment cannot name the machine that invokes it).
 */
export const OTHER_TSG_VARIABLES = [
  'TSG_DEBUG',
  'TSG_URGENT_STATE_MACHINE_ARN',
  // The organization hub's own (lambda/core/fleet/hub.ts HUB_ENV): its bundles also load the
  // single-account handler modules, whose cold start parses the whole environment.
  'TSG_SPOKE_ROLE_NAME',
  'TSG_HUB_OUS',
  'TSG_HUB_ACCOUNTS',
  'TSG_HUB_REGIONS',
  'TSG_HUB_SLICE_PAGES',
  'TSG_HUB_RUN_BUCKET',
] as const;
