/**
 * ModifyInstanceMetadataOptions, paced to EC2's token bucket for that action (100 burst, 5/s) on the
 * injected clock, with bounded retries of throttling, plus the fresh reads (DescribeInstances by
 * `instance-id` filter, batched, on the non-mutating bucket) that the engine uses before a change and
 * to verify that it reached state `applied`.
 */
import { METADATA_OPTIONS } from '../contracts/metadata-options';
import {
  DescribeInstancesCommand,
  ModifyInstanceMetadataOptionsCommand,
  type EC2Client,
  type Instance,
  type ModifyInstanceMetadataOptionsCommandInput,
} from '@aws-sdk/client-ec2';
import { isOptedOut } from '../core/remediation/plan';
import type { ImdsOptions } from '../core/types';
import {
  MODIFY_METADATA_BUCKET,
  NON_MUTATING_BUCKET,
  TokenBucket,
  type TokenBucketOptions,
  type TokenBucketState,
} from '../core/util/token-bucket';
import type { Clock, FreshImdsOptions, ImdsDescribeResult, ImdsModifyRequest, ImdsModifyResult, ImdsPort } from '../engine/ports';
import { isThrottlingError, withRetry } from './retry';

export type { FreshImdsOptions, ImdsDescribeResult, ImdsModifyRequest, ImdsModifyResult, ImdsPort };

export interface Ec2ImdsPortOptions {
  readonly ec2: Pick<EC2Client, 'send'>;
  readonly clock: Clock;
  /** Resume the modify bucket from a continuation; default a full bucket. */
  readonly bucketState?: TokenBucketState;
  /** @default MODIFY_METADATA_BUCKET (100, 5/s) */
  readonly modifyBucket?: TokenBucketOptions;
  /** @default NON_MUTATING_BUCKET (100, 20/s) */
  readonly describeBucket?: TokenBucketOptions;
  /**
   * Attempts per call, throttling included. Kept small (the waits stay within seconds, so the
   * engine's deadline holds): a modify still throttled is queued again by the engine, not lost.
   * @default 5
   */
  readonly maxAttempts?: number;
  /** Ids per DescribeInstances (`instance-id` filter takes ≤ 200 values). @default 200 */
  readonly describeBatchSize?: number;
  /**
   * Opt-out tag key: each fresh read then says whether the instance is opted out NOW, so a tag set
   * after the run started is honoured at the point of action.
   * @default - `optedOut` is not reported
   */
  readonly optOutTagKey?: string;
}

function isGone(err: unknown): boolean {
  const name = (err as { name?: string } | null)?.name ?? '';
  return name.startsWith('InvalidInstanceID') || name === 'IncorrectInstanceState';
}

function errText(err: unknown): string {
  const e = err as { name?: string; message?: string } | null;
  return `${e?.name ?? 'Error'}: ${e?.message ?? String(err)}`.slice(0, 300);
}

/** Maps EC2's metadata options to the seam type. */
export function toImdsOptions(i: Instance): ImdsOptions {
  const m = i.MetadataOptions ?? {};
  return {
    httpEndpoint: m.HttpEndpoint as ImdsOptions['httpEndpoint'],
    httpTokens: m.HttpTokens as ImdsOptions['httpTokens'],
    hopLimit: m.HttpPutResponseHopLimit,
    state: m.State as ImdsOptions['state'],
    httpProtocolIpv6: m.HttpProtocolIpv6 as ImdsOptions['httpProtocolIpv6'],
  };
}

/** The EC2-backed port. */
export function createEc2ImdsPort(options: Ec2ImdsPortOptions): ImdsPort {
  const { ec2, clock } = options;
  const now = (): number => clock.now();
  const sleep = (ms: number): Promise<void> => clock.sleep(ms);
  const modifyBucket = new TokenBucket(options.modifyBucket ?? MODIFY_METADATA_BUCKET, now, options.bucketState);
  const describeBucket = new TokenBucket(options.describeBucket ?? NON_MUTATING_BUCKET, now);
  const maxAttempts = Math.max(1, options.maxAttempts ?? 5);
  const batchSize = Math.min(200, Math.max(1, options.describeBatchSize ?? 200));

  async function describeBatch(ids: readonly string[], out: Map<string, FreshImdsOptions>): Promise<void> {
    let nextToken: string | undefined;
    do {
      const res = await withRetry(
        async () => {
          await describeBucket.take(sleep);
          return ec2.send(
            new DescribeInstancesCommand({ Filters: [{ Name: 'instance-id', Values: [...ids] }], MaxResults: 1000, NextToken: nextToken }),
          );
        },
        clock,
        { maxAttempts, operation: 'DescribeInstances', onRetry: () => describeBucket.drain() },
      );
      for (const r of res.Reservations ?? []) {
        for (const i of r.Instances ?? []) {
          const state = i.State?.Name;
          if (!i.InstanceId || state === 'terminated' || state === 'shutting-down') continue;
          const key = options.optOutTagKey;
          out.set(i.InstanceId, key === undefined ? toImdsOptions(i) : { ...toImdsOptions(i), optedOut: isOptedOut(i.Tags, key) });
        }
      }
      nextToken = res.NextToken;
    } while (nextToken);
  }

  return {
    async describe(ids): Promise<ImdsDescribeResult> {
      const out = new Map<string, FreshImdsOptions>();
      const unique = [...new Set(ids)];
      try {
        for (let i = 0; i < unique.length; i += batchSize) await describeBatch(unique.slice(i, i + batchSize), out);
      } catch (err) {
        // Throttled past the retries is data (the engine looks again later); anything else is run-level.
        if (isThrottlingError(err)) return { outcome: 'throttled', error: errText(err) };
        throw err;
      }
      return { outcome: 'described', instances: out };
    },

    async modify(request) {
      const input: ModifyInstanceMetadataOptionsCommandInput = { InstanceId: request.instanceId };
      // Only the options that change: anything omitted keeps its current value on EC2's side.
      if (request.hopLimit !== undefined) input.HttpPutResponseHopLimit = request.hopLimit;
      if (request.enableEndpoint) input.HttpEndpoint = 'enabled';
      if (request.httpTokens) input.HttpTokens = request.httpTokens;
      for (const [parameter, value] of Object.entries(request.options ?? {})) {
        // Only what the metadata-options table describes (and IAM therefore bounds) is sent.
        if (METADATA_OPTIONS.some((r) => r.parameter === parameter && r.action !== null)) (input as unknown as Record<string, unknown>)[parameter] = value;
      }
      if (Object.keys(input).length === 1) {
        return { outcome: 'failed', error: 'nothing to change', attempts: 0 };
      }
      let attempts = 0;
      try {
        const res = await withRetry(
          async () => {
            attempts++;
            await modifyBucket.take(sleep);
            return ec2.send(new ModifyInstanceMetadataOptionsCommand(input));
          },
          clock,
          // Throttled: the shared account bucket is empty whatever ours believed.
          { maxAttempts, operation: 'ModifyInstanceMetadataOptions', onRetry: () => modifyBucket.drain() },
        );
        return { outcome: 'requested', state: res.InstanceMetadataOptions?.State, attempts };
      } catch (err) {
        if (isGone(err)) return { outcome: 'gone', error: errText(err), attempts };
        if (isThrottlingError(err)) return { outcome: 'throttled', error: errText(err), attempts };
        return { outcome: 'failed', error: errText(err), attempts };
      }
    },

    modifyWaitMs: () => modifyBucket.waitMs(1),
    bucketState: () => modifyBucket.state(),
  };
}
