/**
 * `timesync-guard remediation-script linux|windows`: prints the in-guest remediation script, byte
 * for byte the text the SSM document runs, so an administrator can read it or run it by hand
 * (`npx timesync-guard remediation-script linux | sudo sh -s -- --dry-run true`).
 */
import { GUEST_SCRIPTS, readGuestScript } from '../../lambda/guest/scripts';
import type { CliIo } from './io';

export const summary = 'Print the in-guest remediation script (linux|windows) that the SSM document runs';

const SCRIPTS = {
  linux: GUEST_SCRIPTS.remediateLinux,
  windows: GUEST_SCRIPTS.remediateWindows,
} as const;

const USAGE = 'Usage: npx timesync-guard remediation-script linux|windows';

/** Prints the script for the named platform; exit 2 on a missing or unknown platform. */
export async function run(args: string[], io: CliIo): Promise<number> {
  const [platform, ...extra] = args;
  if (platform === '--help' || platform === '-h') {
    io.out(`${USAGE}\n\n${summary}.\n`);
    return 0;
  }
  if (platform === undefined || extra.length > 0 || !Object.hasOwn(SCRIPTS, platform)) {
    io.err(`timesync-guard remediation-script: expected linux or windows, got ${JSON.stringify(args.join(' '))}\n${USAGE}\n`);
    return 2;
  }
  io.out(readGuestScript(SCRIPTS[platform as keyof typeof SCRIPTS]));
  return 0;
}
