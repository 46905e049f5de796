/**
 * SsmRunCommand.prefetchPrevious: the look-back window's commands are listed once, when the check's
 * first collector is late, and `previousResults` for that window only reads the invocations; a
 * failed listing is seen by `previousResults` (never an unhandled rejection), and another window
 * is listed afresh. recentTimedOut: one listing of the window's timed-out collectors, checked as untrusted, that spares previousResults a read per instance.
 */
import { ListCommandInvocationsCommand, ListCommandsCommand, type SSMClient } from '@aws-sdk/client-ssm';
import { SsmRunCommand } from '../../lambda/aws/run-command';
import type { PreviousWindow } from '../../lambda/engine/ports';

const T = Date.UTC(2026, 0, 1, 12);
const clock = { now: () => T, sleep: async () => undefined };
const COMMAND = '0000000a-0000-4000-8000-00000000000a';
const window: PreviousWindow = { documentName: 'TimeSyncGuard-Collect', comment: 'timesync-guard check', after: T - 7_200_000, before: T };

function fakeSsm(listCommands: () => Promise<unknown>): { ssm: SSMClient; sent: string[] } {
  const sent: string[] = [];
  const send = async (c: unknown): Promise<unknown> => {
    sent.push((c as object).constructor.name);
    if (c instanceof ListCommandsCommand) return listCommands();
    if (c instanceof ListCommandInvocationsCommand) {
      const finished = new Date(T - 3_600_000);
      return { CommandInvocations: [{ CommandId: COMMAND, InstanceId: 'i-0123456789abcdef0', Status: 'TimedOut', StatusDetails: 'ExecutionTimedOut', CommandPlugins: [{ Status: 'TimedOut', ResponseFinishDateTime: finished, Output: '' }] }] };
    }
    throw new Error(`unexpected ${(c as object).constructor.name}`);
  };
  return { ssm: { send } as unknown as SSMClient, sent };
}

const oneCommand = async () => ({
  Commands: [{ CommandId: COMMAND, DocumentName: 'TimeSyncGuard-Collect', Comment: 'timesync-guard check', RequestedDateTime: new Date(T - 3_600_000), InstanceIds: ['i-0123456789abcdef0'] }],
});

test('after prefetchPrevious, previousResults for the same window lists nothing more: it only reads the invocation', async () => {
  const { ssm, sent } = fakeSsm(oneCommand);
  const rc = new SsmRunCommand({ ssm, clock, rateLimit: false });
  rc.prefetchPrevious(window);
  rc.prefetchPrevious(window); // the same window again: still one listing
  const out = await rc.previousResults({ ...window, instanceIds: ['i-0123456789abcdef0'] });
  expect(out.get('i-0123456789abcdef0')).toMatchObject({ state: 'timed-out', commandId: COMMAND });
  expect(sent).toEqual(['ListCommandsCommand', 'ListCommandInvocationsCommand']);
});

test('a failed prefetch is seen by previousResults (it rejects), not lost and not an unhandled rejection', async () => {
  const { ssm } = fakeSsm(() => Promise.reject(Object.assign(new Error('User is not authorized to perform: ssm:ListCommands'), { name: 'AccessDeniedException' })));
  const rc = new SsmRunCommand({ ssm, clock, rateLimit: false, retry: { maxAttempts: 1 } });
  rc.prefetchPrevious(window);
  await new Promise((resolve) => setImmediate(resolve));
  await expect(rc.previousResults({ ...window, instanceIds: ['i-0123456789abcdef0'] })).rejects.toThrow(/ssm:ListCommands/);
});

test('previousResults for another window lists that window itself', async () => {
  const { ssm, sent } = fakeSsm(oneCommand);
  const rc = new SsmRunCommand({ ssm, clock, rateLimit: false });
  rc.prefetchPrevious({ ...window, before: T - 1 });
  await rc.previousResults({ ...window, instanceIds: ['i-0123456789abcdef0'] });
  expect(sent.filter((n) => n === 'ListCommandsCommand')).toHaveLength(2);
});

describe("recentTimedOut: the look-back window's timed-out collectors", () => {
  const id = (k: number): string => `i-0123456789abcdef${k}`;
  const row = (k: number, over: Record<string, unknown> = {}) => ({
    CommandId: COMMAND,
    InstanceId: id(k),
    DocumentName: 'TimeSyncGuard-Collect',
    Comment: 'timesync-guard check',
    RequestedDateTime: new Date(T - 3_600_000),
    Status: 'TimedOut',
    StatusDetails: 'ExecutionTimedOut',
    CommandPlugins: [{ Status: 'TimedOut', ResponseFinishDateTime: new Date(T - 3_570_000), Output: '' }],
    ...over,
  });

  function ssmWith(listing: () => Promise<unknown>): { ssm: SSMClient; sent: { name: string; input: Record<string, unknown> }[] } {
    const sent: { name: string; input: Record<string, unknown> }[] = [];
    const send = async (c: unknown): Promise<unknown> => {
      const input = (c as { input: Record<string, unknown> }).input;
      sent.push({ name: (c as object).constructor.name, input });
      if (c instanceof ListCommandsCommand) {
        return { Commands: [{ CommandId: COMMAND, DocumentName: 'TimeSyncGuard-Collect', Comment: 'timesync-guard check', RequestedDateTime: new Date(T - 3_600_000), InstanceIds: [id(0), id(1)] }] };
      }
      if (c instanceof ListCommandInvocationsCommand && input['CommandId'] === undefined) return listing();
      if (c instanceof ListCommandInvocationsCommand) return { CommandInvocations: [row(Number(String(input['InstanceId']).slice(-1)))] };
      throw new Error(`unexpected ${(c as object).constructor.name}`);
    };
    return { ssm: { send } as unknown as SSMClient, sent };
  }

  test("keeps only the check's own rows in the window, and previousResults reads those with no call per instance", async () => {
    const { ssm, sent } = ssmWith(async () => ({
      CommandInvocations: [
        row(0),
        row(1, { Comment: 'someone else' }),
        row(2, { DocumentName: 'Other-Document' }),
        row(3, { RequestedDateTime: new Date(T) }),
        row(4, { CommandId: 'not-a-command-id' }),
        row(5, { Status: 'Success' }),
        { ...row(6), InstanceId: 42 },
      ],
    }));
    const rc = new SsmRunCommand({ ssm, clock, rateLimit: false });
    expect([...(await rc.recentTimedOut(window))]).toEqual([id(0)]);
    expect(sent[0]!.input['Filters']).toEqual([
      { key: 'Status', value: 'TimedOut' },
      { key: 'DocumentName', value: 'TimeSyncGuard-Collect' },
      { key: 'InvokedAfter', value: new Date(window.after).toISOString() },
      { key: 'InvokedBefore', value: new Date(window.before).toISOString() },
    ]);
    const out = await rc.previousResults({ ...window, instanceIds: [id(0), id(1)] });
    expect(out.get(id(0))).toMatchObject({ state: 'timed-out', commandId: COMMAND, finishedAt: T - 3_570_000 });
    expect(out.get(id(1))).toMatchObject({ state: 'timed-out', commandId: COMMAND });
    // The listing once; the window's commands; a read for the instance the listing did not vouch for.
    expect(sent.map((c) => [c.name, c.input['InstanceId']])).toEqual([
      ['ListCommandInvocationsCommand', undefined],
      ['ListCommandsCommand', undefined],
      ['ListCommandInvocationsCommand', id(1)],
    ]);
  });

  test('a failed listing is an empty set, and previousResults then reads each instance', async () => {
    const { ssm, sent } = ssmWith(() => Promise.reject(Object.assign(new Error('User is not authorized'), { name: 'AccessDeniedException' })));
    const rc = new SsmRunCommand({ ssm, clock, rateLimit: false, retry: { maxAttempts: 1 } });
    expect((await rc.recentTimedOut(window)).size).toBe(0);
    const out = await rc.previousResults({ ...window, instanceIds: [id(0)] });
    expect(out.get(id(0))).toMatchObject({ state: 'timed-out' });
    expect(sent.filter((c) => c.input['InstanceId'] === id(0))).toHaveLength(1);
  });
});
