import { REMEDIATION_METRICS } from '../../../lambda/core/fleet/metric-names';
import { VirtualClock } from '../../../lambda/aws/clock';
import { GUEST_PHASE } from '../../../lambda/engine/remediation/guest-phase';
import { IMDS_PHASE, imdsStages } from '../../../lambda/engine/remediation/imds-phase';
import type { ImdsPhaseItem } from '../../../lambda/engine/remediation/imds-phase';
import type { ActionPhase } from '../../../lambda/engine/remediation/phase';
import type { GuestItem } from '../../../lambda/engine/remediation/state';
import { applyCurrentSettings } from '../../../lambda/engine/remediation/start';
import { freshCheck, RemediationRunError } from '../../../lambda/engine/remediation/fresh-check';
import { finishInvocation } from '../../../lambda/engine/remediation/summary';
import { publishRemediationMetrics } from '../../../lambda/engine/remediation/metrics';
import { brief, id, makeContext, settings } from './support';

const PHASES = [IMDS_PHASE as unknown as ActionPhase, GUEST_PHASE as unknown as ActionPhase];

describe('applyCurrentSettings (every resume)', () => {
  it('a run that is now a dry run applies nothing more: every pending action is skipped dry-run', async () => {
    const { ctx, audit, state } = makeContext({
      state: { actions: { imds: [{ id: id(1), hop: 1, from: 1, endpoint: true }] as ImdsPhaseItem[], guest: [{ id: id(2), platform: 'linux', ipv6: false } as GuestItem] } },
    });
    applyCurrentSettings(state, settings({ dryRun: true }), ctx.trail, PHASES);
    await ctx.trail.flush();
    expect(state.dryRun).toBe(true);
    expect(brief(audit)).toEqual([
      `${id(1)}:raise-hop-limit:skipped:dry-run`,
      `${id(1)}:enable-metadata-endpoint:skipped:dry-run`,
      `${id(2)}:enable-amazon-time-sync:skipped:dry-run`,
    ]);
    expect([state.actions?.imds, state.actions?.guest]).toEqual([[], []]);
  });

  it('a run that is now a dry run still verifies the changes it made: only those not yet made are skipped', async () => {
    const made = { id: id(4), hop: 2, endpoint: false, at: 1_800_000_000_000, seen: 0 };
    const { ctx, audit, state } = makeContext({ state: { actions: { imds: [made, { id: id(1), hop: 1, from: 1, endpoint: false }] as ImdsPhaseItem[] } } });
    applyCurrentSettings(state, settings({ dryRun: true }), ctx.trail, PHASES);
    await ctx.trail.flush();
    expect(brief(audit)).toEqual([`${id(1)}:raise-hop-limit:skipped:dry-run`]);
    expect(imdsStages(state)).toEqual({ pending: [], verifying: [made] });
  });

  it('drops only the action whose switch is now off', async () => {
    const { ctx, audit, state } = makeContext({
      state: { actions: { imds: [{ id: id(1), hop: 1, from: 1, endpoint: true }, { id: id(3), hop: 0, from: 2, endpoint: true }] as ImdsPhaseItem[], guest: [{ id: id(2), platform: 'linux', ipv6: false } as GuestItem] } },
    });
    applyCurrentSettings(state, settings({ dryRun: false, enableMetadataEndpoint: false, fixTimeSync: true }), ctx.trail, PHASES);
    await ctx.trail.flush();
    expect(state.actions?.imds).toEqual([{ id: id(1), hop: 1, from: 1, endpoint: false }]);
    expect(state.actions?.guest).toHaveLength(1);
    expect(brief(audit)).toEqual([`${id(1)}:enable-metadata-endpoint:skipped:setting-off`, `${id(3)}:enable-metadata-endpoint:skipped:setting-off`]);
  });
});

describe('finishInvocation', () => {
  it('with work pending returns a continuation and sends no summary, metrics or mail', async () => {
    const metrics = jest.fn();
    const { ctx, audit } = makeContext({ state: { phase: 'imds', actions: { imds: [{ id: id(1), hop: 1, from: 1, endpoint: false }] as ImdsPhaseItem[] } }, deps: { metrics } });
    const out = await finishInvocation(ctx, Buffer.from('k'), PHASES);
    expect(out.done).toBe(false);
    expect(out.continuation).toEqual(expect.any(String));
    expect(out.summary.pending).toEqual({ imds: 1, verifying: 0, guest: 0 });
    expect(audit.summaries).toEqual([]);
    expect(metrics).not.toHaveBeenCalled();
  });

  it('once done sends the summary event, the mail and the metrics (RemediationCompleted = 1)', async () => {
    const metrics = jest.fn();
    const publish = jest.fn(async () => true);
    const { ctx, audit, state } = makeContext({ state: { phase: 'done' }, deps: { metrics, notifier: { publish } } });
    state.counts.succeeded = 4;
    state.counts.failed = 1;
    const out = await finishInvocation(ctx, Buffer.from('k'), []);
    expect(out).toMatchObject({ done: true, summary: { finishedAt: expect.any(String) } });
    expect(out.continuation).toBeUndefined();
    expect(audit.summaries).toHaveLength(1);
    expect(publish).toHaveBeenCalledWith('timesync-guard remediation run-1: 4 fixed, 1 failed, 0 rolled back', expect.objectContaining({ runId: 'run-1' }));
    expect(metrics).toHaveBeenCalledWith({ attempted: 0, succeeded: 4, failed: 1, rolledBack: 0, skipped: 0, completed: 1 });
  });
});

describe('publishRemediationMetrics', () => {
  it('stores the six remediation metrics and flushes once', () => {
    const sink = { addMetric: jest.fn(), publishStoredMetrics: jest.fn() };
    publishRemediationMetrics(sink, { attempted: 1, succeeded: 2, failed: 3, rolledBack: 4, skipped: 5, completed: 1 });
    expect(sink.addMetric).toHaveBeenCalledTimes(6);
    expect(sink.addMetric.mock.calls.every(([, unit]) => unit === 'Count')).toBe(true);
    expect(sink.publishStoredMetrics).toHaveBeenCalledTimes(1);
  });

  it('leaves out the counts that are 0 (absent: 0; billed by the hours published) and always sends the heartbeat', () => {
    const sink = { addMetric: jest.fn(), publishStoredMetrics: jest.fn() };
    publishRemediationMetrics(sink, { attempted: 3, succeeded: 0, failed: 1, rolledBack: 0, skipped: 0, completed: 1 });
    expect(sink.addMetric.mock.calls.map(([name, , n]) => [name, n])).toEqual([
      [REMEDIATION_METRICS.attempted, 3],
      [REMEDIATION_METRICS.failed, 1],
      [REMEDIATION_METRICS.remediationCompleted, 1],
    ]);
    expect(sink.publishStoredMetrics).toHaveBeenCalledTimes(1);
  });
});

describe('freshCheck', () => {
  it('refuses to plan on a check that could not list the fleet', async () => {
    const clock = new VirtualClock();
    const check = freshCheck(
      {
        inventory: { listInstances: async () => Promise.reject(new Error('AccessDenied')) },
        runCommand: { startSession: () => { throw new Error('not reached'); } },
        clock,
      },
      settings(),
      clock.now() + 600_000,
    );
    await expect(check()).rejects.toThrow(RemediationRunError);
  });

  it('keeps the IPv6-only instances from the inventory records', async () => {
    const clock = new VirtualClock();
    const check = freshCheck(
      {
        inventory: {
          listInstances: async () => [
            { instanceId: id(1), platform: 'linux', state: 'running', optedOut: true, ipv6Only: true, imds: {}, hasInstanceProfile: false, tags: {} } as never,
          ],
        },
        runCommand: { startSession: () => { throw new Error('not reached'); } },
        clock,
      },
      settings(),
      clock.now() + 600_000,
    );
    const out = await check();
    expect([...(out.ipv6Only ?? [])]).toEqual([id(1)]);
    expect(out.fleetSize).toBe(1);
  });
});
