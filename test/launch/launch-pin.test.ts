/**
 * The launch path runs the stack's collector like the hourly check: its SendCommand request names
 * the collector's pin (the session puts it on the wire: test/aws/run-command.test.ts, "pinned documents").
 */
import { Metrics } from '@aws-lambda-powertools/metrics';
import { VirtualClock } from '../../lambda/aws/clock';
import type { InstanceInventory } from '../../lambda/aws/inventory';
import type { RunCommandPort, RunSessionRequest } from '../../lambda/aws/run-command';
import { EC2_STATE_CHANGE } from '../../lambda/core/fleet/launch';
import { parseLaunchSettings } from '../../lambda/core/settings';
import type { InstanceRecord } from '../../lambda/core/types';
import { createLaunchHandler } from '../../lambda/handlers/launch';

const T = Date.UTC(2026, 0, 1);
const ID = 'i-0123456789abcdef0';
const PIN = 'a1'.repeat(32);
const body = JSON.stringify({ source: 'aws.ec2', 'detail-type': EC2_STATE_CHANGE, time: new Date(T).toISOString(), detail: { 'instance-id': ID, state: 'running' } });
const managed: InstanceRecord = { instanceId: ID, platform: 'linux', hasInstanceProfile: true, optedOut: false, imds: { hopLimit: 2, httpEndpoint: 'enabled' }, ssm: { pingStatus: 'Online' } };

it('launch check: the collector request names the collector document and its pin', async () => {
  const requests: RunSessionRequest[] = [];
  const runCommand: RunCommandPort = {
    startSession(request) {
      requests.push(request);
      return {
        add: () => undefined,
        finish: async () => ({ results: new Map(), commandIds: [], errors: [], stats: { sendCommand: 0, listCommands: 0, listCommandInvocationsPages: 0, getCommandInvocation: 0, cancelCommand: 0, throttled: 0, polls: 0 } }),
      };
    },
  };
  const inventory: InstanceInventory = { listInstances: async () => [managed] };
  const quiet = { info: () => undefined, warn: () => undefined, error: () => undefined };
  const handler = createLaunchHandler({
    settings: parseLaunchSettings({ TSG_COLLECTOR_DOCUMENT: 'Stack-Collect', TSG_COLLECTOR_DOCUMENT_HASH: PIN }),
    clock: new VirtualClock(T + 10_000),
    logger: quiet,
    metrics: new Metrics({ namespace: 'Test', serviceName: 'test' }),
    runCommand,
    inventoryFor: () => inventory,
    requeue: { requeue: async () => undefined },
  });
  await handler({ Records: [{ messageId: 'm1', body }] });
  expect(requests.length).toBeGreaterThan(0);
  for (const r of requests) expect([r.documentName, r.documentHash]).toEqual(['Stack-Collect', PIN]);
});
