import 'aws-sdk-client-mock-jest';
import {
  GetCommandInvocationCommand,
  ListCommandInvocationsCommand,
  type ListCommandInvocationsCommandOutput,
  ListCommandsCommand,
  SendCommandCommand,
  SSMClient,
} from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { VirtualClock } from '../../lambda/aws/clock';
import {
  DETAILS_OUTPUT_LIMIT,
  deniedResourceFromMessage,
  instanceIdFromArn,
  invalidIdsFromMessage,
  invocationState,
  isCut,
  SsmRunCommand,
} from '../../lambda/aws/run-command';
import { outcomeOf } from '../../lambda/engine/check';
import type { InvocationResult } from '../../lambda/engine/ports';
import { chronyReport } from '../engine/reports';
import { accessDenied, awsError, ids, instanceArn, request, type SimInstance, simulateSsm } from './ssm-sim';

const ssmMock = mockClient(SSMClient);
const ssm = new SSMClient({});


function fleet(list: string[], make: (id: string, k: number) => SimInstance = () => ({ output: chronyReport() })): Map<string, SimInstance> {
  return new Map(list.map((id, k) => [id, make(id, k)]));
}

beforeEach(() => {
  ssmMock.reset();
});

describe('SsmRunCommand.runDocument', () => {
  it('sends 120 instances as 3 SendCommand calls of at most 50 ids with the settings', async () => {
    const list = ids(120);
    simulateSsm(ssmMock, fleet(list));
    const rc = new SsmRunCommand({ ssm, clock: new VirtualClock() });
    const out = await rc.runDocument(request(list));
    expect(ssmMock).toHaveReceivedCommandTimes(SendCommandCommand, 3);
    for (const call of ssmMock.commandCalls(SendCommandCommand)) {
      expect(call.args[0].input.InstanceIds!.length).toBeLessThanOrEqual(50);
    }
    expect(ssmMock).toHaveReceivedCommandWith(SendCommandCommand, {
      DocumentName: 'TimeSyncGuard-Collect',
      MaxConcurrency: '50%',
      MaxErrors: '100%',
      TimeoutSeconds: 600,
    });
    expect(out.results.size).toBe(120);
    expect([...out.results.values()].every((r) => r.state === 'success' && r.output?.includes('TSG-END'))).toBe(true);
    expect(out.errors).toEqual([]);
  });

  it('lists a terminal command once with Details and 50 per page, with no per-instance call', async () => {
    const list = ids(50);
    simulateSsm(ssmMock, fleet(list));
    const rc = new SsmRunCommand({ ssm, clock: new VirtualClock() });
    const out = await rc.runDocument(request(list));
    expect(ssmMock).toHaveReceivedCommandWith(ListCommandInvocationsCommand, { Details: true, MaxResults: 50 });
    expect(out.stats.listCommandInvocationsPages).toBe(1);
    expect(out.stats.getCommandInvocation).toBe(0);
    expect(ssmMock).toHaveReceivedCommandTimes(GetCommandInvocationCommand, 0);
  });

  it('follows NextToken across invocation pages without losing an instance', async () => {
    const list = ids(3);
    const sim = simulateSsm(ssmMock, fleet(list));
    // Re-route the listing to serve 2 per page.
    ssmMock.on(ListCommandInvocationsCommand).callsFake((input: { CommandId: string; NextToken?: string }) => {
      const c = sim.commands.get(input.CommandId)!;
      const start = Number(input.NextToken ?? 0);
      const page = c.ids.slice(start, start + 2).map((id) => ({
        CommandId: input.CommandId,
        InstanceId: id,
        Status: 'Success',
        StatusDetails: 'Success',
        CommandPlugins: [{ Name: 'aws:runShellScript', Output: chronyReport(), ResponseCode: 0 }],
      }));
      return { CommandInvocations: page, ...(start + 2 < c.ids.length ? { NextToken: String(start + 2) } : {}) };
    });
    const out = await new SsmRunCommand({ ssm, clock: new VirtualClock() }).runDocument(request(list));
    expect(out.stats.listCommandInvocationsPages).toBe(2);
    expect([...out.results.values()].map((r) => r.state)).toEqual(['success', 'success', 'success']);
  });

  it('polls ListCommands on the injected clock, not with real sleeps, and waits for the command to be terminal', async () => {
    const list = ids(10);
    simulateSsm(ssmMock, fleet(list), { pollsUntilDone: 4 });
    const clock = new VirtualClock();
    const t0 = clock.now();
    const out = await new SsmRunCommand({ ssm, clock }).runDocument(request(list));
    expect(out.stats.polls).toBe(4);
    expect(ssmMock).toHaveReceivedCommandTimes(ListCommandInvocationsCommand, 1);
    // 10 s after the send (the ramp and the guest's run first), then every 5 s (the default cap): four polls, all virtual.
    expect(clock.now() - t0).toBeGreaterThanOrEqual(10_000 + 3 * 5000);
    expect(clock.now() - t0).toBeLessThan(10_000 + 3 * 5000 + 1000);
    expect([...out.results.values()].every((r) => r.state === 'success')).toBe(true);
  });

  it('polls many commands with one filtered ListCommands listing instead of one call per command', async () => {
    const list = ids(200);
    simulateSsm(ssmMock, fleet(list));
    const out = await new SsmRunCommand({ ssm, clock: new VirtualClock() }).runDocument(request(list));
    expect(out.stats.sendCommand).toBe(4);
    expect(out.stats.listCommands).toBe(1);
    const call = ssmMock.commandCalls(ListCommandsCommand)[0]!.args[0].input;
    expect(call.Filters?.[0]?.key).toBe('InvokedAfter');
    expect(call.CommandId).toBeUndefined();
  });

  it('fetches a cut output (at the Details limit) with GetCommandInvocation, and only that one', async () => {
    const list = ids(5);
    const long = chronyReport({ padTo: 4000 });
    simulateSsm(ssmMock, fleet(list, (_id, k) => ({ output: k === 2 ? long : chronyReport() })));
    const out = await new SsmRunCommand({ ssm, clock: new VirtualClock() }).runDocument(request(list));
    expect(ssmMock).toHaveReceivedCommandTimes(GetCommandInvocationCommand, 1);
    expect(ssmMock).toHaveReceivedCommandWith(GetCommandInvocationCommand, { InstanceId: list[2] });
    const r = out.results.get(list[2]!)!;
    expect(r.refetched).toBe(true);
    expect(r.output).toBe(long);
    expect(r.output!.trimEnd().endsWith('TSG-END')).toBe(true);
  });

  it('fetches an output whose end marker is missing even when it is short', async () => {
    const list = ids(2);
    const instances = fleet(list);
    simulateSsm(ssmMock, instances);
    // The listing shows a cut text; GetCommandInvocation has the whole report.
    ssmMock.on(ListCommandInvocationsCommand).resolves({
      CommandInvocations: list.map((id, k) => ({
        CommandId: 'cmd-1',
        InstanceId: id,
        Status: 'Success',
        StatusDetails: 'Success',
        CommandPlugins: [{ Name: 'aws:runShellScript', Output: k === 0 ? chronyReport({ end: false }) : chronyReport(), ResponseCode: 0 }],
      })),
    });
    const out = await new SsmRunCommand({ ssm, clock: new VirtualClock() }).runDocument(request(list));
    expect(ssmMock).toHaveReceivedCommandTimes(GetCommandInvocationCommand, 1);
    expect(out.results.get(list[0]!)!.output).toContain('TSG-END');
  });

  it('keeps the cut output when the fallback itself fails', async () => {
    const list = ids(1);
    simulateSsm(ssmMock, fleet(list, () => ({ output: chronyReport({ padTo: 3000 }) })), {
      failures: { GetCommandInvocation: [awsError('InvocationDoesNotExist')] },
    });
    const out = await new SsmRunCommand({ ssm, clock: new VirtualClock() }).runDocument(request(list));
    const r = out.results.get(list[0]!)!;
    expect(r.state).toBe('success');
    expect(r.output!.length).toBe(DETAILS_OUTPUT_LIMIT);
    expect(r.detail).toMatch(/GetCommandInvocation failed: InvocationDoesNotExist/);
  });

  it.each([
    ['Success', 'Success', 'success'],
    ['Failed', 'Failed', 'failed'],
    ['TimedOut', 'DeliveryTimedOut', 'timed-out'],
    ['TimedOut', 'ExecutionTimedOut', 'timed-out'],
    ['Failed', 'Undeliverable', 'undeliverable'],
    ['Failed', 'InvalidPlatform', 'undeliverable'],
    ['Cancelled', 'Canceled', 'cancelled'],
    ['Failed', 'Terminated', 'terminated'],
  ])('maps invocation %s / %s to %s', async (status, details, expected) => {
    const list = ids(1);
    simulateSsm(ssmMock, fleet(list, () => ({ status, statusDetails: details, output: status === 'Success' ? chronyReport() : '' })));
    const out = await new SsmRunCommand({ ssm, clock: new VirtualClock() }).runDocument(request(list));
    expect(out.results.get(list[0]!)!.state).toBe(expected);
    expect(invocationState(status, details)).toBe(expected);
  });

  it('reports an instance without any invocation as no-invocation once the command is terminal', async () => {
    const list = ids(3);
    simulateSsm(ssmMock, fleet(list, (_id, k) => (k === 1 ? { noInvocation: true } : { output: chronyReport() })));
    const out = await new SsmRunCommand({ ssm, clock: new VirtualClock() }).runDocument(request(list));
    const r = out.results.get(list[1]!)!;
    expect(r.state).toBe('no-invocation');
    expect(r.atDeadline).toBeUndefined();
    expect(out.results.get(list[0]!)!.state).toBe('success');
  });

  it('isolates a vanished instance (InvalidInstanceId) by bisecting, and still runs the rest of its batch', async () => {
    const list = ids(50);
    simulateSsm(ssmMock, fleet(list, (_id, k) => (k === 37 ? { gone: true } : { output: chronyReport() })));
    const out = await new SsmRunCommand({ ssm, clock: new VirtualClock() }).runDocument(request(list));
    expect(out.results.get(list[37]!)!.state).toBe('gone');
    expect(out.results.get(list[37]!)!.status).toBe('InvalidInstanceId');
    const others = list.filter((_, k) => k !== 37).map((id) => out.results.get(id)!.state);
    expect(new Set(others)).toEqual(new Set(['success']));
    // One failed send + ~2 per halving level (log2 50 ≈ 6): bounded, never one call per instance.
    expect(out.stats.sendCommand).toBeLessThanOrEqual(1 + 2 * 6 + 1);
    expect(out.errors).toEqual([]);
  });

  it('drops the ids SSM names in its InvalidInstanceId message and resends once, without bisecting', async () => {
    const list = ids(50);
    simulateSsm(ssmMock, fleet(list, (_id, k) => (k === 3 || k === 41 ? { gone: true } : { output: chronyReport() })), { namedInvalid: true });
    const out = await new SsmRunCommand({ ssm, clock: new VirtualClock() }).runDocument(request(list));
    expect(out.stats.sendCommand).toBe(2);
    expect(out.results.get(list[3]!)!.state).toBe('gone');
    expect(out.results.get(list[41]!)!.state).toBe('gone');
    expect([...out.results.values()].filter((r) => r.state === 'success')).toHaveLength(48);
  });

  it('stops bisecting when the budget is spent and marks the unresolved ids gone', async () => {
    const list = ids(50);
    simulateSsm(ssmMock, fleet(list, () => ({ gone: true })));
    const out = await new SsmRunCommand({ ssm, clock: new VirtualClock(), bisectBudget: 4 }).runDocument(request(list));
    expect(out.stats.sendCommand).toBeLessThanOrEqual(5);
    expect([...out.results.values()].every((r) => r.state === 'gone')).toBe(true);
  });

  it('turns a SendCommand failure that is not about an instance into a run error and send-failed results', async () => {
    const list = ids(3);
    const documentDenied = accessDenied('arn:aws:ssm:eu-west-1:111122223333:document/TimeSyncGuard-Collect', 'because no identity-based policy allows the ssm:SendCommand action');
    simulateSsm(ssmMock, fleet(list), { failures: { SendCommand: [documentDenied] } });
    const out = await new SsmRunCommand({ ssm, clock: new VirtualClock() }).runDocument(request(list));
    expect(out.errors[0]).toMatch(/AccessDeniedException/);
    expect([...out.results.values()].map((r) => r.state)).toEqual(['send-failed', 'send-failed', 'send-failed']);
  });

  it('hands each final result out once through onResults, the same result finish() returns', async () => {
    const list = ids(120);
    simulateSsm(ssmMock, fleet(list));
    const handed: InvocationResult[] = [];
    const out = await new SsmRunCommand({ ssm, clock: new VirtualClock() }).runDocument({ ...request(list), onResults: (r) => void handed.push(...r) });
    expect(handed.map((r) => r.instanceId).sort()).toEqual([...list].sort());
    for (const r of handed) expect(out.results.get(r.instanceId)).toBe(r);
  });

  it('hands nothing out once the run has a run-level error (a SendCommand refused for the document)', async () => {
    const list = ids(100);
    const documentDenied = accessDenied('arn:aws:ssm:eu-west-1:111122223333:document/TimeSyncGuard-Collect', 'because no identity-based policy allows the ssm:SendCommand action');
    simulateSsm(ssmMock, fleet(list), { failures: { SendCommand: [documentDenied] } });
    const onResults = jest.fn();
    const out = await new SsmRunCommand({ ssm, clock: new VirtualClock() }).runDocument({ ...request(list), onResults });
    expect(out.errors).toHaveLength(1);
    expect([...out.results.values()].filter((r) => r.state === 'success')).toHaveLength(50);
    expect(onResults).not.toHaveBeenCalled();
  });

  it('retries ThrottlingException on ListCommandInvocations and SendCommand on the clock, losing nothing', async () => {
    const list = ids(60);
    const throttles = () => [awsError('ThrottlingException'), awsError('ThrottlingException'), awsError('ThrottlingException')];
    simulateSsm(ssmMock, fleet(list), { failures: { ListCommandInvocations: throttles(), SendCommand: [awsError('ThrottlingException', 429)] } });
    const clock = new VirtualClock();
    const out = await new SsmRunCommand({ ssm, clock, retry: { random: () => 0.5 } }).runDocument(request(list));
    expect(out.stats.throttled).toBe(4);
    expect(out.results.size).toBe(60);
    expect([...out.results.values()].every((r) => r.state === 'success')).toBe(true);
  });

  it('stops waiting at the deadline: listed once, unfinished invocations are timed-out at the deadline', async () => {
    const list = ids(4);
    simulateSsm(ssmMock, fleet(list, (_id, k) => (k === 0 ? { hang: true } : { output: chronyReport() })));
    const clock = new VirtualClock();
    const deadline = clock.now() + 120_000;
    const out = await new SsmRunCommand({ ssm, clock }).runDocument(request(list, { deadline }));
    expect(clock.now()).toBeGreaterThanOrEqual(deadline);
    expect(clock.now()).toBeLessThan(deadline + 20_000);
    expect(ssmMock).toHaveReceivedCommandTimes(ListCommandInvocationsCommand, 1);
    const hung = out.results.get(list[0]!)!;
    expect(hung.state).toBe('timed-out');
    expect(hung.atDeadline).toBe(true);
  });

  it('paces its SSM calls with a client-side token bucket on the injected clock', async () => {
    const list = ids(150);
    simulateSsm(ssmMock, fleet(list));
    const clock = new VirtualClock();
    const t0 = clock.now();
    const times: number[] = [];
    ssmMock.on(SendCommandCommand).callsFake(() => {
      times.push(clock.now() - t0);
      return { Command: { CommandId: `c-${times.length}` } };
    });
    // One call in flight: this simple virtual clock advances on each sleep, so overlapping sleeps would add up.
    await new SsmRunCommand({ ssm, clock, concurrency: 1, rateLimit: { capacity: 1, refillPerSecond: 1 } }).runDocument(request(list, { deadline: t0 + 10_000 }));
    expect(times).toHaveLength(3);
    expect(times[1]! - times[0]!).toBeGreaterThanOrEqual(1000);
    expect(times[2]! - times[1]!).toBeGreaterThanOrEqual(1000);
  });

  it('does not refetch a short output that is not a report when a start marker is given', async () => {
    const list = ids(2);
    simulateSsm(ssmMock, fleet(list, (_id, k) => (k === 0 ? { status: 'Failed', output: 'sh: 1: /tmp/x: Permission denied' } : { output: chronyReport({ end: false }) })));
    const out = await new SsmRunCommand({ ssm, clock: new VirtualClock() }).runDocument(request(list, { startMarker: 'TSG-REPORT' }));
    expect(ssmMock).toHaveReceivedCommandTimes(GetCommandInvocationCommand, 1);
    expect(ssmMock).toHaveReceivedCommandWith(GetCommandInvocationCommand, { InstanceId: list[1] });
    expect(out.results.get(list[0]!)!.state).toBe('failed');
  });

  it('sends nothing for an empty id list', async () => {
    simulateSsm(ssmMock, new Map());
    const out = await new SsmRunCommand({ ssm, clock: new VirtualClock() }).runDocument(request([]));
    expect(out.results.size).toBe(0);
    expect(ssmMock).toHaveReceivedCommandTimes(SendCommandCommand, 0);
  });
});

describe('isCut', () => {
  it.each([
    { what: 'short and complete', output: 'TSG-REPORT v1 linux\nTSG-END\n', cut: false },
    { what: 'missing its end marker', output: 'TSG-REPORT v1 linux\nnow=1\n', cut: true },
    { what: 'at the Details limit', output: 'x'.repeat(DETAILS_OUTPUT_LIMIT), cut: true },
    { what: 'empty (nothing to refetch)', output: '', cut: false },
  ])('an output $what is cut: $cut', ({ output, cut }) => {
    expect(isCut(output, 'TSG-END')).toBe(cut);
  });
});

describe('plugin outputs of a two-platform document', () => {
  const invocation = (plugins: { Name: string; Output: string; ResponseCode?: number }[]): ListCommandInvocationsCommandOutput => ({
    $metadata: {},
    CommandInvocations: [{ CommandId: 'cmd-1', InstanceId: 'i-1', Status: 'Success', StatusDetails: 'Success', CommandPlugins: plugins }],
  });

  it('takes the report from the step that ran and ignores the skipped step notice', async () => {
    simulateSsm(ssmMock, new Map([['i-1', {}]]));
    ssmMock.on(ListCommandInvocationsCommand).resolves(
      invocation([
        { Name: 'linux', Output: chronyReport(), ResponseCode: 0 },
        { Name: 'windows', Output: "Step execution skipped due to unsatisfied preconditions: '\"StringEquals\" : [platformType, Windows]'. Step name: windows", ResponseCode: 0 },
      ]),
    );
    const out = await new SsmRunCommand({ ssm, clock: new VirtualClock() }).runDocument(request(['i-1']));
    expect(out.results.get('i-1')!.output).toBe(chronyReport());
    expect(ssmMock).toHaveReceivedCommandTimes(GetCommandInvocationCommand, 0);
  });

  it('keeps stderr out of the report and in the detail', async () => {
    simulateSsm(ssmMock, new Map([['i-1', {}]]));
    ssmMock.on(ListCommandInvocationsCommand).resolves(invocation([{ Name: 'aws:runShellScript', Output: `${chronyReport()}\n----------ERROR-------\nsh: 3: ntpq: not found\n` }]));
    const out = await new SsmRunCommand({ ssm, clock: new VirtualClock() }).runDocument(request(['i-1']));
    const r = out.results.get('i-1')!;
    expect(r.output!.trimEnd().endsWith('TSG-END')).toBe(true);
    expect(r.detail).toMatch(/stderr: sh: 3: ntpq: not found/);
  });

  it('refetches stdout, naming the step, when stdout plus stderr hit the Details limit', async () => {
    simulateSsm(ssmMock, new Map([['i-1', { output: chronyReport() }]]));
    const raw = `${chronyReport()}\n----------ERROR-------\n${'warning: noisy\n'.repeat(200)}`.slice(0, DETAILS_OUTPUT_LIMIT);
    ssmMock.on(ListCommandInvocationsCommand).resolves(
      invocation([
        { Name: 'linux', Output: raw },
        { Name: 'windows', Output: 'Step execution skipped due to unsatisfied preconditions.' },
      ]),
    );
    const out = await new SsmRunCommand({ ssm, clock: new VirtualClock() }).runDocument(request(['i-1']));
    expect(ssmMock).toHaveReceivedCommandWith(GetCommandInvocationCommand, { InstanceId: 'i-1', PluginName: 'linux' });
    expect(out.results.get('i-1')!.refetched).toBe(true);
  });
});

describe('SendCommand denied by IAM for one instance', () => {
  it('isolates the instance IAM names in its AccessDeniedException and runs the 49 others in one resend', async () => {
    const list = ids(50);
    simulateSsm(ssmMock, fleet(list, (_id, k) => (k === 17 ? { denied: true } : { output: chronyReport() })));
    const out = await new SsmRunCommand({ ssm, clock: new VirtualClock() }).runDocument(request(list));
    expect(out.stats.sendCommand).toBe(2);
    const denied = out.results.get(list[17]!)!;
    expect(denied).toEqual(expect.objectContaining({ state: 'denied', status: 'AccessDeniedException' }));
    expect(denied.detail).toContain(`on resource: ${instanceArn(list[17]!)}`);
    expect([...out.results.values()].filter((r) => r.state === 'success')).toHaveLength(49);
    expect(out.errors).toEqual([]);
  });

  it('isolates several denied instances, one resend each, and never sends to them', async () => {
    const list = ids(50);
    const deniedAt = new Set([2, 30, 49]);
    simulateSsm(ssmMock, fleet(list, (_id, k) => (deniedAt.has(k) ? { denied: true } : { output: chronyReport() })));
    const out = await new SsmRunCommand({ ssm, clock: new VirtualClock() }).runDocument(request(list));
    expect(out.stats.sendCommand).toBe(4);
    expect(list.filter((id) => out.results.get(id)!.state === 'denied')).toEqual([...deniedAt].map((k) => list[k]));
    expect([...out.results.values()].filter((r) => r.state === 'success')).toHaveLength(47);
    const sentOk = ssmMock.commandCalls(SendCommandCommand).at(-1)!.args[0].input.InstanceIds!;
    for (const k of deniedAt) expect(sentOk).not.toContain(list[k]);
  });

  it('bisects a generic AccessDenied that names no resource, within log2(50) levels, and isolates the one instance', async () => {
    const list = ids(50);
    simulateSsm(ssmMock, fleet(list, (_id, k) => (k === 33 ? { denied: true } : { output: chronyReport() })), { deniedMessage: 'generic' });
    const out = await new SsmRunCommand({ ssm, clock: new VirtualClock() }).runDocument(request(list));
    expect(out.results.get(list[33]!)!.state).toBe('denied');
    expect([...out.results.values()].filter((r) => r.state === 'success')).toHaveLength(49);
    // One failed send + 2 per halving level (⌈log2 50⌉ = 6).
    expect(out.stats.sendCommand).toBeLessThanOrEqual(1 + 2 * 6);
    expect(out.errors).toEqual([]);
  });

  it('stops bisecting a generic AccessDenied when the budget is spent: the rest is send-failed, never success', async () => {
    const list = ids(50);
    simulateSsm(ssmMock, fleet(list, () => ({ denied: true })), { deniedMessage: 'generic' });
    const out = await new SsmRunCommand({ ssm, clock: new VirtualClock(), bisectBudget: 4 }).runDocument(request(list));
    expect(out.stats.sendCommand).toBeLessThanOrEqual(5);
    expect([...out.results.values()].every((r) => r.state === 'send-failed' || r.state === 'denied')).toBe(true);
  });

  it('a generic AccessDenied on every send (no send accepted) is a run error, not 50 denied instances', async () => {
    const list = ids(3);
    simulateSsm(ssmMock, fleet(list, () => ({ denied: true })), { deniedMessage: 'generic' });
    const out = await new SsmRunCommand({ ssm, clock: new VirtualClock() }).runDocument(request(list));
    expect(out.errors[0]).toMatch(/^SendCommand failed: AccessDeniedException: User: .* is not authorized to perform: ssm:SendCommand/);
    expect(new Set([...out.results.values()].map((r) => r.state))).toEqual(new Set(['send-failed']));
  });

  it('a denial of the document (not an instance) is a run error for the whole batch, with no resends', async () => {
    const list = ids(50);
    simulateSsm(ssmMock, fleet(list, (_id, k) => (k === 5 ? { denied: true } : { output: chronyReport() })), { deniedMessage: 'document' });
    const out = await new SsmRunCommand({ ssm, clock: new VirtualClock() }).runDocument(request(list));
    expect(out.stats.sendCommand).toBe(1);
    expect(out.errors[0]).toMatch(/AccessDeniedException: .*document\/TimeSyncGuard-Collect/);
    expect(new Set([...out.results.values()].map((r) => r.state))).toEqual(new Set(['send-failed']));
  });

  it('the check engine reports a denied instance as not checked (never ok), and checks the rest', async () => {
    const list = ids(4);
    simulateSsm(ssmMock, fleet(list, (_id, k) => (k === 1 ? { denied: true } : { output: chronyReport() })));
    const out = await new SsmRunCommand({ ssm, clock: new VirtualClock() }).runDocument(request(list));
    expect(list.map((id) => out.results.get(id)!.state)).toEqual(['success', 'denied', 'success', 'success']);
    const diagnose = jest.fn();
    expect(outcomeOf(out.results.get(list[1]!), diagnose, { maxOffsetSeconds: 1, maxClockErrorBoundSeconds: 1 })).toEqual(
      expect.objectContaining({ kind: 'not-checked', detail: expect.stringContaining('AccessDeniedException') }),
    );
    expect(diagnose).not.toHaveBeenCalled();
  });
});

describe('deniedResourceFromMessage / instanceIdFromArn', () => {
  it.each([
    [
      'User: arn:aws:sts::111122223333:assumed-role/R/s is not authorized to perform: ssm:SendCommand on resource: arn:aws:ec2:eu-west-1:111122223333:instance/i-0123456789abcdef0 with an explicit deny in an identity-based policy',
      'arn:aws:ec2:eu-west-1:111122223333:instance/i-0123456789abcdef0',
      'i-0123456789abcdef0',
    ],
    [
      'User: arn:aws:sts::111122223333:assumed-role/R/s is not authorized to perform: ssm:SendCommand on resource: arn:aws-us-gov:ssm:us-gov-west-1:111122223333:managed-instance/mi-0123456789abcdef0 because no identity-based policy allows the ssm:SendCommand action',
      'arn:aws-us-gov:ssm:us-gov-west-1:111122223333:managed-instance/mi-0123456789abcdef0',
      'mi-0123456789abcdef0',
    ],
    [
      'User: arn:aws:sts::1:assumed-role/R/s is not authorized to perform: ssm:SendCommand on resource: arn:aws:ssm:eu-west-1:1:document/TimeSyncGuard-Remediate because no identity-based policy allows the ssm:SendCommand action',
      'arn:aws:ssm:eu-west-1:1:document/TimeSyncGuard-Remediate',
      undefined,
    ],
    ['User: arn:aws:sts::1:assumed-role/R/s is not authorized to perform: ssm:SendCommand with an explicit deny in an identity-based policy', undefined, undefined],
    ['AccessDeniedException', undefined, undefined],
  ])('%s', (message, resource, instance) => {
    expect(deniedResourceFromMessage(message)).toBe(resource);
    if (resource) expect(instanceIdFromArn(resource)).toBe(instance);
  });
});

describe('invalidIdsFromMessage', () => {
  it.each([
    ['Instances [[i-0123456789abcdef0, i-0fedcba9876543210]] not in a valid state for account 111122223333', ['i-0123456789abcdef0', 'i-0fedcba9876543210']],
    ['Instances [[mi-0123456789abcdef0]] not in a valid state for account 1', ['mi-0123456789abcdef0']],
    ['InvalidInstanceId', []],
  ])('%s → %p', (message, expected) => {
    expect(invalidIdsFromMessage(message)).toEqual(expected);
  });
});
