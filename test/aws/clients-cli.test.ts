import { spawn } from 'node:child_process';
import { createServer, type Socket } from 'node:net';
import { join } from 'node:path';

const ROOT = join(__dirname, '..', '..');

/**
 * The real CLI (bin/timesync-guard.js, a separate Node process) against an endpoint that accepts
 * TCP connections and never answers: the shipped timeouts, not test-sized ones.
 */
describe('timesync-guard check against a silent endpoint', () => {
  it('exits within a minute with exit code 3 and a message naming the endpoint', async () => {
    const sockets = new Set<Socket>();
    let connections = 0;
    const server = createServer((s) => {
      connections++;
      sockets.add(s);
      s.on('error', () => undefined);
      s.on('close', () => sockets.delete(s));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    const child = spawn(process.execPath, [join(ROOT, 'bin', 'timesync-guard.js'), 'check', '--region', 'us-east-1', '--no-guest'], {
      cwd: ROOT,
      env: {
        PATH: process.env['PATH'] ?? '',
        HOME: process.env['HOME'] ?? '/tmp',
        AWS_ENDPOINT_URL: url,
        AWS_EC2_METADATA_DISABLED: 'true',
        AWS_ACCESS_KEY_ID: 'AKIATESTTESTTESTTEST',
        AWS_SECRET_ACCESS_KEY: 'test-secret-not-real',
        AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const t0 = Date.now();
    try {
      const code = await new Promise<number | null>((resolve) => {
        const guard = setTimeout(() => child.kill('SIGKILL'), 65_000);
        child.on('exit', (c) => {
          clearTimeout(guard);
          resolve(c);
        });
      });
      const elapsed = Date.now() - t0;
      expect(code).toBe(3);
      expect(elapsed).toBeLessThan(60_000);
      expect(stderr).toMatch(new RegExp(`(ec2|ssm) endpoint ${url.replace(/[.:/]/g, '\\$&')} did not answer in time`));
      expect(connections).toBeGreaterThanOrEqual(3); // the SDK's attempts reached the server
    } finally {
      if (child.exitCode === null && child.pid !== undefined) process.kill(child.pid, 'SIGKILL');
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  }, 90_000);
});
