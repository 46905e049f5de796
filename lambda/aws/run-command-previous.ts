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
import { type Command, ListCommandInvocationsCommand, ListCommandsCommand, type SSMClient } from '@aws-sdk/client-ssm';
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
 * The latest invocation on each asked instance among the window's commands (see the file comment).
 * `listed`: the window's commands if already being listed ({@link listPreviousCommands}, started
 * early by SsmRunCommand.prefetchPrevious); else they are listed here.
 */
export async function readPreviousResults(options: PreviousResultsOptions, request: PreviousResultsRequest, listed?: Promise<readonly PreviousCommand[]>): Promise<Map<string, InvocationResult>> {
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
  await mapLimit([...latest], options.concurrency ?? 8, async ([instanceId, { commandId }]) => {
    options.onCall?.('ListCommandInvocations');
    const page = await withRetry(
      () => ssm.send(new ListCommandInvocationsCommand({ CommandId: commandId, InstanceId: instanceId, Details: true, MaxResults: 1 })),
      clock,
      { operation: 'ListCommandInvocations', ...retry },
    );
    const inv = (page.CommandInvocations ?? []).find((i) => i.InstanceId === instanceId && i.CommandId === commandId);
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
