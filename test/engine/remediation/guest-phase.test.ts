import { formatRemediationLine } from '../../../lambda/core/remediation/guest-result';
import { guestParameters, runGuestPhase } from '../../../lambda/engine/remediation/guest-phase';
import { brief, id, makeContext, MemoryImds, settings, TableRunCommand } from './support';

const line = (result: 'changed' | 'failed' | 'already-compliant'): string => `${formatRemediationLine({ result, daemon: 'chrony', action: 'x', reason: result === 'failed' ? 'boom' : '' })}\n`;
const fleet = (n: number, over: (k: number) => object = () => ({})) => new MemoryImds(new Map(Array.from({ length: n }, (_, k) => [id(k), { hopLimit: 2, ...over(k) }])));
const items = (n: number, ipv6 = (_k: number) => false) => Array.from({ length: n }, (_, k) => ({ id: id(k), platform: 'linux' as const, ipv6: ipv6(k) }));

describe('runGuestPhase', () => {
  it('sends the document with every contract parameter, IPv6-only instances in their own group, and judges each result', async () => {
    const rc = new TableRunCommand(() => ({ state: 'success', output: line('changed') }));
    const { ctx, audit, state } = makeContext({ imds: fleet(3), runCommand: rc, state: { guest: items(3, (k) => k === 2), guestPlanned: 3 } });
    expect(await runGuestPhase(ctx)).toBe(true);
    expect(rc.requests.map((r) => r.parameters?.Endpoint)).toEqual([['auto'], ['ipv6']]);
    expect(Object.keys(rc.requests[0]!.parameters!)).toEqual(['DryRun', 'Endpoint', 'UsePhc', 'InstallChrony', 'StepLargeOffset', 'ForceDomainMembers', 'VerifySeconds', 'FixNoProxy', 'FixTimeSync', 'FixMixedSources']);
    expect(brief(audit)).toEqual([0, 1, 2].map((k) => `${id(k)}:enable-amazon-time-sync:verified`));
    expect(state.counts).toMatchObject({ attempted: 3, succeeded: 3 });
  });

  it('re-reads the opt-out at the point of action and skips gone and opted-out instances without sending to them', async () => {
    const rc = new TableRunCommand(() => ({ state: 'success', output: line('changed') }));
    const imds = fleet(2, (k) => ({ optedOut: k === 1 }));
    const { ctx, audit } = makeContext({ imds, runCommand: rc, state: { guest: items(3), guestPlanned: 3 } });
    await runGuestPhase(ctx);
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
      state: { guest: items(150), guestPlanned: 150 },
    });
    expect(await runGuestPhase(ctx)).toBe(true);
    expect(rc.requests).toHaveLength(1);
    expect(state.guestStopped).toBe(true);
    expect(brief(audit).filter((b) => b.endsWith('max-errors-reached'))).toHaveLength(100);
  });

  it('does not start a wave that would not fit before the deadline (the list stays for the next invocation)', async () => {
    const rc = new TableRunCommand(() => ({ state: 'success', output: line('changed') }));
    const { ctx, state } = makeContext({ imds: fleet(1), runCommand: rc, opts: { deadline: 60_000 + Date.UTC(2026, 0, 1) }, state: { guest: items(1), guestPlanned: 1 } });
    expect(await runGuestPhase(ctx)).toBe(false);
    expect(rc.requests).toEqual([]);
    expect(state.guest).toHaveLength(1);
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
