/**
 * What the hub's run keeps in S3 instead of its execution state (≤ 256 KB, ≈ 1,000 account-regions):
 * the account-region list the distributed Map's ItemReader reads, the Map's ResultWriter output
 * (a manifest naming result files of child executions), and the overlap decision of a run start.
 * Pure: no SDK, no I/O, never throws.
 */
import type { HubItemResult } from './hub';

/** One line of the ItemReader's JSON array: one child execution. */
export interface HubRunItem {
  readonly accountId: string;
  readonly region: string;
}

/** The S3 key prefix of everything a run writes (the bucket's lifecycle drops it after a week). */
export const HUB_RUN_PREFIX = 'runs';

/** Where one execution keeps its item list and its full summary. */
export function runKeys(executionName: string): { readonly items: string; readonly summary: string } {
  const safe = executionName.replace(/[^\w.-]/g, '_').slice(0, 80) || 'run';
  return { items: `${HUB_RUN_PREFIX}/${safe}/items.json`, summary: `${HUB_RUN_PREFIX}/${safe}/summary.json` };
}

/** Every account × every region, account-major (the Map starts an account's regions close together). */
export function runItems(accounts: readonly string[], regions: readonly string[]): HubRunItem[] {
  return accounts.flatMap((accountId) => regions.map((region) => ({ accountId, region })));
}

/** The manifest the ResultWriter writes beside the result files (`<prefix>/<map run id>/manifest.json`). */
export interface MapRunManifest {
  readonly destinationBucket: string;
  /** Keys of the result files by status (SUCCEEDED, FAILED, PENDING…). */
  readonly files: Readonly<Record<string, readonly string[]>>;
}

/** Reads the manifest; undefined when it is not one (then nothing of the run is taken as covered). */
export function parseManifest(text: string): MapRunManifest | undefined {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return undefined;
  }
  const m = (raw ?? {}) as { DestinationBucket?: unknown; ResultFiles?: unknown };
  if (typeof m.DestinationBucket !== 'string' || typeof m.ResultFiles !== 'object' || m.ResultFiles === null) return undefined;
  const files: Record<string, string[]> = {};
  for (const [status, list] of Object.entries(m.ResultFiles as Record<string, unknown>)) {
    if (!Array.isArray(list)) continue;
    files[status] = list.map((f) => (f as { Key?: unknown })?.Key).filter((k): k is string => typeof k === 'string');
  }
  return { destinationBucket: m.DestinationBucket, files };
}

const parseJson = (text: unknown): unknown => {
  if (typeof text !== 'string') return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
};

/**
 * One result file: a JSON array of child executions (`Input`, `Output` as JSON strings, `Status`,
 * `Error`, `Cause`). A succeeded child gives its item result; any other (failed, timed out, aborted,
 * unreadable output) gives a failed result for the account-region of its input, never "ok".
 */
export function resultsOfFile(text: string): { results: Partial<HubItemResult>[]; unreadable: number } {
  const rows = parseJson(text);
  if (!Array.isArray(rows)) return { results: [], unreadable: 1 };
  const results: Partial<HubItemResult>[] = [];
  let unreadable = 0;
  for (const row of rows) {
    const r = (row ?? {}) as { Status?: unknown; Input?: unknown; Output?: unknown; Error?: unknown; Cause?: unknown };
    const input = (parseJson(r.Input) ?? {}) as { accountId?: unknown; region?: unknown };
    const output = parseJson(r.Output) as Partial<HubItemResult> | undefined;
    if (r.Status === 'SUCCEEDED' && output && typeof output === 'object' && typeof output.accountId === 'string') {
      results.push(output);
      continue;
    }
    if (typeof input.accountId !== 'string' || typeof input.region !== 'string') {
      unreadable++;
      continue;
    }
    results.push({
      accountId: input.accountId,
      region: input.region,
      status: 'failed',
      reason: 'error',
      detail: `child execution ${typeof r.Status === 'string' ? r.Status : 'without status'}${typeof r.Error === 'string' ? `: ${r.Error}` : ''}${typeof r.Cause === 'string' ? ` (${r.Cause.slice(0, 300)})` : ''}`,
    });
  }
  return { results, unreadable };
}

/**
 * The run's results against its item list: an item with no result (a child never started, a file
 * that could not be read) is a failed one, so every listed account-region is either covered or
 * named. Results of items that were not listed are ignored; a repeated one (a redriven child) counts once, the last.
 */
export function reconcile(items: readonly HubRunItem[], results: readonly Partial<HubItemResult>[]): Partial<HubItemResult>[] {
  const key = (a: unknown, r: unknown) => `${String(a)}/${String(r)}`;
  const byKey = new Map<string, Partial<HubItemResult>>();
  for (const r of results) byKey.set(key(r.accountId, r.region), r);
  return items.map(
    (i) => byKey.get(key(i.accountId, i.region)) ?? { accountId: i.accountId, region: i.region, status: 'failed', reason: 'error', detail: 'no result in the Map run output (child not started, or its result file unreadable)' },
  );
}

/** A RUNNING execution of the hub's state machine, as ListExecutions gives it. */
export interface RunningExecution {
  readonly executionArn: string;
  readonly startDate: number;
}

/**
 * The overlap guard: the run that started first goes on, every later one stops. Two runs started in
 * the same millisecond are ordered by ARN, so exactly one of them goes on. Returns the execution
 * this one must yield to, or undefined.
 */
export function blockingRun(self: RunningExecution, running: readonly RunningExecution[]): RunningExecution | undefined {
  const earlier = running
    .filter((e) => e.executionArn !== self.executionArn)
    .filter((e) => e.startDate < self.startDate || (e.startDate === self.startDate && e.executionArn < self.executionArn))
    .sort((a, b) => a.startDate - b.startDate || (a.executionArn < b.executionArn ? -1 : 1));
  return earlier[0];
}

/** At most this many not-covered account-regions by name in the event and e-mail (both ≤ 256 KB); the S3 summary has all. */
export const SUMMARY_NAMED_LIMIT = 100;
