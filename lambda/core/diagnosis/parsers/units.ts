/** Number-with-unit helpers shared by the text parsers. */

/** The longest number read: daemons print ~20 characters; guest output is capped before it is parsed slowly. */
export const MAX_NUMBER_CHARS = 40;
/** The longest time span read (`1min 4.5s`, `-34us`). */
const MAX_SPAN_CHARS = 80;

const UNITS: Record<string, number> = {
  ns: 1e-9,
  nsec: 1e-9,
  us: 1e-6,
  'µs': 1e-6,
  'μs': 1e-6,
  usec: 1e-6,
  ms: 1e-3,
  msec: 1e-3,
  s: 1,
  sec: 1,
  min: 60,
  h: 3600,
  d: 86400,
};

/**
 * Parses a systemd time span such as `-34us`, `+1.234ms`, `1min 4.5s`, `0`; seconds, or null.
 * A sign applies to the whole span.
 */
export function parseTimespan(text: string): number | null {
  // A span is a few words ("1min 4.5s"); a longer text is not one, and is not looked at.
  if (text.length > MAX_SPAN_CHARS) return null;
  const t = text.trim();
  if (t === '0') return 0;
  // [\s\S], not `.`: a line terminator inside guest text (a \r, U+2028) must not make the match fail.
  const m = /^([+-]?)([\s\S]*)$/.exec(t)!;
  const sign = m[1] === '-' ? -1 : 1;
  const parts = m[2]!.trim().split(/\s+/);
  if (parts.length === 0 || parts[0] === '') return null;
  let total = 0;
  for (const p of parts) {
    const pm = /^(\d+(?:\.\d+)?)([a-zµμ]+)$/.exec(p);
    if (!pm || UNITS[pm[2]!] === undefined) return null;
    total += Number(pm[1]) * UNITS[pm[2]!]!;
  }
  const v = Number((sign * total).toPrecision(12));
  return Number.isFinite(v) ? v : null;
}

/** A plain decimal number (optionally signed); null for anything else. */
export function parseDecimal(text: string | undefined): number | null {
  if (text === undefined || text.length > MAX_NUMBER_CHARS) return null;
  const t = text.trim();
  if (!/^[+-]?(\d+(\.\d*)?|\.\d+)$/.test(t)) return null;
  const v = Number(t);
  return Number.isFinite(v) ? v : null;
}
