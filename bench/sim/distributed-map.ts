/**
 * The hub's state machine (lib/constructs/org-state-machine.ts) as the simulated organization runs
 * it: the distributed Map's S3 ItemReader (a JSON array object), one child execution per item running
 * the item loop (hub-item until `done`, a thrown error or too many invocations caught as a failed
 * item), and the ResultWriter's output (a manifest plus SUCCEEDED_n / FAILED_n result files, each a
 * JSON array of child executions with `Input` and `Output` as JSON strings), in the format Step
 * Functions documents for "ResultWriter" (A#: the file split size here is a count, not 5 GB).
 *
 * Children run one after another in real time; each one's virtual duration is recorded, and the
 * Map's wall time is modelled from them by {@link modelledWallMs} at a given MaxConcurrency.
 */
import type { HubItemEvent, HubItemResult } from '../../lambda/core/fleet/hub';
import type { SimS3 } from './s3';

/** The item loop of one child execution, as the state machine runs it. */
export async function runItemLoop(
  handler: (event: HubItemEvent) => Promise<HubItemResult>,
  item: { accountId: string; region: string; mode: 'check' | 'remediate' },
  maxItemInvocations: number,
): Promise<{ result: HubItemResult | Record<string, unknown>; invocations: number }> {
  let request: HubItemEvent = { ...item, slices: 0 };
  for (let iteration = 0; ; iteration++) {
    let r: HubItemResult;
    try {
      r = await handler(request);
    } catch (err) {
      // ItemFailed: the catch inside the item.
      return { result: { ...item, status: 'failed', reason: 'error', detail: err instanceof Error ? err.message : String(err), done: true }, invocations: iteration + 1 };
    }
    if (r.done) return { result: r, invocations: iteration + 1 };
    if (iteration >= maxItemInvocations - 1) {
      return { result: { ...item, status: 'failed', reason: 'error', detail: `not done after ${maxItemInvocations} invocations`, done: true }, invocations: iteration + 1 };
    }
    request = { ...item, sliceToken: r.sliceToken, continuation: r.continuation, carry: r.counts, slices: r.slices };
  }
}

export interface SimMapRunOptions {
  readonly s3: SimS3;
  readonly bucket: string;
  readonly itemsKey: string;
  /** The ResultWriter's prefix. */
  readonly prefix: string;
  readonly stateMachineArn: string;
  readonly executionName: string;
  /** ItemSelector: the child's input from one item. */
  readonly select: (item: unknown) => Record<string, unknown>;
  /** One child execution: its output and virtual duration; a throw makes it FAILED. */
  readonly child: (input: Record<string, unknown>) => Promise<{ output: unknown; durationMs: number }>;
  /** Child executions per result file. @default 1000 */
  readonly perFile?: number;
}

export interface SimMapRun {
  /** What the Map state puts at its ResultPath. */
  readonly output: { MapRunArn: string; ResultWriterDetails: { Bucket: string; Key: string } };
  /** Virtual duration of each child, in item order. */
  readonly durationsMs: number[];
  readonly succeeded: number;
  readonly failed: number;
}

/** Runs the Map over the items object and writes its results to S3. */
export async function runDistributedMap(o: SimMapRunOptions): Promise<SimMapRun> {
  const text = o.s3.get(o.bucket, o.itemsKey);
  // The ItemReader fails the Map state (and the run) on a missing or non-array object.
  if (text === undefined) throw Object.assign(new Error(`States.ItemReaderFailed: s3://${o.bucket}/${o.itemsKey} does not exist`), { name: 'States.ItemReaderFailed' });
  const items = JSON.parse(text) as unknown;
  if (!Array.isArray(items)) throw Object.assign(new Error('States.ItemReaderFailed: the object is not a JSON array'), { name: 'States.ItemReaderFailed' });
  const mapRunId = `${o.executionName}:AccountRegions`;
  const mapRunArn = `${o.stateMachineArn.replace(':stateMachine:', ':mapRun:')}/${mapRunId}`;
  const rows: Record<string, Record<string, unknown>[]> = { SUCCEEDED: [], FAILED: [] };
  const durationsMs: number[] = [];
  let n = 0;
  for (const item of items) {
    const input = o.select(item);
    const name = `child-${n++}`;
    const base = { ExecutionArn: `${mapRunArn}:${name}`, Input: JSON.stringify(input), InputDetails: { Included: true }, Name: name, RedriveCount: 0, StateMachineArn: o.stateMachineArn };
    try {
      const { output, durationMs } = await o.child(input);
      durationsMs.push(durationMs);
      rows.SUCCEEDED!.push({ ...base, Output: JSON.stringify(output), OutputDetails: { Included: true }, Status: 'SUCCEEDED' });
    } catch (err) {
      durationsMs.push(0);
      rows.FAILED!.push({ ...base, Error: err instanceof Error ? err.name : 'Error', Cause: err instanceof Error ? err.message : String(err), Status: 'FAILED' });
    }
  }
  const perFile = o.perFile ?? 1000;
  const dir = `${o.prefix}/${mapRunId.replace(/:/g, '/')}`;
  const resultFiles: Record<string, { Key: string; Size: number }[]> = { FAILED: [], PENDING: [], SUCCEEDED: [] };
  for (const [status, list] of Object.entries(rows)) {
    for (let i = 0; i * perFile < list.length; i++) {
      const key = `${dir}/${status}_${i}.json`;
      const body = JSON.stringify(list.slice(i * perFile, (i + 1) * perFile));
      o.s3.put(o.bucket, key, body);
      resultFiles[status]!.push({ Key: key, Size: body.length });
    }
  }
  const manifestKey = `${dir}/manifest.json`;
  o.s3.put(o.bucket, manifestKey, JSON.stringify({ DestinationBucket: o.bucket, MapRunArn: mapRunArn, ResultFiles: resultFiles }));
  return { output: { MapRunArn: mapRunArn, ResultWriterDetails: { Bucket: o.bucket, Key: manifestKey } }, durationsMs, succeeded: rows.SUCCEEDED!.length, failed: rows.FAILED!.length };
}

/**
 * The Map's wall time at `concurrency` children at once: each child takes its virtual duration plus
 * `overheadMs` (starting the child execution and its state transitions), children start in item
 * order as soon as a slot frees (greedy list scheduling; the Map does not reorder items).
 */
export function modelledWallMs(durationsMs: readonly number[], concurrency: number, overheadMs: number): number {
  const slots = new Array<number>(Math.max(1, Math.min(concurrency, durationsMs.length || 1))).fill(0);
  for (const d of durationsMs) {
    let min = 0;
    for (let i = 1; i < slots.length; i++) if (slots[i]! < slots[min]!) min = i;
    slots[min] = slots[min]! + d + overheadMs;
  }
  return Math.max(0, ...slots);
}
