import type { CommandInvocation } from '@aws-sdk/client-ssm';
import {
  cutPlugin,
  deniedResourceFromMessage,
  DETAILS_OUTPUT_LIMIT,
  instanceIdFromArn,
  invalidIdsFromMessage,
  invocationState,
  isCut,
  isTerminalCommandStatus,
  splitOutput,
  STDERR_SEPARATOR,
  toInvocationResult,
} from '../../lambda/aws/run-command-invocation';

describe('invocationState', () => {
  it.each([
    ['Success', undefined, 'success'],
    ['Failed', 'Failed', 'failed'],
    ['TimedOut', undefined, 'timed-out'],
    ['Failed', 'ExecutionTimedOut', 'timed-out'],
    ['TimedOut', 'DeliveryTimedOut', 'timed-out'],
    ['Failed', 'Undeliverable', 'undeliverable'],
    ['Failed', 'InvalidPlatform', 'undeliverable'],
    ['Failed', 'Terminated', 'terminated'],
    ['Cancelled', undefined, 'cancelled'],
    ['Cancelling', undefined, 'cancelled'],
    ['InProgress', undefined, 'timed-out'],
    [undefined, undefined, 'timed-out'],
  ])('%s / %s → %s', (status, details, expected) => {
    expect(invocationState(status, details)).toBe(expected);
  });
});

describe('isTerminalCommandStatus', () => {
  it.each([
    ['Success', true],
    ['Failed', true],
    ['TimedOut', true],
    ['Cancelled', true],
    ['InProgress', false],
    ['Pending', false],
    [undefined, false],
  ])('%s → %s', (status, expected) => expect(isTerminalCommandStatus(status)).toBe(expected));
});

describe('toInvocationResult', () => {
  const inv = (o: Partial<CommandInvocation>): CommandInvocation => ({ InstanceId: 'i-0123456789abcdef0', Status: 'Success', ...o });
  it.each<[string, CommandInvocation, boolean, Record<string, unknown>]>([
    ['stdout of the step that ran; the skipped step’s notice ignored', inv({ CommandPlugins: [{ Name: 'linux', Output: 'TSG ok', ResponseCode: 0 }, { Name: 'windows', Output: 'Step execution skipped due to unsatisfied preconditions', ResponseCode: 0 }] }), false, { state: 'success', output: 'TSG ok', responseCode: 0 }],
    ['stderr goes to the detail, not the output', inv({ Status: 'Failed', StatusDetails: 'Failed', CommandPlugins: [{ Name: 'linux', Output: `out\n${STDERR_SEPARATOR}\nboom`, ResponseCode: 2 }] }), false, { state: 'failed', output: 'out', responseCode: 2, detail: 'Failed; stderr: boom' }],
    ['only stderr: the raw text is kept as output', inv({ Status: 'Failed', CommandPlugins: [{ Name: 'linux', Output: `${STDERR_SEPARATOR}\nboom`, ResponseCode: 1 }] }), false, { state: 'failed', output: `${STDERR_SEPARATOR}\nboom` }],
    ['still running at the deadline', inv({ Status: 'InProgress' }), true, { state: 'timed-out', atDeadline: true, detail: 'still running at the deadline' }],
    ['no plugins: no output', inv({ Status: 'Success' }), false, { state: 'success' }],
  ])('%s', (_name, i, unfinished, expected) => {
    const r = toInvocationResult(i, 'c1', unfinished);
    expect(r).toMatchObject({ instanceId: 'i-0123456789abcdef0', commandId: 'c1', ...expected });
    if (!('output' in expected)) expect(r.output).toBeUndefined();
  });
});

describe('splitOutput, isCut, cutPlugin', () => {
  it.each([
    ['no stderr', 'a\nb', { stdout: 'a\nb' }],
    ['stderr after the separator', `a\n${STDERR_SEPARATOR}\n e `, { stdout: 'a', stderr: 'e' }],
  ])('splitOutput: %s', (_n, text, expected) => expect(splitOutput(text)).toEqual(expected));

  it.each<[string, string, string | undefined, boolean]>([
    ['at the Details limit', 'x'.repeat(DETAILS_OUTPUT_LIMIT), undefined, true],
    ['short, no marker asked', 'short', undefined, false],
    ['marker present', 'A\nEND', 'END', false],
    ['marker missing', 'A\n', 'END', true],
    ['blank output is not cut', '   ', 'END', false],
  ])('isCut: %s', (_n, out, marker, expected) => expect(isCut(out, marker)).toBe(expected));

  it('names the step only when the document has several', () => {
    expect(cutPlugin({ CommandPlugins: [{ Name: 'only', Output: 'x' }] })).toBeUndefined();
    expect(cutPlugin({ CommandPlugins: [{ Name: 'linux', Output: 'A' }, { Name: 'windows', Output: 'Step execution skipped' }] }, 'END')).toBe('linux');
  });
});

describe('what SSM and IAM messages name', () => {
  it.each([
    ['Instances [[i-0123456789abcdef0, mi-0123456789abcdef1]] not in a valid state', ['i-0123456789abcdef0', 'mi-0123456789abcdef1']],
    ['nothing here', []],
  ])('invalidIdsFromMessage(%s)', (msg, ids) => expect(invalidIdsFromMessage(msg)).toEqual(ids));

  it.each([
    ['User: x is not authorized to perform: ssm:SendCommand on resource: arn:aws:ec2:eu-west-1:1:instance/i-0123456789abcdef0 with an explicit deny.', 'arn:aws:ec2:eu-west-1:1:instance/i-0123456789abcdef0'],
    ['User: x is not authorized to perform: ssm:SendCommand', undefined],
  ])('deniedResourceFromMessage(%s)', (msg, arn) => expect(deniedResourceFromMessage(msg)).toBe(arn));

  it.each([
    ['arn:aws:ec2:eu-west-1:1:instance/i-0123456789abcdef0', 'i-0123456789abcdef0'],
    ['arn:aws:ssm:eu-west-1:1:managed-instance/mi-0123456789abcdef0', 'mi-0123456789abcdef0'],
    ['arn:aws:ssm:eu-west-1::document/AWS-RunShellScript', undefined],
  ])('instanceIdFromArn(%s)', (arn, id) => expect(instanceIdFromArn(arn)).toBe(id));
});
