/**
 * The organization hub's export of findings (issue 22, point 4), end to end through the hub's item
 * handler: a member account-region simulated behind the REAL SDK clients and serializers (bench/wire),
 * entered with a mocked STS AssumeRole, the export state kept in the hub's bucket behind a small S3
 * wire fake. Findings must land in the member account as its own product, with the spoke credentials,
 * and archiving by absence may only follow a check that saw the whole account-region in one slice.
 */
import { Readable } from 'node:stream';
import { S3Client } from '@aws-sdk/client-s3';
import { SecurityHubClient } from '@aws-sdk/client-securityhub';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { mockClient } from 'aws-sdk-client-mock';
import { SimAccount } from '../../bench/sim/account';
import { type SimInstance, simInstance } from '../../bench/sim/fleet';
import { securityHubState } from '../../bench/sim/securityhub';
import { SIM_DOCUMENT_PINS } from '../../bench/sim/ssm';
import { DiscreteEventClock } from '../../bench/sim/virtual-clock';
import { SimWireHandler } from '../../bench/wire/handler';
import { createClient, createClients } from '../../lambda/aws/clients';
import { type HubItemEvent, type HubItemResult, parseHubSettings } from '../../lambda/core/fleet/hub';
import { parseSettings } from '../../lambda/core/settings';
import { createHubItemHandler, exportStoreIn } from '../../lambda/handlers/hub-item';

const MEMBER = '444455556666';
const REGION = 'eu-west-1';
const BUCKET = 'tsg-hub-export-state';
const STATE_KEY = `findings-export/${MEMBER}/${REGION}.json`;
const PRODUCT = `arn:aws:securityhub:${REGION}:${MEMBER}:product/${MEMBER}/default`;
const HOUR = 3_600_000;
const sts = mockClient(STSClient);
/** What the handler warned or failed about (a state read back as invalid would be one). */
const warnings: string[] = [];
const quiet = { info: () => undefined, warn: (m: string) => void warnings.push(m), error: (m: string) => void warnings.push(m) };

beforeEach(() => {
  sts.reset();
  warnings.length = 0;
});
afterAll(() => sts.restore());

type WireRequest = Parameters<SimWireHandler['handle']>[0] & { readonly method?: string };

/** The member account's wire, recording who signed each request for which service and action. */
class RecordingWire extends SimWireHandler {
  readonly seen: { service: string; action: string; credential: string }[] = [];
  override handle(request: WireRequest): ReturnType<SimWireHandler['handle']> {
    const auth = request.headers['authorization'] ?? '';
    const action = request.headers['x-amz-target']?.split('.')[1] ?? request.path ?? '';
    this.seen.push({ service: request.hostname.split('.')[0]!, action, credential: /Credential=([^,]+)/.exec(auth)?.[1] ?? '' });
    return super.handle(request);
  }
}

/** The hub's bucket: S3's REST-XML on the wire, objects kept by host and path. */
class FakeS3Wire {
  readonly objects = new Map<string, string>();
  readonly seen: { method: string; object: string; credential: string }[] = [];
  async handle(request: WireRequest & { method: string; body?: unknown }): Promise<{ response: { statusCode: number; headers: Record<string, string>; body: unknown } }> {
    const object = `${request.hostname.split('.')[0]}${decodeURIComponent(request.path ?? '')}`;
    this.seen.push({ method: request.method, object, credential: /Credential=([^,]+)/.exec(request.headers['authorization'] ?? '')?.[1] ?? '' });
    if (request.method === 'PUT') {
      const b = request.body;
      this.objects.set(object, typeof b === 'string' ? b : Buffer.from(b as Uint8Array).toString('utf8'));
      return { response: { statusCode: 200, headers: { etag: '"1"' }, body: Readable.from([]) } };
    }
    const text = this.objects.get(object);
    if (text === undefined) {
      return { response: { statusCode: 404, headers: { 'content-type': 'application/xml' }, body: Readable.from([Buffer.from('<Error><Code>NoSuchKey</Code><Message>The specified key does not exist.</Message></Error>')]) } };
    }
    return { response: { statusCode: 200, headers: { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(text)) }, body: Readable.from([Buffer.from(text)]) } };
  }
  updateHttpClientConfig(): void {}
  httpHandlerConfigs(): Record<string, never> {
    return {};
  }
}

const iid = (k: number): string => `i-${(0x20000000 + k).toString(16).padStart(17, '0')}`;

/**
 * A member fleet of `n`: instance 1's clock is far off (time sync FAILED), instances 2 and 3 allow
 * IMDSv1 (IMDSv2 FAILED), and instance 3 is terminated 1.5 h after the first run started (between the second and the third run).
 */
function memberFleet(n: number): SimInstance[] {
  return Array.from({ length: n }, (_, k) =>
    simInstance(iid(k), k === 1 ? { scenario: 'chrony-big-offset' } : k === 2 ? { httpTokens: 'optional' } : k === 3 ? { httpTokens: 'optional', vanishAfterMs: 1.5 * HOUR } : {}),
  );
}

function hub(n: number, slicePages: number) {
  const clock = new DiscreteEventClock({ startMs: Date.UTC(2026, 11, 7, 1) });
  const account = new SimAccount(memberFleet(n), clock, { accountId: MEMBER });
  const wire = new RecordingWire(account);
  const s3 = new FakeS3Wire();
  sts.on(AssumeRoleCommand).callsFake((input: { RoleArn: string }) => {
    const acct = input.RoleArn.split(':')[4];
    return { Credentials: { AccessKeyId: `AKIDSPOKE${acct}`, SecretAccessKey: 'secret', SessionToken: 'token', Expiration: new Date(clock.now() + HOUR) } };
  });
  const hubCredentials = { accessKeyId: 'AKIDHUB', secretAccessKey: 'secret' };
  const handler = createHubItemHandler({
    settings: parseSettings({ ...SIM_DOCUMENT_PINS, TSG_EXPORT_STATE_BUCKET: BUCKET }),
    hub: { ...parseHubSettings({}, 'us-east-1'), slicePages },
    partition: 'aws',
    clock,
    logger: quiet,
    metrics: new Metrics({ namespace: 'Test', serviceName: 'test' }),
    sts: new STSClient({ region: 'us-east-1' }),
    clientsFor: (region, credentials) => createClients({ region, credentials, requestHandler: wire, maxAttempts: 1 }),
    centralEvents: { send: (async () => ({})) as never },
    continuationKey: async () => new Uint8Array(32).fill(7),
    securityHubFor: (region, credentials) => createClient(SecurityHubClient, 'securityhub', { region, credentials, requestHandler: wire, maxAttempts: 1 }),
    exportStore: exportStoreIn(createClient(S3Client, 's3', { region: 'us-east-1', credentials: hubCredentials, requestHandler: s3 as never, maxAttempts: 1 }), BUCKET, clock),
  });
  const sh = securityHubState(account);
  const finding = (k: number, check: string) => sh.findings.get(`${PRODUCT}|timesync-guard/${MEMBER}/${REGION}/${iid(k)}/${check}`);
  const calls = (action: string): number => account.stats.calls[action] ?? 0;
  /** One check of the account-region, slice after slice as the state machine's loop does, then an hour passes. */
  const run = (): Promise<HubItemResult[]> =>
    clock.run(async () => {
      const item: HubItemEvent = { accountId: MEMBER, region: REGION, mode: 'check' };
      const results: HubItemResult[] = [];
      let request = item;
      for (let i = 0; i < 10; i++) {
        const r = await handler(request, { getRemainingTimeInMillis: () => 900_000 });
        results.push(r);
        if (r.done) break;
        request = { ...item, sliceToken: r.sliceToken, continuation: r.continuation, carry: r.counts, slices: r.slices };
      }
      await clock.sleep(HOUR);
      return results;
    });
  return { clock, account, wire, s3, sh, finding, calls, run };
}

describe('hub item: findings exported into the member account', () => {
  it('imports into the member account as its own product, puts compliance items, all with the spoke credentials; the state is in the hub bucket', async () => {
    const h = hub(4, 10);
    const results = await h.run();
    expect(results).toHaveLength(1);
    expect(results[0]).toMatchObject({ status: 'ok', done: true });

    expect([...h.sh.findings.keys()].sort()).toEqual(
      [`${iid(1)}/time-sync`, `${iid(2)}/imdsv2`, `${iid(3)}/imdsv2`].map((x) => `${PRODUCT}|timesync-guard/${MEMBER}/${REGION}/${x}`).sort(),
    );
    for (const { finding } of h.sh.findings.values()) {
      expect(finding).toMatchObject({ ProductArn: PRODUCT, AwsAccountId: MEMBER, RecordState: 'ACTIVE', Compliance: { Status: 'FAILED' } });
    }
    expect(h.finding(1, 'time-sync')!.workflow).toBe('NEW');
    // Every managed instance got its items, the failing ones NON_COMPLIANT.
    expect([...h.sh.compliance.keys()].sort()).toEqual([0, 1, 2, 3].map(iid));
    expect(h.sh.compliance.get(iid(2))).toContainEqual(expect.objectContaining({ Id: 'imdsv2', Status: 'NON_COMPLIANT' }));
    expect(h.sh.compliance.get(iid(0))!.every((i) => i['Status'] === 'COMPLIANT')).toBe(true);

    // Signed with the spoke role's credentials for the member's region, never the hub's.
    const exportCalls = h.wire.seen.filter((s) => s.action === 'PutComplianceItems' || s.action === '/findings/import');
    expect(exportCalls.filter((s) => s.action === 'PutComplianceItems')).toHaveLength(4);
    expect(exportCalls.filter((s) => s.action === '/findings/import')).toHaveLength(1);
    for (const s of exportCalls) expect(s.credential).toMatch(new RegExp(`^AKIDSPOKE${MEMBER}/\\d{8}/${REGION}/(ssm|securityhub)/aws4_request$`));

    // The state: one object per member account-region in the hub's bucket, under the hub's credentials.
    expect([...h.s3.objects.keys()]).toEqual([`${BUCKET}/${STATE_KEY}`]);
    expect(() => JSON.parse(h.s3.objects.get(`${BUCKET}/${STATE_KEY}`)!) as unknown).not.toThrow();
    for (const s of h.s3.seen) expect(s.credential).toMatch(/^AKIDHUB\//);
  });

  it('a second run imports and puts nothing new', async () => {
    const h = hub(4, 10);
    await h.run();
    const imports = h.calls('BatchImportFindings');
    const puts = h.calls('PutComplianceItems');
    const state = h.s3.objects.get(`${BUCKET}/${STATE_KEY}`);
    await h.run();
    expect(h.calls('BatchImportFindings')).toBe(imports);
    expect(h.calls('PutComplianceItems')).toBe(puts);
    expect(h.s3.objects.get(`${BUCKET}/${STATE_KEY}`)).toBeDefined();
    expect(state).toBeDefined();
    expect([...h.sh.findings.values()].every((f) => f.imports === 1)).toBe(true);
    expect(warnings).toEqual([]);
  });

  it('archives the findings of an instance gone from an account-region checked whole in one slice', async () => {
    const h = hub(4, 10);
    await h.run();
    await h.run();
    expect(h.finding(3, 'imdsv2')!.finding).toMatchObject({ RecordState: 'ACTIVE' });
    // Instance 3 is terminated between the second and the third run: the third does not list it.
    const third = await h.run();
    expect(third[0]!.counts?.instancesSeen).toBe(3);
    expect(h.finding(3, 'imdsv2')!.finding).toMatchObject({ RecordState: 'ARCHIVED' });
    expect(h.finding(2, 'imdsv2')!.finding).toMatchObject({ RecordState: 'ACTIVE', Compliance: { Status: 'FAILED' } });
    expect(h.finding(1, 'time-sync')!.finding).toMatchObject({ RecordState: 'ACTIVE' });
  });

  it('archives nothing by absence when the account-region took more than one slice', async () => {
    // 1,004 instances at one EC2 page (1,000) per slice: two slices, none of which sees the whole account-region.
    const h = hub(1004, 1);
    const first = await h.run();
    expect(first.map((r) => r.slices)).toEqual([1, 2]);
    expect(h.finding(3, 'imdsv2')!.finding).toMatchObject({ RecordState: 'ACTIVE' });
    const imports = h.calls('BatchImportFindings');
    // Each slice sees only its page: the other page's instances are absent from it, and none is archived.
    await h.run();
    expect(h.calls('BatchImportFindings')).toBe(imports);
    const third = await h.run();
    expect(third[third.length - 1]!.counts?.instancesSeen).toBe(1003);
    expect(h.finding(3, 'imdsv2')!.finding).toMatchObject({ RecordState: 'ACTIVE', Compliance: { Status: 'FAILED' } });
    expect([...h.sh.findings.values()].filter((f) => f.finding['RecordState'] === 'ARCHIVED')).toEqual([]);
    expect(h.calls('BatchImportFindings')).toBe(imports);
  }, 60_000);
});
