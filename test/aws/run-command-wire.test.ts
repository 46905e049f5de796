/**
 * Wire level, without aws-sdk-client-mock (which would replace every SSMClient's send in its file):
 * the SDK's real JSON deserializer behind a fake HTTP handler, so the AccessDeniedException the
 * isolation reads is exactly what the SSM client builds from IAM's 400 response.
 */
import { Readable } from 'node:stream';
import { SSMClient } from '@aws-sdk/client-ssm';
import { VirtualClock } from '../../lambda/aws/clock';
import { SsmRunCommand } from '../../lambda/aws/run-command';
import { chronyReport } from '../engine/reports';
import { ids, instanceArn, request } from '../support/sim';

it('wire level: the SSM client parses IAM’s 400 AccessDeniedException body into what the isolation reads', async () => {
  // The SDK's real deserializer behind a fake HTTP handler: an SSM account where IAM denies one instance.
  const list = ids(3);
  const deniedId = list[1]!;
  const calls: string[] = [];
  const json = (statusCode: number, o: unknown) => ({
    response: {
      statusCode,
      reason: statusCode === 200 ? 'OK' : 'Bad Request',
      headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amzn-requestid': 'req-1' },
      body: Readable.from([Buffer.from(JSON.stringify(o))]),
    },
  });
  const handle = async (req: { headers: Record<string, string>; body?: Uint8Array | string }) => {
    const op = req.headers['x-amz-target']!.split('.')[1]!;
    // The JSON protocol serializes the body to bytes.
    const text = typeof req.body === 'string' ? req.body : new TextDecoder().decode(req.body);
    const input = JSON.parse(text || '{}') as { InstanceIds?: string[]; CommandId?: string };
    calls.push(op);
    if (op === 'SendCommand') {
      if (input.InstanceIds!.includes(deniedId)) {
        return json(400, {
          __type: 'AccessDeniedException',
          Message: `User: arn:aws:sts::111122223333:assumed-role/Remediate/s is not authorized to perform: ssm:SendCommand on resource: ${instanceArn(deniedId)} with an explicit deny in an identity-based policy`,
        });
      }
      return json(200, { Command: { CommandId: 'c-1', InstanceIds: input.InstanceIds, Status: 'Pending' } });
    }
    if (op === 'ListCommands') return json(200, { Commands: [{ CommandId: input.CommandId, Status: 'Success' }] });
    if (op === 'ListCommandInvocations') {
      return json(200, {
        CommandInvocations: list
          .filter((i) => i !== deniedId)
          .map((i) => ({ CommandId: 'c-1', InstanceId: i, Status: 'Success', StatusDetails: 'Success', CommandPlugins: [{ Name: 'collect', Status: 'Success', ResponseCode: 0, Output: chronyReport() }] })),
      });
    }
    throw new Error(`unexpected ${op}`);
  };
  const wireSsm = new SSMClient({ region: 'eu-west-1', credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'x' }, requestHandler: { handle } as never });
  const out = await new SsmRunCommand({ ssm: wireSsm, clock: new VirtualClock() }).runDocument(request(list));
  expect(list.map((id) => out.results.get(id)!.state)).toEqual(['success', 'denied', 'success']);
  expect(out.results.get(deniedId)!.status).toBe('AccessDeniedException');
  expect(calls.filter((c) => c === 'SendCommand')).toHaveLength(2);
  expect(out.errors).toEqual([]);
});
