/**
 * The straggler cutoff's bookkeeping inside one Run Command session (the rule itself is pure, in
 * lambda/core/fleet/straggler.ts): run times and start delays read back from finished invocations,
 * each running command's progress from the polls, and when each command is next worth a look.
 * Only read-only documents (the collector) ask for it.
 */
import type { CommandInvocation } from '@aws-sdk/client-ssm';
import { rampDelayMs } from '../core/fleet/command-sizes';
import { stragglerCutoffMs, type StragglerCutoffOptions } from '../core/fleet/straggler';
import type { InvocationResult } from '../engine/ports';

/** What a poll learnt about a command still running (the straggler cutoff reads it). */
export interface CommandProgress {
  readonly completed: number;
  readonly requestedAt?: number;
}

export function commandProgress(c: { CompletedCount?: number; RequestedDateTime?: Date }): CommandProgress {
  return { completed: c.CompletedCount ?? 0, ...(c.RequestedDateTime ? { requestedAt: c.RequestedDateTime.getTime() } : {}) };
}

/**
 * The straggler cutoff's view of one run: the guests' run times as they are read back, each running
 * command's progress from the polls, and when each command is next due for a look.
 */
export class StragglerWatch {
  readonly progress = new Map<string, CommandProgress>();
  /** Commands with guests still within the cutoff at their last look: when the first would pass it. */
  readonly relistAt = new Map<string, number>();
  /**
   * Commands with guests still running at their last look: each such guest and when it started
   * (what a sweep, {@link sweepAt}, checks without listing the whole command again; the first start
   * times the command's cutoff look).
   */
  readonly runningGuests = new Map<string, ReadonlyMap<string, number>>();
  /** Commands already listed once at their expected completion (see {@link lookAt}). */
  readonly looked = new Set<string>();
  /** Looked-at commands with guests that may still end healthy: when the last of those should have. */
  readonly relookAt = new Map<string, number>();
  private readonly runTimes: number[] = [];
  private longestRunMs = 0;
  /** Longest wait seen from a send to its guest starting (delivery ramp, agent pick-up). */
  private startDelayMs = 0;
  /**
   * Longest wait seen beyond what SSM's delivery ramp explains for the size of its command (send
   * latency, agent pick-up): with it, a small command is looked at when its own last wave can be
   * past the cutoff, not when a 50-target command's would be (the run's last commands are small,
   * RunCommandSession.sizeTail).
   */
  private beyondRampMs = 0;
  private wakers: (() => void)[] = [];

  constructor(
    private readonly options: StragglerCutoffOptions,
    /** The run's commands: id → targets. */
    readonly commands: ReadonlyMap<string, readonly string[]>,
  ) {}

  /** Records a finished guest's run time (plugin start to finish, as SSM reports it). */
  observe(inv: CommandInvocation): void {
    if (inv.Status !== 'Success' && inv.Status !== 'Failed') return;
    const plugins = inv.CommandPlugins ?? [];
    const starts = plugins.map((p) => p.ResponseStartDateTime?.getTime()).filter((t): t is number => t !== undefined);
    const ends = plugins.map((p) => p.ResponseFinishDateTime?.getTime()).filter((t): t is number => t !== undefined);
    if (starts.length > 0 && ends.length > 0) {
      const ran = Math.max(...ends) - Math.min(...starts);
      this.runTimes.push(ran);
      this.longestRunMs = Math.max(this.longestRunMs, ran);
    }
    const requested = inv.RequestedDateTime?.getTime();
    if (starts.length > 0 && requested !== undefined) {
      const delay = Math.min(...starts) - requested;
      this.startDelayMs = Math.max(this.startDelayMs, delay);
      const size = inv.CommandId ? this.commands.get(inv.CommandId)?.length : undefined;
      if (size !== undefined) this.beyondRampMs = Math.max(this.beyondRampMs, delay - rampDelayMs(size));
    }
  }

  /** A command was accepted at `requestedAt` (SSM's RequestedDateTime): its looks are timed from it. */
  sent(commandId: string, requestedAt: number): void {
    if (!this.progress.has(commandId)) this.progress.set(commandId, { completed: 0, requestedAt });
  }

  /** Resolves at the next {@link wake}: run times were added. */
  changed(): Promise<void> {
    return new Promise((resolve) => this.wakers.push(resolve));
  }

  wake(): void {
    const w = this.wakers;
    this.wakers = [];
    w.forEach((resolve) => resolve());
  }

  /** The cutoff now, or undefined while no guest may be cut (see stragglerCutoffMs). */
  cutoffMs(pending: ReadonlySet<string>): number | undefined {
    let targets = 0;
    let finished = 0;
    for (const [id, ids] of this.commands) {
      targets += ids.length;
      finished += pending.has(id) ? Math.min(ids.length, this.progress.get(id)?.completed ?? 0) : ids.length;
    }
    return stragglerCutoffMs(this.runTimes, finished, targets, this.options);
  }

  /**
   * When a pending command is next worth a look. No guest of it can pass the cutoff before its send
   * + the cutoff; guests of this run started up to the longest start delay seen after their send
   * (at most one cutoff more), and a command's last guest no later than its ramp allows plus the
   * longest delay seen beyond the ramp, so looking then usually settles the command in one listing
   * (a guest found still within the cutoff is looked at again when it passes it).
   */
  dueAt(commandId: string, cutoffMs: number): number | undefined {
    const again = this.relistAt.get(commandId);
    if (again !== undefined) return again;
    const running = this.runningGuests.get(commandId);
    if (running && running.size > 0) return Math.min(...running.values()) + cutoffMs;
    const sent = this.progress.get(commandId)?.requestedAt;
    if (sent === undefined) return undefined;
    return sent + Math.min(this.lastStartDelayMs(commandId), cutoffMs) + cutoffMs;
  }

  /** How long after its send a command's last guest starts: the longest delay seen, or its ramp's if shorter. */
  private lastStartDelayMs(commandId: string): number {
    const size = this.commands.get(commandId)?.length;
    return size === undefined ? this.startDelayMs : Math.min(this.startDelayMs, rampDelayMs(size) + this.beyondRampMs);
  }

  /**
   * When a command is expected to have finished, for one look at it then (instead of waiting for a
   * poll to find it terminal): its send + its last guest's start delay + the longest run time seen.
   * Undefined before any guest of the run finished (nothing to expect from), and once looked at.
   * A look that finds guests still running records when they started ({@link runningSince}): the
   * cutoff's look is then timed from that, not from the send.
   */
  lookAt(commandId: string): number | undefined {
    const again = this.relookAt.get(commandId);
    if (again !== undefined) return again;
    if (this.looked.has(commandId) || this.runTimes.length === 0) return undefined;
    const sent = this.progress.get(commandId)?.requestedAt;
    return sent === undefined ? undefined : sent + this.lastStartDelayMs(commandId) + this.longestRunMs;
  }

  /** Whether a pending command is due for a look now: its expected completion, or its cutoff (or the sweep's time, while one is deferred). */
  lookDue(commandId: string, cutoffMs: number | undefined, now: number, sweepAt?: number): boolean {
    if ((this.lookAt(commandId) ?? Number.POSITIVE_INFINITY) <= now) return true;
    if (sweepAt !== undefined) return sweepAt <= now;
    return cutoffMs !== undefined && (this.dueAt(commandId, cutoffMs) ?? Number.POSITIVE_INFINITY) <= now;
  }

  /**
   * The end of a run: when every pending command has been looked at and holds only guests that ran
   * past their healthy time (none is expected to end healthy), the cutoff looks of all of them are
   * deferred to the last one, where one sweep of the guests still in progress settles them together
   * (RunCommandSession.cutStragglers). The run waits for that last look anyway, so deferring costs
   * it at most the listing of a command whose straggler ended meanwhile, and saves a listing per command. Undefined while any command may still end
   * healthy, has not been looked at, or the cutoff is not known.
   */
  sweepAt(pending: ReadonlySet<string>, cutoffMs: number | undefined): number | undefined {
    if (cutoffMs === undefined || pending.size < 2) return undefined;
    let last = Number.NEGATIVE_INFINITY;
    for (const id of pending) {
      if (!this.runningGuests.has(id) || this.lookAt(id) !== undefined) return undefined;
      const due = this.dueAt(id, cutoffMs);
      if (due === undefined) return undefined;
      last = Math.max(last, due);
    }
    return last;
  }

  /**
   * After a look at `lookedAt` found guests still running (each with its start): if one of them has
   * run less than the longest run time seen, it may still end healthy, and the command is looked at
   * again when it should have; guests that have all run longer wait for the cutoff's look.
   */
  afterLook(commandId: string, lookedAt: number, running: ReadonlyMap<string, number>): void {
    this.relookAt.delete(commandId);
    if (running.size === 0 || this.runTimes.length === 0) return;
    const healthyEnd = Math.max(...running.values()) + this.longestRunMs;
    if (healthyEnd > lookedAt) this.relookAt.set(commandId, healthyEnd);
  }

  /** Whether one of `running` (guest → start) has run longer than any guest of the run that finished: a likely straggler. */
  pastHealthy(running: ReadonlyMap<string, number>, now: number): boolean {
    if (this.runTimes.length === 0) return false;
    for (const since of running.values()) if (now - since > this.longestRunMs) return true;
    return false;
  }

  /** Whether a guest of the run has finished (the completion looks are timed from run times). */
  hasRunTimes(): boolean {
    return this.runTimes.length > 0;
  }

  /**
   * Whether every pending command has a look ahead, so a poll would learn nothing the looks will
   * not: its completion look, or its cutoff look. A command already looked at with guests still
   * running counts as covered while other commands' looks are ahead: they update the progress the
   * cutoff waits for; once none is, polls learn when its guests end.
   */
  coversAll(pending: ReadonlySet<string>): boolean {
    const cutoffMs = this.cutoffMs(pending);
    const looksAhead = [...pending].some((id) => this.lookAt(id) !== undefined);
    for (const id of pending) {
      if (this.lookAt(id) !== undefined) continue;
      if (cutoffMs !== undefined && this.dueAt(id, cutoffMs) !== undefined) continue;
      if (looksAhead && this.runningGuests.has(id)) continue;
      return false;
    }
    return true;
  }

  /** The earliest moment a pending command is due for a look (completion or cutoff), or +∞. */
  nextCheckAt(pending: ReadonlySet<string>): number {
    const cutoffMs = this.cutoffMs(pending);
    const sweep = this.sweepAt(pending, cutoffMs);
    if (sweep !== undefined) return sweep;
    let next = Number.POSITIVE_INFINITY;
    for (const id of pending) {
      next = Math.min(next, this.lookAt(id) ?? Number.POSITIVE_INFINITY);
      if (cutoffMs !== undefined) next = Math.min(next, this.dueAt(id, cutoffMs) ?? Number.POSITIVE_INFINITY);
    }
    return next;
  }
}

/** The targets of a command that have no result yet (a straggler look may have recorded some). */
export function unfinishedTargets(targets: readonly string[], results: ReadonlyMap<string, InvocationResult>): string[] {
  return targets.filter((id) => !results.has(id));
}

export function isTerminalInvocation(status: string | undefined): boolean {
  return status !== undefined && status !== 'Pending' && status !== 'InProgress' && status !== 'Delayed';
}

/** When the guest started working on the invocation (its first plugin's start), if it has. */
export function invocationStart(inv: CommandInvocation): number | undefined {
  const starts = (inv.CommandPlugins ?? []).map((p) => p.ResponseStartDateTime?.getTime()).filter((t): t is number => t !== undefined);
  return starts.length > 0 ? Math.min(...starts) : undefined;
}

export function stragglerResult(instanceId: string, status: string | undefined, commandId: string, ranMs: number, cutoffMs: number): InvocationResult {
  const s = (ms: number): string => (Math.round(ms / 100) / 10).toString();
  return {
    instanceId,
    state: 'pending',
    commandId,
    ...(status ? { status } : {}),
    detail: `${status ?? 'not listed'} after ${s(ranMs)} s: past the straggler cutoff (${s(cutoffMs)} s) when the rest of the run had finished; left running, its result is read by the next run`,
  };
}
