import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_THRESHOLDS, diagnose, parseReportStrict, ReportFormatError } from '../../lambda/core/diagnosis/diagnose';
import { DETAILS_OUTPUT_LIMIT } from '../../lambda/aws/run-command-invocation';
import { FINDING_CODES, FINDING_EFFECTS } from '../../lambda/core/diagnosis/findings';
import { AMAZON_SOURCES_CSV, AMAZON_TRACKING_CSV, buildReport, fixtureLines, type ReportSpec } from './report-builder';

const codes = (spec: ReportSpec | string) => diagnose(typeof spec === 'string' ? spec : buildReport(spec)).findings.map((f) => f.code);
const realReport = (name: string) => readFileSync(join(__dirname, '..', 'fixtures', 'reports', name), 'utf8');

const amazonChrony: ReportSpec = {
  header: { now: '1795914100' },
  sections: [
    ['chrony-tracking', [AMAZON_TRACKING_CSV]],
    ['chrony-sources', AMAZON_SOURCES_CSV],
  ],
};

describe('diagnose: chrony', () => {
  it('is ok on Amazon Time Sync over IPv4 with a small offset', () => {
    const v = diagnose(buildReport(amazonChrony));
    expect(v).toMatchObject({
      platform: 'linux',
      daemon: 'chrony',
      timeSource: 'amazon-ipv4',
      synchronized: true,
      containers: false,
      status: 'ok',
      findings: [],
    });
    // Tracking says 626 ns slow (-6.26e-7 in our sign), the selected sample 30 us ahead: the larger wins.
    expect(v.offsetSeconds).toBeCloseTo(-0.00003, 12);
    // |offset| + root dispersion + root delay / 2
    expect(v.clockErrorBoundSeconds).toBeCloseTo(0.00003 + 0.001112565 + 0.000504752 / 2, 9);
  });

  it.each([
    ['fd00:ec2::123', 'amazon-ipv6'],
    ['fd00:0ec2:0000:0000:0000:0000:0000:0123', 'amazon-ipv6'],
    ['192.0.2.1', 'other'],
  ])('classifies the selected source %s as %s', (addr, source) => {
    const v = diagnose(
      buildReport({
        header: { now: '1795914100' },
        sections: [
          ['chrony-tracking', [AMAZON_TRACKING_CSV.replace('169.254.169.123', addr)]],
          ['chrony-sources', [`^,*,${addr},3,6,377,43,0.000001,0.000001,0.0002`]],
        ],
      }),
    );
    expect(v.timeSource).toBe(source);
    expect(v.status).toBe(source === 'other' ? 'at-risk' : 'ok');
  });

  it('recognises the PTP hardware clock refclock as amazon-phc', () => {
    const v = diagnose(
      buildReport({
        header: { now: '1795914100', ptp: 'ptp0:ena-ptp,ptp_ena' },
        sections: [
          ['chrony-tracking', ['50484330,PHC0,1,1795914099.5,0.000000010,0,0,0,0,0,0.000010000,0.000001000,1.0,Normal']],
          ['chrony-sources', ['#,*,PHC0,0,0,377,1,0.000000020,0.000000020,0.000005000', '^,-,169.254.169.123,3,4,377,5,0.00001,0.00001,0.0003']],
        ],
      }),
    );
    expect(v).toMatchObject({ timeSource: 'amazon-phc', status: 'ok', sourceAddress: 'PHC0' });
  });

  it('trusts the larger of tracking and the selected sample (chronyd -x): real 300 s skew report', () => {
    const v = diagnose(realReport('linux-chrony-loopback-skew.txt'));
    expect(v.offsetSeconds).toBeCloseTo(-300.00003, 5);
    expect(codes(realReport('linux-chrony-loopback-skew.txt'))).toEqual(['offset-over-threshold', 'clock-error-bound-over-threshold', 'not-amazon-time-sync']);
    // ref time is on chrony's corrected scale: 300 s "in the future" must not read as free-running.
    expect(codes(realReport('linux-chrony-loopback-skew.txt'))).not.toContain('free-running');
  });

  it('uses the source sample when tracking stays near zero', () => {
    const v = diagnose(
      buildReport({
        header: { now: '1795914100' },
        sections: [
          ['chrony-tracking', [AMAZON_TRACKING_CSV]],
          ['chrony-sources', ['^,*,169.254.169.123,3,6,377,43,-42.5,-42.5,0.0003']],
        ],
      }),
    );
    expect(v.offsetSeconds).toBe(-42.5);
    expect(v.status).toBe('at-risk');
  });

  it('flags a lost source although tracking still says Normal (real report)', () => {
    const v = diagnose(realReport('linux-chrony-loopback-lost.txt'));
    expect(v).toMatchObject({ synchronized: false, timeSource: 'none', status: 'at-risk' });
    expect(codes(realReport('linux-chrony-loopback-lost.txt'))).toEqual(expect.arrayContaining(['source-lost', 'free-running']));
  });

  it('applies the free-running rule on its own (a * source but a stale reference)', () => {
    const stale = buildReport({ ...amazonChrony, header: { now: String(1795914070 + 8 * 64.4 + 60) } });
    expect(codes(stale)).toEqual(['free-running']);
    expect(diagnose(stale).synchronized).toBe(false);
  });

  it.each([
    ['never synchronised', ['chrony_local-loopback_tracking-csv-unsynchronised.txt', 'chrony_local-loopback_sources-csv-unsynchronised.txt'], 'not-synchronized'],
    ['a local-stratum server', ['chrony_local-loopback_tracking-csv-localstratum-server.txt', 'chrony_local-loopback_sources-csv-unsynchronised.txt'], 'not-synchronized'],
  ])('is at risk when %s', (_label, [tracking, sources], code) => {
    const v = diagnose(buildReport({ sections: [['chrony-tracking', tracking!], ['chrony-sources', sources!]] }));
    expect(v).toMatchObject({ synchronized: false, timeSource: 'none', status: 'at-risk', offsetSeconds: null });
    expect(v.findings.map((f) => f.code)).toEqual([code]);
  });

  it('reads old chrony text output pasted by hand (dotted reference ID)', () => {
    const v = diagnose(
      buildReport({
        header: { now: '' },
        sections: [
          ['chrony-tracking', 'chrony_ubuntu_tracking-awsdoc-oldformat-2017.txt'],
          ['chrony-sources', 'chrony_ubuntu_sources-verbose-awsdoc-2017.txt'],
        ],
      }),
    );
    expect(v).toMatchObject({ daemon: 'chrony', timeSource: 'amazon-ipv4', synchronized: true, status: 'ok' });
  });

  it('says no daemon when chronyd is not running (506)', () => {
    const v = diagnose(buildReport({ header: { daemons: 'none' }, sections: [['chrony-tracking', 'chrony_none_tracking-csv-daemon-not-running.txt', 1]] }));
    expect(v).toMatchObject({ daemon: 'none', synchronized: false, status: 'at-risk' });
    expect(v.findings.map((f) => f.code)).toEqual(['no-daemon']);
  });

  it('says unknown when chronyd runs but does not answer', () => {
    const v = diagnose(buildReport({ sections: [['chrony-tracking', ['506 Cannot talk to daemon'], 1]] }));
    expect(v).toMatchObject({ daemon: 'chrony', synchronized: null, status: 'unknown' });
    expect(v.findings.map((f) => f.code)).toEqual(['daemon-not-responding']);
  });

  it('never says ok when sources are missing', () => {
    const v = diagnose(buildReport({ sections: [['chrony-tracking', [AMAZON_TRACKING_CSV]]] }));
    expect(v.status).toBe('unknown');
    expect(v.synchronized).toBeNull();
  });

  it('does not treat NTPSynchronized=no as a finding when chrony is healthy', () => {
    const v = diagnose(buildReport({ ...amazonChrony, sections: [...amazonChrony.sections!, ['timedatectl', ['NTP=yes', 'NTPSynchronized=no']]] }));
    expect(v.status).toBe('ok');
  });

  it('applies the thresholds it is given', () => {
    const spec = buildReport(amazonChrony);
    expect(diagnose(spec, { maxOffsetSeconds: 0.00001, maxClockErrorBoundSeconds: 1 }).findings.map((f) => f.code)).toEqual(['offset-over-threshold']);
    expect(diagnose(spec, { maxOffsetSeconds: 1, maxClockErrorBoundSeconds: 0.001 }).findings.map((f) => f.code)).toEqual(['clock-error-bound-over-threshold']);
    expect(DEFAULT_THRESHOLDS).toEqual({ maxOffsetSeconds: 1, maxClockErrorBoundSeconds: 1 });
  });
});

describe('diagnose: host-level findings', () => {
  it('flags several daemons at once', () => {
    expect(codes({ ...amazonChrony, header: { ...amazonChrony.header, daemons: 'chronyd,systemd-timesyncd' } })).toEqual(['multiple-daemons']);
  });

  it('says no daemon when none runs and nothing answered', () => {
    const v = diagnose(buildReport({ header: { daemons: 'none' } }));
    expect(v).toMatchObject({ daemon: 'none', timeSource: 'none', synchronized: false, status: 'at-risk' });
  });

  it('reports container runtimes', () => {
    const v = diagnose(buildReport({ ...amazonChrony, header: { ...amazonChrony.header, containers: 'docker,containerd' } }));
    expect(v.containers).toBe(true);
    expect(v['containerRuntimes']).toEqual(['docker', 'containerd']);
    expect(diagnose(buildReport({ ...amazonChrony, header: { ...amazonChrony.header, containers: '' } })).containers).toBeNull();
  });

  it.each([
    [['/etc/environment:HTTPS_PROXY=http://proxy:3128'], true],
    [['/etc/environment:https_proxy="http://***@proxy:3128"', '/etc/environment:no_proxy=localhost,127.0.0.1'], true],
    [['/etc/environment:HTTP_PROXY=http://proxy:3128', '/etc/environment:NO_PROXY=localhost,169.254.169.254'], false],
    [['/etc/profile.d/proxy.sh:export http_proxy=http://proxy:3128', '/etc/profile.d/proxy.sh:export no_proxy=169.254.0.0/16'], false],
    [['/etc/systemd/system.conf:DefaultEnvironment="HTTP_PROXY=http://p:3128" "NO_PROXY=*"'], false],
    [['/etc/systemd/system.conf:DefaultEnvironment=HTTPS_PROXY=http://p:3128 NO_PROXY=10.0.0.0/8'], true],
    [['/etc/environment:NO_PROXY=169.254.169.254'], false],
  ])('proxy lines %j → finding %s', (lines, flagged) => {
    const c = codes({ ...amazonChrony, sections: [['proxy', lines], ...amazonChrony.sections!] });
    expect(c.includes('proxy-without-no-proxy')).toBe(flagged);
  });
});

describe('diagnose: other Linux daemons', () => {
  it('reads ntpd synchronised to Amazon, converting ntpq ms and sign', () => {
    const v = diagnose(
      buildReport({
        header: { daemons: 'ntpd' },
        sections: [
          ['ntpq', 'handmade/ntpq-pn-amazon.txt'],
          ['ntpq-rv', 'handmade/ntpq-rv-amazon.txt'],
        ],
      }),
    );
    expect(v).toMatchObject({ daemon: 'ntpd', timeSource: 'amazon-ipv4', synchronized: true, status: 'ok', offsetSeconds: 0.000031 });
    expect(v.clockErrorBoundSeconds).toBeCloseTo(0.000031 + 0.007456 + 0.000256, 9);
  });

  it('says ntpd is not synchronised without a * peer', () => {
    const v = diagnose(buildReport({ header: { daemons: 'ntpd' }, sections: [['ntpq', 'handmade/ntpq-pn-unsynced.txt']] }));
    expect(v).toMatchObject({ synchronized: false, status: 'at-risk' });
    expect(v.findings.map((f) => f.code)).toEqual(['not-synchronized']);
  });

  it('says unknown when ntpd does not answer', () => {
    expect(codes({ header: { daemons: 'ntpd' }, sections: [['ntpq', 'handmade/ntpq-refused.txt', 1]] })).toEqual(['daemon-not-responding']);
  });

  it('reads systemd-timesyncd on Amazon Time Sync', () => {
    const v = diagnose(
      buildReport({
        header: { daemons: 'systemd-timesyncd' },
        sections: [
          ['timedatectl', 'handmade/timedatectl-show-synced.txt'],
          ['timesync', 'handmade/timesync-show-amazon.txt'],
          ['timesync-status', 'handmade/timesync-status-amazon.txt'],
        ],
      }),
    );
    // timesync-status Offset -2.345ms means local ahead by 2.345 ms.
    expect(v).toMatchObject({ daemon: 'systemd-timesyncd', timeSource: 'amazon-ipv4', synchronized: true, status: 'ok', offsetSeconds: 0.002345 });
  });

  it('says timesyncd is not synchronised when NTPSynchronized=no', () => {
    const v = diagnose(buildReport({ header: { daemons: 'systemd-timesyncd' }, sections: [['timedatectl', 'handmade/timedatectl-show-unsynced.txt']] }));
    expect(v).toMatchObject({ synchronized: false, status: 'at-risk' });
  });

  it.each([
    ['handmade/ntpctl-synced.txt', { synchronized: true, timeSource: 'amazon-ipv4', offsetSeconds: -0.0015, status: 'ok' }],
    ['handmade/ntpctl-unsynced.txt', { synchronized: false, status: 'at-risk' }],
  ])('reads OpenNTPD %s', (file, expected) => {
    expect(diagnose(buildReport({ header: { daemons: 'openntpd' }, sections: [['ntpctl', file]] }))).toMatchObject(expected);
  });
});

describe('diagnose: Windows', () => {
  const win = (status: string, extra: Record<string, string> = {}): ReportSpec => ({
    platform: 'windows',
    header: { os: 'windows 10.0.20348', daemons: 'w32time', detect: 'service', domain: 'false', ptp: '', ...extra },
    sections: [
      ['w32tm-status', status],
      ['w32time-reg', ['NtpServer=169.254.169.123,0x9', 'Type=NTP', 'SpecialPollInterval=900', 'NtpClientEnabled=1']],
      ['w32tm-config', 'handmade/w32tm-config-en.txt'],
    ],
  });

  it('is ok on Amazon Time Sync (English)', () => {
    const v = diagnose(buildReport(win('handmade/w32tm-status-amazon-en.txt')));
    expect(v).toMatchObject({ platform: 'windows', daemon: 'w32time', timeSource: 'amazon-ipv4', synchronized: true, status: 'ok', offsetSeconds: 0.0000361 });
    // No clock error bound on Windows: root dispersion is reported, not judged (docs/windows.md).
    expect(v.clockErrorBoundSeconds).toBeNull();
  });

  it.each([['handmade/w32tm-status-cmos-en.txt'], ['handmade/w32tm-status-cmos-locl-en.txt']])('never treats Local CMOS Clock as a sync (%s)', (file) => {
    const v = diagnose(buildReport(win(file)));
    expect(v).toMatchObject({ synchronized: false, timeSource: 'none', status: 'at-risk' });
    expect(v.findings.map((f) => f.code)).toEqual(['local-cmos-clock']);
  });

  it('reads localized output by position; without /verbose it has no offset and stays unknown', () => {
    const v = diagnose(buildReport(win('handmade/w32tm-status-amazon-de.txt')));
    expect(v).toMatchObject({ daemon: 'w32time', status: 'unknown', synchronized: true, timeSource: 'amazon-ipv4' });
    expect(v.findings.map((f) => f.code)).toEqual(['unknown-format']);
    expect(v['w32time']).toMatchObject({ referenceIp: '169.254.169.123', configuredPeers: ['169.254.169.123'], type: 'NTP' });
  });

  it('says no daemon when W32Time is stopped', () => {
    const v = diagnose(buildReport(win('handmade/w32tm-status-stopped.txt', { daemons: 'none' })));
    expect(v).toMatchObject({ daemon: 'none', status: 'at-risk' });
    expect(v.findings.map((f) => f.code)).toEqual(['no-daemon']);
  });

  it('flags a domain member following its domain controller as not on Amazon Time Sync', () => {
    const status = fixtureLines('handmade/w32tm-status-amazon-en.txt')
      .map((l) => l.replace('0xA9FEA97B (source IP:  169.254.169.123)', '0x0A000005 (source IP:  10.0.0.5)'))
      .map((l) => l.replace('169.254.169.123,0x9', 'dc01.corp.example.com'));
    const v = diagnose(buildReport({ ...win('handmade/w32tm-status-amazon-en.txt', { domain: 'true' }), sections: [['w32tm-status', status], ['w32time-reg', ['NtpServer=time.windows.com,0x9', 'Type=NT5DS']]] }));
    expect(v).toMatchObject({ timeSource: 'other', status: 'at-risk' });
    expect(v.findings.map((f) => f.code)).toEqual(['not-amazon-time-sync']);
  });
});

describe('diagnose: unreadable input', () => {
  it.each([
    ['empty', '', 'report-unreadable'],
    ['another program', 'Reference ID : A9FEA97B\n', 'report-unreadable'],
    ['a future version', 'TSG-REPORT v9 linux\nTSG-END\n', 'unknown-format'],
    ['an unknown platform', 'TSG-REPORT v1 plan9\nTSG-END\n', 'unknown-format'],
  ])('gives unknown with a finding for %s', (_label, text, code) => {
    const v = diagnose(text);
    expect(v.status).toBe('unknown');
    expect(v.findings.map((f) => f.code)).toContain(code);
  });

  it('flags a truncated report and never calls it ok', () => {
    const v = diagnose(buildReport({ ...amazonChrony, end: false }));
    expect(v.status).toBe('unknown');
    expect(v.findings.map((f) => f.code)).toEqual(['report-truncated']);
  });

  it('parseReportStrict throws ReportFormatError for non-reports', () => {
    expect(() => parseReportStrict('nope')).toThrow(ReportFormatError);
    expect(() => parseReportStrict('TSG-REPORT v2 linux\n')).toThrow(/version/);
    expect(parseReportStrict(buildReport(amazonChrony)).complete).toBe(true);
  });

  it('never throws on non-string input from JavaScript callers', () => {
    expect(diagnose(undefined as unknown as string).status).toBe('unknown');
  });
});

describe('finding codes', () => {
  it('are stable kebab-case with a meaning and an effect', () => {
    for (const [code, meaning] of Object.entries(FINDING_CODES)) {
      expect(code).toMatch(/^[a-z]+(-[a-z]+)*$/);
      expect(meaning.length).toBeGreaterThan(10);
      expect(['at-risk', 'unknown', 'report']).toContain(FINDING_EFFECTS[code as keyof typeof FINDING_EFFECTS]);
    }
  });
});

describe('report size', () => {
  it.each(['linux-chrony-loopback-synced.txt', 'linux-chrony-loopback-skew.txt', 'linux-chrony-loopback-lost.txt'])('real report %s stays within 2,500 characters', (f) => {
    expect(realReport(f).replace(/^# source:.*\n/, '').length).toBeLessThanOrEqual(DETAILS_OUTPUT_LIMIT);
  });

  it('a realistic report built from the largest fixtures stays within 2,500 characters', () => {
    const text = buildReport({
      header: { containers: 'docker,containerd', ptp: 'ptp0:ena-ptp,ptp_ena' },
      sections: [
        ['proxy', ['/etc/environment:HTTPS_PROXY=http://proxy.corp.example.com:3128', '/etc/environment:NO_PROXY=localhost,127.0.0.1,169.254.169.254']],
        ['chrony-tracking', [AMAZON_TRACKING_CSV]],
        ['chrony-sources', [...AMAZON_SOURCES_CSV, ...Array.from({ length: 6 }, (_, i) => `^,?,2a05:d018:c43:e312:ce77:6:0:${i},0,6,0,4294967295,0.0,0.0,0.0`)]],
        ['timedatectl', 'handmade/timedatectl-show-synced.txt'],
      ],
    });
    expect(text.length).toBeLessThanOrEqual(DETAILS_OUTPUT_LIMIT);
    const windows = buildReport({
      platform: 'windows',
      header: { daemons: 'w32time', domain: 'false' },
      sections: [
        ['w32tm-status', 'handmade/w32tm-status-amazon-en.txt'],
        ['w32time-reg', ['NtpServer=169.254.169.123,0x9', 'Type=NTP', 'SpecialPollInterval=900', 'NtpClientEnabled=1']],
        ['w32tm-config', 'handmade/w32tm-config-en.txt'],
      ],
    });
    expect(windows.length).toBeLessThanOrEqual(DETAILS_OUTPUT_LIMIT);
  });
});
