/**
 * The pure half of the Run Command adapter: how SSM's answers map to the engines' results (invocation
 * states, stdout/stderr, cut outputs) and what SSM's error messages name (gone ids, denied
 * resources). No calls, no clock: table-tested in test/aws/run-command-invocation.test.ts.
 */
import type { CommandInvocation } from '@aws-sdk/client-ssm';
import type { InvocationResult, InvocationState } from '../engine/ports';

/** SendCommand accepts at most 50 instance ids. */
export const MAX_IDS_PER_SEND = 50;
/** ListCommandInvocations with Details returns at most this many characters of a plugin's output. */
export const DETAILS_OUTPUT_LIMIT = 2500;

const TERMINAL_COMMAND = new Set(['Success', 'Failed', 'TimedOut', 'Cancelled']);

/** A command in one of these states runs no more (its invocations can be listed once). */
export function isTerminalCommandStatus(status: string | undefined): boolean {
  return status !== undefined && TERMINAL_COMMAND.has(status);
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

export function isAccessDenied(name: string): boolean {
  return name === 'AccessDeniedException' || name === 'AccessDenied';
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
export function outputPlugins(inv: CommandInvocation): NonNullable<CommandInvocation['CommandPlugins']> {
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

export function cutPlugin(inv: CommandInvocation, endMarker?: string): string | undefined {
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

/** One listed invocation as the engines see it (`unfinished`: listed at the deadline, not because it ended). */
export function toInvocationResult(inv: CommandInvocation, commandId: string, unfinished: boolean): InvocationResult {
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

export function errorName(err: unknown): string {
  if (err && typeof err === 'object') {
    const e = err as { name?: unknown; Code?: unknown };
    if (typeof e.name === 'string' && e.name !== 'Error') return e.name;
    if (typeof e.Code === 'string') return e.Code;
  }
  return 'Error';
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
