import { formatRemediationLine } from '../../../lambda/core/remediation/guest-result';
import { GUEST_PHASE, guestParameters, runGuestPhase } from '../../../lambda/engine/remediation/guest-phase';
import { brief, id, makeContext, MemoryImds, settings, TableRunCommand } from './support';

const line = (result: 'changed' | 'failed' | 'already-compliant'): string => `${formatRemediationLine({ result, daemon: 'chrony', action: 'x', reason: result === 'failed' ? 'boom' : '' })}\n`;
const fleet = (n: number, over: (k: number) => object = () => ({})) => new MemoryImds(new Map(Array.from({ length: n }, (_, k) => [id(k), { hopLimit: 2, ...over(k) }])));
const items = (n: number, ipv6 = (_k: number) => false) => Array.from({ length: n }, (_, k) => ({ id: id(k), platform: 'linux' as const, ipv6: ipv6(k) }));

describe('runGuestPhase', () => {
  it('sends the document with every contract parameter, IPv6-only instances in their own group, and judges each result', async () => {
    const rc = new TableRunCommand(() => ({ state: 'success', output: line('changed') }));
    const { ctx, audit, state } = makeContext({ imds: fleet(3), runCommand: rc, state: { guestPlanned: 3 } });
    expect(await runGuestPhase(ctx, items(3, (k) => k === 2))).toBe(true);
    expect(rc.requests.map((r) => r.parameters?.Endpoint)).toEqual([['auto'], ['ipv6']]);
    expect(Object.keys(rc.requests[0]!.parameters!)).toEqual(['DryRun', 'Endpoint', 'UsePhc', 'InstallChrony', 'StepLargeOffset', 'ForceDomainMembers', 'VerifySeconds', 'FixNoProxy', 'FixTimeSync', 'FixMixedSources']);
    expect(brief(audit)).toEqual([0, 1, 2].map((k) => `${id(k)}:enable-amazon-time-sync:verified`));
    expect(state.counts).toMatchObject({ attempted: 3, succeeded: 3 });
  });

  it('re-reads the opt-out at the point of action and skips gone and opted-out instances without sending to them', async () => {
    const rc = new TableRunCommand(() => ({ state: 'success', output: line('changed') }));
    const imds = fleet(2, (k) => ({ optedOut: k === 1 }));
    const { ctx, audit } = makeContext({ imds, runCommand: rc, state: { guestPlanned: 3 } });
    await runGuestPhase(ctx, items(3));
    expect(rc.requests.flatMap((r) => r.instanceIds)).toEqual([id(0)]);
    expect(brief(audit)).toEqual([
      `${id(1)}:enable-amazon-time-sync:skipped:opted-out`,
      `${id(2)}:enable-amazon-time-sync:skipped:instance-gone`,
      `${id(0)}:enable-amazon-time-sync:verified`,
    ]);
  });

  it('stops the step once failures pass MaxErrors: the rest are skipped max-errors-reached, between waves', async () => {
    const rc = new TableRunCommand(() => ({ state: 'failed', output: line('failed') }));
    const { ctx, audit, state } = makeContext({
      imds: fleet(150),
      runCommand: rc,
      settings: settings({ remediationMaxErrors: '1' }),
      opts: { guestWaveBatches: 1 },
      state: { guestPlanned: 150 },
    });
    expect(await runGuestPhase(ctx, items(150))).toBe(true);
    expect(rc.requests).toHaveLength(1);
    expect(state.guestStopped).toBe(true);
    expect(brief(audit).filter((b) => b.endsWith('max-errors-reached'))).toHaveLength(100);
  });

  it('does not start a wave that would not fit before the deadline (the list stays for the next invocation)', async () => {
    const rc = new TableRunCommand(() => ({ state: 'success', output: line('changed') }));
    const { ctx } = makeContext({ imds: fleet(1), runCommand: rc, opts: { deadline: 60_000 + Date.UTC(2026, 0, 1) }, state: { guestPlanned: 1 } });
    const queue = items(1);
    expect(await runGuestPhase(ctx, queue)).toBe(false);
    expect(rc.requests).toEqual([]);
    expect(queue).toHaveLength(1);
  });
});

describe('GUEST_PHASE (the guest document as an action phase)', () => {
  const planned = (over: object) => ({ instanceId: id(1), platform: 'windows', ipv6Only: true, guest: true, actions: ['enable-amazon-time-sync', 'add-imds-no-proxy'], ...over }) as never;

  it('queues an item for each admitted instance the plan sends the document to, and none otherwise', () => {
    expect(GUEST_PHASE.queue!(planned({}))).toEqual({ id: id(1), platform: 'windows', ipv6: true });
    expect(GUEST_PHASE.queue!(planned({ guest: false, actions: [] }))).toBeUndefined();
  });

  it("audits the plan's two guest actions as planned, time sync first", () => {
    expect(GUEST_PHASE.planned(planned({})).map((a) => a.action)).toEqual(['enable-amazon-time-sync', 'add-imds-no-proxy']);
    expect(GUEST_PHASE.planned(planned({ actions: ['add-imds-no-proxy'] })).map((a) => a.action)).toEqual(['add-imds-no-proxy']);
  });

  it('round-trips its item through the continuation fields', () => {
    for (const i of [{ id: id(1), platform: 'windows' as const, ipv6: true }, { id: id(2), platform: 'linux' as const, ipv6: false }]) {
      expect(GUEST_PHASE.decode(i.id, GUEST_PHASE.encode(i))).toEqual(i);
    }
  });

  it('sorts its queue by instance id and counts it planned once the plan is made', async () => {
    const { state } = makeContext({ state: { actions: { guest: [id(3), id(1), id(2)].map((i) => ({ id: i, platform: 'linux', ipv6: false })) } } });
    await GUEST_PHASE.begin!({ state } as never);
    expect(state.actions!.guest!.map((i) => i.id)).toEqual([id(1), id(2), id(3)]);
    expect(state.guestPlanned).toBe(3);
  });

  it('is wanted while either guest switch is on', () => {
    expect([settings({ fixTimeSync: false, fixNoProxy: false }), settings({ fixTimeSync: true, fixNoProxy: false }), settings({ fixTimeSync: false, fixNoProxy: true })].map((s) => GUEST_PHASE.enabled(s))).toEqual([false, true, true]);
  });
});

describe('guestParameters', () => {
  it('sends DryRun false always and the settings at the point of action', () => {
    const { ctx } = makeContext({ settings: settings({ usePhc: true, installChrony: true }), opts: { guestVerifySeconds: 30 } });
    expect(guestParameters(ctx, 'ipv6')).toEqual({
      DryRun: ['false'],
      Endpoint: ['ipv6'],
      UsePhc: ['true'],
      InstallChrony: ['true'],
      StepLargeOffset: ['false'],
      ForceDomainMembers: ['false'],
      VerifySeconds: ['30'],
      FixNoProxy: [String(ctx.settings.fixNoProxy)],
      FixTimeSync: [String(ctx.settings.fixTimeSync)],
      FixMixedSources: [String(ctx.settings.fixMixedSources)],
    });
  });
});
