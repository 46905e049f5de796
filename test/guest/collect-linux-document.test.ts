/**
 * The Linux collector as the SSM document carries it (no whole-line comments:
 * lib/constructs/guest-documents.ts `collectorDocumentContent`) behaves as the file does: both run
 * on the same stand-in hosts (TSG_ROOT, stand-in chronyc, no IMDS) and print the same report.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { guestScriptPath } from '../../lambda/guest/scripts';
import { collectorDocumentContent } from '../../lib/constructs/guest-documents';

const dir = mkdtempSync(join(tmpdir(), 'tsg-c24-collect-doc-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const fromDocument = join(dir, 'document.sh');
writeFileSync(fromDocument, `${(collectorDocumentContent() as { mainSteps: { inputs: { runCommand: string[] } }[] }).mainSteps[0]!.inputs.runCommand.join('\n')}\n`);

function file(path: string, text: string, mode?: number): string {
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, text);
  if (mode !== undefined) chmodSync(path, mode);
  return path;
}

const TRACKING = 'A9FEA97B,169.254.169.123,4,1765000000.000000000,0.000000626,0.000002852,0.000002852,1.187,0.020,0.388,0.000504752,0.001112565,16.0,Normal';
const SOURCES = ['^,*,169.254.169.123,3,4,377,5,-0.000030000,-0.000226000,0.000287000', '^,?,192.0.2.10,2,6,0,-,0.0,0.0,0.0', '^,-,192.0.2.11,2,6,377,20,0.000100000,0.000100000,0.000300000'];

/** One stand-in host: chronyd running, a proxy without NO_PROXY, containers, a PTP clock. */
function host(name: string, sources: string[]): Record<string, string> {
  const root = join(dir, name);
  const proc = (pid: number, comm: string) => {
    file(join(root, 'proc', String(pid), 'comm'), `${comm}\n`);
    file(join(root, 'proc', String(pid), 'status'), `Name:\t${comm}\nState:\tS (sleeping)\n`);
    file(join(root, 'proc', String(pid), 'cmdline'), `${comm}\0`);
  };
  proc(10, 'chronyd');
  proc(20, 'dockerd');
  file(join(root, 'etc', 'os-release'), 'ID="amzn"\nVERSION_ID="2023"\n');
  file(join(root, 'etc', 'environment'), 'HTTPS_PROXY=http://proxy.corp:3128\n');
  file(join(root, 'etc', 'chrony.conf'), 'server 169.254.169.123 prefer iburst\n');
  file(join(root, 'sys', 'class', 'ptp', 'ptp0', 'clock_name'), 'ena-ptp\n');
  const chronyc = file(join(root, 'chronyc.sh'), `#!/bin/sh\ncase "$*" in\n  *tracking*) echo "${TRACKING}" ;;\n  *sources*) cat <<'X'\n${sources.join('\n')}\nX\n ;;\nesac\n`, 0o755);
  return { PATH: process.env.PATH!, TSG_ROOT: root, TSG_CHRONYC: chronyc, TSG_SYSTEMCTL: 'none', TSG_TIMEDATECTL: 'none', TSG_IMDS: 'none', TSG_PLAIN: '1' };
}

function run(script: string, env: Record<string, string>): string {
  const r = spawnSync('sh', [script], { encoding: 'utf8', timeout: 30_000, env });
  // The report's own clock readings differ between two runs; everything else must not.
  return `${r.stdout}${r.stderr}rc=${r.status}`.replace(/^(now|elapsed_ms|uptime_s|ref_age_s)=.*$/gm, '$1=X').replace(new RegExp(dir, 'g'), 'DIR').replace(/\/(file|doc)-/g, '/');
}

describe('the Linux collector as the document carries it', () => {
  it('parses (sh -n) and is smaller than the file', () => {
    expect(spawnSync('sh', ['-n', fromDocument]).status).toBe(0);
    expect(readFileSync(fromDocument, 'utf8').length).toBeLessThan(0.85 * readFileSync(guestScriptPath('collect-linux.sh'), 'utf8').length);
  });

  it.each([
    ['on Amazon Time Sync', SOURCES],
    ['with many sources (the size budget passes)', [...SOURCES, ...Array.from({ length: 40 }, (_, i) => `^,-,192.0.2.${100 + i},2,6,377,20,0.000100000,0.000100000,0.000300000`)]],
  ])('prints what the file prints: %s', (name, sources) => {
    const fromFile = run(guestScriptPath('collect-linux.sh'), host(`file-${name.replace(/\W+/g, '-')}`, sources));
    const fromDoc = run(fromDocument, host(`doc-${name.replace(/\W+/g, '-')}`, sources));
    expect(fromFile).toMatch(/TSG-REPORT v1 linux/);
    expect(fromFile).toMatch(/rc=0$/);
    expect(fromDoc).toBe(fromFile);
  });
});
