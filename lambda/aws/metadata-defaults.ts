/**
 * EC2 `GetInstanceMetadataDefaults` / `ModifyInstanceMetadataDefaults` (account level, this region),
 * throttling retried on the injected clock. A read that fails is data (`unknown`), never an exception:
 * the check goes on, and nothing is acted on from it.
 */
import { type EC2Client, GetInstanceMetadataDefaultsCommand, type InstanceMetadataDefaultsResponse, ModifyInstanceMetadataDefaultsCommand } from '@aws-sdk/client-ec2';
import { type Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import {
  ACCOUNT_DEFAULTS_METRICS,
  type AccountDefaultsReport,
  accountDefaultsMetricValues,
  type AccountMetadataDefaults,
  type MetadataDefaultsReading,
} from '../core/fleet/metadata-defaults';
import type { Clock, DefaultsModifyResult, MetadataDefaultsPort } from '../engine/ports';
import { isThrottlingError, withRetry } from './retry';

export type { DefaultsModifyResult, MetadataDefaultsPort };

export interface Ec2MetadataDefaultsOptions {
  readonly ec2: Pick<EC2Client, 'send'>;
  readonly clock: Clock;
  /** Attempts per call, throttling included. @default 5 */
  readonly maxAttempts?: number;
}

function errText(err: unknown): string {
  const e = err as { name?: string; message?: string } | null;
  return `${e?.name ?? 'Error'}: ${e?.message ?? String(err)}`.slice(0, 300);
}

const oneOf = <T extends string>(v: unknown, values: readonly T[]): T | undefined => (values.includes(v as T) ? (v as T) : undefined);

/**
 * Maps EC2's answer to the core type. `ManagedBy` absent counts as `account`; a value this code does
 * not know is not guessed at: the reading is `unknown`, so nothing is written over it.
 */
export function toReading(level: InstanceMetadataDefaultsResponse | undefined): MetadataDefaultsReading {
  const l = level ?? {};
  const managedBy = l.ManagedBy ?? 'account';
  if (managedBy !== 'account' && managedBy !== 'declarative-policy') return { status: 'unknown', error: `unrecognised ManagedBy ${JSON.stringify(managedBy)}` };
  const hop = l.HttpPutResponseHopLimit;
  // -1 is how the API spells "no preference" on input; treat it the same if it is ever echoed back.
  const hopLimit = typeof hop === 'number' && Number.isInteger(hop) && hop >= 1 && hop <= 64 ? hop : undefined;
  const d: AccountMetadataDefaults = {
    managedBy,
    ...(oneOf(l.HttpTokens, ['optional', 'required'] as const) ? { httpTokens: l.HttpTokens as 'optional' | 'required' } : {}),
    ...(hopLimit !== undefined ? { hopLimit } : {}),
    ...(oneOf(l.HttpEndpoint, ['enabled', 'disabled'] as const) ? { httpEndpoint: l.HttpEndpoint as 'enabled' | 'disabled' } : {}),
    ...(oneOf(l.InstanceMetadataTags, ['enabled', 'disabled'] as const) ? { instanceMetadataTags: l.InstanceMetadataTags as 'enabled' | 'disabled' } : {}),
    ...(oneOf(l.HttpTokensEnforced, ['enabled', 'disabled'] as const) ? { httpTokensEnforced: l.HttpTokensEnforced as 'enabled' | 'disabled' } : {}),
    ...(l.ManagedExceptionMessage ? { managedExceptionMessage: l.ManagedExceptionMessage } : {}),
  };
  return { status: 'read', defaults: d };
}

/** The EC2-backed port. */
export function createEc2MetadataDefaultsPort(options: Ec2MetadataDefaultsOptions): MetadataDefaultsPort {
  const { ec2, clock } = options;
  const maxAttempts = Math.max(1, options.maxAttempts ?? 5);
  return {
    async read() {
      try {
        const res = await withRetry(() => ec2.send(new GetInstanceMetadataDefaultsCommand({})), clock, { maxAttempts, operation: 'GetInstanceMetadataDefaults' });
        return toReading(res.AccountLevel);
      } catch (err) {
        return { status: 'unknown', error: errText(err) };
      }
    },

    async modify(change) {
      if (change.hopLimit === undefined && change.httpTokens === undefined) return { outcome: 'failed', error: 'nothing to change', attempts: 0 };
      let attempts = 0;
      try {
        const res = await withRetry(
          () => {
            attempts++;
            return ec2.send(
              new ModifyInstanceMetadataDefaultsCommand({
                ...(change.hopLimit !== undefined ? { HttpPutResponseHopLimit: change.hopLimit } : {}),
                ...(change.httpTokens !== undefined ? { HttpTokens: change.httpTokens } : {}),
              }),
            );
          },
          clock,
          { maxAttempts, operation: 'ModifyInstanceMetadataDefaults' },
        );
        if (res.Return === false) return { outcome: 'failed', error: 'ModifyInstanceMetadataDefaults returned false', attempts };
        return { outcome: 'requested', attempts };
      } catch (err) {
        if (isThrottlingError(err)) return { outcome: 'throttled', error: errText(err), attempts };
        return { outcome: 'failed', error: errText(err), attempts };
      }
    },
  };
}

/** Adds the two account-level metrics to `metrics` (flushed with the fleet set by the caller). */
export function addAccountDefaultsMetrics(metrics: Pick<Metrics, 'addMetric'>, report: AccountDefaultsReport): void {
  const v = accountDefaultsMetricValues(report);
  if (v.findings !== undefined) metrics.addMetric(ACCOUNT_DEFAULTS_METRICS.accountDefaultFindings, MetricUnit.Count, v.findings);
  metrics.addMetric(ACCOUNT_DEFAULTS_METRICS.accountDefaultsUnknown, MetricUnit.Count, v.unknown);
}
