/**
 * The organization hub's look at a member account's documents before it runs anything there:
 * DescribeDocument (read-only) of each document the run needs, judged against the hub's pin
 * (lambda/core/fleet/hub.ts). SendCommand's own DocumentHash would refuse a changed document too;
 * this look refuses the whole account-region first, with one clear reason, before any API-side
 * change of the remediation is made there.
 */
import { DescribeDocumentCommand, type SSMClient } from '@aws-sdk/client-ssm';
import { pinnedDocumentProblem } from '../core/fleet/hub';
import type { Clock } from './clock';
import { isThrottlingError, withRetry } from './retry';

/** One document a run needs, with its pin. */
export interface DocumentPin {
  readonly name: string;
  readonly sha256: string | undefined;
}

export type DocumentPinCheck =
  | { readonly ok: true }
  | { readonly ok: false; readonly reason: 'document-mismatch' | 'access-denied' | 'throttled' | 'error'; readonly detail: string };

/** Checks every pin; never throws. The first problem found is the answer. */
export async function checkDocumentPins(ssm: Pick<SSMClient, 'send'>, pins: readonly DocumentPin[], clock: Clock): Promise<DocumentPinCheck> {
  for (const pin of pins) {
    let described: { hash?: string; hashType?: string; status?: string } | undefined;
    try {
      const out = await withRetry(() => ssm.send(new DescribeDocumentCommand({ Name: pin.name })), clock, { operation: 'DescribeDocument', maxAttempts: 4 });
      described = out.Document ? { hash: out.Document.Hash, hashType: out.Document.HashType, status: out.Document.Status } : undefined;
    } catch (err) {
      const e = err as { name?: string; message?: string };
      const name = e?.name ?? 'Error';
      const detail = `DescribeDocument ${pin.name} failed: ${name}: ${e?.message ?? String(err)}`;
      if (name === 'InvalidDocument') described = undefined;
      else if (name === 'AccessDeniedException' || name === 'AccessDenied') return { ok: false, reason: 'access-denied', detail };
      else if (isThrottlingError(err)) return { ok: false, reason: 'throttled', detail };
      else return { ok: false, reason: 'error', detail };
    }
    const problem = pinnedDocumentProblem(pin.name, pin.sha256, described);
    if (problem) return { ok: false, reason: 'document-mismatch', detail: problem };
  }
  return { ok: true };
}
