/** Loaded on first use (../lazy-adapters.ts): only the CloudWatch client and command the readiness needs. */
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import type { Clock } from '../clock';
import { createClient } from '../client-factory';
import { CloudWatchInstanceMetrics } from '../cloudwatch-metrics';

export function instanceMetrics(clock: Clock): CloudWatchInstanceMetrics {
  return new CloudWatchInstanceMetrics({ cloudwatch: createClient(CloudWatchClient, 'cloudwatch'), clock });
}
