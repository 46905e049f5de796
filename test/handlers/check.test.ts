import 'aws-sdk-client-mock-jest';
import { EC2Client } from '@aws-sdk/client-ec2';
import { SSMClient } from '@aws-sdk/client-ssm';
import { Ec2SsmInventory } from '../../lambda/aws/inventory';
import { SsmRunCommand } from '../../lambda/aws/run-command';
import { CHECK_METRICS, METRIC_SERVICE } from '../../lambda/core/fleet/metric-names';
import { HOURLY_CHECK_METRIC_NAMES, SPARSE_CHECK_METRICS } from '../../lambda/core/fleet/aggregate';
import { parseSettings } from '../../lambda/core/settings';
import { CheckRunError, createCheckHandler, instanceLogRecord } from '../../lambda/handlers/check';
import { SendCommandCommand } from '@aws-sdk/client-ssm';
import type { SimInstance } from '../../bench/sim/fleet';
import { SIM_DOCUMENT_PINS } from '../../bench/sim/ssm';
import { chronyReport } from '../engine/reports';
import { capturingMetrics } from '../support/emf';
import { awsError, idOf, member, useSimAccount } from '../support/sim';

const sim = useSimAccount();
const simulateFleet = (fleet: SimInstance[], options?: Parameters<typeof sim.simulate>[1]): void => void sim.simulate(fleet, options);

interface Emf {
  _aws: { CloudWatchMetrics: { Namespace: string; Dimensions: string[][]; Metrics: { Name: string; Unit: string }[] }[] };
  [key: string]: unknown;
}

interface LogCall {
  level: 'info' | 'warn' | 'error';
  message: string;
  extra: Record<string, unknown>;
}

function capturingLogger(): { logger: { info: (m: string, e?: Record<string, unknown>) => void; warn: (m: string, e?: Record<string, unknown>) => void; error: (m: string, e?: Record<string, unknown>) => void }; calls: LogCall[] } {
  const calls: LogCall[] = [];
  const at = (level: LogCall['level']) => (message: string, extra: Record<string, unknown> = {}) => calls.push({ level, message, extra });
  return { logger: { info: at('info'), warn: at('warn'), error: at('error') }, calls };
}

function setup(env: Record<string, string> = {}) {
  const settings = parseSettings({ ...SIM_DOCUMENT_PINS, ...env });
  const clock = sim.account.clock;
  const ssm = new SSMClient({});
  const { metrics, emf } = capturingMetrics<Emf>(settings.metricNamespace);
  const { logger, calls } = capturingLogger();
  const handler = createCheckHandler({
    settings,
    inventory: new Ec2SsmInventory({ ec2: new EC2Client({}), ssm, clock, optOutTagKey: settings.optOutTagKey }),
    runCommand: new SsmRunCommand({ ssm, clock }),
    clock,
    logger,
    metrics,
  });
  return { handler, emf, calls, clock, settings };
}

const metricNames = (emf: Emf[]): string[] => emf.flatMap((e) => e._aws.CloudWatchMetrics.flatMap((d) => d.Metrics.map((m) => m.Name)));

describe('check handler', () => {
  it('logs one flat record per instance and publishes the fleet metrics as EMF with only the service dimension', async () => {
    simulateFleet([
      member(idOf(1)),
      member(idOf(2), { script: { output: chronyReport({ containers: 'docker' }) }, hopLimit: 1 }),
      member(idOf(3), { ssm: 'ConnectionLost' }),
    ]);
    const { handler, emf, calls } = setup({ TSG_METRIC_NAMESPACE: 'Acme/TimeSync' });
    const result = await handler({}, { getRemainingTimeInMillis: () => 900_000 });
    expect(result.completed).toBe(true);
    const records = calls.filter((c) => c.message === 'instance');
    expect(records).toHaveLength(3);
    expect(records[1]!.extra).toMatchObject({
      instanceId: idOf(2),
      status: 'at-risk',
      findings: 'imds-hop-limit-too-low-for-containers',
      timeSource: 'amazon-ipv4',
      hopLimit: 1,
      containers: true,
      daemon: 'chrony',
    });
    // Their documented defaults (checked, linux, synchronised) are left out.
    expect(records[1]!.extra).not.toHaveProperty('checkState');
    expect(records[1]!.extra).not.toHaveProperty('platform');
    expect(records[1]!.extra).not.toHaveProperty('synchronized');
    expect(records[2]!.extra).toMatchObject({ checkState: 'ssm-offline', findings: 'ssm-connection-lost', status: 'unknown' });
    for (const r of records) for (const v of Object.values(r.extra)) expect(typeof v === 'object' && v !== null).toBe(false);

    expect(emf).toHaveLength(1);
    const doc = emf[0]!;
    expect(doc._aws.CloudWatchMetrics[0]!.Namespace).toBe('Acme/TimeSync');
    expect(doc._aws.CloudWatchMetrics[0]!.Dimensions).toEqual([['service']]);
    expect(doc.service).toBe(METRIC_SERVICE);
    expect(JSON.stringify(doc)).not.toMatch(/InstanceId|i-0/);
    expect(metricNames(emf).sort()).toEqual([...HOURLY_CHECK_METRIC_NAMES].sort());
    expect(doc).toMatchObject({ InstancesSeen: 3, InstancesChecked: 2, InstancesAtRisk: 1, InstancesNotChecked: 1, HopLimitTooLowForContainers: 1 });
    expect(doc.ClockErrorBoundSeconds).toHaveLength(2);
    expect(calls.find((c) => c.message === 'check-summary')!.extra).toMatchObject({ completed: true, instancesSeen: 3 });
  });

  it('publishes the heartbeat and every count as 0 for an empty fleet', async () => {
    simulateFleet([]);
    const { handler, emf } = setup();
    await handler({}, { getRemainingTimeInMillis: () => 900_000 });
    expect(emf).toHaveLength(1);
    // The sparse counts (the rarer guest causes) are published only when not 0.
    const counts = Object.entries(CHECK_METRICS).filter(([k]) => k !== 'clockErrorBoundSeconds' && !SPARSE_CHECK_METRICS.has(k as keyof typeof CHECK_METRICS)).map(([, n]) => n);
    // No checked instance, no bound to report: a 0 would pass for a perfect clock.
    expect(metricNames(emf).sort()).toEqual([...counts].sort());
    for (const n of counts) expect(emf[0]![n]).toBe(0);
  });

  it('splits 250 bound values over EMF records of at most 100 values, counts once', async () => {
    simulateFleet(Array.from({ length: 250 }, (_, k) => member(idOf(k))));
    const { handler, emf } = setup();
    await handler({}, { getRemainingTimeInMillis: () => 900_000 });
    expect(emf).toHaveLength(3);
    const values = emf.map((e) => (Array.isArray(e.ClockErrorBoundSeconds) ? e.ClockErrorBoundSeconds.length : e.ClockErrorBoundSeconds === undefined ? 0 : 1));
    expect(values).toEqual([100, 100, 50]);
    expect(emf.filter((e) => e.InstancesSeen !== undefined)).toHaveLength(1);
    expect(emf[0]!.InstancesSeen).toBe(250);
    for (const e of emf) expect(e._aws.CloudWatchMetrics[0]!.Dimensions).toEqual([['service']]);
  });

  it('treats one instance failing as data, not as a Lambda error', async () => {
    simulateFleet([member(idOf(1)), member(idOf(2), { script: { status: 'Failed', statusDetails: 'Undeliverable' } })]);
    const { handler, emf } = setup();
    await expect(handler({}, { getRemainingTimeInMillis: () => 900_000 })).resolves.toMatchObject({ completed: true });
    expect(emf[0]).toMatchObject({ InstancesSeen: 2, InstancesNotChecked: 1 });
  });

  it('throws at the end of a failed run, after logging every instance, and publishes no heartbeat', async () => {
    simulateFleet([member(idOf(1))], { failures: { SendCommand: [awsError('AccessDeniedException')] } });
    const { handler, emf, calls } = setup();
    await expect(handler({}, { getRemainingTimeInMillis: () => 900_000 })).rejects.toThrow(CheckRunError);
    expect(emf).toHaveLength(0);
    expect(calls.filter((c) => c.message === 'instance')).toHaveLength(1);
    expect(calls.find((c) => c.message === 'check-summary')!.extra).toMatchObject({ completed: false });
  });

  it('names the collector\'s pin (DocumentHash, Sha256) on every SendCommand', async () => {
    simulateFleet([member(idOf(1)), member(idOf(2), { platform: 'windows' })]);
    const { handler, settings } = setup();
    await expect(handler({}, { getRemainingTimeInMillis: () => 900_000 })).resolves.toMatchObject({ completed: true });
    const sends = sim.ssm.commandCalls(SendCommandCommand).map((c) => c.args[0].input);
    expect(sends.length).toBeGreaterThan(0);
    for (const s of sends) expect([s.DocumentName, s.DocumentHash, s.DocumentHashType]).toEqual([settings.collectorDocument, settings.collectorDocumentHash, 'Sha256']);
  });

  it('judges nothing when the collector was changed in place: SendCommand refused, the run fails with the reason, no heartbeat, no guest verdict', async () => {
    simulateFleet([member(idOf(1)), member(idOf(2))], { documentHashes: { 'TimeSyncGuard-Collect': '0'.repeat(64) } });
    const { handler, emf, calls } = setup();
    await expect(handler({}, { getRemainingTimeInMillis: () => 900_000 })).rejects.toThrow(/InvalidDocument: document hash [0-9a-f]{64} does not match Sha256/);
    expect(emf).toHaveLength(0);
    const records = calls.filter((c) => c.message === 'instance');
    expect(records).toHaveLength(2);
    for (const r of records) expect(r.extra.checkState).not.toBe('checked');
    expect(sim.account.commands.size).toBe(0);
  });

  it('throws when the inventory cannot be read', async () => {
    simulateFleet([], { failures: { DescribeInstances: [awsError('UnauthorizedOperation')] } });
    const { handler, emf, calls } = setup();
    await expect(handler({}, { getRemainingTimeInMillis: () => 900_000 })).rejects.toThrow(CheckRunError);
    expect(emf).toHaveLength(0);
    expect(calls.find((c) => c.message === 'check-failed')!.extra.error).toMatch(/UnauthorizedOperation/);
  });

  it('stops waiting for guests in time to finish within the Lambda timeout', async () => {
    simulateFleet([member(idOf(1)), member(idOf(2), { script: { hang: true } })]);
    const { handler, clock } = setup();
    const t0 = clock.now();
    const result = await handler({}, { getRemainingTimeInMillis: () => 300_000 });
    expect(clock.now() - t0).toBeLessThanOrEqual(300_000 - 60_000 + 1);
    expect(result.byCheckState).toMatchObject({ checked: 1, pending: 1 });
  });

  it('fails the cold start on a bad setting, naming the variable', () => {
    const saved = process.env.TSG_COMMAND_TIMEOUT_SECONDS;
    process.env.TSG_COMMAND_TIMEOUT_SECONDS = 'soon';
    try {
      jest.isolateModules(() => {
        // eslint-disable-next-line @typescript-eslint/no-require-imports -- a fresh module load is the cold start
        expect(() => require('../../lambda/handlers/check')).toThrow(/TSG_COMMAND_TIMEOUT_SECONDS/);
      });
    } finally {
      if (saved === undefined) delete process.env.TSG_COMMAND_TIMEOUT_SECONDS;
      else process.env.TSG_COMMAND_TIMEOUT_SECONDS = saved;
    }
  });
});

describe('instanceLogRecord', () => {
  it('leaves out, rather than writes null for, what a not-checked instance does not know', () => {
    const r = instanceLogRecord({
      instanceId: 'i-1', platform: 'windows', status: 'unknown', checkState: 'unmanaged', findings: [{ code: 'ssm-unmanaged', message: 'x' }], imds: {}, hasInstanceProfile: false,
    });
    expect(r).toEqual({ instanceId: 'i-1', platform: 'windows', status: 'unknown', checkState: 'unmanaged', findings: 'ssm-unmanaged', httpTokens: 'unknown' });
  });

  const verdict = { platform: 'linux', daemon: 'chrony', timeSource: 'amazon-ipv4', synchronized: true, offsetSeconds: 0, clockErrorBoundSeconds: 0.0001, containers: false, status: 'ok', findings: [] } as const;
  const checked = (v: Partial<typeof verdict> | Record<string, unknown> = {}) =>
    instanceLogRecord({
      instanceId: 'i-2', platform: 'linux', status: 'ok', checkState: 'checked', findings: [], imds: { hopLimit: 2, httpTokens: 'required' }, hasInstanceProfile: true,
      verdict: { ...verdict, ...v } as never,
    });

  it('writes no findings field for an instance without findings, and keeps 0 values', () => {
    const r = checked();
    expect(r).not.toHaveProperty('findings');
    expect(r).toEqual({ instanceId: 'i-2', status: 'ok', timeSource: 'amazon-ipv4', offsetSeconds: 0, clockErrorBoundSeconds: 0.0001, daemon: 'chrony', hopLimit: 2 });
  });

  it('writes platform only for Windows (absent: linux, as EC2 leaves Platform out for Linux) and checkState only when not checked', () => {
    expect(checked()).not.toHaveProperty('platform');
    expect(checked()).not.toHaveProperty('checkState');
    const win = instanceLogRecord({ instanceId: 'i-4', platform: 'windows', status: 'opted-out', checkState: 'opted-out', findings: [], imds: {}, hasInstanceProfile: false });
    expect(win).toMatchObject({ platform: 'windows', checkState: 'opted-out' });
  });

  it('writes synchronized only when false and containers only when true, each as unknown when the report could not say', () => {
    expect(checked({ synchronized: false, containers: true })).toMatchObject({ synchronized: false, containers: true });
    expect(checked({ synchronized: null, containers: null })).toMatchObject({ synchronized: 'unknown', containers: 'unknown' });
    expect(checked()).not.toHaveProperty('synchronized');
    expect(checked()).not.toHaveProperty('containers');
  });

  it('leaves out a detail that only repeats its finding code, and keeps one that says more', () => {
    const notChecked = (checkState: 'unmanaged' | 'ssm-offline', code: 'ssm-unmanaged' | 'ssm-connection-lost' | 'ssm-inactive', detail: string) =>
      instanceLogRecord({ instanceId: 'i-5', platform: 'linux', status: 'unknown', checkState, findings: [{ code, message: detail }], imds: {}, hasInstanceProfile: true, detail });
    expect(notChecked('unmanaged', 'ssm-unmanaged', 'not an SSM managed node')).not.toHaveProperty('detail');
    expect(notChecked('ssm-offline', 'ssm-connection-lost', 'SSM PingStatus ConnectionLost')).not.toHaveProperty('detail');
    expect(notChecked('ssm-offline', 'ssm-inactive', 'SSM PingStatus Inactive')).toMatchObject({ detail: 'SSM PingStatus Inactive' });
  });

  it('writes httpTokens only when it is not required: optional, or unknown when EC2 did not say (never read as required)', () => {
    const rec = (httpTokens?: 'optional' | 'required') =>
      instanceLogRecord({ instanceId: 'i-3', platform: 'linux', status: 'ok', checkState: 'checked', findings: [], imds: { hopLimit: 2, ...(httpTokens ? { httpTokens } : {}) }, hasInstanceProfile: true });
    expect(rec('required')).not.toHaveProperty('httpTokens');
    expect(rec('optional')).toMatchObject({ httpTokens: 'optional' });
    expect(rec()).toMatchObject({ httpTokens: 'unknown' });
  });

  it('writes httpEndpoint only when it is disabled (enabled is the default)', () => {
    const rec = (httpEndpoint: 'enabled' | 'disabled') =>
      instanceLogRecord({ instanceId: 'i-3', platform: 'linux', status: 'ok', checkState: 'checked', findings: [], imds: { hopLimit: 2, httpEndpoint }, hasInstanceProfile: true });
    expect(rec('enabled')).not.toHaveProperty('httpEndpoint');
    expect(rec('disabled')).toMatchObject({ httpEndpoint: 'disabled' });
  });
});
