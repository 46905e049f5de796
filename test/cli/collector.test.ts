import { readFileSync } from 'node:fs';
import { run } from '../../bin/commands/collector';
import type { CliIo } from '../../bin/commands/io';
import { guestScriptPath } from '../../lambda/guest/scripts';

function io() {
  const out: string[] = [];
  const err: string[] = [];
  const cli: CliIo = { out: (s) => out.push(s), err: (s) => err.push(s), readStdin: async () => '', env: {} };
  return { cli, out, err };
}

describe('timesync-guard collector', () => {
  it.each([
    ['linux', 'collect-linux.sh', /^#!\/bin\/sh\n/],
    ['windows', 'collect-windows.ps1', /^# timesync-guard collector for Windows/],
  ] as const)('prints the %s collector verbatim', async (platform, file, start) => {
    const t = io();
    expect(await run([platform], t.cli)).toBe(0);
    expect(t.out.join('')).toBe(readFileSync(guestScriptPath(file), 'utf8'));
    expect(t.out.join('')).toMatch(start);
  });

  it('the Windows collector has no param() block and prints the same report markers', () => {
    const ps = readFileSync(guestScriptPath('collect-windows.ps1'), 'utf8');
    expect(ps).not.toMatch(/^\s*param\s*\(/im);
    for (const marker of ["'TSG-REPORT v1 windows'", "'TSG-END'", 'TSG-CUT', "'w32tm-status'", 'now=', 'daemons=', 'containers=']) expect(ps).toContain(marker);
  });

  it.each([[[]], [['macos']], [['linux', 'extra']]])('exits 2 for %j', async (args) => {
    const t = io();
    expect(await run(args, t.cli)).toBe(2);
    expect(t.err.join('')).toMatch(/linux.*windows/);
  });
});
