/** The check handler's urgent hook (lambda/handlers/urgent-hook.ts): when it runs, what it publishes, when it is wired. */
import { VirtualClock } from '../../lambda/aws/clock';
import { URGENT_METRICS } from '../../lambda/core/fleet/metric-names';
import { URGENT_STATE_MACHINE_ENV } from '../../lambda/core/fleet/urgent';
import { parseCheckSettings } from '../../lambda/core/settings';
import type { InstanceEvaluation } from '../../lambda/core/types';
import type { UrgentExecutions } from '../../lambda/engine/urgent';
import { urgentAfterCheck, wireUrgentExecutions } from '../../lambda/handlers/urgent-hook';

const A = 'i-0aaaaaaaaaaaaaaa1';
const B = 'i-0bbbbbbbbbbbbbbb2';
const drifted = (id: string): InstanceEvaluation => ({
  instanceId: id,
  platform: 'linux',
  status: 'at-risk',
  checkState: 'checked',
  findings: [],
  imds: { hopLimit: 2, httpEndpoint: 'enabled', httpTokens: 'required', state: 'applied' },
  hasInstanceProfile: true,
  verdict: { platform: 'linux', daemon: 'chrony', timeSource: 'other', synchronized: true, offsetSeconds: -240, clockErrorBoundSeconds: 0.1, containers: false, status: 'at-risk', findings: [] },
});

function setup(env: Record<string, string> = {}) {
  const clock = new VirtualClock(Date.parse('2026-12-07T12:00:00Z'));
  const started: Array<{ input: Record<string, unknown>; name?: string }> = [];
  const urgent: UrgentExecutions = {
    // B was taken an hour ago by the urgent path.
    history: async () => [{ name: 'urgent-x', status: 'SUCCEEDED', startedAt: clock.now() - 3_600_000, input: JSON.stringify({ trigger: 'urgent', instanceIds: [B], capSpent: 0 }), output: JSON.stringify({ summary: { plannedInstances: 1 } }) }],
    running: async () => false,
    start: async (input, name) => {
      started.push({ input, ...(name ? { name } : {}) });
      return 'arn:aws:states:us-east-1:111122223333:execution:m:x';
    },
  };
  const metrics: Array<[string, number]> = [];
  const deps = { settings: parseCheckSettings(env), urgent, clock, logger: { info: () => undefined, warn: () => undefined, error: () => undefined }, metrics: { addMetric: (n: string, _u: 'Count', v: number) => void metrics.push([n, v]) } };
  return { deps, started, metrics };
}

describe('urgent hook of the check handler', () => {
  it('starts the urgent hosts and publishes how many it started and how many were urgent again', async () => {
    const s = setup();
    const out = await urgentAfterCheck(s.deps, [drifted(A), drifted(B)]);
    expect(out).toMatchObject({ result: 'started', started: [A], repeat: [B] });
    expect(s.started).toEqual([{ input: { trigger: 'urgent', instanceIds: [A], capSpent: 1 }, name: expect.stringMatching(/^urgent-/) }]);
    expect(s.metrics).toEqual([
      [URGENT_METRICS.started, 1],
      [URGENT_METRICS.repeat, 1],
    ]);
  });

  it('does nothing with urgentRemediation false (as written in dry run)', async () => {
    const s = setup({ TSG_URGENT_REMEDIATION: 'false' });
    expect(await urgentAfterCheck(s.deps, [drifted(A)])).toBeUndefined();
    expect(s.started).toEqual([]);
    expect(s.metrics).toEqual([]);
  });

  it('is wired only when the construct set the state machine ARN and the setting is on', () => {
    const clock = new VirtualClock(0);
    expect(wireUrgentExecutions(parseCheckSettings({}), clock, {})).toEqual({});
    expect(wireUrgentExecutions(parseCheckSettings({ TSG_URGENT_REMEDIATION: 'false' }), clock, { [URGENT_STATE_MACHINE_ENV]: 'arn:aws:states:us-east-1:111122223333:stateMachine:m' })).toEqual({});
    expect(wireUrgentExecutions(parseCheckSettings({}), clock, { [URGENT_STATE_MACHINE_ENV]: 'arn:aws:states:us-east-1:111122223333:stateMachine:m' }).urgent).toBeDefined();
  });
});
