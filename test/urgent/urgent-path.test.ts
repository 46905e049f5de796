/**
 * The urgent path end to end on the wire: the check-side engine (lambda/engine/urgent.ts) over the
 * real Step Functions adapter and SDK client (JSON 1.0 serializers and parsers), answered by the
 * simulated remediation state machine (bench/sim/sfn.ts: the synthesized definition's request
 * choice, overlap guard and loop) on a discrete-event clock.
 */
import { SFNClient } from '@aws-sdk/client-sfn';
import { createRemediationExecutions } from '../../lambda/aws/remediation-executions';
import type { InstanceEvaluation } from '../../lambda/core/types';
import { parseCheckSettings } from '../../lambda/core/settings';
import { runUrgentPath, type UrgentOutcome } from '../../lambda/engine/urgent';
import { SimStateMachine } from '../../bench/sim/sfn';
import { DiscreteEventClock } from '../../bench/sim/virtual-clock';
import { SimWireHandler } from '../../bench/wire/handler';

const ARN = 'arn:aws:states:us-east-1:111122223333:stateMachine:Guard-Remediation';
const A = 'i-0aaaaaaaaaaaaaaa1';
const B = 'i-0bbbbbbbbbbbbbbb2';
const settings = parseCheckSettings({});
const MIN = 60_000;

function urgentHost(id: string, offset = 240): InstanceEvaluation {
  return {
    instanceId: id,
    platform: 'linux',
    status: 'at-risk',
    checkState: 'checked',
    findings: [],
    imds: { hopLimit: 2, httpEndpoint: 'enabled', httpTokens: 'required', state: 'applied' },
    hasInstanceProfile: true,
    verdict: { platform: 'linux', daemon: 'chrony', timeSource: 'other', synchronized: true, offsetSeconds: offset, clockErrorBoundSeconds: 0.1, containers: false, status: 'at-risk', findings: [] },
  };
}

function world(runMs = 5 * MIN, planned = (r: Record<string, unknown>) => (Array.isArray(r.instanceIds) ? r.instanceIds.length : 40)) {
  const clock = new DiscreteEventClock();
  const requests: Record<string, unknown>[] = [];
  const sim = new SimStateMachine(ARN, clock, async (request) => {
    requests.push(request);
    await clock.sleep(runMs);
    return { done: true, summary: { plannedInstances: planned(request) } };
  });
  const client = new SFNClient({ region: 'us-east-1', requestHandler: new SimWireHandler(sim), maxAttempts: 1, credentials: { accessKeyId: 'AKID', secretAccessKey: 'secret' } });
  const executions = createRemediationExecutions({ stateMachineArn: ARN, clock, client });
  const logs: Array<[string, Record<string, unknown>]> = [];
  const logger = { info: (m: string, x: Record<string, unknown> = {}) => logs.push([m, x]), warn: (m: string, x: Record<string, unknown> = {}) => logs.push([m, x]), error: (m: string, x: Record<string, unknown> = {}) => logs.push([m, x]) };
  const urgent = (evaluations: InstanceEvaluation[], budgetMs = 10 * MIN): Promise<UrgentOutcome> => runUrgentPath({ executions, clock, logger }, settings, evaluations, clock.now() + budgetMs);
  return { clock, sim, requests, urgent, logs };
}

describe('urgent path over the wire (check engine → Step Functions → the state machine)', () => {
  it("starts one execution whose first request carries the ids and the night's spent cap", async () => {
    const w = world();
    const out = await w.clock.run(async () => {
      const night = w.sim.start('{}');
      await night.done;
      await w.clock.sleep(3 * 3_600_000);
      const o = await w.urgent([urgentHost(B), urgentHost(A), { ...urgentHost('i-0ccccccccccccccc3', 0.001), status: 'ok' }]);
      await Promise.all(w.sim.executions.map((e) => e.done));
      return o;
    });
    expect(out).toMatchObject({ result: 'started', started: [A, B], capSpent: 40 });
    expect(w.requests).toEqual([{}, { trigger: 'urgent', instanceIds: [A, B], capSpent: 40 }]);
    const urgentRun = w.sim.executions[1]!;
    expect(urgentRun.name).toMatch(/^urgent-/);
    expect(urgentRun.status).toBe('SUCCEEDED');
    expect(w.sim.calls).toMatchObject({ ListExecutions: 2, DescribeExecution: 1, StartExecution: 1 });
  });

  it('waits while a run is going (no overlap) and starts right after it, counting what it spent', async () => {
    const w = world(20 * MIN);
    const out = await w.clock.run(async () => {
      const night = w.sim.start('{}');
      await night.done;
      w.sim.start(JSON.stringify({ trigger: 'urgent', instanceIds: [B], capSpent: 40 }), 'urgent-earlier');
      await w.clock.sleep(MIN);
      const o = await w.urgent([urgentHost(A), urgentHost(B)], 30 * MIN);
      await Promise.all(w.sim.executions.map((e) => e.done));
      return o;
    });
    // B was the running run's own: it checked and fixed it afresh, so only A is started, and the budget counts both runs.
    expect(out).toMatchObject({ result: 'started', started: [A], capSpent: 41 });
    const [, earlier, urgent] = w.sim.executions;
    expect(urgent!.startedAt).toBeGreaterThanOrEqual(earlier!.stoppedAt!);
    expect(urgent!.startedAt - earlier!.stoppedAt!).toBeLessThanOrEqual(60_000);
    expect(urgent!.output).not.toContain('overlap');
  });

  it('leaves the urgent hosts to a nightly run in progress at once, without waiting (the night checks and fixes everything afresh)', async () => {
    const w = world(20 * MIN);
    const out = await w.clock.run(async () => {
      w.sim.start('{}');
      await w.clock.sleep(MIN);
      const o = await w.urgent([urgentHost(A)], 30 * MIN);
      await Promise.all(w.sim.executions.map((e) => e.done));
      return o;
    });
    expect(out).toMatchObject({ result: 'night', started: [] });
    expect(w.sim.executions).toHaveLength(1);
    expect(w.sim.calls.ListExecutions).toBe(1);
  });

  it('defers (starts nothing) when the run outlasts this invocation; the ids are not remembered as taken', async () => {
    const w = world(60 * MIN);
    const out = await w.clock.run(async () => {
      w.sim.start(JSON.stringify({ trigger: 'launch', instanceIds: [B] }), 'launch-1');
      await w.clock.sleep(MIN);
      return w.urgent([urgentHost(A)], 5 * MIN);
    });
    expect(out).toMatchObject({ result: 'deferred', started: [], deferred: [A] });
    expect(w.sim.executions).toHaveLength(1);
    expect(w.logs.map(([m]) => m)).toContain('urgent-deferred');
  });

  it('does not retry a host it took within 24 h: left to the night, reported as a repeat', async () => {
    const w = world(MIN);
    const [first, second, later] = await w.clock.run(async () => {
      const a = await w.urgent([urgentHost(A)]);
      await Promise.all(w.sim.executions.map((e) => e.done));
      await w.clock.sleep(3_600_000);
      const b = await w.urgent([urgentHost(A), urgentHost(B)]);
      await Promise.all(w.sim.executions.map((e) => e.done));
      await w.clock.sleep(24 * 3_600_000);
      const c = await w.urgent([urgentHost(A)]);
      return [a, b, c];
    });
    expect(first).toMatchObject({ result: 'started', started: [A] });
    expect(second).toMatchObject({ result: 'started', started: [B], repeat: [A] });
    expect(later).toMatchObject({ result: 'started', started: [A] });
  });

  it('starts nothing, and does not throw, when the history cannot be read', async () => {
    const clock = new DiscreteEventClock();
    const denied = new SimStateMachine(ARN, clock, async () => ({ done: true }));
    denied.answer = async (action) => {
      if (action === 'StartExecution') throw new Error('must not start');
      throw Object.assign(new Error('not authorized'), { name: 'AccessDeniedException', $metadata: { httpStatusCode: 400 } });
    };
    const client = new SFNClient({ region: 'us-east-1', requestHandler: new SimWireHandler(denied), maxAttempts: 1, credentials: { accessKeyId: 'AKID', secretAccessKey: 'secret' } });
    const logger = { info: () => undefined, warn: () => undefined, error: () => undefined };
    const out = await clock.run(() => runUrgentPath({ executions: createRemediationExecutions({ stateMachineArn: ARN, clock, client }), clock, logger }, settings, [urgentHost(A)], clock.now()));
    expect(out).toMatchObject({ result: 'unread', started: [] });
    expect(out.error).toMatch(/AccessDenied/);
  });

  it('starts nothing when no host is urgent, without reading the history (no Step Functions call, no wait)', async () => {
    const w = world();
    const out = await w.clock.run(() => w.urgent([{ ...urgentHost(A, 0.001), status: 'ok' }]));
    expect(out).toMatchObject({ result: 'none', started: [] });
    expect(w.sim.calls).toEqual({});
  });
});
