/**
 * A report cut anywhere before its end marker is never judged and never fixed: random cuts (at line
 * boundaries and mid-line) of real collector reports give `unknown` with `report-truncated` alone,
 * expose no reading, and plan nothing in the guest nor on the hop limit.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { diagnose } from '../../lambda/core/diagnosis/diagnose';
import { guestNeedsFix } from '../../lambda/core/remediation/plan';
import type { Verdict } from '../../lambda/core/types';
import { buildReport } from './report-builder';
import { planForVerdict } from './verdict-plan';

const realReport = (name: string) =>
  readFileSync(join(__dirname, '..', 'fixtures', 'reports', name), 'utf8').replace(/^# source:.*\n/, '');

/** Real collector output (test/fixtures/reports) plus one built report with containers and a proxy. */
const REPORTS: Record<string, string> = {
  synced: realReport('linux-chrony-loopback-synced.txt'),
  skew: realReport('linux-chrony-loopback-skew.txt'),
  lost: realReport('linux-chrony-loopback-lost.txt'),
  containers: buildReport({
    header: { containers: 'docker,containerd', daemons: 'chronyd,ntpd' },
    sections: [
      ['proxy', ['/etc/environment:HTTPS_PROXY=http://***@proxy.corp:3128']],
      ['chrony-tracking', 'chrony_local-loopback_tracking-csv-source-lost.txt'],
      ['chrony-sources', 'chrony_local-loopback_sources-csv-source-lost.txt'],
    ],
  }),
};

function planFor(v: Verdict) {
  const { evaluation, plan } = planForVerdict(v);
  return { e: evaluation, plan };
}

/** Every cut that leaves the end marker incomplete: 1 … up to "TSG-EN". */
function cuts(text: string) {
  const last = text.indexOf('TSG-END') + 'TSG-END'.length - 1;
  const boundaries = [...text.slice(0, last)].flatMap((c, i) => (c === '\n' ? [i + 1] : []));
  return fc.oneof(fc.constantFrom(...boundaries), fc.integer({ min: 1, max: last }));
}

const HONEST_KEYS = ['platform', 'daemon', 'timeSource', 'synchronized', 'offsetSeconds', 'clockErrorBoundSeconds', 'containers', 'status', 'findings', 'reportVersion'];

describe('diagnose: cut reports', () => {
  it.each(Object.keys(REPORTS))('the whole %s report is judged, and planned when at risk (so the properties below can fail)', (name) => {
    const v = diagnose(REPORTS[name]!);
    expect(v.status).not.toBe('unknown');
    const { plan } = planFor(v);
    if (v.status === 'at-risk') expect(plan.instances.length).toBeGreaterThan(0);
  });

  it.each(Object.keys(REPORTS))('a cut of the %s report is unknown with report-truncated alone and is never planned', (name) => {
    const text = REPORTS[name]!;
    fc.assert(
      fc.property(cuts(text), (n) => {
        const v = diagnose(text.slice(0, n));
        expect(v.status).toBe('unknown');
        expect(v.findings.map((f) => f.code)).toEqual(['report-truncated']);
        expect(v).toMatchObject({ daemon: 'unknown', timeSource: 'unknown', synchronized: null, offsetSeconds: null, clockErrorBoundSeconds: null, containers: null });
        for (const k of Object.keys(v)) expect(HONEST_KEYS).toContain(k);
        const { e, plan } = planFor(v);
        expect(e.status).toBe('unknown');
        expect(e.findings.map((f) => f.code)).toEqual(['report-truncated']);
        expect(guestNeedsFix(e)).toBe(false);
        expect(plan.instances).toEqual([]);
      }),
      { numRuns: 300 },
    );
  });

  it('never reads the fragment of the last line as data', () => {
    const text = REPORTS['synced']!;
    const v = diagnose(text.slice(0, text.indexOf('daemons=chronyd') + 'daemons=chro'.length));
    expect(v['daemonsRunning']).toBeUndefined();
    expect(v.findings.map((f) => f.code)).toEqual(['report-truncated']);
  });

  it('keeps the version and platform read from a whole magic line, and nothing from a cut one', () => {
    const text = REPORTS['synced']!;
    expect(diagnose(text.slice(0, text.indexOf('now='))).platform).toBe('linux');
    expect(diagnose(text.slice(0, text.indexOf('now=')))['reportVersion']).toBe(1);
    const cutMagic = diagnose('TSG-REPORT v1 lin');
    expect(cutMagic).toMatchObject({ platform: null, status: 'unknown' });
    expect(cutMagic.findings.map((f) => f.code)).toEqual(['report-truncated']);
  });

  it('a report of an unknown version that was cut is still report-truncated', () => {
    const v = diagnose('TSG-REPORT v9 linux\nnow=1\n');
    expect(v.findings.map((f) => f.code)).toEqual(['report-truncated']);
  });

  it('accepts an end marker that lost only its newline', () => {
    const text = REPORTS['synced']!;
    expect(diagnose(text.trimEnd()).status).toBe(diagnose(text).status);
  });
});
