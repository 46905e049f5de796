/**
 * The metadata-options rows as an action phase (./phase.ts, `IMDS_PHASE`): changes (hop limit up to
 * the configured target, endpoint on, any further nightly row of lambda/contracts/metadata-options.ts),
 * paced to EC2's ModifyInstanceMetadataOptions bucket, each decided on a fresh read at the point of
 * action; then verification until each change is `applied` (or the bounded wait runs out). A chunk
 * of instances gets one fresh DescribeInstances before and one verification pass after.
 *
 * Its items, `state.actions.imds`, are in two stages: a change still to make (`ImdsItem`) and a change
 * made and not yet seen applied (`VerifyItem`, marked by its `at`), kept verifying first. A new run
 * queues them while the check still streams (start.ts), and the side starts making them at once;
 * a resume never drops a change already made (`acted`).
 */
import { desiredValue, METADATA_OPTIONS, type MetadataOptionRow, satisfies } from '../../contracts/metadata-options';
import type { RemediationAction } from '../../core/remediation/plan';
import { metadataOptionsWants } from '../../core/remediation/metadata-wants';
import type { Settings } from '../../core/settings';
import type { FreshImdsOptions } from '../ports';
import type { RunContext } from './context';
import { ContinuationError, int } from './continuation';
import { MetadataChangeLoop, type MetadataQueue } from './metadata-loop';
import type { ActionPhase, PlannedAudit } from './phase';
import type { ImdsItem, RunState, VerifyItem } from './state';

/** The IMDS phase's key: its items are `state.actions.imds` (never reuse or rename: continuations carry it). */
export const IMDS_KEY = 'imds';

/** An item of the IMDS phase: a change to make, or one made and being verified. */
export type ImdsPhaseItem = ImdsItem | VerifyItem;

/** Whether an item is a change already made (being verified). */
export function isVerifying(i: { id: string }): i is VerifyItem {
  return (i as Partial<VerifyItem>).at !== undefined;
}

/** The run's IMDS list, made when absent (for the code that adds to it). */
function listOf(state: RunState): ImdsPhaseItem[] {
  return ((state.actions ??= {})[IMDS_KEY] ??= []) as ImdsPhaseItem[];
}

/** How many items at the front of the list are verifying (the list keeps them first). */
function verifyingCount(list: readonly ImdsPhaseItem[]): number {
  let v = 0;
  while (v < list.length && isVerifying(list[v]!)) v++;
  return v;
}

/** A run's IMDS items by stage (copies, for reading: the summary, tests). */
export function imdsStages(state: RunState): { pending: ImdsItem[]; verifying: VerifyItem[] } {
  const list = (state.actions?.[IMDS_KEY] ?? []) as ImdsPhaseItem[];
  return { pending: list.filter((i): i is ImdsItem => !isVerifying(i)), verifying: list.filter(isVerifying) };
}

/** The pending stage as the loop's queue: the items after the verifying ones. */
function pendingView(list: () => ImdsPhaseItem[]): MetadataQueue<ImdsItem> {
  return {
    get length() {
      const l = list();
      return l.length - verifyingCount(l);
    },
    splice(start, deleteCount) {
      const l = list();
      return l.splice(verifyingCount(l) + start, deleteCount) as ImdsItem[];
    },
    unshift(...items) {
      const l = list();
      l.splice(verifyingCount(l), 0, ...items);
      return l.length - verifyingCount(l);
    },
  };
}

/** The metadata-options rows of an item's further parameters (./state.ts `opts`), in the item's order. */
export function optRows(opts: readonly string[] | undefined): MetadataOptionRow[] {
  return (opts ?? []).flatMap((p) => METADATA_OPTIONS.filter((r) => r.parameter === p && r.action !== null));
}

/** Whether the current settings switch a row off (a row gated by a boolean setting that is now false). */
export function rowSwitchedOff(row: MetadataOptionRow, settings: Settings): boolean {
  return row.setting !== undefined && (settings as unknown as Record<string, unknown>)[row.setting] !== true;
}

/** The actions an IMDS item stands for (an item with several counts each). */
export function imdsActionsOf(i: { hop: number; endpoint: boolean; opts?: readonly string[] }): RemediationAction[] {
  const a: RemediationAction[] = [];
  if (i.hop > 0) a.push('raise-hop-limit');
  if (i.endpoint) a.push('enable-metadata-endpoint');
  for (const r of optRows(i.opts)) a.push(r.action as RemediationAction);
  return a;
}

/** A row's field of a fresh read (undefined: not reported, never taken as compliant). */
function fieldOf(cur: FreshImdsOptions | undefined, row: MetadataOptionRow): unknown {
  return (cur as Record<string, unknown> | undefined)?.[row.field];
}

/** The IMDS side of one invocation: `changes()` then `verify()`, each true once its stage is empty. */
export class ImdsPhase {
  /** The shared read → pace → verify loop (./metadata-loop.ts) over the two stages of `state.actions.imds`. */
  private readonly loop: MetadataChangeLoop<ImdsItem, FreshImdsOptions>;
  /** While the check streams: whether more changes may come, the worker's wake-up, and the worker. */
  private feed?: { open: boolean; wake?: () => void; worker: Promise<boolean> };
  /** Set by {@link halt}: no further change is started. */
  private halted = false;
  /** The pending stage, as the loop takes from it. */
  private readonly pending: MetadataQueue<ImdsItem>;

  constructor(private readonly ctx: RunContext) {
    const { state, clock, options: o } = ctx;
    const list = listOf(state);
    // Verifying first (every writer keeps it so; a list read from elsewhere is put in order once).
    if (list.some((i, k) => k > 0 && isVerifying(i) && !isVerifying(list[k - 1]!))) list.splice(0, list.length, ...list.filter(isVerifying), ...list.filter((i) => !isVerifying(i)));
    this.pending = pendingView(() => listOf(state));
    this.loop = new MetadataChangeLoop<ImdsItem, FreshImdsOptions>({
      clock,
      chunkSize: o.imdsChunkSize,
      pollMs: o.verifyPollMs,
      verifyMinAgeMs: o.verifyMinAgeMs,
      queue: () => this.pending,
      verifying: () => {
        const l = listOf(state);
        return l.slice(0, verifyingCount(l)) as VerifyItem[];
      },
      keepVerifying: (left) => {
        const l = listOf(state);
        l.splice(0, verifyingCount(l), ...(left as VerifyItem[]));
      },
      timeLeft: () => ctx.timeLeft(),
      modifyWaitMs: () => ctx.imds.modifyWaitMs(),
      describe: (ids) => ctx.describeOrWait(ids),
      act: (item, cur) => this.modifyOne(item, cur),
      judge: (v, cur, t) => this.judge(v as VerifyItem, cur, t),
      halted: () => this.halted,
      flush: () => ctx.trail.flush(),
      verifyWhileSending: true,
      verifyBeforeWaiting: true,
    });
  }

  /** One change made, judged on its fresh read: true when resolved (verified, or failed). */
  private judge(v: VerifyItem, cur: FreshImdsOptions | undefined, t: number): boolean {
    const { ctx } = this;
    const hopOk = v.hop === 0 || (cur?.hopLimit ?? 0) >= v.hop;
    const endpointOk = !v.endpoint || cur?.httpEndpoint === 'enabled';
    const rows = optRows(v.opts);
    const optsOk = rows.every((r) => satisfies(r, fieldOf(cur, r), ctx.settings.hopLimitTarget));
    const after = cur ? { hopLimit: cur.hopLimit, httpEndpoint: cur.httpEndpoint, ...Object.fromEntries(rows.map((r) => [r.field, fieldOf(cur, r)])), state: cur.state } : undefined;
    if (!cur) {
      for (const a of imdsActionsOf(v)) ctx.audit(v.id, a, 'failed', { reason: 'instance-gone' });
      return true;
    }
    if (cur.state === 'applied' && hopOk && endpointOk && optsOk) {
      for (const a of imdsActionsOf(v)) ctx.audit(v.id, a, 'verified', { after });
      return true;
    }
    if (t - v.at >= ctx.options.verifyTimeoutMs && v.seen >= 1) {
      // Past the bounded wait, and seen pending before this look too: a late first look never fails a change.
      for (const a of imdsActionsOf(v)) ctx.audit(v.id, a, 'failed', { reason: 'not-applied', after });
      return true;
    }
    v.seen++;
    return false;
  }

  /** One verification pass over the changes old enough to look at: one batched describe. */
  verifyPass(): Promise<void> {
    return this.loop.verifyPass();
  }

  /** Makes the pending changes; false when the deadline stops it (the rest stays queued). */
  changes(): Promise<boolean> {
    return this.loop.changes();
  }

  /** One change, decided on the fresh read: only ever raises, to the configured target, and skips what is already right. */
  async modifyOne(item: ImdsItem, cur: FreshImdsOptions | undefined): Promise<void> {
    const { ctx } = this;
    const { state, settings, clock, imds, log } = ctx;
    const rows = optRows(item.opts);
    const before = cur ? { hopLimit: cur.hopLimit, httpEndpoint: cur.httpEndpoint, ...Object.fromEntries(rows.map((r) => [r.field, fieldOf(cur, r)])) } : undefined;
    if (!cur) {
      for (const a of imdsActionsOf(item)) ctx.audit(item.id, a, 'skipped', { reason: 'instance-gone' });
      return;
    }
    // Tagged since the plan (or since the previous invocation): the owner's word wins.
    if (cur.optedOut) {
      for (const a of imdsActionsOf(item)) ctx.audit(item.id, a, 'skipped', { reason: 'opted-out', before });
      return;
    }
    const currentHop = cur.hopLimit ?? 1;
    const target = settings.hopLimitTarget;
    const hop = item.hop > 0 && currentHop < target ? target : undefined;
    if (item.hop > 0 && hop === undefined) ctx.audit(item.id, 'raise-hop-limit', 'skipped', { reason: 'already-compliant', before });
    const endpoint = item.endpoint && cur.httpEndpoint === 'disabled';
    if (item.endpoint && !endpoint) ctx.audit(item.id, 'enable-metadata-endpoint', 'skipped', { reason: 'already-compliant', before });
    // Further rows of the table: each sent only while the fresh read is not yet as the row wants.
    const sending = rows.filter((r) => !satisfies(r, fieldOf(cur, r), target));
    for (const r of rows) if (!sending.includes(r)) ctx.audit(item.id, r.action as RemediationAction, 'skipped', { reason: 'already-compliant', before });
    if (hop === undefined && !endpoint && sending.length === 0) return;
    const opts = sending.length > 0 ? { opts: sending.map((r) => r.parameter) } : {};
    const doing = { hop: hop ?? 0, endpoint, ...opts };
    const options = sending.length > 0 ? { options: Object.fromEntries(sending.map((r) => [r.parameter, desiredValue(r, target)])) } : {};
    const res = await imds.modify({ instanceId: item.id, ...(hop !== undefined ? { hopLimit: hop } : {}), ...(endpoint ? { enableEndpoint: true } : {}), ...options });
    if (res.outcome === 'throttled') {
      // Not lost: back of the queue, tried again in this invocation or the next.
      listOf(state).push({ id: item.id, hop: doing.hop, from: item.from, endpoint: doing.endpoint, ...opts });
      log?.warn('remediation-throttled', { runId: state.runId, instanceId: item.id, attempts: res.attempts });
      return;
    }
    const actions = imdsActionsOf(doing);
    state.counts.attempted += actions.length;
    if (res.outcome === 'requested') {
      const after = { ...(hop !== undefined ? { hopLimit: hop } : {}), ...(endpoint ? { httpEndpoint: 'enabled' } : {}), ...Object.fromEntries(sending.map((r) => [r.field, desiredValue(r, target)])) };
      for (const a of actions) ctx.audit(item.id, a, 'applied', { before, after });
      const l = listOf(state);
      l.splice(verifyingCount(l), 0, { id: item.id, hop: doing.hop, endpoint: doing.endpoint, at: clock.now(), seen: 0, ...opts });
    } else if (res.outcome === 'gone') {
      state.counts.attempted -= actions.length;
      for (const a of actions) ctx.audit(item.id, a, 'skipped', { reason: 'instance-gone', before, error: res.error });
    } else {
      for (const a of actions) ctx.audit(item.id, a, 'failed', { reason: 'modify-failed', before, error: res.error });
    }
  }

  /** Waits (polling) until every change made is verified or failed; false when the deadline stops it. */
  verify(): Promise<boolean> {
    return this.loop.verify();
  }

  /**
   * Starts making the changes as they are queued (pending, on `state.actions.imds`) while the check still runs (each
   * one still decided on its own fresh read), until {@link closeStream}. Call {@link queued} after
   * queueing.
   */
  openStream(): void {
    if (this.feed) return;
    const feed: { open: boolean; wake?: () => void; worker: Promise<boolean> } = { open: true, worker: Promise.resolve(true) };
    this.feed = feed;
    feed.worker = (async () => {
      for (;;) {
        if (!(await this.changes())) return false; // the deadline: what is queued stays for the continuation
        if (!feed.open) return true;
        // Queued while `changes()` was returning: no wake-up was waiting for it.
        if (this.pending.length > 0) continue;
        await new Promise<void>((resolve) => (feed.wake = resolve));
        feed.wake = undefined;
      }
    })();
  }

  /** More changes were queued. */
  queued(): void {
    this.feed?.wake?.();
  }

  /** No more changes will be queued by the stream (the rest of the plan is queued already). */
  closeStream(): void {
    if (!this.feed) return;
    this.feed.open = false;
    this.feed.wake?.();
  }

  /**
   * After a failed check: makes no further change (the one under way finishes; the rest of its chunk
   * goes back to the pending stage) and stops the streaming worker.
   */
  async halt(): Promise<void> {
    this.halted = true;
    if (!this.feed) return;
    this.closeStream();
    await this.feed.worker;
    this.feed = undefined;
  }

  /** Drives the IMDS side from wherever `state.phase` says it is; true once it is done (`state.phase` past it). */
  async run(): Promise<boolean> {
    const { state } = this.ctx;
    if (this.feed) {
      // The streaming worker goes on with whatever the plan queued; it ends when the list is empty.
      this.closeStream();
      const done = await this.feed.worker;
      this.feed = undefined;
      if (!done) return false;
    }
    if (state.phase === 'imds') {
      if (!(await this.changes())) return false;
      state.phase = 'imds-verify';
    }
    if (state.phase === 'imds-verify') {
      if (!(await this.verify())) return false;
      state.phase = 'guest';
    }
    return true;
  }
}

/** Each invocation's IMDS side (made with its context: the check's stream and the phase's run share it). */
const sides = new WeakMap<RunContext, ImdsPhase>();

/** The IMDS side of an invocation's context. */
export function imdsSideOf(ctx: RunContext): ImdsPhase {
  let side = sides.get(ctx);
  if (!side) sides.set(ctx, (side = new ImdsPhase(ctx)));
  return side;
}

/** `planned` records of the metadata rows an instance was selected for, in table order. */
function plannedRows(p: Parameters<ActionPhase['planned']>[0]): PlannedAudit[] {
  const out: PlannedAudit[] = [];
  if (p.hopLimit) out.push({ action: 'raise-hop-limit', before: { hopLimit: p.hopLimit.from }, after: { hopLimit: p.hopLimit.to } });
  if (p.enableEndpoint) out.push({ action: 'enable-metadata-endpoint', before: { httpEndpoint: 'disabled' }, after: { httpEndpoint: 'enabled' } });
  for (const r of optRows(Object.keys(p.metadata ?? {}))) {
    const m = p.metadata![r.parameter]!;
    out.push({ action: r.action as RemediationAction, before: { [r.field]: m.from }, after: { [r.field]: m.to } });
  }
  return out;
}

/** A field the continuation carries as an integer (a clock reading with a fraction is cut to the ms). */
function intField(n: number): string {
  return String(Number.isFinite(n) ? Math.floor(n) : -1);
}

/** An integer field of an item, or a ContinuationError: nothing of a number is ever read as another field. */
function intOf(v: string | undefined, what: string, id: string): number {
  if (v === undefined || !/^-?\d{1,16}$/.test(v)) throw new ContinuationError(`continuation: imds item ${id}: ${what} is not an integer`);
  return Number(v);
}

function flagOf(v: string | undefined, what: string, id: string): boolean {
  if (v !== '0' && v !== '1') throw new ContinuationError(`continuation: imds item ${id}: ${what} is not 0 or 1`);
  return v === '1';
}

/** Further metadata rows of an item: each field a parameter the table acts on, or the continuation is refused. */
function optsOf(fields: readonly string[], id: string): { opts?: string[] } {
  if (fields.length === 0) return {};
  for (const p of fields) {
    if (!METADATA_OPTIONS.some((r) => r.parameter === p && r.action !== null)) throw new ContinuationError(`continuation: imds item ${id}: unknown metadata option ${JSON.stringify(p)}`);
  }
  return { opts: [...fields] };
}

/**
 * The further rows of an item of the previous format (lists `q` and `w`): the fields that start with
 * a letter; numeric leftovers were never read (./metadata-loop.ts's users never wrote any after the
 * fixed fields but a split clock reading, which `legacyVerifying` puts back together).
 */
function legacyOpts(fields: readonly string[], id: string): { opts?: string[] } {
  return optsOf(
    fields.filter((f) => /^[A-Za-z]/.test(f)),
    id,
  );
}

/** A pending change of the previous format's `q` list: hop (1/0), from, endpoint, further rows. */
function legacyPending(id: string, [hop, from, e, ...more]: readonly string[]): ImdsItem {
  return { id, hop: int(hop, 'hop') > 0 ? 1 : 0, from: int(from, 'from'), endpoint: e === '1', ...legacyOpts(more, id) };
}

/**
 * A change being verified, of the previous format's `w` list: hop, endpoint, at, seen, further rows.
 * That format wrote a change time with a fraction as it was, so `at` = 1733600000123.5 split into two
 * numeric fields and shifted `seen`: five numeric fields are read back as that time and its `seen`.
 */
function legacyVerifying(id: string, fields: readonly string[]): VerifyItem {
  const [hop, e, at, ...rest] = fields;
  const split = rest.length >= 2 && /^\d+$/.test(rest[0]!) && /^\d+$/.test(rest[1]!);
  const time = split ? int(`${at}.${rest[0]}`, 'at') : int(at, 'at');
  const [seen, ...more] = split ? rest.slice(1) : rest;
  return { id, hop: int(hop, 'hop'), endpoint: e === '1', at: time, seen: int(seen, 'seen'), ...legacyOpts(more, id) };
}

/** The metadata-options rows as an action phase (see the file comment). */
export const IMDS_PHASE: ActionPhase<ImdsPhaseItem> = {
  key: IMDS_KEY,
  actionsOf: (i) => imdsActionsOf(i),
  planned: plannedRows,
  queue(p) {
    const opts = optRows(Object.keys(p.metadata ?? {})).map((r) => r.parameter);
    if (p.hopLimit === undefined && !p.enableEndpoint && opts.length === 0) return undefined;
    return { id: p.instanceId, hop: p.hopLimit?.to ?? 0, from: p.hopLimit?.from ?? -1, endpoint: p.enableEndpoint, ...(opts.length > 0 ? { opts } : {}) };
  },
  // One loop over the table's rows the nightly grant sends (the table is read on every call).
  wants: metadataOptionsWants(),
  select: () => [],
  // Each row has its own switch (the table's `setting`): `narrow` applies them.
  enabled: () => true,
  acted: isVerifying,
  narrow(items, settings, skip) {
    const pending = items.filter((i): i is ImdsItem => !isVerifying(i));
    if (!settings.enableMetadataEndpoint) {
      for (const i of pending) {
        if (!i.endpoint) continue;
        i.endpoint = false;
        skip(i.id, 'enable-metadata-endpoint');
      }
    }
    // Further metadata rows gated by a setting that is now off (the table's `setting`).
    for (const i of pending) {
      const off = optRows(i.opts).filter((r) => rowSwitchedOff(r, settings));
      if (off.length === 0) continue;
      for (const r of off) skip(i.id, r.action as RemediationAction);
      const keep = (i.opts ?? []).filter((p) => !off.some((r) => r.parameter === p));
      if (keep.length > 0) i.opts = keep;
      else delete i.opts;
    }
    const keep = items.filter((i) => isVerifying(i) || i.hop > 0 || i.endpoint || (i.opts ?? []).length > 0);
    items.splice(0, items.length, ...keep);
  },
  always: true,
  // Settings are never carried: no hop target for a pending change (1 = "raise to the configured one").
  encode: (i) =>
    isVerifying(i)
      ? ['v', intField(i.hop), i.endpoint ? '1' : '0', intField(i.at), intField(i.seen), ...(i.opts ?? [])]
      : ['p', i.hop > 0 ? '1' : '0', intField(i.from), i.endpoint ? '1' : '0', ...(i.opts ?? [])],
  decode(id, [stage, ...f]) {
    if (stage === 'p') {
      const [hop, from, e, ...more] = f;
      return { id, hop: intOf(hop, 'hop', id) > 0 ? 1 : 0, from: intOf(from, 'from', id), endpoint: flagOf(e, 'endpoint', id), ...optsOf(more, id) };
    }
    if (stage === 'v') {
      const [hop, e, at, seen, ...more] = f;
      return { id, hop: intOf(hop, 'hop', id), endpoint: flagOf(e, 'endpoint', id), at: intOf(at, 'at', id), seen: intOf(seen, 'seen', id), ...optsOf(more, id) };
    }
    throw new ContinuationError(`continuation: imds item ${id}: unknown stage ${JSON.stringify(stage)}`);
  },
  // Before the IMDS side was a phase: `w` (made, verifying: first) and `q` (to make).
  legacy: [
    { field: 'w', decode: legacyVerifying },
    { field: 'q', decode: legacyPending },
  ],
  run: (ctx) => imdsSideOf(ctx).run(),
};
