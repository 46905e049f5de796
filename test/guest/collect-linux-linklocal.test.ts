/**
 * The real Linux collector's link-local sections, judged by the real diagnose():
 * - IMDS: a fake IMDS (Node's http server) on 169.254.169.254 inside a private network namespace
 *   (answering, 429, 403, silent), and a host clock 10 minutes ahead under libfaketime;
 * - ENA: a stand-in ethtool on PATH printing captured outputs (test/fixtures/ethtool), on a fake sysfs;
 * - time configuration: real chronyd in private network + PID namespaces, its config read from its -f.
 * Nothing leaves the machine: every link-local address lives in a namespace this file creates.
 * Every process started here is stopped here, by PID (the namespace scripts trap and kill theirs).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { diagnose } from '../../lambda/core/diagnosis/diagnose';
import { parseReport, section } from '../../lambda/core/diagnosis/report';
import { DETAILS_OUTPUT_LIMIT } from '../../lambda/aws/run-command-invocation';
import { guestScriptPath } from '../../lambda/guest/scripts';
import { aggregate } from '../../lambda/core/fleet/aggregate';
import { DEFAULT_THRESHOLDS } from '../../lambda/core/diagnosis/diagnose';
import type { Verdict } from '../../lambda/core/types';
import { FAKE_INSTANCE_ID, FAKE_TOKEN, startFakeImds, writeFakeImds } from './fake-imds';
import { unseal } from './sealed-report';

/** The plain report the collector printed: opened (and checked) when sealed, as the Lambda reads it. */
const opened = (printed: string): string => (printed.startsWith('TSG-REPORT-GZ1 ') ? unseal(printed) : printed);

const SCRIPT = guestScriptPath('collect-linux.sh');
const FIXTURES = join(__dirname, '..', 'fixtures', 'ethtool');
const dir = mkdtempSync(join(tmpdir(), 'tsg-g23-linklocal-'));
const FAKETIME_LIB = ['/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1', '/usr/lib/aarch64-linux-gnu/faketime/libfaketime.so.1', '/usr/lib/faketime/libfaketime.so.1'].find((p) => existsSync(p)) ?? 'libfaketime.so.1';
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const codes = (v: Verdict) => v.findings.map((f) => f.code).sort();

function file(path: string, text: string, mode?: number): string {
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, text);
  if (mode !== undefined) chmodSync(path, mode);
  return path;
}

/** A fake root whose /proc shows these process names (and whose uptime is `uptime` s). */
function fakeRoot(name: string, comms: string[], uptime = 86400): string {
  const root = join(dir, `root-${name}`);
  comms.forEach((c, i) => {
    const p = join(root, 'proc', String(4000 + i));
    file(join(p, 'comm'), `${c}\n`);
    file(join(p, 'status'), `Name:\t${c}\nState:\tS (sleeping)\n`);
    file(join(p, 'cmdline'), `${c}\0`);
  });
  file(join(root, 'proc', 'uptime'), `${uptime}.42 1234.5\n`);
  file(join(root, 'etc', 'os-release'), 'ID=amzn\nVERSION_ID="2023"\n');
  return root;
}

/** An ENA interface in the fake sysfs: its driver link, and optionally the PHC error bound (ns). */
function enaInterface(root: string, name: string, phcErrorBoundNs?: number): void {
  mkdirSync(join(root, 'sys', 'class', 'net', name, 'device'), { recursive: true });
  symlinkSync('../../../../bus/pci/drivers/ena', join(root, 'sys', 'class', 'net', name, 'device', 'driver'));
  if (phcErrorBoundNs !== undefined) file(join(root, 'sys', 'class', 'net', name, 'device', 'phc_error_bound'), `${phcErrorBoundNs}\n`);
}

/** A stand-in ethtool printing captured outputs: `-i IF` and `-S IF` from the fixtures named per interface. */
function fakeEthtool(name: string, perInterface: Record<string, { i: string; S: string }>): string {
  const bin = join(dir, `ethtool-${name}`);
  const cases = Object.entries(perInterface)
    .map(([ifc, f]) => `  "-i ${ifc}") f=${join(FIXTURES, f.i)} ;;\n  "-S ${ifc}") f=${join(FIXTURES, f.S)} ;;`)
    .join('\n');
  file(
    join(bin, 'ethtool'),
    `#!/bin/sh\ncase "$*" in\n${cases}\n  *) echo "Cannot get driver information: No such device" >&2; exit 71 ;;\nesac\ngrep -v '^# source:' "$f"\n`,
    0o755,
  );
  return bin;
}

function collect(root: string, env: Record<string, string> = {}): string {
  return opened(execFileSync('sh', [SCRIPT], {
    encoding: 'utf8',
    timeout: 30000,
    env: { PATH: process.env.PATH, TSG_ROOT: root, TSG_CHRONYC: 'none', TSG_SYSTEMCTL: 'none', TSG_TIMEDATECTL: 'none', TSG_IMDS: 'none', ...env },
  }));
}

const FAKE_IMDS = writeFakeImds(dir);

/**
 * Runs the collector inside a private network namespace where a fake IMDS (mode) listens on
 * 169.254.169.254 (mode `none`: the address exists, nothing listens). `wrap` prefixes the collector
 * (e.g. libfaketime); returns its stdout and wall time.
 */
function collectWithImds(mode: 'answer' | 'throttle' | 'refuse' | 'silent' | 'none', root: string, opts: { wrap?: string; env?: string } = {}): { out: string; ms: number } {
  const ready = join(dir, `imds-${mode}-${Date.now()}.ready`);
  const server = mode === 'none' ? '' : startFakeImds(FAKE_IMDS, mode, 80, ready);
  const script = `
    set -u
    P=
    trap '[ -z "$P" ] || kill $P 2>/dev/null; wait' EXIT INT TERM
    ip link set lo up
    ip addr add 169.254.169.254/32 dev lo
    ${server}
    t0=$(date +%s%N)
    TSG_ROOT=${root} TSG_CHRONYC=none TSG_SYSTEMCTL=none TSG_TIMEDATECTL=none ${opts.env ?? ''} ${opts.wrap ?? ''} sh ${SCRIPT}
    echo "WALL_MS=$(( ($(date +%s%N) - t0) / 1000000 ))"
  `;
  // The probe honours the SDKs' switch, which CI and the test setup set: off here, inside the private namespace only.
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env['AWS_EC2_METADATA_DISABLED'];
  const r = spawnSync('unshare', ['-n', 'sh', '-c', script], { encoding: 'utf8', timeout: 60000, env });
  expect(r.status).toBe(0);
  const ms = Number(/WALL_MS=(\d+)/.exec(r.stdout)?.[1]);
  return { out: opened(r.stdout.replace(/WALL_MS=\d+\n$/, '')), ms };
}

describe('the IMDSv2 probe against a fake IMDS on 169.254.169.254 (private network namespace)', () => {
  it('gets a token and the instance id, prints neither, and finds nothing on a healthy endpoint', () => {
    const { out } = collectWithImds('answer', fakeRoot('imds-ok', ['bash']));
    expect(out).not.toContain(FAKE_TOKEN);
    expect(out).not.toContain(FAKE_INSTANCE_ID);
    const line = section(parseReport(out), 'imds')!.lines[0]!;
    expect(line).toMatch(/^via=curl put=200 put_ms=\d+ get=200 get_ms=\d+ local=\d+ date=[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT$/);
    const v = diagnose(out);
    expect(codes(v)).toEqual(['no-daemon']);
    expect(Math.abs((v['imdsProbe'] as { skewSeconds: number }).skewSeconds)).toBeLessThanOrEqual(2);
  });

  it.each([
    ['throttle', 'imds-throttled', /put=429/],
    ['refuse', 'imds-token-refused', /put=403/],
    ['silent', 'imds-unreachable', /put=timeout/],
    ['none', 'imds-unreachable', /put=refused/],
  ] as const)('reports %s as %s', (mode, code, line) => {
    const { out, ms } = collectWithImds(mode, fakeRoot(`imds-${mode}`, ['bash']));
    expect(section(parseReport(out), 'imds')!.lines[0]).toMatch(line);
    const v = diagnose(out);
    expect(codes(v)).toEqual([code, 'no-daemon'].sort());
    expect(ms).toBeLessThan(8000);
    // It reaches its fleet metric.
    const counts = aggregate([{ instanceId: 'i-1', platform: 'linux', status: v.status === 'ok' ? 'ok' : 'at-risk', checkState: 'checked', findings: v.findings, imds: {}, hasInstanceProfile: true, verdict: v }], DEFAULT_THRESHOLDS).counts;
    expect(code === 'imds-throttled' ? counts.imdsThrottled : counts.imdsUnreachable).toBe(1);
  });

  it('estimates the offset from the IMDS Date header when no daemon runs: a clock 10 minutes ahead (libfaketime) is imds-date-skew ≈ +600 s', () => {
    const { out } = collectWithImds('answer', fakeRoot('skew-none', ['bash']), {
      wrap: `env LD_PRELOAD=${FAKETIME_LIB} FAKETIME=+600s DONT_FAKE_MONOTONIC=1`,
    });
    const v = diagnose(out);
    expect(codes(v)).toEqual(['imds-date-skew', 'no-daemon']);
    expect(v.offsetSeconds).toBeGreaterThanOrEqual(597);
    expect(v.offsetSeconds).toBeLessThanOrEqual(603);
    expect(v['offsetSource']).toBe('imds-date');
    expect(v.status).toBe('at-risk');
    const counts = aggregate([{ instanceId: 'i-1', platform: 'linux', status: 'at-risk', checkState: 'checked', findings: v.findings, imds: {}, hasInstanceProfile: true, verdict: v }], DEFAULT_THRESHOLDS).counts;
    expect(counts.clockSkewViaImds).toBe(1);
  });

  it('judges a silent daemon on the IMDS estimate: at risk with a clock 10 minutes behind, not unknown', () => {
    const { out } = collectWithImds('answer', fakeRoot('skew-silent', ['chronyd']), {
      wrap: `env LD_PRELOAD=${FAKETIME_LIB} FAKETIME=-600s DONT_FAKE_MONOTONIC=1`,
      env: 'TSG_CHRONYC="chronyc -h 127.0.0.1 -p 11199"',
    });
    const v = diagnose(out);
    expect(codes(v)).toEqual(['daemon-not-responding', 'imds-date-skew']);
    expect(v.offsetSeconds).toBeLessThanOrEqual(-597);
    expect(v.status).toBe('at-risk');
  });
});

describe('ENA link-local counters from a stand-in ethtool printing captured outputs', () => {
  it('reports the counter of each ENA interface and imds-packets-dropped with the count and uptime', () => {
    const root = fakeRoot('ena-two', ['bash'], 7200);
    enaInterface(root, 'ens5');
    enaInterface(root, 'ens6');
    const bin = fakeEthtool('two', { ens5: { i: 'i-ena-2.13.0g.txt', S: 'S-ena-2.13.txt' }, ens6: { i: 'i-ena-2.13.0g.txt', S: 'S-ena-2.13-dropping.txt' } });
    const out = collect(root, { PATH: `${bin}:${process.env.PATH}` });
    expect(section(parseReport(out), 'ena')!.lines).toEqual([
      'ens5 driver=2.13.0g linklocal_allowance_exceeded=0',
      'ens6 driver=2.13.0g linklocal_allowance_exceeded=1523',
    ]);
    const v = diagnose(out);
    expect(codes(v)).toEqual(['imds-packets-dropped', 'no-daemon']);
    expect(v.findings.find((f) => f.code === 'imds-packets-dropped')!.message).toMatch(/\(ens6 1523\) in 7200 s since boot/);
    const counts = aggregate([{ instanceId: 'i-1', platform: 'linux', status: 'at-risk', checkState: 'checked', findings: v.findings, imds: {}, hasInstanceProfile: true, verdict: v }], DEFAULT_THRESHOLDS).counts;
    expect(counts.linkLocalPacketsDropped).toBe(1);
  });

  it('says "unsupported" for a driver older than 2.2.10 (no counter) and finds nothing', () => {
    const root = fakeRoot('ena-old', ['bash']);
    enaInterface(root, 'eth0');
    const out = collect(root, { PATH: `${fakeEthtool('old', { eth0: { i: 'i-ena-2.2.9g.txt', S: 'S-ena-2.2.9.txt' } })}:${process.env.PATH}` });
    expect(section(parseReport(out), 'ena')!.lines).toEqual(['eth0 driver=2.2.9g linklocal_allowance_exceeded=unsupported']);
    expect(codes(diagnose(out))).toEqual(['no-daemon']);
  });

  it('finds nothing after a reboot reset the counter to 0', () => {
    const root = fakeRoot('ena-reboot', ['bash'], 95);
    enaInterface(root, 'eth0');
    const out = collect(root, { PATH: `${fakeEthtool('reboot', { eth0: { i: 'i-ena-2.13.0g.txt', S: 'S-ena-2.13-after-reboot.txt' } })}:${process.env.PATH}` });
    expect(section(parseReport(out), 'ena')!.lines).toEqual(['eth0 driver=2.13.0g linklocal_allowance_exceeded=0']);
    expect(parseReport(out).header['uptime']).toBe('95');
    expect(codes(diagnose(out))).toEqual(['no-daemon']);
  });

  it('says ethtool is missing, takes the driver version from sysfs, and reads the PHC error bound over its threshold', () => {
    const root = fakeRoot('ena-noethtool', ['bash']);
    enaInterface(root, 'eth0', 2_500_000_000);
    file(join(root, 'sys', 'module', 'ena', 'version'), '2.13.0g\n');
    const out = collect(root, { TSG_ETHTOOL: 'none' });
    expect(section(parseReport(out), 'ena')!.lines).toEqual(['ethtool=missing', 'eth0 driver=2.13.0g linklocal_allowance_exceeded=unknown phc_error_bound=2500000000']);
    const v = diagnose(out);
    expect(codes(v)).toEqual(['no-daemon', 'phc-error-bound-over-threshold']);
    expect(v['phcErrorBoundSeconds']).toBe(2.5);
  });

  it('reads a PHC error bound within the threshold as no finding, and reports ClockBound running', () => {
    const root = fakeRoot('ena-phc-ok', ['bash', 'clockbound']);
    enaInterface(root, 'eth0', 27_000);
    const out = collect(root, { TSG_ETHTOOL: 'none' });
    const v = diagnose(out);
    expect(codes(v)).toEqual(['no-daemon']);
    expect(v).toMatchObject({ phcErrorBoundSeconds: 0.000027, clockbound: 'running' });
  });
});

describe('size budget with the new sections', () => {
  it('stays within 2,500 characters on a busy host, keeping the IMDS and ENA lines', () => {
    const root = fakeRoot('busy', ['chronyd']);
    const ifs = Array.from({ length: 8 }, (_, i) => `ens${i + 5}`);
    for (const n of ifs) enaInterface(root, n, 27_000);
    const bin = fakeEthtool('busy', Object.fromEntries(ifs.map((n) => [n, { i: 'i-ena-2.13.0g.txt', S: 'S-ena-2.13-dropping.txt' }])));
    file(join(root, 'etc', 'chrony.conf'), `server 169.254.169.123 prefer iburst\n${Array.from({ length: 20 }, (_, i) => `server ntp${i}.corp.example.com iburst`).join('\n')}\nleapsectz right/UTC\n`);
    const tracking = 'A9FEA97B,169.254.169.123,4,$(date +%s).000000000,0.000000626,0.000002852,0.000002852,1.187,0.020,0.388,0.000504752,0.001112565,16.0,Normal';
    const sources = ['^,*,169.254.169.123,3,4,377,5,-0.000030000,-0.000226000,0.000287000', ...Array.from({ length: 30 }, (_, i) => `^,+,203.0.113.${i},2,6,377,40,0.000100000,0.000100000,0.010000000`)];
    const chronyc = file(join(dir, 'busy-chronyc.sh'), `#!/bin/sh\ncase "$*" in\n  *tracking*) echo "${tracking}" ;;\n  *sources*) printf '%s\\n' ${sources.map((l) => `'${l}'`).join(' ')} ;;\nesac\n`, 0o755);
    // The plain budget (the fallback when a report cannot be sealed) is what this measures.
    const { out } = collectWithImds('answer', root, { env: `PATH=${bin}:$PATH TSG_CHRONYC=${chronyc} TSG_PLAIN=1` });
    expect(out.length).toBeLessThanOrEqual(DETAILS_OUTPUT_LIMIT);
    const p = parseReport(out);
    expect(section(p, 'imds')!.lines[0]).toMatch(/^via=curl put=200 .* date=/);
    expect(section(p, 'ena')!.lines).toHaveLength(8);
    // The budget was needed: unselected sources went first.
    expect(p.cuts.map((c) => c.section)).toContain('chrony-sources');
    const v = diagnose(out);
    expect(v.findings.map((f) => f.code)).toEqual(expect.arrayContaining(['imds-packets-dropped', 'mixed-smeared-sources']));
    expect(v.status).toBe('at-risk');
    // Sealed (the default), the same host fits Details with every source row kept.
    const sealed = collectWithImds('answer', root, { env: `PATH=${bin}:$PATH TSG_CHRONYC=${chronyc}` }).out;
    expect(section(parseReport(sealed), 'ena')!.lines).toHaveLength(8);
    expect(parseReport(sealed).cuts).toEqual([]);
  });
});

describe('time configuration of a real chronyd (private network and PID namespaces)', () => {
  /**
   * Starts chronyd with `conf` (plus files) in `unshare -mnpf --mount-proc`, with a chronyd serving
   * 169.254.169.123 when `amazonServer`, waits until it runs (and selected the server), and runs
   * the collector on the real /proc: the config path comes from chronyd's own -f argument.
   */
  function runChrony(name: string, conf: string[], files: Record<string, string[]>, amazonServer: boolean): string {
    const d = join(dir, `chrony-${name}`);
    mkdirSync(join(d, 'csock'), { recursive: true });
    chmodSync(join(d, 'csock'), 0o700);
    for (const [f, lines] of Object.entries(files)) file(join(d, f), `${lines.join('\n')}\n`);
    const sock = join(d, 'csock', 'chronyd.sock');
    file(join(d, 'client.conf'), [...conf.map((l) => l.replace('@DIR@', d)), 'port 0', 'cmdport 0', `bindcmdaddress ${sock}`, `pidfile ${d}/client.pid`, `driftfile ${d}/client.drift`, ''].join('\n'));
    file(join(d, 'server.conf'), ['port 123', 'bindaddress 169.254.169.123', 'allow all', 'local stratum 3', 'cmdport 0', `pidfile ${d}/server.pid`, ''].join('\n'));
    const script = `
      set -u
      P=
      trap 'kill $P 2>/dev/null; wait' EXIT INT TERM
      ip link set lo up
      ip addr add 169.254.169.123/32 dev lo
      ${amazonServer ? `chronyd -x -d -u root -f ${d}/server.conf 2>${d}/server.log & P="$P $!"` : ''}
      chronyd -x -d -u root -f ${d}/client.conf 2>${d}/client.log & C=$!; P="$P $C"
      i=0
      while [ $i -lt 150 ]; do
        ${
          amazonServer
            ? `chronyc -h ${sock} -n -c sources 2>/dev/null | grep -q '^^,[*],169.254.169.123,' && chronyc -h ${sock} -n -c tracking 2>/dev/null | awk -F, '$1 != "00000000" && $11 / 2 + $12 < 0.1 { ok = 1 } END { exit !ok }' && break`
            : `chronyc -h ${sock} -n -c tracking >/dev/null 2>&1 && break`
        }
        sleep 0.2; i=$((i+1))
      done
      kill -0 $C || { echo "chronyd exited: $(cat ${d}/client.log)"; exit 1; }
      TSG_ROOT= TSG_CHRONYC="chronyc -h ${sock}" TSG_SYSTEMCTL=none TSG_TIMEDATECTL=none TSG_IMDS=none sh ${SCRIPT}
    `;
    const r = spawnSync('unshare', ['-mnpf', '--mount-proc', 'sh', '-c', script], { encoding: 'utf8', timeout: 60000 });
    expect(r.stdout).toMatch(/TSG-END\n$/);
    expect(r.status).toBe(0);
    return opened(r.stdout);
  }

  it('flags the Amazon Linux 2 mix and a leapsectz from an include as advisory: the verdict stays ok', () => {
    const out = runChrony(
      'al2',
      ['server 169.254.169.123 prefer iburst minpoll -2 maxpoll 0', 'pool 2.amazon.pool.ntp.org iburst', 'include @DIR@/conf.d/*.conf'],
      { 'conf.d/leap.conf': ['leapsectz right/UTC'] },
      true,
    );
    expect(out.length).toBeLessThanOrEqual(DETAILS_OUTPUT_LIMIT);
    expect(section(parseReport(out), 'timeconf')!.lines).toEqual(['files=3', 'chrony server 169.254.169.123', 'chrony pool 2.amazon.pool.ntp.org', 'chrony leapsectz right/UTC']);
    const v = diagnose(out);
    expect(codes(v)).toEqual(['leap-file-with-smeared-source', 'mixed-smeared-sources']);
    expect(v).toMatchObject({ timeSource: 'amazon-ipv4', status: 'ok' });
    const counts = aggregate([{ instanceId: 'i-1', platform: 'linux', status: 'ok', checkState: 'checked', findings: v.findings, imds: {}, hasInstanceProfile: true, verdict: v }], DEFAULT_THRESHOLDS).counts;
    expect(counts.leapSmearAdvisory).toBe(1);
    expect(counts.instancesAtRisk).toBe(0);
  }, 90000);

  it('follows sourcedir and confdir: a non-Amazon source in a .sources file beside the Amazon one is a mix', () => {
    const out = runChrony(
      'sourcedir',
      ['server 169.254.169.123 iburst', 'sourcedir @DIR@/sources.d', 'confdir @DIR@/confd'],
      { 'sources.d/corp.sources': ['server 192.0.2.10 iburst'], 'sources.d/ignored.txt': ['server 192.0.2.99'], 'confd/x.conf': ['pool time.aws.com iburst'] },
      false,
    );
    const c = section(parseReport(out), 'timeconf')!.lines;
    expect(c).toEqual(expect.arrayContaining(['chrony server 192.0.2.10', 'chrony pool time.aws.com']));
    expect(c.join('\n')).not.toContain('192.0.2.99');
    expect(codes(diagnose(out))).toContain('mixed-smeared-sources');
    expect(codes(diagnose(out))).not.toContain('leap-file-with-smeared-source');
  }, 90000);

  it('stays clean with non-Amazon sources only and leapsectz (Debian default)', () => {
    const out = runChrony('debian', ['pool 2.debian.pool.ntp.org iburst', 'server 192.0.2.1 iburst', 'leapsectz right/UTC'], {}, false);
    expect(section(parseReport(out), 'timeconf')!.lines).toContain('chrony leapsectz right/UTC');
    const v = diagnose(out);
    expect(codes(v)).not.toContain('mixed-smeared-sources');
    expect(codes(v)).not.toContain('leap-file-with-smeared-source');
  }, 90000);
});

describe('worst-case run time', () => {
  it('finishes within the SSM step timeout when IMDS is silent and every command hangs (measured, docs/guest-scripts.md)', () => {
    const root = fakeRoot('worst', ['chronyd', 'ntpd', 'systemd-timesyncd', 'openntpd', 'clockbound']);
    mkdirSync(join(root, 'run', 'systemd', 'system'), { recursive: true });
    for (const n of ['eth0', 'eth1', 'eth2', 'eth3']) enaInterface(root, n);
    const bin = join(dir, 'slow-bin');
    for (const t of ['chronyc', 'ntpq', 'ntpctl', 'timedatectl', 'systemctl', 'ethtool']) file(join(bin, t), '#!/bin/sh\nexec sleep 60\n', 0o755);
    const { out, ms } = collectWithImds('silent', root, { env: `PATH=${bin}:$PATH TSG_SYSTEMCTL=systemctl TSG_TIMEDATECTL=timedatectl` });
    expect(out).toMatch(/TSG-END\n$/);
    // Budget 9 s for the probes, +1 s for timeout -k, +1 s for the last ethtool: the SSM step allows 30 s.
    expect(ms).toBeLessThan(13000);
    console.log(`worst-case collector run: ${ms} ms`);
    expect(diagnose(out).status).not.toBe('ok');
    expect(readFileSync(SCRIPT, 'utf8')).toContain('BUDGET="${TSG_BUDGET:-9}"');
  }, 60000);
});
