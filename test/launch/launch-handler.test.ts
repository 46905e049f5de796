import { Metrics } from '@aws-lambda-powertools/metrics';
import { VirtualClock } from '../../lambda/aws/clock';
import type { InstanceInventory } from '../../lambda/aws/inventory';
import type { RunCommandPort } from '../../lambda/aws/run-command';
import type { StartExecution } from '../../lambda/aws/start-execution';
import { EC2_STATE_CHANGE, LAUNCH_MAX_ATTEMPTS, LAUNCH_REMEDIATION_MAX_IDS, LAUNCH_RETRY_KIND, type LaunchTarget } from '../../lambda/core/fleet/launch';
import { LAUNCH_METRICS } from '../../lambda/core/fleet/metric-names';
import { parseLaunchSettings } from '../../lambda/core/settings';
import type { InstanceRecord } from '../../lambda/core/types';
import { createLaunchHandler, type LaunchSqsEvent } from '../../lambda/handlers/launch';

const T = Date.UTC(2026, 0, 1);
const ID = 'i-0123456789abcdef0';
const body = JSON.stringify({ source: 'aws.ec2', 'detail-type': EC2_STATE_CHANGE, time: new Date(T).toISOString(), detail: { 'instance-id': ID, state: 'running' } });
const unmanaged: InstanceRecord = { instanceId: ID, platform: 'linux', hasInstanceProfile: true, optedOut: false, imds: { hopLimit: 1, httpEndpoint: 'disabled' } };

function handlerWith(
  runCommand: Partial<RunCommandPort>,
  requeue: (targets: readonly LaunchTarget[], delaySeconds: number) => Promise<void>,
  records: InstanceRecord[] = [unmanaged],
  options: { env?: Record<string, string>; startRemediation?: StartExecution; clock?: VirtualClock } = {},
) {
  const logged: Array<[string, Record<string, unknown>]> = [];
  const log = (m: string, e: Record<string, unknown> = {}) => logged.push([m, e]);
  const listInstances = jest.fn(async () => records);
  const inventory: InstanceInventory = { listInstances };
  const metrics = new Metrics({ namespace: 'Test', serviceName: 'test' });
  const added: Array<[string, number]> = [];
  jest.spyOn(metrics, 'addMetric').mockImplementation((name: string, _unit: unknown, value: number) => {
    added.push([name, value]);
    return metrics;
  });
  jest.spyOn(metrics, 'publishStoredMetrics').mockImplementation(() => metrics);
  const clock = options.clock ?? new VirtualClock(T + 10_000);
  const handler = createLaunchHandler({
    settings: parseLaunchSettings(options.env ?? {}),
    clock,
    logger: { info: log, warn: log, error: log },
    metrics,
    runCommand: runCommand as RunCommandPort,
    inventoryFor: () => inventory,
    requeue: { requeue },
    ...(options.startRemediation ? { startRemediation: options.startRemediation } : {}),
  });
  return { handler, logged, listInstances, added, clock };
}

const retryBody = (targets: unknown[]) => JSON.stringify({ kind: LAUNCH_RETRY_KIND, targets });
const idOf = (k: number) => `i-${k.toString(16).padStart(17, '0')}`;

describe('launch handler', () => {
  it('logs the IMDS look at once and re-queues an instance whose agent is not registered yet', async () => {
    const requeue = jest.fn(async () => undefined);
    const { handler, logged } = handlerWith({}, requeue);
    const r = await handler({ Records: [{ messageId: 'm1', body }] });
    expect(r).toMatchObject({ batchItemFailures: [], reported: 0, requeued: 1 });
    expect(requeue).toHaveBeenCalledWith([{ instanceId: ID, attempt: 1, since: T }], 15);
    const pending = logged.find(([m]) => m === 'instance-pending')?.[1];
    expect(pending).toMatchObject({ instanceId: ID, trigger: 'launch', findings: expect.stringContaining('imds-endpoint-disabled') });
  });

  it('hands the messages back to SQS when the retry cannot be queued', async () => {
    const { handler } = handlerWith({}, async () => {
      throw new Error('AccessDenied');
    });
    const r = await handler({ Records: [{ messageId: 'm1', body }, { messageId: 'bad', body: '{}' }] });
    expect(r.batchItemFailures).toEqual([{ itemIdentifier: 'm1' }]);
    expect(r.refused).toBe(1);
  });

  it('throws when the inventory cannot be read, so the whole batch is retried and the Errors alarm sees it', async () => {
    const { handler } = handlerWith({}, async () => undefined);
    const broken = createLaunchHandler({
      settings: parseLaunchSettings({}),
      clock: new VirtualClock(T),
      logger: { info: () => undefined, warn: () => undefined, error: () => undefined },
      metrics: new Metrics({ namespace: 'Test', serviceName: 'test' }),
      runCommand: {} as RunCommandPort,
      inventoryFor: () => ({ listInstances: async () => Promise.reject(new Error('UnauthorizedOperation')) }),
      requeue: { requeue: async () => undefined },
    });
    void handler;
    await expect(broken({ Records: [{ messageId: 'm1', body }] })).rejects.toThrow(/launch check could not run/);
  });
});

describe('launch handler: forged retries change nothing and are not requeued for ever', () => {
  it.each<[string, string]>([
    ['a garbage body', '\u0000<xml>not json'],
    ['a retry with attempts in the billions', retryBody([{ instanceId: ID, attempt: 4e9, since: T }])],
    ['a retry one attempt over the cap', retryBody([{ instanceId: ID, attempt: LAUNCH_MAX_ATTEMPTS + 1, since: T }])],
    ['a retry with 501 targets', retryBody(Array.from({ length: 501 }, (_, k) => ({ instanceId: idOf(k), attempt: 0, since: T })))],
    ['a retry with a malformed id', retryBody([{ instanceId: 'i-../../etc', attempt: 0, since: T }])],
    ['a custom event dressed as EC2', JSON.stringify({ source: 'my.app', 'detail-type': EC2_STATE_CHANGE, detail: { 'instance-id': ID, state: 'running' } })],
  ])('drops %s: no check, no requeue, no redelivery; logged and counted', async (_name, forged) => {
    const requeue = jest.fn(async () => undefined);
    const { handler, logged, listInstances, added } = handlerWith({}, requeue);
    const r = await handler({ Records: [{ messageId: 'forged', body: forged }] });
    expect(r).toEqual({ batchItemFailures: [], reported: 0, requeued: 0, refused: 1 });
    expect(listInstances).not.toHaveBeenCalled();
    expect(requeue).not.toHaveBeenCalled();
    expect(logged.find(([m]) => m === 'launch-message-refused')?.[1]).toMatchObject({ messageId: 'forged', reason: expect.any(String) });
    expect(added).toEqual([[LAUNCH_METRICS.messagesRefused, 1]]);
  });

  it('publishes no refusal metric when every message is ours', async () => {
    const { handler, added } = handlerWith({}, async () => undefined);
    await handler({ Records: [{ messageId: 'm1', body }] });
    expect(added.map(([n]) => n)).not.toContain(LAUNCH_METRICS.messagesRefused);
  });

  it.each<[string, unknown]>([
    ['in the future', T + 86_400_000],
    ['8.64e15', 8.64e15],
    ['far-future ISO', '9999-12-31T23:59:59.999Z'],
  ])('a forged retry with since %s waits at most launchSsmWaitSeconds from its receive time, then is reported once and dropped', async (_name, since) => {
    const clock = new VirtualClock(T);
    const queue: { body: string; visibleAt: number }[] = [{ body: retryBody([{ instanceId: ID, attempt: 0, since }]), visibleAt: T }];
    const requeue = async (targets: readonly LaunchTarget[], delaySeconds: number) => {
      queue.push({ body: retryBody([...targets]), visibleAt: clock.now() + delaySeconds * 1000 });
    };
    const { handler, logged } = handlerWith({}, requeue, [unmanaged], { clock });
    let rounds = 0;
    while (queue.length > 0 && rounds < 1000) {
      const [next] = queue.splice(0, 1);
      await clock.sleep(Math.max(0, next!.visibleAt - clock.now()));
      await handler({ Records: [{ messageId: `m${rounds++}`, body: next!.body }] } satisfies LaunchSqsEvent);
    }
    expect(queue).toHaveLength(0);
    expect(rounds).toBeLessThan(LAUNCH_MAX_ATTEMPTS);
    // 600 s default wait, counted from the first receive; the last retry starts inside it.
    expect(clock.now() - T).toBeLessThanOrEqual(600_000);
    const finals = logged.filter(([m]) => m === 'instance');
    expect(finals).toHaveLength(1);
    expect(finals[0]![1]).toMatchObject({ instanceId: ID, checkState: 'unmanaged' });
  });

  it('an honest retry at the attempt cap is reported, not requeued again', async () => {
    const requeue = jest.fn(async () => undefined);
    const { handler, logged } = handlerWith({}, requeue);
    const r = await handler({ Records: [{ messageId: 'm1', body: retryBody([{ instanceId: ID, attempt: LAUNCH_MAX_ATTEMPTS, since: T + 10_000 }]) }] });
    expect(r).toMatchObject({ reported: 1, requeued: 0, refused: 0 });
    expect(requeue).not.toHaveBeenCalled();
    expect(logged.filter(([m]) => m === 'instance')).toHaveLength(1);
  });
});

describe('launch handler: remediation on launch', () => {
  const REMEDIATE = { TSG_REMEDIATE_ON_LAUNCH: 'true', TSG_LAUNCH_SSM_WAIT_SECONDS: '0' };
  const atRisk = (k: number): InstanceRecord => ({ ...unmanaged, instanceId: idOf(k) });
  const eventFor = (id: string) => JSON.stringify({ source: 'aws.ec2', 'detail-type': EC2_STATE_CHANGE, time: new Date(T).toISOString(), detail: { 'instance-id': id, state: 'running' } });

  it('starts the remediation state machine itself, with the at-risk instance ids and an idempotent name', async () => {
    const start = jest.fn<ReturnType<StartExecution>, Parameters<StartExecution>>(async () => 'arn:aws:states:eu-west-1:111122223333:execution:sm:x');
    const { handler, logged } = handlerWith({}, async () => undefined, [unmanaged], { env: REMEDIATE, startRemediation: start });
    await handler({ Records: [{ messageId: 'm1', body }] });
    expect(start).toHaveBeenCalledTimes(1);
    const [input, name] = start.mock.calls[0]!;
    expect(input).toEqual({ trigger: 'launch', instanceIds: [ID] });
    expect(name).toMatch(/^launch-[0-9TZ-]+-[0-9a-f]{16}$/);
    expect(name!.length).toBeLessThanOrEqual(80);
    expect(logged.find(([m]) => m === 'check-summary')?.[1]).toMatchObject({ remediationRequested: true });
  });

  it('never starts one without remediateOnLaunch', async () => {
    const start = jest.fn(async () => 'arn');
    const { handler } = handlerWith({}, async () => undefined, [unmanaged], { env: { TSG_LAUNCH_SSM_WAIT_SECONDS: '0' }, startRemediation: start });
    await handler({ Records: [{ messageId: 'm1', body }] });
    expect(start).not.toHaveBeenCalled();
  });

  it('asks for at most 1,000 instances in its one execution; the rest are left to the nightly run, and said so', async () => {
    const n = LAUNCH_REMEDIATION_MAX_IDS + 5;
    const records = Array.from({ length: n }, (_, k) => atRisk(k));
    const start = jest.fn<ReturnType<StartExecution>, Parameters<StartExecution>>(async () => 'arn');
    const { handler, logged } = handlerWith({}, async () => undefined, records, { env: REMEDIATE, startRemediation: start });
    await handler({ Records: records.map((r, k) => ({ messageId: `m${k}`, body: eventFor(r.instanceId) })) });
    expect(start).toHaveBeenCalledTimes(1);
    expect((start.mock.calls[0]![0].instanceIds as string[]).length).toBe(LAUNCH_REMEDIATION_MAX_IDS);
    expect(logged.find(([m]) => m === 'launch-remediation-capped')?.[1]).toMatchObject({ atRisk: n, requested: LAUNCH_REMEDIATION_MAX_IDS, leftForNightlyRun: 5 });
  });

  it('a start that fails is logged and not fatal (the nightly run fixes them)', async () => {
    const start = jest.fn(async () => Promise.reject(Object.assign(new Error('denied'), { name: 'AccessDeniedException' })));
    const { handler, logged } = handlerWith({}, async () => undefined, [unmanaged], { env: REMEDIATE, startRemediation: start });
    const r = await handler({ Records: [{ messageId: 'm1', body }] });
    expect(r.batchItemFailures).toEqual([]);
    expect(logged.find(([m]) => m === 'launch-remediation-request-failed')?.[1]).toMatchObject({ error: expect.stringContaining('AccessDeniedException') });
    expect(logged.find(([m]) => m === 'check-summary')?.[1]).toMatchObject({ remediationRequested: false });
  });
});
