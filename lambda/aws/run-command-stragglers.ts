/**
 * The straggler cutoff's bookkeeping inside one Run Command session (the rule itself is pure, in
 * lambda/core/fleet/straggler.ts): run times and start delays read back from finished invocations,
 * each running command's progress from the polls, and when each command is next worth a look.
 * Only read-only documents (the collector) ask for it.
 */
import type { CommandInvocation } from '@aws-sdk/client-ssm';
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
  private readonly runTimes: number[] = [];
  /** Longest wait seen from a send to its guest starting (delivery ramp, agent pick-up). */
  private startDelayMs = 0;
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
    if (starts.length > 0 && ends.length > 0) this.runTimes.push(Math.max(...ends) - Math.min(...starts));
    const requested = inv.RequestedDateTime?.getTime();
    if (starts.length > 0 && requested !== undefined) this.startDelayMs = Math.max(this.startDelayMs, Math.min(...starts) - requested);
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
   * (at most one cutoff more), so looking then usually settles the command in one listing.
   */
  dueAt(commandId: string, cutoffMs: number): number | undefined {
    const again = this.relistAt.get(commandId);
    if (again !== undefined) return again;
    const sent = this.progress.get(commandId)?.requestedAt;
    return sent === undefined ? undefined : sent + Math.min(this.startDelayMs, cutoffMs) + cutoffMs;
  }

  /** The earliest moment a pending command is due, or +∞ when none can be cut yet. */
  nextCheckAt(pending: ReadonlySet<string>): number {
    const cutoffMs = this.cutoffMs(pending);
    if (cutoffMs === undefined) return Number.POSITIVE_INFINITY;
    let next = Number.POSITIVE_INFINITY;
    for (const id of pending) next = Math.min(next, this.dueAt(id, cutoffMs) ?? Number.POSITIVE_INFINITY);
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
