import { EC2Client } from '@aws-sdk/client-ec2';
import { SSMClient } from '@aws-sdk/client-ssm';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { VirtualClock } from '../../lambda/aws/clock';
import { Ec2SsmInventory } from '../../lambda/aws/inventory';
import { MemorySnapshotStore } from '../../lambda/aws/readiness-cache';
import { SsmRunCommand } from '../../lambda/aws/run-command';
import { METRIC_SERVICE } from '../../lambda/core/fleet/metric-names';
import { IMDSV2_METRICS } from '../../lambda/core/imdsv2/metrics';
import { IMDSV2_ENFORCED_TAG_KEY } from '../../lambda/core/imdsv2/readiness';
import { parseSettings } from '../../lambda/core/settings';
import type { Imdsv2AuditRecord, Imdsv2Ec2Port, Imdsv2MetricsPort } from '../../lambda/engine/imdsv2';
import { enforcementRecord } from '../../lambda/engine/imdsv2-record';
import { createCheckHandler, instanceLogRecord } from '../../lambda/handlers/check';
import { idOf, member, useSimAccount } from '../support/sim';
import { SIM_DOCUMENT_PINS } from '../../bench/sim/ssm';

const sim = useSimAccount();
const NOW = Date.UTC(2026, 10, 30, 3, 0);
const DAY = 86_400_000;
const KEY = new Uint8Array(32).fill(3);

/** Daily zeros for every id (and one IMDSv1 call for `v1`), one rejected call for `rejected`. */
function fakeMetrics(v1: string, rejected: string): Imdsv2MetricsPort {
  return {
    async sums(metric, ids, start, end, period) {
      const out = new Map<string, Map<number, number>>();
      for (const id of ids) {
        const m = new Map<number, number>();
        for (let t = start; t < end; t += period * 1000) m.set(t, metric === 'MetadataNoToken' ? (id === v1 && t === start ? 1 : 0) : id === rejected ? 1 : 0);
        out.set(id, m);
      }
      return out;
    },
  };
}

describe('the check handler with IMDSv2', () => {
  it.each([
    ['report (default): alarms and audits the rejection, rolls nothing back', {}, 0, []],
    ['enforce with imdsv2AutoUndo: rejections in many hours roll back', { TSG_IMDSV2: 'enforce', TSG_IMDSV2_AUTO_UNDO: 'true' }, 1, [{ instanceId: idOf(3), httpTokens: 'optional' }]],
  ] as const)('%s; publishes counts per readiness state, Imdsv2Rejected and (when not 0) Imdsv2RolledBack, and writes the readiness into each log record', async (_name, env, rolledBack, expectModified) => {
    const old = { launchedAtMs: NOW - 90 * DAY, httpTokens: 'optional' as const, hopLimit: 2 };
    const clock = new VirtualClock(NOW);
    sim.simulate(
      [
        member(idOf(1), old),
        member(idOf(2), old),
        member(idOf(3), { launchedAtMs: old.launchedAtMs, httpTokens: 'required', tags: [{ Key: IMDSV2_ENFORCED_TAG_KEY, Value: enforcementRecord(KEY, idOf(3), NOW - 3 * 3_600_000) }] }),
      ],
      { clock },
    );
    const settings = parseSettings({ ...SIM_DOCUMENT_PINS, ...env });
    const ssm = new SSMClient({});
    process.env.POWERTOOLS_METRICS_DISABLED = 'false';
    const metrics = new Metrics({ serviceName: METRIC_SERVICE, namespace: settings.metricNamespace });
    delete process.env.POWERTOOLS_METRICS_DISABLED;
    const emf: Record<string, unknown>[] = [];
    (metrics as unknown as { console: { log: (s: string) => void } }).console = { log: (s: string) => emf.push(JSON.parse(s) as Record<string, unknown>) };
    const records: Record<string, unknown>[] = [];
    const logger = { info: (m: string, e: Record<string, unknown> = {}) => void (m === 'instance' && records.push(e)), warn: () => undefined, error: () => undefined };
    const modified: unknown[] = [];
    const ec2: Imdsv2Ec2Port = {
      describe: async () => new Map(),
      modify: async (r) => (modified.push(r), { outcome: 'requested' }),
      modifyWaitMs: () => 0,
      tag: async () => undefined,
    };
    const audits: Imdsv2AuditRecord[] = [];
    const inventory = new Ec2SsmInventory({ ec2: new EC2Client({}), ssm, clock, optOutTagKey: settings.optOutTagKey });
    const handler = createCheckHandler({
      settings, inventory, clock, logger, metrics, runCommand: new SsmRunCommand({ ssm, clock }),
      imdsv2: { metrics: fakeMetrics(idOf(2), idOf(3)), store: new MemorySnapshotStore(), ec2, audit: async (r) => void audits.push(...r), recordKey: async () => KEY },
    });
    await handler();
    const first = emf[0]!;
    expect(first).toMatchObject({
      [IMDSV2_METRICS.usesV1]: 1,
      [IMDSV2_METRICS.ready]: 1,
      [IMDSV2_METRICS.notEnoughHistory]: 0,
      [IMDSV2_METRICS.alreadyRequired]: 1,
      [IMDSV2_METRICS.rejected]: 1,
    });
    // A rollback count only when there was one (without the undo there never is).
    if (rolledBack > 0) expect(first).toMatchObject({ [IMDSV2_METRICS.rolledBack]: rolledBack });
    else expect(first).not.toHaveProperty(IMDSV2_METRICS.rolledBack);
    const dims = (first._aws as { CloudWatchMetrics: { Dimensions: string[][] }[] }).CloudWatchMetrics[0]!.Dimensions;
    expect(dims).toEqual([['service']]);
    expect(modified).toEqual(expectModified);
    expect(audits).toEqual([expect.objectContaining({ instanceId: idOf(3), action: 'rollback-imdsv2', outcome: rolledBack ? 'rolled-back' : 'skipped' })]);
    expect(records.find((r) => r.instanceId === idOf(2))).toMatchObject({ imdsv2: 'uses-imdsv1', imdsv2V1Calls: 1, imdsv2LastV1Day: '2026-11-16' });
    expect(records.find((r) => r.instanceId === idOf(1))).toMatchObject({ imdsv2: 'ready' });
  });

  it('leaves the IMDSv2 fields out of the record when there is no readiness', () => {
    const rec = instanceLogRecord({ instanceId: 'i-1', platform: 'linux', status: 'ok', checkState: 'checked', findings: [], imds: {}, hasInstanceProfile: true });
    expect(Object.keys(rec).filter((k) => k.startsWith('imdsv2'))).toEqual([]);
  });
});
