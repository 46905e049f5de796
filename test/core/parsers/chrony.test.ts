import {
  chronycFailure,
  parseSourcesCsv,
  parseSourcesText,
  parseTrackingCsv,
  parseTrackingText,
} from '../../../lambda/core/diagnosis/parsers/chrony';
import { fixtureLines } from '../report-builder';

describe('chrony tracking', () => {
  it.each([
    ['chrony_local-loopback_tracking-csv-synced.txt', { refId: '7F000001', address: '127.0.0.1', stratum: 11, systemTimeSlow: -0.000001299, leap: 'Normal', updateInterval: 1 }],
    ['chrony_local-loopback_tracking-csv-unsynchronised.txt', { refId: '00000000', address: '', stratum: 0, refTime: null, leap: 'Not synchronised' }],
    ['chrony_local-loopback_tracking-csv-source-lost.txt', { refId: '7F000001', leap: 'Normal', rootDispersion: 0.000027061 }],
    ['chrony_local-loopback_tracking-csv-localstratum-server.txt', { refId: '7F7F0101', address: '', stratum: 10 }],
  ])('reads the CSV form %s', (file, expected) => {
    expect(parseTrackingCsv(fixtureLines(file))).toMatchObject(expected);
  });

  it.each([
    // "fast" = ahead = negative in chrony's slow-positive convention.
    ['chrony_local-loopback_tracking-synced.txt', { refId: '7F000001', address: 'localhost', systemTimeSlow: -0.000001299, rootDelay: 0.000005548 }],
    ['chrony_al1_tracking-awsdoc-2017.txt', { refId: 'A9FEA97B', address: '169.254.169.123', systemTimeSlow: 0.000000626, updateInterval: 64.4 }],
    // chrony < 3: dotted-quad reference ID becomes hex.
    ['chrony_ubuntu_tracking-awsdoc-oldformat-2017.txt', { refId: 'A9FEA97B', address: '169.254.169.123', stratum: 4, rootDispersion: 0.000631 }],
    ['chrony_local-loopback_tracking-unsynchronised.txt', { refId: '00000000', leap: 'Not synchronised' }],
  ])('reads the text form %s', (file, expected) => {
    expect(parseTrackingText(fixtureLines(file))).toMatchObject(expected);
  });

  it('gives the text form a reference time in epoch seconds', () => {
    expect(parseTrackingText(fixtureLines('chrony_al1_tracking-awsdoc-2017.txt'))?.refTime).toBe(Date.UTC(2017, 10, 22, 13, 18, 34) / 1000);
  });

  it.each([
    ['506 Cannot talk to daemon', 'cannot-talk'],
    ['Could not open connection to daemon', 'no-connection'],
  ])('recognises chronyc failure %s', (line, kind) => {
    expect(chronycFailure([line])).toBe(kind);
    expect(parseTrackingCsv([line])).toBeNull();
    expect(parseTrackingText([line])).toBeNull();
  });

  it('reads the real daemon-not-running fixture as a failure', () => {
    expect(chronycFailure(fixtureLines('chrony_none_tracking-csv-daemon-not-running.txt'))).toBe('cannot-talk');
  });

  it.each([['13 fields,1,2,3'], ['ZZZZZZZZ,1.2.3.4,3,1,2,3,4,5,6,7,8,9,1.0,Normal'], ['A9FEA97B,1.2.3.4,x,1,2,3,4,5,6,7,8,9,1.0,Normal'], ['A9FEA97B,1.2.3.4,3,1,2,3,4,5,6,7,8,9,1.0,Maybe']])(
    'rejects a malformed CSV line %s',
    (line) => {
      expect(parseTrackingCsv([line])).toBeNull();
    },
  );
});

describe('chrony sources', () => {
  it('reads the CSV form, reach as octal and LastRx "never"', () => {
    expect(parseSourcesCsv(fixtureLines('chrony_local-loopback_sources-csv-synced.txt'))).toEqual([
      { mode: '^', state: '*', address: '127.0.0.1', stratum: 10, poll: 0, reach: 255, lastRx: 1, adjustedOffset: 0.000003002, measuredOffset: 0.000003005, errorBound: 0.000005934 },
    ]);
    expect(parseSourcesCsv(fixtureLines('chrony_local-loopback_sources-csv-unsynchronised.txt'))![0]).toMatchObject({ state: '?', reach: 0, lastRx: null });
    expect(parseSourcesCsv(fixtureLines('chrony_local-loopback_sources-csv-source-lost.txt'))![0]).toMatchObject({ state: '?', reach: 0, lastRx: 26 });
  });

  it('reads empty output as no sources, and garbage as unreadable', () => {
    expect(parseSourcesCsv([])).toEqual([]);
    expect(parseSourcesCsv(['hello'])).toBeNull();
  });

  it.each([
    ['chrony_al1_sources-verbose-awsdoc-2017.txt', 7, { address: '169.254.169.123', state: '*', adjustedOffset: -0.00003, measuredOffset: -0.000226, errorBound: 0.000287, reach: 0o17 }],
    ['chrony_ubuntu_sources-verbose-awsdoc-2017.txt', 7, { address: '169.254.169.123', state: '*', adjustedOffset: 0.000015 }],
    ['chrony_local-loopback_sources-n-synced.txt', 1, { address: '127.0.0.1', adjustedOffset: 0.000003002 }],
    ['chrony_local-loopback_sources-synced.txt', 1, { address: 'localhost' }],
  ])('reads the text form %s', (file, count, first) => {
    const rows = parseSourcesText(fixtureLines(file))!;
    expect(rows).toHaveLength(count);
    expect(rows[0]).toMatchObject(first);
    for (const r of rows) expect(Number.isFinite(r.adjustedOffset)).toBe(true);
  });

  it('reads the old "10y" LastRx of never-sampled sources as never', () => {
    const rows = parseSourcesText(fixtureLines('chrony_ubuntu_sources-verbose-awsdoc-2017.txt'))!;
    expect(rows[3]).toMatchObject({ state: '?', lastRx: 315360000 });
  });
});
