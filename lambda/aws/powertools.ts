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

/**
 * Powertools' record without its constant or redundant keys (`service`, `sampling_rate`,
 * `timestamp`): the log group already names the service, CloudWatch stamps every event with its
 * own `@timestamp`, and the check writes one record per instance per hour, so such keys are paid
 * for 10,000 times an hour. Level, message and the X-Ray trace id stay.
 */
export class CompactLogFormatter extends LogFormatter {
  public formatAttributes(attributes: UnformattedAttributes, additionalLogAttributes: LogAttributes): LogItem {
    const base: LogAttributes = {
      level: attributes.logLevel,
      message: attributes.message,
      xray_trace_id: attributes.xRayTraceId,
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
