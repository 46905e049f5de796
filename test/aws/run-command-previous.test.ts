/**
 * SsmRunCommand.prefetchPrevious: the look-back window's commands are listed once, when the check's
 * first collector is late, and `previousResults` for that window only reads the invocations; a
 * failed listing is seen by `previousResults` (never an unhandled rejection), and another window
 * is listed afresh.
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
