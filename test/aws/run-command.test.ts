import 'aws-sdk-client-mock-jest';
import {
  GetCommandInvocationCommand,
  ListCommandInvocationsCommand,
  ListCommandsCommand,
  SendCommandCommand,
  SSMClient,
} from '@aws-sdk/client-ssm';
import { DEFAULT_RUN_COMMAND_MODEL, deliveryMakespanMs, type SimAccountOptions } from '../../bench/sim/account';
import type { InvocationScript } from '../../bench/sim/fleet';
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
import { SIM_DOCUMENT_HASHES } from '../../bench/sim/ssm';
import { unpinnedDocumentProblem } from '../../lambda/aws/run-command-session';
import { chronyReport } from '../engine/reports';
import { accessDenied, awsError, ids, instanceArn, member, request, type SimTestAccount, useSimAccount } from '../support/sim';

const sim = useSimAccount();
const ssm = new SSMClient({});

/** The simulated account over these instances, each printing a healthy report unless `script` says otherwise. */
function simulateSsm(list: string[], script: (id: string, k: number) => InvocationScript = () => ({ output: chronyReport() }), options?: SimAccountOptions): SimTestAccount {
  return sim.simulate(list.map((id, k) => member(id, { script: script(id, k) })), options);
}

/** The adapter on the account's clock. */
const runCommand = (account: SimTestAccount, extra: Partial<ConstructorParameters<typeof SsmRunCommand>[0]> = {}): SsmRunCommand => new SsmRunCommand({ ssm, clock: account.clock, ...extra });

describe('SsmRunCommand.startSession: instances to start first', () => {
  it('puts an instance to start first at the head of its command, and its command ahead of the commands waiting', async () => {
    const list = ids(150);
    const account = simulateSsm(list);
    // One sender and one SendCommand a second: the second and third batches wait in the queue.
    const rc = runCommand(account, { concurrency: 1, rateLimit: { capacity: 1, refillPerSecond: 1 } });
    const session = rc.startSession({ ...request([]), startFirst: () => new Set([list[120]!]) });
    session.add(list.slice(0, 50));
    session.add(list.slice(50, 100));
    session.add(list.slice(100));
    const out = await session.finish();
    const sent = sim.ssm.commandCalls(SendCommandCommand).map((c) => c.args[0].input.InstanceIds!);
    expect(sent.map((b) => b[0])).toEqual([list[0], list[120], list[50]]);
    expect(sent[1]).toEqual([list[120], ...list.slice(100, 120), ...list.slice(121)]);
    expect([...out.results.values()].every((r) => r.state === 'success')).toBe(true);
  });

  it('changes only the order: an instance to start first that is never added is never sent', async () => {
    const list = ids(60);
    const account = simulateSsm(list);
    const rc = runCommand(account);
    const session = rc.startSession({ ...request([]), startFirst: () => new Set(['i-0ffffffffffffffff', list[55]!]) });
    session.add(list);
    const out = await session.finish();
    const sent = sim.ssm.commandCalls(SendCommandCommand).flatMap((c) => c.args[0].input.InstanceIds!);
    expect(sent.sort()).toEqual([...list].sort());
    expect(out.results.size).toBe(60);
  });
});

describe('SsmRunCommand.runDocument', () => {
  it('sends 120 instances as 3 SendCommand calls of at most 50 ids with the settings', async () => {
    const list = ids(120);
    const account = simulateSsm(list);
    const rc = runCommand(account);
    const out = await rc.runDocument(request(list));
    expect(sim.ssm).toHaveReceivedCommandTimes(SendCommandCommand, 3);
    for (const call of sim.ssm.commandCalls(SendCommandCommand)) {
      expect(call.args[0].input.InstanceIds!.length).toBeLessThanOrEqual(50);
    }
    expect(sim.ssm).toHaveReceivedCommandWith(SendCommandCommand, {
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
    const out = await runCommand(simulateSsm(list)).runDocument(request(list));
    expect(sim.ssm).toHaveReceivedCommandWith(ListCommandInvocationsCommand, { Details: true, MaxResults: 50 });
    expect(out.stats.listCommandInvocationsPages).toBe(1);
    expect(out.stats.getCommandInvocation).toBe(0);
    expect(sim.ssm).toHaveReceivedCommandTimes(GetCommandInvocationCommand, 0);
  });

  it('follows NextToken across invocation pages without losing an instance', async () => {
    const list = ids(3);
    // SSM serves 2 invocations a page here, whatever MaxResults asks.
    const out = await runCommand(simulateSsm(list, undefined, { invocationPageSize: 2 })).runDocument(request(list));
    expect(out.stats.listCommandInvocationsPages).toBe(2);
    expect([...out.results.values()].map((r) => r.state)).toEqual(['success', 'success', 'success']);
  });

  it('polls ListCommands on the injected clock, not with real sleeps, and waits for the command to be terminal', async () => {
    const list = ids(10);
    // Polls come 10 s after the send, then every 5 s (the default cap): at 10, 15, 20 and 25 s. The
    // first instance starts at once (the ramp's first wave) and its guest runs 22 s, so the command
    // turns terminal between the third poll and the fourth: four polls, as a slow guest makes.
    const account = simulateSsm(list, (_id, k) => ({ output: chronyReport(), ...(k === 0 ? { guestMs: 22_000 } : {}) }));
    const clock = account.clock;
    const t0 = clock.now();
    const out = await runCommand(account).runDocument(request(list));
    expect(out.stats.polls).toBe(4);
    expect(sim.ssm).toHaveReceivedCommandTimes(ListCommandInvocationsCommand, 1);
    // 10 s after the send (the ramp and the guest's run first), then every 5 s (the default cap): four polls, all virtual.
    expect(clock.now() - t0).toBeGreaterThanOrEqual(10_000 + 3 * 5000);
    expect(clock.now() - t0).toBeLessThan(10_000 + 3 * 5000 + 1000);
    expect([...out.results.values()].every((r) => r.state === 'success')).toBe(true);
  });

  it('polls many commands with one filtered ListCommands listing instead of one call per command', async () => {
    const list = ids(200);
    // Every guest is done by the first poll (10 s after the sends): at MaxConcurrency 50% a command's
    // 50 invocations run in two rounds of 2 s behind the delivery ramp.
    const runCommandModel = { guestMs: 2_000 };
    expect(deliveryMakespanMs(50, 25, { ...DEFAULT_RUN_COMMAND_MODEL, ...runCommandModel })).toBeLessThan(10_000);
    const out = await runCommand(simulateSsm(list, undefined, { runCommand: runCommandModel })).runDocument(request(list));
    expect(out.stats.sendCommand).toBe(4);
    expect(out.stats.listCommands).toBe(1);
    const call = sim.ssm.commandCalls(ListCommandsCommand)[0]!.args[0].input;
    expect(call.Filters?.[0]?.key).toBe('InvokedAfter');
    expect(call.CommandId).toBeUndefined();
  });

  it('fetches a cut output (at the Details limit) with GetCommandInvocation, and only that one', async () => {
    const list = ids(5);
    const long = chronyReport({ padTo: 4000 });
    const out = await runCommand(simulateSsm(list, (_id, k) => ({ output: k === 2 ? long : chronyReport() }))).runDocument(request(list));
    expect(sim.ssm).toHaveReceivedCommandTimes(GetCommandInvocationCommand, 1);
    expect(sim.ssm).toHaveReceivedCommandWith(GetCommandInvocationCommand, { InstanceId: list[2] });
    const r = out.results.get(list[2]!)!;
    expect(r.refetched).toBe(true);
    expect(r.output).toBe(long);
    expect(r.output!.trimEnd().endsWith('TSG-END')).toBe(true);
  });

  it('fetches an output whose end marker is missing even when it is short', async () => {
    const list = ids(2);
    // The listing shows a cut text; GetCommandInvocation has the whole report.
    const account = simulateSsm(list, (_id, k) => ({ output: chronyReport(), ...(k === 0 ? { detailsOutput: chronyReport({ end: false }) } : {}) }));
    const out = await runCommand(account).runDocument(request(list));
    expect(sim.ssm).toHaveReceivedCommandTimes(GetCommandInvocationCommand, 1);
    expect(out.results.get(list[0]!)!.output).toContain('TSG-END');
  });

  it('keeps the cut output when the fallback itself fails', async () => {
    const list = ids(1);
    const account = simulateSsm(list, () => ({ output: chronyReport({ padTo: 3000 }) }), {
      failures: { GetCommandInvocation: [awsError('InvocationDoesNotExist')] },
    });
    const out = await runCommand(account).runDocument(request(list));
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
    const account = simulateSsm(list, () => ({ status: status as InvocationScript['status'], statusDetails: details, output: status === 'Success' ? chronyReport() : '' }));
    const out = await runCommand(account).runDocument(request(list));
    expect(out.results.get(list[0]!)!.state).toBe(expected);
    expect(invocationState(status, details)).toBe(expected);
  });

  it('reports an instance without any invocation as no-invocation once the command is terminal', async () => {
    const list = ids(3);
    const out = await runCommand(simulateSsm(list, (_id, k) => (k === 1 ? { noInvocation: true } : { output: chronyReport() }))).runDocument(request(list));
    const r = out.results.get(list[1]!)!;
    expect(r.state).toBe('no-invocation');
    expect(r.atDeadline).toBeUndefined();
    expect(out.results.get(list[0]!)!.state).toBe('success');
  });

  it('isolates a vanished instance (InvalidInstanceId) by bisecting, and still runs the rest of its batch', async () => {
    const list = ids(50);
    const account = simulateSsm(list, (_id, k) => (k === 37 ? { gone: true } : { output: chronyReport() }), { invalidInstanceMessage: 'generic' });
    const out = await runCommand(account).runDocument(request(list));
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
    const account = simulateSsm(list, (_id, k) => (k === 3 || k === 41 ? { gone: true } : { output: chronyReport() }), { invalidInstanceMessage: 'named' });
    const out = await runCommand(account).runDocument(request(list));
    expect(out.stats.sendCommand).toBe(2);
    expect(out.results.get(list[3]!)!.state).toBe('gone');
    expect(out.results.get(list[41]!)!.state).toBe('gone');
    expect([...out.results.values()].filter((r) => r.state === 'success')).toHaveLength(48);
  });

  it('stops bisecting when the budget is spent and marks the unresolved ids gone', async () => {
    const list = ids(50);
    const account = simulateSsm(list, () => ({ gone: true }), { invalidInstanceMessage: 'generic' });
    const out = await runCommand(account, { bisectBudget: 4 }).runDocument(request(list));
    expect(out.stats.sendCommand).toBeLessThanOrEqual(5);
    expect([...out.results.values()].every((r) => r.state === 'gone')).toBe(true);
  });

  it('turns a SendCommand failure that is not about an instance into a run error and send-failed results', async () => {
    const list = ids(3);
    const documentDenied = accessDenied('arn:aws:ssm:eu-west-1:111122223333:document/TimeSyncGuard-Collect', 'because no identity-based policy allows the ssm:SendCommand action');
    const out = await runCommand(simulateSsm(list, undefined, { failures: { SendCommand: [documentDenied] } })).runDocument(request(list));
    expect(out.errors[0]).toMatch(/AccessDeniedException/);
    expect([...out.results.values()].map((r) => r.state)).toEqual(['send-failed', 'send-failed', 'send-failed']);
  });

  describe('pinned documents (DocumentHash)', () => {
    const PIN = SIM_DOCUMENT_HASHES['TimeSyncGuard-Collect']!;

    it('names the pin (DocumentHash, DocumentHashType Sha256) on every SendCommand, the resends of an isolated batch too', async () => {
      const list = ids(120);
      const gone = list[7]!;
      const out = await runCommand(simulateSsm(list, (id) => (id === gone ? { output: '', gone: true } : { output: chronyReport() }))).runDocument(request(list));
      const sends = sim.ssm.commandCalls(SendCommandCommand).map((c) => c.args[0].input);
      expect(sends.length).toBeGreaterThan(3);
      for (const s of sends) expect([s.DocumentHash, s.DocumentHashType]).toEqual([PIN, 'Sha256']);
      expect(out.results.get(gone)?.state).toBe('gone');
    });

    it('runs nothing when the document is a same-name one with other content: SSM refuses, every target send-failed with the reason, no result handed out, no further batch sent', async () => {
      const list = ids(120);
      const onResults = jest.fn();
      const account = simulateSsm(list, undefined, { documentHashes: { 'TimeSyncGuard-Collect': 'c'.repeat(64) } });
      const out = await runCommand(account, { concurrency: 1 }).runDocument({ ...request(list), onResults });
      expect(sim.ssm).toHaveReceivedCommandTimes(SendCommandCommand, 1);
      expect(account.commands.size).toBe(0);
      expect(out.errors).toHaveLength(1);
      expect(out.errors[0]).toMatch(/^SendCommand refused: InvalidDocument: document hash [0-9a-f]{64} does not match Sha256\. \(document TimeSyncGuard-Collect, pinned SHA-256 [0-9a-f]{64}\): nothing ran/);
      expect([...out.results.values()].every((r) => r.state === 'send-failed' && r.detail === out.errors[0] && r.output === undefined)).toBe(true);
      expect(out.results.size).toBe(120);
      expect(onResults).not.toHaveBeenCalled();
    });

    it('the refusal test can fail: the same run with the document as pinned succeeds', async () => {
      const list = ids(3);
      const out = await runCommand(simulateSsm(list, undefined, { documentHashes: { 'TimeSyncGuard-Collect': PIN } })).runDocument(request(list));
      expect(out.errors).toEqual([]);
      expect([...out.results.values()].map((r) => r.state)).toEqual(['success', 'success', 'success']);
    });

    it.each([
      ['no pin', undefined, /has no pinned DocumentHash/],
      ['a pin that is not a SHA-256', 'ABC', /is not a SHA-256/],
      ['an upper-case pin', PIN.toUpperCase(), /is not a SHA-256/],
    ])('sends nothing for a stack document with %s, and says why', async (_n, documentHash, why) => {
      const list = ids(60);
      const out = await runCommand(simulateSsm(list)).runDocument({ ...request(list), documentHash });
      expect(sim.ssm).not.toHaveReceivedCommand(SendCommandCommand);
      expect(out.errors).toHaveLength(1);
      expect(out.errors[0]).toMatch(why);
      expect([...out.results.values()].every((r) => r.state === 'send-failed')).toBe(true);
    });

    it('sends an AWS-owned document (a name SSM reserves to AWS) without a pin', async () => {
      const list = ids(2);
      const out = await runCommand(simulateSsm(list)).runDocument({ ...request(list), documentName: 'AWS-RunShellScript', documentHash: undefined, parameters: { commands: ['echo'] } });
      expect(out.errors).toEqual([]);
      const sent = sim.ssm.commandCalls(SendCommandCommand)[0]!.args[0].input;
      expect(sent.DocumentHash).toBeUndefined();
      expect(unpinnedDocumentProblem('aws-RunShellScript', undefined)).toMatch(/no pinned DocumentHash/);
    });
  });

  it('hands each final result out once through onResults, the same result finish() returns', async () => {
    const list = ids(120);
    const handed: InvocationResult[] = [];
    const out = await runCommand(simulateSsm(list)).runDocument({ ...request(list), onResults: (r) => void handed.push(...r) });
    expect(handed.map((r) => r.instanceId).sort()).toEqual([...list].sort());
    for (const r of handed) expect(out.results.get(r.instanceId)).toBe(r);
  });

  it('hands nothing out once the run has a run-level error (a SendCommand refused for the document)', async () => {
    const list = ids(100);
    const documentDenied = accessDenied('arn:aws:ssm:eu-west-1:111122223333:document/TimeSyncGuard-Collect', 'because no identity-based policy allows the ssm:SendCommand action');
    const onResults = jest.fn();
    const out = await runCommand(simulateSsm(list, undefined, { failures: { SendCommand: [documentDenied] } })).runDocument({ ...request(list), onResults });
    expect(out.errors).toHaveLength(1);
    expect([...out.results.values()].filter((r) => r.state === 'success')).toHaveLength(50);
    expect(onResults).not.toHaveBeenCalled();
  });

  it('retries ThrottlingException on ListCommandInvocations and SendCommand on the clock, losing nothing', async () => {
    const list = ids(60);
    const throttles = () => [awsError('ThrottlingException'), awsError('ThrottlingException'), awsError('ThrottlingException')];
    const account = simulateSsm(list, undefined, { failures: { ListCommandInvocations: throttles(), SendCommand: [awsError('ThrottlingException', 429)] } });
    const out = await runCommand(account, { retry: { random: () => 0.5 } }).runDocument(request(list));
    expect(out.stats.throttled).toBe(4);
    expect(out.results.size).toBe(60);
    expect([...out.results.values()].every((r) => r.state === 'success')).toBe(true);
  });

  it('stops waiting at the deadline: listed once, unfinished invocations are timed-out at the deadline', async () => {
    const list = ids(4);
    const account = simulateSsm(list, (_id, k) => (k === 0 ? { hang: true } : { output: chronyReport() }));
    const clock = account.clock;
    const deadline = clock.now() + 120_000;
    const out = await runCommand(account).runDocument(request(list, { deadline }));
    expect(clock.now()).toBeGreaterThanOrEqual(deadline);
    expect(clock.now()).toBeLessThan(deadline + 20_000);
    expect(sim.ssm).toHaveReceivedCommandTimes(ListCommandInvocationsCommand, 1);
    const hung = out.results.get(list[0]!)!;
    expect(hung.state).toBe('timed-out');
    expect(hung.atDeadline).toBe(true);
  });

  it('paces its SSM calls with a client-side token bucket on the injected clock', async () => {
    const list = ids(150);
    const account = simulateSsm(list);
    const clock = account.clock;
    const t0 = clock.now();
    // One call in flight: this simple virtual clock advances on each sleep, so overlapping sleeps would add up.
    await runCommand(account, { concurrency: 1, rateLimit: { capacity: 1, refillPerSecond: 1 } }).runDocument(request(list, { deadline: t0 + 10_000 }));
    // When SSM received each SendCommand (the account answers with no latency).
    const times = [...account.commands.values()].map((c) => c.requestedAt - t0);
    expect(sim.ssm).toHaveReceivedCommandTimes(SendCommandCommand, 3);
    expect(times).toHaveLength(3);
    expect(times[1]! - times[0]!).toBeGreaterThanOrEqual(1000);
    expect(times[2]! - times[1]!).toBeGreaterThanOrEqual(1000);
  });

  it('does not refetch a short output that is not a report when a start marker is given', async () => {
    const list = ids(2);
    const account = simulateSsm(list, (_id, k) => (k === 0 ? { status: 'Failed', output: 'sh: 1: /tmp/x: Permission denied' } : { output: chronyReport({ end: false }) }));
    const out = await runCommand(account).runDocument(request(list, { startMarker: 'TSG-REPORT' }));
    expect(sim.ssm).toHaveReceivedCommandTimes(GetCommandInvocationCommand, 1);
    expect(sim.ssm).toHaveReceivedCommandWith(GetCommandInvocationCommand, { InstanceId: list[1] });
    expect(out.results.get(list[0]!)!.state).toBe('failed');
  });

  it('sends nothing for an empty id list', async () => {
    const out = await runCommand(simulateSsm([])).runDocument(request([]));
    expect(out.results.size).toBe(0);
    expect(sim.ssm).toHaveReceivedCommandTimes(SendCommandCommand, 0);
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
  /** The collector as deployed: a `linux` and a `windows` step, each behind its platform precondition. */
  const twoSteps: SimAccountOptions = { platformStepDocuments: ['TimeSyncGuard-Collect'] };

  it('takes the report from the step that ran and ignores the skipped step notice', async () => {
    const account = sim.simulate([member('i-1')], twoSteps);
    const out = await runCommand(account).runDocument(request(['i-1']));
    const plugins = (await sim.ssm.commandCalls(ListCommandInvocationsCommand)[0]!.returnValue).CommandInvocations![0]!.CommandPlugins!;
    expect(plugins.map((p: { Name?: string; Output?: string }) => [p.Name, p.Output!.startsWith('Step execution skipped')])).toEqual([['linux', false], ['windows', true]]);
    expect(out.results.get('i-1')!.output).toBe(chronyReport());
    expect(sim.ssm).toHaveReceivedCommandTimes(GetCommandInvocationCommand, 0);
  });

  it('keeps stderr out of the report and in the detail', async () => {
    const account = sim.simulate([member('i-1', { script: { output: chronyReport(), stderr: 'sh: 3: ntpq: not found\n' } })]);
    const out = await runCommand(account).runDocument(request(['i-1']));
    const r = out.results.get('i-1')!;
    expect(r.output!.trimEnd().endsWith('TSG-END')).toBe(true);
    expect(r.detail).toMatch(/stderr: sh: 3: ntpq: not found/);
  });

  it('refetches stdout, naming the step, when stdout plus stderr hit the Details limit', async () => {
    // stdout is short, but SSM's Details carries stderr after it and cuts both at 2,500 characters.
    const account = sim.simulate([member('i-1', { script: { output: chronyReport(), stderr: 'warning: noisy\n'.repeat(200) } })], twoSteps);
    const out = await runCommand(account).runDocument(request(['i-1']));
    expect(sim.ssm).toHaveReceivedCommandWith(GetCommandInvocationCommand, { InstanceId: 'i-1', PluginName: 'linux' });
    expect(out.results.get('i-1')!.refetched).toBe(true);
    expect(out.results.get('i-1')!.output).toBe(chronyReport());
  });
});

describe('SendCommand denied by IAM for one instance', () => {
  it('isolates the instance IAM names in its AccessDeniedException and runs the 49 others in one resend', async () => {
    const list = ids(50);
    const out = await runCommand(simulateSsm(list, (_id, k) => (k === 17 ? { denied: true } : { output: chronyReport() }))).runDocument(request(list));
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
    const out = await runCommand(simulateSsm(list, (_id, k) => (deniedAt.has(k) ? { denied: true } : { output: chronyReport() }))).runDocument(request(list));
    expect(out.stats.sendCommand).toBe(4);
    expect(list.filter((id) => out.results.get(id)!.state === 'denied')).toEqual([...deniedAt].map((k) => list[k]));
    expect([...out.results.values()].filter((r) => r.state === 'success')).toHaveLength(47);
    const sentOk = sim.ssm.commandCalls(SendCommandCommand).at(-1)!.args[0].input.InstanceIds!;
    for (const k of deniedAt) expect(sentOk).not.toContain(list[k]);
  });

  it('bisects a generic AccessDenied that names no resource, within log2(50) levels, and isolates the one instance', async () => {
    const list = ids(50);
    const account = simulateSsm(list, (_id, k) => (k === 33 ? { denied: true } : { output: chronyReport() }), { deniedResource: 'none' });
    const out = await runCommand(account).runDocument(request(list));
    expect(out.results.get(list[33]!)!.state).toBe('denied');
    expect([...out.results.values()].filter((r) => r.state === 'success')).toHaveLength(49);
    // One failed send + 2 per halving level (⌈log2 50⌉ = 6).
    expect(out.stats.sendCommand).toBeLessThanOrEqual(1 + 2 * 6);
    expect(out.errors).toEqual([]);
  });

  it('stops bisecting a generic AccessDenied when the budget is spent: the rest is send-failed, never success', async () => {
    const list = ids(50);
    const out = await runCommand(simulateSsm(list, () => ({ denied: true }), { deniedResource: 'none' }), { bisectBudget: 4 }).runDocument(request(list));
    expect(out.stats.sendCommand).toBeLessThanOrEqual(5);
    expect([...out.results.values()].every((r) => r.state === 'send-failed' || r.state === 'denied')).toBe(true);
  });

  it('a generic AccessDenied on every send (no send accepted) is a run error, not 50 denied instances', async () => {
    const list = ids(3);
    const out = await runCommand(simulateSsm(list, () => ({ denied: true }), { deniedResource: 'none' })).runDocument(request(list));
    expect(out.errors[0]).toMatch(/^SendCommand failed: AccessDeniedException: User: .* is not authorized to perform: ssm:SendCommand/);
    expect(new Set([...out.results.values()].map((r) => r.state))).toEqual(new Set(['send-failed']));
  });

  it('a denial of the document (not an instance) is a run error for the whole batch, with no resends', async () => {
    const list = ids(50);
    const out = await runCommand(simulateSsm(list, (_id, k) => (k === 5 ? { denied: true } : { output: chronyReport() }), { deniedResource: 'document' })).runDocument(request(list));
    expect(out.stats.sendCommand).toBe(1);
    expect(out.errors[0]).toMatch(/AccessDeniedException: .*document\/TimeSyncGuard-Collect/);
    expect(new Set([...out.results.values()].map((r) => r.state))).toEqual(new Set(['send-failed']));
  });

  it('the check engine reports a denied instance as not checked (never ok), and checks the rest', async () => {
    const list = ids(4);
    const out = await runCommand(simulateSsm(list, (_id, k) => (k === 1 ? { denied: true } : { output: chronyReport() }))).runDocument(request(list));
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
