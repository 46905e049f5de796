/**
 * A fake IMDS for tests: Node's real HTTP server, run only inside a private network namespace on
 * 169.254.169.254 (never on the host's network). Modes: `answer` (IMDSv2 token PUT, then the
 * instance id for that token), `throttle` (429), `refuse` (403 on the PUT), `silent` (accepts the
 * connection, never answers). Test code only.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

export type FakeImdsMode = 'answer' | 'throttle' | 'refuse' | 'silent';
export const FAKE_TOKEN = 'AQAEAFakeToken==';
export const FAKE_INSTANCE_ID = 'i-0abc1234def567890';

const SOURCE = `const http = require('http');
const [mode, port, ready] = process.argv.slice(2);
const srv = http.createServer((req, res) => {
  if (mode === 'silent') return;
  if (mode === 'throttle') { res.writeHead(429); return res.end(); }
  if (req.method === 'PUT' && req.url === '/latest/api/token') {
    if (mode === 'refuse') { res.writeHead(403); return res.end(); }
    const ttl = Number(req.headers['x-aws-ec2-metadata-token-ttl-seconds']);
    if (!(ttl >= 1 && ttl <= 21600)) { res.writeHead(400); return res.end(); }
    res.writeHead(200); return res.end(${JSON.stringify(FAKE_TOKEN)});
  }
  if (req.method === 'GET' && req.url === '/latest/meta-data/instance-id') {
    if (req.headers['x-aws-ec2-metadata-token'] !== ${JSON.stringify(FAKE_TOKEN)}) { res.writeHead(401); return res.end(); }
    res.writeHead(200); return res.end(${JSON.stringify(FAKE_INSTANCE_ID)});
  }
  res.writeHead(404); res.end();
});
srv.listen(Number(port), '169.254.169.254', () => require('fs').writeFileSync(ready, String(process.pid)));
`;

/** Writes the server script into `dir`; returns its path (run: `node PATH MODE PORT READYFILE`). */
export function writeFakeImds(dir: string): string {
  const path = join(dir, 'fake-imds.js');
  writeFileSync(path, SOURCE);
  return path;
}

/**
 * Shell lines (for a `unshare -n sh -c` script that traps `kill $P`) that start the fake IMDS in
 * `mode` on `port` and wait until it listens; `prefix` runs before node (e.g. libfaketime's env).
 */
export function startFakeImds(script: string, mode: FakeImdsMode, port: number, ready: string, prefix = ''): string {
  return `${prefix} node ${script} ${mode} ${port} ${ready} & P="$P $!"; i=0; while [ ! -s ${ready} ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done`;
}
