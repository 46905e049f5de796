/**
 * One streaming document run: targets arrive over time (page by page from the inventory, or all at
 * once), are buffered into batches of 50 and sent in the background by a bounded pool of senders, so
 * the guests work while the inventory is still listing; `finish()` sends the rest, polls until every
 * command is terminal (or the deadline) and lists each command's invocations once. A collector run
 * (straggler cutoff) polls only while it has nothing to expect: it lists each command when it should
 * have finished (its send + its last wave's start + the longest run seen), looks again at a guest
 * that may still end healthy, and leaves one past the cutoff pending (several commands' cutoff
 * looks are one sweep of the run's invocations still in progress, sweepRunning); its last queued commands are
 * cut smaller so their guests start sooner (sizeTail). The mapping of what SSM answers is in
 * ./run-command-invocation.ts (pure); this class only makes the calls.
 */
import {
  GetCommandInvocationCommand,
  ListCommandsCommand,
  type ListCommandInvocationsCommandOutput,
  paginateListCommandInvocations,
  SendCommandCommand,
  type SSMClient,
} from '@aws-sdk/client-ssm';
import { mapLimit } from '../core/util/batching';
import { tailCommandSizes } from '../core/fleet/command-sizes';
import type { Clock, InvocationResult, RunCommandStats, RunDocumentResult, RunSession, RunSessionRequest } from '../engine/ports';
import { paginateWithRetry, type PriorityRateLimiter, withRetry, type RetryOptions } from './retry';
import { filteredInvocationsPage } from './run-command-previous';
import { type CommandProgress, commandProgress, invocationStart, isTerminalInvocation, StragglerWatch, stragglerResult, unfinishedTargets } from './run-command-stragglers';
import {
  cutPlugin,
  DETAILS_OUTPUT_LIMIT,
  deniedResourceFromMessage,
  errorMessage,
  errorName,
  instanceIdFromArn,
  invalidIdsFromMessage,
  isAccessDenied,
  isCut,
  isTerminalCommandStatus,
  MAX_IDS_PER_SEND,
  outputPlugins,
  toInvocationResult,
} from './run-command-invocation';

/** What a session needs from its adapter (resolved options of SsmRunCommand). */
export interface RunCommandSessionOptions {
  readonly ssm: SSMClient;
  readonly clock: Clock;
  /** Retry options for every call (the session counts throttles on top). */
  readonly retry?: RetryOptions;
  /** Every attempt waits for this shared limiter; a throttle slows it down for every caller. */
  readonly limiter?: PriorityRateLimiter;
  /** API calls in flight at once (sends, listings). */
  readonly concurrency: number;
  /** First wait before polling, from the first send. */
  readonly pollIntervalMs: number;
  /** Longest wait between polls. */
  readonly maxPollIntervalMs: number;
  /** Extra SendCommand calls allowed per batch to isolate gone and denied ids. */
  readonly bisectBudget: number;
}

/**
 * SSM reserves these prefixes to AWS's own documents (no account can create `AWS-…`), and AWS
 * updates their content: they are the one kind sent without a pin (the CLI's AWS-RunShellScript,
 * whose script is the parameter). Every other document must carry its pin.
 */
const AWS_OWNED_DOCUMENT = /^AWS-/;
/** A SHA-256 as SSM writes a document's Hash. */
const SHA256_HEX = /^[0-9a-f]{64}$/;

/**
 * Why this request must not be sent at all, if so: a document other than AWS's own without a valid
 * pin. A run that cannot say which content it may run runs nothing.
 */
export function unpinnedDocumentProblem(documentName: string, documentHash: string | undefined): string | undefined {
  if (documentHash === undefined) {
    return AWS_OWNED_DOCUMENT.test(documentName) ? undefined : `not sent: document ${documentName} has no pinned DocumentHash (its SHA-256): a document is never run by name alone`;
  }
  return SHA256_HEX.test(documentHash) ? undefined : `not sent: the pinned DocumentHash of ${documentName} is not a SHA-256 (64 lower-case hex digits)`;
}

/**
 * Extra SendCommand calls the tail of a collector run may take to start its last targets sooner
 * (see {@link RunCommandSession.sizeTail}): a tenth of the run's commands, at most 12 (0.6 s of
 * SSM's assumed 20 calls/s; beyond that each call buys less than it costs the reads behind it).
 */
export const TAIL_EXTRA_COMMANDS_SHARE = 0.02;
export const TAIL_EXTRA_COMMANDS_MAX = 12;

/** One SendCommand of a batch, with what is left of its isolation budget. */
interface SendBatch {
  readonly batch: readonly string[];
  readonly budget: number;
}

/** A streaming run of one document (see the file comment). */
export class RunCommandSession implements RunSession {
  private readonly stats: RunCommandStats = {
    sendCommand: 0,
    listCommands: 0,
    listCommandInvocationsPages: 0,
    getCommandInvocation: 0,
    cancelCommand: 0,
    throttled: 0,
    polls: 0,
  };
  private readonly retry: RetryOptions;
  private readonly results = new Map<string, InvocationResult>();
  private readonly errors = new Set<string>();
  private readonly start: number;
  /** Only commands issued by this run are waited for: id → the instance ids it targets. */
  private readonly commands = new Map<string, readonly string[]>();
  private readonly concurrency: number;
  private readonly seen = new Set<string>();
  private buffer: string[] = [];
  private readonly queue: string[][] = [];
  private workers = 0;
  private readonly idle: (() => void)[] = [];
  private finished = false;
  private firstSentAt: number | undefined;
  /** Whether the batch being filled holds one of them. */
  private bufferFirst = false;
  /** The straggler cutoff's and the completion looks' bookkeeping (collector runs only). */
  private readonly stragglers: StragglerWatch | undefined;
  /** Whether `request.onLate` was called. */
  private lateNoted = false;
  /** Ids already handed to `request.onResults`. */
  private readonly handedOut = new Set<string>();
  /**
   * Set once the document itself is refused (unpinned, or SSM's InvalidDocument: its content is not
   * the pinned one): no further batch is sent, each gets this detail.
   */
  private refused: string | undefined;

  constructor(
    private readonly request: RunSessionRequest,
    private readonly options: RunCommandSessionOptions,
  ) {
    const counted: RetryOptions = {
      ...options.retry,
      onRetry: (info) => {
        this.stats.throttled++;
        options.retry?.onRetry?.(info);
      },
    };
    this.retry = options.limiter ? options.limiter.retryOptions(counted) : counted;
    this.start = options.clock.now();
    this.concurrency = options.concurrency;
    this.refused = unpinnedDocumentProblem(request.documentName, request.documentHash);
    this.stragglers = request.stragglerCutoff ? new StragglerWatch(request.stragglerCutoff, this.commands) : undefined;
  }

  add(instanceIds: readonly string[]): void {
    if (this.finished) throw new Error('RunSession.add after finish()');
    const first = this.request.startFirst?.();
    for (const id of instanceIds) {
      if (this.seen.has(id)) continue;
      this.seen.add(id);
      // An instance to start first leads its command, in the ramp's first wave.
      if (first?.has(id)) {
        this.buffer.unshift(id);
        this.bufferFirst = true;
      } else {
        this.buffer.push(id);
      }
      if (this.buffer.length === MAX_IDS_PER_SEND) {
        this.enqueue(this.buffer, this.bufferFirst);
        this.buffer = [];
        this.bufferFirst = false;
      }
    }
  }

  async finish(): Promise<RunDocumentResult> {
    const { clock } = this.options;
    const { request, commands, results, errors, stats } = this;
    this.finished = true;
    if (this.buffer.length > 0) this.enqueue(this.buffer, this.bufferFirst);
    this.buffer = [];
    if (request.stragglerCutoff) this.sizeTail();
    if (this.workers > 0) await new Promise<void>((resolve) => this.idle.push(resolve));
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
    const ids = [...this.seen];
    const deadline = request.deadline ?? this.start + request.timeoutSeconds * 1000 + 60_000;
    // Poll until every command is terminal or the deadline; list each command's invocations once.
    const pending = new Set(commands.keys());
    const collecting: Promise<unknown>[] = [];
    let interval = this.options.pollIntervalMs;
    const maxInterval = this.options.maxPollIntervalMs;
    // Polls run on a fixed schedule: time spent listing finished commands does not delay the next
    // poll. The first is due one interval after the first send, which may be long past when the
    // targets came in page by page.
    let nextPoll = Math.max(clock.now(), (this.firstSentAt ?? clock.now()) + interval);
    const stragglers = this.stragglers;
    while (pending.size > 0) {
      // Only guests past their healthy time are left, for one sweep at the last one's cutoff: the
      // previous runs' commands can be listed now, while the run waits for it.
      if (stragglers?.sweepAt(pending, stragglers.cutoffMs(pending)) !== undefined) this.noteLate();
      const wake = Math.min(nextPoll, deadline, stragglers?.nextCheckAt(pending) ?? Number.POSITIVE_INFINITY);
      const sleep = clock.sleep(Math.max(0, wake - clock.now()));
      // New run times can make the straggler cutoff known (or due) before the next poll.
      await (stragglers ? Promise.race([sleep, stragglers.changed()]) : sleep);
      if (stragglers && clock.now() < Math.min(nextPoll, deadline)) {
        await this.cutStragglers(stragglers, pending);
        continue;
      }
      interval = Math.min(maxInterval, Math.ceil(interval * 1.5));
      nextPoll = clock.now() + interval;
      if (stragglers && clock.now() < deadline) {
        // Every pending command has a look of its own ahead (its completion, or its cutoff): a poll
        // would learn nothing they will not, and costs a call per 50 commands.
        if (stragglers.coversAll(pending)) {
          await this.cutStragglers(stragglers, pending);
          continue;
        }
        // No guest has finished yet, so no completion can be expected: one look at the oldest
        // command not looked at yet reads its results (needed anyway) and the run times the looks
        // are timed from, for one call where a poll takes one per 50 commands and a read after it.
        const oldest = stragglers.hasRunTimes() ? undefined : [...pending].find((id) => !stragglers.looked.has(id));
        if (oldest !== undefined) {
          await this.cutStragglers(stragglers, pending, [oldest]);
          continue;
        }
      }
      stats.polls++;
      const terminal = await this.terminalCommands(pending, commands.size, stragglers?.progress);
      const atDeadline = clock.now() >= deadline;
      const toList = atDeadline ? [...pending] : [...terminal];
      for (const commandId of toList) pending.delete(commandId);
      // Reading results back waits its turn at the SSM rate; polling goes on meanwhile on its schedule,
      // so the last (hung) command is noticed when it ends, not when the backlog of reads is through.
      collecting.push(
        mapLimit(toList, this.concurrency, (commandId) =>
          this.collectCommandOf(commandId, !terminal.has(commandId), stragglers),
        ),
      );
      if (atDeadline) break;
      if (stragglers) await this.cutStragglers(stragglers, pending);
    }
    await Promise.all(collecting);
    for (const id of ids) {
      if (!results.has(id)) results.set(id, { instanceId: id, state: 'no-invocation', detail: 'no invocation by the deadline', atDeadline: true });
    }
    return { results, commandIds: [...commands.keys()], errors: [...errors], stats };
  }

  /** Lists one command's unfinished targets and hands their results out. */
  private async collectCommandOf(commandId: string, unfinished: boolean, stragglers?: StragglerWatch): Promise<void> {
    const targets = unfinishedTargets(this.commands.get(commandId) ?? [], this.results);
    await this.collectCommand(commandId, targets, unfinished, stragglers);
    this.handOut(targets);
    stragglers?.wake();
  }

  /**
   * Hands the final results of `ids` to `request.onResults` (each once). Nothing more is handed out
   * once the run has a run-level error: the caller learns of it from `finish()`.
   */
  private handOut(ids: readonly string[]): void {
    const on = this.request.onResults;
    if (!on || this.errors.size > 0) return;
    const out: InvocationResult[] = [];
    for (const id of ids) {
      const r = this.results.get(id);
      // A pending result is not final: the engine may still read the previous run's result for it.
      if (!r || r.state === 'pending' || this.handedOut.has(id)) continue;
      this.handedOut.add(id);
      out.push(r);
    }
    if (out.length === 0) return;
    try {
      on(out);
    } catch (err) {
      this.errors.add(`the results consumer failed: ${errorMessage(err)}`);
    }
  }

  /**
   * Once every target is known, re-cuts the batches still queued so that the last ones are small
   * enough to start all their targets soonest under SSM's delivery ramp (./../core/fleet/command-sizes.ts),
   * within a few extra SendCommand calls. Only for runs with a straggler cutoff (the collector): there
   * the last collector's start decides when a hung one may be left pending. Needs the limiter's
   * schedule; without a limiter the sends are not queued on our side and nothing is re-cut.
   */
  private sizeTail(): void {
    const limiter = this.options.limiter;
    const queued = this.queue.length;
    if (!limiter || queued === 0) return;
    const ids = this.queue.flat();
    const extra = Math.min(TAIL_EXTRA_COMMANDS_MAX, Math.floor(TAIL_EXTRA_COMMANDS_SHARE * (this.stats.sendCommand + queued)));
    const maxCommands = queued + extra;
    const eta = Array.from({ length: maxCommands }, (_, j) => limiter.etaMs(j));
    const sizes = tailCommandSizes({ targets: ids.length, sendAtMs: (j) => eta[j] ?? Number.POSITIVE_INFINITY, maxCommands });
    if (sizes.length === queued) return;
    const batches: string[][] = [];
    let at = 0;
    for (const size of sizes) {
      batches.push(ids.slice(at, at + size));
      at += size;
    }
    this.queue.splice(0, queued, ...batches);
    while (this.workers < Math.min(this.concurrency, this.queue.length)) void this.work();
  }

  /** Records a late result (pending at the cutoff, or ended by SSM at its timeout); the first one tells `request.onLate`. */
  private setLate(r: InvocationResult): void {
    this.results.set(r.instanceId, r);
    this.noteLate();
  }

  /** Tells `request.onLate`, once: a collector is (or is about to be) left late. */
  private noteLate(): void {
    if (this.lateNoted || !this.request.onLate) return;
    this.lateNoted = true;
    try {
      this.request.onLate();
    } catch (err) {
      this.errors.add(`the late-collector hook failed: ${errorMessage(err)}`);
    }
  }

  /** Queues a batch; one holding an instance to start first goes ahead of the batches waiting. */
  private enqueue(batch: string[], first = false): void {
    this.firstSentAt ??= this.options.clock.now();
    if (first) this.queue.unshift(batch);
    else this.queue.push(batch);
    if (this.workers < this.concurrency) void this.work();
  }

  /** One sender of the pool: takes batches off the queue until it is empty. */
  private async work(): Promise<void> {
    this.workers++;
    try {
      for (let batch = this.queue.shift(); batch; batch = this.queue.shift()) {
        try {
          await this.sendBatch({ batch, budget: this.options.bisectBudget });
        } catch (err) {
          const detail = `SendCommand failed: ${errorName(err)}: ${errorMessage(err)}`;
          this.errors.add(detail);
          for (const id of batch) this.results.set(id, { instanceId: id, state: 'send-failed', detail });
        }
      }
    } finally {
      this.workers--;
      if (this.workers === 0) this.idle.splice(0).forEach((resolve) => resolve());
    }
  }

  /**
   * Sends one batch; on InvalidInstanceId bisects (bounded) to isolate the ids that are gone, and on
   * AccessDenied isolates the instances IAM denies (see {@link isolateDenied}).
   */
  private async sendBatch({ batch, budget }: SendBatch): Promise<number> {
    const { ssm, clock } = this.options;
    const { request, commands, results, errors, stats, retry } = this;
    if (this.refused !== undefined) {
      errors.add(this.refused);
      for (const id of batch) results.set(id, { instanceId: id, state: 'send-failed', detail: this.refused });
      return budget;
    }
    try {
      stats.sendCommand++;
      const out = await withRetry(
        () =>
          ssm.send(
            new SendCommandCommand({
              DocumentName: request.documentName,
              // SSM compares this with the Hash of the version it would run and refuses the whole
              // command on a difference: the document's name never decides what runs as root.
              ...(request.documentHash !== undefined ? { DocumentHash: request.documentHash, DocumentHashType: 'Sha256' as const } : {}),
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
      this.stragglers?.sent(commandId, out.Command?.RequestedDateTime?.getTime() ?? clock.now());
      return budget;
    } catch (err) {
      const name = errorName(err);
      if (name === 'InvalidInstanceId') {
        // SSM names the bad ids in its message: drop them and resend once instead of bisecting.
        const named = invalidIdsFromMessage(errorMessage(err)).filter((id) => batch.includes(id));
        if (named.length > 0 && named.length < batch.length && budget >= 1) {
          for (const id of named) results.set(id, { instanceId: id, state: 'gone', status: name, detail: errorMessage(err) });
          const rest = batch.filter((id) => !named.includes(id));
          return this.sendBatch({ batch: rest, budget: budget - 1 });
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
        left = await this.sendBatch({ batch: batch.slice(0, mid), budget: left });
        return this.sendBatch({ batch: batch.slice(mid), budget: left });
      }
      if (isAccessDenied(name)) {
        const resend = (ids: readonly string[], left: number): Promise<number> => this.sendBatch({ batch: ids, budget: left });
        return this.isolateDenied(batch, budget, name, errorMessage(err), resend);
      }
      if (name === 'InvalidDocument') {
        // The document is not the pinned one (changed in place, another same-name document) or is
        // missing: every batch would be refused alike, so none is sent after this one.
        this.refused =
          `SendCommand refused: ${name}: ${errorMessage(err)} (document ${request.documentName}` +
          `${request.documentHash !== undefined ? `, pinned SHA-256 ${request.documentHash}` : ''}): nothing ran, nothing of it is judged`;
        errors.add(this.refused);
        for (const id of batch) results.set(id, { instanceId: id, state: 'send-failed', status: name, detail: this.refused });
        return budget;
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
    resend: (ids: readonly string[], budget: number) => Promise<number>,
  ): Promise<number> {
    const { results, errors } = this;
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
   * what finished, and turns invocations past the cutoff into `pending`. They are not cancelled:
   * the collector only reads, so it may finish after this run, and the next run reads its result
   * (RunCommandPort.previousResults). A command with guests still within the cutoff stays pending
   * and is looked at again when the first of them would pass it.
   */
  private async cutStragglers(watch: StragglerWatch, pending: Set<string>, only?: readonly string[]): Promise<void> {
    const now = this.options.clock.now();
    const cutoffMs = watch.cutoffMs(pending);
    const sweepAt = watch.sweepAt(pending, cutoffMs);
    const due = only ?? [...pending].filter((id) => watch.lookDue(id, cutoffMs, now, sweepAt));
    // Cutoff looks at commands whose only unfinished guests were running at their last look: one
    // sweep of the run's invocations still in progress answers for all of them (see sweepRunning).
    const relists = only || cutoffMs === undefined ? [] : due.filter((id) => watch.runningGuests.has(id) && watch.lookAt(id) === undefined);
    const swept = relists.length >= 2 ? await this.sweepRunning(watch, relists, cutoffMs!, pending) : new Set<string>();
    await mapLimit(
      due.filter((id) => !swept.has(id)),
      this.concurrency,
      async (commandId) => {
        watch.looked.add(commandId);
        // Started at: each guest still running (within the cutoff, or with none known yet).
        const running = new Map<string, number>();
        const all = this.commands.get(commandId) ?? [];
        const targets = unfinishedTargets(all, this.results);
        await this.collectCommand(commandId, targets, false, watch, { cutoffMs: cutoffMs ?? Number.POSITIVE_INFINITY, running });
        this.handOut(targets);
        this.afterCutoffLook(watch, pending, commandId, now, running, cutoffMs);
      },
    );
  }

  /** Records what a cutoff look (a listing or a sweep) left running on a command. */
  private afterCutoffLook(watch: StragglerWatch, pending: Set<string>, commandId: string, now: number, running: ReadonlyMap<string, number>, cutoffMs: number | undefined): void {
    const all = this.commands.get(commandId) ?? [];
    // A guest running longer than any that finished will likely be left pending: what late
    // collectors need (the previous runs' commands) can be listed now, while the run goes on.
    if (watch.pastHealthy(running, now)) this.noteLate();
    watch.afterLook(commandId, now, running);
    watch.progress.set(commandId, { ...watch.progress.get(commandId), completed: all.length - running.size });
    if (running.size === 0) {
      pending.delete(commandId);
      watch.relistAt.delete(commandId);
      watch.relookAt.delete(commandId);
      watch.runningGuests.delete(commandId);
    } else {
      const since = Math.min(...running.values());
      watch.runningGuests.set(commandId, new Map(running));
      if (cutoffMs !== undefined) watch.relistAt.set(commandId, since + cutoffMs);
    }
  }

  /**
   * One sweep for the cutoff looks of several commands: lists the run's invocations still
   * `InProgress` (ListCommandInvocations filtered by status, this document and the run's start,
   * 50 a page) instead of every command's again. A guest found still in progress past the cutoff is
   * left `pending` as a listing would; one found no longer in progress (it ended, or SSM shows it in
   * another state) sends its command to the per-command listing, which reads its result. Returns
   * the commands it settled. Settles none when the sweep fails or runs past the pages its guests
   * need (invocations of other runs of the same document): the listings do the work then.
   */
  private async sweepRunning(watch: StragglerWatch, commandIds: readonly string[], cutoffMs: number, pending: Set<string>): Promise<Set<string>> {
    const { ssm, clock } = this.options;
    const { request, stats, retry } = this;
    const guests = commandIds.reduce((n, id) => n + (watch.runningGuests.get(id)?.size ?? 0), 0);
    const maxPages = Math.ceil(guests / 50) + 1;
    const inProgress = new Set<string>();
    const invokedAfter = new Date((this.firstSentAt ?? this.start) - 60_000).toISOString();
    try {
      let token: string | undefined;
      let pages = 0;
      do {
        if (pages >= maxPages) return new Set();
        pages++;
        stats.listCommandInvocationsPages++;
        const out = await filteredInvocationsPage(
          { ssm, clock, retry },
          [
            { key: 'Status', value: 'InProgress' },
            { key: 'DocumentName', value: request.documentName },
            { key: 'InvokedAfter', value: invokedAfter },
          ],
          token,
          false,
        );
        for (const inv of out.CommandInvocations ?? []) {
          // Only what the filter asked for counts: a row in any other state says nothing.
          if (inv.CommandId && inv.InstanceId && inv.Status === 'InProgress') inProgress.add(`${inv.CommandId}/${inv.InstanceId}`);
        }
        token = out.NextToken;
      } while (token);
    } catch {
      return new Set();
    }
    const now = clock.now();
    const settled = new Set<string>();
    for (const commandId of commandIds) {
      const before = watch.runningGuests.get(commandId) ?? new Map<string, number>();
      const targets = unfinishedTargets(this.commands.get(commandId) ?? [], this.results);
      // Every unfinished target must be one the last look saw running, and still in progress now.
      if (!targets.every((id) => before.has(id) && inProgress.has(`${commandId}/${id}`))) continue;
      const running = new Map<string, number>();
      for (const id of targets) {
        const since = before.get(id)!;
        if (now - since >= cutoffMs) this.setLate(stragglerResult(id, 'InProgress', commandId, now - since, cutoffMs));
        else running.set(id, since);
      }
      watch.looked.add(commandId);
      this.afterCutoffLook(watch, pending, commandId, now, running, cutoffMs);
      settled.add(commandId);
    }
    return settled;
  }

  /** One poll: which of the pending commands are terminal (and, for the straggler cutoff, how far the others got). */
  private async terminalCommands(pending: ReadonlySet<string>, issued: number, progress?: Map<string, CommandProgress>): Promise<Set<string>> {
    const { ssm, clock } = this.options;
    const { start, stats, retry } = this;
    const terminal = new Set<string>();
    if (pending.size <= Math.ceil(issued / 50)) {
      // Few commands left: asking by id costs no more calls than the listing's pages, and is exact.
      // Side by side: the last hung command is noticed one call after the poll, not after the others.
      await mapLimit([...pending], this.concurrency, async (commandId) => {
        stats.listCommands++;
        const out = await withRetry(() => ssm.send(new ListCommandsCommand({ CommandId: commandId })), clock, { operation: 'ListCommands', ...retry });
        const status = out.Commands?.[0]?.Status;
        if (isTerminalCommandStatus(status)) terminal.add(commandId);
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
        if (c.CommandId && pending.has(c.CommandId) && isTerminalCommandStatus(c.Status)) terminal.add(c.CommandId);
        if (progress && c.CommandId && pending.has(c.CommandId)) progress.set(c.CommandId, commandProgress(c));
      }
      token = out.NextToken;
    } while (token);
    return terminal;
  }

  /**
   * Lists a command's invocations once (Details pages) and records one result per instance. With
   * `cutoff` (a look at a running command), an invocation still running is `pending` past the
   * cutoff (+∞ while none is known), or else goes to `cutoff.running` with the moment it started.
   */
  private async collectCommand(
    commandId: string,
    targets: readonly string[],
    unfinished: boolean,
    stragglers?: StragglerWatch,
    cutoff?: { readonly cutoffMs: number; readonly running: Map<string, number> },
  ): Promise<void> {
    const { ssm, clock } = this.options;
    const { request, results, stats, retry } = this;
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
          const since = invocationStart(inv) ?? requestedAt ?? inv.RequestedDateTime?.getTime() ?? clock.now();
          if (clock.now() - since >= cutoff.cutoffMs) this.setLate(stragglerResult(id, inv.Status, commandId, clock.now() - since, cutoff.cutoffMs));
          else cutoff.running.set(id, since);
          continue;
        }
        const r = toInvocationResult(inv, commandId, unfinished);
        if (r.state === 'timed-out') this.setLate(r);
        else results.set(id, r);
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
        if (clock.now() - since >= cutoff.cutoffMs) this.setLate(stragglerResult(id, undefined, commandId, clock.now() - since, cutoff.cutoffMs));
        else cutoff.running.set(id, since);
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
    await mapLimit(cut, this.concurrency, async ({ id, plugin, base }) => {
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
