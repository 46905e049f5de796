/**
 * The launch check's StartExecution call over a real HTTP exchange on 127.0.0.1 (the SDK's endpoint
 * override variable points the real SFN client there): the request is checked as Step Functions
 * would read it (AWS JSON 1.0 target, body) and its SigV4 signature is recomputed independently from
 * the specification with node:crypto, so a signing or transport mistake fails here, not in AWS.
 */
import { createHash, createHmac } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { VirtualClock } from '../../lambda/aws/clock';
import { createStartExecution } from '../../lambda/aws/start-execution';

const ARN = 'arn:aws:states:eu-west-1:111122223333:stateMachine:Guard-Remediation';
const CREDS = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY', sessionToken: 'session-token' };

interface Seen {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingMessage['headers'];
  readonly body: string;
}

let server: Server;
let endpoint: string;
let seen: Seen[] = [];
let answers: Array<{ status: number; body: string }> = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      const a = answers.shift() ?? { status: 200, body: JSON.stringify({ executionArn: 'arn:aws:states:eu-west-1:111122223333:execution:Guard-Remediation:x', startDate: 1 }) };
      res.writeHead(a.status, { 'content-type': 'application/x-amz-json-1.0' });
      res.end(a.body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));
let savedEndpoint: string | undefined;
beforeAll(() => {
  savedEndpoint = process.env.AWS_ENDPOINT_URL_SFN;
  process.env.AWS_ENDPOINT_URL_SFN = endpoint;
});
afterAll(() => {
  if (savedEndpoint === undefined) delete process.env.AWS_ENDPOINT_URL_SFN;
  else process.env.AWS_ENDPOINT_URL_SFN = savedEndpoint;
});
beforeEach(() => {
  seen = [];
  answers = [];
});

const start = (arn = ARN) => createStartExecution({ stateMachineArn: arn, clock: new VirtualClock(0), clientOptions: { region: 'eu-west-1', credentials: CREDS, maxAttempts: 1 } });

/** SigV4 as the specification defines it, over what the server received. */
function expectedSignature(s: Seen): { signature: string; scope: string; signedHeaders: string } {
  const auth = String(s.headers.authorization);
  const m = /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, SignedHeaders=([^,]+), Signature=([0-9a-f]{64})$/.exec(auth);
  if (!m) throw new Error(`unexpected Authorization ${auth}`);
  const [, , date, region, service, signedHeaders] = m;
  const canonicalHeaders = signedHeaders!
    .split(';')
    .map((h) => `${h}:${String(s.headers[h]).trim().replace(/\s+/g, ' ')}\n`)
    .join('');
  const sha = (x: string) => createHash('sha256').update(x).digest('hex');
  const canonical = [s.method, s.url, '', canonicalHeaders, signedHeaders, sha(s.body)].join('\n');
  const scope = `${date}/${region}/${service}/aws4_request`;
  const toSign = ['AWS4-HMAC-SHA256', String(s.headers['x-amz-date']), scope, sha(canonical)].join('\n');
  let key: Buffer = createHmac('sha256', `AWS4${CREDS.secretAccessKey}`).update(date!).digest();
  for (const part of [region!, service!, 'aws4_request']) key = createHmac('sha256', key).update(part).digest();
  return { signature: createHmac('sha256', key).update(toSign).digest('hex'), scope, signedHeaders: signedHeaders! };
}

describe('StartExecution (lambda/aws/start-execution.ts)', () => {
  it('sends one signed AWS JSON 1.0 StartExecution for the one state machine, with the input as a JSON string and the name', async () => {
    const arn = await start()({ trigger: 'launch', instanceIds: ['i-0123456789abcdef0'] }, 'launch-20260101T000000000Z-0123456789abcdef');
    expect(arn).toMatch(/:execution:Guard-Remediation:/);
    expect(seen).toHaveLength(1);
    const s = seen[0]!;
    expect(s.method).toBe('POST');
    expect(s.headers['x-amz-target']).toBe('AWSStepFunctions.StartExecution');
    expect(s.headers['content-type']).toBe('application/x-amz-json-1.0');
    expect(s.headers['x-amz-security-token']).toBe('session-token');
    expect(JSON.parse(s.body)).toEqual({
      stateMachineArn: ARN,
      input: JSON.stringify({ trigger: 'launch', instanceIds: ['i-0123456789abcdef0'] }),
      name: 'launch-20260101T000000000Z-0123456789abcdef',
    });
    const { signature, scope, signedHeaders } = expectedSignature(s);
    expect(scope).toMatch(/^\d{8}\/eu-west-1\/states\/aws4_request$/);
    expect(signedHeaders.split(';')).toEqual(expect.arrayContaining(['host', 'x-amz-date', 'x-amz-target', 'content-type']));
    expect(String(s.headers.authorization)).toContain(`Signature=${signature}`);
  });

  it('the signature check can fail: a body changed after signing does not verify', async () => {
    await start()({ trigger: 'launch', instanceIds: ['i-0123456789abcdef0'] });
    const tampered = { ...seen[0]!, body: seen[0]!.body.replace('i-0123456789abcdef0', 'i-0123456789abcdef1') };
    expect(String(tampered.headers.authorization)).not.toContain(`Signature=${expectedSignature(tampered).signature}`);
  });

  it('names the service error (AccessDenied is not retried)', async () => {
    answers = [{ status: 400, body: JSON.stringify({ __type: 'com.amazon.coral.service#AccessDeniedException', message: 'not authorized to perform states:StartExecution' }) }];
    const err = await start()({ trigger: 'launch', instanceIds: ['i-0123456789abcdef0'] }).catch((e: unknown) => e);
    expect(err).toMatchObject({ name: 'AccessDeniedException', message: expect.stringContaining('states:StartExecution') });
    expect(seen).toHaveLength(1);
  });

  it('retries a throttle with the same request (same name: the same execution, never a second one)', async () => {
    answers = [{ status: 400, body: JSON.stringify({ __type: 'com.amazonaws.states#ThrottlingException', message: 'Rate exceeded' }) }];
    await start()({ trigger: 'launch', instanceIds: ['i-0123456789abcdef0'] }, 'launch-x');
    expect(seen).toHaveLength(2);
    expect(seen[1]!.body).toBe(seen[0]!.body);
  });

  it('refuses an answer without an execution ARN, even with status 200', async () => {
    answers = [{ status: 200, body: 'not json' }];
    await expect(start()({ trigger: 'launch', instanceIds: ['i-0123456789abcdef0'] })).rejects.toThrow(/not valid JSON/);
    answers = [{ status: 200, body: '{}' }];
    await expect(start()({ trigger: 'launch', instanceIds: ['i-0123456789abcdef0'] })).rejects.toMatchObject({ name: 'UnreadableResponse' });
  });

  it('refuses a malformed state machine ARN at the call, sending nothing', async () => {
    await expect(start('arn:aws:states:eu-west-1:111122223333:execution:m:x')({ trigger: 'launch', instanceIds: ['i-0123456789abcdef0'] })).rejects.toThrow(/not a state machine ARN/);
    expect(seen).toHaveLength(0);
  });
});
