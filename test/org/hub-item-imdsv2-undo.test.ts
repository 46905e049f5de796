/**
 * The IMDSv2 undo in a member account (imdsv2AutoUndo with imdsv2=enforce): the hourly check's
 * rollback goes through the second spoke role (`<spokeRoleName>-Imdsv2Undo`), entered only when a
 * rollback is actually sent; the remediation (the enforcement) never gets those clients, and the
 * spoke role's own EC2 client never sends an undo.
 */
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { EC2Client, ModifyInstanceMetadataOptionsCommand } from '@aws-sdk/client-ec2';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { mockClient } from 'aws-sdk-client-mock';
import { createWorld } from '../../bench/drive';
import { SIM_DOCUMENT_PINS } from '../../bench/sim/ssm';
import { type AwsClients, createClients } from '../../lambda/aws/clients';
import { parseHubSettings } from '../../lambda/core/fleet/hub';
import { parseSettings } from '../../lambda/core/settings';
import { createHubItemHandler, imdsv2PortsIn, undoRoleCredentials } from '../../lambda/handlers/hub-item';

const MEMBER = '111111111111';
const SPOKE = `arn:aws:iam::${MEMBER}:role/TimeSyncGuardSpoke`;
const UNDO = `arn:aws:iam::${MEMBER}:role/TimeSyncGuardSpoke-Imdsv2Undo`;
const quiet = { info: () => undefined, warn: () => undefined, error: () => undefined };
const sts = mockClient(STSClient);
const ec2 = mockClient(EC2Client);

beforeEach(() => {
  sts.reset();
  ec2.reset();
});
afterAll(() => {
  sts.restore();
  ec2.restore();
});

/** One item through the handler; returns the roles assumed and the `undo` clients hub-item handed to the IMDSv2 ports. */
async function item(mode: 'check' | 'remediate', env: Record<string, string>) {
  const world = createWorld(5, { vanishing: 0 });
  const roles: string[] = [];
  sts.on(AssumeRoleCommand).callsFake((input: { RoleArn: string }) => {
    roles.push(input.RoleArn);
    return { Credentials: { AccessKeyId: `AKID${roles.length}`, SecretAccessKey: 'secret', SessionToken: 'token' } };
  });
  const undos: (AwsClients | undefined)[] = [];
  const handler = createHubItemHandler({
    settings: parseSettings({ ...SIM_DOCUMENT_PINS, ...env }),
    hub: parseHubSettings({}, 'us-east-1'),
    partition: 'aws',
    clock: world.clock,
    logger: quiet,
    metrics: new Metrics({ namespace: 'Test', serviceName: 'test' }),
    sts: new STSClient({ region: 'us-east-1' }),
    clientsFor: (region, credentials) => createClients({ region, credentials }),
    centralEvents: world.clients.eventbridge,
    continuationKey: async () => new Uint8Array(32).fill(7),
    // Only what hub-item hands over is looked at here: no IMDSv2 ports are returned (not assessed).
    imdsv2For: (_a, _r, _spoke, undo) => {
      undos.push(undo);
      return undefined as never;
    },
  });
  try {
    await world.clock.run(() => handler({ accountId: MEMBER, region: 'eu-west-1', mode }, { getRemainingTimeInMillis: () => 900_000 }));
  } finally {
    world.account.restore();
  }
  return { roles, undo: undos[0] };
}

const ENFORCE_UNDO = { TSG_IMDSV2: 'enforce', TSG_IMDSV2_AUTO_UNDO: 'true' };

describe('hub item: the IMDSv2 undo runs under its own spoke role', () => {
  it('hands the check the undo role\'s clients with enforce and imdsv2AutoUndo, and enters that role only when a rollback calls EC2', async () => {
    const { roles, undo } = await item('check', ENFORCE_UNDO);
    expect(roles).toEqual([SPOKE]);
    expect(undo).toBeDefined();
    const credentials = undo!.ec2.config.credentials;
    await expect(credentials()).resolves.toMatchObject({ accessKeyId: 'AKID2' });
    expect(roles).toEqual([SPOKE, UNDO]);
  });

  it.each`
    case                                | mode           | env
    ${'the remediation (it enforces)'}  | ${'remediate'} | ${ENFORCE_UNDO}
    ${'enforce without imdsv2AutoUndo'} | ${'check'}     | ${{ TSG_IMDSV2: 'enforce' }}
    ${'report with imdsv2AutoUndo set'} | ${'check'}     | ${{ TSG_IMDSV2: 'report', TSG_IMDSV2_AUTO_UNDO: 'true' }}
  `('gives no undo clients to $case', async ({ mode, env }) => {
    const { roles, undo } = await item(mode, env);
    expect(undo).toBeUndefined();
    expect(roles).toEqual([SPOKE]);
  });
});

describe('IMDSv2 ports in a member account: the rollback goes through the undo clients', () => {
  const ports = (spoke: AwsClients, undo?: AwsClients) =>
    imdsv2PortsIn({
      s3: { send: async () => ({}) } as never,
      bucket: 'b',
      clock: { now: () => 0, sleep: async () => undefined },
      recordKey: async () => new Uint8Array(32),
      centralEvents: { send: async () => ({}) } as never,
      eventSource: 'timesync-guard',
      optOutTagKey: 'timesync-guard:opt-out',
      logger: quiet,
    })(MEMBER, 'eu-west-1', spoke, undo);
  const clients = (id: string) => createClients({ region: 'eu-west-1', credentials: { accessKeyId: id, secretAccessKey: 's' } });

  it('sends HttpTokens=optional with the undo role\'s credentials, never the spoke role\'s', async () => {
    ec2.on(ModifyInstanceMetadataOptionsCommand).resolves({ InstanceMetadataOptions: { State: 'pending' } });
    const r = await ports(clients('SPOKE'), clients('UNDO')).ec2!.modify({ instanceId: 'i-0123456789abcdef0', httpTokens: 'optional' });
    expect(r.outcome).toBe('requested');
    const calls = ec2.commandCalls(ModifyInstanceMetadataOptionsCommand);
    expect(calls).toHaveLength(1);
    const used = await (calls[0]!.thisValue as EC2Client).config.credentials();
    expect(used.accessKeyId).toBe('UNDO');
  });

  it('the test can fail: without undo clients the spoke role\'s are used', async () => {
    ec2.on(ModifyInstanceMetadataOptionsCommand).resolves({});
    await ports(clients('SPOKE')).ec2!.modify({ instanceId: 'i-0123456789abcdef0', httpTokens: 'optional' });
    const used = await (ec2.commandCalls(ModifyInstanceMetadataOptionsCommand)[0]!.thisValue as EC2Client).config.credentials();
    expect(used.accessKeyId).toBe('SPOKE');
  });

  it('an undo role that cannot be assumed throws into the call that needs it (a failed rollback, audited), and is tried again next time', async () => {
    // aws-sdk-client-mock bypasses the SDK's credential middleware, so the provider is tested itself:
    // the SDK signs nothing without credentials, so a throw here means no request is sent.
    sts.on(AssumeRoleCommand).rejectsOnce(Object.assign(new Error('not authorized to perform: sts:AssumeRole'), { name: 'AccessDenied' })).resolves({ Credentials: { AccessKeyId: 'AKIDU', SecretAccessKey: 's', SessionToken: 't', Expiration: new Date(3_600_000) } });
    const provider = undoRoleCredentials(new STSClient({ region: 'us-east-1' }), UNDO, { now: () => 0, sleep: async () => undefined });
    await expect(provider()).rejects.toThrow(/undo role could not be assumed \(access-denied\)/);
    await expect(provider()).resolves.toMatchObject({ accessKeyId: 'AKIDU' });
    await provider();
    expect(sts.commandCalls(AssumeRoleCommand).map((c) => c.args[0].input.RoleArn)).toEqual([UNDO, UNDO]);
  });
});
