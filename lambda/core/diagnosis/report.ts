/**
 * The collector report: one compact, versioned text that both collectors (sh and PowerShell) print.
 *
 * ```
 * TSG-REPORT v1 linux          <- magic, version, platform
 * now=1795914070               <- key=value header lines (the guest's own epoch seconds, OS, daemons…)
 * [chrony-tracking rc=0]       <- one section per probe, raw tool output, rc = the probe's exit code
 * 7F000001,127.0.0.1,11,…
 * TSG-CUT chrony-sources 22    <- N lines of that section were dropped to stay under the size budget
 * TSG-END                      <- end marker: without it the report was truncated
 * ```
 * Parsing only: no judgement here (that is diagnose.ts).
 */
import type { Platform } from '../types';

/** Highest report version this parser understands. */
export const REPORT_VERSION = 1;
export const REPORT_MAGIC = 'TSG-REPORT';
export const REPORT_END = 'TSG-END';
export const REPORT_CUT = 'TSG-CUT';

/** One probe's raw output. */
export interface ReportSection {
  readonly name: string;
  /** The probe's exit code; null when the header carried none. 124/137 = the probe timed out. */
  readonly rc: number | null;
  readonly lines: readonly string[];
}

/** A record of lines the collector dropped to fit the size budget. */
export interface ReportCut {
  readonly section: string;
  readonly lines: number;
}

export interface ParsedReport {
  readonly version: number;
  readonly platform: Platform | null;
  /** Header `key=value` lines (first occurrence wins). */
  readonly header: Readonly<Record<string, string>>;
  readonly sections: readonly ReportSection[];
  readonly cuts: readonly ReportCut[];
  /** True when the end marker was found. */
  readonly complete: boolean;
  /** Lines that fit no part of the grammar (before the magic line, or malformed header lines). */
  readonly strayLines: number;
}

/** Thrown by {@link parseReport} when the text is not a collector report at all. */
export class ReportFormatError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ReportFormatError';
  }
}

/** Thrown by {@link parseReport} when the text was cut inside the report's first (magic) line. */
export class ReportTruncatedError extends ReportFormatError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ReportTruncatedError';
  }
}

const MAGIC_RE = /^TSG-REPORT v(\d{1,4})(?: (\S+))?\s*$/;
// rc up to 10 digits: w32tm exits with an HRESULT (e.g. -2147023834 = 0x80070426).
const SECTION_RE = /^\[([a-z0-9][a-z0-9._-]{0,40})(?: rc=(-?\d{1,10}))?\]\s*$/;
const CUT_RE = /^TSG-CUT (\S+) (\d{1,6})\s*$/;
const HEADER_RE = /^([a-z0-9][a-z0-9._-]{0,40})=(.*)$/;

/** How many leading lines may precede the magic line (SSM or a shell may print a banner first). */
const MAX_LEADING_LINES = 20;

/**
 * The most characters a report may hold (and the most bytes a compressed one may declare). The
 * collectors keep theirs under 12,000 before compression and 2,400 plain (SSM returns 2,500 inline,
 * 24,000 at most); a text far beyond is not a report, and is not read at all.
 */
export const MAX_REPORT_CHARS = 65_536;

/**
 * The longest line read. The collectors cut every line at 200 characters: a longer line is not
 * theirs, and a report holding one is not read (no parser ever sees an unbounded line).
 */
export const MAX_LINE_CHARS = 2_048;

/** Splits report text into header and sections; throws {@link ReportFormatError} when it is not a report. */
export function parseReport(text: string): ParsedReport {
  if (typeof text !== 'string') throw new ReportFormatError('report is not text');
  // Guest output is untrusted: its size is checked before anything else looks at it.
  if (text.length > MAX_REPORT_CHARS) {
    throw new ReportFormatError(`the report is ${text.length} characters, over the ${MAX_REPORT_CHARS}-character cap: not read`);
  }
  // Windows output arrives with CRLF and sometimes a BOM; NULs come from binary garbage.
  const clean = text.replace(/^\uFEFF/, '').replace(/\r\n?/g, '\n');
  if (clean.trim() === '') throw new ReportFormatError('report is empty');
  const all = clean.split('\n');
  const long = all.findIndex((l) => l.length > MAX_LINE_CHARS);
  if (long >= 0) {
    throw new ReportFormatError(`line ${long + 1} is ${all[long]!.length} characters, over the ${MAX_LINE_CHARS}-character line cap: the report is not read`);
  }
  // Text after the last newline is a line the collector had not finished when the output was cut
  // ("daemons=chro"): never data. Only the end marker itself may lack its newline.
  const tail = all[all.length - 1]!;
  if (tail.trim() !== REPORT_END) all.pop();
  let start = -1;
  let m: RegExpExecArray | null = null;
  for (let i = 0; i < Math.min(all.length, MAX_LEADING_LINES + 1); i++) {
    m = MAGIC_RE.exec(all[i]!.trim());
    if (m) {
      start = i;
      break;
    }
  }
  if (start < 0 || m === null) {
    const t = tail.trim();
    if (t !== '' && (t.startsWith(`${REPORT_MAGIC} v`) || `${REPORT_MAGIC} v`.startsWith(t))) {
      throw new ReportTruncatedError('the report was cut inside its first line');
    }
    throw new ReportFormatError(`not a timesync-guard report: no "${REPORT_MAGIC} v<N>" line at the top`);
  }
  const version = Number(m[1]);
  const plat = m[2];
  const platform: Platform | null = plat === 'linux' || plat === 'windows' ? plat : null;
  const header: Record<string, string> = {};
  const sections: ReportSection[] = [];
  const cuts: ReportCut[] = [];
  let stray = start;
  let complete = false;
  let current: { name: string; rc: number | null; lines: string[] } | null = null;
  for (let i = start + 1; i < all.length; i++) {
    const line = all[i]!;
    if (line.trim() === REPORT_END) {
      complete = true;
      break;
    }
    const sm = SECTION_RE.exec(line);
    if (sm) {
      current = { name: sm[1]!, rc: sm[2] === undefined ? null : Number(sm[2]), lines: [] };
      sections.push(current);
      continue;
    }
    const cm = CUT_RE.exec(line);
    if (cm) {
      cuts.push({ section: cm[1]!, lines: Number(cm[2]) });
      continue;
    }
    if (current === null) {
      const hm = HEADER_RE.exec(line);
      if (hm) {
        if (!(hm[1]! in header)) header[hm[1]!] = hm[2]!.trim();
      } else if (line.trim() !== '') {
        stray++;
      }
      continue;
    }
    current.lines.push(line);
  }
  // Drop the trailing empty line of each section (the collector ends every probe with a newline).
  const trimmed = sections.map((s) => {
    const lines = [...s.lines];
    while (lines.length > 0 && lines[lines.length - 1]!.trim() === '') lines.pop();
    return { name: s.name, rc: s.rc, lines };
  });
  return { version, platform, header, sections: trimmed, cuts, complete, strayLines: stray };
}

/** The first section of that name, if any. */
export function section(report: ParsedReport, name: string): ReportSection | undefined {
  return report.sections.find((s) => s.name === name);
}

/** A header value split on commas; `none` and empty mean an empty list; undefined when absent. */
export function headerList(report: ParsedReport, key: string): string[] | undefined {
  const v = report.header[key];
  if (v === undefined) return undefined;
  const items = v
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '' && s !== 'none');
  return items;
}
