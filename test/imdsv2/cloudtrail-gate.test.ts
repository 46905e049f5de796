/**
 * CloudTrail's IMDSv1-credential evidence through the nightly run (docs/imdsv2.md#cloudtrails-view):
 * the real engine, adapters and the simulated account's CloudTrail Lake (StartQuery /
 * GetQueryResults with paging and a query still running). An instance with one
 * `ec2RoleDelivery = 1.0` session in the window is never enforced, whatever MetadataNoToken says;
 * without the setting nothing changes.
 */
import { CloudTrailClient } from '@aws-sdk/client-cloudtrail';
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import { EC2Client } from '@aws-sdk/client-ec2';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { SSMClient } from '@aws-sdk/client-ssm';
import { simQueries, type SimTrailRow } from '../../bench/sim/cloudtrail';
import type { SimInstance } from '../../bench/sim/fleet';
import { SIM_DOCUMENT_PINS } from '../../bench/sim/ssm';
import { createEventBridgeAudit } from '../../lambda/aws/audit';
import { VirtualClock } from '../../lambda/aws/clock';
import { createCloudTrailQueryPort } from '../../lambda/aws/cloudtrail-query';
import { CloudWatchInstanceMetrics } from '../../lambda/aws/cloudwatch-metrics';
import { createEc2ImdsPort } from '../../lambda/aws/imds';
import { createImdsv2Tagger } from '../../lambda/aws/imdsv2-ec2';
import { Ec2SsmInventory } from '../../lambda/aws/inventory';
import { MemorySnapshotStore } from '../../lambda/aws/readiness-cache';
import { SsmRunCommand } from '../../lambda/aws/run-command';
import type { CloudTrailSource } from '../../lambda/core/imdsv2/credential-delivery';
import { parseRemediationOutput } from '../../lambda/core/remediation/guest-result';
import { parseSettings } from '../../lambda/core/settings';
import type { CredentialEvidenceDeps } from '../../lambda/engine/credential-evidence';
import { readCredentialEvidence } from '../../lambda/engine/credential-evidence';
import { freshUsageRecheck } from '../../lambda/engine/imdsv2';
import { runRemediation } from '../../lambda/engine/remediate';
import { freshCheck } from '../../lambda/engine/remediation/fresh-check';
import { idOf, member, useSimAccount } from '../support/sim';

const sim = useSimAccount();
const DAY = 86_400_000;
const NIGHT = Date.UTC(2026, 10, 30, 2, 0);
const LAKE: CloudTrailSource = { kind: 'lake', eventDataStoreArn: 'arn:aws:cloudtrail:us-east-1:111122223333:eventdatastore/eds-1' };
const session = (k: number): string => `arn:aws:sts::111122223333:assumed-role/app-role/${idOf(k)}`;

function ec2Member(k: number): SimInstance {
  return member(idOf(k), { launchedAtMs: NIGHT - 60 * DAY, httpTokens: 'optional', hopLimit: 2 });
}

function setup(rows: SimTrailRow[] | undefined, pollsUntilFinished = 1, source: CloudTrailSource = LAKE) {
  const clock = new VirtualClock(NIGHT);
  const fleet = [ec2Member(1), ec2Member(2)];
  const { cloudwatch: cw, byId } = sim.simulate(fleet, { clock, ...(rows ? { cloudTrail: { rows, pollsUntilFinished, pageSize: 1 } } : {}) });
  // MetadataNoToken: zero every day on both (the CloudWatch signal alone would call both ready).
  for (const m of fleet) cw.runInstance(m.id, m.launchedAtMs!, NIGHT, () => 0);
  const metrics = new CloudWatchInstanceMetrics({ cloudwatch: new CloudWatchClient({}), clock });
  const credentials: CredentialEvidenceDeps | undefined = rows
    ? {
        source,
        query: createCloudTrailQueryPort(source, { cloudtrail: () => new CloudTrailClient({}), logs: () => new CloudWatchLogsClient({}) }, clock),
        store: new MemorySnapshotStore(),
        maxWaitMs: 300_000,
      }
    : undefined;
  return { clock, byId, metrics, credentials };
}

async function night(s: ReturnType<typeof setup>) {
  const { clock, metrics } = s;
  const settings = { ...parseSettings({ ...SIM_DOCUMENT_PINS, TSG_IMDSV2: 'enforce' }), fixTimeSync: false };
  const ec2 = new EC2Client({});
  const ssm = new SSMClient({});
  const deadline = clock.now() + 600_000;
  const inventory = new Ec2SsmInventory({ ec2, ssm, clock, optOutTagKey: settings.optOutTagKey });
  return runRemediation(
    {
      clock,
      check: freshCheck(
        { inventory, runCommand: new SsmRunCommand({ ssm, clock }), clock, imdsv2: { metrics, store: new MemorySnapshotStore(), ...(s.credentials ? { credentials: s.credentials } : {}) } },
        settings,
        deadline,
      ),
      imds: (bucketState) => createEc2ImdsPort({ ec2, clock, optOutTagKey: settings.optOutTagKey, ...(bucketState ? { bucketState } : {}) }),
      imdsv2Tag: createImdsv2Tagger(ec2, clock),
      imdsv2Recheck: freshUsageRecheck(metrics, clock, settings.imdsv2LookbackDays),
      imdsv2RecordKey: async () => new Uint8Array(32).fill(9),
      runCommand: new SsmRunCommand({ ssm, clock }),
      parseOutput: parseRemediationOutput,
      audit: createEventBridgeAudit({ events: new EventBridgeClient({}), source: 'timesync-guard', sleep: (ms) => clock.sleep(ms) }),
      continuationKey: async () => new Uint8Array(32).fill(7),
      newRunId: () => 'run-ct',
    },
    settings,
    {},
    { deadline, verifyPollMs: 1_000 },
  );
}

describe('CloudTrail IMDSv1-credential evidence in the nightly run', () => {
  it('never enforces an instance with one ec2RoleDelivery = 1.0 session in the window; enforces the clean one', async () => {
    const s = setup([
      { arn: session(1), delivery: '1.0', n: 1 },
      { arn: session(2), delivery: '2.0', errorCode: 'RequestExpired', n: 3 },
      { arn: 'arn:aws:sts::111122223333:assumed-role/app-role/alice', delivery: '1.0', n: 9 },
    ]);
    const result = await night(s);
    expect(result.done).toBe(true);
    expect(s.byId.get(idOf(1))!.httpTokens).toBe('optional');
    expect(s.byId.get(idOf(2))!.httpTokens).toBe('required');
    const [q] = [...simQueries(sim.account).values()];
    expect(q!.text).toContain("ec2RoleDelivery = '1.0'");
    expect(q!.text).toContain('FROM eds-1');
  });

  it('the test can fail: without the CloudTrail setting nothing changes and both are enforced', async () => {
    const s = setup(undefined);
    await night(s);
    expect(s.byId.get(idOf(1))!.httpTokens).toBe('required');
    expect(s.byId.get(idOf(2))!.httpTokens).toBe('required');
    expect(simQueries(sim.account).size).toBe(0);
  });

  it('enforces nothing while the query is still running at the deadline (unreadable evidence), and the next run reads that query', async () => {
    const s = setup([{ arn: session(1), delivery: '1.0', n: 1 }], 1_000);
    await night(s);
    expect(s.byId.get(idOf(1))!.httpTokens).toBe('optional');
    expect(s.byId.get(idOf(2))!.httpTokens).toBe('optional');
    const again = await readCredentialEvidence({ ...s.credentials!, maxWaitMs: 10_000_000 }, s.clock);
    expect(again).toMatchObject({ outcome: 'read', byInstance: { [idOf(1)]: { imdsv1Deliveries: 1 } } });
    expect(simQueries(sim.account).size).toBe(1); // the pending query was resumed, not started again
  });

  it('reads every page of a finished query, and the stored evidence for 24 h without a new query', async () => {
    const rows = [1, 2, 3].map((k) => ({ arn: session(k), delivery: '1.0', n: k }));
    const s = setup(rows);
    const first = await readCredentialEvidence(s.credentials!, s.clock);
    expect(first).toMatchObject({ outcome: 'read', refreshed: true });
    expect(Object.keys(first.outcome === 'read' ? first.byInstance : {})).toHaveLength(3);
    s.clock.advance(23 * 3_600_000);
    expect(await readCredentialEvidence(s.credentials!, s.clock)).toMatchObject({ outcome: 'read', refreshed: false });
    expect(simQueries(sim.account).size).toBe(1);
  });

  it('queries a Logs Insights group the same way', async () => {
    const s = setup([{ arn: session(2), delivery: '1.0', n: 4 }], 2, { kind: 'logs', logGroupName: 'aws-cloudtrail-logs' });
    expect(await readCredentialEvidence(s.credentials!, s.clock)).toMatchObject({ outcome: 'read', byInstance: { [idOf(2)]: { imdsv1Deliveries: 4 } } });
  });
});
