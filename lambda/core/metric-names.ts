/**
 * Fleet metric names: a fixed set whose size does not grow with the fleet (no InstanceId dimension).
 * The Lambdas emit them (EMF through Powertools), the construct alarms and graphs them.
 */

/** The one dimension set every metric carries (Powertools' `service` dimension). */
export const METRIC_SERVICE = 'timesync-guard';
export const METRIC_DIMENSIONS = { service: METRIC_SERVICE } as const;

export const CHECK_METRICS = {
  /** Heartbeat: 1 per completed check run. Missing data breaches the heartbeat alarm. */
  checkCompleted: 'CheckCompleted',
  checkDurationSeconds: 'CheckDurationSeconds',
  instancesSeen: 'InstancesSeen',
  instancesChecked: 'InstancesChecked',
  instancesOk: 'InstancesOk',
  instancesAtRisk: 'InstancesAtRisk',
  instancesOptedOut: 'InstancesOptedOut',
  instancesUnmanaged: 'InstancesUnmanaged',
  /** Managed but not checked this run: SSM offline, command failed/timed out/undeliverable, unreadable output, vanished. */
  instancesUnreachable: 'InstancesUnreachable',
  /** Unmanaged + unreachable: every instance that is neither checked nor opted out. */
  instancesNotChecked: 'InstancesNotChecked',
  notOnAmazonTimeSync: 'NotOnAmazonTimeSync',
  notSynchronized: 'NotSynchronized',
  offsetOverThreshold: 'OffsetOverThreshold',
  clockErrorBoundOverThreshold: 'ClockErrorBoundOverThreshold',
  hopLimitTooLowForContainers: 'HopLimitTooLowForContainers',
  metadataEndpointDisabled: 'MetadataEndpointDisabled',
  maxClockErrorBoundSeconds: 'MaxClockErrorBoundSeconds',
  p99ClockErrorBoundSeconds: 'P99ClockErrorBoundSeconds',
  maxAbsOffsetSeconds: 'MaxAbsOffsetSeconds',
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
