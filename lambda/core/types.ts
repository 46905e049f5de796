/**
 * The seam between the in-guest diagnosis, the fleet engines and the infrastructure.
 * Pure types (and the metric vocabulary, plain data) only: no SDK, no CDK, no I/O.
 */
import type { MetadataOptionAction } from '../contracts/metadata-options';
import type { FindingCode } from './diagnosis/findings';
import type { LaunchOrigin } from './sources/origin';

/**
 * Every change the remediation can make, as named in the audit events and in the finding table's
 * `fix`: one per row of the metadata-options table (lambda/contracts/metadata-options.ts), the
 * guest document's two steps, and the launch-template fix at the source (docs/launch-templates.md).
 */
export type RemediationAction = MetadataOptionAction | 'enable-amazon-time-sync' | 'add-imds-no-proxy' | 'update-launch-template';

export type Platform = 'linux' | 'windows';

export type Daemon =
  | 'chrony'
  | 'ntpd'
  | 'systemd-timesyncd'
  | 'openntpd'
  | 'w32time'
  | 'none'
  | 'unknown';

/** What the clock is synchronised to *now* (the selected source), not merely what is configured. */
export type TimeSource = 'amazon-ipv4' | 'amazon-ipv6' | 'amazon-phc' | 'other' | 'none' | 'unknown';

export type VerdictStatus = 'ok' | 'at-risk' | 'unknown';

export interface Finding {
  /** Stable code from the finding table (diagnosis/findings.ts), documented in docs/. */
  readonly code: FindingCode;
  readonly message: string;
}

/** Thresholds the verdict applies; defaults and their justification live in settings.ts. */
export interface Thresholds {
  /** |offset| above this is at risk (seconds). */
  readonly maxOffsetSeconds: number;
  /** A clock error bound above this is at risk (seconds). */
  readonly maxClockErrorBoundSeconds: number;
}

/** The in-guest verdict: what `diagnose` prints and what the check engine consumes. */
export interface Verdict {
  readonly platform: Platform | null;
  readonly daemon: Daemon;
  readonly timeSource: TimeSource;
  readonly synchronized: boolean | null;
  /** Signed; positive when the instance clock is ahead of true time. */
  readonly offsetSeconds: number | null;
  readonly clockErrorBoundSeconds: number | null;
  readonly containers: boolean | null;
  readonly status: VerdictStatus;
  readonly findings: readonly Finding[];
  /** Anything else useful (daemons seen, OS, report version, cut marker…). */
  readonly [extra: string]: unknown;
}

/** IMDS options as the EC2 API reports them. */
export interface ImdsOptions {
  readonly httpEndpoint?: 'enabled' | 'disabled';
  readonly httpTokens?: 'optional' | 'required';
  readonly hopLimit?: number;
  readonly state?: 'pending' | 'applied';
  readonly httpProtocolIpv6?: 'enabled' | 'disabled';
}

export type PingStatus = 'Online' | 'ConnectionLost' | 'Inactive';

/** One running instance from the inventory (EC2 joined with SSM managed-node info). */
export interface InstanceRecord {
  readonly instanceId: string;
  readonly platform: Platform;
  readonly name?: string;
  readonly instanceType?: string;
  readonly hasInstanceProfile: boolean;
  /** The instance profile's ARN, when it has one (SSM coverage causes: lambda/core/fleet/coverage.ts). */
  readonly instanceProfileArn?: string;
  /** Subnet and VPC (SSM coverage: the route to the SSM endpoints). */
  readonly subnetId?: string;
  readonly vpcId?: string;
  readonly optedOut: boolean;
  /** No IPv4 address at all: the Amazon endpoint to use is fd00:ec2::123. */
  readonly ipv6Only?: boolean;
  readonly imds: ImdsOptions;
  /** LaunchTime from DescribeInstances (ISO; reset by a stop/start): the IMDSv2 readiness window needs it. */
  readonly launchTime?: string;
  /** Value of the `timesync-guard:imdsv2-enforced` tag, when present (docs/imdsv2.md). */
  readonly imdsv2Enforced?: string;
  /** Where it came from (launch template, group, node group, node pool, AMI): docs/launch-templates.md. */
  readonly origin?: LaunchOrigin;
  /** Undefined when the instance is not an SSM managed node. */
  readonly ssm?: {
    readonly pingStatus: PingStatus;
    readonly platformType?: string;
    readonly agentVersion?: string;
  };
}

/** How far the check got on one instance. Anything but `checked` is never compliant. */
export type CheckState =
  | 'checked'
  | 'opted-out'
  | 'unmanaged'
  | 'ssm-offline'
  | 'command-failed'
  | 'timed-out'
  | 'undeliverable'
  | 'gone'
  | 'output-unreadable'
  /**
   * The collector was still running at the straggler cutoff and its previous run's result could
   * not stand in: not judged this run, and not counted in InstancesNotChecked (it is counted only
   * when it was not read in two runs: then it is `timed-out`).
   */
  | 'pending'
  /** The run did not ask for the in-guest check (CLI `--no-guest`): only IMDS findings apply. */
  | 'not-requested';

export type InstanceStatus = 'ok' | 'at-risk' | 'unknown' | 'opted-out';

/** Verdict + IMDS + reachability, joined and judged: one log record per instance per run. */
export interface InstanceEvaluation {
  readonly instanceId: string;
  readonly platform: Platform;
  readonly name?: string;
  readonly status: InstanceStatus;
  readonly checkState: CheckState;
  readonly findings: readonly Finding[];
  readonly imds: ImdsOptions;
  readonly hasInstanceProfile: boolean;
  readonly verdict?: Verdict;
  /** SSM invocation status or other detail when checkState is not `checked`. */
  readonly detail?: string;
}

/*
 * The metric vocabulary the finding table names (`metric`): defined here, below the diagnosis and
 * the fleet code, so neither imports the other for it (re-exported by ./fleet/metric-names.ts and
 * ./fleet/metadata-defaults.ts, where the rest of the metric names live).
 */

/** The check's fleet metrics (see ./fleet/metric-names.ts for why so few). */
export const CHECK_METRICS = {
  /**
   * Instances running in the region, opted-out ones included. Emitted (even as 0) once per
   * completed check run, so it doubles as the heartbeat: its SampleCount missing means the
   * check did not run or did not finish.
   */
  instancesSeen: 'InstancesSeen',
  /** Instances whose guest was checked this run. */
  instancesChecked: 'InstancesChecked',
  /** Instances with status at-risk (any at-risk finding, guest or IMDS). */
  instancesAtRisk: 'InstancesAtRisk',
  /** Neither checked nor opted out: unmanaged, SSM offline, command failed/timed out/undeliverable, unreadable, vanished. */
  instancesNotChecked: 'InstancesNotChecked',
  /** Checked, and the selected time source is not Amazon Time Sync (IPv4, IPv6 or PHC). */
  notOnAmazonTimeSync: 'NotOnAmazonTimeSync',
  /** Checked, and not synchronised (no selected source, source lost, free-running, daemon down). */
  notSynchronized: 'NotSynchronized',
  /** Checked, and |offset| or the clock error bound is over its threshold. */
  clockErrorBoundOverThreshold: 'ClockErrorBoundOverThreshold',
  /** Hop limit below the target on an instance whose guest runs containers. */
  hopLimitTooLowForContainers: 'HopLimitTooLowForContainers',
  /** Metadata endpoint disabled on an instance with an instance profile. */
  metadataEndpointDisabled: 'MetadataEndpointDisabled',
  /** Checked, and the ENA driver dropped link-local packets (IMDS, DNS, NTP) over the per-ENI allowance since boot. */
  linkLocalPacketsDropped: 'LinkLocalPacketsDropped',
  /** Checked, and the guest's IMDSv2 probe got no usable answer or its token was refused. */
  imdsUnreachable: 'ImdsUnreachable',
  /** Checked, and the guest's IMDSv2 probe got HTTP 429. */
  imdsThrottled: 'ImdsThrottled',
  /** Checked, and the clock is off by more than the offset threshold against the IMDS `Date` header. */
  clockSkewViaImds: 'ClockSkewViaImds',
  /** Checked, and the time configuration mixes smeared and unsmeared sources or keeps a leap file with a smeared source (advisory: no alarm). */
  leapSmearAdvisory: 'LeapSmearAdvisory',
  /**
   * One value per checked instance with a known bound (EMF values arrays), so CloudWatch computes
   * Maximum and p99 itself from a single metric.
   */
  clockErrorBoundSeconds: 'ClockErrorBoundSeconds',
} as const;

/** The account-level fleet metrics (dimension `service` only, like every fleet metric). */
export const ACCOUNT_DEFAULTS_METRICS = {
  /** Account-level findings of this run (0, 1 or 2); not emitted when the defaults could not be read. */
  accountDefaultFindings: 'AccountDefaultFindings',
  /** 1 when the defaults could not be read this run, else 0. */
  accountDefaultsUnknown: 'AccountDefaultsUnknown',
} as const;
