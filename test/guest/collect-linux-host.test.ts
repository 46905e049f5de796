/**
 * The real Linux collector on a fake host (TSG_ROOT) with stand-in tools: detection of daemons,
 * containers, proxies and the PTP clock; the size budget; the timeout fallback without timeout(1).
 * No daemon runs here (the real-chrony cases are in collect-linux.test.ts).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { diagnose } from '../../lambda/core/diagnosis/diagnose';
import { parseReport, section } from '../../lambda/core/diagnosis/report';
import { DETAILS_OUTPUT_LIMIT } from '../../lambda/aws/run-command-invocation';
import { unseal } from './sealed-report';
import { guestScriptPath } from '../../lambda/guest/scripts';

const SCRIPT = guestScriptPath('collect-linux.sh');
const dir = mkdtempSync(join(tmpdir(), 'tsg-h1-host-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function file(path: string, text: string, mode?: number): string {
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, text);
  if (mode !== undefined) chmodSync(path, mode);
  return path;
}

function proc(root: string, pid: number, comm: string, cmdline = comm, state = 'S (sleeping)'): void {
  file(join(root, 'proc', String(pid), 'comm'), `${comm}\n`);
  file(join(root, 'proc', String(pid), 'status'), `Name:\t${comm}\nState:\t${state}\n`);
  file(join(root, 'proc', String(pid), 'cmdline'), `${cmdline.split(' ').join('\0')}\0`);
}

/** A stand-in chronyc printing canned CSV (the real one is exercised against real chronyd elsewhere). */
function fakeChronyc(name: string, tracking: string, sources: string[]): string {
  return file(
    join(dir, `${name}.sh`),
    `#!/bin/sh\ncase "$*" in\n  *tracking*) echo "${tracking.replace('REFTIME', '$(date +%s)')}" ;;\n  *sources*) cat <<'X'\n${sources.join('\n')}\nX\n ;;\nesac\n`,
    0o755,
  );
}

/** The collector's plain report: opened from its envelope, or as printed with `TSG_PLAIN: '1'`. */
function collect(root: string, env: Record<string, string>): string {
  const printed = collectPrinted(root, env);
  return env['TSG_PLAIN'] === '1' ? printed : unseal(printed);
}

function collectPrinted(root: string, env: Record<string, string>): string {
  return execFileSync('sh', [SCRIPT], {
    encoding: 'utf8',
    timeout: 20000,
    env: { PATH: process.env.PATH, TSG_ROOT: root, TSG_SYSTEMCTL: 'none', TSG_TIMEDATECTL: 'none', TSG_IMDS: 'none', ...env },
  });
}

const TRACKING = 'A9FEA97B,169.254.169.123,4,REFTIME.000000000,0.000000626,0.000002852,0.000002852,1.187,0.020,0.388,0.000504752,0.001112565,16.0,Normal';
const SELECTED = '^,*,169.254.169.123,3,4,377,5,-0.000030000,-0.000226000,0.000287000';

describe('collect-linux.sh on a fake host', () => {
  it('detects daemons, container runtimes, the PTP clock and a proxy without NO_PROXY', () => {
    const root = join(dir, 'busy');
    proc(root, 10, 'chronyd');
    proc(root, 11, 'ntpd', 'ntpd: ntp engine'); // OpenNTPD's child
    proc(root, 12, 'chronyd', 'chronyd', 'Z (zombie)');
    proc(root, 20, 'dockerd');
    proc(root, 21, 'containerd-shim', 'containerd-shim-runc-v2');
    proc(root, 22, 'bash');
    file(join(root, 'etc', 'os-release'), 'NAME="Amazon Linux"\nID="amzn"\nVERSION_ID="2023"\n');
    file(join(root, 'sys', 'class', 'ptp', 'ptp0', 'clock_name'), 'ena-ptp\n');
    file(join(root, 'dev', 'ptp_ena'), '');
    file(join(root, 'etc', 'environment'), 'PATH=/usr/bin\nHTTPS_PROXY=http://user:secret@proxy.corp:3128\n# http_proxy=commented\n');
    const out = collect(root, { TSG_CHRONYC: fakeChronyc('busy', TRACKING, [SELECTED]) });
    const p = parseReport(out);
    expect(p.header).toMatchObject({ os: 'amzn 2023', daemons: 'chronyd,openntpd', containers: 'docker,containerd', ptp: 'ptp0:ena-ptp,ptp_ena' });
    expect(section(p, 'proxy')?.lines).toEqual(['/etc/environment:HTTPS_PROXY=http://***@proxy.corp:3128']);
    expect(out).not.toContain('secret');
    const v = diagnose(out);
    expect(v.containers).toBe(true);
    expect(v.findings.map((f) => f.code).sort()).toEqual(['multiple-daemons', 'proxy-without-no-proxy']);
  });

  const unusable = Array.from({ length: 30 }, (_, i) => `^,?,2a05:d018:c43:e312:ce77:6a1b:${i.toString(16)}:1,0,6,0,4294967295,0.000000000,0.000000000,0.000000000`);
  const combined = Array.from({ length: 10 }, (_, i) => `^,+,203.0.113.${i},2,6,377,40,0.000100000,0.000100000,0.010000000`);
  const many = (): string => fakeChronyc('many', TRACKING, [...combined.slice(0, 5), SELECTED, ...unusable, ...combined.slice(5)]);

  it('keeps all 41 sources when it compresses, the envelope still within the Details budget', () => {
    const root = join(dir, 'many-sealed');
    proc(root, 10, 'chronyd');
    const out = collect(root, { TSG_CHRONYC: many() });
    expect(out.length).toBeGreaterThan(DETAILS_OUTPUT_LIMIT);
    const p = parseReport(out);
    expect(p.cuts).toEqual([]);
    expect(section(p, 'chrony-sources')!.lines).toHaveLength(41);
  });

  it('falls back to the plain budget, sealed, when even the compressed report would not fit (200 sources of random numbers)', () => {
    const root = join(dir, 'many-random');
    proc(root, 10, 'chronyd');
    let seed = 7;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const noisy = Array.from({ length: 199 }, (_, i) => `^,+,2001:db8:${(rnd() * 65535) | 0}:${i.toString(16)}::${(rnd() * 65535) | 0},2,6,377,${(rnd() * 64) | 0},${rnd().toFixed(9)},${rnd().toFixed(9)},${rnd().toFixed(9)}`);
    const out = collect(root, { TSG_CHRONYC: fakeChronyc('many-random', TRACKING, [SELECTED, ...noisy]) });
    const p = parseReport(out);
    expect(out.length).toBeLessThanOrEqual(DETAILS_OUTPUT_LIMIT);
    expect(section(p, 'chrony-sources')!.lines).toContain(SELECTED);
    expect(p.cuts.reduce((n, c) => n + c.lines, 0)).toBeGreaterThan(150);
  });

  it('without compression, cuts unselected sources beyond a few to stay within 2,500 characters, keeps the selected one and marks the cut', () => {
    const root = join(dir, 'many');
    proc(root, 10, 'chronyd');
    const out = collect(root, { TSG_CHRONYC: many(), TSG_PLAIN: '1' });
    expect(out).toMatch(/^TSG-REPORT v1 linux\n/);
    expect(out.length).toBeLessThanOrEqual(DETAILS_OUTPUT_LIMIT);
    const p = parseReport(out);
    expect(p.cuts.length).toBeGreaterThan(0);
    expect(p.cuts.every((c) => c.section === 'chrony-sources')).toBe(true);
    const rows = section(p, 'chrony-sources')!.lines;
    expect(rows).toContain(SELECTED);
    // Unusable (?) sources go first: every candidate (+) survives.
    expect(rows.filter((r) => r.startsWith('^,+,'))).toHaveLength(10);
    expect(rows.filter((r) => r.startsWith('^,?,')).length).toBeLessThan(30);
    expect(rows.length + p.cuts.reduce((n, c) => n + c.lines, 0)).toBe(41);
    const v = diagnose(out, { maxOffsetSeconds: 1, maxClockErrorBoundSeconds: 1 });
    expect(v.timeSource).toBe('amazon-ipv4');
    expect(v['reportCuts']).toEqual(p.cuts);
  });

  /** A PATH directory holding every tool of this host but `missing`. */
  function binWithout(missing: string): string {
    const bin = join(dir, `bin-no-${missing}`);
    mkdirSync(bin, { recursive: true });
    for (const d of ['/usr/bin', '/bin', '/usr/sbin', '/sbin']) {
      const names = existsSync(d) ? readdirSync(d) : [];
      for (const n of names) {
        if (n === missing) continue;
        try {
          symlinkSync(join(d, n), join(bin, n));
        } catch {
          /* first one wins */
        }
      }
    }
    return bin;
  }

  it.each(['gzip', 'base64', 'sha256sum'])('prints the plain report on a host without %s', (missing) => {
    const root = join(dir, `no-${missing}`);
    proc(root, 10, 'chronyd');
    const bin = binWithout(missing);
    const out = execFileSync(join(bin, 'sh'), [SCRIPT], {
      encoding: 'utf8',
      timeout: 20000,
      env: { PATH: bin, TSG_ROOT: root, TSG_SYSTEMCTL: 'none', TSG_TIMEDATECTL: 'none', TSG_IMDS: 'none', TSG_CHRONYC: fakeChronyc(`no-${missing}`, TRACKING, [SELECTED]) },
    });
    expect(out).toMatch(/^TSG-REPORT v1 linux\n/);
    expect(out).toMatch(/\nTSG-END\n$/);
    expect(diagnose(out, { maxOffsetSeconds: 1, maxClockErrorBoundSeconds: 1 }).status).toBe('ok');
  });

  it('keeps to its time budget without timeout(1) (busybox-style hosts)', () => {
    const bin = binWithout('timeout');
    const root = join(dir, 'hang');
    proc(root, 10, 'chronyd');
    const hang = file(join(dir, 'hang.sh'), '#!/bin/sh\nexec sleep 30\n', 0o755);
    const t0 = Date.now();
    let out = execFileSync(join(bin, 'sh'), [SCRIPT], {
      encoding: 'utf8',
      timeout: 20000,
      env: { PATH: bin, TSG_ROOT: root, TSG_SYSTEMCTL: 'none', TSG_TIMEDATECTL: 'none', TSG_IMDS: 'none', TSG_CHRONYC: hang },
    });
    expect(Date.now() - t0).toBeLessThan(10000);
    out = unseal(out);
    expect(out).toContain('[chrony-tracking rc=124]');
    expect(out).toMatch(/TSG-END\n$/);
    expect(diagnose(out).status).toBe('unknown');
  });

  it('asks systemd in one call where systemd runs, and adds what the process scan sees', () => {
    const root = join(dir, 'systemd');
    mkdirSync(join(root, 'run', 'systemd', 'system'), { recursive: true });
    proc(root, 10, 'bash');
    // is-active prints one state per unit, in order: chronyd chrony ntpd ntp ntpsec systemd-timesyncd openntpd
    const systemctl = file(join(dir, 'systemctl.sh'), '#!/bin/sh\necho "$*" >> ' + join(dir, 'systemctl.calls') + '\nprintf "active\\nactive\\ninactive\\ninactive\\ninactive\\nactive\\ninactive\\n"\n', 0o755);
    const out = collect(root, { TSG_SYSTEMCTL: systemctl, TSG_CHRONYC: 'none' });
    const p = parseReport(out);
    expect(p.header).toMatchObject({ detect: 'systemctl+proc', daemons: 'chronyd,systemd-timesyncd' });
    expect(readFileSync(join(dir, 'systemctl.calls'), 'utf8').trim().split('\n')).toHaveLength(1);
    expect(diagnose(out).findings.map((f) => f.code)).toContain('multiple-daemons');
  });

  it('prints a report without /proc (detection unavailable) that is never ok', () => {
    const root = join(dir, 'noproc');
    mkdirSync(root, { recursive: true });
    const tmp = join(dir, 'tmp');
    mkdirSync(tmp, { recursive: true });
    const out = collect(root, { TSG_CHRONYC: 'none', TMPDIR: tmp });
    expect(readdirSync(tmp)).toEqual([]); // its one temporary file is gone
    const p = parseReport(out);
    expect(p.header['detect']).toBe('none');
    expect(p.header['daemons']).toBeUndefined();
    expect(diagnose(out).status).toBe('unknown');
  });
});

describe('collect-linux.sh redacts proxy credentials whatever the password holds', () => {
  it.each<[string, string, string[], string[]]>([
    ['no scheme, user:password', 'HTTPS_PROXY=bob:hunter2@proxy:3128', ['HTTPS_PROXY=***@proxy:3128'], ['bob', 'hunter2']],
    ['a slash in the password', 'http_proxy=http://carol:pa/ss@proxy', ['http_proxy=http://***@proxy'], ['carol', 'pa/ss', 'pa']],
    ['@ and : in user and password', 'HTTPS_PROXY=http://d%40n:p@ss:w@rd@host:8080', ['HTTPS_PROXY=http://***@host:8080'], ['d%40n', 'p@ss', 'w@rd', 'ss:w']],
    ['a percent-encoded @ as the separator', 'HTTPS_PROXY=http://jo:pw%2Fx%40proxy:3128', ['HTTPS_PROXY=http://***@proxy:3128'], ['jo', 'pw%2Fx']],
    ['a user without password', 'https_proxy=http://frank@proxy:3128', ['https_proxy=http://***@proxy:3128'], ['frank']],
    ['a quoted value with a space', 'export HTTPS_PROXY="http://eve:s3 cr@t@proxy:8080"', ['HTTPS_PROXY=http://***@proxy:8080'], ['eve', 's3', 'cr@t']],
    ['no scheme, user only', 'HTTP_PROXY=grace@proxy', ['HTTP_PROXY=***@proxy'], ['grace']],
    [
      'two assignments on one line',
      'HTTPS_PROXY=http://hal:x9@h1:3128 NO_PROXY=localhost,169.254.169.254',
      ['HTTPS_PROXY=http://***@h1:3128', 'NO_PROXY=localhost,169.254.169.254'],
      ['hal', 'x9'],
    ],
    [
      'systemd DefaultEnvironment',
      'DefaultEnvironment="HTTPS_PROXY=http://ivy:o p@h2" "NO_PROXY=169.254.169.254"',
      ['HTTPS_PROXY=http://***@h2', 'NO_PROXY=169.254.169.254'],
      ['ivy', 'o p'],
    ],
  ])('%s', (_label, line, expected, secrets) => {
    const root = join(dir, `proxy-${secrets[0]}`);
    proc(root, 10, 'bash');
    const path = line.startsWith('Default') ? '/etc/systemd/system.conf' : '/etc/environment';
    file(join(root, path), `${line}\n`);
    const out = collect(root, { TSG_CHRONYC: 'none' });
    const lines = section(parseReport(out), 'proxy')?.lines ?? [];
    expect(lines).toEqual(expected.map((e) => `${path}:${e}`));
    for (const s of secrets) expect(out).not.toContain(s);
    // The names survive redaction, so the proxy finding is still judged.
    expect(diagnose(out)['systemProxy']).toBe(true);
  });
});

describe('collect-linux.sh prints only the exact proxy assignments, never other proxy configuration', () => {
  /** Secret-bearing lines in the forms found in the wild; every SECRETn must stay on the host. */
  const ENVIRONMENT = [
    'PATH=/usr/bin',
    'https_proxy_password=SECRET1',
    'HTTPS_PROXY_PASSWORD="SECRET2"',
    'HTTP_PROXY_AUTH=Basic U0VDUkVUMw==',
    'https_proxy_auth=Bearer SECRET4',
    'proxy_user=SECRET5',
    'PROXY_PASS=SECRET6',
    'ftp_proxy=http://u:SECRET7@ftp-proxy:21',
    'all_proxy=socks5://u:SECRET8@socks:1080',
    'MY_HTTPS_PROXY=http://u:SECRET9@elsewhere:3128',
    '# https_proxy=http://u:SECRET10@commented:3128',
    'HTTPS_PROXY=http://alice:SECRET11@proxy.corp:3128',
    'no_proxy=localhost, 169.254.169.254',
  ];
  const PROFILE = [
    'export http_proxy=http://proxy.corp:3128 https_proxy_password=SECRET12 # pass SECRET13',
    'export HTTP_PROXY=http://u:SECRET14@x:3128; export HTTPS_PROXY_AUTH=SECRET15',
    'export https_proxy=$http_proxy',
  ];
  const SYSTEMD = ['[Manager]', 'DefaultEnvironment="HTTPS_PROXY=http://v:SECRET16@h2:8080" "HTTPS_PROXY_PASSWORD=SECRET17" NO_PROXY=169.254.169.254\r'];

  it('keeps every secret line, and every credential, off the report; the check still sees the proxy', () => {
    const root = join(dir, 'proxy-secrets');
    proc(root, 10, 'bash');
    file(join(root, 'etc', 'environment'), `${ENVIRONMENT.join('\n')}\n`);
    file(join(root, 'etc', 'profile.d', 'proxy.sh'), `${PROFILE.join('\n')}\n`);
    file(join(root, 'etc', 'systemd', 'system.conf'), `${SYSTEMD.join('\n')}\n`);
    const out = collect(root, { TSG_CHRONYC: 'none' });
    expect(out).not.toMatch(/SECRET|U0VDUkVUMw|Basic|Bearer|password|_auth|proxy_user|PROXY_PASS/i);
    // The stand-in files did hold them (so the assertion above can fail).
    expect(readFileSync(join(root, 'etc', 'environment'), 'utf8')).toContain('SECRET1');
    expect(section(parseReport(out), 'proxy')?.lines).toEqual([
      '/etc/environment:HTTPS_PROXY=http://***@proxy.corp:3128',
      '/etc/environment:no_proxy=localhost, 169.254.169.254',
      '/etc/profile.d/proxy.sh:http_proxy=http://proxy.corp:3128',
      '/etc/profile.d/proxy.sh:HTTP_PROXY=http://***@x:3128',
      '/etc/profile.d/proxy.sh:https_proxy=***',
      '/etc/systemd/system.conf:HTTPS_PROXY=http://***@h2:8080',
      '/etc/systemd/system.conf:NO_PROXY=169.254.169.254',
    ]);
    const v = diagnose(out);
    expect(v['systemProxy']).toBe(true);
    expect(v.findings.map((f) => f.code)).not.toContain('proxy-without-no-proxy');
  });

  it('a value a shell would end early is not printed past that point', () => {
    const root = join(dir, 'proxy-early-end');
    proc(root, 10, 'bash');
    // Unquoted, a shell reads HTTPS_PROXY=http://u:p and then an assignment x=y@h: neither part is a plain host.
    file(join(root, 'etc', 'environment'), 'HTTPS_PROXY=http://u:pSECRET x=y@h\n');
    const out = collect(root, { TSG_CHRONYC: 'none' });
    expect(out).not.toContain('SECRET');
    expect(section(parseReport(out), 'proxy')?.lines).toEqual(['/etc/environment:HTTPS_PROXY=***']);
  });
});

describe('collect-linux.sh without a private temporary directory', () => {
  it('probes nothing and says why when mktemp fails, and never falls back to a predictable /tmp name', () => {
    const bin = join(dir, 'bin-bad-mktemp');
    file(join(bin, 'mktemp'), '#!/bin/sh\necho "mktemp: failed to create directory" >&2\nexit 1\n', 0o755);
    const root = join(dir, 'nomktemp');
    proc(root, 10, 'chronyd');
    const r = spawnSync('sh', [SCRIPT], {
      encoding: 'utf8',
      timeout: 20000,
      env: { PATH: `${bin}:${process.env.PATH}`, TSG_ROOT: root, TSG_SYSTEMCTL: 'none', TSG_TIMEDATECTL: 'none', TSG_IMDS: 'none', TSG_CHRONYC: 'none' },
    });
    expect(r.status).toBe(1);
    expect(existsSync(`/tmp/tsg-collect.${r.pid}`)).toBe(false);
    expect(r.stdout).toContain('[collector-error rc=1]');
    expect(r.stdout).toContain('mktemp -d failed');
    expect(r.stdout).not.toContain('daemons=');
    const v = diagnose(r.stdout);
    expect(v.status).toBe('unknown');
    expect(v.findings).toEqual([expect.objectContaining({ code: 'unknown-daemon-state', message: expect.stringMatching(/collector probed nothing: cannot create a temporary directory/) })]);
  });
});

describe('collect-linux.sh counts only the host namespace processes', () => {
  function ns(root: string, pid: number | string, mnt: string, net: string): void {
    mkdirSync(join(root, 'proc', String(pid), 'ns'), { recursive: true });
    symlinkSync(`mnt:[${mnt}]`, join(root, 'proc', String(pid), 'ns', 'mnt'));
    symlinkSync(`net:[${net}]`, join(root, 'proc', String(pid), 'ns', 'net'));
  }

  it('skips daemons whose mount or network namespace differs from PID 1, and counts those it cannot tell', () => {
    const root = join(dir, 'ns');
    proc(root, 1, 'systemd');
    ns(root, 1, '4026531841', '4026531840');
    proc(root, 10, 'chronyd');
    ns(root, 10, '4026531841', '4026532999'); // a test's or a container's private network namespace
    proc(root, 11, 'ntpd');
    ns(root, 11, '4026532888', '4026531840'); // another mount namespace (a container)
    proc(root, 12, 'dockerd');
    ns(root, 12, '4026532777', '4026532777');
    proc(root, 13, 'systemd-timesyncd');
    ns(root, 13, '4026531841', '4026531840'); // the host's own
    proc(root, 14, 'containerd'); // namespace links unreadable: counted, as before
    const p = parseReport(collect(root, { TSG_CHRONYC: 'none' }));
    expect(p.header).toMatchObject({ daemons: 'systemd-timesyncd', containers: 'containerd' });
  });

  it('without namespace links for PID 1 (a fake root, an old kernel) counts every process as before', () => {
    const root = join(dir, 'ns-none');
    proc(root, 10, 'chronyd');
    ns(root, 10, '1', '2');
    expect(parseReport(collect(root, { TSG_CHRONYC: 'none' })).header['daemons']).toBe('chronyd');
  });
});
