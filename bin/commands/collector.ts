/**
 * `timesync-guard collector linux|windows`: prints the in-guest collector script, so a user can
 * run it on a box by hand (`sudo sh c.sh > report.txt`) and judge it with `timesync-guard diagnose`.
 */
import { GUEST_SCRIPTS, readGuestScript } from '../../lambda/guest/scripts';
import type { CliIo } from './io';

export const summary = 'Print the in-guest collector script (linux: POSIX sh, windows: PowerShell)';

const USAGE = `Usage: npx timesync-guard collector linux|windows

Prints the read-only collector script on stdout. On the instance:
  Linux:    sudo sh collect.sh > report.txt
  Windows:  powershell -NoProfile -ExecutionPolicy Bypass -File collect.ps1 > report.txt
Then: npx timesync-guard diagnose report.txt`;

export async function run(args: string[], io: CliIo): Promise<number> {
  const [platform, ...rest] = args;
  if (platform === '--help' || platform === '-h') {
    io.out(USAGE);
    return 0;
  }
  if ((platform !== 'linux' && platform !== 'windows') || rest.length > 0) {
    io.err(`timesync-guard collector: expected "linux" or "windows"${platform === undefined ? '' : `, got ${JSON.stringify(args.join(' '))}`}\n\n${USAGE}`);
    return 2;
  }
  const text = readGuestScript(platform === 'linux' ? GUEST_SCRIPTS.collectLinux : GUEST_SCRIPTS.collectWindows);
  io.out(text);
  return 0;
}
