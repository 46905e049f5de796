/** Test helpers: fixture files without their `# source:` / `# rc=` lines, and report text built from them. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const FIXTURES = join(__dirname, '..', 'fixtures');

/** A fixture's tool output lines (source and rc comment lines removed). */
export function fixtureLines(name: string): string[] {
  return readFileSync(join(FIXTURES, name), 'utf8')
    .split('\n')
    .filter((l) => !/^# (source|rc)[:=]/.test(l))
    .filter((l, i, all) => !(i === all.length - 1 && l === ''));
}

export interface ReportSpec {
  readonly platform?: string;
  readonly header?: Record<string, string>;
  /** [name, fixture file or literal lines, rc] */
  readonly sections?: ReadonlyArray<readonly [string, string | readonly string[], number?]>;
  readonly end?: boolean;
}

/** Builds collector report text as the collectors print it. */
export function buildReport(spec: ReportSpec): string {
  const lines = [`TSG-REPORT v1 ${spec.platform ?? 'linux'}`, 'collector=1'];
  const header = { now: '1795914071', os: 'debian 12', detect: 'proc', daemons: 'chronyd', containers: 'none', ptp: 'none', ...spec.header };
  for (const [k, v] of Object.entries(header)) if (v !== '') lines.push(`${k}=${v}`);
  for (const [name, body, rc] of spec.sections ?? []) {
    lines.push(`[${name} rc=${rc ?? 0}]`);
    lines.push(...(typeof body === 'string' ? fixtureLines(body) : body));
  }
  if (spec.end !== false) lines.push('TSG-END');
  return `${lines.join('\n')}\n`;
}

/** A realistic Amazon-synchronised chrony report (the AL1 doc fixtures, CSV-converted). */
export const AMAZON_TRACKING_CSV = 'A9FEA97B,169.254.169.123,4,1795914070.000000000,0.000000626,0.002852759,0.002852759,1.187,0.020,24.388,0.000504752,0.001112565,64.4,Normal';
export const AMAZON_SOURCES_CSV = [
  '^,*,169.254.169.123,3,6,377,43,-0.000030000,-0.000226000,0.000287000',
  '^,-,203.0.113.12,2,6,377,43,-0.000388000,-0.000388000,0.011000000',
];
