/**
 * The simulated fleet: N instances with a deterministic, documented mix of platforms, SSM states,
 * time-sync situations and IMDS settings, plus the text each one's guest prints when the real
 * collector (or remediation script) runs on it.
 *
 * Guest outputs use the REAL report format (`TSG-REPORT v1 …` header lines, `[section rc=N]`
 * blocks of raw chronyc CSV output, `TSG-END`; see lambda/core/diagnosis/report.ts) in the real
 * compressed envelope (`TSG-REPORT-GZ1 …`, lambda/core/diagnosis/envelope.ts) and the real final line
 * of the remediation script (`TSG-REMEDIATE v1 result=… daemon=… action=… reason=…`), so the
 * engines' real parsers (`diagnose`, `parseRemediationOutput`) run on them. The chronyc lines are
 * modelled on the captured outputs of the team's shared fixtures (copies in test/fixtures) (Debian 12, chrony 4.3).
 */

import { reportEnvelope } from './report-envelope';

/** What the instance's clock situation is (drives its collector report). */
export type Scenario =
  | 'chrony-amazon'
  | 'chrony-amazon-phc'
  | 'chrony-amazon-ipv6'
  | 'chrony-amazon-long'
  | 'chrony-other-source'
  | 'chrony-not-synchronized'
  | 'chrony-source-lost'
  | 'chrony-big-offset'
  /** Never generated: what a host drifts into in bench/urgent.ts (chrony moved to another server, clock 240 s behind). */
  | 'chrony-drifted'
  | 'ntpd'
  | 'timesyncd'
  | 'two-daemons'
  | 'no-daemon'
  | 'windows-amazon'
  | 'windows-cmos'
  | 'windows-domain';

/** How the SSM agent sees the instance. */
export type SsmState = 'Online' | 'ConnectionLost' | 'Inactive' | 'unmanaged';

/**
 * A Run Command outcome a test chooses for one instance, overriding what its guest would do
 * (the benchmark never sets one). Unset fields keep the simulated behaviour.
 */
export interface InvocationScript {
  /** Terminal status of the invocation. @default from the guest behaviour */
  readonly status?: 'Success' | 'Failed' | 'TimedOut' | 'Cancelled';
  /** Its StatusDetails. @default the status */
  readonly statusDetails?: string;
  /** Full stdout (ListCommandInvocations' Details returns the first 2,500 characters). @default the guest's */
  readonly output?: string;
  /** @default 0 on Success, 1 otherwise */
  readonly responseCode?: number;
  /** The invocation never ends (stays InProgress). @default false */
  readonly hang?: boolean;
  /** The command gets no invocation for this instance. @default false */
  readonly noInvocation?: boolean;
  /** SendCommand refuses any batch holding this id with InvalidInstanceId (stopped or terminated). @default false */
  readonly gone?: boolean;
  /** IAM denies ssm:SendCommand on this instance (e.g. the opt-out Deny): any batch holding it is refused. @default false */
  readonly denied?: boolean;
  /** Guest run time of this invocation in ms. @default the account's guestMs */
  readonly guestMs?: number;
  /**
   * What the step wrote to stderr. ListCommandInvocations' Details shows it after stdout, behind
   * SSM's `----------ERROR-------` line, both within the one 2,500-character cap; GetCommandInvocation
   * returns it apart (StandardErrorContent). @default none
   */
  readonly stderr?: string;
  /**
   * The stdout ListCommandInvocations' Details shows when it differs from the full one (e.g. a
   * listing that lost the report's end); GetCommandInvocation still returns `output`. @default `output`
   */
  readonly detailsOutput?: string;
}

/** What happens to a Run Command invocation on this instance (beyond delivery). */
export type GuestBehaviour = 'normal' | 'fails' | 'times-out' | 'garbled';

/** One simulated instance; mutable where the simulated APIs change it. */
export interface SimInstance {
  readonly id: string;
  readonly name: string;
  readonly platform: 'linux' | 'windows';
  readonly ssm: SsmState;
  readonly scenario: Scenario;
  readonly containers: boolean;
  readonly hasProfile: boolean;
  readonly optedOut: boolean;
  readonly ipv6Only: boolean;
  readonly guest: GuestBehaviour;
  /**
   * The guest prints the plain report, not its compressed envelope (an old collector document, a
   * host without gzip): a long one passes the Details cap. @default false
   */
  readonly plainReport?: boolean;
  /** This guest's collector run time (ms), for tests of slow guests. @default - the model's guestMs (A7) */
  readonly guestMs?: number;
  /** Virtual ms (relative to the run start) at which the instance is terminated; undefined = never. */
  readonly vanishAfterMs?: number;
  /** LaunchTime (virtual ms since the epoch); undefined = 90 days before the account was created. */
  readonly launchedAtMs?: number;
  /** Network and profile of the coverage causes (sim/coverage.ts). @default subnet-default in vpc-default; profile app-<n mod 7> */
  readonly subnetId?: string;
  readonly vpcId?: string;
  readonly profileName?: string;
  /** SSM Agent version DescribeInstanceInformation reports. @default '3.3.1142.0' */
  readonly agentVersion?: string;
  hopLimit: number;
  httpEndpoint: 'enabled' | 'disabled';
  httpTokens: 'optional' | 'required';
  metadataState: 'pending' | 'applied';
  /** Virtual ms at which a pending metadata change becomes applied. */
  appliedAtMs?: number;
  /**
   * How long a ModifyInstanceMetadataOptions change on this instance stays `pending` (tests of slow
   * or stuck changes; Infinity = never applied). @default the model's metadataApplyMs (A9)
   */
  readonly metadataApplyMs?: number;
  /**
   * ModifyInstanceMetadataOptions on this instance fails with this EC2 error code (e.g.
   * `UnauthorizedOperation`) and changes nothing (tests). @default none
   */
  readonly modifyError?: string;
  /** Set once the in-guest remediation made the instance compliant. */
  timeSyncFixed?: boolean;
  /** A scripted Run Command outcome (tests only). @default none: the guest behaviour decides */
  script?: InvocationScript;
  /** Extra tags DescribeInstances returns (tests only). @default none */
  tags?: { Key: string; Value: string }[];
}

/**
 * One healthy Linux instance (chrony on Amazon Time Sync, SSM Online, hop limit 2, IMDSv2) with
 * `overrides`: how tests describe the few instances they need instead of generating a fleet.
 */
export function simInstance(id: string, overrides: Partial<SimInstance> = {}): SimInstance {
  return {
    id,
    name: `app-${id.slice(-4)}`,
    platform: 'linux',
    ssm: 'Online',
    scenario: 'chrony-amazon',
    containers: false,
    hasProfile: true,
    optedOut: false,
    ipv6Only: false,
    guest: 'normal',
    hopLimit: 2,
    httpEndpoint: 'enabled',
    httpTokens: 'required',
    metadataState: 'applied',
    ...overrides,
  };
}

/** Knobs of the generated fleet. Shares are fractions; the remainder of each draw is the default case. */
export interface FleetOptions {
  /** Seed of the deterministic generator. @default 42 */
  readonly seed?: number;
  /** Every instance has hop limit 1 (a fleet where every instance needs the IMDS change). @default false */
  readonly allHopLimitOne?: boolean;
  /** Number of instances terminated mid-run. @default max(1, round(N/5000)) (A11) */
  readonly vanishing?: number;
}

/**
 * The mix (A10 in bench/README.md; illustrative, not measured from a real fleet):
 * 80 % Linux / 20 % Windows; 85 % SSM Online, 5 % ConnectionLost, 10 % unmanaged; 2 % opted out;
 * Linux: 55 % chrony on 169.254.169.123 (+5 % PHC, +3 % IPv6, +5 % with a report longer than
 * 2,500 chars), then each finding; 35 % of Linux run containers; hop limit 1 on 40 %; the endpoint
 * disabled on 2 % (with an instance profile); 0.5 % of collectors fail, 0.3 % time out,
 * 0.2 % print garbage.
 */
const LINUX_SCENARIOS: readonly [Scenario, number][] = [
  ['chrony-amazon', 0.55],
  ['chrony-amazon-phc', 0.05],
  ['chrony-amazon-ipv6', 0.03],
  ['chrony-amazon-long', 0.05],
  ['chrony-other-source', 0.07],
  ['chrony-not-synchronized', 0.03],
  ['chrony-source-lost', 0.03],
  ['chrony-big-offset', 0.02],
  ['ntpd', 0.05],
  ['timesyncd', 0.06],
  ['two-daemons', 0.03],
  ['no-daemon', 0.03],
];
const WINDOWS_SCENARIOS: readonly [Scenario, number][] = [
  ['windows-amazon', 0.7],
  ['windows-cmos', 0.1],
  ['windows-domain', 0.2],
];

/** mulberry32: tiny, fast, deterministic. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function pick<T>(r: number, table: readonly [T, number][]): T {
  let acc = 0;
  for (const [v, w] of table) {
    acc += w;
    if (r < acc) return v;
  }
  return table[table.length - 1]![0];
}

/** Builds N instances deterministically (same seed → same fleet). */
export function generateFleet(n: number, options: FleetOptions = {}): SimInstance[] {
  const rnd = prng(options.seed ?? 42);
  const fleet: SimInstance[] = [];
  for (let i = 0; i < n; i++) {
    const platform = rnd() < 0.8 ? 'linux' : 'windows';
    const s = rnd();
    const ssm: SsmState = s < 0.85 ? 'Online' : s < 0.9 ? 'ConnectionLost' : 'unmanaged';
    const scenario = platform === 'linux' ? pick(rnd(), LINUX_SCENARIOS) : pick(rnd(), WINDOWS_SCENARIOS);
    const g = rnd();
    const guest: GuestBehaviour = g < 0.005 ? 'fails' : g < 0.008 ? 'times-out' : g < 0.01 ? 'garbled' : 'normal';
    const endpointDisabled = rnd() < 0.02;
    fleet.push({
      id: `i-${(0x10000000 + i).toString(16).padStart(17, '0')}`,
      name: `${platform === 'linux' ? 'web' : 'win'}-${i}`,
      platform,
      ssm,
      scenario,
      containers: platform === 'linux' && rnd() < 0.35,
      hasProfile: endpointDisabled || rnd() < 0.9,
      optedOut: rnd() < 0.02,
      ipv6Only: scenario === 'chrony-amazon-ipv6',
      guest,
      hopLimit: options.allHopLimitOne || rnd() < 0.4 ? 1 : 2,
      httpEndpoint: endpointDisabled ? 'disabled' : 'enabled',
      httpTokens: rnd() < 0.7 ? 'required' : 'optional',
      metadataState: 'applied',
    });
  }
  // A few instances are terminated while a run is under way (spread over the first 60 s). A11: an
  // auto-scaled fleet replacing ~15 % of its instances a day loses ~1 in 10,000 per minute.
  const vanishing = Math.min(n, options.vanishing ?? Math.max(1, Math.round(n / 5000)));
  for (let k = 0; k < vanishing; k++) {
    const idx = Math.floor(rnd() * n);
    fleet[idx] = { ...fleet[idx]!, vanishAfterMs: 5_000 + Math.floor(rnd() * 55_000) };
  }
  return fleet;
}

// ---------------------------------------------------------------------------------------------
// Guest outputs

const AMAZON_V4_HEX = 'A9FEA97B';
const PHC_REFID = '50484330';

function trackingCsv(refId: string, address: string, stratum: number, refTime: number, systemTimeSlow: number, rootDelay: number, rootDispersion: number, leap = 'Normal'): string {
  // chronyc -c tracking: refid,address,stratum,reftime,system time,last offset,rms offset,freq,resid freq,skew,root delay,root dispersion,update interval,leap
  return [refId, address, stratum, refTime.toFixed(9), systemTimeSlow.toFixed(9), (-systemTimeSlow / 2).toFixed(9), '0.000000040', '-0.010', '0.001', '0.097', rootDelay.toFixed(9), rootDispersion.toFixed(9), '16.0', leap].join(',');
}

function sourceCsv(mode: string, state: string, address: string, stratum: number, reach: number, lastRx: number, offset: number): string {
  return [mode, state, address, stratum, 4, reach.toString(8), lastRx, offset.toFixed(9), offset.toFixed(9), '0.000005934'].join(',');
}

function header(inst: SimInstance, nowSec: number, daemons: string): string[] {
  // The header lines of lambda/guest/collect-linux.sh and collect-windows.ps1, in their order.
  if (inst.platform === 'windows') {
    return [
      'TSG-REPORT v1 windows',
      'collector=1',
      `now=${nowSec}`,
      'os=windows 10.0.20348',
      `daemons=${daemons}`,
      'detect=service',
      `domain=${inst.scenario === 'windows-domain'}`,
      'containers=none',
      'ptp=none',
    ];
  }
  return [
    'TSG-REPORT v1 linux',
    'collector=1',
    `now=${nowSec}`,
    'os=amzn 2023',
    'detect=proc',
    `daemons=${daemons}`,
    `containers=${inst.containers ? 'docker,containerd' : 'none'}`,
    `ptp=${inst.scenario === 'chrony-amazon-phc' ? 'ptp0:ena-ptp-0' : 'none'}`,
  ];
}

/** `timedatectl show -p NTP -p NTPSynchronized -p CanNTP -p LocalRTC` (every systemd host). */
function timedatectl(synced: boolean): string[] {
  return ['[timedatectl rc=0]', 'NTP=yes', `NTPSynchronized=${synced ? 'yes' : 'no'}`, 'CanNTP=yes', 'LocalRTC=no'];
}

/**
 * The collector's stdout on this instance at guest time `nowSec` (epoch seconds): the compressed
 * envelope of {@link plainCollectorReport}, as the real collectors print it on every host with gzip
 * (Linux) or .NET (Windows), so every report fits ListCommandInvocations' Details.
 */
export function collectorReport(inst: SimInstance, nowSec: number): string {
  if (inst.guest === 'garbled' || inst.plainReport === true) return plainCollectorReport(inst, nowSec);
  return reportEnvelope(plainCollectorReport(inst, nowSec));
}

/**
 * The plain report inside the envelope. Mirrors what lambda/guest/collect-linux.sh /
 * collect-windows.ps1 put in it (same header keys, section names and per-section line caps);
 * `chrony-amazon-long` has the 40 source lines the collector keeps at most, which makes the plain
 * report longer than the 2,500-character Details cap (its envelope is not).
 */
export function plainCollectorReport(inst: SimInstance, nowSec: number): string {
  if (inst.guest === 'garbled') return 'bash: line 1: /var/lib/amazon/ssm/…/_script.sh: Permission denied\n';
  const lines: string[] = [];
  const ref = nowSec - 8;
  const scenario = inst.timeSyncFixed ? (inst.platform === 'linux' ? 'chrony-amazon' : 'windows-amazon') : inst.scenario;
  const chrony = (tracking: string, sources: string[]): void => {
    lines.push('[chrony-tracking rc=0]', tracking, '[chrony-sources rc=0]', ...sources);
    lines.push(...timedatectl(true));
  };
  switch (scenario) {
    case 'chrony-amazon':
    case 'chrony-amazon-long': {
      lines.push(...header(inst, nowSec, 'chronyd'));
      const extra: string[] = [];
      if (scenario === 'chrony-amazon-long') {
        for (let k = 0; k < 39; k++) extra.push(sourceCsv('^', '-', `10.${k}.${k * 3 % 250}.${(k * 7) % 250}`, 3, 255, 40 + k, 0.00012 * (k % 7)));
      }
      chrony(trackingCsv(AMAZON_V4_HEX, '169.254.169.123', 4, ref, -0.000004, 0.000321, 0.000154), [sourceCsv('^', '*', '169.254.169.123', 3, 255, 8, 0.000004), ...extra]);
      break;
    }
    case 'chrony-amazon-phc':
      lines.push(...header(inst, nowSec, 'chronyd'));
      chrony(trackingCsv(PHC_REFID, 'PHC0', 1, ref, 0.0000001, 0.0000001, 0.000011), [sourceCsv('#', '*', 'PHC0', 0, 255, 1, 0.0000001), sourceCsv('^', '-', '169.254.169.123', 3, 255, 9, 0.000012)]);
      break;
    case 'chrony-amazon-ipv6':
      lines.push(...header(inst, nowSec, 'chronyd'));
      chrony(trackingCsv('FD00EC20', 'fd00:ec2::123', 4, ref, 0.000006, 0.000402, 0.000173), [sourceCsv('^', '*', 'fd00:ec2::123', 3, 255, 7, -0.000006)]);
      break;
    case 'chrony-other-source':
      lines.push(...header(inst, nowSec, 'chronyd'));
      chrony(trackingCsv('C0A80001', '192.168.0.1', 3, ref, 0.0021, 0.0124, 0.0041), [sourceCsv('^', '*', '192.168.0.1', 2, 255, 30, -0.0021)]);
      break;
    case 'chrony-not-synchronized':
      lines.push(...header(inst, nowSec, 'chronyd'));
      chrony(trackingCsv('00000000', '', 0, 0, 0, 0, 0, 'Not synchronised').replace(',16.0,', ',0.0,'), [sourceCsv('^', '?', '169.254.169.123', 0, 0, 4294967295, 0)]);
      break;
    case 'chrony-source-lost':
      lines.push(...header(inst, nowSec, 'chronyd'));
      chrony(trackingCsv(AMAZON_V4_HEX, '169.254.169.123', 4, nowSec - 3600, 0.0000006, 0.000321, 0.0127), [sourceCsv('^', '?', '169.254.169.123', 3, 0, 3600, -0.0000006)]);
      break;
    case 'chrony-big-offset':
      // Source minutes ahead: the instance clock is BEHIND (chrony's System time + = slow).
      lines.push(...header(inst, nowSec, 'chronyd'));
      // chrony's reference time is true time: the guest's own clock reads 300 s less.
      chrony(trackingCsv(AMAZON_V4_HEX, '169.254.169.123', 4, ref + 300, 300.2, 0.000321, 0.000154), [sourceCsv('^', '*', '169.254.169.123', 3, 255, 8, -300.2)]);
      break;
    case 'chrony-drifted':
      // Someone pointed chrony at a bad server: synchronised to it, 240 s behind true time.
      lines.push(...header(inst, nowSec, 'chronyd'));
      chrony(trackingCsv('C0A80001', '192.168.0.1', 3, ref + 240, 240.1, 0.0124, 0.0041), [sourceCsv('^', '*', '192.168.0.1', 2, 255, 30, -240.1)]);
      break;
    case 'ntpd':
      // ntpd synchronised, but to a pool server: the Amazon endpoint is not configured.
      lines.push(...header(inst, nowSec, 'ntpd'), '[ntpq rc=0]',
        '     remote           refid      st t when poll reach   delay   offset  jitter',
        '==============================================================================',
        ' 0.amazon.pool.n .POOL.          16 p    -   64    0    0.000   +0.000   0.000',
        '*203.0.113.10    .GPS.            1 u   37   64  377   10.123   +1.234   0.456',
        '+198.51.100.7    192.0.2.1        2 u   40   64  377   25.710   -4.907   1.203',
        '[ntpq-rv rc=0]',
        'leap=00, stratum=2, rootdelay=10.123, rootdisp=12.402, refid=203.0.113.10,',
        'offset=+1.234',
        ...timedatectl(true));
      break;
    case 'timesyncd':
      lines.push(...header(inst, nowSec, 'systemd-timesyncd'), ...timedatectl(true), '[timesync rc=0]', 'ServerName=ntp.ubuntu.com', 'ServerAddress=185.125.190.56', 'PollIntervalUSec=34min 8s',
        'NTPMessage={ Leap=0, Version=4, Mode=4, Stratum=2, Precision=-25, RootDelay=1.234ms, RootDispersion=2.345ms, Reference=C0248F97, Ignored=no, PacketCount=12, Jitter=312us }',
        '[timesync-status rc=0]', '       Server: 185.125.190.56 (ntp.ubuntu.com)', 'Poll interval: 34min 8s (min: 32s; max 34min 8s)', '         Leap: normal', '      Version: 4', '      Stratum: 2',
        '    Reference: C0248F97', '    Precision: 1us (-25)', 'Root distance: 2.962ms (max: 5s)', '       Offset: +1.902ms', '        Delay: 18.204ms', '       Jitter: 312us', ' Packet count: 12', '    Frequency: +3.118ppm');
      break;
    case 'two-daemons':
      lines.push(...header(inst, nowSec, 'chronyd,ntpd'));
      chrony(trackingCsv(AMAZON_V4_HEX, '169.254.169.123', 4, ref, -0.000004, 0.000321, 0.000154), [sourceCsv('^', '*', '169.254.169.123', 3, 255, 8, 0.000004)]);
      break;
    case 'no-daemon':
      lines.push(...header(inst, nowSec, 'none'), '[chrony-tracking rc=1]', '506 Cannot talk to daemon', ...timedatectl(false));
      break;
    case 'windows-amazon':
      lines.push(...header(inst, nowSec, 'w32time'), '[w32tm-status rc=0]', 'Leap Indicator: 0(no warning)', 'Stratum: 4 (secondary reference - syncd by (S)NTP)', 'Precision: -23 (119.209ns per tick)', 'Root Delay: 0.0003210s', 'Root Dispersion: 0.0101542s', 'ReferenceId: 0xA9FEA97B (source IP:  169.254.169.123)', 'Last Successful Sync Time: 1/1/2026 12:00:00 AM', 'Source: 169.254.169.123,0x9', 'Poll Interval: 10 (1024s)', 'Phase Offset: -0.0000361s', 'State Machine: 2 (Sync)', 'Last Sync Error: 0 (The command completed successfully.)', '[w32time-reg rc=0]', 'NtpServer=169.254.169.123,0x9', 'Type=NTP', 'SpecialPollInterval=1024', 'NtpClientEnabled=1');
      break;
    case 'windows-cmos':
      lines.push(...header(inst, nowSec, 'w32time'), '[w32tm-status rc=0]', 'Leap Indicator: 3(not synchronized)', 'Stratum: 0 (unspecified)', 'ReferenceId: 0x00000000 (unspecified)', 'Source: Local CMOS Clock', '[w32time-reg rc=0]', 'NtpServer=time.windows.com,0x9', 'Type=NTP');
      break;
    case 'windows-domain':
      lines.push(...header(inst, nowSec, 'w32time'), '[w32tm-status rc=0]', 'Leap Indicator: 0(no warning)', 'Stratum: 3 (secondary reference - syncd by (S)NTP)', 'Precision: -23 (119.209ns per tick)', 'Root Delay: 0.0312500s', 'Root Dispersion: 0.1093750s', 'ReferenceId: 0x0A000005 (source IP:  10.0.0.5)', 'Last Successful Sync Time: 1/1/2026 12:00:00 AM', 'Source: dc01.corp.example.com', 'Poll Interval: 10 (1024s)', 'Phase Offset: 0.0021352s', 'State Machine: 2 (Sync)', '[w32time-reg rc=0]', 'NtpServer=', 'Type=NT5DS');
      break;
  }
  lines.push('TSG-END');
  return lines.join('\n') + '\n';
}

/** The remediation script's stdout on this instance (progress lines, then the one final line). */
export function remediationOutput(inst: SimInstance, dryRun: boolean): { output: string; exitCode: number } {
  const daemon = inst.platform === 'windows' ? 'w32time' : inst.scenario === 'ntpd' ? 'ntpd' : inst.scenario === 'timesyncd' ? 'systemd-timesyncd' : inst.scenario === 'no-daemon' ? 'none' : 'chrony';
  const compliant = inst.timeSyncFixed || ['chrony-amazon', 'chrony-amazon-phc', 'chrony-amazon-ipv6', 'chrony-amazon-long', 'windows-amazon'].includes(inst.scenario);
  const progress = [`tsg-remediate: platform=${inst.platform} daemon=${daemon}`, 'tsg-remediate: checking the selected source'];
  let result: string;
  let action: string;
  let reason = '';
  let exitCode = 0;
  if (compliant) {
    result = 'already-compliant';
    action = 'none';
  } else if (inst.scenario === 'no-daemon') {
    result = 'skipped';
    action = 'none';
    reason = 'no-daemon-install-disabled';
  } else if (inst.scenario === 'windows-domain') {
    result = 'skipped';
    action = 'none';
    reason = 'domain-member';
  } else if (dryRun) {
    result = 'would-change';
    action = daemon === 'w32time' ? 'set-ntpserver' : 'add-server';
  } else if (inst.scenario === 'chrony-source-lost') {
    // The Amazon source stays unreachable from this guest: verification fails, the backup is restored.
    result = 'rolled-back';
    action = 'add-server';
    reason = 'verify-timeout';
    exitCode = 1;
  } else {
    result = 'changed';
    action = daemon === 'w32time' ? 'set-ntpserver' : inst.scenario === 'two-daemons' ? 'stop-other-daemons' : 'add-server';
    inst.timeSyncFixed = true;
    progress.push('tsg-remediate: validated candidate configuration', 'tsg-remediate: selected source 169.254.169.123');
  }
  progress.push(`TSG-REMEDIATE v1 result=${result} daemon=${daemon} action=${action} reason=${reason}`);
  return { output: progress.join('\n') + '\n', exitCode };
}
