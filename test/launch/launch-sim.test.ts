/**
 * The real launch handler over the simulated account (bench/launch.ts): EC2 events → modelled SQS
 * batching → handler → requeue with delay, on virtual time.
 */
import { benchLaunch } from '../../bench/launch';
import { remediationScope } from '../../lambda/core/fleet/launch';

describe('launch check in the simulated account', () => {
  it('gives one launched instance its verdict within minutes of its event', async () => {
    const m = await benchLaunch(1);
    expect(m.reported).toBe(1);
    expect(m.byCheckState).toEqual({ checked: 1 });
    expect(m.onlineSecondsToVerdict.max).toBeLessThan(180);
    expect(m.apiCalls['SendCommand']).toBe(1);
  });

  it('checks a burst of 120 launches in a few batched invocations, reports every instance once, and never waits past the SSM wait', async () => {
    const m = await benchLaunch(120);
    expect(m.reported).toBe(120);
    expect(Object.values(m.byCheckState).reduce((a, b) => a + b, 0)).toBe(120);
    expect(m.byCheckState['checked']).toBeGreaterThan(90);
    // 120 events, one batch; then only the retries of the not-yet-Online ones.
    expect(m.invocations).toBeLessThanOrEqual(15);
    expect(m.onlineSecondsToVerdict.p95).toBeLessThan(300);
    // Agents that never come Online are reported when the 600 s wait ends, not later.
    expect(m.allReportedSeconds).toBeLessThanOrEqual(600 + 70);
    expect(m.byCheckState['ssm-offline'] ?? 0).toBeGreaterThan(0);
    expect(m.byCheckState['unmanaged'] ?? 0).toBeGreaterThan(0);
    expect(m.remediationStarts).toEqual([]);
  });

  it('with a zero wait reports the not-yet-Online instances at once, IMDS only', async () => {
    const m = await benchLaunch(20, { TSG_LAUNCH_SSM_WAIT_SECONDS: '0' });
    expect(m.invocations).toBe(1);
    expect(m.reported).toBe(20);
    expect(m.byCheckState['checked'] ?? 0).toBe(0);
  });

  it('starts remediation of at-risk launches itself only when remediateOnLaunch is on, with a list the remediate side accepts', async () => {
    const m = await benchLaunch(60, { TSG_REMEDIATE_ON_LAUNCH: 'true' });
    expect(m.remediationStarts.length).toBeGreaterThanOrEqual(1);
    for (const { input } of m.remediationStarts) {
      expect(input.trigger).toBe('launch');
      const scope = remediationScope(input);
      expect(scope.ok && scope.instanceIds!.length).toBeGreaterThan(0);
    }
    // No request event on the bus any more: nothing there starts a remediation.
    expect(Object.keys(m.events).filter((t) => /Launch Remediation/.test(t))).toEqual([]);
    // It never changes anything itself.
    expect(m.apiCalls['ModifyInstanceMetadataOptions']).toBeUndefined();
  });
});
