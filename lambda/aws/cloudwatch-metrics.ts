/**
 * Reads EC2's per-instance IMDS metrics (`AWS/EC2` `MetadataNoToken` / `MetadataNoTokenRejected`,
 * dimension `InstanceId`) with GetMetricData: one query per instance, as many queries per call as
 * both documented limits allow (≤ 500 queries, ≤ 100,800 datapoints), every page of a call followed
 * (NextToken), throttling retried on the injected clock. 10,000 instances × 15 daily points fit in
 * 20 calls.
 */
import {
  type CloudWatchClient,
  GetMetricDataCommand,
  type GetMetricDataCommandInput,
  type GetMetricDataCommandOutput,
  type MetricDataQuery,
} from '@aws-sdk/client-cloudwatch';
import { IMDS_METRICS } from '../core/imdsv2/readiness';
import type { Clock } from './clock';
import { type RetryOptions, withRetry } from './retry';

/** GetMetricData limits (CloudWatch API reference). */
export const GET_METRIC_DATA_LIMITS = { maxQueries: 500, maxDatapoints: 100_800 } as const;

/** Sums per instance, keyed by the start (ms) of each period; undefined: not readable for that instance. */
export type SumsByInstance = Map<string, Map<number, number> | undefined>;

/** What the readiness and the rollback watch need from CloudWatch. */
export interface InstanceMetricsPort {
  /**
   * Sum of `metric` per instance per `periodSeconds` between `start` and `end` (ms). Never throws for
   * one instance's data (its entry is undefined); throws when the calls themselves fail.
   */
  sums(metric: string, instanceIds: readonly string[], start: number, end: number, periodSeconds: number): Promise<SumsByInstance>;
}

/** Counters, for the benchmark and the log. */
export interface InstanceMetricsStats {
  calls: number;
  queries: number;
  datapoints: number;
  throttled: number;
}

export interface CloudWatchInstanceMetricsOptions {
  readonly cloudwatch: Pick<CloudWatchClient, 'send'>;
  readonly clock: Clock;
  readonly retry?: RetryOptions;
  /** GetMetricData calls in flight at once (the default TPS quota is 50). @default 4 */
  readonly concurrency?: number;
}

/** Queries per call so that neither limit is passed: ⌊100,800 / points per query⌋, at most 500. */
export function queriesPerCall(start: number, end: number, periodSeconds: number): number {
  const points = Math.max(1, Math.ceil((end - start) / (periodSeconds * 1000)));
  return Math.max(1, Math.min(GET_METRIC_DATA_LIMITS.maxQueries, Math.floor(GET_METRIC_DATA_LIMITS.maxDatapoints / points)));
}

/** The CloudWatch-backed port. */
export class CloudWatchInstanceMetrics implements InstanceMetricsPort {
  readonly stats: InstanceMetricsStats = { calls: 0, queries: 0, datapoints: 0, throttled: 0 };

  constructor(private readonly options: CloudWatchInstanceMetricsOptions) {}

  async sums(metric: string, instanceIds: readonly string[], start: number, end: number, periodSeconds: number): Promise<SumsByInstance> {
    const ids = [...new Set(instanceIds)];
    const out: SumsByInstance = new Map();
    if (ids.length === 0) return out;
    const per = queriesPerCall(start, end, periodSeconds);
    const batches: string[][] = [];
    for (let k = 0; k < ids.length; k += per) batches.push(ids.slice(k, k + per));
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < batches.length) {
        const batch = batches[next++]!;
        await this.batch(metric, batch, start, end, periodSeconds, out);
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, Math.min(this.options.concurrency ?? 4, batches.length)) }, worker));
    return out;
  }

  private async batch(metric: string, ids: readonly string[], start: number, end: number, period: number, out: SumsByInstance): Promise<void> {
    const queries: MetricDataQuery[] = ids.map((id, k) => ({
      Id: `q${k}`,
      ReturnData: true,
      MetricStat: {
        Metric: { Namespace: IMDS_METRICS.namespace, MetricName: metric, Dimensions: [{ Name: IMDS_METRICS.dimension, Value: id }] },
        Period: period,
        Stat: 'Sum',
      },
    }));
    const acc = ids.map(() => new Map<number, number>() as Map<number, number> | undefined);
    let token: string | undefined;
    do {
      const input: GetMetricDataCommandInput = {
        MetricDataQueries: queries,
        StartTime: new Date(start),
        EndTime: new Date(end),
        ScanBy: 'TimestampAscending',
        ...(token ? { NextToken: token } : {}),
      };
      const res: GetMetricDataCommandOutput = await withRetry(
        () => {
          this.stats.calls++;
          return this.options.cloudwatch.send(new GetMetricDataCommand(input));
        },
        this.options.clock,
        {
          operation: 'GetMetricData',
          ...this.options.retry,
          onRetry: (info) => {
            this.stats.throttled++;
            this.options.retry?.onRetry?.(info);
          },
        },
      );
      for (const r of res.MetricDataResults ?? []) {
        const k = /^q(\d+)$/.exec(r.Id ?? '')?.[1];
        if (k === undefined || Number(k) >= ids.length) continue;
        const i = Number(k);
        // Forbidden / InternalError: this instance's data is not known (never judged on it).
        if (r.StatusCode === 'Forbidden' || r.StatusCode === 'InternalError') acc[i] = undefined;
        const m = acc[i];
        if (!m) continue;
        const ts = r.Timestamps ?? [];
        const vs = r.Values ?? [];
        for (let j = 0; j < Math.min(ts.length, vs.length); j++) {
          const t = ts[j]!.getTime();
          m.set(t, (m.get(t) ?? 0) + vs[j]!);
          this.stats.datapoints++;
        }
      }
      token = res.NextToken;
    } while (token);
    this.stats.queries += ids.length;
    ids.forEach((id, i) => out.set(id, acc[i]));
  }
}

/** Sums by period start → sums by UTC day (YYYY-MM-DD); undefined stays undefined. */
export function byDay(sums: Map<number, number> | undefined): Record<string, number> | undefined {
  if (!sums) return undefined;
  const out: Record<string, number> = {};
  for (const [t, v] of sums) {
    const d = new Date(t).toISOString().slice(0, 10);
    out[d] = (out[d] ?? 0) + v;
  }
  return out;
}

