/**
 * The audit trail: every remediation action and the run summary as EventBridge events on the default
 * bus, ≤ 10 entries per PutEvents (the API's limit), failed entries and throttling retried (bounded).
 */
import { PutEventsCommand, type EventBridgeClient, type PutEventsRequestEntry } from '@aws-sdk/client-eventbridge';
import type { AuditActionDetail, AuditOutcome, AuditSink, ContinuationRefusedDetail } from '../engine/ports';
import { isThrottlingError } from './retry';

/** `detail-type`s of the audit events. */
export const AUDIT_DETAIL_TYPES = {
  action: 'TimeSync Guard Remediation Action',
  summary: 'TimeSync Guard Remediation Run Summary',
  /** A remediate invocation refused its continuation (forged, edited, expired): nothing was done. */
  continuationRefused: 'TimeSync Guard Continuation Refused',
} as const;

export type { AuditActionDetail, AuditOutcome, AuditSink, ContinuationRefusedDetail };

export interface EventBridgeAuditOptions {
  readonly events: Pick<EventBridgeClient, 'send'>;
  /** EventBridge `Source` (settings.eventSource). */
  readonly source: string;
  readonly sleep: (ms: number) => Promise<void>;
  /** Attempts per batch, for throttling and failed entries. @default 5 */
  readonly maxAttempts?: number;
  /** PutEvents calls in flight at once. @default 4 */
  readonly concurrency?: number;
  /** Called once per entry that could not be delivered (the caller logs it, so the record is never silent). */
  readonly onLost?: (entry: PutEventsRequestEntry, error: string) => void;
}

/** PutEvents caps one entry at 256 KB; our details are small, but a huge `before` must not sink a batch. */
const MAX_DETAIL_CHARS = 200_000;

function detailJson(detail: unknown): string {
  const s = JSON.stringify(detail);
  return s.length <= MAX_DETAIL_CHARS ? s : JSON.stringify({ ...(detail as object), before: '[truncated]', after: '[truncated]' });
}

/** The EventBridge-backed audit sink (default bus). */
export function createEventBridgeAudit(options: EventBridgeAuditOptions): AuditSink {
  const maxAttempts = Math.max(1, options.maxAttempts ?? 5);
  const concurrency = Math.max(1, options.concurrency ?? 4);
  let lost = 0;

  async function sendBatch(entries: PutEventsRequestEntry[]): Promise<void> {
    let pending = entries;
    let lastError = 'unknown';
    for (let attempt = 1; attempt <= maxAttempts && pending.length > 0; attempt++) {
      if (attempt > 1) await options.sleep(Math.min(10_000, 200 * 2 ** (attempt - 2)));
      try {
        const res = await options.events.send(new PutEventsCommand({ Entries: pending }));
        if (!res.FailedEntryCount) return;
        // Result entries are positional: resend only the ones that failed.
        const failed: PutEventsRequestEntry[] = [];
        (res.Entries ?? []).forEach((r, i) => {
          if (r.ErrorCode && pending[i]) {
            failed.push(pending[i]);
            lastError = `${r.ErrorCode}: ${r.ErrorMessage ?? ''}`;
          }
        });
        pending = failed;
      } catch (err) {
        lastError = `${(err as Error)?.name ?? 'Error'}: ${(err as Error)?.message ?? String(err)}`;
        if (!isThrottlingError(err) && !((err as { $retryable?: unknown })?.$retryable)) {
          if (attempt >= 2) break; // one retry for anything else, then give up on this batch
        }
      }
    }
    for (const e of pending) options.onLost?.(e, lastError);
    lost += pending.length;
  }

  async function put(detailType: string, details: readonly unknown[]): Promise<void> {
    const entries: PutEventsRequestEntry[] = details.map((d) => ({
      Source: options.source,
      DetailType: detailType,
      Detail: detailJson(d),
    }));
    const batches: PutEventsRequestEntry[][] = [];
    for (let i = 0; i < entries.length; i += 10) batches.push(entries.slice(i, i + 10));
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < batches.length) await sendBatch(batches[next++]!);
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, batches.length) }, worker));
  }

  return {
    actions: (details) => put(AUDIT_DETAIL_TYPES.action, details),
    summary: (detail) => put(AUDIT_DETAIL_TYPES.summary, [detail]),
    refused: (detail) => put(AUDIT_DETAIL_TYPES.continuationRefused, [detail]),
    failedEntries: () => lost,
  };
}
