/**
 * The one Powertools Logger and the one Metrics of a Lambda container. The namespace comes from the
 * same environment variable the settings read (the construct writes it), so the metrics land where
 * the alarms look.
 */
import { LogFormatter, LogItem, Logger } from '@aws-lambda-powertools/logger';
import type { LogAttributes, UnformattedAttributes } from '@aws-lambda-powertools/logger/types';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { METRIC_SERVICE } from '../core/fleet/metric-names';
import { DEFAULTS, ENV } from '../core/settings';

/** Lambda's trace header says X-Ray records this invocation (`Sampled=1`). */
export function traceSampled(header: string | undefined = process.env['_X_AMZN_TRACE_ID']): boolean {
  return header !== undefined && /(?:^|;)\s*Sampled=1\s*(?:;|$)/.test(header);
}

/**
 * Powertools' record without its constant or redundant keys (`service`, `sampling_rate`,
 * `timestamp`): the log group already names the service, CloudWatch stamps every event with its
 * own `@timestamp`, and the check writes one record per instance per hour, so such keys are paid
 * for 10,000 times an hour (≈ $0.0034 a month per byte at 10,000 instances). For the same reason
 * `level` is written only when it is not `INFO` (absent: INFO; `filter level = "ERROR"` works as
 * before), and the X-Ray trace id only when X-Ray records the invocation: Lambda sets a trace
 * header on every invocation, traced or not (54 bytes a record), and an id no trace was recorded
 * for links to nothing. Message and the record's fields stay.
 */
export class CompactLogFormatter extends LogFormatter {
  public formatAttributes(attributes: UnformattedAttributes, additionalLogAttributes: LogAttributes): LogItem {
    const base: LogAttributes = {
      ...(attributes.logLevel !== 'INFO' ? { level: attributes.logLevel } : {}),
      message: attributes.message,
      ...(attributes.xRayTraceId !== undefined && traceSampled() ? { xray_trace_id: attributes.xRayTraceId } : {}),
    };
    return new LogItem({ attributes: base }).addAttributes(additionalLogAttributes);
  }
}

/** Structured JSON logger; the per-instance records and the run summary go through it. */
export const logger = new Logger({ serviceName: METRIC_SERVICE, logFormatter: new CompactLogFormatter() });

/** EMF metrics with the single `service` dimension (no per-instance dimension, ever). */
export const metrics = new Metrics({
  serviceName: METRIC_SERVICE,
  namespace: process.env[ENV.metricNamespace]?.trim() || DEFAULTS.metricNamespace,
});
