/**
 * The real collector against a real chronyd synchronised to 169.254.169.123, all inside a private
 * network namespace (`unshare -n`, only `lo`): the link-local Amazon endpoint is a local chronyd
 * server there, and nothing the daemons send can leave the machine.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { guestScriptPath } from '../../lambda/guest/scripts';

export interface AmazonNetnsOptions {
  /** The fake root (TSG_ROOT) the collector reads. */
  readonly root: string;
  /** More client directives beside the preferred 169.254.169.123 one. @default none */
  readonly sources?: readonly string[];
  /** The server answers on every local address, not only 169.254.169.123. @default false */
  readonly serveAll?: boolean;
  /** Shell lines run in the namespace before the daemons start (routes). @default none */
  readonly setup?: string;
  /** A shell condition that must also hold before the collector runs; `$SOCK` is chronyc's socket. @default true */
  readonly ready?: string;
  /** TSG_TIMEDATECTL for the collector. @default none */
  readonly timedatectl?: string;
}

/** Runs the collector as described; every daemon's PID goes to `pids` (the caller stops them). */
export function collectInAmazonNetns(ns: string, opts: AmazonNetnsOptions, pids: number[]): { status: number | null; stdout: string } {
  mkdirSync(join(ns, 'csock'), { recursive: true });
  chmodSync(join(ns, 'csock'), 0o700);
  const sock = join(ns, 'csock', 'chronyd.sock');
  const bind = opts.serveAll === true ? [] : ['bindaddress 169.254.169.123'];
  writeFileSync(join(ns, 'server.conf'), ['port 123', ...bind, 'allow all', 'local stratum 3', 'cmdport 0', `pidfile ${ns}/server.pid`, ''].join('\n'));
  writeFileSync(
    join(ns, 'client.conf'),
    [
      'server 169.254.169.123 prefer iburst minpoll -2 maxpoll 0',
      ...(opts.sources ?? []),
      'port 0',
      'cmdport 0',
      `bindcmdaddress ${sock}`,
      `pidfile ${ns}/client.pid`,
      `driftfile ${ns}/client.drift`,
      '',
    ].join('\n'),
  );
  const script = `
    set -u
    SOCK=${sock}
    S= ; C=
    trap 'kill $S $C 2>/dev/null; wait' EXIT INT TERM
    ip link set lo up
    ip addr add 169.254.169.123/32 dev lo
    ${opts.setup ?? ''}
    chronyd -x -d -u root -f ${ns}/server.conf 2>${ns}/server.log & S=$!
    chronyd -x -d -u root -f ${ns}/client.conf 2>${ns}/client.log & C=$!
    echo "$S $C" > ${ns}/pids
    i=0
    # Selected is not yet settled: on a loaded machine the first update after selection can carry
    # a root dispersion near 1 s. Wait (up to 30 s) until the error bound has come down as well.
    while [ $i -lt 150 ]; do
      chronyc -h "$SOCK" -n -c sources 2>/dev/null | grep -q '^^,[*],169.254.169.123,' &&
        chronyc -h "$SOCK" -n -c tracking 2>/dev/null | awk -F, '$1 != "00000000" && $11 / 2 + $12 < 0.1 { ok = 1 } END { exit !ok }' &&
        { ${opts.ready ?? 'true'}; } && break
      sleep 0.2; i=$((i+1))
    done
    TSG_ROOT=${opts.root} TSG_CHRONYC="chronyc -h $SOCK" TSG_SYSTEMCTL=none TSG_IMDS=none TSG_TIMEDATECTL=${opts.timedatectl ?? 'none'} sh ${guestScriptPath('collect-linux.sh')}
  `;
  const r = spawnSync('unshare', ['-n', 'sh', '-c', script], { encoding: 'utf8', timeout: 60000 });
  if (existsSync(join(ns, 'pids'))) pids.push(...readFileSync(join(ns, 'pids'), 'utf8').trim().split(/\s+/).map(Number));
  return { status: r.status, stdout: r.stdout };
}
