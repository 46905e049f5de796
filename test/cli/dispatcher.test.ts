import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { main } from '../../bin/cli';
import * as check from '../../bin/commands/check';
import * as collector from '../../bin/commands/collector';
import * as diagnose from '../../bin/commands/diagnose';
import * as remediationScript from '../../bin/commands/remediation-script';
import pkg from '../../package.json';
import type { CliIo } from '../../bin/commands/io';

function captureIo(): CliIo & { stdout: string; stderr: string } {
  const io = {
    stdout: '',
    stderr: '',
    out(s: string) { io.stdout += s; },
    err(s: string) { io.stderr += s; },
    readStdin: async () => '',
    env: {},
  };
  return io;
}

describe('timesync-guard CLI dispatcher', () => {
  it('lists every command with its summary on --help and exits 0', async () => {
    const io = captureIo();
    expect(await main(['--help'], io)).toBe(0);
    for (const c of ['check', 'diagnose', 'collector', 'remediation-script']) expect(io.stdout).toContain(c);
  });

  it('prints usage and exits 2 without a command', async () => {
    const io = captureIo();
    expect(await main([], io)).toBe(2);
    expect(io.stdout).toContain('Usage: npx timesync-guard');
  });

  it('rejects an unknown command on stderr with exit 2', async () => {
    const io = captureIo();
    expect(await main(['frobnicate'], io)).toBe(2);
    expect(io.stderr).toContain('unknown command "frobnicate"');
  });
});

describe('timesync-guard CLI manners', () => {
  it('prints the package version on --version', async () => {
    const io = captureIo();
    expect(await main(['--version'], io)).toBe(0);
    expect(io.stdout.trim()).toBe(`timesync-guard ${pkg.version}`);
  });

  it('lists each command with the summary its module exports', async () => {
    const io = captureIo();
    await main(['--help'], io);
    for (const [c, summary] of Object.entries({ check: check.summary, diagnose: diagnose.summary, collector: collector.summary, 'remediation-script': remediationScript.summary })) {
      expect(io.stdout).toContain(`${c.padEnd(20)} ${summary}`);
    }
  });

  it('shows commands a user can paste (npx timesync-guard …)', async () => {
    const io = captureIo();
    await main(['--help'], io);
    expect(io.stdout).toContain('npx timesync-guard collector linux');
  });

  it('builds no AWS SDK client for --help, nor for check --help (no SDK notice on stderr)', () => {
    const script = `
      const io = { out() {}, err: (s) => process.stderr.write(s), readStdin: async () => '', env: {} };
      const cli = require('./bin/cli.ts');
      cli.main(['--help'], io).then(() => cli.main(['check', '--help'], io)).then(() => {
        const loaded = Object.keys(require.cache).filter((k) => k.includes('lambda/aws/clients') || k.includes('credential-providers'));
        process.stdout.write(JSON.stringify(loaded));
      });`;
    const r = spawnSync(process.execPath, ['-r', 'tsx/cjs', '-e', script], { cwd: join(__dirname, '..', '..'), encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(JSON.parse(r.stdout)).toEqual([]);
  });

  it('prints nothing on stderr for --help through the real entry', () => {
    const r = spawnSync(process.execPath, [join(__dirname, '..', '..', 'bin', 'timesync-guard.js'), '--help'], { encoding: 'utf8' });
    expect(r.status).toBe(0);
    expect(r.stderr).toBe('');
    expect(r.stdout).toContain('Usage: npx timesync-guard');
  });
});
