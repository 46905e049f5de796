/**
 * The NO_PROXY step of remediate-linux.sh (`--fix-no-proxy true`), run for real on files in an
 * isolated /etc tree (TSG_ROOT, a temp dir): what it writes, byte for byte; what a shell, pam_env's
 * format and systemd's DefaultEnvironment words read back; validation, rollback and idempotence.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';

import { diagnose } from '../../lambda/core/diagnosis/diagnose';
import { nodeReportCodec } from '../../lambda/engine/report-codec';
import { noProxyCoversImds } from '../../lambda/core/diagnosis/proxy';
import { NO_PROXY_ADDRESSES } from '../../lambda/core/remediation/no-proxy-result';
import { guestScriptPath } from '../../lambda/guest/scripts';
import { remediationDocumentContent } from '../../lib/constructs/guest-documents';

const SCRIPT = guestScriptPath('remediate-linux.sh');
const ADDRS = NO_PROXY_ADDRESSES.join(',');
const NP_LINE = /^TSG-NO-PROXY v1 result=(\S+) files=(\S*) reason=(\S*)$/m;
const dirs: string[] = [];

afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** A temp root holding the given files (paths under it, e.g. `etc/environment`). */
function tree(files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), 'tsg-np-'));
  dirs.push(root);
  for (const [p, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, p)), { recursive: true });
    writeFileSync(join(root, p), text);
  }
  return root;
}

/** Every file under the root, path → bytes (base64), for byte-identical comparisons. */
function snapshot(root: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string): void => {
    for (const n of readdirSync(d)) {
      const p = join(d, n);
      if (statSync(p).isDirectory()) walk(p);
      else out[relative(root, p)] = readFileSync(p).toString('base64');
    }
  };
  walk(root);
  return out;
}

const read = (root: string, p: string): string => readFileSync(join(root, p), 'utf8');

function run(root: string, args: string[] = ['--fix-no-proxy', 'true', '--fix-time-sync', 'false'], wrap?: (argv: string[]) => string[]) {
  const argv = ['sh', SCRIPT, ...args];
  const [cmd, ...rest] = wrap ? wrap(argv) : argv;
  const r = spawnSync(cmd!, rest, {
    encoding: 'utf8',
    timeout: 20_000,
    // No time daemon here (the service shim says none is active): only the NO_PROXY step acts.
    env: { PATH: process.env.PATH, TSG_ROOT: root, TSG_SERVICE_CMD: 'false' },
  });
  const m = NP_LINE.exec(r.stdout);
  const lines = r.stdout.trimEnd().split('\n');
  return {
    status: r.status,
    stdout: r.stdout,
    last: lines[lines.length - 1] ?? '',
    np: m ? { result: m[1]!, files: m[2]!, reason: m[3]! } : undefined,
  };
}

const COLLECTOR = guestScriptPath('collect-linux.sh');

/** Whether the real collector, run on the same tree, reports the finding `proxy-without-no-proxy`. */
function finding(root: string): boolean {
  const out = spawnSync('sh', [COLLECTOR], {
    encoding: 'utf8',
    timeout: 20_000,
    env: { PATH: process.env.PATH, TSG_ROOT: root, TSG_SYSTEMCTL: 'none', TSG_TIMEDATECTL: 'none', TSG_IMDS: 'none', TSG_CHRONYC: 'false' },
  }).stdout;
  return diagnose(out, undefined, nodeReportCodec).findings.some((f) => f.code === 'proxy-without-no-proxy');
}

/** The environment a login shell gets from a profile.d script. */
function sourced(root: string, p: string, name: string): string {
  return spawnSync('sh', ['-c', `. "$1"; printf '%s' "$${name}"`, 'sh', join(root, p)], { encoding: 'utf8', env: { PATH: process.env.PATH } }).stdout;
}

describe('remediate-linux.sh --fix-no-proxy on an isolated /etc', () => {
  it('adds both variables after the proxy line of /etc/environment (unquoted), and a second run changes nothing', () => {
    const root = tree({ 'etc/environment': 'PATH=/usr/local/bin:/usr/bin\nHTTPS_PROXY=http://proxy.corp:3128\n' });
    expect(finding(root)).toBe(true);
    const first = run(root);
    expect(first.np).toEqual({ result: 'changed', files: '/etc/environment', reason: 'services-pick-it-up-at-next-restart' });
    expect(first.stdout).toContain('running services see it at their next restart');
    expect(read(root, 'etc/environment')).toBe(`PATH=/usr/local/bin:/usr/bin\nHTTPS_PROXY=http://proxy.corp:3128\nNO_PROXY=${ADDRS}\nno_proxy=${ADDRS}\n`);
    expect(finding(root)).toBe(false);
    expect(first.last).toBe('TSG-REMEDIATE v1 result=skipped daemon=unknown action=none reason=time-sync-fix-off');
    expect(first.status).toBe(0);

    const after = snapshot(root);
    const second = run(root);
    expect(second.np).toMatchObject({ result: 'already-compliant', reason: 'imds-covered' });
    expect(snapshot(root)).toEqual(after);
  });

  it('appends to an existing quoted NO_PROXY instead of adding a second one, keeping the quotes', () => {
    const backup = 'PATH="/usr/bin"\nhttps_proxy="http://***@proxy:3128"\nNO_PROXY="localhost,127.0.0.1,.corp"\n';
    const root = tree({ 'etc/environment': backup });
    const r = run(root);
    expect(r.np?.result).toBe('changed');
    const text = read(root, 'etc/environment');
    expect(text).toBe(
      `PATH="/usr/bin"\nhttps_proxy="http://***@proxy:3128"\nno_proxy="localhost,127.0.0.1,.corp,${ADDRS}"\nNO_PROXY="localhost,127.0.0.1,.corp,${ADDRS}"\n`,
    );
    expect(text.match(/^NO_PROXY=/gm)).toHaveLength(1);
    // The original is kept beside it, byte for byte.
    const bak = readdirSync(join(root, 'etc')).find((f) => f.startsWith('environment.tsg-backup.'));
    expect(read(root, `etc/${bak}`)).toBe(backup);
  });

  it('appends only the addresses a NO_PROXY lacks, and never doubles a comma', () => {
    const root = tree({ 'etc/environment': 'HTTP_PROXY=http://p:3128\nNO_PROXY=localhost,169.254.170.2,\nno_proxy=\n' });
    run(root);
    expect(read(root, 'etc/environment')).toBe(
      'HTTP_PROXY=http://p:3128\nNO_PROXY=localhost,169.254.170.2,169.254.169.254,fd00:ec2::254\nno_proxy=169.254.169.254,169.254.170.2,fd00:ec2::254\n',
    );
  });

  it('edits a profile.d script in its export form so that a login shell gets both variables', () => {
    const root = tree({
      'etc/profile.d/corp-proxy.sh': '# corporate proxy\nexport http_proxy="http://proxy:3128"\nexport https_proxy=$http_proxy\nexport no_proxy="localhost,.internal" # keep\n',
    });
    expect(sourced(root, 'etc/profile.d/corp-proxy.sh', 'no_proxy')).toBe('localhost,.internal');
    const r = run(root);
    expect(r.np).toMatchObject({ result: 'changed', files: '/etc/profile.d/corp-proxy.sh' });
    expect(read(root, 'etc/profile.d/corp-proxy.sh')).toBe(
      `# corporate proxy\nexport http_proxy="http://proxy:3128"\nexport https_proxy=$http_proxy\nexport NO_PROXY="localhost,.internal,${ADDRS}"\nexport no_proxy="localhost,.internal,${ADDRS}" # keep\n`,
    );
    expect(sourced(root, 'etc/profile.d/corp-proxy.sh', 'no_proxy')).toBe(`localhost,.internal,${ADDRS}`);
    expect(sourced(root, 'etc/profile.d/corp-proxy.sh', 'NO_PROXY')).toBe(`localhost,.internal,${ADDRS}`);
    expect(sourced(root, 'etc/profile.d/corp-proxy.sh', 'http_proxy')).toBe('http://proxy:3128');
  });

  it('edits systemd DefaultEnvironment words in a system.conf.d drop-in and leaves the other words alone', () => {
    const conf = '[Manager]\n#DefaultEnvironment=NO_PROXY=old\nDefaultEnvironment="HTTPS_PROXY=http://p:3128" LANG=C.UTF-8 "NO_PROXY=localhost, .corp"\n';
    const root = tree({ 'etc/systemd/system.conf.d/proxy.conf': conf, 'etc/systemd/system.conf': '[Manager]\n#DefaultEnvironment=\n' });
    const r = run(root);
    expect(r.np).toMatchObject({ result: 'changed', files: '/etc/systemd/system.conf.d/proxy.conf' });
    expect(r.stdout).toContain('systemd reads DefaultEnvironment at daemon-reexec or reboot');
    expect(read(root, 'etc/systemd/system.conf.d/proxy.conf')).toBe(
      `[Manager]\n#DefaultEnvironment=NO_PROXY=old\nDefaultEnvironment="HTTPS_PROXY=http://p:3128" LANG=C.UTF-8 "NO_PROXY=localhost, .corp,${ADDRS}" "no_proxy=localhost, .corp,${ADDRS}"\n`,
    );
    expect(read(root, 'etc/systemd/system.conf')).toBe('[Manager]\n#DefaultEnvironment=\n');
    expect(finding(root)).toBe(false);
  });

  it('also appends to a NO_PROXY another file sets, since it may override the one it adds', () => {
    const root = tree({ 'etc/environment': 'HTTPS_PROXY=http://p:3128\n', 'etc/profile.d/np.sh': 'export NO_PROXY=localhost\n' });
    const r = run(root);
    expect(r.np).toMatchObject({ result: 'changed', files: '/etc/environment,/etc/profile.d/np.sh' });
    expect(read(root, 'etc/profile.d/np.sh')).toBe(`export NO_PROXY=localhost,${ADDRS}\n`);
    expect(read(root, 'etc/environment')).toBe(`HTTPS_PROXY=http://p:3128\nNO_PROXY=${ADDRS}\nno_proxy=${ADDRS}\n`);
  });

  it.each([
    ['no proxy set anywhere', { 'etc/environment': 'PATH=/usr/bin\n', 'etc/profile.d/lang.sh': 'export LANG=C\n' }, 'no-system-proxy'],
    ['a proxy only in a comment', { 'etc/environment': '# HTTPS_PROXY=http://p:3128\n' }, 'no-system-proxy'],
    ['an empty proxy value', { 'etc/environment': 'HTTPS_PROXY=\n' }, 'no-system-proxy'],
    ['NO_PROXY covering it by CIDR', { 'etc/environment': 'HTTPS_PROXY=http://p:3128\nno_proxy=169.254.0.0/16\n' }, 'imds-covered'],
    ['NO_PROXY=*', { 'etc/profile.d/p.sh': 'export HTTP_PROXY=http://p:3128 NO_PROXY="*"\n' }, 'imds-covered'],
  ])('changes nothing with %s', (_name, files, reason) => {
    const root = tree(files);
    const before = snapshot(root);
    const r = run(root);
    expect(r.np).toMatchObject({ result: 'already-compliant', reason });
    expect(snapshot(root)).toEqual(before);
  });

  it('with the step off, changes nothing and says nothing about it even where the finding holds', () => {
    const root = tree({ 'etc/environment': 'HTTPS_PROXY=http://p:3128\n' });
    const before = snapshot(root);
    for (const args of [[], ['--fix-no-proxy', 'false'], ['--fix-no-proxy', '']]) {
      const r = run(root, args);
      expect(r.np).toBeUndefined();
      expect(r.last).toBe('TSG-REMEDIATE v1 result=skipped daemon=none action=none reason=no-time-daemon');
    }
    expect(snapshot(root)).toEqual(before);
    expect(finding(root)).toBe(true);
  });

  it('reports the step and still runs the time-sync part when both are on', () => {
    const root = tree({ 'etc/environment': 'HTTPS_PROXY=http://p:3128\n' });
    const r = run(root, ['--fix-no-proxy', 'true']);
    expect(r.np?.result).toBe('changed');
    expect(r.last).toBe('TSG-REMEDIATE v1 result=skipped daemon=none action=none reason=no-time-daemon');
  });

  it('in dry run names the files it would change and changes none', () => {
    const root = tree({ 'etc/environment': 'HTTPS_PROXY=http://p:3128\n', 'etc/systemd/system.conf': '[Manager]\nDefaultEnvironment=HTTP_PROXY=http://p:3128\n' });
    const before = snapshot(root);
    const r = run(root, ['--fix-no-proxy', 'true', '--fix-time-sync', 'false', '--dry-run', 'true']);
    expect(r.np).toEqual({ result: 'would-change', files: '/etc/environment,/etc/systemd/system.conf', reason: 'dry-run' });
    expect(snapshot(root)).toEqual(before);
  });

  it('never writes a profile.d script that does not parse (validation before writing), and names only the line, never its text', () => {
    const root = tree({ 'etc/environment': 'HTTPS_PROXY=http://p:3128\n', 'etc/profile.d/broken.sh': 'export http_proxy=http://p:3128\nif s3cr3tPw then\n' });
    const before = snapshot(root);
    const r = run(root);
    expect(r.np).toMatchObject({ result: 'failed', files: '/etc/profile.d/broken.sh', reason: 'candidate-invalid' });
    expect(r.stdout).toMatch(/broken\.sh would not parse \(sh -n, line \d+\)/);
    expect(r.stdout).not.toMatch(/s3cr3tPw/);
    expect(snapshot(root)).toEqual(before);
    expect(r.last).toBe('TSG-REMEDIATE v1 result=failed daemon=unknown action=no-proxy reason=time-sync-fix-off');
    expect(r.status).toBe(1);
  });

  it('refuses to copy a NO_PROXY that is not a plain value into the missing variable', () => {
    const root = tree({ 'etc/profile.d/p.sh': 'export https_proxy=http://p:3128\nexport NO_PROXY="$EXTRA,localhost"\n' });
    const before = snapshot(root);
    const r = run(root);
    expect(r.np).toMatchObject({ result: 'failed', reason: 'no-proxy-value-not-plain' });
    expect(snapshot(root)).toEqual(before);
  });

  const asRoot = process.getuid?.() === 0 && spawnSync('unshare', ['-m', 'true']).status === 0;
  (asRoot ? it : it.skip)('rolls every written file back byte for byte when a later file cannot be written (read-only mount)', () => {
    const env = 'PATH=/usr/bin\r\nHTTPS_PROXY="http://p:3128"\r\n';
    const root = tree({ 'etc/environment': env, 'etc/profile.d/proxy.sh': 'export https_proxy=http://p:3128\n' });
    const before = snapshot(root);
    const pd = join(root, 'etc/profile.d');
    // A private mount namespace: profile.d is bound read-only over itself, so the second write fails for real.
    const r = run(root, undefined, (argv) => ['unshare', '-m', 'sh', '-c', `mount --bind "$0" "$0" && mount -o remount,ro,bind "$0" "$0" && exec "$@"`, pd, ...argv]);
    expect(r.np).toMatchObject({ result: 'rolled-back', reason: 'write-failed' });
    expect(r.stdout).toContain('restored: ');
    expect(r.status).toBe(2);
    const after = snapshot(root);
    expect(after['etc/environment']).toBe(before['etc/environment']);
    expect(after['etc/profile.d/proxy.sh']).toBe(before['etc/profile.d/proxy.sh']);
    expect(Buffer.from(after['etc/environment']!, 'base64').toString()).toBe(env);
  });

  it('agrees with the finding on what covers 169.254.169.254', () => {
    // The script's check and the collector's finding are two readers of one rule: keep them in step.
    for (const v of ['*', '169.254.169.254', '169.254.0.0/16', '169.254.169.254/32', 'localhost, 169.254.169.254']) expect(noProxyCoversImds(v)).toBe(true);
    for (const v of ['169.254.', '169.254.169.0/33', 'localhost', '.amazonaws.com']) {
      expect(noProxyCoversImds(v)).toBe(false);
      const root = tree({ 'etc/environment': `HTTPS_PROXY=http://p:3128\nNO_PROXY="${v}"\n` });
      expect(run(root).np?.result).toBe('changed');
    }
  });

  it('works as the SSM document carries it: comment lines dropped, parameters substituted', () => {
    const doc = remediationDocumentContent('linux') as { mainSteps: { inputs: { runCommand: string[] } }[] };
    const params: Record<string, string> = { DryRun: 'false', Endpoint: 'auto', UsePhc: 'false', InstallChrony: 'false', StepLargeOffset: 'false', VerifySeconds: '5', FixNoProxy: 'true', FixTimeSync: 'false', FixMixedSources: 'false' };
    const text = doc.mainSteps[0]!.inputs.runCommand.join('\n').replace(/\{\{ (\w+) \}\}/g, (_m, k: string) => params[k]!);
    const root = tree({ 'etc/environment': 'HTTPS_PROXY=http://p:3128\n', 'run.sh': text });
    const r = run(root, [], (argv) => ['sh', join(root, 'run.sh'), ...argv.slice(2)]);
    expect(r.np?.result).toBe('changed');
    expect(r.last).toBe('TSG-REMEDIATE v1 result=skipped daemon=unknown action=none reason=time-sync-fix-off');
    expect(read(root, 'etc/environment')).toBe(`HTTPS_PROXY=http://p:3128\nNO_PROXY=${ADDRS}\nno_proxy=${ADDRS}\n`);
  });

  it.each(['SIGTERM', 'SIGHUP', 'SIGINT'] as const)('restores every file written when interrupted (%s) after the first write', async (sig) => {
    const root = tree({ 'etc/environment': 'HTTPS_PROXY=http://p:3128\n', 'etc/profile.d/p.sh': 'export https_proxy=http://p:3128\n' });
    const before = snapshot(root);
    const pause = join(root, 'paused');
    const child = spawn('sh', [SCRIPT, '--fix-no-proxy', 'true', '--fix-time-sync', 'false'], {
      env: { PATH: process.env.PATH, TSG_ROOT: root, TSG_SERVICE_CMD: 'false', TSG_PAUSE_AT: 'no-proxy-write', TSG_PAUSE_FILE: pause },
    });
    let stdout = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    const t0 = Date.now();
    while (!existsSync(pause) && Date.now() - t0 < 10_000) await new Promise((r) => setTimeout(r, 50));
    expect(existsSync(pause)).toBe(true);
    expect(read(root, 'etc/environment')).toContain('NO_PROXY=');
    child.kill(sig);
    const code = await exited;
    expect(code).toBe(2);
    const last = stdout.trimEnd().split('\n').pop();
    expect(last).toBe(`TSG-REMEDIATE v1 result=rolled-back daemon=unknown action=no-proxy-write reason=interrupted-${sig.slice(3).toLowerCase()}`);
    const after = snapshot(root);
    for (const [p, b] of Object.entries(before)) expect(after[p]).toBe(b);
  });
});
