/**
 * The real Linux collector against real chronyd daemons, judged by the real diagnose().
 * Ports 11100–11199 on 127.0.0.1; the Amazon endpoint only inside a private network namespace.
 * Every daemon is started here and stopped here, by PID.
 */
import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import { chmodSync, closeSync, existsSync, mkdirSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { diagnose } from '../../lambda/core/diagnosis/diagnose';
import type { Verdict } from '../../lambda/core/types';
import { DETAILS_OUTPUT_LIMIT } from '../../lambda/aws/run-command-invocation';
import { guestScriptPath } from '../../lambda/guest/scripts';
import { planForVerdict } from '../core/verdict-plan';
import { unseal } from './sealed-report';
import { collectInAmazonNetns } from './amazon-netns';
import { nodeReportCodec } from '../../lambda/engine/report-codec';

const SCRIPT = guestScriptPath('collect-linux.sh');
const dir = mkdtempSync(join(tmpdir(), 'tsg-h1-collect-'));
const children: ChildProcess[] = [];
const extraPids: number[] = [];
const FAKETIME_LIB = ['/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1', '/usr/lib/aarch64-linux-gnu/faketime/libfaketime.so.1', '/usr/lib/faketime/libfaketime.so.1'].find((p) => existsSync(p)) ?? 'libfaketime.so.1';

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Starts a chronyd in the foreground (-d) without clock control (-x); returns its control socket (if any). */
function chronyd(name: string, conf: string[], opts: { faketime?: string } = {}): { sock: string; proc: ChildProcess } {
  const sockDir = join(dir, `${name}-sock`);
  mkdirSync(sockDir, { recursive: true });
  chmodSync(sockDir, 0o700);
  const sock = join(sockDir, 'chronyd.sock');
  const file = join(dir, `${name}.conf`);
  writeFileSync(
    file,
    [...conf, `bindcmdaddress ${sock}`, `pidfile ${join(dir, `${name}.pid`)}`, `driftfile ${join(dir, `${name}.drift`)}`, ''].join('\n'),
  );
  const args = ['-x', '-d', '-u', 'root', '-f', file];
  // libfaketime preloaded directly (not the faketime wrapper, which forks): the PID we kill is chronyd itself.
  const env = opts.faketime ? { ...process.env, LD_PRELOAD: FAKETIME_LIB, FAKETIME: opts.faketime, DONT_FAKE_MONOTONIC: '1' } : process.env;
  const log = openSync(join(dir, `${name}.log`), 'a');
  const proc = spawn('chronyd', args, { stdio: ['ignore', 'ignore', log], env });
  closeSync(log);
  children.push(proc);
  return { sock, proc };
}

function stop(proc: ChildProcess): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null || proc.pid === undefined) return Promise.resolve();
  return new Promise((resolve) => {
    const t = setTimeout(() => proc.kill('SIGKILL'), 5000);
    proc.once('exit', () => {
      clearTimeout(t);
      resolve();
    });
    process.kill(proc.pid!, 'SIGTERM');
  });
}

function chronyc(sock: string, ...args: string[]): string {
  const r = spawnSync('chronyc', ['-h', sock, '-n', '-c', ...args], { encoding: 'utf8', timeout: 5000 });
  return r.stdout ?? '';
}

async function waitFor(what: string, cond: () => boolean, ms = 20000): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (cond()) return;
    await sleep(200);
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** A fake root whose /proc shows the given process names (so the scan sees only our daemons). */
function fakeRoot(name: string, comms: string[]): string {
  const root = join(dir, `root-${name}`);
  mkdirSync(join(root, 'proc'), { recursive: true });
  mkdirSync(join(root, 'etc'), { recursive: true });
  writeFileSync(join(root, 'etc', 'os-release'), 'ID=debian\nVERSION_ID="12"\n');
  comms.forEach((c, i) => {
    const p = join(root, 'proc', String(4000 + i));
    mkdirSync(p, { recursive: true });
    writeFileSync(join(p, 'comm'), `${c}\n`);
    writeFileSync(join(p, 'status'), `Name:\t${c}\nState:\tS (sleeping)\n`);
    writeFileSync(join(p, 'cmdline'), `${c}\0`);
  });
  return root;
}

/** Runs the collector; `out` is the plain report inside the envelope it printed, `printed` the envelope. */
function collect(root: string, chronycCmd: string): { out: string; printed: string; ms: number } {
  const t0 = Date.now();
  const printed = execFileSync('sh', [SCRIPT], {
    encoding: 'utf8',
    timeout: 20000,
    env: { PATH: process.env.PATH, TSG_ROOT: root, TSG_CHRONYC: chronycCmd, TSG_SYSTEMCTL: 'none', TSG_TIMEDATECTL: 'none', TSG_IMDS: 'none' },
  });
  return { out: unseal(printed), printed, ms: Date.now() - t0 };
}

const chronyRoot = () => fakeRoot('chrony', ['chronyd', 'bash']);
let amazonReport = '';
/** The check's status and the nightly plan for one instance with this verdict. */
function planFor(v: Verdict) {
  const { evaluation, plan } = planForVerdict(v);
  return { status: evaluation.status, plan };
}
let loopServer: ReturnType<typeof chronyd>;
let loopClient: ReturnType<typeof chronyd>;
let neverClient: ReturnType<typeof chronyd>;
let skewClient: ReturnType<typeof chronyd>;
let behindClient: ReturnType<typeof chronyd>;

beforeAll(async () => {
  loopServer = chronyd('loop-server', ['port 11101', 'bindaddress 127.0.0.1', 'allow 127.0.0.1', 'local stratum 8', 'cmdport 0']);
  loopClient = chronyd('loop-client', ['server 127.0.0.1 port 11101 iburst minpoll -2 maxpoll 0', 'port 0', 'cmdport 0']);
  // Nothing listens on 11109: this client never gets a sample.
  neverClient = chronyd('never-client', ['server 127.0.0.1 port 11109 iburst minpoll -2 maxpoll 0', 'port 0', 'cmdport 0']);
  chronyd('skew-server', ['port 11106', 'bindaddress 127.0.0.1', 'allow 127.0.0.1', 'local stratum 8', 'cmdport 0'], {
    faketime: '+300s',
  });
  skewClient = chronyd('skew-client', ['server 127.0.0.1 port 11106 iburst minpoll -2 maxpoll 0', 'port 0', 'cmdport 0']);
  chronyd('behind-server', ['port 11107', 'bindaddress 127.0.0.1', 'allow 127.0.0.1', 'local stratum 8', 'cmdport 0'], { faketime: '-300s' });
  behindClient = chronyd('behind-client', ['server 127.0.0.1 port 11107 iburst minpoll -2 maxpoll 0', 'port 0', 'cmdport 0']);
  await waitFor('loopback client to select its source', () => /^\^,\*,127\.0\.0\.1,/m.test(chronyc(loopClient.sock, 'sources')));
  await waitFor('skewed client to select its source', () => /^\^,\*,127\.0\.0\.1,/m.test(chronyc(skewClient.sock, 'sources')));
  await waitFor('behind client to select its source', () => /^\^,\*,127\.0\.0\.1,/m.test(chronyc(behindClient.sock, 'sources')));
}, 45000);

afterAll(async () => {
  await Promise.all(children.map(stop));
  for (const pid of extraPids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* already gone */
    }
  }
  rmSync(dir, { recursive: true, force: true });
});

describe('collect-linux.sh on real chronyd', () => {
  it('reports a clock synchronised to a non-Amazon source as other, at risk', () => {
    const { out, printed, ms } = collect(chronyRoot(), `chronyc -h ${loopClient.sock}`);
    expect(out).toMatch(/^TSG-REPORT v1 linux\n/);
    expect(out).toMatch(/\nTSG-END\n$/);
    expect(printed.length).toBeLessThanOrEqual(DETAILS_OUTPUT_LIMIT);
    expect(ms).toBeLessThan(10000);
    const v = diagnose(out);
    expect(v).toMatchObject({ platform: 'linux', daemon: 'chrony', timeSource: 'other', synchronized: true, status: 'at-risk' });
    expect(v.findings.map((f) => f.code)).toEqual(['not-amazon-time-sync']);
    expect(Math.abs(v.offsetSeconds!)).toBeLessThan(0.01);
    expect(v.clockErrorBoundSeconds).toBeGreaterThan(0);
  });

  it('reports a clock synchronised to 169.254.169.123 as amazon-ipv4, ok (inside a private network namespace)', () => {
    const r = collectInAmazonNetns(join(dir, 'ns'), { root: chronyRoot() }, extraPids);
    expect(r.status).toBe(0);
    amazonReport = unseal(r.stdout);
    const v = diagnose(amazonReport);
    expect(v).toMatchObject({ daemon: 'chrony', timeSource: 'amazon-ipv4', synchronized: true, status: 'ok', findings: [] });
    expect(v['sourceAddress']).toBe('169.254.169.123');
  }, 90000);

  it('a cut of a live report (line boundaries and mid-line) is never judged nor planned', () => {
    const skewed = collect(chronyRoot(), `chronyc -h ${skewClient.sock}`).out;
    // Whole, they are judged: ok, and at risk with a planned fix (so the property can fail).
    expect(planFor(diagnose(amazonReport)).status).toBe('ok');
    expect(planFor(diagnose(skewed)).plan.instances).toHaveLength(1);
    for (const text of [amazonReport, skewed]) {
      const last = text.indexOf('TSG-END') + 'TSG-END'.length - 1;
      const boundaries = [...text.slice(0, last)].flatMap((c, i) => (c === '\n' ? [i + 1] : []));
      fc.assert(
        fc.property(fc.oneof(fc.constantFrom(...boundaries), fc.integer({ min: 1, max: last })), (n) => {
          const v = diagnose(text.slice(0, n));
          expect(v.status).toBe('unknown');
          expect(v.findings.map((f) => f.code)).toEqual(['report-truncated']);
          expect(v['daemonsRunning']).toBeUndefined();
          expect(planFor(v).plan.instances).toEqual([]);
        }),
        { numRuns: 200 },
      );
    }
    // What SSM cuts is the printed envelope: every prefix short of its end marker reads as cut.
    const sealed = collect(chronyRoot(), `chronyc -h ${skewClient.sock}`).printed.trimEnd();
    for (let n = 'TSG-REPORT'.length; n < sealed.length; n++) {
      expect([n, diagnose(sealed.slice(0, n), undefined, nodeReportCodec).findings.map((f) => f.code)]).toEqual([n, ['report-truncated']]);
    }
  });

  it('counts a chronyd in another network or mount namespace as not the host daemon (real chronyd, private PID namespace)', () => {
    const nsd = join(dir, 'nsdaemons');
    const conf = (name: string) => {
      mkdirSync(join(nsd, `${name}-sock`), { recursive: true });
      chmodSync(join(nsd, `${name}-sock`), 0o700);
      writeFileSync(
        join(nsd, `${name}.conf`),
        ['port 0', 'cmdport 0', `bindcmdaddress ${nsd}/${name}-sock/chronyd.sock`, `pidfile ${nsd}/${name}.pid`, `driftfile ${nsd}/${name}.drift`, ''].join('\n'),
      );
      return join(nsd, `${name}.conf`);
    };
    const [otherNet, otherMnt, host] = [conf('other-net'), conf('other-mnt'), conf('host')];
    // --mount-proc: /proc shows only this PID namespace, not the chronyds other tests run meanwhile.
    const script = `
      set -u
      P=
      trap 'kill $P 2>/dev/null; wait' EXIT INT TERM
      waitpid() { i=0; while [ ! -s "$1" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done; }
      col() { TSG_PLAIN=1 TSG_ROOT= TSG_CHRONYC=none TSG_SYSTEMCTL=none TSG_TIMEDATECTL=none TSG_IMDS=none sh ${SCRIPT} | grep -E '^(daemons|detect)='; }
      unshare -n chronyd -x -d -u root -f ${otherNet} 2>/dev/null & P="$P $!"
      unshare -m chronyd -x -d -u root -f ${otherMnt} 2>/dev/null & P="$P $!"
      waitpid ${nsd}/other-net.pid; waitpid ${nsd}/other-mnt.pid
      echo "--- foreign"; ps -o comm= -p "$(echo $P | tr ' ' ',')" | sort | uniq -c; col
      chronyd -x -d -u root -f ${host} 2>/dev/null & P="$P $!"
      waitpid ${nsd}/host.pid
      echo "--- host"; col
    `;
    const r = spawnSync('unshare', ['-mpf', '--mount-proc', 'sh', '-c', script], { encoding: 'utf8', timeout: 30000 });
    expect(r.status).toBe(0);
    const [foreign, hostPart] = r.stdout.split('--- host');
    expect(foreign).toMatch(/^\s*2 chronyd$/m); // both foreign chronyds run and are visible in /proc
    expect(foreign).toMatch(/^detect=proc$/m);
    expect(foreign).toMatch(/^daemons=none$/m);
    expect(hostPart).toMatch(/^daemons=chronyd$/m);
  });

  it('never reports ok for a client whose only source never answered', () => {
    const v = diagnose(collect(chronyRoot(), `chronyc -h ${neverClient.sock}`).out);
    expect(v).toMatchObject({ daemon: 'chrony', timeSource: 'none', synchronized: false, status: 'at-risk' });
    expect(v.findings.map((f) => f.code)).toContain('not-synchronized');
  });

  it('reports the clock as behind (negative offset) when its source is 300 s ahead, despite chronyd -x', () => {
    const v = diagnose(collect(chronyRoot(), `chronyc -h ${skewClient.sock}`).out);
    expect(v.daemon).toBe('chrony');
    expect(v.offsetSeconds).toBeLessThan(-290);
    expect(v.offsetSeconds).toBeGreaterThan(-310);
    expect(v.status).toBe('at-risk');
    expect(v.findings.map((f) => f.code)).toEqual(expect.arrayContaining(['offset-over-threshold', 'clock-error-bound-over-threshold']));
  });

  it('reports the clock as ahead (positive offset) when its source is 300 s behind, and not as free-running', () => {
    const v = diagnose(collect(chronyRoot(), `chronyc -h ${behindClient.sock}`).out);
    expect(v.offsetSeconds).toBeGreaterThan(290);
    expect(v.offsetSeconds).toBeLessThan(310);
    expect(v.synchronized).toBe(true);
    expect(v.findings.map((f) => f.code)).not.toContain('free-running');
  });

  it('reports no daemon when chronyd does not run (chronyc: 506 Cannot talk to daemon)', () => {
    const { out } = collect(fakeRoot('none', ['bash']), 'chronyc -h 127.0.0.1 -p 11199');
    expect(out).toContain('506 Cannot talk to daemon');
    const v = diagnose(out);
    expect(v).toMatchObject({ daemon: 'none', synchronized: false, status: 'at-risk' });
    expect(v.findings.map((f) => f.code)).toEqual(['no-daemon']);
  });

  it('reports unknown when chronyd runs but does not answer', () => {
    const v = diagnose(collect(chronyRoot(), 'chronyc -h 127.0.0.1 -p 11199').out);
    expect(v).toMatchObject({ daemon: 'chrony', status: 'unknown', synchronized: null });
    expect(v.findings.map((f) => f.code)).toEqual(['daemon-not-responding']);
  });

  it('finishes within its budget when chronyc hangs', () => {
    const hang = join(dir, 'hang.sh');
    writeFileSync(hang, '#!/bin/sh\nsleep 30\n');
    chmodSync(hang, 0o755);
    const { out, ms } = collect(chronyRoot(), hang);
    expect(ms).toBeLessThan(10000);
    expect(out).toMatch(/\[chrony-tracking rc=124\]/);
    const v = diagnose(out);
    expect(v.status).toBe('unknown');
    expect(v.findings.map((f) => f.code)).toContain('probe-timed-out');
  });

  it('reports the source lost once the only server dies, although tracking still says Normal', async () => {
    await stop(loopServer.proc);
    await waitFor('the lost source to be unselected', () => !/^\^,\*,/m.test(chronyc(loopClient.sock, 'sources')), 30000);
    const { out } = collect(chronyRoot(), `chronyc -h ${loopClient.sock}`);
    const v = diagnose(out);
    expect(v.status).toBe('at-risk');
    expect(v.synchronized).toBe(false);
    expect(v.findings.map((f) => f.code)).toContain('source-lost');
  }, 40000);
});
