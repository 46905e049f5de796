/**
 * The Linux remediation script against real chronyd.
 *
 * Each scenario runs in a private network namespace (`unshare -n`) whose loopback carries
 * 169.254.169.123: a server chronyd answers there (or nothing does, for the rollback cases), a
 * client chronyd runs with a temp config, and the script runs against that client with its paths
 * and commands pointed at the temp dir. Nothing leaves the namespace. Every daemon is stopped by
 * PID, in the scenario's own trap and again in afterAll.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { DETAILS_OUTPUT_LIMIT } from '../../lambda/aws/run-command-invocation';
import { guestScriptPath } from '../../lambda/guest/scripts';

const SCRIPT = guestScriptPath('remediate-linux.sh');
const FINAL = /^TSG-REMEDIATE v1 result=(\S+) daemon=(\S+) action=(\S*) reason=(\S*)$/;
const dirs: string[] = [];

interface Scenario {
  /** The client's main config, `$D` replaced by the scenario dir. */
  readonly clientConf: string;
  /** Serve 169.254.169.123 from a local chronyd. */
  readonly serve: boolean;
  /** Command prefix for the server chronyd (e.g. faketime, for a server whose time is off). */
  readonly serverPrefix?: string;
  /** An IPv6-only namespace: the endpoint is fd00:ec2::123 and there is no IPv4 address at all. */
  readonly ipv6Only?: boolean;
  /** Run a harmless process named `ntpd` that the service shim reports as active. */
  readonly fakeNtpd?: boolean;
  /** Shell steps run inside the namespace once the client is up (helpers: rem, snap, alive). */
  readonly steps: string;
  /** Extra environment for the script. */
  readonly env?: Record<string, string>;
}

interface Run {
  readonly dir: string;
  readonly conf: string;
  file(name: string): string;
  out(step: string): string;
  rc(step: string): number;
  final(step: string): { result: string; daemon: string; action: string; reason: string };
}

function pidAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/^\d+ \(.*\) Z/.test(stat);
  } catch {
    return false;
  }
}

/** Stops what a scenario may have left: only PIDs it recorded, and only if they are ours. */
function stopLeftovers(dir: string): void {
  for (const name of ['client.pid', 'server.pid', 'ntpd.pid']) {
    const p = join(dir, name);
    if (!existsSync(p)) continue;
    const pid = Number(readFileSync(p, 'utf8').trim());
    if (!Number.isInteger(pid) || pid <= 1 || !pidAlive(pid)) continue;
    const comm = readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
    if (comm === 'chronyd' || comm === 'ntpd') process.kill(pid, 'SIGTERM');
  }
}

function scenario(s: Scenario): Run {
  const dir = mkdtempSync(join(tmpdir(), 'tsg-h2-'));
  dirs.push(dir);
  const conf = join(dir, 'etc/chrony/chrony.conf');
  mkdirSync(join(dir, 'etc/chrony/sources.d'), { recursive: true });
  mkdirSync(join(dir, 'csock'), { mode: 0o700 });
  chmodSync(join(dir, 'csock'), 0o700);
  writeFileSync(conf, s.clientConf.replaceAll('$D', dir));
  writeFileSync(
    join(dir, 'server.conf'),
    [
      s.ipv6Only ? 'bindaddress fd00:ec2::123' : 'bindaddress 169.254.169.123',
      'port 123',
      'allow all',
      'local stratum 3',
      'cmdport 0',
      `pidfile ${dir}/server.pid`,
      `driftfile ${dir}/server.drift`,
      '',
    ].join('\n'),
  );
  // What systemctl restart does, for a chronyd outside systemd: stop this PID, start the same config.
  writeFileSync(
    join(dir, 'restart.sh'),
    `p=$(cat ${dir}/client.pid 2>/dev/null)
if [ -n "$p" ]; then kill "$p"; i=0; while kill -0 "$p" 2>/dev/null && [ $i -lt 100 ]; do sleep 0.05; i=$((i+1)); done; fi
echo restart >> ${dir}/restarts.log
exec chronyd -x -u root -f ${conf}
`,
  );
  // The service manager shim: is-active/stop/disable for the client chronyd and the fake ntpd.
  writeFileSync(
    join(dir, 'svc.sh'),
    `alive() { [ -f "$1" ] && p=$(cat "$1") && kill -0 "$p" 2>/dev/null && ! grep -q '^State:.*Z' /proc/"$p"/status; }
echo "$1 $2" >> ${dir}/svc.log
case "$1 $2" in
  "is-active chronyd") alive ${dir}/client.pid ;;
  "is-active ntpd") alive ${dir}/ntpd.pid ;;
  "stop ntpd") kill "$(cat ${dir}/ntpd.pid)" ;;
  "disable ntpd" | "enable ntpd") : ;;
  "start ntpd") ${dir}/ntpd 120 >/dev/null 2>&1 & echo $! > ${dir}/ntpd.pid ;;
  *) exit 3 ;;
esac
`,
  );
  const env = {
    TSG_ROOT: dir,
    TSG_CHRONY_CONF: conf,
    TSG_CHRONYC: `chronyc -h ${dir}/csock/chronyd.sock`,
    TSG_RESTART_CHRONY: `sh ${dir}/restart.sh`,
    TSG_SERVICE_CMD: `sh ${dir}/svc.sh`,
    TSG_POLL_SECONDS: '0.2',
    ...s.env,
  };
  const exports = Object.entries(env)
    .map(([k, v]) => `export ${k}='${v}'`)
    .join('\n');
  writeFileSync(
    join(dir, 'run.sh'),
    `D=${dir}
stop() {
  for f in $D/client.pid $D/server.pid $D/ntpd.pid; do [ -f "$f" ] && kill "$(cat "$f")" 2>/dev/null; done
  sleep 0.2
}
trap stop EXIT
ip link set lo up || exit 90
${s.ipv6Only ? 'ip -6 addr add fd00:ec2::123/128 dev lo nodad || exit 91' : 'ip addr add 169.254.169.123/32 dev lo || exit 91'}
${s.serve ? `${s.serverPrefix ?? ''} chronyd -x -u root -f $D/server.conf || exit 92` : ''}
chronyd -x -u root -f ${conf} || exit 93
${s.fakeNtpd ? `cp "$(command -v sleep)" $D/ntpd && $D/ntpd 120 & echo $! > $D/ntpd.pid` : ''}
i=0; while [ ! -S $D/csock/chronyd.sock ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i+1)); done
${exports}
rem() { n=$1; shift; sh ${SCRIPT} "$@" > $D/$n.out 2> $D/$n.err; echo $? > $D/$n.rc; }
snap() { chronyc -h $D/csock/chronyd.sock -n -c sources > $D/$1.sources 2>&1; }
alive() { if [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null && ! grep -q '^State:.*Z' /proc/"$(cat "$1")"/status; then echo yes; else echo no; fi; }
${s.steps}
`,
  );
  const r = spawnSync('unshare', ['-n', 'sh', join(dir, 'run.sh')], { encoding: 'utf8', timeout: 60_000 });
  stopLeftovers(dir);
  if (r.status !== 0) throw new Error(`scenario driver failed (${r.status}): ${r.stderr}`);
  const file = (name: string): string => readFileSync(join(dir, name), 'utf8');
  return {
    dir,
    conf,
    file,
    out: (step) => file(`${step}.out`),
    rc: (step) => Number(file(`${step}.rc`).trim()),
    final: (step) => {
      const text = file(`${step}.out`);
      // SSM keeps 2,500 characters of stdout; the final line must be inside them.
      expect(text.length).toBeLessThanOrEqual(DETAILS_OUTPUT_LIMIT);
      const lines = text.trimEnd().split('\n');
      const m = FINAL.exec(lines[lines.length - 1] ?? '');
      if (!m) throw new Error(`no final line in ${step}:\n${file(`${step}.out`)}\n${file(`${step}.err`)}`);
      return { result: m[1]!, daemon: m[2]!, action: m[3]!, reason: m[4]! };
    },
  };
}

/** Runs the script on the host network with a shim that reports no daemon at all. */
function hostRun(args: string[], env: Record<string, string> = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'tsg-h2-host-'));
  dirs.push(dir);
  writeFileSync(join(dir, 'svc.sh'), 'exit 3\n');
  const r = spawnSync('sh', [SCRIPT, ...args], {
    encoding: 'utf8',
    timeout: 20_000,
    env: { PATH: process.env.PATH, TSG_ROOT: dir, TSG_SERVICE_CMD: `sh ${dir}/svc.sh`, ...env },
  });
  const lines = r.stdout.trimEnd().split('\n');
  return { dir, status: r.status, stdout: r.stdout, last: lines[lines.length - 1] ?? '' };
}

const backups = (dir: string): string[] =>
  readdirSync(join(dir, 'etc/chrony')).filter((f) => f.includes('.tsg-backup.'));

const CLIENT_TAIL = `port 0
cmdport 0
bindcmdaddress $D/csock/chronyd.sock
pidfile $D/client.pid
driftfile $D/client.drift
`;
const FAST = 'prefer iburst minpoll -2 maxpoll 0';

afterAll(() => {
  for (const d of dirs) {
    stopLeftovers(d);
    rmSync(d, { recursive: true, force: true });
  }
});

describe('remediate-linux.sh on real chronyd', () => {
  it('adds the AWS line ahead of existing servers, gets it selected, and a second run changes nothing', () => {
    const original = `# test client\nserver 192.0.2.10 iburst\npool 192.0.2.20 iburst\nleapsectz right/UTC\n${CLIENT_TAIL}`;
    const run = scenario({
      clientConf: original,
      serve: true,
      steps: `rem dry --dry-run true; cp ${'$D'}/etc/chrony/chrony.conf $D/after-dry.conf
rem first; snap first; cp $D/etc/chrony/chrony.conf $D/after-first.conf
rem second; cp $D/etc/chrony/chrony.conf $D/after-second.conf`,
    });
    const orig = original.replaceAll('$D', run.dir);

    expect(run.final('dry')).toEqual({ result: 'would-change', daemon: 'chrony', action: 'add-source-main-config', reason: 'dry-run' });
    expect(run.rc('dry')).toBe(0);
    expect(run.file('after-dry.conf')).toBe(orig);

    expect(run.final('first')).toMatchObject({ result: 'changed', daemon: 'chrony', action: 'add-source-main-config' });
    expect(run.rc('first')).toBe(0);
    expect(run.file('first.sources')).toMatch(/^\^,\*,169\.254\.169\.123,/m);
    const lines = run.file('after-first.conf').split('\n');
    const amazon = lines.indexOf('server 169.254.169.123 prefer iburst minpoll 4 maxpoll 4');
    expect(amazon).toBeGreaterThan(-1);
    // Sources that do not smear and the leap file go with the switch to the leap-smeared source.
    expect(amazon).toBeLessThan(lines.indexOf('#server 192.0.2.10 iburst'));
    expect(amazon).toBeLessThan(lines.indexOf('#pool 192.0.2.20 iburst'));
    expect(lines).toContain('#leapsectz right/UTC');
    expect(lines.filter((l) => /^(server|pool|leapsectz) /.test(l))).toEqual(['server 169.254.169.123 prefer iburst minpoll 4 maxpoll 4']);
    expect(run.out('first')).toContain('plan: comment out 3 leap file or unsmeared source line(s)');
    const [backup] = backups(run.dir);
    expect(readFileSync(join(run.dir, 'etc/chrony', backup!), 'utf8')).toBe(orig);

    expect(run.final('second')).toEqual({ result: 'already-compliant', daemon: 'chrony', action: 'none', reason: 'amazon-source-selected' });
    expect(run.rc('second')).toBe(0);
    expect(run.file('after-second.conf')).toBe(run.file('after-first.conf'));
    expect(backups(run.dir)).toHaveLength(1);
  }, 60_000);

  it('removes a smeared/unsmeared mix from a host already on Amazon only with --fix-mixed-sources, verified (real chronyd)', () => {
    const original = `server 169.254.169.123 ${FAST}\npool 192.0.2.20 iburst\nleapsectz right/UTC\n${CLIENT_TAIL}`;
    const run = scenario({
      clientConf: original,
      serve: true,
      steps: `i=0; while [ $i -lt 100 ] && ! chronyc -h $D/csock/chronyd.sock -n -c sources 2>/dev/null | grep -q '^^,[*],169.254.169.123,'; do sleep 0.2; i=$((i+1)); done
rem off; rem dry --dry-run true --fix-mixed-sources true
rem on --fix-mixed-sources true; snap on; cp $D/etc/chrony/chrony.conf $D/after-on.conf
rem again --fix-mixed-sources true`,
    });
    const orig = original.replaceAll('$D', run.dir);
    expect(run.final('off')).toEqual({ result: 'already-compliant', daemon: 'chrony', action: 'none', reason: 'amazon-source-selected' });
    expect(run.final('dry')).toEqual({ result: 'would-change', daemon: 'chrony', action: 'remove-mixed-sources', reason: 'dry-run' });
    expect(run.final('on')).toEqual({ result: 'changed', daemon: 'chrony', action: 'remove-mixed-sources', reason: '2-lines' });
    const lines = run.file('after-on.conf').split('\n');
    expect(lines).toEqual(expect.arrayContaining([`server 169.254.169.123 ${FAST}`, '#pool 192.0.2.20 iburst', '#leapsectz right/UTC']));
    expect(run.file('on.sources')).toMatch(/^\^,\*,169\.254\.169\.123,/m);
    const [backup] = backups(run.dir);
    expect(readFileSync(join(run.dir, 'etc/chrony', backup!), 'utf8')).toBe(orig);
    expect(run.final('again')).toEqual({ result: 'already-compliant', daemon: 'chrony', action: 'none', reason: 'amazon-source-selected' });
  }, 60_000);

  it('rolls the mix removal back when the Amazon source is not selected after the restart', () => {
    // Nothing serves 169.254.169.123 after the change: a stand-in restart points chronyd at nothing.
    const original = `server 169.254.169.123 ${FAST}\nserver 192.0.2.10 iburst\n${CLIENT_TAIL}`;
    const run = scenario({
      clientConf: original,
      serve: true,
      env: { TSG_RESTART_CHRONY: 'kill $(cat $TSG_ROOT/server.pid); sh $TSG_ROOT/restart.sh' },
      steps: `i=0; while [ $i -lt 100 ] && ! chronyc -h $D/csock/chronyd.sock -n -c sources 2>/dev/null | grep -q '^^,[*],169.254.169.123,'; do sleep 0.2; i=$((i+1)); done
rem on --fix-mixed-sources true --verify-seconds 2`,
    });
    expect(run.final('on')).toEqual({ result: 'rolled-back', daemon: 'chrony', action: 'remove-mixed-sources', reason: 'not-selected-within-2s' });
    expect(readFileSync(run.conf, 'utf8')).toBe(original.replaceAll('$D', run.dir));
  }, 60_000);

  it('uses a drop-in in a persistent sourcedir and reloads sources without a restart', () => {
    // No source in the main config: nothing there to comment out, so the main config is not rewritten.
    const original = `sourcedir /run/tsg-h2-not-here\nsourcedir $D/etc/chrony/sources.d\n${CLIENT_TAIL}`;
    const run = scenario({
      clientConf: original,
      serve: true,
      env: { TSG_SERVER_OPTIONS: FAST },
      steps: `(export TSG_SERVER_OPTIONS='prefer nonsense'; rem invalid)
cat $D/client.pid > $D/pid.before; rem first; snap first; cat $D/client.pid > $D/pid.after; rem second`,
    });
    // A drop-in chronyd -p rejects is never written.
    expect(run.final('invalid')).toEqual({ result: 'failed', daemon: 'chrony', action: 'validate', reason: 'drop-in-invalid' });
    expect(run.out('invalid')).toMatch(/validation failed/);

    expect(run.final('first')).toMatchObject({ result: 'changed', action: 'add-source-drop-in' });
    expect(run.file('etc/chrony/sources.d/aws-time-sync.sources')).toBe(
      `# Amazon Time Sync Service (added by timesync-guard)\nserver 169.254.169.123 ${FAST}\n`,
    );
    expect(readFileSync(run.conf, 'utf8')).toBe(original.replaceAll('$D', run.dir));
    expect(run.file('pid.after')).toBe(run.file('pid.before'));
    expect(existsSync(join(run.dir, 'restarts.log'))).toBe(false);
    expect(run.file('first.sources')).toMatch(/^\^,\*,169\.254\.169\.123,/m);
    expect(run.final('second').result).toBe('already-compliant');
  }, 60_000);

  it('never applies a config that fails validation and leaves the daemon running', () => {
    const run = scenario({
      clientConf: `server 192.0.2.10 iburst\n${CLIENT_TAIL}`,
      serve: true,
      steps: `rem v6 --dry-run true --endpoint ipv6 --use-phc true
echo 'bogusdirective 1' >> $D/etc/chrony/chrony.conf; cp $D/etc/chrony/chrony.conf $D/before.conf
cat $D/client.pid > $D/pid.before; rem bad; cat $D/client.pid > $D/pid.after; alive $D/client.pid > $D/alive`,
      env: { TSG_PTP_DEVICE: '/dev/null' },
    });
    // The dry run shows the IPv6 endpoint and the PHC refclock, validated by chronyd -p.
    expect(run.final('v6')).toMatchObject({ result: 'would-change' });
    expect(run.out('v6')).toContain('line: server fd00:ec2::123 prefer iburst minpoll 4 maxpoll 4');
    expect(run.out('v6')).toContain('line: refclock PHC /dev/null poll 0 delay 0.000010 prefer');

    expect(run.final('bad')).toEqual({ result: 'failed', daemon: 'chrony', action: 'validate', reason: 'main-config-invalid' });
    expect(run.rc('bad')).not.toBe(0);
    expect(run.out('bad')).toMatch(/validation failed .*Invalid directive/);
    expect(readFileSync(run.conf, 'utf8')).toBe(run.file('before.conf'));
    expect(backups(run.dir)).toEqual([]);
    expect(run.file('pid.after')).toBe(run.file('pid.before'));
    expect(run.file('alive').trim()).toBe('yes');
  }, 60_000);

  it('restores the backup and restarts chronyd when no Amazon source is selected in time', () => {
    const original = `server 192.0.2.10 iburst\n${CLIENT_TAIL}`;
    const run = scenario({
      clientConf: original,
      serve: false,
      fakeNtpd: true,
      env: { TSG_SERVER_OPTIONS: FAST },
      steps: `cat $D/client.pid > $D/pid.before; rem first --verify-seconds 2; cat $D/client.pid > $D/pid.after
alive $D/client.pid > $D/alive; alive $D/ntpd.pid > $D/ntpd.alive`,
    });
    expect(run.final('first')).toEqual({
      result: 'rolled-back',
      daemon: 'chrony',
      action: 'add-source-main-config',
      reason: 'not-selected-within-2s',
    });
    expect(run.rc('first')).toBe(2);
    const [backup] = backups(run.dir);
    expect(readFileSync(run.conf, 'utf8')).toBe(readFileSync(join(run.dir, 'etc/chrony', backup!), 'utf8'));
    expect(readFileSync(run.conf, 'utf8')).toBe(original.replaceAll('$D', run.dir));
    // Restarted twice (apply, then rollback), and running again on the restored config.
    expect(run.file('restarts.log')).toBe('restart\nrestart\n');
    expect(run.file('pid.after')).not.toBe(run.file('pid.before'));
    expect(run.file('alive').trim()).toBe('yes');
    // The other daemon is left alone when chrony is not verified.
    expect(run.file('ntpd.alive').trim()).toBe('yes');
  }, 60_000);

  it('removes its drop-in and reloads when the drop-in source is not selected in time', () => {
    const original = `sourcedir $D/etc/chrony/sources.d\nserver 192.0.2.10 iburst\n${CLIENT_TAIL}`;
    const run = scenario({
      clientConf: original,
      serve: false,
      env: { TSG_SERVER_OPTIONS: FAST },
      steps: `rem first --verify-seconds 2; snap after; alive $D/client.pid > $D/alive`,
    });
    expect(run.final('first')).toMatchObject({ result: 'rolled-back', action: 'add-source-drop-in' });
    expect(existsSync(join(run.dir, 'etc/chrony/sources.d/aws-time-sync.sources'))).toBe(false);
    expect(readFileSync(run.conf, 'utf8')).toBe(original.replaceAll('$D', run.dir));
    // Reloaded: the running daemon no longer has the Amazon source.
    expect(run.file('after.sources')).not.toContain('169.254.169.123');
    expect(run.file('alive').trim()).toBe('yes');
  }, 60_000);

  it('keeps chrony and stops and disables a second daemon once chrony is verified', () => {
    const run = scenario({
      clientConf: `server 192.0.2.10 iburst\n${CLIENT_TAIL}`,
      serve: true,
      fakeNtpd: true,
      env: { TSG_SERVER_OPTIONS: FAST },
      steps: `rem first; sleep 0.2; alive $D/ntpd.pid > $D/ntpd.alive; rem second`,
    });
    expect(run.out('first')).toContain('active daemons: chrony=chronyd ntp=ntpd');
    expect(run.final('first')).toEqual({ result: 'changed', daemon: 'chrony', action: 'add-source-main-config', reason: 'stopped-ntpd' });
    expect(run.file('ntpd.alive').trim()).toBe('no');
    const svcLog = run.file('svc.log');
    expect(svcLog).toContain('stop ntpd\n');
    expect(svcLog).toContain('disable ntpd\n');
    expect(svcLog.indexOf('stop ntpd')).toBeLessThan(svcLog.indexOf('disable ntpd'));
    expect(run.final('second')).toMatchObject({ result: 'already-compliant', reason: 'amazon-source-selected' });
  }, 60_000);
});

describe('remediate-linux.sh on an IPv6-only host', () => {
  it('picks fd00:ec2::123 on its own and gets it selected', () => {
    const run = scenario({
      clientConf: `server 192.0.2.10 iburst\n${CLIENT_TAIL}`,
      serve: true,
      ipv6Only: true,
      env: { TSG_SERVER_OPTIONS: FAST },
      steps: `rem first --endpoint auto; snap first; rem second`,
    });
    expect(run.out('first')).toContain('Amazon endpoint: fd00:ec2::123');
    expect(run.final('first')).toMatchObject({ result: 'changed', action: 'add-source-main-config' });
    expect(readFileSync(run.conf, 'utf8')).toContain(`server fd00:ec2::123 ${FAST}\n`);
    expect(readFileSync(run.conf, 'utf8')).not.toContain('169.254.169.123');
    expect(run.file('first.sources')).toMatch(/^\^,\*,fd00:ec2::123,/m);
    expect(run.final('second').result).toBe('already-compliant');
  }, 60_000);
});

describe('remediate-linux.sh stepping a large offset', () => {
  it('asks chronyd to step when the verified source is far off', () => {
    const run = scenario({
      clientConf: `server 192.0.2.10 iburst\n${CLIENT_TAIL}`,
      serve: true,
      serverPrefix: "faketime -f '+600s'",
      env: { TSG_SERVER_OPTIONS: FAST },
      steps: `rem step --step true`,
    });
    const offset = Number(/makestep refused \(offset (-?[\d.]+)s\)/.exec(run.out('step'))?.[1]);
    expect(Math.abs(Math.abs(offset) - 600)).toBeLessThan(1);
    // chronyd -x (tests never touch the host clock) refuses the step; the script says so.
    expect(run.final('step')).toEqual({ result: 'changed', daemon: 'chrony', action: 'add-source-main-config', reason: 'step-refused' });
  }, 60_000);

  it('does not step a clock that is already close', () => {
    const run = scenario({
      clientConf: `server 192.0.2.10 iburst\n${CLIENT_TAIL}`,
      serve: true,
      env: { TSG_SERVER_OPTIONS: FAST },
      steps: `rem step --step true`,
    });
    expect(run.out('step')).toMatch(/within 1\.0s: no step/);
    expect(run.final('step')).toMatchObject({ result: 'changed', reason: '' });
  }, 60_000);
});

describe('remediate-linux.sh without a daemon to talk to', () => {
  it.each([
    [['--endpoint', 'carrier-pigeon'], 'bad-value-for-endpoint'],
    [['--dry-run', 'maybe'], 'bad-value-for-dry-run'],
    [['--verify-seconds', '-5'], 'bad-value-for-verify-seconds'],
    [['--verify-seconds', '99999'], 'bad-value-for-verify-seconds'],
    [['--colour', 'blue'], 'unknown-option---colour'],
    [['--step'], 'missing-value-for---step'],
    [['stray'], 'unexpected-argument'],
  ])('rejects %j with a failed result and a reason', (args, reason) => {
    const r = hostRun(args);
    expect(r.last).toBe(`TSG-REMEDIATE v1 result=failed daemon=unknown action=parse-options reason=${reason}`);
    expect(r.status).toBe(1);
  });

  it('reports skipped when no daemon runs and installing chrony is not allowed', () => {
    const r = hostRun(['--dry-run', 'false']);
    expect(r.last).toBe('TSG-REMEDIATE v1 result=skipped daemon=none action=none reason=no-time-daemon');
    expect(r.status).toBe(0);
  });

  it('plans a chrony install in dry run when allowed, installing nothing', () => {
    const r = hostRun(['--dry-run', 'true', '--install-chrony', 'true'], { TSG_CHRONYD: 'tsg-no-such-chronyd' });
    expect(r.last).toBe('TSG-REMEDIATE v1 result=would-change daemon=none action=install-chrony reason=dry-run');
  });

  it('leaves Bottlerocket to its settings API', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tsg-h2-br-'));
    dirs.push(dir);
    mkdirSync(join(dir, 'etc'));
    writeFileSync(join(dir, 'etc/os-release'), 'NAME=Bottlerocket\nID=bottlerocket\n');
    const r = hostRun([], { TSG_ROOT: dir });
    expect(r.last).toBe('TSG-REMEDIATE v1 result=skipped daemon=unknown action=report-only reason=bottlerocket-settings-api');
  });

  it('accepts empty option values from a document as the defaults', () => {
    const r = hostRun(['--dry-run', '', '--endpoint', '', '--verify-seconds', '']);
    expect(r.stdout).toContain('dry-run=false endpoint=auto');
    expect(r.last).toContain('result=skipped');
  });
});

/**
 * systemd-timesyncd cannot run here (no systemd as PID 1), so these drive the script's timesyncd
 * branch through a timedatectl shim and a service shim whose "restart" reads the drop-in the
 * script wrote: they prove the files written, the verification logic and the rollback, not the
 * daemon itself.
 */
describe('remediate-linux.sh systemd-timesyncd branch (shims: no systemd on this machine)', () => {
  function timesyncd(reachable: boolean) {
    const dir = mkdtempSync(join(tmpdir(), 'tsg-h2-tsd-'));
    dirs.push(dir);
    const dropin = join(dir, 'etc/systemd/timesyncd.conf.d/aws-time-sync.conf');
    writeFileSync(join(dir, 'state'), '192.0.2.1 no\n');
    writeFileSync(
      join(dir, 'timedatectl.sh'),
      `read addr sync < ${dir}/state
case "$*" in
  "show -p NTPSynchronized --value") echo "$sync" ;;
  "show-timesync -p ServerAddress --value") echo "$addr" ;;
  *) exit 1 ;;
esac
`,
    );
    // "restart": timesyncd reads its config; the Amazon server answers only when reachable.
    writeFileSync(
      join(dir, 'svc.sh'),
      `echo "$1 $2" >> ${dir}/svc.log
case "$1 $2" in
  "is-active systemd-timesyncd") exit 0 ;;
  "restart systemd-timesyncd")
    if grep -qx 'NTP=169.254.169.123' ${dropin} 2>/dev/null && ${reachable ? 'true' : 'false'}; then echo '169.254.169.123 yes' > ${dir}/state
    else echo '192.0.2.1 no' > ${dir}/state; fi ;;
  *) exit 3 ;;
esac
`,
    );
    const run = (...args: string[]) => {
      const r = spawnSync('sh', [SCRIPT, ...args], {
        encoding: 'utf8',
        timeout: 20_000,
        env: {
          PATH: process.env.PATH,
          TSG_ROOT: dir,
          TSG_SERVICE_CMD: `sh ${dir}/svc.sh`,
          TSG_TIMEDATECTL: `sh ${dir}/timedatectl.sh`,
          TSG_POLL_SECONDS: '0.2',
        },
      });
      return { status: r.status, stdout: r.stdout, last: r.stdout.trimEnd().split('\n').pop() ?? '' };
    };
    return { dir, dropin, run };
  }

  it('writes a drop-in that resets NTP= to the Amazon endpoint, restarts, verifies, then is compliant', () => {
    const t = timesyncd(true);
    const dry = t.run('--dry-run', 'true');
    expect(dry.last).toBe('TSG-REMEDIATE v1 result=would-change daemon=systemd-timesyncd action=add-source-drop-in reason=dry-run');
    expect(existsSync(t.dropin)).toBe(false);

    const first = t.run();
    expect(first.last).toBe('TSG-REMEDIATE v1 result=changed daemon=systemd-timesyncd action=add-source-drop-in reason=');
    expect(readFileSync(t.dropin, 'utf8')).toBe('# Amazon Time Sync Service (added by timesync-guard)\n[Time]\nNTP=\nNTP=169.254.169.123\n');

    const second = t.run();
    expect(second.last).toBe('TSG-REMEDIATE v1 result=already-compliant daemon=systemd-timesyncd action=none reason=amazon-source-synchronized');
    expect(readFileSync(join(t.dir, 'svc.log'), 'utf8').match(/^restart /gm)).toHaveLength(1);
  });

  it('removes its drop-in and restarts again when timesyncd does not synchronise in time', () => {
    const t = timesyncd(false);
    const r = t.run('--verify-seconds', '1');
    expect(r.last).toBe('TSG-REMEDIATE v1 result=rolled-back daemon=systemd-timesyncd action=add-source-drop-in reason=not-synchronized-within-1s');
    expect(r.status).toBe(2);
    expect(existsSync(t.dropin)).toBe(false);
    expect(readFileSync(join(t.dir, 'svc.log'), 'utf8').match(/^restart /gm)).toHaveLength(2);
  });
});

/** ntpd cannot be installed beside chrony on Debian (they conflict): ntpq and the service are shims. */
describe('remediate-linux.sh ntpd branch (shims: ntpd conflicts with chrony on this machine)', () => {
  function ntp(reachable: boolean) {
    const dir = mkdtempSync(join(tmpdir(), 'tsg-h2-ntp-'));
    dirs.push(dir);
    mkdirSync(join(dir, 'etc'));
    const conf = join(dir, 'etc/ntp.conf');
    const original = 'driftfile /var/lib/ntp/ntp.drift\nrestrict default nomodify\npool 0.debian.pool.ntp.org iburst\nserver 192.0.2.5 iburst\n';
    writeFileSync(conf, original);
    writeFileSync(join(dir, 'state'), 'other\n');
    writeFileSync(
      join(dir, 'ntpq.sh'),
      `[ "$*" = "-pn" ] || exit 1
echo '     remote           refid      st t when poll reach   delay   offset  jitter'
echo '=============================================================================='
if grep -q selected ${dir}/state; then echo '*169.254.169.123 .GPS.  1 u  3 16 377 0.2 0.01 0.01'; echo '+192.0.2.5 .GPS. 2 u 3 64 377 1 0.1 0.1'
else echo '*192.0.2.5 .GPS. 2 u 3 64 377 1 0.1 0.1'; fi
`,
    );
    writeFileSync(
      join(dir, 'svc.sh'),
      `echo "$1 $2" >> ${dir}/svc.log
case "$1 $2" in
  "is-active ntpd") exit 0 ;;
  "is-active systemd-timesyncd") [ ! -f ${dir}/timesyncd.stopped ] ;;
  "stop systemd-timesyncd") touch ${dir}/timesyncd.stopped ;;
  "disable systemd-timesyncd") : ;;
  "restart ntpd")
    if grep -q '^server 169.254.169.123 ' ${conf} && ${reachable ? 'true' : 'false'}; then echo selected > ${dir}/state; else echo other > ${dir}/state; fi ;;
  *) exit 3 ;;
esac
`,
    );
    const run = (...args: string[]) => {
      const r = spawnSync('sh', [SCRIPT, ...args], {
        encoding: 'utf8',
        timeout: 20_000,
        env: { PATH: process.env.PATH, TSG_ROOT: dir, TSG_SERVICE_CMD: `sh ${dir}/svc.sh`, TSG_NTPQ: `sh ${dir}/ntpq.sh`, TSG_POLL_SECONDS: '0.2' },
      });
      return { status: r.status, stdout: r.stdout, last: r.stdout.trimEnd().split('\n').pop() ?? '' };
    };
    return { dir, conf, original, run };
  }

  it('adds the server line ahead of pool/server lines, verifies with ntpq, then stops timesyncd', () => {
    const t = ntp(true);
    const first = t.run();
    expect(first.last).toBe('TSG-REMEDIATE v1 result=changed daemon=ntpd action=add-source-main-config reason=stopped-systemd-timesyncd');
    const lines = readFileSync(t.conf, 'utf8').split('\n');
    const amazon = lines.indexOf('server 169.254.169.123 prefer iburst minpoll 4 maxpoll 4');
    expect(amazon).toBeGreaterThan(-1);
    expect(amazon).toBeLessThan(lines.indexOf('pool 0.debian.pool.ntp.org iburst'));
    expect(existsSync(join(t.dir, 'timesyncd.stopped'))).toBe(true);
    expect(t.run().last).toBe('TSG-REMEDIATE v1 result=already-compliant daemon=ntpd action=none reason=amazon-source-selected');
  });

  it('restores ntp.conf byte for byte when ntpd does not select the Amazon server in time', () => {
    const t = ntp(false);
    const r = t.run('--verify-seconds', '1');
    expect(r.last).toBe('TSG-REMEDIATE v1 result=rolled-back daemon=ntpd action=add-source-main-config reason=not-selected-within-1s');
    expect(r.status).toBe(2);
    expect(readFileSync(t.conf, 'utf8')).toBe(t.original);
    expect(existsSync(join(t.dir, 'timesyncd.stopped'))).toBe(false);
  });
});

/**
 * TERM (HUP, INT) at each named step of a real run: TSG_PAUSE_AT stops the script there, the driver
 * signals it, and then every file chronyd reads is byte-identical to before, chronyd runs on the old
 * config, a stopped second daemon runs again, and the result says what happened.
 */
describe('remediate-linux.sh interrupted at each step (real chronyd)', () => {
  const INTERRUPT = `tree() { (cd $D/etc && find . -type f | sort | while read -r f; do printf '%s %s\n' "$f" "$(cksum < "$f")"; done) > $D/$1.tree; }
int() { n=$1 sig=$2; shift 2; rm -f $D/paused
  # A background job of a non-interactive shell starts with SIGINT ignored: give it the default back.
  TSG_PAUSE_AT=$n TSG_PAUSE_FILE=$D/paused env --default-signal=INT sh ${SCRIPT} "$@" > $D/$n.out 2> $D/$n.err & p=$!
  i=0; while [ ! -e $D/paused ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i+1)); done
  [ -e $D/paused ] && echo yes > $D/$n.reached
  kill -$sig $p; wait $p; echo $? > $D/$n.rc
  tree $n; snap $n; alive $D/client.pid > $D/$n.alive; alive $D/ntpd.pid > $D/$n.ntpd
}
tree before`;

  /** Files under etc/ with their checksums, backups left out (they are kept, as on a rollback). */
  const configTree = (run: Run, name: string) => run.file(`${name}.tree`).split('\n').filter((l) => l !== '' && !l.includes('.tsg-backup.'));

  function expectRestored(run: Run, step: string, original: string, changed: boolean, signal = 'term') {
    expect(run.file(`${step}.reached`).trim()).toBe('yes');
    expect(run.final(step)).toEqual({
      result: changed ? 'rolled-back' : 'failed',
      daemon: step === 'detect' ? 'unknown' : 'chrony',
      action: step,
      reason: changed ? `interrupted-${signal}` : `interrupted-${signal}-nothing-changed`,
    });
    expect(run.rc(step)).toBe(changed ? 2 : 1);
    expect(run.out(step)).toContain(`interrupted by SIG${signal.toUpperCase()} at step ${step}`);
    expect(configTree(run, step)).toEqual(configTree(run, 'before'));
    expect(readFileSync(run.conf, 'utf8')).toBe(original);
    for (const b of backups(run.dir)) expect(readFileSync(join(run.dir, 'etc/chrony', b), 'utf8')).toBe(original);
    expect(run.file(`${step}.alive`).trim()).toBe('yes');
    const sources = run.file(`${step}.sources`);
    expect(sources).toMatch(/^\^,.,192\.0\.2\.10,/m);
    expect(sources).not.toContain('169.254.169.123');
  }

  it('main config: restores the file, restarts chronyd on it and starts the stopped ntpd again', () => {
    const original = `# test client\nserver 192.0.2.10 iburst\n${CLIENT_TAIL}`;
    const steps = ['detect', 'plan', 'write', 'apply', 'verify', 'step', 'stop-others'];
    const run = scenario({
      clientConf: original,
      serve: true,
      fakeNtpd: true,
      env: { TSG_SERVER_OPTIONS: FAST },
      steps: `${INTERRUPT}\n${steps.map((n) => `int ${n} TERM --step true`).join('\n')}`,
    });
    const orig = original.replaceAll('$D', run.dir);
    for (const n of steps) expectRestored(run, n, orig, !['detect', 'plan'].includes(n));
    // The file was restored before chronyd ever loaded it: no restart for `write`.
    expect(run.out('write')).not.toContain('restarting chrony on the restored config');
    expect(run.out('apply')).toContain('restarting chrony on the restored config');
    expect(run.out('stop-others')).toContain('started ntpd again');
    expect(run.file('stop-others.ntpd').trim()).toBe('yes');
    expect(run.file('svc.log')).toMatch(/stop ntpd\n(.*\n)*start ntpd\n/);
  }, 120_000);

  it('drop-in and main config: removes the new drop-in, restores the main config, on TERM, HUP and INT', () => {
    const original = `sourcedir $D/etc/chrony/sources.d\nleapsectz right/UTC\nserver 192.0.2.10 iburst\n${CLIENT_TAIL}`;
    const steps: [string, string][] = [['write', 'TERM'], ['write-drop-in', 'TERM'], ['apply', 'HUP'], ['verify', 'INT']];
    const run = scenario({
      clientConf: original,
      serve: true,
      env: { TSG_SERVER_OPTIONS: FAST },
      steps: `${INTERRUPT}\n${steps.map(([n, sig]) => `int ${n} ${sig}`).join('\n')}`,
    });
    const orig = original.replaceAll('$D', run.dir);
    for (const [n, sig] of steps) expectRestored(run, n, orig, true, sig.toLowerCase());
    expect(run.out('write-drop-in')).toMatch(/removed: .*aws-time-sync\.sources/);
    expect(existsSync(join(run.dir, 'etc/chrony/sources.d/aws-time-sync.sources'))).toBe(false);
  }, 120_000);
});

/** Package managers are stand-ins that record their calls: nothing is installed on this machine. */
describe('remediate-linux.sh --install-chrony refreshes package metadata first', () => {
  const TOOLS = ['sh', 'cat', 'cp', 'mkdir', 'chmod', 'dirname', 'mktemp', 'date', 'tr', 'cut', 'sed', 'awk', 'grep', 'id', 'rm', 'cmp', 'sleep', 'head'];

  function withManager(manager: string, failRefresh = false) {
    const dir = mkdtempSync(join(tmpdir(), 'tsg-h2-pkg-'));
    dirs.push(dir);
    const bin = join(dir, 'bin');
    mkdirSync(bin);
    for (const t of TOOLS) {
      const where = spawnSync('sh', ['-c', `command -v ${t}`], { encoding: 'utf8' }).stdout.trim();
      symlinkSync(where, join(bin, t));
    }
    const refresh = failRefresh ? `case "$1 $2" in update*|"-y makecache"|"--non-interactive refresh") exit 100 ;; esac\n` : '';
    writeFileSync(join(bin, manager), `#!/bin/sh\necho "${manager} $* DEBIAN_FRONTEND=\${DEBIAN_FRONTEND:-}" >> ${dir}/calls.log\n${refresh}exit 0\n`, { mode: 0o755 });
    const r = hostRun(['--install-chrony', 'true'], { PATH: bin, TSG_CHRONYD: 'tsg-no-such-chronyd', TSG_ROOT: dir });
    return { r, calls: readFileSync(join(dir, 'calls.log'), 'utf8').trim().split('\n') };
  }

  it.each([
    ['apt-get', ['apt-get update DEBIAN_FRONTEND=noninteractive', 'apt-get -y install chrony DEBIAN_FRONTEND=noninteractive']],
    ['dnf', ['dnf -y makecache DEBIAN_FRONTEND=', 'dnf -y install chrony DEBIAN_FRONTEND=']],
    ['yum', ['yum -y makecache DEBIAN_FRONTEND=', 'yum -y install chrony DEBIAN_FRONTEND=']],
    ['zypper', ['zypper --non-interactive refresh DEBIAN_FRONTEND=', 'zypper --non-interactive install chrony DEBIAN_FRONTEND=']],
  ])('%s: refresh, then install', (manager, calls) => {
    const { r, calls: got } = withManager(manager);
    expect(got).toEqual(calls);
    // The stand-in installs nothing, so the service does not start: said, not hidden.
    expect(r.last).toBe('TSG-REMEDIATE v1 result=failed daemon=none action=install-chrony reason=chrony-did-not-start');
  });

  it('a failed refresh is said and the install still tried from the cache', () => {
    const { r, calls } = withManager('apt-get', true);
    expect(calls).toHaveLength(2);
    expect(r.stdout).toContain('tsg: apt-get update failed: installing from the cached index');
  });
});
