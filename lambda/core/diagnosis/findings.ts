/**
 * The finding codes: ONE table that gives, per code, its meaning, who raises it (the in-guest
 * diagnosis or the per-instance evaluation), what it does to the status, the fleet metric it counts
 * towards and the nightly action that fixes it. `Finding.code` is this table's key union, and the
 * routing to metrics (fleet/aggregate.ts) and to fixes (remediation/plan.ts) is derived from it: a
 * code missing here does not compile, a code here is routed with no other edit.
 *
 * Codes never change once released: alarms, metrics, Logs Insights queries and users' runbooks key on them.
 */
import type { ACCOUNT_DEFAULTS_METRICS, CHECK_METRICS, Finding, RemediationAction } from '../types';

/** What each guest finding does to the verdict status: `at-risk` is a judged problem; `unknown` means we could not judge. */
export type FindingEffect = 'at-risk' | 'unknown';

/** A count metric of `CHECK_METRICS` a finding can count towards. */
export type FindingMetric = Exclude<keyof typeof CHECK_METRICS, 'clockErrorBoundSeconds'>;

/** The account-level metric an account finding counts towards. */
export type AccountFindingMetric = keyof typeof ACCOUNT_DEFAULTS_METRICS;

/**
 * What fixes an account-level finding: the `accountDefaults: set` step of the nightly run
 * (lambda/core/fleet/metadata-defaults.ts, `decideDefaultsChange`), which writes the account's
 * instance metadata defaults for new launches.
 */
export type AccountDefaultsAction = 'set-account-default-hop-limit' | 'set-account-default-tokens-required';

/** One row of the table for an instance: raised by the in-guest diagnosis or the per-instance evaluation. */
export interface FindingCodeInfo {
  /** `guest`: raised by `diagnose` from the collector report (documented in docs/diagnosis.md); `instance`: by `evaluateInstance` (docs/operations.md). */
  readonly level: 'guest' | 'instance';
  readonly meaning: string;
  /** `at-risk` makes the instance at risk; `unknown` says it could not be judged; `report` is information only. */
  readonly effect: FindingEffect | 'report';
  /**
   * The count metric this code counts towards (once per instance), or null. Guest codes count only
   * on checked instances (from the verdict), instance codes on every instance.
   */
  readonly metric: FindingMetric | null;
  /**
   * The nightly action that fixes it, or null. `enable-amazon-time-sync` is planned from these codes;
   * the IMDS actions are planned from the instance's metadata options, which raise the same codes.
   */
  readonly fix: RemediationAction | null;
  /** The report could not be read whole: no fix is planned from anything in it. */
  readonly vetoesFixes?: true;
}

/** Every finding code, one row each: guest codes first, then instance codes. */
const CODES = {
  'not-amazon-time-sync': {
    level: 'guest',
    meaning: 'The clock is synchronised, but not to the Amazon Time Sync Service (169.254.169.123, fd00:ec2::123 or the PTP hardware clock).',
    effect: 'at-risk',
    metric: 'notOnAmazonTimeSync',
    fix: 'enable-amazon-time-sync'
  },
  'not-synchronized': {
    level: 'guest',
    meaning: 'The time daemon reports no synchronisation (no reference, or leap status "Not synchronised").',
    effect: 'at-risk',
    metric: 'notSynchronized',
    fix: 'enable-amazon-time-sync'
  },
  'offset-over-threshold': {
    level: 'guest',
    meaning: 'The clock offset from true time is larger than the configured maximum.',
    effect: 'at-risk',
    metric: 'clockErrorBoundOverThreshold',
    fix: null
  },
  'clock-error-bound-over-threshold': {
    level: 'guest',
    meaning: 'The clock error bound (|offset| + root dispersion + root delay / 2) is larger than the configured maximum.',
    effect: 'at-risk',
    metric: 'clockErrorBoundOverThreshold',
    fix: null
  },
  'source-lost': {
    level: 'guest',
    meaning: 'No selected (*) source although the daemon still shows its last reference: every source is unreachable or rejected.',
    effect: 'at-risk',
    metric: 'notSynchronized',
    fix: 'enable-amazon-time-sync'
  },
  'free-running': {
    level: 'guest',
    meaning: "The last clock update is older than 8 update intervals (ClockBound's rule): the clock runs on its own.",
    effect: 'at-risk',
    metric: 'notSynchronized',
    fix: 'enable-amazon-time-sync'
  },
  'multiple-daemons': {
    level: 'guest',
    meaning: 'More than one time daemon runs; they fight over the clock.',
    effect: 'at-risk',
    metric: null,
    fix: 'enable-amazon-time-sync'
  },
  'no-daemon': {
    level: 'guest',
    meaning: 'No time daemon runs: nothing keeps the clock synchronised.',
    effect: 'at-risk',
    metric: 'notSynchronized',
    fix: 'enable-amazon-time-sync'
  },
  'daemon-not-responding': {
    level: 'guest',
    meaning: 'The time daemon runs but did not answer its query tool (chronyc "506 Cannot talk to daemon" while chronyd runs, ntpq refused or timed out).',
    effect: 'unknown',
    metric: null,
    fix: 'enable-amazon-time-sync'
  },
  'probe-timed-out': {
    level: 'guest',
    meaning: 'A probe in the collector hit its timeout; its data is missing.',
    effect: 'unknown',
    metric: null,
    fix: null
  },
  'proxy-without-no-proxy': {
    level: 'guest',
    meaning: 'A system-wide HTTP(S)_PROXY is set and NO_PROXY does not cover 169.254.169.254: SDKs send IMDS requests to the proxy.',
    effect: 'at-risk',
    metric: null,
    fix: 'add-imds-no-proxy',
  },
  'local-cmos-clock': {
    level: 'guest',
    meaning: 'Windows Time runs from "Local CMOS Clock": not synchronised to any source.',
    effect: 'at-risk',
    metric: 'notSynchronized',
    fix: 'enable-amazon-time-sync'
  },
  'report-truncated': {
    level: 'guest',
    meaning: 'The collector report has no end marker: it was cut in transit and cannot be judged whole.',
    effect: 'unknown',
    metric: null,
    fix: null,
    vetoesFixes: true,
  },
  'report-unreadable': {
    level: 'guest',
    meaning: 'The text is not a timesync-guard collector report (empty, garbled or another program\'s output).',
    effect: 'unknown',
    metric: null,
    fix: null,
    vetoesFixes: true,
  },
  'unknown-format': {
    level: 'guest',
    meaning: 'The report or a tool output in it has a format this version cannot parse (newer report version, unexpected columns).',
    effect: 'unknown',
    metric: null,
    fix: null,
    vetoesFixes: true,
  },
  'implausible-value': {
    level: 'guest',
    meaning: 'The report holds a number no time daemon reports (an offset beyond ±1,000,000 s, a negative delay or dispersion, a stratum above 16, a value that is not finite): the report is not trusted and nothing in it is judged or published as a metric.',
    effect: 'unknown',
    metric: null,
    fix: null,
    vetoesFixes: true,
  },
  'localized-output-unparsed': {
    level: 'guest',
    meaning: 'w32tm printed localized text whose language-neutral parts were not enough to judge; nothing is guessed.',
    effect: 'unknown',
    metric: null,
    fix: null
  },
  'unknown-daemon-state': {
    level: 'guest',
    meaning: 'The report shows no usable output from any time daemon: synchronisation cannot be judged.',
    effect: 'unknown',
    metric: null,
    fix: null
  },
  'imds-packets-dropped': {
    level: 'guest',
    meaning: 'The ENA driver counted link-local packets dropped over the 1,024 packets/s per ENI that IMDS, DNS and Amazon Time Sync share (`linklocal_allowance_exceeded` > 0 since boot, ENA ≥ 2.2.10): IMDS answers, credential refreshes and NTP replies are lost. Cache DNS and IMDS answers locally, spread the calls; 0 or no counter is no finding.',
    effect: 'at-risk',
    metric: 'linkLocalPacketsDropped',
    fix: null,
  },
  'imds-throttled': {
    level: 'guest',
    meaning: 'The collector\'s IMDSv2 probe got HTTP 429: IMDS throttles this instance, so SDKs fail to refresh role credentials. Configure SDK retries with backoff, cache credentials and metadata.',
    effect: 'at-risk',
    metric: 'imdsThrottled',
    fix: null,
  },
  'imds-unreachable': {
    level: 'guest',
    meaning: 'The collector\'s IMDSv2 probe got no usable answer within its timeout (no answer, refused, or an unexpected status): check the hop limit, NO_PROXY for 169.254.169.254, host firewall rules and HttpEndpoint.',
    effect: 'at-risk',
    metric: 'imdsUnreachable',
    fix: null,
  },
  'imds-token-refused': {
    level: 'guest',
    meaning: 'The IMDSv2 token PUT was refused (HTTP 403 or 405; 401 on the GET with a fresh token): a proxy or header rewrite in the path, or the metadata options refuse tokens.',
    effect: 'at-risk',
    metric: 'imdsUnreachable',
    fix: null,
  },
  'imds-date-skew': {
    level: 'guest',
    meaning: 'The local clock differs from the IMDS `Date` header (AWS\'s clock, 1 s resolution) by more than the offset threshold (never by 2 s or less). When no daemon reports an offset, the verdict\'s offsetSeconds is this estimate (`offsetSource: imds-date`).',
    effect: 'at-risk',
    metric: 'clockSkewViaImds',
    fix: null,
  },
  'mixed-smeared-sources': {
    level: 'guest',
    meaning: 'Advisory: the active configuration has a leap-smeared Amazon source (169.254.169.123, fd00:ec2::123, time.aws.com) beside a source or pool that does not smear: up to 1 s apart around a leap second. Never changes the status (Amazon Linux 2 ships this mix).',
    effect: 'report',
    metric: 'leapSmearAdvisory',
    fix: 'enable-amazon-time-sync',
  },
  'leap-file-with-smeared-source': {
    level: 'guest',
    meaning: 'Advisory: `leapsectz`, `leapfile` or `leapseclist` is set while the source is leap-smeared Amazon Time Sync: the leap second is applied on top of the smear. Never changes the status.',
    effect: 'report',
    metric: 'leapSmearAdvisory',
    fix: 'enable-amazon-time-sync',
  },
  'phc-error-bound-over-threshold': {
    level: 'guest',
    meaning: "The PTP hardware clock's error bound as the ENA driver reports it (`phc_error_bound` in sysfs) is larger than the clock-error-bound threshold (chrony's own bound for the PHC is near zero).",
    effect: 'at-risk',
    metric: 'clockErrorBoundOverThreshold',
    fix: null,
  },
  'imds-hop-limit-too-low-for-containers': {
    level: 'instance',
    meaning: 'The IMDS PUT response hop limit is below the target (default 2) and the guest runs containers: containers on a bridge network get no IMDSv2 token, hence no role credentials.',
    effect: 'at-risk',
    metric: 'hopLimitTooLowForContainers',
    fix: 'raise-hop-limit',
  },
  'imds-hop-limit-orchestrator-node': {
    level: 'instance',
    meaning: 'Kubernetes node (kubelet) or ECS container instance with a hop limit below the target: left as it is under hopLimitScope `containers` (the default). Raising it lets every pod or task reach the node role\'s credentials: the EKS best practices keep hop limit 1 and give pods IRSA / EKS Pod Identity; ECS asks to block task access to IMDS (awsvpc mode / ECS_AWSVPC_BLOCK_IMDS). Opt in with hopLimitScope `containers-and-orchestrators` only for workloads that need the node role.',
    effect: 'report',
    metric: null,
    fix: null,
  },
  'imds-endpoint-disabled': {
    level: 'instance',
    meaning: 'The instance metadata endpoint is disabled on an instance with an instance profile: nothing on it can obtain the role credentials.',
    effect: 'at-risk',
    metric: 'metadataEndpointDisabled',
    fix: 'enable-metadata-endpoint',
  },
  'ssm-connection-lost': {
    level: 'instance',
    meaning: 'The SSM agent lost its connection, so the guest was not checked. A clock minutes off breaks the agent\'s signed requests, so this can itself be a symptom of clock drift.',
    effect: 'unknown',
    metric: null,
    fix: null,
  },
  'ssm-inactive': {
    level: 'instance',
    meaning: 'The SSM managed node is Inactive (agent stopped or deregistered): the guest was not checked.',
    effect: 'unknown',
    metric: null,
    fix: null,
  },
  'ssm-unmanaged': {
    level: 'instance',
    meaning: 'The instance is not an SSM managed node (no agent, no instance profile with SSM permissions, or no route to SSM): the guest cannot be checked.',
    effect: 'unknown',
    metric: null,
    fix: null,
  },
  // SSM coverage causes (lambda/core/fleet/coverage.ts, docs/coverage.md): raised for instances SSM does not reach, from read-only API calls.
  'ssm-cause-no-profile-dhmc-off': {
    level: 'instance',
    meaning: 'Not managed by SSM: the instance has no instance profile and Default Host Management Configuration is off in the region, so SSM Agent has no credentials.',
    effect: 'report',
    metric: null,
    fix: null,
  },
  'ssm-cause-role-lacks-ssm-permissions': {
    level: 'instance',
    meaning: "Not managed by SSM: the instance profile's role is not allowed what SSM Agent needs (ssm:UpdateInstanceInformation, ssmmessages:CreateControlChannel, ec2messages:GetMessages; AmazonSSMManagedInstanceCore grants them), as iam:SimulatePrincipalPolicy evaluates its policies.",
    effect: 'report',
    metric: null,
    fix: null,
  },
  'ssm-cause-imds-endpoint-disabled': {
    level: 'instance',
    meaning: 'Not managed by SSM: the instance metadata endpoint is disabled, so SSM Agent can obtain neither instance-profile nor Default Host Management credentials.',
    effect: 'report',
    metric: null,
    fix: null,
  },
  'ssm-cause-agent-too-old-for-dhmc': {
    level: 'instance',
    meaning: 'Not managed by SSM: no instance profile, Default Host Management is on, but the SSM Agent (as last registered) is older than 3.2.582.0, the oldest version Default Host Management manages.',
    effect: 'report',
    metric: null,
    fix: null,
  },
  'ssm-cause-no-route-to-ssm': {
    level: 'instance',
    meaning: "Not managed by SSM: the subnet's route table has no 0.0.0.0/0 route through an internet or NAT gateway and the VPC lacks the ssm / ssmmessages / ec2messages interface endpoints.",
    effect: 'report',
    metric: null,
    fix: null,
  },
  'ssm-cause-unknown': {
    level: 'instance',
    meaning: 'Not managed by SSM, and no cause was found from the read-only API calls (agent not installed or stopped, a firewall or proxy in the way, or a fact that could not be read).',
    effect: 'report',
    metric: null,
    fix: null,
  },
  'command-failed': {
    level: 'instance',
    meaning: 'The collector ran but failed without printing a readable report.',
    effect: 'unknown',
    metric: null,
    fix: null,
  },
  'command-timed-out': {
    level: 'instance',
    meaning:
      "The collector was not delivered or did not finish in time (DeliveryTimedOut / ExecutionTimedOut / still running at the deadline), in a CLI check, which has no earlier run to read. The stack's check applies the two-run rule instead: check-pending, then check-timed-out.",
    effect: 'unknown',
    metric: null,
    fix: null,
  },
  'check-timed-out': {
    level: 'instance',
    meaning:
      "Not read in two runs: the collector was still running past the straggler cutoff (twice the run's 95th-percentile guest run time, at least 10 s) when the rest of the run had finished, and its previous run's collector gave no readable report either. Never ok; counted in InstancesNotChecked. A guest this slow or hung every run needs a look.",
    effect: 'unknown',
    metric: null,
    fix: null,
  },
  'check-pending': {
    level: 'instance',
    meaning:
      "The collector was still running past the straggler cutoff when the rest of the run had finished (left running, not cancelled), or SSM ended it at its timeout or never delivered it, and no earlier run's collector settles it: not judged this run and not counted in InstancesNotChecked. The next run reads its result if it is still running then; a host unread in two runs becomes check-timed-out.",
    effect: 'unknown',
    metric: null,
    fix: null,
  },
  'command-undeliverable': {
    level: 'instance',
    meaning: 'SSM could not deliver the collector to the instance (Undeliverable: agent unreachable, or wrong platform).',
    effect: 'unknown',
    metric: null,
    fix: null,
  },
  'command-cancelled': {
    level: 'instance',
    meaning: 'The collector command was cancelled.',
    effect: 'unknown',
    metric: null,
    fix: null,
  },
  'command-not-sent': {
    level: 'instance',
    meaning: 'SendCommand failed for this batch (see detail): the guest was not checked.',
    effect: 'unknown',
    metric: null,
    fix: null,
  },
  'instance-gone': {
    level: 'instance',
    meaning: 'The instance stopped or terminated during the run (InvalidInstanceId, Terminated, or no invocation at all).',
    effect: 'unknown',
    metric: null,
    fix: null,
  },
  'output-unreadable': {
    level: 'instance',
    meaning: 'The collector succeeded but its output is not a readable report.',
    effect: 'unknown',
    metric: null,
    fix: null,
  },
  'launch-source-noncompliant': {
    level: 'instance',
    meaning:
      "The source that launches this instance's replacements (its Auto Scaling group's launch template version, an EKS managed node group or a Karpenter EC2NodeClass) sets IMDS options the nightly run has to correct on every new instance: fix it at the source (launchTemplates: fix, or the IaC change the run reports; docs/launch-templates.md).",
    effect: 'report',
    metric: null,
    fix: null,
  },
  'launch-source-owned-by-iac': {
    level: 'instance',
    meaning:
      "This instance's launch source is owned elsewhere (a launch template a CloudFormation stack manages, an EKS managed node group, a Karpenter EC2NodeClass, or a group pinned to a version): nothing changes it here; the run's source record carries the exact change to make there (docs/launch-templates.md).",
    effect: 'report',
    metric: null,
    fix: null,
  },
  'guest-not-checked': {
    level: 'instance',
    meaning: 'The in-guest check was not requested for this run (CLI --no-guest): only IMDS findings apply.',
    effect: 'unknown',
    metric: null,
    fix: null,
  },
} as const satisfies Record<string, FindingCodeInfo>;

/** One row of the table for the account: raised once per run from the account's instance metadata defaults. */
export interface AccountFindingCodeInfo {
  /** Raised by `evaluateMetadataDefaults` (documented in docs/account-defaults.md). */
  readonly level: 'account';
  readonly meaning: string;
  readonly effect: FindingEffect;
  /** The account-level metric it counts towards. */
  readonly metric: AccountFindingMetric;
  /** The `accountDefaults: set` change that fixes it, or null. */
  readonly fix: AccountDefaultsAction | null;
}

/** Every account-level code: judged once per run for the whole account-region, not per instance. */
const ACCOUNT_CODES = {
  'account-default-hop-limit-too-low': {
    level: 'account',
    meaning:
      'New launches get IMDS hop limit 1 (the account default is 1 or unset, so the AMI or EC2 decides) while instances of this fleet run containers: a container launched tomorrow gets no IMDSv2 token, hence no role credentials.',
    effect: 'at-risk',
    metric: 'accountDefaultFindings',
    fix: 'set-account-default-hop-limit',
  },
  'account-default-tokens-optional': {
    level: 'account',
    meaning: 'New launches allow IMDSv1 (the account default HttpTokens is optional, or unset so the AMI decides): a new instance accepts token-less metadata calls.',
    effect: 'at-risk',
    metric: 'accountDefaultFindings',
    fix: 'set-account-default-tokens-required',
  },
  'account-defaults-unknown': {
    level: 'account',
    meaning: 'The account metadata defaults could not be read (see detail): nothing is judged or changed from them.',
    effect: 'unknown',
    metric: 'accountDefaultsUnknown',
    fix: null,
  },
} as const satisfies Record<string, AccountFindingCodeInfo>;

/** An account-level finding code. */
export type AccountFindingCode = keyof typeof ACCOUNT_CODES;
/** The account-level rows, read-only: code → row. */
export const ACCOUNT_FINDING_TABLE: Readonly<Record<AccountFindingCode, AccountFindingCodeInfo>> = ACCOUNT_CODES;

/** Every stable finding code, guest and instance. */
export type FindingCode = keyof typeof CODES;
/** A finding code `diagnose` raises from the collector report. */
export type GuestFindingCode = { [K in FindingCode]: (typeof CODES)[K]['level'] extends 'guest' ? K : never }[FindingCode];
/** A finding code `evaluateInstance` adds. */
export type InstanceFindingCode = Exclude<FindingCode, GuestFindingCode>;

/** The table, read-only: code → row. */
export const FINDING_TABLE: Readonly<Record<FindingCode, FindingCodeInfo>> = CODES;

const entries = Object.entries(CODES) as [FindingCode, FindingCodeInfo][];
const guestEntries = entries.filter(([, v]) => v.level === 'guest') as [GuestFindingCode, FindingCodeInfo][];

/** The codes whose row satisfies `pick`. */
export function codesWhere(pick: (info: FindingCodeInfo) => boolean): ReadonlySet<FindingCode> {
  return new Set(entries.filter(([, v]) => pick(v)).map(([k]) => k));
}

/** Guest code → one-line meaning, for the docs, the CLI and the check engine. */
export const FINDING_CODES: Readonly<Record<GuestFindingCode, string>> = Object.fromEntries(
  guestEntries.map(([k, v]) => [k, v.meaning]),
) as Record<GuestFindingCode, string>;

/**
 * Guest code → what it does to the verdict status (`at-risk`, `unknown`, or `report`: advisory,
 * no effect). Keyed by any code so that a verdict's findings index it directly; an instance code
 * (never in a verdict) reads undefined.
 */
export const FINDING_EFFECTS: Readonly<Partial<Record<FindingCode, FindingCodeInfo['effect']>>> & Readonly<Record<GuestFindingCode, FindingCodeInfo['effect']>> =
  Object.fromEntries(guestEntries.map(([k, v]) => [k, v.effect])) as Record<GuestFindingCode, FindingCodeInfo['effect']>;

/** Advisory guest codes (effect `report`): counted and exported with low severity, never change a status. */
export const ADVISORY_CODES: ReadonlySet<FindingCode> = codesWhere((c) => c.level === 'guest' && c.effect === 'report');

/** Builds a finding with a stable code. */
export function finding(code: FindingCode, message: string): Finding {
  return { code, message };
}

/** True when `code` is one of the guest codes. */
export function isFindingCode(code: string): code is GuestFindingCode {
  return Object.prototype.hasOwnProperty.call(FINDING_CODES, code);
}
