/**
 * The export end to end against the simulated account, through the real SDK clients and their
 * serializers (bench/wire), the real adapters and a memory store: what Security Hub and SSM
 * Compliance hold after each hourly run.
 */
import { SimAccount, type SimAccountOptions } from '../../bench/sim/account';
import { simInstance } from '../../bench/sim/fleet';
import { securityHubState } from '../../bench/sim/securityhub';
import { DiscreteEventClock } from '../../bench/sim/virtual-clock';
import { wireClients } from '../../bench/wire/clients';
import { MemorySnapshotStore } from '../../lambda/aws/readiness-cache';
import { createSecurityHubPort } from '../../lambda/aws/securityhub';
import { createSsmCompliancePort } from '../../lambda/aws/ssm-compliance';
import { COMPLIANCE_TYPE } from '../../lambda/core/findings-export/compliance';
import type { InstanceEvaluation } from '../../lambda/core/types';
import { exportFindings, type FindingsExportSummary } from '../../lambda/engine/findings-export';
import { drifted, healthy, hopLimitOne, iid } from './support';

const ctx = { partition: 'aws', region: 'us-east-1', accountId: '123456789012' };

function setup(n: number, options: SimAccountOptions = {}, startMs = Date.UTC(2026, 11, 7, 14)) {
  const clock = new DiscreteEventClock({ startMs });
  const account = new SimAccount(Array.from({ length: n }, (_, k) => simInstance(iid(k))), clock, { latencies: { other: 30 }, ...options });
  const clients = wireClients(account);
  const store = new MemorySnapshotStore();
  const warnings: string[] = [];
  const logger = { info: () => {}, warn: (m: string) => void warnings.push(m), error: (m: string) => void warnings.push(m) };
  const deps = {
    securityHub: createSecurityHubPort({ securityHub: clients.securityhub, clock }),
    compliance: createSsmCompliancePort({ ssm: clients.ssm, clock }),
    store,
    clock,
    logger,
  };
  const sh = securityHubState(account);
  const run = (evaluations: readonly InstanceEvaluation[], o: { complete?: boolean } = {}): Promise<FindingsExportSummary> =>
    clock.run(async () => {
      const out = await exportFindings(deps, evaluations, { context: ctx, runId: `check-${clock.now()}`, complete: o.complete ?? true });
      await clock.sleep(3_600_000);
      return out;
    });
  const finding = (n: number, check: string) => sh.findings.get(`arn:aws:securityhub:us-east-1:123456789012:product/123456789012/default|timesync-guard/123456789012/us-east-1/${iid(n)}/${check}`);
  return { clock, account, clients, store, sh, run, finding, warnings };
}

describe('findings export against the simulated Security Hub and SSM Compliance', () => {
  it('a drifting instance: imported ACTIVE/FAILED/NEW and NON_COMPLIANT; the next run changes nothing', async () => {
    const t = setup(3);
    const first = await t.run([drifted(0), healthy(1), healthy(2)]);
    expect(first).toMatchObject({ findingsImported: 1, findingsArchived: 0, findingsFailed: 0, importCalls: 1, compliancePuts: 3 });
    expect(t.finding(0, 'time-sync')).toMatchObject({ workflow: 'NEW', finding: { RecordState: 'ACTIVE', Compliance: { Status: 'FAILED' }, Severity: { Label: 'HIGH' } } });
    expect(t.sh.compliance.get(iid(0))).toContainEqual(expect.objectContaining({ Id: 'time-sync', Status: 'NON_COMPLIANT', Severity: 'HIGH' }));
    expect(t.sh.compliance.get(iid(1))!.every((i) => i.Status === 'COMPLIANT')).toBe(true);

    const calls = t.account.totalCalls();
    const second = await t.run([drifted(0), healthy(1), healthy(2)]);
    expect(second).toMatchObject({ findingsImported: 0, importCalls: 0, compliancePuts: 0, findingsUnchanged: 1, complianceUnchanged: 3 });
    expect(t.account.totalCalls()).toBe(calls);
  });

  it('a fixed instance: its finding is archived (PASSED) and its NON_COMPLIANT item removed; a regression is NEW again', async () => {
    const t = setup(1);
    await t.run([drifted(0)]);
    // An analyst resolves it in the console; the instance is fixed overnight.
    t.finding(0, 'time-sync')!.workflow = 'RESOLVED';
    const fixed = await t.run([healthy(0)]);
    expect(fixed).toMatchObject({ findingsArchived: 1, findingsImported: 0, compliancePuts: 1 });
    expect(t.finding(0, 'time-sync')!.finding).toMatchObject({ RecordState: 'ARCHIVED', Compliance: { Status: 'PASSED' } });
    expect(t.sh.compliance.get(iid(0))!.filter((i) => i.Status === 'NON_COMPLIANT')).toEqual([]);
    // Archived once, then forgotten: a healthy instance costs nothing.
    expect(await t.run([healthy(0)])).toMatchObject({ importCalls: 0, compliancePuts: 0 });

    const regressed = await t.run([drifted(0)]);
    expect(regressed).toMatchObject({ findingsImported: 1 });
    const f = t.finding(0, 'time-sync')!;
    expect(f.finding).toMatchObject({ RecordState: 'ACTIVE', Compliance: { Status: 'FAILED' }, Workflow: { Status: 'NEW' } });
    expect(f.workflow).toBe('NEW');
    expect(f.imports).toBe(3);
  });

  it('a clock with fractions of a millisecond (the simulated one after a check): the state it wrote is read back, the next run changes nothing', async () => {
    const t = setup(2, {}, Date.UTC(2026, 11, 7, 14) + 0.2);
    await t.run([drifted(0), healthy(1)]);
    expect(await t.run([drifted(0), healthy(1)])).toMatchObject({ importCalls: 0, compliancePuts: 0, findingsUnchanged: 1, complianceUnchanged: 2 });
    expect(t.warnings).toEqual([]);
  });

  it('an instance that is gone: every stored finding archived, only when the run saw the whole fleet', async () => {
    const t = setup(2);
    await t.run([hopLimitOne(0), healthy(1)]);
    expect(t.finding(0, 'imds-hop-limit')!.finding['RecordState']).toBe('ACTIVE');
    expect(await t.run([healthy(1)], { complete: false })).toMatchObject({ importCalls: 0 });
    const gone = await t.run([healthy(1)]);
    expect(gone.findingsArchived).toBe(2);
    for (const check of ['imds-hop-limit', 'imdsv2']) expect(t.finding(0, check)!.finding).toMatchObject({ RecordState: 'ARCHIVED', Compliance: { Status: 'NOT_AVAILABLE' } });
    expect(JSON.parse(t.store.text!).f).toEqual({});
  });

  it('batches of at most 100, paced to 10 per second after a burst of 30: 5,000 failing instances in 50 calls, never throttled', async () => {
    const t = setup(5000);
    const start = t.clock.now();
    const out = await t.clock.run(() => exportFindings({ securityHub: createSecurityHubPort({ securityHub: t.clients.securityhub, clock: t.clock }), store: t.store, clock: t.clock }, Array.from({ length: 5000 }, (_, k) => drifted(k)), { context: ctx, runId: 'r', complete: true }));
    expect(out).toMatchObject({ importCalls: 50, findingsImported: 5000, findingsFailed: 0 });
    expect(t.account.stats.throttled['BatchImportFindings'] ?? 0).toBe(0);
    // 30 at once, then 20 more at 10/s: at least 2 s.
    expect(t.clock.now() - start).toBeGreaterThanOrEqual(1900);
    expect(t.sh.ingestionEvents).toBe(5000);
  });

  it('partial failures: a refused finding is retried once in the run; one still refused is counted and imported by the next run', async () => {
    const refusedOnce = new Set([iid(1), iid(2)]);
    const t = setup(4, {
      failFinding: (call, id) => (call === 0 && [...refusedOnce].some((i) => id.includes(i))) || id.includes(iid(3)) && call < 3,
    });
    const out = await t.run([drifted(0), drifted(1), drifted(2), drifted(3)]);
    expect(out).toMatchObject({ findingsImported: 3, findingsFailed: 1, importCalls: 2 });
    expect(t.warnings).not.toContain('security-hub-not-subscribed');
    const next = await t.run([drifted(0), drifted(1), drifted(2), drifted(3)]);
    expect(next).toMatchObject({ findingsImported: 1, findingsFailed: 0, findingsUnchanged: 3 });
  });

  it('Security Hub off in the account: one warning and the flag, no failure; compliance still goes out', async () => {
    const t = setup(2, { securityHubEnabled: false });
    const out = await t.run([drifted(0), drifted(1)]);
    expect(out).toMatchObject({ securityHubNotSubscribed: true, findingsImported: 0, findingsFailed: 0, importCalls: 1, compliancePuts: 2 });
    expect(t.warnings.filter((w) => w === 'security-hub-not-subscribed')).toHaveLength(1);
    // Nothing recorded: once Security Hub is enabled the next run imports them.
    expect(JSON.parse(t.store.text!).f).toEqual({});
  });

  it('10,000 healthy instances: the first run puts their compliance items; the hourly runs after it make no call at all', async () => {
    const t = setup(10_000);
    const fleet = Array.from({ length: 10_000 }, (_, k) => healthy(k));
    const first = await t.run(fleet);
    expect(first).toMatchObject({ importCalls: 0, compliancePuts: 10_000 });
    const calls = t.account.totalCalls();
    const steady = await t.run(fleet);
    expect(steady).toMatchObject({ importCalls: 0, compliancePuts: 0, complianceUnchanged: 10_000 });
    expect(t.account.totalCalls()).toBe(calls);
    expect(t.store.text!.length).toBeLessThan(10_000 * 120);
  }, 240_000); // 10,000 instances through the real serializers: ~25 s alone, several times that beside the rest of CI

  it('stored state read back is untrusted: forged or malformed entries are dropped and the findings imported again', async () => {
    const t = setup(2);
    await t.run([drifted(0), drifted(1)]);
    const state = JSON.parse(t.store.text!);
    const key0 = `${iid(0)}/time-sync`;
    state.f[key0].u = t.clock.now() + 86_400_000 * 30; // "imported in the future": would hide it for a month
    state.f['../../etc/time-sync'] = state.f[`${iid(1)}/time-sync`];
    state.m[iid(1)] = { i: 'time-sync=P;evil=P', u: 1 };
    t.store.text = JSON.stringify(state);
    const out = await t.run([drifted(0), drifted(1)]);
    expect(out.stateRefused).toMatch(/3 invalid entries dropped/);
    expect(out).toMatchObject({ findingsImported: 1, compliancePuts: 1 });
    t.store.text = '{"v":1,"f":[],"m":{}}';
    expect(await t.run([drifted(0), drifted(1)])).toMatchObject({ stateRefused: 'not an export state of this version', findingsImported: 2 });
  });

  it('an unreadable state store: nothing exported, said once, never thrown', async () => {
    const t = setup(1);
    const store = { read: () => Promise.reject(new Error('AccessDenied')), write: () => Promise.resolve() };
    const out = await t.clock.run(() => exportFindings({ ...{ securityHub: createSecurityHubPort({ securityHub: t.clients.securityhub, clock: t.clock }) }, store, clock: t.clock }, [drifted(0)], { context: ctx, runId: 'r', complete: true }));
    expect(out.skipped).toMatch(/AccessDenied/);
    expect(t.account.totalCalls()).toBe(0);
  });

  it('the compliance type is Custom:TimeSyncGuard, uploaded COMPLETE with an ItemContentHash', async () => {
    const t = setup(1);
    await t.run([hopLimitOne(0)]);
    expect(COMPLIANCE_TYPE).toBe('Custom:TimeSyncGuard');
    expect([...t.sh.hashes.keys()]).toEqual([`${iid(0)}|Custom:TimeSyncGuard`]);
    expect(t.sh.compliance.get(iid(0))!.map((i) => `${String(i['Id'])}:${String(i['Status'])}`)).toEqual(['imds-endpoint:COMPLIANT', 'imds-hop-limit:NON_COMPLIANT', 'imds-proxy:COMPLIANT', 'imdsv2:NON_COMPLIANT', 'time-sync:COMPLIANT']);
  });
});
