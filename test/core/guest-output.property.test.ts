/**
 * Guest output is untrusted: whatever a guest prints, reading it costs (almost) nothing, never
 * throws and never claims anything impossible. Every former super-linear pattern is exercised with
 * the input that made it slow, on lines far beyond the report's line cap, so the parsers themselves
 * are shown linear (the caps are a second belt, not the reason these pass).
 */
import fc from 'fast-check';
import { diagnose } from '../../lambda/core/diagnosis/diagnose';
import { noProxyCoversImds, proxyFindings } from '../../lambda/core/diagnosis/proxy';
import { normalizeIpv6 } from '../../lambda/core/diagnosis/time-source';
import { MAX_LINE_CHARS, MAX_REPORT_CHARS, parseReport } from '../../lambda/core/diagnosis/report';
import { parseSourcesCsv, parseSourcesText, parseTrackingCsv, parseTrackingText } from '../../lambda/core/diagnosis/parsers/chrony';
import { parseNtpctl } from '../../lambda/core/diagnosis/parsers/ntpctl';
import { parseNtpqPeers, parseNtpqRv } from '../../lambda/core/diagnosis/parsers/ntpq';
import { parseNtpMessage, parseProperties, parseTimesyncStatus } from '../../lambda/core/diagnosis/parsers/timedatectl';
import { parseDecimal, parseTimespan } from '../../lambda/core/diagnosis/parsers/units';
import { ntpServerEntries, parseW32timeValues, parseW32tmStatus } from '../../lambda/core/diagnosis/parsers/w32tm';
import { parseEnaInterfaces, parseHttpDate, parseImdsProbe } from '../../lambda/core/diagnosis/link-local';
import { parseTimeConfig } from '../../lambda/core/diagnosis/leap-smear';
import { MAX_ABS_OFFSET_SECONDS, MAX_BOUND_SECONDS } from '../../lambda/core/diagnosis/plausible';
import { parseRemediationOutput } from '../../lambda/core/remediation/guest-result';
import { noProxyAudit } from '../../lambda/core/remediation/no-proxy-result';
import { AMAZON_SOURCES_CSV, AMAZON_TRACKING_CSV, buildReport } from './report-builder';

/** Per-call budget for one parse of one adversarial input (a quadratic pattern on these inputs takes seconds). */
const BUDGET_MS = 50;

/**
 * Milliseconds one call takes: the best of up to three runs, so a moment the shared machine took the
 * CPU away does not count, while a slow pattern (slow every time) still does.
 */
function cost(f: () => unknown): number {
  let best = Infinity;
  for (let i = 0; i < 3 && best > BUDGET_MS / 5; i++) {
    const t = process.hrtime.bigint();
    f();
    best = Math.min(best, Number(process.hrtime.bigint() - t) / 1e6);
  }
  return best;
}

/** Every reader of guest text, called on the same lines. */
const READERS: ReadonlyArray<readonly [string, (lines: string[]) => unknown]> = [
  ['parseTrackingCsv', parseTrackingCsv],
  ['parseTrackingText', parseTrackingText],
  ['parseSourcesCsv', parseSourcesCsv],
  ['parseSourcesText', parseSourcesText],
  ['parseNtpqPeers', parseNtpqPeers],
  ['parseNtpqRv', parseNtpqRv],
  ['parseNtpctl', parseNtpctl],
  ['parseProperties', parseProperties],
  ['parseTimesyncStatus', parseTimesyncStatus],
  ['parseNtpMessage', (l) => parseNtpMessage(l.join(','))],
  ['parseTimespan', (l) => l.map(parseTimespan)],
  ['parseDecimal', (l) => l.map(parseDecimal)],
  ['parseW32tmStatus', parseW32tmStatus],
  ['parseW32timeValues', parseW32timeValues],
  ['ntpServerEntries', (l) => ntpServerEntries(l.join(' '))],
  ['normalizeIpv6', (l) => l.map(normalizeIpv6)],
  ['noProxyCoversImds', (l) => noProxyCoversImds(l.join(','))],
  ['proxyFindings', (l) => proxyFindings(parseReport(['TSG-REPORT v1 linux', '[proxy rc=0]', ...l.map((x) => x.slice(0, MAX_LINE_CHARS)), 'TSG-END'].join('\n')))],
  ['parseRemediationOutput', (l) => parseRemediationOutput(l.join('\n'))],
  ['noProxyAudit', (l) => noProxyAudit(l.join('\n'))],
  ['parseImdsProbe', parseImdsProbe],
  ['parseEnaInterfaces', parseEnaInterfaces],
  ['parseTimeConfig', parseTimeConfig],
  ['parseHttpDate', (l) => l.map(parseHttpDate)],
];

/** The inputs that made the former patterns slow, each far longer than any line a collector prints. */
const N = 30_000;
const blanks = ' '.repeat(N);
const SLOW_INPUTS: ReadonlyArray<readonly [string, string]> = [
  ['a 23,000-digit CSV field (chrony num)', `A9FEA97B,169.254.169.123,4,1795914070.1,${'9'.repeat(23_000)}x,0,0,0,0,0,0.0005,0.001,64,Normal`],
  ['a label then a blank run without a colon (chrony tracking text)', `Root delay${blanks}x`],
  ['a value then a blank run before more text (trailing-blank patterns)', `http_proxy=a${blanks}x`],
  ['a reference id then a blank run (w32tm refid)', `ReferenceId: 0x12345678${blanks}x`],
  ['a registry value with a blank run and an open bracket (w32time values)', `NtpServer: a${blanks}x(`],
  ['a quoted rv value with a blank run (ntpq rv)', `offset=${blanks}"`],
  ['an NTPMessage with a blank run and no closing brace', `NTPMessage={${blanks}x`],
  ['a span followed by many opening brackets (timesync-status)', `Offset: 1s${'('.repeat(N)}x`],
  ['many zone marks before a line separator (IPv6)', `${'%'.repeat(N)}\u2028`],
  ['ntpctl words made of "msms…"', `* 1 1 1 a b ${'ms'.repeat(N / 6)} ${'ms'.repeat(N / 6)} ${'ms'.repeat(N / 6)} x`],
  ['a result line with a blank run mid-line', `TSG-REMEDIATE v1 result=changed${blanks}x`],
  ['nested key=value junk', 'a='.repeat(N / 2)],
  ['repeated separators', ',:=()[]"\''.repeat(N / 10)],
  ['unicode and NULs', '\u0000\uFEFF：é中\u2028\u00A0'.repeat(N / 7)],
];

describe('guest output is read in linear time', () => {
  it('parses the old quadratic input (a 23,000-digit chrony field) in well under 10 ms', () => {
    const line = SLOW_INPUTS[0]![1];
    parseTrackingCsv([line]); // warm the pattern up once
    expect(cost(() => parseTrackingCsv([line]))).toBeLessThan(10);
    // As a whole report (over the line cap): refused before any parser sees it, just as fast.
    const report = buildReport({ sections: [['chrony-tracking', [line]], ['chrony-sources', AMAZON_SOURCES_CSV]] });
    expect(cost(() => diagnose(report))).toBeLessThan(10);
    expect(diagnose(report).findings[0]!.code).toBe('report-unreadable');
  });

  it.each(SLOW_INPUTS)('every reader of guest text stays within the budget on %s', (_what, input) => {
    for (const [name, read] of READERS) {
      const ms = cost(() => read([input, input.slice(0, 5_000)]));
      if (ms >= BUDGET_MS) throw new Error(`${name} took ${ms.toFixed(1)} ms on ${_what}`);
    }
  });

  it('refuses a report over the whole-report cap or with a line over the line cap, naming the cap', () => {
    const big = `TSG-REPORT v1 linux\n${'now=1\n'.repeat(MAX_REPORT_CHARS / 6)}TSG-END\n`;
    expect(diagnose(big).findings).toEqual([expect.objectContaining({ code: 'report-unreadable', message: expect.stringContaining(`${MAX_REPORT_CHARS}-character cap`) })]);
    const long = buildReport({ sections: [['chrony-tracking', [AMAZON_TRACKING_CSV, 'x'.repeat(MAX_LINE_CHARS + 1)]], ['chrony-sources', AMAZON_SOURCES_CSV]] });
    const v = diagnose(long);
    expect(v.status).toBe('unknown');
    expect(v.findings[0]!.message).toMatch(/over the 2048-character line cap/);
    // The same report one character shorter on that line is read (so the cap is what refused it).
    const fits = buildReport({ sections: [['chrony-tracking', [AMAZON_TRACKING_CSV, 'x'.repeat(MAX_LINE_CHARS)]], ['chrony-sources', AMAZON_SOURCES_CSV]] });
    expect(diagnose(fits).findings.map((f) => f.code)).not.toContain('report-unreadable');
  });
});

/** Adversarial pieces of text: what a compromised guest could print instead of tool output. */
const junk = fc.oneof(
  fc.integer({ min: 1, max: 1_500 }).map((n) => '9'.repeat(n)),
  fc.integer({ min: 1, max: 1_500 }).map((n) => ' '.repeat(n)),
  fc.integer({ min: 1, max: 700 }).map((n) => 'ms'.repeat(n)),
  fc.integer({ min: 1, max: 500 }).map((n) => 'a=b,'.repeat(n)),
  fc.integer({ min: 1, max: 1_000 }).map((n) => '('.repeat(n)),
  fc.integer({ min: 1, max: 1_000 }).map((n) => '%'.repeat(n)),
  fc.constantFrom(',', ':', '：', '=', '"', '\u0000', '\u2028', '\uFEFF', '\r', 'é', '中', '1e299', '-0.5', 'NaN', 'Infinity', '0x', '{', '}', 's', 'ms', ' (Local)'),
  fc.string({ unit: 'binary', maxLength: 40 }),
);
const junkLine = fc.array(junk, { minLength: 1, maxLength: 6 }).map((parts) => parts.join('').slice(0, MAX_LINE_CHARS));
const SECTIONS = ['chrony-tracking', 'chrony-sources', 'ntpq', 'ntpq-rv', 'ntpctl', 'timedatectl', 'timesync', 'timesync-status', 'w32tm-status', 'w32time-reg', 'w32tm-config', 'proxy', 'imds', 'ena', 'timeconf'];
const DAEMONS = ['chronyd', 'ntpd', 'systemd-timesyncd', 'openntpd', 'none', 'chronyd,ntpd'];

describe('adversarial reports (property)', () => {
  it('every adversarial report is read within the budget, never throws and is never ok', () => {
    fc.assert(
      fc.property(
        fc.constantFrom('linux', 'windows'),
        fc.constantFrom(...DAEMONS),
        fc.array(fc.tuple(fc.constantFrom(...SECTIONS), fc.array(junkLine, { maxLength: 12 })), { minLength: 1, maxLength: 6 }),
        fc.integer({ min: 0, max: 300 }),
        (platform, daemons, sections, blankLines) => {
          const text = [
            `TSG-REPORT v1 ${platform}`,
            `daemons=${daemons}`,
            ...sections.flatMap(([name, lines]) => [`[${name} rc=0]`, ...lines]),
            ...Array<string>(blankLines).fill(''),
            'TSG-END',
          ].join('\n');
          let v: ReturnType<typeof diagnose> | undefined;
          const ms = cost(() => {
            v = diagnose(text);
          });
          expect(ms).toBeLessThan(BUDGET_MS);
          expect(v!.status).not.toBe('ok');
          expect(() => JSON.stringify(v)).not.toThrow();
          // Whatever the report says, no impossible number comes out of it.
          for (const x of [v!.offsetSeconds, v!.clockErrorBoundSeconds]) {
            if (x !== null) expect(Number.isFinite(x) && Math.abs(x) <= 3e6).toBe(true);
          }
          if (v!.clockErrorBoundSeconds !== null) expect(v!.clockErrorBoundSeconds).toBeGreaterThanOrEqual(0);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('every reader is within the budget on adversarial lines, and never throws', () => {
    fc.assert(
      fc.property(fc.array(junkLine, { minLength: 1, maxLength: 20 }), (lines) => {
        for (const [name, read] of READERS) {
          const ms = cost(() => read(lines));
          if (ms >= BUDGET_MS) throw new Error(`${name} took ${ms.toFixed(1)} ms`);
        }
      }),
      { numRuns: 200 },
    );
  });
});

/** Lines in (or just outside) the grammar of the imds, ena and timeconf sections, with hostile numbers and words. */
const digits = fc.oneof(fc.constantFrom('0', '1', '600', '999999999999999', '1e299', '-5', 'NaN', ''), fc.integer({ min: 1, max: 40 }).map((n) => '9'.repeat(n)));
const word = fc.oneof(fc.constantFrom('169.254.169.123', 'fd00:ec2::123', 'FD00:EC2:0::123', 'time.aws.com', 'time.aws.com.', 'pool.ntp.org', '127.127.1.0', 'PHC', ''), junk.map((j) => j.slice(0, 60)));
const imdsLine = fc
  .tuple(fc.constantFrom('curl', 'wget', 'dotnet', 'none', 'off', 'x'), fc.constantFrom('200', '429', '403', '401', 'timeout', 'refused', 'error', 'skipped', '999'), digits, digits, fc.constantFrom('Mon, 07 Dec 2026 14:26:02 GMT', 'Mon, 31 Feb 2026 14:26:02 GMT', 'Sun, 99 Xyz 9999 99:99:99 GMT', ''))
  .map(([via, st, ms, local, date]) => `via=${via} put=${st} put_ms=${ms} get=${st} get_ms=${ms} local=${local} date=${date}`);
const enaLine = fc.tuple(word, digits, digits).map(([n, c, eb]) => `${n.replace(/\s/g, '') || 'eth0'} driver=2.13.0g linklocal_allowance_exceeded=${c} phc_error_bound=${eb}`);
const confLine = fc
  .tuple(fc.constantFrom('chrony', 'ntpd', 'timesyncd', 'x'), fc.constantFrom('server', 'pool', 'peer', 'refclock', 'leapsectz', 'leapfile', 'NTP', 'FallbackNTP', 'include'), fc.array(word, { maxLength: 4 }))
  .map(([d, k, ws]) => `${d} ${k} ${ws.join(' ')}`.slice(0, MAX_LINE_CHARS));

describe('the link-local and time configuration sections (property)', () => {
  const AMAZON_OK = buildReport({ sections: [['chrony-tracking', [AMAZON_TRACKING_CSV]], ['chrony-sources', AMAZON_SOURCES_CSV]] });
  const withSections = (extra: ReadonlyArray<readonly [string, readonly string[]]>) =>
    AMAZON_OK.replace('TSG-END\n', `${extra.flatMap(([n, l]) => [`[${n} rc=0]`, ...l]).join('\n')}\nTSG-END\n`);

  it('never throw, never carry an impossible number, and the configuration lines never change the status (advisory)', () => {
    expect(diagnose(AMAZON_OK).status).toBe('ok');
    fc.assert(
      fc.property(fc.array(imdsLine, { maxLength: 3 }), fc.array(enaLine, { maxLength: 10 }), fc.array(confLine, { maxLength: 20 }), (imds, ena, conf) => {
        const without = diagnose(withSections([['imds', imds], ['ena', ena]]));
        const v = diagnose(withSections([['imds', imds], ['ena', ena], ['timeconf', conf]]));
        expect(v.status).toBe(without.status);
        expect(v.findings.filter((f) => !['mixed-smeared-sources', 'leap-file-with-smeared-source'].includes(f.code))).toEqual(without.findings);
        expect(() => JSON.stringify(v)).not.toThrow();
        if (v.offsetSeconds !== null) expect(Math.abs(v.offsetSeconds)).toBeLessThanOrEqual(MAX_ABS_OFFSET_SECONDS);
        const phc = v['phcErrorBoundSeconds'];
        if (phc !== undefined) expect(typeof phc === 'number' && phc >= 0 && phc <= MAX_BOUND_SECONDS).toBe(true);
        const skew = (v['imdsProbe'] as { skewSeconds?: number } | undefined)?.skewSeconds;
        if (skew !== undefined) expect(Number.isFinite(skew) && Math.abs(skew) <= MAX_ABS_OFFSET_SECONDS).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it('reads the skew only from a real calendar date, and never counts |skew| of 2 s or less', () => {
    expect(parseHttpDate('Mon, 31 Feb 2026 14:26:02 GMT')).toBeNull();
    const now = Date.UTC(2026, 11, 7, 14, 26, 2) / 1000;
    for (const [skew, counted] of [[2, false], [-2, false], [3, true], [-600, true]] as const) {
      const v = diagnose(withSections([['imds', [`via=curl put=200 put_ms=1 get=200 get_ms=1 local=${now + skew} date=Mon, 07 Dec 2026 14:26:02 GMT`]]]));
      expect([skew, v.findings.some((f) => f.code === 'imds-date-skew')]).toEqual([skew, counted]);
    }
  });
});
