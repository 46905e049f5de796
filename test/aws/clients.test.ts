import { createServer, type Server, type Socket } from 'node:net';
import { DescribeInstancesCommand, EC2Client } from '@aws-sdk/client-ec2';
import { DescribeInstanceInformationCommand, SSMClient } from '@aws-sdk/client-ssm';
import { CLIENT_MAX_ATTEMPTS, CLIENT_TIMEOUTS, createClient, createClients, EndpointTimeoutError, isTimeoutError, lazy } from '../../lambda/aws/clients';

/** A TCP server on 127.0.0.1 that runs `onConnection` for each socket; closed (sockets destroyed) by `close`. */
async function tcpServer(onConnection: (socket: Socket) => void): Promise<{ url: string; connections: () => number; close: () => Promise<void> }> {
  const sockets = new Set<Socket>();
  let count = 0;
  const server: Server = createServer((s) => {
    count++;
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => undefined);
    onConnection(s);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}`,
    connections: () => count,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

const withEndpoint = async <T>(url: string, fn: () => Promise<T>): Promise<T> => {
  process.env['AWS_ENDPOINT_URL'] = url;
  try {
    return await fn();
  } finally {
    delete process.env['AWS_ENDPOINT_URL'];
  }
};

describe('createClient', () => {
  it('gives up on an endpoint that accepts and never answers, retried, and names the service and the endpoint', async () => {
    const server = await tcpServer(() => undefined); // reads nothing back, answers nothing
    try {
      const ec2 = createClient(EC2Client, 'ec2', { maxAttempts: 2, timeouts: { socketIdleMs: 300 } });
      const t0 = Date.now();
      const err = await withEndpoint(server.url, () => ec2.send(new DescribeInstancesCommand({})).then(() => undefined, (e: unknown) => e));
      const elapsed = Date.now() - t0;
      expect(err).toBeInstanceOf(EndpointTimeoutError);
      expect((err as Error).message).toMatch(new RegExp(`^ec2 endpoint ${server.url.replace(/[.:/]/g, '\\$&')} did not answer in time \\(.*300 ms`));
      expect(err).toMatchObject({ name: 'EndpointTimeoutError', service: 'ec2', endpoint: server.url });
      expect(isTimeoutError((err as Error).cause)).toBe(true);
      expect(server.connections()).toBe(2); // the SDK retried the timeout once, then gave up
      expect(elapsed).toBeLessThan(3_000);
    } finally {
      await server.close();
    }
  });

  it('cuts a request whose answer never starts, even while the connection stays busy', async () => {
    const server = await tcpServer((s) => {
      s.once('data', () => {
        // Interim 102 responses every 50 ms: the socket is never idle, the real answer never comes.
        const timer = setInterval(() => s.write('HTTP/1.1 102 Processing\r\n\r\n'), 50);
        s.on('close', () => clearInterval(timer));
      });
    });
    try {
      const ssm = createClient(SSMClient, 'ssm', { maxAttempts: 1, timeouts: { socketIdleMs: 400, requestMs: 700 } });
      const t0 = Date.now();
      const err = await withEndpoint(server.url, () => ssm.send(new DescribeInstanceInformationCommand({})).then(() => undefined, (e: unknown) => e));
      expect(err).toBeInstanceOf(EndpointTimeoutError);
      expect((err as Error).message).toMatch(/^ssm endpoint http:\/\/127\.0\.0\.1:\d+ did not answer in time \(.*700 ms requestTimeout/);
      expect(Date.now() - t0).toBeLessThan(3_000);
    } finally {
      await server.close();
    }
  });

  it('passes a service error through unchanged (only timeouts are renamed)', async () => {
    const body =
      '<?xml version="1.0" encoding="UTF-8"?><Response><Errors><Error><Code>UnauthorizedOperation</Code><Message>You are not authorized to perform this operation.</Message></Error></Errors><RequestID>r-1</RequestID></Response>';
    const server = await tcpServer((s) => {
      s.once('data', () => s.end(`HTTP/1.1 403 Forbidden\r\nContent-Type: text/xml\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`));
    });
    try {
      const ec2 = createClient(EC2Client, 'ec2', { maxAttempts: 1 });
      const err = await withEndpoint(server.url, () => ec2.send(new DescribeInstancesCommand({})).then(() => undefined, (e: unknown) => e));
      expect(err).toMatchObject({ name: 'UnauthorizedOperation', message: 'You are not authorized to perform this operation.' });
    } finally {
      await server.close();
    }
  });

  it('sets the shipped timeouts on the SDK HTTP handler and adaptive retries', async () => {
    const ec2 = createClient(EC2Client, 'ec2');
    // NodeHttpHandler keeps its resolved options in `configProvider` (it copies them to `config` on first use).
    const handler = ec2.config.requestHandler as unknown as { configProvider: Promise<Record<string, unknown>> };
    expect(await handler.configProvider).toMatchObject({
      connectionTimeout: CLIENT_TIMEOUTS.connectionMs,
      socketTimeout: CLIENT_TIMEOUTS.socketIdleMs,
      requestTimeout: CLIENT_TIMEOUTS.requestMs,
      throwOnRequestTimeout: true,
    });
    expect(await ec2.config.maxAttempts()).toBe(CLIENT_MAX_ATTEMPTS);
    const mode = ec2.config.retryMode;
    expect(typeof mode === 'string' ? mode : await mode()).toBe('adaptive');
    // Bounded: a silent endpoint costs at most attempts × (idle limit + the handler's 3 s arming delay).
    expect(CLIENT_MAX_ATTEMPTS * (CLIENT_TIMEOUTS.socketIdleMs + 3_000)).toBeLessThanOrEqual(45_000);
  });
});

describe('lazy clients', () => {
  it('builds a value on first use only, then reuses it', () => {
    let built = 0;
    const get = lazy(() => ({ n: ++built }));
    expect(built).toBe(0);
    expect(get()).toBe(get());
    expect(built).toBe(1);
  });

  it('builds none of the CLI clients until one is used, each once', () => {
    const clients = createClients({ region: 'eu-west-1' });
    const ec2 = clients.ec2;
    expect(ec2).toBeInstanceOf(EC2Client);
    expect(clients.ec2).toBe(ec2);
    expect(clients.ssm).toBeInstanceOf(SSMClient);
  });
});
