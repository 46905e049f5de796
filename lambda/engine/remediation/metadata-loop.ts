/**
 * The one read → pace → verify loop of ModifyInstanceMetadataOptions. Every metadata change the
 * remediation makes goes through it: the nightly rows of the metadata-options table (./imds-phase.ts:
 * hop limit, endpoint and any further row) and IMDSv2 enforcement (../imdsv2.ts:
 * `runImdsv2Enforcement`). The loop owns what they share — chunks with one fresh DescribeInstances
 * before and one verification pass after, the stop before a token wait (or a call) would cross the
 * deadline with the rest left queued, sustained Describe throttling waited out, verification polled
 * until each change is applied — and each user owns its decision on the fresh read (`act`) and its
 * judgement of a change it made (`judge`), with their audit records.
 */
import type { Clock } from '../ports';

/** A change made and not yet resolved. */
export interface MetadataVerifyItem {
  readonly id: string;
  /** Clock ms of the Modify call. */
  readonly at: number;
}

/**
 * The work still to do, as the loop uses it: taken from the front, put back at the front on a stop.
 * An array is one; the IMDS phase's is a view of its pending stage (./imds-phase.ts).
 */
export interface MetadataQueue<Item> {
  readonly length: number;
  splice(start: number, deleteCount: number): Item[];
  unshift(...items: Item[]): number;
}

/** What one user of the loop supplies. */
export interface MetadataLoop<Item extends { id: string }, Fresh, Prepared = undefined> {
  readonly clock: Clock;
  /** Items per chunk (one describe before, one verification pass after). */
  readonly chunkSize: number;
  /** Wait between verification polls, and after a throttled Describe. */
  readonly pollMs: number;
  /** A change is first looked at this long after it was requested. */
  readonly verifyMinAgeMs: number;
  /** The work still to do (the list is mutated: taken from the front, put back on a stop). */
  queue(): MetadataQueue<Item>;
  /** The changes made and not yet resolved. */
  verifying(): readonly MetadataVerifyItem[];
  /** Replaces the verification list with what is still unresolved. */
  keepVerifying(items: readonly MetadataVerifyItem[]): void;
  /** Milliseconds left before the deadline. */
  timeLeft(): number;
  /** Milliseconds the next Modify would wait for a token. */
  modifyWaitMs(): number;
  /** Fresh options (opt-out included); undefined when EC2 kept throttling (look again later). */
  describe(ids: readonly string[]): Promise<ReadonlyMap<string, Fresh> | undefined>;
  /**
   * A second fresh read for the whole chunk, after the describe (IMDSv2: the instances'
   * MetadataNoToken). Returns undefined when the chunk is done with (it audited why).
   */
  prepare?(chunk: readonly Item[]): Promise<{ readonly value: Prepared } | undefined>;
  /** Decides one item on its fresh read and makes (or skips) the change; a throttled one goes back on `queue`. */
  act(item: Item, fresh: Fresh | undefined, prepared: Prepared): Promise<void>;
  /** Judges a due change on its fresh read (undefined: gone): true when it is resolved (audited). */
  judge(v: MetadataVerifyItem, fresh: Fresh | undefined, now: number): boolean;
  /** Whether no further change may start (a failed check halts the streaming IMDS side). */
  halted?(): boolean;
  /** Sends the audit records buffered so far. */
  flush?(): Promise<void>;
  /** Also run a verification pass between changes once `pollMs` has passed since the last one (throttling can stretch a chunk). */
  readonly verifyWhileSending?: boolean;
  /** Also run one verification pass before the first wait (a resumed run's changes may be due at once). */
  readonly verifyBeforeWaiting?: boolean;
}

/** The loop's own state across calls within one invocation (when the last pass ran). */
export class MetadataChangeLoop<Item extends { id: string }, Fresh, Prepared = undefined> {
  private lastVerifyAt: number;

  constructor(private readonly loop: MetadataLoop<Item, Fresh, Prepared>) {
    this.lastVerifyAt = loop.clock.now();
  }

  /** One verification pass over the changes old enough to look at: one batched describe. */
  async verifyPass(): Promise<void> {
    const l = this.loop;
    const now = l.clock.now();
    this.lastVerifyAt = now;
    const due = l.verifying().filter((v) => now - v.at >= l.verifyMinAgeMs);
    if (due.length === 0) return;
    const fresh = await l.describe(due.map((v) => v.id));
    if (!fresh) return; // throttled past the retries: look again at the next pass
    const t = l.clock.now();
    const resolved = new Set<MetadataVerifyItem>(due.filter((v) => l.judge(v, fresh.get(v.id), t)));
    l.keepVerifying(l.verifying().filter((v) => !resolved.has(v)));
  }

  /** Makes the queued changes; false when the deadline (or a halt) stops it, the rest still queued. */
  async changes(): Promise<boolean> {
    const l = this.loop;
    const halted = (): boolean => l.halted?.() ?? false;
    while (l.queue().length > 0) {
      if (halted()) return false;
      // A chunk needs at least one describe and one modify; do not start one we cannot finish.
      if (l.timeLeft() < 2_000 + l.modifyWaitMs()) return false;
      const chunk = l.queue().splice(0, l.chunkSize);
      const fresh = await l.describe(chunk.map((i) => i.id));
      if (!fresh) {
        // Sustained Describe throttling: nothing is lost, the chunk waits for the next round.
        l.queue().unshift(...chunk);
        if (l.timeLeft() < l.pollMs + 2_000) return false;
        await l.clock.sleep(l.pollMs);
        continue;
      }
      let prepared = undefined as Prepared;
      if (l.prepare) {
        const p = await l.prepare(chunk);
        if (!p) continue;
        prepared = p.value;
      }
      for (let k = 0; k < chunk.length; k++) {
        const item = chunk[k]!;
        // Paced: stop before a token wait (or the call) would cross the deadline; the rest waits for the next invocation.
        if (halted() || l.timeLeft() < l.modifyWaitMs() + 1_000) {
          l.queue().unshift(...chunk.slice(k));
          await l.flush?.();
          return false;
        }
        await l.act(item, fresh.get(item.id), prepared);
        if (l.verifyWhileSending && l.verifying().length > 0 && l.clock.now() - this.lastVerifyAt >= l.pollMs) await this.verifyPass();
      }
      await this.verifyPass();
      await l.flush?.();
    }
    return true;
  }

  /** Polls until every change made is resolved; false when the deadline stops it. */
  async verify(): Promise<boolean> {
    const l = this.loop;
    if (l.verifyBeforeWaiting) await this.verifyPass();
    while (l.verifying().length > 0) {
      if (l.timeLeft() < l.pollMs + 2_000) return false;
      await l.clock.sleep(l.pollMs);
      await this.verifyPass();
      await l.flush?.();
    }
    await l.flush?.();
    return true;
  }
}
