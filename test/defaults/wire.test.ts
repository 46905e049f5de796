/**
 * Wire-level truth: the real EC2Client serializes GetInstanceMetadataDefaults /
 * ModifyInstanceMetadataDefaults as EC2 query requests and parses EC2's XML answers (including
 * `managedBy` and `managedExceptionMessage`, and an error body), through the benchmark's model-driven
 * wire adapter answering from the simulated defaults. Only `send` is real here; nothing is mocked.
 */
import { EC2Client } from '@aws-sdk/client-ec2';
import { SimMetadataDefaults } from '../../bench/sim/ec2-metadata-defaults';
import { SimWireHandler } from '../../bench/wire/handler';
import { VirtualClock } from '../../lambda/aws/clock';
import { createEc2MetadataDefaultsPort } from '../../lambda/aws/metadata-defaults';

function over(sim: SimMetadataDefaults) {
  const seen: { action: string; input: unknown }[] = [];
  const wire = new SimWireHandler({
    answer: async (action, input) => {
      seen.push({ action, input });
      const out = sim.answer(action, input);
      if (!out) throw Object.assign(new Error(`not simulated: ${action}`), { name: 'UnsupportedOperation' });
      return out.result;
    },
  });
  const ec2 = new EC2Client({ region: 'eu-west-1', requestHandler: wire, maxAttempts: 1 });
  return { port: createEc2MetadataDefaultsPort({ ec2, clock: new VirtualClock(), maxAttempts: 1 }), seen };
}

describe('account defaults on the wire', () => {
  it('parses a declarative-policy-managed answer from EC2 XML', async () => {
    const { port, seen } = over(SimMetadataDefaults.policyManaged({ hopLimit: 2, httpTokens: 'required' }, 'Managed by <org> & co'));
    await expect(port.read()).resolves.toEqual({
      status: 'read',
      defaults: { managedBy: 'declarative-policy', managedExceptionMessage: 'Managed by <org> & co', hopLimit: 2, httpTokens: 'required' },
    });
    expect(seen.map((s) => s.action)).toEqual(['GetInstanceMetadataDefaults']);
  });

  it('sends only the hop limit (and tokens when asked) as query parameters', async () => {
    const sim = new SimMetadataDefaults({ managedBy: 'account' });
    const { port, seen } = over(sim);
    await expect(port.modify({ hopLimit: 3 })).resolves.toMatchObject({ outcome: 'requested' });
    await expect(port.modify({ hopLimit: 3, httpTokens: 'required' })).resolves.toMatchObject({ outcome: 'requested' });
    expect(seen.map((s) => s.input)).toEqual([{ HttpPutResponseHopLimit: 3 }, { HttpPutResponseHopLimit: 3, HttpTokens: 'required' }]);
    expect(sim.state).toMatchObject({ hopLimit: 3, httpTokens: 'required' });
  });

  it('reads an EC2 error body as unknown, and a refused write as failed with its message', async () => {
    const denied = over(new SimMetadataDefaults({ managedBy: 'account' }, { failReads: { count: 1, code: 'UnauthorizedOperation', status: 403 } }));
    await expect(denied.port.read()).resolves.toMatchObject({ status: 'unknown', error: expect.stringContaining('UnauthorizedOperation') });
    const managed = over(SimMetadataDefaults.policyManaged({}, 'org policy P-7'));
    await expect(managed.port.modify({ hopLimit: 2 })).resolves.toMatchObject({ outcome: 'failed', error: expect.stringContaining('org policy P-7') });
  });
});
