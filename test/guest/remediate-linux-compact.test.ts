/**
 * The Linux remediation script as the SSM document carries it (no comment lines, no blank lines,
 * no indentation: lib/constructs/guest-documents.ts `compactShell`) behaves as the file does: both
 * run the same dry runs on the same stand-in host and print the same lines.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GUEST_SCRIPTS, readGuestScript } from '../../lambda/guest/scripts';
import { guestScriptPath } from '../../lambda/guest/scripts';
import { compactShell } from '../../lib/constructs/guest-documents';

const dir = mkdtempSync(join(tmpdir(), 'tsg-g23-compact-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const compacted = join(dir, 'compact.sh');
writeFileSync(compacted, `${compactShell(readGuestScript(GUEST_SCRIPTS.remediateLinux)).join('\n')}\n`);

function file(path: string, text: string, mode?: number): string {
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, text);
  if (mode !== undefined) chmodSync(path, mode);
  return path;
}

/** One stand-in host: a proxy without NO_PROXY, chronyd "active" with a mixed config that selects nothing. */
function host(name: string): Record<string, string> {
  const root = join(dir, name);
  file(join(root, 'etc', 'environment'), 'HTTPS_PROXY=http://proxy.corp:3128\n');
  file(join(root, 'etc', 'os-release'), 'ID=debian\nVERSION_ID="12"\n');
  const conf = file(join(root, 'etc', 'chrony', 'chrony.conf'), 'pool 2.debian.pool.ntp.org iburst\nserver 192.0.2.10 iburst\nleapsectz right/UTC\ndriftfile /var/lib/chrony/chrony.drift\n');
  const svc = file(join(root, 'svc.sh'), '#!/bin/sh\ncase "$1 $2" in "is-active chronyd" | "is-active chrony") exit 0 ;; *) exit 3 ;; esac\n', 0o755);
  const chronyc = file(join(root, 'chronyc.sh'), '#!/bin/sh\nexit 0\n', 0o755);
  return { PATH: process.env.PATH!, TSG_ROOT: root, TSG_CHRONY_CONF: conf, TSG_SERVICE_CMD: svc, TSG_CHRONYC: chronyc };
}

function run(script: string, args: string[], env: Record<string, string>): string {
  const r = spawnSync('sh', [script, ...args], { encoding: 'utf8', timeout: 30_000, env });
  return `${r.stdout}${r.stderr}rc=${r.status}`.replace(/tsg-remediate\.[A-Za-z0-9]+/g, 'tsg-remediate.X');
}

describe('the compacted Linux remediation script', () => {
  it('parses (sh -n)', () => {
    expect(spawnSync('sh', ['-n', compacted]).status).toBe(0);
  });

  it.each([
    ['time sync and NO_PROXY, dry run', ['--dry-run', 'true', '--fix-no-proxy', 'true']],
    ['mixed sources, dry run', ['--dry-run', 'true', '--fix-mixed-sources', 'true']],
    ['bad option', ['--fix-mixed-sources', 'maybe']],
  ])('prints what the file prints: %s', (name, args) => {
    const fromFile = run(guestScriptPath('remediate-linux.sh'), args, host(`${name}-file`.replace(/\W+/g, '-')));
    const fromDoc = run(compacted, args, host(`${name}-doc`.replace(/\W+/g, '-')));
    expect(fromDoc.replace(/-doc\//g, '/')).toBe(fromFile.replace(/-file\//g, '/'));
    expect(fromFile).toMatch(/TSG-REMEDIATE v1 result=/);
  });
});
