/**
 * Running an SSM document on many instances and reading back every instance's output, cheaply:
 * ≤ 50 ids per SendCommand, ListCommands polling on the injected clock (one call covers up to 50
 * commands), ListCommandInvocations `Details: true` pages once per command when it is terminal, and
 * GetCommandInvocation only for an output that was cut. The check and the remediation engines both
 * use {@link RunCommandPort.runDocument}; they differ only in document, parameters and parsing.
 */
import {
  CancelCommandCommand,
  type CommandInvocation,
  GetCommandInvocationCommand,
  ListCommandsCommand,
  type ListCommandInvocationsCommandOutput,
  paginateListCommandInvocations,
  SendCommandCommand,
  type SSMClient,
} from '@aws-sdk/client-ssm';
import type { StragglerCutoffOptions } from '../core/fleet/straggler';
import { mapLimit } from '../core/util/batching';
import type { AdaptiveRateOptions, TokenBucketOptions } from '../core/util/token-bucket';
import type { Clock } from './clock';
import { paginateWithRetry, PriorityRateLimiter, withRetry, type RetryOptions } from './retry';
import { type CommandProgress, commandProgress, invocationStart, isTerminalInvocation, StragglerWatch, stragglerResult, unfinishedTargets } from './run-command-stragglers';

/** SendCommand accepts at most 50 instance ids. */
export const MAX_IDS_PER_SEND = 50;
/** ListCommandInvocations with Details returns at most this many characters of a plugin's output. */
export const DETAILS_OUTPUT_LIMIT = 2500;

/** One document run over a set of instances. */
export interface RunDocumentRequest {
  readonly instanceIds: readonly string[];
  readonly documentName: string;
  readonly parameters?: Readonly<Record<string, readonly string[]>>;
  /** SendCommand Comment (truncated to 100 characters). */
  readonly comment?: string;
  /** SSM MaxConcurrency (number or percent). */
  readonly maxConcurrency: string;
  /** SSM MaxErrors (number or percent). */
  readonly maxErrors: string;
  /** SSM delivery timeout, seconds (30 – 2,592,000). */
  readonly timeoutSeconds: number;
  /**
   * Absolute time (clock ms) after which waiting stops: commands still running are listed as they
   * are and unfinished instances become `timed-out` / `no-invocation`.
   * @default - start + timeoutSeconds × 1000 + 60 s
   */
  readonly deadline?: number;
  /**
   * A complete output contains this text (the report's end marker); an output without it, or at the
   * Details limit, is fetched again with GetCommandInvocation.
   * @default - only the length rule applies
   */
  readonly endMarker?: string;
  /**
   * With `endMarker`: the missing-end rule applies only to outputs that contain this text (the
   * report's first line), so a short shell error is not refetched for nothing.
   * @default - every output without the end marker is refetched
   */
  readonly startMarker?: string;
  /**
   * Stop waiting for stragglers: once most targets finished, an invocation still running after
   * the cutoff (see lambda/core/fleet/straggler.ts) becomes `straggler` and is cancelled. Only for
   * read-only documents (the collector): a document that changes a guest must end on its own.
   * @default - no cutoff: wait for SSM's verdict (the document's timeout) or the deadline
   */
  readonly stragglerCutoff?: StragglerCutoffOptions;
}

/** Where one instance's invocation ended. Anything but `success` is not a clean run. */
export type InvocationState =
  | 'success'
  | 'failed'
  | 'timed-out'
  | 'undeliverable'
  | 'cancelled'
  | 'terminated'
  /** SendCommand rejected the id (InvalidInstanceId): stopped, terminated or no longer managed. */
  | 'gone'
  /** IAM denied SendCommand on this instance (e.g. the opt-out Deny): isolated, the rest of its batch ran. */
  | 'denied'
  /** The command ended (or the deadline hit) with no invocation for this instance. */
  | 'no-invocation'
  /** Still running (or not started) at the straggler cutoff while the run had finished: cancelled, never judged. */
  | 'straggler'
  /** SendCommand failed for a reason not attributable to this instance (see `detail`). */
  | 'send-failed';

/** One instance's result. */
export interface InvocationResult {
  readonly instanceId: string;
  readonly state: InvocationState;
  readonly commandId?: string;
  /** SSM invocation Status / StatusDetails, or the error name for `gone` / `send-failed`. */
  readonly status?: string;
  readonly detail?: string;
  /** Standard output (all plugins that produced any, joined by newlines). */
  readonly output?: string;
  readonly responseCode?: number;
  /** True when the output came from the GetCommandInvocation fallback. */
  readonly refetched?: boolean;
  /** True when waiting stopped at the deadline with this instance unfinished (alive but slow, not gone). */
  readonly atDeadline?: boolean;
}

/** API call counters of one run (the cost model and the benchmark read them). */
export interface RunCommandStats {
  sendCommand: number;
  listCommands: number;
  listCommandInvocationsPages: number;
  getCommandInvocation: number;
  /** CancelCommand calls (stragglers); absent from ports that never cancel. */
  cancelCommand?: number;
  throttled: number;
  polls: number;
}

/** The outcome of {@link RunCommandPort.runDocument}. */
export interface RunDocumentResult {
  /** Exactly one entry per requested instance id. */
  readonly results: Map<string, InvocationResult>;
  readonly commandIds: readonly string[];
  /** Errors that are not about an instance (access denied, missing document…): the run is broken. */
  readonly errors: readonly string[];
  readonly stats: RunCommandStats;
}

/** A document run whose targets are added over time (see {@link SsmRunCommand.startSession}). */
export type RunSessionRequest = Omit<RunDocumentRequest, 'instanceIds'>;

/** An open document run. */
export interface RunSession {
  /** Adds targets; full batches of 50 are sent in the background at once. Duplicates are ignored. */
  add(instanceIds: readonly string[]): void;
  /** Sends what is buffered, waits for every command (or the deadline), one result per added id. */
  finish(): Promise<RunDocumentResult>;
}

/** What the engines need from Run Command. */
export interface RunCommandPort {
  /** Runs one document on the instances and returns one result per instance; never throws for an instance's failure. */
  runDocument(request: RunDocumentRequest): Promise<RunDocumentResult>;
  /** Optional: the same run with targets added over time, so sending overlaps the inventory. */
  startSession?(request: RunSessionRequest): RunSession;
}

/** Tuning of {@link SsmRunCommand}. */
export interface SsmRunCommandOptions {
  readonly ssm: SSMClient;
  readonly clock: Clock;
  readonly retry?: RetryOptions;
  /**
   * First wait before polling, from the first send. Delivery ramps up (1, 3, 7, 15, 31… instances a
   * second: the 50th target of a command starts ≈ 5 s after the send) and the script then needs its
   * seconds in the guest, so an earlier poll only finds running commands and costs a call.
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

const TERMINAL_COMMAND = new Set(['Success', 'Failed', 'TimedOut', 'Cancelled']);

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
export function ssmLimiter(ssm: SSMClient, clock: Clock, rate: AdaptiveRateOptions = SSM_ASSUMED_RATE): PriorityRateLimiter {
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

/** Instance ids SSM names in an InvalidInstanceId message (`Instances [[i-1, i-2]] not in a valid state…`). */
export function invalidIdsFromMessage(message: string): string[] {
  return [...new Set(message.match(/\b(?:i|mi)-[0-9a-f]{8,17}\b/g) ?? [])];
}

/**
 * The resource IAM names in an AccessDenied message (`… is not authorized to perform:
 * ssm:SendCommand on resource: arn:aws:ec2:…:instance/i-… with an explicit deny …`), if any.
 */
export function deniedResourceFromMessage(message: string): string | undefined {
  return /\bon resource: (arn:[^\s,;]+)/.exec(message)?.[1]?.replace(/[.)]+$/, '');
}

/** The instance id of an EC2 instance or SSM managed-instance ARN; undefined for any other resource. */
export function instanceIdFromArn(arn: string): string | undefined {
  return /^arn:[^:]+:(?:ec2|ssm):[^:]*:[^:]*:(?:instance|managed-instance)\/((?:i|mi)-[0-9a-f]{8,17})$/.exec(arn)?.[1];
}

function isAccessDenied(name: string): boolean {
  return name === 'AccessDeniedException' || name === 'AccessDenied';
}

/** SSM Run Command implementation of {@link RunCommandPort}. */
export class SsmRunCommand implements RunCommandPort {
  private readonly limiter: PriorityRateLimiter | undefined;

  constructor(private readonly options: SsmRunCommandOptions) {
    this.limiter = limiterOf(options);
  }

  async runDocument(request: RunDocumentRequest): Promise<RunDocumentResult> {
    const session = this.startSession(request);
    session.add(request.instanceIds);
    return session.finish();
  }

  /**
   * Starts a run whose targets arrive over time (e.g. page by page from the inventory): ids are
   * buffered into batches of 50 and sent in the background as soon as a batch is full, so the
   * guests work while the inventory is still listing. `finish()` sends the rest and waits.
   */
  startSession(request: RunSessionRequest): RunSession {
    const { clock } = this.options;
    const stats: RunCommandStats = {
      sendCommand: 0,
      listCommands: 0,
      listCommandInvocationsPages: 0,
      getCommandInvocation: 0,
      cancelCommand: 0,
      throttled: 0,
      polls: 0,
    };
    const counted: RetryOptions = {
      ...this.options.retry,
      onRetry: (info) => {
        stats.throttled++;
        this.options.retry?.onRetry?.(info);
      },
    };
    // Every attempt waits for the shared limiter; a throttle slows it down for every caller.
    const retry: RetryOptions = this.limiter ? this.limiter.retryOptions(counted) : counted;
    const results = new Map<string, InvocationResult>();
    const errors = new Set<string>();
    const start = clock.now();
    // Only commands issued by this run are waited for: id → the instance ids it targets.
    const commands = new Map<string, readonly string[]>();
    const concurrency = this.options.concurrency ?? DEFAULT_CONCURRENCY;
    const seen = new Set<string>();
    let buffer: string[] = [];
    const queue: string[][] = [];
    let workers = 0;
    const idle: (() => void)[] = [];
    let finished = false;
    let firstSentAt: number | undefined;

    const work = async (): Promise<void> => {
      workers++;
      try {
        for (let batch = queue.shift(); batch; batch = queue.shift()) {
          try {
            await this.sendBatch(request, batch, this.options.bisectBudget ?? 24, commands, results, errors, stats, retry);
          } catch (err) {
            const detail = `SendCommand failed: ${errorName(err)}: ${errorMessage(err)}`;
            errors.add(detail);
            for (const id of batch) results.set(id, { instanceId: id, state: 'send-failed', detail });
          }
        }
      } finally {
        workers--;
        if (workers === 0) idle.splice(0).forEach((resolve) => resolve());
      }
    };
    const enqueue = (batch: string[]): void => {
      firstSentAt ??= clock.now();
      queue.push(batch);
      if (workers < concurrency) void work();
    };
    const add = (instanceIds: readonly string[]): void => {
      if (finished) throw new Error('RunSession.add after finish()');
      for (const id of instanceIds) {
        if (seen.has(id)) continue;
        seen.add(id);
        buffer.push(id);
        if (buffer.length === MAX_IDS_PER_SEND) {
          enqueue(buffer);
          buffer = [];
        }
      }
    };
    const finish = async (): Promise<RunDocumentResult> => {
      finished = true;
      if (buffer.length > 0) enqueue(buffer);
      buffer = [];
      if (workers > 0) await new Promise<void>((resolve) => idle.push(resolve));
      // A denial that names no resource says nothing about one instance unless some send was accepted:
      // with none accepted it is the run's (a role without the grant), not the instances'.
      if (commands.size === 0) {
        for (const [id, r] of results) {
          if (r.state !== 'denied' || deniedResourceFromMessage(r.detail ?? '') !== undefined) continue;
          const detail = `SendCommand failed: ${r.status}: ${r.detail}`;
          errors.add(detail);
          results.set(id, { ...r, state: 'send-failed', detail });
        }
      }
      const ids = [...seen];
      const deadline = request.deadline ?? start + request.timeoutSeconds * 1000 + 60_000;
      // Poll until every command is terminal or the deadline; list each command's invocations once.
      const pending = new Set(commands.keys());
      const listed = new Set<string>();
      const collecting: Promise<unknown>[] = [];
      let interval = this.options.pollIntervalMs ?? 10_000;
      const maxInterval = this.options.maxPollIntervalMs ?? 5_000;
      // Polls run on a fixed schedule: time spent listing finished commands does not delay the next
      // poll. The first is due one interval after the first send, which may be long past when the
      // targets came in page by page.
      let nextPoll = Math.max(clock.now(), (firstSentAt ?? clock.now()) + interval);
      const stragglers = request.stragglerCutoff ? new StragglerWatch(request.stragglerCutoff, commands) : undefined;
      while (pending.size > 0) {
        const wake = Math.min(nextPoll, deadline, stragglers?.nextCheckAt(pending) ?? Number.POSITIVE_INFINITY);
        const sleep = clock.sleep(Math.max(0, wake - clock.now()));
        // New run times can make the cutoff known (or due) before the next poll.
        await (stragglers ? Promise.race([sleep, stragglers.changed()]) : sleep);
        if (stragglers && clock.now() < Math.min(nextPoll, deadline)) {
          await this.cutStragglers(request, stragglers, pending, listed, results, stats, retry);
          continue;
        }
        interval = Math.min(maxInterval, Math.ceil(interval * 1.5));
        nextPoll = clock.now() + interval;
        stats.polls++;
        const terminal = await this.terminalCommands(pending, commands.size, start, stats, retry, stragglers?.progress);
        const atDeadline = clock.now() >= deadline;
        const toList = atDeadline ? [...pending] : [...terminal];
        for (const commandId of toList) {
          pending.delete(commandId);
          listed.add(commandId);
        }
        // Reading results back waits its turn at the SSM rate; polling goes on meanwhile on its schedule,
        // so the last (hung) command is noticed when it ends, not when the backlog of reads is through.
        collecting.push(
          mapLimit(toList, concurrency, (commandId) =>
            this.collectCommand(request, commandId, unfinishedTargets(commands.get(commandId) ?? [], results), !terminal.has(commandId), results, stats, retry, stragglers).then(() =>
              stragglers?.wake(),
            ),
          ),
        );
        if (atDeadline) break;
        if (stragglers) await this.cutStragglers(request, stragglers, pending, listed, results, stats, retry);
      }
      await Promise.all(collecting);
      for (const id of ids) {
        if (!results.has(id)) results.set(id, { instanceId: id, state: 'no-invocation', detail: 'no invocation by the deadline', atDeadline: true });
      }
      return { results, commandIds: [...commands.keys()], errors: [...errors], stats };
    };
    return { add, finish };
  }

  /**
   * Sends one batch; on InvalidInstanceId bisects (bounded) to isolate the ids that are gone, and on
   * AccessDenied isolates the instances IAM denies (see {@link isolateDenied}).
   */
  private async sendBatch(
    request: RunSessionRequest,
    batch: readonly string[],
    budget: number,
    commands: Map<string, readonly string[]>,
    results: Map<string, InvocationResult>,
    errors: Set<string>,
    stats: RunCommandStats,
    retry: RetryOptions,
  ): Promise<number> {
    const { ssm, clock } = this.options;
    try {
      stats.sendCommand++;
      const out = await withRetry(
        () =>
          ssm.send(
            new SendCommandCommand({
              DocumentName: request.documentName,
              InstanceIds: [...batch],
              Parameters: request.parameters as Record<string, string[]> | undefined,
              MaxConcurrency: request.maxConcurrency,
              MaxErrors: request.maxErrors,
              TimeoutSeconds: request.timeoutSeconds,
              ...(request.comment ? { Comment: request.comment.slice(0, 100) } : {}),
            }),
          ),
        clock,
        { operation: 'SendCommand', ...retry },
      );
      const commandId = out.Command?.CommandId;
      if (!commandId) {
        for (const id of batch) results.set(id, { instanceId: id, state: 'send-failed', detail: 'SendCommand returned no CommandId' });
        errors.add('SendCommand returned no CommandId');
        return budget;
      }
      commands.set(commandId, batch);
      return budget;
    } catch (err) {
      const name = errorName(err);
      if (name === 'InvalidInstanceId') {
        // SSM names the bad ids in its message: drop them and resend once instead of bisecting.
        const named = invalidIdsFromMessage(errorMessage(err)).filter((id) => batch.includes(id));
        if (named.length > 0 && named.length < batch.length && budget >= 1) {
          for (const id of named) results.set(id, { instanceId: id, state: 'gone', status: name, detail: errorMessage(err) });
          const rest = batch.filter((id) => !named.includes(id));
          return this.sendBatch(request, rest, budget - 1, commands, results, errors, stats, retry);
        }
        if (named.length === batch.length) {
          for (const id of batch) results.set(id, { instanceId: id, state: 'gone', status: name, detail: errorMessage(err) });
          return budget;
        }
        if (batch.length === 1) {
          results.set(batch[0] as string, { instanceId: batch[0] as string, state: 'gone', status: name, detail: errorMessage(err) });
          return budget;
        }
        if (budget < 2) {
          for (const id of batch) {
            results.set(id, { instanceId: id, state: 'gone', status: name, detail: 'InvalidInstanceId in its batch; not isolated (bisection budget spent)' });
          }
          return 0;
        }
        const mid = Math.ceil(batch.length / 2);
        let left = budget - 2;
        left = await this.sendBatch(request, batch.slice(0, mid), left, commands, results, errors, stats, retry);
        return this.sendBatch(request, batch.slice(mid), left, commands, results, errors, stats, retry);
      }
      if (isAccessDenied(name)) {
        const resend = (ids: readonly string[], left: number): Promise<number> => this.sendBatch(request, ids, left, commands, results, errors, stats, retry);
        return this.isolateDenied(batch, budget, name, errorMessage(err), results, errors, resend);
      }
      const detail = `SendCommand failed: ${name}: ${errorMessage(err)}`;
      errors.add(detail);
      for (const id of batch) results.set(id, { instanceId: id, state: 'send-failed', status: name, detail });
      return budget;
    }
  }

  /**
   * One instance IAM denies (an opt-out tag IAM sees, a tag-based Deny) must not fail the 49 others.
   * IAM names the denied resource in its message: an instance of the batch is set `denied` and the
   * rest resent once; any other resource (the document, `*`) is a run-level error for the whole
   * batch. Without a named resource the batch is bisected, bounded by `budget` (≤ 2 calls a level,
   * log2(50) ≈ 6 levels for one denied id); what the budget cannot isolate is `send-failed`.
   */
  private async isolateDenied(
    batch: readonly string[],
    budget: number,
    name: string,
    message: string,
    results: Map<string, InvocationResult>,
    errors: Set<string>,
    resend: (ids: readonly string[], budget: number) => Promise<number>,
  ): Promise<number> {
    const denied = (id: string): void => void results.set(id, { instanceId: id, state: 'denied', status: name, detail: message });
    const resource = deniedResourceFromMessage(message);
    if (resource !== undefined) {
      const id = instanceIdFromArn(resource);
      if (id === undefined || !batch.includes(id)) {
        const detail = `SendCommand failed: ${name}: ${message}`;
        errors.add(detail);
        for (const b of batch) results.set(b, { instanceId: b, state: 'send-failed', status: name, detail });
        return budget;
      }
      denied(id);
      const rest = batch.filter((b) => b !== id);
      if (rest.length === 0) return budget;
      if (budget < 1) {
        for (const b of rest) results.set(b, { instanceId: b, state: 'send-failed', status: name, detail: `not sent: another instance of its batch was denied (${id}); isolation budget spent` });
        return 0;
      }
      return resend(rest, budget - 1);
    }
    if (batch.length === 1) {
      denied(batch[0] as string);
      return budget;
    }
    if (budget < 2) {
      for (const b of batch) results.set(b, { instanceId: b, state: 'send-failed', status: name, detail: `${name} in its batch; not isolated (bisection budget spent): ${message}` });
      return 0;
    }
    const mid = Math.ceil(batch.length / 2);
    return resend(batch.slice(mid), await resend(batch.slice(0, mid), budget - 2));
  }

  /**
   * Applies the straggler cutoff to the pending commands that are due: lists each once, records
   * what finished, turns invocations past the cutoff into `straggler` and cancels them. A command
   * with guests still within the cutoff stays pending and is looked at again when the first of
   * them would pass it.
   */
  private async cutStragglers(
    request: RunSessionRequest,
    watch: StragglerWatch,
    pending: Set<string>,
    listed: Set<string>,
    results: Map<string, InvocationResult>,
    stats: RunCommandStats,
    retry: RetryOptions,
  ): Promise<void> {
    const now = this.options.clock.now();
    const cutoffMs = watch.cutoffMs(pending);
    if (cutoffMs === undefined) return;
    const due = [...pending].filter((id) => (watch.dueAt(id, cutoffMs) ?? Number.POSITIVE_INFINITY) <= now);
    await mapLimit(due, this.options.concurrency ?? DEFAULT_CONCURRENCY, async (commandId) => {
      const running = new Map<string, number>();
      const targets = unfinishedTargets(watch.commands.get(commandId) ?? [], results);
      await this.collectCommand(request, commandId, targets, false, results, stats, retry, watch, { cutoffMs, running });
      const cut = targets.filter((id) => results.get(id)?.state === 'straggler');
      if (cut.length > 0) await this.cancelStragglers(commandId, cut, results, stats, retry);
      if (running.size === 0) {
        pending.delete(commandId);
        listed.add(commandId);
        watch.relistAt.delete(commandId);
      } else {
        watch.relistAt.set(commandId, Math.min(...running.values()));
      }
    });
  }

  /** Cancels the stragglers' invocations so nothing lingers; if that fails, the document's timeout ends them. */
  private async cancelStragglers(commandId: string, ids: readonly string[], results: Map<string, InvocationResult>, stats: RunCommandStats, retry: RetryOptions): Promise<void> {
    const { ssm, clock } = this.options;
    let outcome = 'cancelled';
    try {
      stats.cancelCommand = (stats.cancelCommand ?? 0) + 1;
      await withRetry(() => ssm.send(new CancelCommandCommand({ CommandId: commandId, InstanceIds: [...ids] })), clock, { operation: 'CancelCommand', ...retry });
    } catch (err) {
      outcome = `CancelCommand failed (${errorName(err)}): SSM ends it at the document's timeout`;
    }
    for (const id of ids) {
      const r = results.get(id);
      if (r) results.set(id, { ...r, detail: `${r.detail ?? ''}; ${outcome}` });
    }
  }

  /** One poll: which of the pending commands are terminal. */
  private async terminalCommands(
    pending: ReadonlySet<string>,
    issued: number,
    start: number,
    stats: RunCommandStats,
    retry: RetryOptions,
    progress?: Map<string, CommandProgress>,
  ): Promise<Set<string>> {
    const { ssm, clock } = this.options;
    const terminal = new Set<string>();
    if (pending.size <= Math.ceil(issued / 50)) {
      // Few commands left: asking by id costs no more calls than the listing's pages, and is exact.
      // Side by side: the last hung command is noticed one call after the poll, not after the others.
      await mapLimit([...pending], this.options.concurrency ?? DEFAULT_CONCURRENCY, async (commandId) => {
        stats.listCommands++;
        const out = await withRetry(() => ssm.send(new ListCommandsCommand({ CommandId: commandId })), clock, { operation: 'ListCommands', ...retry });
        const status = out.Commands?.[0]?.Status;
        if (status && TERMINAL_COMMAND.has(status)) terminal.add(commandId);
        if (progress && out.Commands?.[0]) progress.set(commandId, commandProgress(out.Commands[0]));
      });
      return terminal;
    }
    // Many commands: one filtered listing (50 per page) covers them all. Commands of other runs are ignored.
    const invokedAfter = new Date(start - 5 * 60_000);
    let token: string | undefined;
    do {
      stats.listCommands++;
      const out = await withRetry(
        () =>
          ssm.send(
            new ListCommandsCommand({
              Filters: [{ key: 'InvokedAfter', value: invokedAfter.toISOString() }],
              MaxResults: 50,
              NextToken: token,
            }),
          ),
        clock,
        { operation: 'ListCommands', ...retry },
      );
      for (const c of out.Commands ?? []) {
        if (c.CommandId && pending.has(c.CommandId) && c.Status && TERMINAL_COMMAND.has(c.Status)) terminal.add(c.CommandId);
        if (progress && c.CommandId && pending.has(c.CommandId)) progress.set(c.CommandId, commandProgress(c));
      }
      token = out.NextToken;
    } while (token);
    return terminal;
  }

  /** Lists a command's invocations once (Details pages) and records one result per instance. */
  private async collectCommand(
    request: RunSessionRequest,
    commandId: string,
    targets: readonly string[],
    unfinished: boolean,
    results: Map<string, InvocationResult>,
    stats: RunCommandStats,
    retry: RetryOptions,
    stragglers?: StragglerWatch,
    cutoff?: { readonly cutoffMs: number; readonly running: Map<string, number> },
  ): Promise<void> {
    const { ssm, clock } = this.options;
    const targetSet = new Set(targets);
    const requestedAt = stragglers?.progress.get(commandId)?.requestedAt;
    const pages = paginateWithRetry<ListCommandInvocationsCommandOutput>(
      (startingToken) => paginateListCommandInvocations({ client: ssm, startingToken }, { CommandId: commandId, Details: true, MaxResults: 50 }),
      (p) => p.NextToken,
      clock,
      { operation: 'ListCommandInvocations', ...retry },
    );
    const cut: { id: string; plugin?: string; base: InvocationResult }[] = [];
    for await (const page of pages) {
      stats.listCommandInvocationsPages++;
      for (const inv of page.CommandInvocations ?? []) {
        const id = inv.InstanceId;
        if (!id || !targetSet.has(id)) continue;
        if (cutoff && !isTerminalInvocation(inv.Status)) {
          // At the straggler cutoff: past it → straggler; still within it → looked at again when it would pass.
          const since = invocationStart(inv) ?? requestedAt ?? inv.RequestedDateTime?.getTime() ?? clock.now();
          if (clock.now() - since >= cutoff.cutoffMs) results.set(id, stragglerResult(id, inv.Status, commandId, clock.now() - since, cutoff.cutoffMs));
          else cutoff.running.set(id, since + cutoff.cutoffMs);
          continue;
        }
        const r = toResult(inv, commandId, unfinished);
        results.set(id, r);
        stragglers?.observe(inv);
        const atLimit = outputPlugins(inv).some((p) => (p.Output ?? '').length >= DETAILS_OUTPUT_LIMIT);
        const endRuleApplies = request.startMarker === undefined || (r.output ?? '').includes(request.startMarker);
        if (
          r.output !== undefined &&
          (r.state === 'success' || r.state === 'failed') &&
          (atLimit || isCut(r.output, endRuleApplies ? request.endMarker : undefined))
        ) {
          cut.push({ id, plugin: cutPlugin(inv, request.endMarker), base: r });
        }
      }
    }
    for (const id of targets) {
      if (results.has(id) || cutoff?.running.has(id)) continue;
      if (cutoff) {
        // Not listed yet at the cutoff: counted from the send.
        const since = requestedAt ?? clock.now();
        if (clock.now() - since >= cutoff.cutoffMs) results.set(id, stragglerResult(id, undefined, commandId, clock.now() - since, cutoff.cutoffMs));
        else cutoff.running.set(id, since + cutoff.cutoffMs);
        continue;
      }
      results.set(id, {
        instanceId: id,
        state: 'no-invocation',
        commandId,
        detail: unfinished ? 'no invocation by the deadline' : 'command ended without an invocation for this instance',
        ...(unfinished ? { atDeadline: true } : {}),
      });
    }
    // The exception path: per-instance calls only for outputs that were cut.
    await mapLimit(cut, this.options.concurrency ?? DEFAULT_CONCURRENCY, async ({ id, plugin, base }) => {
      stats.getCommandInvocation++;
      try {
        const out = await withRetry(
          () => ssm.send(new GetCommandInvocationCommand({ CommandId: commandId, InstanceId: id, ...(plugin ? { PluginName: plugin } : {}) })),
          clock,
          { operation: 'GetCommandInvocation', ...retry },
        );
        if (typeof out.StandardOutputContent === 'string' && out.StandardOutputContent.length >= (base.output?.length ?? 0)) {
          results.set(id, { ...base, output: out.StandardOutputContent, refetched: true });
        }
      } catch (err) {
        // Keep the cut output: the diagnosis reports a truncated report rather than losing the instance.
        results.set(id, { ...base, detail: `${base.detail ?? ''}${base.detail ? '; ' : ''}GetCommandInvocation failed: ${errorName(err)}` });
      }
    });
  }
}

/** Output at the Details limit, or missing the end marker, was (probably) cut. */
export function isCut(output: string, endMarker?: string): boolean {
  if (output.length >= DETAILS_OUTPUT_LIMIT) return true;
  if (endMarker !== undefined && output.trim() !== '' && !output.includes(endMarker)) return true;
  return false;
}

/** SSM's text for a step whose platform precondition did not match (the other platform's step). */
const SKIPPED_STEP = /^\s*Step execution skipped/i;
/** SSM appends stderr to a plugin's Details output after this line. */
export const STDERR_SEPARATOR = '----------ERROR-------';

/** The plugins that produced real output: not empty, not a skipped step's notice. */
function outputPlugins(inv: CommandInvocation): NonNullable<CommandInvocation['CommandPlugins']> {
  return (inv.CommandPlugins ?? []).filter((p) => (p.Output ?? '').trim() !== '' && !SKIPPED_STEP.test(p.Output ?? ''));
}

/**
 * Splits a plugin's Details output into stdout and stderr. Only stdout is a report; stderr goes to
 * the result's detail.
 */
export function splitOutput(output: string): { stdout: string; stderr?: string } {
  const i = output.indexOf(STDERR_SEPARATOR);
  if (i < 0) return { stdout: output };
  return { stdout: output.slice(0, i).replace(/\n$/, ''), stderr: output.slice(i + STDERR_SEPARATOR.length).trim() };
}

function cutPlugin(inv: CommandInvocation, endMarker?: string): string | undefined {
  // GetCommandInvocation needs the step name only when the document has several steps.
  if ((inv.CommandPlugins ?? []).length <= 1) return undefined;
  const plugins = outputPlugins(inv);
  return plugins.find((p) => isCut(p.Output ?? '', endMarker))?.Name ?? plugins[0]?.Name;
}

/** Maps an invocation (Status + StatusDetails) to a state; exported for tests. */
export function invocationState(status: string | undefined, details: string | undefined): InvocationState {
  switch (details) {
    case 'Undeliverable':
    case 'InvalidPlatform':
      return 'undeliverable';
    case 'Terminated':
      return 'terminated';
    case 'DeliveryTimedOut':
    case 'ExecutionTimedOut':
      return 'timed-out';
    default:
      break;
  }
  switch (status) {
    case 'Success':
      return 'success';
    case 'Failed':
      return 'failed';
    case 'TimedOut':
      return 'timed-out';
    case 'Cancelled':
    case 'Cancelling':
      return 'cancelled';
    default:
      // Pending / InProgress / Delayed after the command is terminal or past the deadline: it never finished.
      return 'timed-out';
  }
}

function toResult(inv: CommandInvocation, commandId: string, unfinished: boolean): InvocationResult {
  const plugins = outputPlugins(inv);
  const parts = plugins.map((p) => splitOutput(p.Output ?? ''));
  const stdout = parts.map((p) => p.stdout).filter((o) => o !== '');
  const stderr = parts.map((p) => p.stderr).filter((e): e is string => e !== undefined && e !== '');
  // Keep the raw text when it has no stdout at all: a failed step's stderr is all there is to show.
  const output = stdout.length > 0 ? stdout.join('\n') : plugins.length > 0 ? plugins.map((p) => p.Output ?? '').join('\n') : undefined;
  const status = inv.Status;
  const state = invocationState(status, inv.StatusDetails);
  const responseCode = (plugins.length > 0 ? plugins : inv.CommandPlugins ?? []).find((p) => typeof p.ResponseCode === 'number' && p.ResponseCode !== 0)?.ResponseCode ??
    inv.CommandPlugins?.[0]?.ResponseCode;
  const detail = [
    inv.StatusDetails,
    unfinished && state === 'timed-out' ? 'still running at the deadline' : undefined,
    stderr.length > 0 ? `stderr: ${stderr.join(' | ').slice(0, 300)}` : undefined,
  ]
    .filter(Boolean)
    .join('; ');
  return {
    instanceId: inv.InstanceId ?? '',
    state,
    commandId,
    ...(status ? { status } : {}),
    ...(detail !== '' ? { detail } : {}),
    ...(output !== undefined ? { output } : {}),
    ...(typeof responseCode === 'number' ? { responseCode } : {}),
    ...(unfinished && state === 'timed-out' ? { atDeadline: true } : {}),
  };
}

function errorName(err: unknown): string {
  if (err && typeof err === 'object') {
    const e = err as { name?: unknown; Code?: unknown };
    if (typeof e.name === 'string' && e.name !== 'Error') return e.name;
    if (typeof e.Code === 'string') return e.Code;
  }
  return 'Error';
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
