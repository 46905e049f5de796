import { EC2Client } from '@aws-sdk/client-ec2';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { SSMClient } from '@aws-sdk/client-ssm';

/** Loads a handler module with `createClient` recorded (each built client's `send` fails at once). */
function loadWithRecordedClients(file: string): { handler: (e?: unknown, c?: unknown) => Promise<unknown>; built: string[] } {
  const built: string[] = [];
  let handler!: (e?: unknown, c?: unknown) => Promise<unknown>;
  jest.isolateModules(() => {
    jest.doMock('../../lambda/aws/clients', () => ({
      ...jest.requireActual('../../lambda/aws/clients'),
      createClient: (Client: { name: string }) => {
        built.push(Client.name);
        return { send: () => Promise.reject(Object.assign(new Error('no network in this test'), { name: 'AccessDenied' })) };
      },
    }));
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    handler = (require(file) as { handler: typeof handler }).handler;
  });
  return { handler, built };
}

const context = { getRemainingTimeInMillis: () => 120_000 };

describe('handler wiring', () => {
  afterEach(() => jest.dontMock('../../lambda/aws/clients'));

  it('the check handler builds no client at import, then only EC2 and SSM, once, at its first invocation', async () => {
    const { handler, built } = loadWithRecordedClients('../../lambda/handlers/check');
    expect(built).toEqual([]);
    await expect(handler({}, context)).rejects.toThrow(/could not run|failed/);
    await expect(handler({}, context)).rejects.toThrow(/could not run|failed/);
    expect(built).toEqual([EC2Client.name, SSMClient.name]);
  });

  it('the remediate handler builds no client at import, then its three, once (SNS only when the summary is sent)', async () => {
    const { handler, built } = loadWithRecordedClients('../../lambda/handlers/remediate');
    expect(built).toEqual([]);
    await expect(handler({}, context)).rejects.toThrow();
    await expect(handler({}, context)).rejects.toThrow();
    expect([...built].sort()).toEqual([EC2Client.name, EventBridgeClient.name, SSMClient.name].sort());
  });
});
