/**
 * Running an SSM document on many instances and reading back every instance's output, cheaply:
 * ≤ 50 ids per SendCommand, ListCommands polling on the injected clock (one call covers up to 50
 * commands), ListCommandInvocations `Details: true` pages once per command when it is terminal, and
 * GetCommandInvocation only for an output that was cut. The engines use one path, a
 * {@link RunSession} (./run-command-session.ts); what SSM's answers mean is mapped in
 * ./run-command-invocation.ts (pure). This file holds the adapter's options and the shared SSM limiter.
 */
import type { CommandInvocation, SSMClient } from '@aws-sdk/client-ssm';
import type { AdaptiveRateOptions, TokenBucketOptions } from '../core/util/token-bucket';
import type { Clock, InvocationResult, PreviousResultsRequest, PreviousWindow, RunCommandPort, RunDocumentRequest, RunDocumentResult, RunSession, RunSessionRequest } from '../engine/ports';
import { PriorityRateLimiter, type RetryOptions } from './retry';
import { listPreviousCommands, listTimedOut, type PreviousCommand, type PreviousResultsOptions, readPreviousResults } from './run-command-previous';
import { RunCommandSession } from './run-command-session';

export type {
  InvocationResult,
  InvocationState,
  RunCommandPort,
  RunCommandStats,
  RunDocumentRequest,
  RunDocumentResult,
  RunSession,
  RunSessionRequest,
} from '../engine/ports';
export {
  DETAILS_OUTPUT_LIMIT,
  deniedResourceFromMessage,
  instanceIdFromArn,
  invalidIdsFromMessage,
  invocationState,
  isCut,
  MAX_IDS_PER_SEND,
  splitOutput,
  STDERR_SEPARATOR,
} from './run-command-invocation';

/** Tuning of {@link SsmRunCommand}. */
export interface SsmRunCommandOptions {
  readonly ssm: SSMClient;
  readonly clock: Clock;
  readonly retry?: RetryOptions;
  /**
   * First wait before polling, from the first send. Delivery ramps up (1, 3, 7, 15, 31… instances a
   * second: the 50th target of a command starts ≈ 5 s after the send) and the script then needs its
   * seconds in the guest, so an earlier poll only finds running commands and costs a call. A run with
   * a straggler cutoff (the collector) looks at its oldest command then instead of polling, and at
   * every other command when it is expected to have finished (RunCommandSession.cutStragglers).
   * @default 10000
   */
  readonly pollIntervalMs?: number;
  /**
   * Longest wait between polls (the interval grows ×1.5). A finished run is noticed at most this
   * late; each poll costs one call per 50 commands (or one per command once few are left). 5 s: the
   * benchmark's 1,000-instance check waited up to 10 s after its last guest with a 10 s cap, for
   * three calls saved; at 10,000 instances the extra polls cost nothing measurable.
   * @default 5000
   */
  readonly maxPollIntervalMs?: number;
  /**
   * Client-side rate for every SSM call this adapter makes, so a fleet-scale run waits on its own
   * side instead of collecting ThrottlingException. It adapts (AIMD): starts at this rate, halves on
   * a throttle, climbs back while none comes. A plain `{ capacity, refillPerSecond }` starts (and
   * tops out) at `refillPerSecond`. `false` turns it off.
   * @default SSM_ASSUMED_RATE, shared with every other user of the same SSM client (see ssmLimiter)
   */
  readonly rateLimit?: AdaptiveRateOptions | TokenBucketOptions | false;
  /**
   * The limiter to share (e.g. with the inventory's DescribeInstanceInformation calls); overrides `rateLimit`.
   * @default - ssmLimiter(ssm, clock)
   */
  readonly limiter?: PriorityRateLimiter;
  /**
   * API calls in flight at once (sends, listings). The rate limiter, not this, paces the calls; it
   * only has to be high enough to use the rate: 20 calls/s of 300 ms listings need 6 in flight.
   * @default 8
   */
  readonly concurrency?: number;
  /** Extra SendCommand calls allowed per batch to isolate InvalidInstanceId ids and instances IAM denies. @default 24 */
  readonly bisectBudget?: number;
}

const DEFAULT_CONCURRENCY = 8;

/**
 * The SSM request rate a run starts from: 20 calls/s with a burst of 40. SSM publishes no rate (it
 * is one bucket per account and region, shared by every SSM action and every caller); this is the
 * benchmark's assumption A1. The limiter adapts from here: it halves on a throttle (another user of
 * the account, a lower real limit) and climbs back by 2 calls/s per second without one, never above
 * this rate.
 */
export const SSM_ASSUMED_RATE: AdaptiveRateOptions = { capacity: 40, initialRate: 20, minRate: 1, increasePerSecond: 2, decreaseFactor: 0.5 };

/**
 * Urgency of each SSM call under the shared limiter (lower goes first). Listing which instances are
 * managed and sending commands start guest work, so they go first; polls, listings of results and
 * refetches only read back, and a guest that started sooner finishes sooner.
 */
export function ssmPriority(operation: string): number {
  switch (operation) {
    case 'DescribeInstanceInformation':
      return 0;
    case 'SendCommand':
      return 1;
    default:
      return 2;
  }
}

const sharedLimiters = new WeakMap<object, { clock: Clock; limiter: PriorityRateLimiter }>();

/**
 * The SSM limiter shared by every adapter that uses this client on this clock (the inventory's
 * DescribeInstanceInformation and Run Command): SSM's rate is one bucket for all of them.
 */
export function ssmLimiter(ssm: Pick<SSMClient, 'send'>, clock: Clock, rate: AdaptiveRateOptions = SSM_ASSUMED_RATE): PriorityRateLimiter {
  const found = sharedLimiters.get(ssm);
  if (found && found.clock === clock) return found.limiter;
  const limiter = new PriorityRateLimiter(rate, clock, ssmPriority);
  sharedLimiters.set(ssm, { clock, limiter });
  return limiter;
}

function limiterOf(options: SsmRunCommandOptions): PriorityRateLimiter | undefined {
  if (options.limiter) return options.limiter;
  const rate = options.rateLimit;
  if (rate === false) return undefined;
  if (rate === undefined) return ssmLimiter(options.ssm, options.clock);
  const adaptive: AdaptiveRateOptions = 'refillPerSecond' in rate ? { capacity: rate.capacity, initialRate: rate.refillPerSecond } : rate;
  return new PriorityRateLimiter(adaptive, options.clock, ssmPriority);
}

/** Which look-back window a listing is of. */
function windowKey(w: PreviousWindow): string {
  return JSON.stringify([w.documentName, w.comment ?? null, w.after, w.before]);
}

/** SSM Run Command implementation of {@link RunCommandPort}. */
export class SsmRunCommand implements RunCommandPort {
  private readonly limiter: PriorityRateLimiter | undefined;
  private prefetched: { readonly key: string; readonly commands: Promise<PreviousCommand[]> } | undefined;
  private timedOut: { readonly key: string; readonly rows: Promise<Map<string, CommandInvocation>> } | undefined;

  constructor(private readonly options: SsmRunCommandOptions) {
    this.limiter = limiterOf(options);
  }

  /** All targets at once: one session, every id added, finished (the same path the engines use). */
  async runDocument(request: RunDocumentRequest): Promise<RunDocumentResult> {
    const session = this.startSession(request);
    session.add(request.instanceIds);
    return session.finish();
  }

  /** How an earlier run's collectors ended (./run-command-previous.ts), through the same SSM limiter. */
  previousResults(request: PreviousResultsRequest): Promise<Map<string, InvocationResult>> {
    const listed = this.prefetched?.key === windowKey(request) ? this.prefetched.commands : undefined;
    const timedOut = this.timedOut?.key === windowKey(request) ? this.timedOut.rows : undefined;
    return readPreviousResults(this.previousOptions(), request, listed, timedOut);
  }

  /**
   * The instances whose collector SSM ended `TimedOut` in a look-back window (RunCommandPort.recentTimedOut):
   * one listing, kept for previousResults of the same window. Never rejects: a failed listing is an
   * empty set here, and previousResults reads those instances one by one.
   */
  recentTimedOut(window: PreviousWindow): Promise<ReadonlySet<string>> {
    const key = windowKey(window);
    if (this.timedOut?.key !== key) {
      const rows = listTimedOut(this.previousOptions(), window);
      rows.catch(() => undefined);
      this.timedOut = { key, rows };
    }
    return this.timedOut.rows.then(
      (rows) => new Set([...rows.values()].map((inv) => inv.InstanceId).filter((id): id is string => typeof id === 'string')),
      () => new Set<string>(),
    );
  }

  /**
   * Starts listing a look-back window's commands (see RunCommandPort.prefetchPrevious): the check
   * calls it when its first collector is left pending, so the listing's sequential pages run while
   * the run still waits on its last guests, not after. One window at a time (the latest asked).
   */
  prefetchPrevious(window: PreviousWindow): void {
    const key = windowKey(window);
    if (this.prefetched?.key === key) return;
    const commands = listPreviousCommands(this.previousOptions(), window);
    // Seen by previousResults, which rethrows it; never an unhandled rejection here.
    commands.catch(() => undefined);
    this.prefetched = { key, commands };
  }

  private previousOptions(): PreviousResultsOptions {
    const o = this.options;
    const retry = this.limiter ? this.limiter.retryOptions(o.retry ?? {}) : (o.retry ?? {});
    return { ssm: o.ssm, clock: o.clock, retry, concurrency: o.concurrency ?? DEFAULT_CONCURRENCY };
  }

  /**
   * Starts a run whose targets arrive over time (e.g. page by page from the inventory): ids are
   * buffered into batches of 50 and sent in the background as soon as a batch is full, so the
   * guests work while the inventory is still listing. `finish()` sends the rest and waits.
   */
  startSession(request: RunSessionRequest): RunSession {
    const o = this.options;
    return new RunCommandSession(request, {
      ssm: o.ssm,
      clock: o.clock,
      ...(o.retry ? { retry: o.retry } : {}),
      ...(this.limiter ? { limiter: this.limiter } : {}),
      concurrency: o.concurrency ?? DEFAULT_CONCURRENCY,
      pollIntervalMs: o.pollIntervalMs ?? 10_000,
      maxPollIntervalMs: o.maxPollIntervalMs ?? 5_000,
      bisectBudget: o.bisectBudget ?? 24,
    });
  }
}
