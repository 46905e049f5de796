/**
 * Simulated EventBridge (PutEvents: 1–10 entries), SNS (Publish) and CloudWatch (PutMetricData: at
 * most 1,000 datums). None of them is throttled here. Registered in account.ts's SERVICES.
 */
import { CloudWatchClient, GetMetricDataCommand, PutMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import { EventBridgeClient, PutEventsCommand, type PutEventsCommandInput } from '@aws-sdk/client-eventbridge';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import type { SimAccount, SimService } from './account';
import { getMetricData } from './cloudwatch';
import { bump, SimAwsError } from './primitives';

/** Options of the simulated EventBridge (part of SimAccountOptions). */
export interface SimEventsOptions {
  /**
   * PutEvents answers these entries as failed (`InternalFailure`) instead of putting them, as
   * EventBridge does with a partial failure; `call` counts PutEvents requests from 0, `entry`
   * indexes the request's entries (tests of the audit's resend). @default none: every entry is put
   */
  rejectEntry?(call: number, entry: number, entries: number): boolean;
}

function putEvents(acct: SimAccount, i: PutEventsCommandInput): { result: object; latency: number } {
  const entries = i.Entries ?? [];
  if (entries.length < 1 || entries.length > 10) {
    throw new SimAwsError('ValidationException', `1 validation error detected: Value at 'entries' failed to satisfy constraint: Member must have length less than or equal to 10`);
  }
  const call = (acct.stats.calls['PutEvents'] ?? 1) - 1;
  const rejected = entries.map((_, k) => acct.options.rejectEntry?.(call, k, entries.length) ?? false);
  const answers = entries.map((e, k) => {
    if (rejected[k]) return { ErrorCode: 'InternalFailure', ErrorMessage: 'simulated partial failure' };
    bump(acct.eventsByType, e.DetailType ?? '');
    acct.eventDetailBytes += (e.Detail ?? '').length;
    return { EventId: `sim-${acct.eventCount++}` };
  });
  return { result: { FailedEntryCount: rejected.filter(Boolean).length, Entries: answers }, latency: acct.lat.other };
}

function publish(acct: SimAccount, i: { Message?: string }): { result: object; latency: number } {
  acct.notifications.push(i.Message ?? '');
  return { result: { MessageId: `sim-${acct.notifications.length}` }, latency: acct.lat.other };
}

function putMetricData(acct: SimAccount, i: { MetricData?: unknown[] }): { result: object; latency: number } {
  if ((i.MetricData?.length ?? 0) > 1000) throw new SimAwsError('InvalidParameterValue', 'The collection MetricData must not have a size greater than 1000.');
  return { result: {}, latency: acct.lat.other };
}

export const EVENTBRIDGE_SERVICE: SimService = { name: 'events', client: EventBridgeClient, actions: { PutEvents: { command: PutEventsCommand, answer: putEvents } } };
export const SNS_SERVICE: SimService = { name: 'sns', client: SNSClient, actions: { Publish: { command: PublishCommand, answer: publish } } };
export const CLOUDWATCH_SERVICE: SimService = {
  name: 'cloudwatch',
  client: CloudWatchClient,
  actions: {
    PutMetricData: { command: PutMetricDataCommand, answer: putMetricData },
    // IMDS metrics for the IMDSv2 readiness (sim/cloudwatch.ts); GetMetricData's default quota is 50 TPS.
    GetMetricData: { command: GetMetricDataCommand, answer: getMetricData, bucket: () => 'getMetricData' },
  },
  buckets: (options) => ({ getMetricData: options.getMetricDataBucket ?? { capacity: 50, refillPerSecond: 50 } }),
  throttled: () => new SimAwsError('Throttling', 'Rate exceeded'),
};
