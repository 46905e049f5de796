/**
 * The daily CloudTrail query behind the IMDSv1-credential signal (docs/imdsv2.md): read from the
 * stored evidence when it is younger than a day, else one query of the last 14 days (CloudTrail
 * Lake StartQuery / GetQueryResults, or Logs Insights), its result pages read while the query is
 * QUEUED or RUNNING only until a deadline. A query still running then is remembered and read by the
 * next run; meanwhile the evidence is unreadable, which keeps every instance from `ready`.
 */
import {
  type CloudTrailSource,
  countsFromRows,
  type CredentialCounts,
  credentialQuery,
  type CredentialEvidence,
  evidenceIsFresh,
  parseEvidence,
  sourceKey,
} from '../core/imdsv2/credential-delivery';
import type { Clock } from './ports';

/** One page of a query's results. */
export interface QueryPage {
  /** `QUEUED` / `RUNNING`: not done; `FINISHED`: rows are final; anything else: failed. */
  readonly status: string;
  readonly rows: readonly Readonly<Record<string, string | undefined>>[];
  readonly nextToken?: string;
}

/** A query service (lambda/aws/cloudtrail-query.ts: CloudTrail Lake or CloudWatch Logs Insights). */
export interface CloudTrailQueryPort {
  start(query: { readonly text: string; readonly start: number; readonly end: number }): Promise<string>;
  page(queryId: string, nextToken?: string): Promise<QueryPage>;
}

/** Text in, text out (the evidence object in the check's bucket). */
export interface EvidenceStore {
  read(): Promise<string | undefined>;
  write(text: string): Promise<void>;
}

export interface CredentialEvidenceDeps {
  readonly source: CloudTrailSource;
  readonly query: CloudTrailQueryPort;
  readonly store: EvidenceStore;
  /** How long one run waits for a query. @default 120000 */
  readonly maxWaitMs?: number;
  /** @default 2000 */
  readonly pollMs?: number;
}

/** The evidence of one run, or why there is none. */
export type CredentialEvidenceResult =
  | { readonly outcome: 'read'; readonly byInstance: Readonly<Record<string, CredentialCounts>>; readonly takenAt: string; readonly refreshed: boolean; readonly pages: number }
  | { readonly outcome: 'unreadable'; readonly error: string; readonly pending?: string };

const message = (err: unknown): string => (err instanceof Error ? `${err.name}: ${err.message}` : String(err));
const RUNNING = new Set(['QUEUED', 'RUNNING', 'Scheduled', 'Running']);
const DONE = new Set(['FINISHED', 'Complete']);

/** Reads (or refreshes) the evidence. Never throws. */
export async function readCredentialEvidence(deps: CredentialEvidenceDeps, clock: Clock): Promise<CredentialEvidenceResult> {
  const now = clock.now();
  const maxWait = deps.maxWaitMs ?? 120_000;
  const poll = deps.pollMs ?? 2_000;
  let stored: CredentialEvidence | undefined;
  try {
    stored = parseEvidence(await deps.store.read());
  } catch (err) {
    return { outcome: 'unreadable', error: `evidence store unreadable: ${message(err)}` };
  }
  if (evidenceIsFresh(stored, deps.source, now) && stored.pendingQueryId === undefined) {
    return { outcome: 'read', byInstance: stored.byInstance, takenAt: stored.takenAt, refreshed: false, pages: 0 };
  }
  // A query left running by an earlier run (same source) is read first: it was paid for.
  const resumable = stored && stored.source === sourceKey(deps.source) && stored.pendingQueryId !== undefined && evidenceIsFresh(stored, deps.source, now) ? stored : undefined;
  let queryId: string;
  let takenAt: string;
  try {
    if (resumable) {
      queryId = resumable.pendingQueryId!;
      takenAt = resumable.takenAt;
    } else {
      const q = credentialQuery(deps.source, now);
      queryId = await deps.query.start(q);
      takenAt = new Date(now).toISOString();
    }
  } catch (err) {
    return { outcome: 'unreadable', error: `query not started: ${message(err)}` };
  }
  const rows: Readonly<Record<string, string | undefined>>[] = [];
  let pages = 0;
  let token: string | undefined;
  try {
    for (;;) {
      const page = await deps.query.page(queryId, token);
      pages++;
      if (RUNNING.has(page.status)) {
        if (clock.now() - now + poll > maxWait) {
          await deps.store.write(JSON.stringify({ version: 1, source: sourceKey(deps.source), takenAt, byInstance: stored?.byInstance ?? {}, pendingQueryId: queryId } satisfies CredentialEvidence));
          return { outcome: 'unreadable', error: 'query still running at the deadline: the next run reads it', pending: queryId };
        }
        await clock.sleep(poll);
        continue;
      }
      if (!DONE.has(page.status)) return { outcome: 'unreadable', error: `query ${page.status}` };
      rows.push(...page.rows);
      token = page.nextToken;
      if (!token) break;
    }
  } catch (err) {
    return { outcome: 'unreadable', error: `query results unreadable: ${message(err)}` };
  }
  const byInstance = countsFromRows(rows);
  try {
    await deps.store.write(JSON.stringify({ version: 1, source: sourceKey(deps.source), takenAt, byInstance } satisfies CredentialEvidence));
  } catch {
    // Not stored: the next run queries again (cost, not correctness).
  }
  return { outcome: 'read', byInstance, takenAt, refreshed: true, pages };
}
