import { Metrics } from '@aws-lambda-powertools/metrics';
import { VirtualClock } from '../../lambda/aws/clock';
import type { InstanceInventory } from '../../lambda/aws/inventory';
import type { RunCommandPort } from '../../lambda/aws/run-command';
import { EC2_STATE_CHANGE } from '../../lambda/core/fleet/launch';
import { parseLaunchSettings } from '../../lambda/core/settings';
import type { InstanceRecord } from '../../lambda/core/types';
import { createLaunchHandler } from '../../lambda/handlers/launch';

const T = Date.UTC(2026, 0, 1);
const ID = 'i-0123456789abcdef0';
const body = JSON.stringify({ source: 'aws.ec2', 'detail-type': EC2_STATE_CHANGE, time: new Date(T).toISOString(), detail: { 'instance-id': ID, state: 'running' } });
const unmanaged: InstanceRecord = { instanceId: ID, platform: 'linux', hasInstanceProfile: true, optedOut: false, imds: { hopLimit: 1, httpEndpoint: 'disabled' } };

function handlerWith(runCommand: Partial<RunCommandPort>, requeue: () => Promise<void>, records: InstanceRecord[] = [unmanaged]) {
  const logged: Array<[string, Record<string, unknown>]> = [];
  const log = (m: string, e: Record<string, unknown> = {}) => logged.push([m, e]);
  const inventory: InstanceInventory = { listInstances: async () => records };
  const handler = createLaunchHandler({
    settings: parseLaunchSettings({}),
    clock: new VirtualClock(T + 10_000),
    logger: { info: log, warn: log, error: log },
    metrics: new Metrics({ namespace: 'Test', serviceName: 'test' }),
    runCommand: runCommand as RunCommandPort,
    inventoryFor: () => inventory,
    requeue: { requeue },
    eventbridge: { send: jest.fn() },
  });
  return { handler, logged };
}

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
      eventbridge: { send: jest.fn() },
    });
    void handler;
    await expect(broken({ Records: [{ messageId: 'm1', body }] })).rejects.toThrow(/launch check could not run/);
  });
});
