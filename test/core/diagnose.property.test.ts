/** Random, garbled and truncated input never throws and never yields status ok. */
import fc from 'fast-check';
import { diagnose } from '../../lambda/core/diagnosis/diagnose';
import { AMAZON_SOURCES_CSV, AMAZON_TRACKING_CSV, buildReport } from './report-builder';

const good = buildReport({
  header: { now: '1795914100' },
  sections: [
    ['chrony-tracking', [AMAZON_TRACKING_CSV]],
    ['chrony-sources', AMAZON_SOURCES_CSV],
  ],
});

const VERDICT_KEYS = ['platform', 'daemon', 'timeSource', 'synchronized', 'offsetSeconds', 'clockErrorBoundSeconds', 'containers', 'status', 'findings'];

function wellFormed(v: ReturnType<typeof diagnose>): void {
  for (const k of VERDICT_KEYS) expect(v).toHaveProperty(k);
  expect(['ok', 'at-risk', 'unknown']).toContain(v.status);
  if (v.status !== 'ok') expect(v.findings.length).toBeGreaterThan(0);
  expect(() => JSON.stringify(v)).not.toThrow();
}

describe('diagnose properties', () => {
  it('the reference report is ok (so the properties below can fail)', () => {
    expect(diagnose(good).status).toBe('ok');
  });

  it('never throws and never says ok on arbitrary text', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 3000 }), (s) => {
        const v = diagnose(s);
        wellFormed(v);
        expect(v.status).not.toBe('ok');
      }),
      { numRuns: 500 },
    );
  });

  it('never says ok on arbitrary lines after a valid magic line', () => {
    const line = fc.oneof(
      fc.string({ maxLength: 80 }),
      fc.constantFrom('[chrony-tracking rc=0]', '[chrony-sources rc=0]', '[ntpq rc=0]', 'daemons=chronyd', 'daemons=none', 'now=1795914100', 'TSG-CUT chrony-sources 3'),
    );
    fc.assert(
      fc.property(fc.constantFrom('linux', 'windows', 'x'), fc.array(line, { maxLength: 30 }), fc.boolean(), (plat, lines, end) => {
        const v = diagnose([`TSG-REPORT v1 ${plat}`, ...lines, ...(end ? ['TSG-END'] : [])].join('\n'));
        wellFormed(v);
        expect(v.status).not.toBe('ok');
      }),
      { numRuns: 500 },
    );
  });

  it('never says ok once a good report is cut short', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: good.length - 'TSG-END\n'.length - 1 }), (n) => {
        const v = diagnose(good.slice(0, n));
        wellFormed(v);
        expect(v.status).not.toBe('ok');
      }),
    );
  });

  it('never says ok when one character of the tracking or sources data is garbled', () => {
    const start = good.indexOf('[chrony-tracking');
    const end = good.indexOf('TSG-END');
    fc.assert(
      fc.property(fc.integer({ min: start, max: end - 1 }), fc.constantFrom('x', '?', ',', ' ', '\n', '-', '9'), (i, ch) => {
        const garbled = good.slice(0, i) + ch + good.slice(i + 1);
        const v = diagnose(garbled);
        wellFormed(v);
        // A substitution may still be a valid, healthy report (e.g. a digit in a small offset becomes 9):
        // then it must still be judged from the numbers, never from nothing.
        if (v.status === 'ok') {
          expect(v.synchronized).toBe(true);
          expect(Math.abs(v.offsetSeconds!)).toBeLessThanOrEqual(1);
          expect(v.clockErrorBoundSeconds!).toBeLessThanOrEqual(1);
          expect(v.timeSource).toMatch(/^amazon-/);
        }
      }),
      { numRuns: 500 },
    );
  });
});
