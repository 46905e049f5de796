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

/** The check's metrics: the vocabulary lives in ../types.ts (the finding table names them too). */
export { CHECK_METRICS } from '../types';

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
