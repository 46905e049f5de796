/**
 * The one Powertools Logger and the one Metrics of a Lambda container. The namespace comes from the
 * same environment variable the settings read (the construct writes it), so the metrics land where
 * the alarms look.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { METRIC_SERVICE } from '../core/metric-names';
import { DEFAULTS, ENV } from '../core/settings';

/** Structured JSON logger; the per-instance records and the run summary go through it. */
export const logger = new Logger({ serviceName: METRIC_SERVICE });

/** EMF metrics with the single `service` dimension (no per-instance dimension, ever). */
export const metrics = new Metrics({
  serviceName: METRIC_SERVICE,
  namespace: process.env[ENV.metricNamespace]?.trim() || DEFAULTS.metricNamespace,
});
