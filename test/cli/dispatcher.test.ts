import { main } from '../../bin/cli';
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
