/**
 * Simulated CloudWatch GetMetricData for the per-instance IMDS metrics (`AWS/EC2`
 * `MetadataNoToken` / `MetadataNoTokenRejected`, dimension `InstanceId`), with the documented
 * limits: ≤ 500 queries per call, ≤ 100,800 datapoints per call (a request whose queries could
 * return more is refused, as CloudWatch refuses it), results past a page cut with a NextToken that
 * only the same request may continue, Sum aggregation into the requested period aligned to
 * StartTime, and a request rate with throttling (GetMetricData's default quota: 50 TPS).
 *
 * Assumption C1: EC2 publishes both metrics for every running instance, as 0 when there were no
 * calls (so a day without a datapoint is a day the instance did not run). C2: a call costs
 * 150 ms + 2 ms per 1,000 datapoints returned. C3: CloudWatch pages at 100,800 datapoints.
 */

/** What the sim needs from the benchmark's clock. */
export interface SimCloudWatchClock {
  now(): number;
}

/** Options of the account's CloudWatch (part of SimAccountOptions); the defaults are what the benchmark measures. */
export interface SimCloudWatchAccountOptions {
  /** GetMetricData's request bucket. @default 50 burst, 50 a second (the default quota: 50 TPS) */
  readonly getMetricDataBucket?: { readonly capacity: number; readonly refillPerSecond: number };
  /** Datapoints per GetMetricData page (tests lower it to exercise NextToken). @default 100800 (C3) */
  readonly metricPageDatapoints?: number;
}

export interface SimCloudWatchOptions {
  /** Requests per second before `Throttling` (token bucket, burst = rate; Infinity when the account's bucket paces it). @default 50 */
  readonly requestsPerSecond?: number;
  /**
   * Instances with no explicit MetadataNoToken series: their launch time (ms), and they published
   * 0 every day since (C1), so a fleet of 10,000 costs no memory here. Undefined = unknown instance.
   */
  readonly implicitLaunch?: (instanceId: string) => number | undefined;
  /** Datapoints per response page (tests lower it to exercise NextToken). @default 100800 */
  readonly pageDatapoints?: number;
}

/** The limits of one GetMetricData call (CloudWatch API reference). */
export const SIM_GET_METRIC_DATA_LIMITS = { maxQueries: 500, maxDatapoints: 100_800 } as const;

const DAY_MS = 86_400_000;

/** An error shaped like the SDK's (name = code, HTTP status in $metadata). */
export class SimCloudWatchError extends Error {
  readonly $metadata: { httpStatusCode: number };
  constructor(code: string, message: string, status = 400) {
    super(message);
    this.name = code;
    this.$metadata = { httpStatusCode: status };
  }
}

interface Query {
  Id?: string;
  MetricStat?: { Metric?: { Namespace?: string; MetricName?: string; Dimensions?: { Name?: string; Value?: string }[] }; Period?: number; Stat?: string };
  Expression?: string;
  ReturnData?: boolean;
}

export interface SimGetMetricDataInput {
  MetricDataQueries?: Query[];
  StartTime?: Date;
  EndTime?: Date;
  NextToken?: string;
  ScanBy?: string;
}

export interface SimGetMetricDataOutput {
  MetricDataResults: { Id: string; Label: string; StatusCode: 'Complete' | 'PartialData'; Timestamps: Date[]; Values: number[] }[];
  NextToken?: string;
  Messages: unknown[];
}

/** The simulated CloudWatch of one account. */
export class SimCloudWatch {
  /** metric → instance → time (ms) → value */
  private readonly data = new Map<string, Map<string, Map<number, number>>>();
  private tokens: number;
  private at: number;
  readonly stats = { calls: 0, throttled: 0, datapoints: 0, queries: 0 };

  constructor(
    private readonly clock: SimCloudWatchClock,
    private readonly options: SimCloudWatchOptions = {},
  ) {
    this.tokens = options.requestsPerSecond ?? 50;
    this.at = clock.now();
  }

  /** Records `value` for an instance's metric at time `t` (values at the same time add up). */
  publish(metric: string, instanceId: string, t: number, value: number): void {
    let byId = this.data.get(metric);
    if (!byId) this.data.set(metric, (byId = new Map()));
    let series = byId.get(instanceId);
    if (!series) byId.set(instanceId, (series = new Map()));
    series.set(t, (series.get(t) ?? 0) + value);
  }

  /**
   * An instance running from `fromMs` to `toMs`: one MetadataNoToken point per day (0 unless
   * `v1Calls` says otherwise for that day's start), as EC2 publishes it (C1).
   */
  runInstance(instanceId: string, fromMs: number, toMs: number, v1Calls: (dayStart: number) => number = () => 0): void {
    for (let d = Math.floor(fromMs / DAY_MS) * DAY_MS; d < toMs; d += DAY_MS) this.publish('MetadataNoToken', instanceId, d, v1Calls(d));
  }

  private implicit(metric: string, instanceId: string, end: number): Map<number, number> | undefined {
    const launched = metric === 'MetadataNoToken' ? this.options.implicitLaunch?.(instanceId) : undefined;
    if (launched === undefined) return undefined;
    const out = new Map<number, number>();
    for (let d = Math.floor(launched / DAY_MS) * DAY_MS; d < Math.min(end, this.clock.now()); d += DAY_MS) out.set(d, 0);
    return out;
  }

  private take(): boolean {
    const rate = this.options.requestsPerSecond ?? 50;
    const t = this.clock.now();
    if (t > this.at) {
      this.tokens = Math.min(rate, this.tokens + ((t - this.at) / 1000) * rate);
      this.at = t;
    }
    if (this.tokens >= 1) {
      this.tokens--;
      return true;
    }
    return false;
  }

  /** Answers one GetMetricData request: the result and its latency (ms, C2). Throws like CloudWatch. */
  getMetricData(input: SimGetMetricDataInput): { result: SimGetMetricDataOutput; latency: number } {
    this.stats.calls++;
    if (!this.take()) {
      this.stats.throttled++;
      throw new SimCloudWatchError('Throttling', 'Rate exceeded', 400);
    }
    const queries = input.MetricDataQueries ?? [];
    if (queries.length === 0 || queries.length > SIM_GET_METRIC_DATA_LIMITS.maxQueries) {
      throw new SimCloudWatchError('ValidationError', `The collection MetricDataQueries must not have a size greater than ${SIM_GET_METRIC_DATA_LIMITS.maxQueries} (got ${queries.length}).`);
    }
    const start = input.StartTime?.getTime();
    const end = input.EndTime?.getTime();
    if (start === undefined || end === undefined || !(end > start)) throw new SimCloudWatchError('ValidationError', 'The parameter StartTime must be less than the parameter EndTime.');
    let possible = 0;
    const ids = new Set<string>();
    for (const q of queries) {
      if (!q.Id || !/^[a-z][a-zA-Z0-9_]*$/.test(q.Id) || ids.has(q.Id)) throw new SimCloudWatchError('ValidationError', `Invalid or duplicate query Id ${q.Id}`);
      ids.add(q.Id);
      const period = q.MetricStat?.Period ?? 0;
      if (!Number.isInteger(period) || period < 60 || period % 60 !== 0) throw new SimCloudWatchError('ValidationError', 'The parameter Period must be a multiple of 60.');
      possible += Math.ceil((end - start) / (period * 1000));
    }
    if (possible > SIM_GET_METRIC_DATA_LIMITS.maxDatapoints) {
      throw new SimCloudWatchError('ValidationError', `You have requested up to ${possible} datapoints, which exceeds the limit of ${SIM_GET_METRIC_DATA_LIMITS.maxDatapoints}.`);
    }
    this.stats.queries += queries.length;
    // Every (query, bucket) point in order; a page is a slice of it, the token the offset + a request fingerprint.
    const fingerprint = `${queries.length}:${start}:${end}:${queries[0]!.MetricStat?.Metric?.Dimensions?.[0]?.Value ?? ''}`;
    let offset = 0;
    if (input.NextToken !== undefined) {
      const [fp, off] = input.NextToken.split('|');
      if (fp !== fingerprint || !/^\d+$/.test(off ?? '')) throw new SimCloudWatchError('InvalidNextToken', 'The service cannot continue this token.');
      offset = Number(off);
    }
    const points: { q: number; t: number; v: number }[] = [];
    queries.forEach((q, k) => {
      const ms = q.MetricStat!;
      const metric = ms.Metric?.MetricName ?? '';
      const dim = ms.Metric?.Dimensions?.find((d) => d.Name === 'InstanceId')?.Value;
      if (ms.Metric?.Namespace !== 'AWS/EC2' || ms.Stat !== 'Sum' || dim === undefined) return;
      const series = this.data.get(metric)?.get(dim) ?? this.implicit(metric, dim, end);
      if (!series) return;
      const periodMs = ms.Period! * 1000;
      const sums = new Map<number, number>();
      for (const [t, v] of series) {
        if (t < start || t >= end) continue;
        const b = start + Math.floor((t - start) / periodMs) * periodMs;
        sums.set(b, (sums.get(b) ?? 0) + v);
      }
      for (const [t, v] of [...sums].sort((a, b) => a[0] - b[0])) points.push({ q: k, t, v });
    });
    const page = this.options.pageDatapoints ?? SIM_GET_METRIC_DATA_LIMITS.maxDatapoints;
    const slice = points.slice(offset, offset + page);
    const more = offset + page < points.length;
    const results = queries.map((q) => ({ Id: q.Id!, Label: q.MetricStat?.Metric?.MetricName ?? '', StatusCode: 'Complete' as 'Complete' | 'PartialData', Timestamps: [] as Date[], Values: [] as number[] }));
    for (const p of slice) {
      results[p.q]!.Timestamps.push(new Date(p.t));
      results[p.q]!.Values.push(p.v);
    }
    if (more) for (const r of results) r.StatusCode = 'PartialData';
    this.stats.datapoints += slice.length;
    return {
      result: { MetricDataResults: results, Messages: [], ...(more ? { NextToken: `${fingerprint}|${offset + page}` } : {}) },
      latency: 150 + Math.ceil((2 * slice.length) / 1000),
    };
  }
}

/** The account's GetMetricData (registered in CLOUDWATCH_SERVICE of events.ts): its state is `account.cloudwatch`. */
export function getMetricData(acct: { readonly cloudwatch: SimCloudWatch }, input: SimGetMetricDataInput): { result: SimGetMetricDataOutput; latency: number } {
  return acct.cloudwatch.getMetricData(input);
}
