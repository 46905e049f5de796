import 'aws-sdk-client-mock-jest';
import { createHash } from 'node:crypto';
import { EC2Client } from '@aws-sdk/client-ec2';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { SSMClient } from '@aws-sdk/client-ssm';
import { NO_LATENCY, SimAccount } from '../../bench/sim/account';
import { simInstance } from '../../bench/sim/fleet';
import { createEventBridgeAudit } from '../../lambda/aws/audit';
import { VirtualClock } from '../../lambda/aws/clock';
import { createEc2ImdsPort } from '../../lambda/aws/imds';
import { SsmRunCommand } from '../../lambda/aws/run-command';
import { parseRemediationOutput } from '../../lambda/core/remediation/guest-result';
import { parseSettings } from '../../lambda/core/settings';
import type { InstanceEvaluation } from '../../lambda/core/types';
import { type RemediationDeps, runRemediation } from '../../lambda/engine/remediate';

let account: SimAccount | undefined;
afterEach(() => account?.restore());

/** Random-looking, distinct ids, as real ones are (no compression luck for the continuation). */
function ids(n: number): string[] {
  return Array.from({ length: n }, (_, k) => `i-${createHash('sha256').update(String(k)).digest('hex').slice(0, 17)}`);
}

it('10,000 hop-limit changes finish in one night across 15-minute invocations: each change once, paced, continuations < 256 KB', async () => {
  const n = 10_000;
  const list = ids(n);
  const clock = new VirtualClock();
  account = new SimAccount(list.map((id) => simInstance(id, { hopLimit: 1 })), clock, { latencies: NO_LATENCY }).install();
  const evaluations: InstanceEvaluation[] = list.map((instanceId) => ({
    instanceId,
    platform: 'linux',
    status: 'at-risk',
    checkState: 'checked',
    findings: [],
    imds: { hopLimit: 1, httpEndpoint: 'enabled', state: 'applied' },
    hasInstanceProfile: true,
  }));
  const ec2 = new EC2Client({});
  const deps: RemediationDeps = {
    clock,
    check: async () => {
      clock.advance(120_000); // a check of 10k instances takes minutes
      return { evaluations };
    },
    imds: (b) => createEc2ImdsPort({ ec2, clock, ...(b ? { bucketState: b } : {}) }),
    runCommand: new SsmRunCommand({ ssm: new SSMClient({}), clock }),
    parseOutput: parseRemediationOutput,
    audit: createEventBridgeAudit({ events: new EventBridgeClient({}), source: 'timesync-guard', sleep: (ms) => clock.sleep(ms) }),
    continuationKey: async () => Buffer.from('scale-test-continuation-key-0123456789abcdef'),
  };
  const settings = { ...parseSettings({}), hopLimitScope: 'all' as const, maxChangesPerRun: n, maxChangesPercent: 100, fixTimeSync: false };
  const start = clock.now();
  const sizes: number[] = [];
  let out = await runRemediation(deps, settings, {}, { deadline: clock.now() + 900_000 - 45_000 });
  let invocations = 1;
  while (!out.done && invocations < 60) {
    sizes.push(out.continuation!.length);
    clock.advance(2_000); // the state machine's turn-around
    out = await runRemediation(deps, settings, { continuation: out.continuation }, { deadline: clock.now() + 900_000 - 45_000 });
    invocations++;
  }
  const minutes = (clock.now() - start) / 60_000;
  console.info(`10k: ${invocations} invocations, ${minutes.toFixed(1)} min of clock time, continuation bytes ${sizes.join(', ')}`);
  expect(out.done).toBe(true);
  expect(out.summary.counts).toEqual(expect.objectContaining({ attempted: n, succeeded: n, failed: 0 }));
  expect(account.modified.size).toBe(n);
  expect([...account.modified.values()].every((times) => times === 1)).toBe(true);
  expect(account.lowered).toBe(0);
  // (10,000 − 100) / 5 s = 33 min of API time + the check: three 15-minute invocations, well within one night.
  expect(minutes).toBeGreaterThanOrEqual(33);
  expect(minutes).toBeLessThan(45);
  expect(Math.max(...sizes)).toBeLessThan(256 * 1024 * 0.6);
}, 120_000);
