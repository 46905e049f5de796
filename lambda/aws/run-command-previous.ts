/**
 * How an earlier run's `pending` collectors ended, read back from SSM itself: no store of our own.
 * A collector left running at a run's straggler cutoff keeps running in SSM; the command (its
 * targets, its document, its comment) and the invocation's result stay listable for 30 days. So
 * the next run, for the instances it could not read either, lists the commands of the look-back
 * window (one ListCommands page per 50 commands, filtered by document and time) and reads, for each
 * of those instances, its latest invocation there (one ListCommandInvocations with `Details`).
 * Nothing is written; what SSM returns is untrusted like any guest output: ids are checked, the
 * output is only ever diagnosed, and an invocation is matched only to an instance the caller asked for.
 */
import { type Command, type CommandFilter, type CommandInvocation, ListCommandInvocationsCommand, type ListCommandInvocationsCommandOutput, ListCommandsCommand, type SSMClient } from '@aws-sdk/client-ssm';
import { mapLimit } from '../core/util/batching';
import type { Clock, InvocationResult, PreviousResultsRequest, PreviousWindow } from '../engine/ports';
import { type RetryOptions, withRetry } from './retry';
import { toInvocationResult } from './run-command-invocation';

/** What reading previous results needs (the session's client, clock, limiter-aware retry). */
export interface PreviousResultsOptions {
  readonly ssm: Pick<SSMClient, 'send'>;
  readonly clock: Clock;
  readonly retry?: RetryOptions;
  /** Calls in flight at once. @default 8 */
  readonly concurrency?: number;
  /** Counts each call (the run's stats). */
  readonly onCall?: (operation: 'ListCommands' | 'ListCommandInvocations') => void;
}

/** Most commands of the look-back window read (50 per page): a bound on the calls, whatever SSM lists. */
const MAX_LISTED_COMMANDS = 5_000;
const COMMAND_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** One command of the look-back window that is ours (document, window, comment), with its targets. */
export interface PreviousCommand {
  readonly commandId: string;
  readonly at: number;
  readonly instanceIds: readonly string[];
}

/**
 * The window's commands (one ListCommands page per 50, sequential), checked as untrusted: a
 * command id of SSM's form, a time in the window, the document and comment asked for, string ids.
 */
export async function listPreviousCommands(options: PreviousResultsOptions, window: PreviousWindow): Promise<PreviousCommand[]> {
  const { ssm, clock } = options;
  const retry = options.retry ?? {};
  const out: PreviousCommand[] = [];
  if (!(window.before > window.after)) return out;
  let token: string | undefined;
  let listed = 0;
  do {
    options.onCall?.('ListCommands');
    const page = await withRetry(
      () =>
        ssm.send(
          new ListCommandsCommand({
            Filters: [
              { key: 'InvokedAfter', value: new Date(window.after).toISOString() },
              { key: 'InvokedBefore', value: new Date(window.before).toISOString() },
              { key: 'DocumentName', value: window.documentName },
            ],
            MaxResults: 50,
            NextToken: token,
          }),
        ),
      clock,
      { operation: 'ListCommands', ...retry },
    );
    for (const c of page.Commands ?? []) {
      const ours = ourCommand(c, window);
      if (ours) out.push(ours);
    }
    listed += page.Commands?.length ?? 0;
    token = typeof page.NextToken === 'string' && page.NextToken !== '' ? page.NextToken : undefined;
  } while (token && listed < MAX_LISTED_COMMANDS);
  return out;
}

/**
 * One page (50) of the account's invocations that match every filter, across commands (for the
 * filters, SSM's CommandFilter: Status, DocumentName, InvokedAfter, InvokedBefore), retried.
 */
export function filteredInvocationsPage(
  options: Pick<PreviousResultsOptions, 'ssm' | 'clock' | 'retry'>,
  filters: readonly CommandFilter[],
  token: string | undefined,
  details: boolean,
): Promise<ListCommandInvocationsCommandOutput> {
  return withRetry(
    () => options.ssm.send(new ListCommandInvocationsCommand({ Filters: [...filters], ...(details ? { Details: true } : {}), MaxResults: 50, ...(token ? { NextToken: token } : {}) })),
    options.clock,
    { operation: 'ListCommandInvocations', ...(options.retry ?? {}) },
  );
}

/** Most pages of the window's timed-out collectors read (50 a page): past it, per-instance reads do the rest. */
const MAX_TIMED_OUT_PAGES = 20;

/**
 * The window's collector invocations that SSM ended `TimedOut` (hung guests, or never delivered),
 * keyed `commandId/instanceId`: one ListCommandInvocations filtered by status, document and window
 * (50 a page, with `Details`), checked as untrusted like {@link listPreviousCommands}. A hung
 * collector is usually hung again: the check starts these instances' collectors first, so their
 * straggler cutoff runs out while the rest of the fleet is still being checked, and the two-run
 * rule reads their previous result from here instead of one call per instance. Bounded by
 * {@link MAX_TIMED_OUT_PAGES}; what it leaves out is read per instance.
 */
export async function listTimedOut(options: PreviousResultsOptions, window: PreviousWindow): Promise<Map<string, CommandInvocation>> {
  const { ssm, clock } = options;
  const retry = options.retry ?? {};
  const out = new Map<string, CommandInvocation>();
  if (!(window.before > window.after)) return out;
  let token: string | undefined;
  let pages = 0;
  do {
    options.onCall?.('ListCommandInvocations');
    pages++;
    const page = await filteredInvocationsPage(
      { ssm, clock, retry },
      [
        { key: 'Status', value: 'TimedOut' },
        { key: 'DocumentName', value: window.documentName },
        { key: 'InvokedAfter', value: new Date(window.after).toISOString() },
        { key: 'InvokedBefore', value: new Date(window.before).toISOString() },
      ],
      token,
      true,
    );
    for (const inv of page.CommandInvocations ?? []) {
      const at = inv.RequestedDateTime?.getTime();
      if (typeof inv.CommandId !== 'string' || !COMMAND_ID.test(inv.CommandId) || typeof inv.InstanceId !== 'string' || inv.Status !== 'TimedOut') continue;
      if (inv.DocumentName !== window.documentName || at === undefined || !Number.isFinite(at) || at < window.after || at >= window.before) continue;
      if (window.comment !== undefined && inv.Comment !== window.comment) continue;
      out.set(`${inv.CommandId}/${inv.InstanceId}`, inv);
    }
    token = typeof page.NextToken === 'string' && page.NextToken !== '' ? page.NextToken : undefined;
  } while (token && pages < MAX_TIMED_OUT_PAGES);
  return out;
}

/**
 * The latest invocation on each asked instance among the window's commands (see the file comment).
 * `listed`: the window's commands if already being listed ({@link listPreviousCommands}, started
 * early by SsmRunCommand.prefetchPrevious); else they are listed here. `timedOut`: the window's
 * timed-out invocations ({@link listTimedOut}) if listed: an instance whose latest invocation is
 * among them is read from there, with no call of its own.
 */
export async function readPreviousResults(
  options: PreviousResultsOptions,
  request: PreviousResultsRequest,
  listed?: Promise<readonly PreviousCommand[]>,
  timedOut?: Promise<ReadonlyMap<string, CommandInvocation>>,
): Promise<Map<string, InvocationResult>> {
  const { ssm, clock } = options;
  const retry = options.retry ?? {};
  const out = new Map<string, InvocationResult>();
  const wanted = new Set(request.instanceIds);
  if (wanted.size === 0 || !(request.before > request.after)) return out;
  // The latest command of the window that targeted each wanted instance.
  const latest = new Map<string, { commandId: string; at: number }>();
  for (const c of await (listed ?? listPreviousCommands(options, request))) {
    for (const id of c.instanceIds) {
      if (!wanted.has(id)) continue;
      const seen = latest.get(id);
      if (!seen || c.at > seen.at) latest.set(id, { commandId: c.commandId, at: c.at });
    }
  }
  // A failed listing of the timed-out ones only costs the per-instance reads.
  const ended = timedOut ? await timedOut.catch(() => undefined) : undefined;
  await mapLimit([...latest], options.concurrency ?? 8, async ([instanceId, { commandId }]) => {
    let inv = ended?.get(`${commandId}/${instanceId}`);
    if (!inv) {
      options.onCall?.('ListCommandInvocations');
      const page = await withRetry(
        () => ssm.send(new ListCommandInvocationsCommand({ CommandId: commandId, InstanceId: instanceId, Details: true, MaxResults: 1 })),
        clock,
        { operation: 'ListCommandInvocations', ...retry },
      );
      inv = (page.CommandInvocations ?? []).find((i) => i.InstanceId === instanceId && i.CommandId === commandId);
    }
    if (!inv) return;
    const ends = (inv.CommandPlugins ?? []).map((p) => p.ResponseFinishDateTime?.getTime()).filter((t): t is number => typeof t === 'number' && Number.isFinite(t));
    const r = toInvocationResult(inv, commandId, false);
    out.set(instanceId, { ...r, instanceId, ...(ends.length > 0 ? { finishedAt: Math.max(...ends) } : {}) });
  });
  return out;
}

/** `c` as one of the window's commands if it is the document's, in the window, and (when asked) ours by its comment. */
function ourCommand(c: Command, window: PreviousWindow): PreviousCommand | undefined {
  const at = c.RequestedDateTime?.getTime();
  if (typeof c.CommandId !== 'string' || !COMMAND_ID.test(c.CommandId) || at === undefined || !Number.isFinite(at)) return undefined;
  if (c.DocumentName !== window.documentName || at < window.after || at >= window.before) return undefined;
  if (window.comment !== undefined && c.Comment !== window.comment) return undefined;
  if (!Array.isArray(c.InstanceIds)) return undefined;
  return { commandId: c.CommandId, at, instanceIds: c.InstanceIds.filter((id): id is string => typeof id === 'string') };
}
