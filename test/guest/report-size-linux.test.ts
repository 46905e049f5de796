/**
 * The size of the largest realistic Linux report, measured on the real collector against a real
 * chronyd: every source row the collector keeps, the longest (IPv6) addresses, proxies in every
 * file the collector reads, every container runtime it names. Each run happens inside a private
 * network namespace (only `lo`): the Amazon endpoint is a local chronyd there, and the documentation
 * addresses (2001:db8::/32) of the other sources are unreachable, so nothing leaves the machine.
 * The figures are recorded in docs/guest-scripts.md ("Report envelope").
 */
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DETAILS_OUTPUT_LIMIT } from '../../lambda/aws/run-command-invocation';
import { parseReport, section } from '../../lambda/core/diagnosis/report';
import { collectInAmazonNetns } from './amazon-netns';
import { unseal } from './sealed-report';

const dir = mkdtempSync(join(tmpdir(), 'tsg-report-size-'));
const pids: number[] = [];

afterAll(() => {
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* already gone */
    }
  }
  rmSync(dir, { recursive: true, force: true });
});

/** A host as busy as a real one gets: chronyd, every container runtime, proxies in every file read. */
function busyRoot(name: string): string {
  const root = join(dir, `root-${name}`);
  const put = (p: string, text: string) => {
    mkdirSync(join(root, p, '..'), { recursive: true });
    writeFileSync(join(root, p), text);
  };
  ['chronyd', 'dockerd', 'containerd', 'containerd-shim-runc-v2', 'podman', 'conmon', 'kubelet', 'amazon-ecs-agent'].forEach((c, i) => {
    put(`proc/${4000 + i}/comm`, `${c.slice(0, 15)}\n`);
    put(`proc/${4000 + i}/status`, `Name:\t${c}\nState:\tS (sleeping)\n`);
    put(`proc/${4000 + i}/cmdline`, `${c}\0`);
  });
  put('etc/os-release', 'NAME="Red Hat Enterprise Linux"\nID="rhel"\nVERSION_ID="9.4"\n');
  const noProxy = ['localhost', '127.0.0.1', '.internal.corp.example.com', '.svc.cluster.local', '10.0.0.0/8', '172.16.0.0/12', '.amazonaws.com', '.eks.amazonaws.com', 'registry.corp.example.com'].join(',');
  const proxy = 'http://svc-proxy-user:S3cr3t-P4ssw0rd@egress-proxy.internal.corp.example.com:3128';
  put('etc/environment', `HTTP_PROXY=${proxy}\nHTTPS_PROXY=${proxy}\nNO_PROXY=${noProxy}\n`);
  put('etc/profile.d/proxy.sh', `export http_proxy=${proxy}\nexport https_proxy=${proxy}\nexport no_proxy=${noProxy}\n`);
  put('etc/systemd/system.conf.d/proxy.conf', `[Manager]\nDefaultEnvironment="HTTP_PROXY=${proxy}" "HTTPS_PROXY=${proxy}" "NO_PROXY=${noProxy}"\n`);
  put('run/containerd/containerd.sock', '');
  return root;
}

/**
 * Runs the collector against a real chronyd synchronised to a local 169.254.169.123 server, with
 * `more` sources at long IPv6 documentation addresses: answered by the same local server (the whole
 * prefix is routed to `lo`, so each row holds real, different measurements) or, with `silent`,
 * never answered. Returns what the collector printed.
 */
function collect(name: string, more: number, silent: boolean): string {
  const ns = join(dir, name);
  mkdirSync(ns, { recursive: true });
  // timedatectl as systemd prints it (the collector asks it on every systemd host).
  const timedatectl = join(ns, 'timedatectl');
  writeFileSync(timedatectl, '#!/bin/sh\nprintf "NTP=yes\\nNTPSynchronized=yes\\nCanNTP=yes\\nLocalRTC=no\\n"\n');
  chmodSync(timedatectl, 0o755);
  const r = collectInAmazonNetns(
    ns,
    {
      root: busyRoot(name),
      sources: Array.from({ length: more }, (_, i) => `server 2001:db8:85a3:4d2c:${(0x1000 + i).toString(16)}:8a2e:370:${(0x7334 + i * 7).toString(16)} ${silent ? 'minpoll 6' : 'iburst minpoll -2 maxpoll 0'}`),
      serveAll: true,
      timedatectl,
      ...(silent
        ? {}
        : {
            setup: 'ip -6 route add local 2001:db8:85a3::/48 dev lo',
            // Every other source reached at least three times (reach ≥ 7).
            ready: `[ "$(chronyc -h "$SOCK" -n -c sources 2>/dev/null | awk -F, '$6 >= 7' | wc -l)" -ge ${more + 1} ]`,
          }),
    },
    pids,
  );
  expect(r.status).toBe(0);
  return r.stdout;
}

/** The most characters the realistic worst case may take of the 2,500 Details returns: 80 % (500 characters of headroom). */
const REALISTIC_MAX = DETAILS_OUTPUT_LIMIT * 0.8;

describe('the largest Linux report fits Details (real collector, real chronyd)', () => {
  it('40 sources (the selected Amazon one and 39 IPv6 pool servers), proxies in every file, every container runtime: every row kept, envelope within 80 % of Details', () => {
    const printed = collect('forty', 39, false);
    const plain = unseal(printed);
    const p = parseReport(plain);
    const rows = section(p, 'chrony-sources')!.lines;
    expect(rows).toHaveLength(40);
    // Real measurements on every row (reach ≥ 7: three answers), not 40 copies of an empty one.
    expect(rows.filter((r) => Number.parseInt(r.split(',')[5]!, 8) >= 7)).toHaveLength(40);
    expect(section(p, 'proxy')!.lines.length).toBeGreaterThanOrEqual(8);
    expect(p.header['containers']).toBe('docker,containerd,podman,kubelet,ecs');
    expect(p.cuts).toEqual([]);
    expect(plain.length).toBeGreaterThan(DETAILS_OUTPUT_LIMIT);
    expect(printed.length).toBeLessThanOrEqual(REALISTIC_MAX);
    process.stdout.write(`report-size linux-40-sources: plain ${plain.length} chars, envelope ${printed.trimEnd().length} chars\n`);
  }, 90000);

  it('200 sources (every row the collector reads): still one envelope within the Details budget', () => {
    const printed = collect('two-hundred', 199, true);
    const plain = unseal(printed);
    const p = parseReport(plain);
    const kept = section(p, 'chrony-sources')!.lines.length;
    expect(kept + p.cuts.reduce((n, c) => n + c.lines, 0)).toBe(200);
    expect(printed.length).toBeLessThanOrEqual(DETAILS_OUTPUT_LIMIT - 100);
    process.stdout.write(`report-size linux-200-sources: plain ${plain.length} chars (${kept} rows kept), envelope ${printed.trimEnd().length} chars\n`);
  }, 90000);
});
