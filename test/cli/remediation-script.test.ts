import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { main } from '../../bin/cli';
import { run, summary } from '../../bin/commands/remediation-script';
import type { CliIo } from '../../bin/commands/io';

function captureIo(): CliIo & { stdout: string; stderr: string } {
  const io = {
    stdout: '',
    stderr: '',
    out(s: string) {
      io.stdout += s;
    },
    err(s: string) {
      io.stderr += s;
    },
    readStdin: async () => '',
    env: {},
  };
  return io;
}

const guest = (name: string): string => readFileSync(join(__dirname, '../../lambda/guest', name), 'utf8');

describe('timesync-guard remediation-script', () => {
  it.each([
    ['linux', 'remediate-linux.sh'],
    ['windows', 'remediate-windows.ps1'],
  ])('prints the %s script byte for byte', async (platform, file) => {
    const io = captureIo();
    expect(await main(['remediation-script', platform], io)).toBe(0);
    expect(io.stdout).toBe(guest(file));
    expect(io.stderr).toBe('');
  });

  it('prints a Linux script that starts with a shebang and ends with the final result line logic', async () => {
    const io = captureIo();
    await run(['linux'], io);
    expect(io.stdout.startsWith('#!/bin/sh\n')).toBe(true);
    expect(io.stdout).toContain('TSG-REMEDIATE v1 result=');
  });

  it.each([[[]], [['macos']], [['linux', 'extra']], [['__proto__']], [['toString']]])(
    'rejects %j on stderr with exit 2 and prints no script',
    async (args) => {
      const io = captureIo();
      expect(await run(args, io)).toBe(2);
      expect(io.stdout).toBe('');
      expect(io.stderr).toContain('Usage: npx timesync-guard remediation-script linux|windows');
    },
  );

  it('has a one-line summary for the command list', () => {
    expect(summary).not.toContain('\n');
    expect(summary.length).toBeGreaterThan(10);
  });
});
