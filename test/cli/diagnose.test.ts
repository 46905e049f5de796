import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from '../../bin/commands/diagnose';
import type { CliIo } from '../../bin/commands/io';
import { reportEnvelope } from '../../bench/sim/report-envelope';
import { AMAZON_SOURCES_CSV, AMAZON_TRACKING_CSV, buildReport } from '../core/report-builder';

function io(stdin = '', env: Record<string, string> = {}) {
  const out: string[] = [];
  const err: string[] = [];
  const cli: CliIo = { out: (s) => out.push(s), err: (s) => err.push(s), readStdin: async () => stdin, env };
  return { cli, out, err };
}

const report = buildReport({ header: { now: '1795914100' }, sections: [['chrony-tracking', [AMAZON_TRACKING_CSV]], ['chrony-sources', AMAZON_SOURCES_CSV]] });
const dir = mkdtempSync(join(tmpdir(), 'tsg-h1-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('timesync-guard diagnose', () => {
  it('prints one JSON verdict for a report file and exits 0', async () => {
    const f = join(dir, 'report.txt');
    writeFileSync(f, report);
    const t = io();
    expect(await run([f], t.cli)).toBe(0);
    expect(t.out).toHaveLength(1);
    expect(JSON.parse(t.out[0]!)).toMatchObject({ status: 'ok', timeSource: 'amazon-ipv4' });
    expect(t.err).toEqual([]);
  });

  it('reads stdin with - or without a file, and exits 0 for an at-risk verdict too', async () => {
    const atRisk = report.replace(/169\.254\.169\.123/g, '192.0.2.1');
    for (const args of [['-'], []]) {
      const t = io(atRisk);
      expect(await run(args, t.cli)).toBe(0);
      expect(JSON.parse(t.out[0]!).status).toBe('at-risk');
    }
  });

  it('exits 0 with status unknown for a truncated report', async () => {
    const t = io(report.replace('TSG-END\n', ''));
    expect(await run(['-'], t.cli)).toBe(0);
    expect(JSON.parse(t.out[0]!).findings[0].code).toBe('report-truncated');
  });

  it('reads the compressed envelope the collectors print: the same verdict; a cut one is report-truncated (exit 0), a bad one exits 1', async () => {
    const sealed = reportEnvelope(report);
    const plain = io(report);
    const t = io(sealed);
    expect(await run(['-'], plain.cli)).toBe(0);
    expect(await run(['-'], t.cli)).toBe(0);
    expect(t.out).toEqual(plain.out);
    const cut = io(sealed.slice(0, 120));
    expect(await run(['-'], cut.cli)).toBe(0);
    expect(JSON.parse(cut.out[0]!).findings.map((f: { code: string }) => f.code)).toEqual(['report-truncated']);
    const bad = io(sealed.replace(/ [0-9a-f]{16} /, ' ffffffffffffffff '));
    expect(await run(['-'], bad.cli)).toBe(1);
    expect(bad.err.join('')).toMatch(/fails its checksum/);
  });

  it.each([
    ['empty input', ''],
    ['something that is not a report', 'Reference ID : A9FEA97B (169.254.169.123)\n'],
  ])('exits 1 with a clear message on stderr for %s', async (_l, stdin) => {
    const t = io(stdin);
    expect(await run([], t.cli)).toBe(1);
    expect(t.out).toEqual([]);
    expect(t.err.join('')).toMatch(/not a timesync-guard collector report/);
  });

  it('exits 1 for a missing file', async () => {
    const t = io();
    expect(await run([join(dir, 'nope.txt')], t.cli)).toBe(1);
    expect(t.err.join('')).toMatch(/cannot read/);
  });

  it('applies --max-offset and the TSG_MAX_* environment variables', async () => {
    // 5 ms off: over a 1 ms threshold, the smallest the stack accepts.
    const off = report.replace('0.000000626', '0.005000000');
    let t = io(off);
    await run(['--max-offset', '0.001'], t.cli);
    expect(JSON.parse(t.out[0]!).findings.map((f: { code: string }) => f.code)).toEqual(['offset-over-threshold']);
    t = io(off);
    await run(['--max-offset=0.001'], t.cli);
    expect(JSON.parse(t.out[0]!).findings.map((f: { code: string }) => f.code)).toEqual(['offset-over-threshold']);
    t = io(report, { TSG_MAX_CLOCK_ERROR_BOUND_SECONDS: '0.001' });
    await run([], t.cli);
    expect(JSON.parse(t.out[0]!).findings.map((f: { code: string }) => f.code)).toEqual(['clock-error-bound-over-threshold']);
  });

  it.each([[['--max-offset', 'x']], [['--bogus']], [['a', 'b']]])('exits 2 on a usage error %j', async (args) => {
    const t = io(report);
    expect(await run(args, t.cli)).toBe(2);
    expect(t.err.join('')).toMatch(/Usage/);
  });
});

describe('timesync-guard diagnose manners', () => {
  it('says what it expects instead of waiting when no file is given on a terminal', async () => {
    const t = io(report);
    const cli = { ...t.cli, stdinIsTerminal: true, readStdin: () => Promise.reject(new Error('must not read a terminal')) };
    expect(await run([], cli)).toBe(2);
    expect(t.err.join('')).toContain('no report given (stdin is a terminal)');
    expect(t.err.join('')).toContain('npx timesync-guard collector linux > c.sh');
    expect(t.err.join('')).toContain('npx timesync-guard diagnose report.txt');
  });

  it.each([
    [['--max-offset', '1e9'], /--max-offset: must be a number in \[0\.001, 300\], got 1000000000/],
    [['--max-offset=0'], /--max-offset: must be a number in \[0\.001, 300\], got 0/],
    [['--max-bound', '301'], /--max-bound: must be a number in \[0\.001, 300\]/],
    [['--max-bound='], /--max-bound needs a value/],
  ])('holds %j to the stack\'s range', async (args, message) => {
    const t = io(report);
    expect(await run(args, t.cli)).toBe(2);
    expect(t.err.join('')).toMatch(message);
  });

  it('rejects a mistyped TSG_ variable, naming the nearest one', async () => {
    const t = io(report, { TSG_MAX_OFSET_SECONDS: '2' });
    expect(await run([], t.cli)).toBe(2);
    expect(t.err.join('')).toContain('TSG_MAX_OFSET_SECONDS: unknown variable; did you mean TSG_MAX_OFFSET_SECONDS?');
  });

  it('hints a pasteable command for something that is not a report', async () => {
    const t = io('hello');
    expect(await run([], t.cli)).toBe(1);
    expect(t.err.join('')).toContain('npx timesync-guard collector linux > c.sh');
  });
});
