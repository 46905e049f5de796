/**
 * The in-guest scripts are plain files beside this module (sh and PowerShell), so that shellcheck,
 * the real-chrony tests, the SSM documents (built by lib/) and the CLI all use the very same text.
 *
 * Parameter convention, shared by the SSM documents and by hand use:
 * - Linux scripts are POSIX sh and parse their options from "$@" (`--name value`). An SSM document
 *   runs them by prepending one line `set -- --name '{{ Name }}' …` to the script text.
 * - Windows scripts have no param() block; they read an optional hashtable `$TsgArgs`
 *   (`$TsgArgs = @{ Name = '{{ Name }}' }`), which a document prepends; by hand, defaults apply.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export const GUEST_SCRIPTS = {
  collectLinux: 'collect-linux.sh',
  collectWindows: 'collect-windows.ps1',
  remediateLinux: 'remediate-linux.sh',
  remediateWindows: 'remediate-windows.ps1',
} as const;

export type GuestScriptName = (typeof GUEST_SCRIPTS)[keyof typeof GUEST_SCRIPTS];

export function guestScriptPath(name: GuestScriptName): string {
  return join(__dirname, name);
}

export function readGuestScript(name: GuestScriptName): string {
  return readFileSync(guestScriptPath(name), 'utf8');
}
