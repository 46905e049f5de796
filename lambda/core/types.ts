/**
 * The seam between the in-guest diagnosis, the fleet engines and the infrastructure.
 * Pure types only: no SDK, no CDK, no I/O.
 */
import type { FindingCode } from './diagnosis/findings';
import type { LaunchOrigin } from './sources/origin';

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
