import { ImdsPhase, imdsStages } from '../../../lambda/engine/remediation/imds-phase';
import type { ImdsPhaseItem } from '../../../lambda/engine/remediation/imds-phase';
import { brief, id, makeContext, MemoryImds, settings } from './support';

describe('ImdsPhase.changes', () => {
  it('raises only to the configured target, decided on the fresh read: a hop already at target is skipped, never lowered', async () => {
    const imds = new MemoryImds(new Map([[id(1), { hopLimit: 1, httpEndpoint: 'enabled' }], [id(2), { hopLimit: 3, httpEndpoint: 'enabled' }]]));
    const { ctx, audit, state } = makeContext({
      imds,
      settings: settings({ hopLimitTarget: 2 }),
      state: { actions: { imds: [{ id: id(1), hop: 1, from: 1, endpoint: false }, { id: id(2), hop: 1, from: 1, endpoint: false }] as ImdsPhaseItem[] } },
    });
    await ctx.trail.flush();
    expect(await new ImdsPhase(ctx).changes()).toBe(true);
    await ctx.trail.flush();
    expect(imds.modified).toEqual([{ instanceId: id(1), hopLimit: 2 }]);
    expect(brief(audit)).toEqual(
      expect.arrayContaining([`${id(1)}:raise-hop-limit:applied`, `${id(2)}:raise-hop-limit:skipped:already-compliant`]),
    );
    expect(state.counts.attempted).toBe(1);
  });

  it('skips an instance opted out since the plan and one gone since the plan', async () => {
    const imds = new MemoryImds(new Map([[id(1), { hopLimit: 1, optedOut: true }]]));
    const { ctx, audit } = makeContext({ imds, state: { actions: { imds: [{ id: id(1), hop: 1, from: 1, endpoint: false }, { id: id(2), hop: 1, from: 1, endpoint: false }] as ImdsPhaseItem[] } } });
    await new ImdsPhase(ctx).changes();
    await ctx.trail.flush();
    expect(imds.modified).toEqual([]);
    expect(brief(audit)).toEqual([`${id(1)}:raise-hop-limit:skipped:opted-out`, `${id(2)}:raise-hop-limit:skipped:instance-gone`]);
  });

  it('requeues a chunk whose fresh read was throttled (reported as data by the port) and does it after the wait', async () => {
    const imds = new MemoryImds(new Map([[id(1), { hopLimit: 1 }]]));
    imds.throttleDescribes = 1;
    const { ctx, clock, state } = makeContext({ imds, state: { actions: { imds: [{ id: id(1), hop: 1, from: 1, endpoint: false }] as ImdsPhaseItem[] } } });
    const t0 = clock.now();
    expect(await new ImdsPhase(ctx).changes()).toBe(true);
    expect(clock.now() - t0).toBeGreaterThanOrEqual(5_000);
    expect(imds.modified).toHaveLength(1);
    expect(imdsStages(state).pending).toEqual([]);
  });

  it('puts a throttled modify at the back of the queue instead of failing it', async () => {
    const imds = new MemoryImds(new Map([[id(1), { hopLimit: 1 }]]));
    let first = true;
    imds.modifyOutcome = () => (first ? ((first = false), 'throttled') : 'requested');
    const { ctx, state } = makeContext({ imds, state: { actions: { imds: [{ id: id(1), hop: 1, from: 1, endpoint: false }] as ImdsPhaseItem[] } } });
    expect(await new ImdsPhase(ctx).changes()).toBe(true);
    expect(imds.modified).toHaveLength(2);
    expect(imdsStages(state).verifying.map((v) => v.id)).toEqual([id(1)]);
  });

  it('stops before the deadline with the rest still queued (nothing lost)', async () => {
    const imds = new MemoryImds(new Map([[id(1), { hopLimit: 1 }]]));
    const { ctx, state } = makeContext({ imds, opts: { deadline: 0 }, state: { actions: { imds: [{ id: id(1), hop: 1, from: 1, endpoint: false }] as ImdsPhaseItem[] } } });
    expect(await new ImdsPhase(ctx).changes()).toBe(false);
    expect(imdsStages(state).pending).toHaveLength(1);
    expect(imds.modified).toEqual([]);
  });
});

describe('ImdsPhase.verify', () => {
  it('verifies an applied change, fails one never applied past the bounded wait, and fails one whose instance is gone', async () => {
    const imds = new MemoryImds(new Map([[id(1), { hopLimit: 2, state: 'applied' }], [id(2), { hopLimit: 1, state: 'pending' }]]));
    const { ctx, audit, clock, state } = makeContext({ imds, opts: { verifyTimeoutMs: 20_000 } });
    const at = clock.now();
    state.actions = { imds: [
      { id: id(1), hop: 2, endpoint: false, at, seen: 0 },
      { id: id(2), hop: 2, endpoint: false, at, seen: 0 },
      { id: id(3), hop: 2, endpoint: false, at, seen: 0 },
    ] as ImdsPhaseItem[] };
    clock.advance(2_000);
    expect(await new ImdsPhase(ctx).verify()).toBe(true);
    expect(brief(audit)).toEqual([
      `${id(1)}:raise-hop-limit:verified`,
      `${id(3)}:raise-hop-limit:failed:instance-gone`,
      `${id(2)}:raise-hop-limit:failed:not-applied`,
    ]);
    expect(state.actions?.imds).toEqual([]);
  });
});

describe('ImdsPhase.run', () => {
  it('moves the run from imds through imds-verify to guest', async () => {
    const imds = new MemoryImds(new Map([[id(1), { hopLimit: 1, httpEndpoint: 'disabled' }]]));
    const { ctx, audit, state } = makeContext({ imds, state: { actions: { imds: [{ id: id(1), hop: 1, from: 1, endpoint: true }] as ImdsPhaseItem[] } } });
    await new ImdsPhase(ctx).run();
    expect(state.phase).toBe('guest');
    expect(brief(audit).filter((b) => b.includes(':verified'))).toEqual([`${id(1)}:raise-hop-limit:verified`, `${id(1)}:enable-metadata-endpoint:verified`]);
  });
});
