/**
 * A new metadata option is one table row plus its finding, end to end: with an IPv6 row added to
 * the metadata-options table (the module is replaced by a copy carrying it) the nightly run plans
 * it, audits it planned, sends it in the same paced ModifyInstanceMetadataOptions call as the hop
 * limit, verifies it, carries it in the continuation and drops it when its setting goes off.
 */
import type { MetadataOptionRow } from '../../../lambda/contracts/metadata-options';
import type { FindingCode } from '../../../lambda/core/diagnosis/findings';
import type { InstanceEvaluation } from '../../../lambda/core/types';
import { decodeContinuation, encodeContinuation } from '../../../lambda/engine/remediation/continuation';
import { runRemediation } from '../../../lambda/engine/remediation/run';
import { IMDS_PHASE, ImdsPhase } from '../../../lambda/engine/remediation/imds-phase';
import type { ImdsPhaseItem } from '../../../lambda/engine/remediation/imds-phase';
import type { ActionPhase } from '../../../lambda/engine/remediation/phase';
import { applyCurrentSettings } from '../../../lambda/engine/remediation/start';
import { brief, id, makeContext, MemoryAudit, MemoryImds, settings, TableRunCommand } from './support';
import { VirtualClock } from '../../../lambda/aws/clock';
import { parseRemediationOutput } from '../../../lambda/core/remediation/guest-result';

jest.mock('../../../lambda/contracts/metadata-options', () => {
  const actual = jest.requireActual('../../../lambda/contracts/metadata-options');
  const rows = (actual.METADATA_OPTIONS as readonly MetadataOptionRow[]).map((r) =>
    r.parameter === 'HttpProtocolIpv6'
      ? { ...r, action: 'enable-imds-ipv6', finding: 'imds-ipv6-endpoint-disabled', grant: 'nightly', setting: 'enableMetadataEndpoint', denySid: 'NeverDisableImdsIpv6' }
      : r,
  );
  return { ...actual, METADATA_OPTIONS: rows };
});

function evaluation(k: number, o: { hop: number; ipv6: 'enabled' | 'disabled' }): InstanceEvaluation {
  return {
    instanceId: id(k),
    platform: 'linux',
    status: 'at-risk',
    checkState: 'checked',
    findings: o.ipv6 === 'disabled' ? [{ code: 'imds-ipv6-endpoint-disabled' as FindingCode, message: 'ipv6 off' }] : [],
    imds: { hopLimit: o.hop, httpEndpoint: 'enabled', httpTokens: 'optional', state: 'applied', httpProtocolIpv6: o.ipv6 },
    hasInstanceProfile: true,
    verdict: { platform: 'linux', daemon: 'chrony', timeSource: 'amazon-ipv4', synchronized: true, offsetSeconds: 0, clockErrorBoundSeconds: 0.001, containers: true, status: 'ok', findings: [] },
  } as InstanceEvaluation;
}

describe('a metadata-options row added to the table', () => {
  it('is planned, sent with the hop limit in one paced call, and verified', async () => {
    const clock = new VirtualClock();
    const imds = new MemoryImds(
      new Map([
        [id(1), { hopLimit: 1, httpEndpoint: 'enabled', httpProtocolIpv6: 'disabled' }],
        [id(2), { hopLimit: 2, httpEndpoint: 'enabled', httpProtocolIpv6: 'enabled' }],
      ]),
    );
    const audit = new MemoryAudit();
    const out = await runRemediation(
      {
        clock,
        check: async () => ({ evaluations: [evaluation(1, { hop: 1, ipv6: 'disabled' }), evaluation(2, { hop: 2, ipv6: 'enabled' })] }),
        imds: () => imds,
        runCommand: new TableRunCommand(() => undefined),
        parseOutput: parseRemediationOutput,
        audit,
        continuationKey: async () => Buffer.from('k'),
      },
      settings({ fixTimeSync: false, fixNoProxy: false, enableMetadataEndpoint: true }),
      {},
      { deadline: clock.now() + 3_600_000, verifyMinAgeMs: 0 },
    );
    expect(out.done).toBe(true);
    expect(imds.modified).toEqual([{ instanceId: id(1), hopLimit: 2, options: { HttpProtocolIpv6: 'enabled' } }]);
    expect(brief(audit)).toEqual([
      `${id(1)}:raise-hop-limit:planned`,
      `${id(1)}:enable-imds-ipv6:planned`,
      `${id(1)}:raise-hop-limit:applied`,
      `${id(1)}:enable-imds-ipv6:applied`,
      `${id(1)}:raise-hop-limit:verified`,
      `${id(1)}:enable-imds-ipv6:verified`,
    ]);
    const planned = audit.sent.find((d) => d.action === ('enable-imds-ipv6' as string) && d.outcome === 'planned');
    expect(planned).toMatchObject({ before: { httpProtocolIpv6: 'disabled' }, after: { httpProtocolIpv6: 'enabled' } });
  });

  it('skips it already-compliant on the fresh read, travels in the continuation, and is dropped when its setting goes off', async () => {
    const imds = new MemoryImds(new Map([[id(1), { hopLimit: 2, httpEndpoint: 'enabled', httpProtocolIpv6: 'enabled' }]]));
    const { ctx, audit, state, clock } = makeContext({ imds, settings: settings({ enableMetadataEndpoint: true }), state: { actions: { imds: [{ id: id(1), hop: 0, from: 2, endpoint: false, opts: ['HttpProtocolIpv6'] }] as ImdsPhaseItem[] } } });
    const key = Buffer.from('k');
    const back = decodeContinuation(encodeContinuation(state, key, clock.now(), [IMDS_PHASE]), key, clock.now(), [IMDS_PHASE]);
    expect(back.actions?.imds).toEqual([{ id: id(1), hop: 0, from: 2, endpoint: false, opts: ['HttpProtocolIpv6'] }]);
    expect(await new ImdsPhase(ctx).changes()).toBe(true);
    await ctx.trail.flush();
    expect(imds.modified).toEqual([]);
    expect(brief(audit)).toEqual([`${id(1)}:enable-imds-ipv6:skipped:already-compliant`]);

    applyCurrentSettings(back, settings({ enableMetadataEndpoint: false }), ctx.trail, [IMDS_PHASE as unknown as ActionPhase]);
    await ctx.trail.flush();
    expect(back.actions?.imds).toEqual([]);
    expect(brief(audit).at(-1)).toBe(`${id(1)}:enable-imds-ipv6:skipped:setting-off`);
  });

  it('carries a change time with a fraction as whole milliseconds: it never splits into further fields or into `seen`', () => {
    const { state, clock } = makeContext({ state: { actions: { imds: [{ id: id(1), hop: 2, endpoint: false, at: 1_800_000_000_123.5, seen: 1, opts: ['HttpProtocolIpv6'] }] as ImdsPhaseItem[] } } });
    const key = Buffer.from('k');
    const back = decodeContinuation(encodeContinuation(state, key, clock.now(), [IMDS_PHASE]), key, clock.now(), [IMDS_PHASE]);
    expect(back.actions?.imds).toEqual([{ id: id(1), hop: 2, endpoint: false, at: 1_800_000_000_123, seen: 1, opts: ['HttpProtocolIpv6'] }]);
  });
});
