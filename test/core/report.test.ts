import { headerList, parseReport, ReportFormatError, ReportTruncatedError, section } from '../../lambda/core/diagnosis/report';

describe('parseReport', () => {
  const text = [
    'TSG-REPORT v1 linux',
    'now=1795914071',
    'daemons=chronyd,ntpd',
    'containers=none',
    '[chrony-tracking rc=0]',
    'A,B',
    '',
    '[chrony-sources rc=1]',
    'row',
    'TSG-CUT chrony-sources 12',
    'TSG-END',
  ].join('\n');

  it('splits header, sections, cut markers and the end marker', () => {
    const p = parseReport(text);
    expect(p).toMatchObject({ version: 1, platform: 'linux', complete: true, cuts: [{ section: 'chrony-sources', lines: 12 }] });
    expect(p.header['now']).toBe('1795914071');
    expect(section(p, 'chrony-tracking')).toEqual({ name: 'chrony-tracking', rc: 0, lines: ['A,B'] });
    expect(section(p, 'chrony-sources')?.rc).toBe(1);
    expect(headerList(p, 'daemons')).toEqual(['chronyd', 'ntpd']);
    expect(headerList(p, 'containers')).toEqual([]);
    expect(headerList(p, 'missing')).toBeUndefined();
  });

  it('reads Windows CRLF output with a BOM', () => {
    const p = parseReport(`\uFEFF${text.replace('linux', 'windows').split('\n').join('\r\n')}`);
    expect(p.platform).toBe('windows');
    expect(p.complete).toBe(true);
    expect(section(p, 'chrony-tracking')?.lines).toEqual(['A,B']);
  });

  it('tolerates a few banner lines before the magic line', () => {
    const p = parseReport(`Warning: something\n${text}`);
    expect(p.complete).toBe(true);
    expect(p.strayLines).toBe(1);
  });

  it('marks a report without its end marker as incomplete', () => {
    expect(parseReport(text.replace('\nTSG-END', '')).complete).toBe(false);
  });

  it('never takes the unfinished last line of a cut report as data', () => {
    const p = parseReport(text.slice(0, text.indexOf('daemons=chronyd') + 'daemons=chro'.length));
    expect(p.complete).toBe(false);
    expect(p.header['daemons']).toBeUndefined();
    expect(p.header['now']).toBe('1795914071');
    const q = parseReport(text.slice(0, text.indexOf('\nTSG-CUT') + 4));
    expect(section(q, 'chrony-sources')?.lines).toEqual(['row']);
  });

  it('reads an end marker that lost only its newline as the end', () => {
    expect(parseReport(`${text}`).complete).toBe(true);
    expect(text.endsWith('TSG-END')).toBe(true);
  });

  it.each(['T', 'TSG-REP', 'TSG-REPORT v1 lin', 'TSG-REPORT v1 linux', 'banner\nTSG-REPORT v'])('throws ReportTruncatedError for a cut inside the magic line (%j)', (input) => {
    expect(() => parseReport(input)).toThrow(ReportTruncatedError);
  });

  it.each([
    ['empty', ''],
    ['whitespace', ' \n\t\n'],
    ['another program', 'Reference ID    : A9FEA97B (169.254.169.123)\nStratum : 4\n'],
    ['the magic line too late', `${'x\n'.repeat(30)}TSG-REPORT v1 linux\nTSG-END\n`],
  ])('throws ReportFormatError for %s', (_label, input) => {
    expect(() => parseReport(input)).toThrow(ReportFormatError);
  });
});
