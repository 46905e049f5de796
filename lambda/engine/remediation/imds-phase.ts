/**
 * The IMDS side of a run: changes (hop limit up to the configured target, endpoint on), paced to
 * EC2's ModifyInstanceMetadataOptions bucket, each decided on a fresh read at the point of action;
 * then verification until each change is `applied` (or the bounded wait runs out). A chunk of
 * instances gets one fresh DescribeInstances before and one verification pass after.
 */
import { desiredValue, METADATA_OPTIONS, type MetadataOptionRow, satisfies } from '../../contracts/metadata-options';
import type { RemediationAction } from '../../core/remediation/plan';
import type { Settings } from '../../core/settings';
import type { FreshImdsOptions } from '../ports';
import type { RunContext } from './context';
import { MetadataChangeLoop } from './metadata-loop';
import type { ImdsItem, VerifyItem } from './state';

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

/** The IMDS side of one invocation: `changes()` then `verify()`, each true once its list is empty. */
export class ImdsPhase {
  /** The shared read → pace → verify loop (./metadata-loop.ts) over `state.imds` and `state.verifying`. */
  private readonly loop: MetadataChangeLoop<ImdsItem, FreshImdsOptions>;
  /** While the check streams: whether more changes may come, the worker's wake-up, and the worker. */
  private feed?: { open: boolean; wake?: () => void; worker: Promise<boolean> };
  /** Set by {@link halt}: no further change is started. */
  private halted = false;

  constructor(private readonly ctx: RunContext) {
    const { state, clock, options: o } = ctx;
    this.loop = new MetadataChangeLoop<ImdsItem, FreshImdsOptions>({
      clock,
      chunkSize: o.imdsChunkSize,
      pollMs: o.verifyPollMs,
      verifyMinAgeMs: o.verifyMinAgeMs,
      queue: () => state.imds,
      verifying: () => state.verifying,
      keepVerifying: (left) => void (state.verifying = left as VerifyItem[]),
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
      state.imds.push({ id: item.id, hop: doing.hop, from: item.from, endpoint: doing.endpoint, ...opts });
      log?.warn('remediation-throttled', { runId: state.runId, instanceId: item.id, attempts: res.attempts });
      return;
    }
    const actions = imdsActionsOf(doing);
    state.counts.attempted += actions.length;
    if (res.outcome === 'requested') {
      const after = { ...(hop !== undefined ? { hopLimit: hop } : {}), ...(endpoint ? { httpEndpoint: 'enabled' } : {}), ...Object.fromEntries(sending.map((r) => [r.field, desiredValue(r, target)])) };
      for (const a of actions) ctx.audit(item.id, a, 'applied', { before, after });
      state.verifying.push({ id: item.id, hop: doing.hop, endpoint: doing.endpoint, at: clock.now(), seen: 0, ...opts });
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
   * Starts making the changes as they are queued on `state.imds` while the check still runs (each
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
        if (this.ctx.state.imds.length > 0) continue;
        await new Promise<void>((resolve) => (feed.wake = resolve));
        feed.wake = undefined;
      }
    })();
  }

  /** More changes were queued on `state.imds`. */
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
   * goes back on `state.imds`) and stops the streaming worker.
   */
  async halt(): Promise<void> {
    this.halted = true;
    if (!this.feed) return;
    this.closeStream();
    await this.feed.worker;
    this.feed = undefined;
  }

  /** Drives the IMDS side from wherever `state.phase` says it is. */
  async run(): Promise<void> {
    const { state } = this.ctx;
    if (this.feed) {
      // The streaming worker goes on with whatever the plan queued; it ends when the list is empty.
      this.closeStream();
      const done = await this.feed.worker;
      this.feed = undefined;
      if (!done) return;
    }
    if (state.phase === 'imds') {
      if (!(await this.changes())) return;
      state.phase = 'imds-verify';
    }
    if (state.phase === 'imds-verify') {
      if (await this.verify()) state.phase = 'guest';
    }
  }
}
