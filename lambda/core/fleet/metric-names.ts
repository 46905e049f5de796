/**
 * Fleet metric names: a fixed set whose size does not grow with the fleet (no InstanceId dimension).
 * The Lambdas emit them (EMF through Powertools), the construct alarms and graphs them.
 *
 * Why so few: a custom metric published every hour costs $0.30/month whatever N, so the check's set
 * is kept small (fifteen, ≈ $4.50/month), and everything else per instance goes to the structured log record.
 * Remediation metrics are published once a night; CloudWatch prorates custom metrics by the hour,
 * so each costs ~1/24 of a full metric.
 */

/** The one dimension set every metric carries (Powertools' `service` dimension). */
export const METRIC_SERVICE = 'timesync-guard';
export const METRIC_DIMENSIONS = { service: METRIC_SERVICE } as const;

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

/** Launch check only (dimension `trigger=launch`), published only when non-zero. */
export const LAUNCH_METRICS = {
  /** Queue messages dropped as not ours: not a `running` EC2 event, a malformed retry, attempts over the cap. */
  messagesRefused: 'LaunchMessagesRefused',
} as const;

/** The urgent path (after each check; docs/remediation.md), published only when non-zero. */
export const URGENT_METRICS = {
  /** Instances handed to an urgent remediation run by this check. */
  started: 'UrgentRemediationStarted',
  /** Instances urgent again within 24 h of the urgent path's take: left to the nightly run (alarmed above 0). */
  repeat: 'UrgentRepeat',
} as const;

export const REMEDIATION_METRICS = {
  /** Heartbeat: 1 per completed remediation run (after its last continuation). */
  remediationCompleted: 'RemediationCompleted',
  attempted: 'RemediationAttempted',
  succeeded: 'RemediationSucceeded',
  failed: 'RemediationFailed',
  rolledBack: 'RemediationRolledBack',
  skipped: 'RemediationSkipped',
} as const;
