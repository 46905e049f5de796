/**
 * Schedule expressions judged as EventBridge Scheduler judges them, at synth time instead of at
 * deploy time, and the check interval derived from the check schedule (the alarm periods and the
 * heartbeat follow it, so it can never contradict the schedule).
 *
 * rate(value unit): value a positive integer, unit minute|hour|day singular for 1, plural above.
 * cron(minutes hours day-of-month month day-of-week year): six fields; exactly one of
 * day-of-month and day-of-week is `?` (a value or `*` in one needs `?` in the other).
 */

const RATE = /^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$/;
const CRON = /^cron\((.*)\)$/;

interface Field {
  readonly name: string;
  readonly min: number;
  readonly max: number;
  readonly names?: readonly string[];
  /** Special tokens allowed in this field besides `* , - /`. */
  readonly special: 'none' | 'dom' | 'dow';
}

const MONTHS = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'];
const DAYS = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'];
const FIELDS: readonly Field[] = [
  { name: 'minutes', min: 0, max: 59, special: 'none' },
  { name: 'hours', min: 0, max: 23, special: 'none' },
  { name: 'day-of-month', min: 1, max: 31, special: 'dom' },
  { name: 'month', min: 1, max: 12, names: MONTHS, special: 'none' },
  { name: 'day-of-week', min: 1, max: 7, names: DAYS, special: 'dow' },
  { name: 'year', min: 1970, max: 2199, special: 'none' },
];

function value(f: Field, token: string): number | undefined {
  const named = f.names?.indexOf(token.toUpperCase()) ?? -1;
  if (named >= 0) return named + 1;
  if (!/^\d+$/.test(token)) return undefined;
  const n = Number(token);
  return n >= f.min && n <= f.max ? n : undefined;
}

/** The problem with one item of a comma list, or undefined. */
function itemProblem(f: Field, item: string): string | undefined {
  const bad = `${f.name} field: ${JSON.stringify(item)} is not valid (${f.min}–${f.max}${f.names ? ` or ${f.names[0]}–${f.names[f.names.length - 1]}` : ''})`;
  if (f.special === 'dom' && (/^(L|LW)$/.test(item) || /^\d{1,2}W$/.test(item))) return value(f, item.replace('W', '')) !== undefined || item.startsWith('L') ? undefined : bad;
  if (f.special === 'dow' && /^\w+#[1-5]$/.test(item)) return value(f, item.split('#')[0]!) !== undefined ? undefined : bad;
  if (f.special === 'dow' && /^(\w+)?L$/.test(item)) return item === 'L' || value(f, item.slice(0, -1)) !== undefined ? undefined : bad;
  const [range, step, more] = item.split('/');
  if (more !== undefined || (step !== undefined && !/^[1-9]\d*$/.test(step))) return bad;
  if (range === '*') return undefined;
  const [a, b, extra] = range!.split('-');
  if (extra !== undefined || value(f, a!) === undefined || (b !== undefined && value(f, b) === undefined)) return bad;
  return undefined;
}

function cronProblem(body: string): string | undefined {
  const fields = body.trim().split(/\s+/);
  if (fields.length !== 6) return `cron needs 6 fields (minutes hours day-of-month month day-of-week year), got ${fields.length}`;
  const [, , dom, , dow] = fields as [string, string, string, string, string, string];
  if ((dom === '?') === (dow === '?')) {
    return dom === '?' ? 'day-of-month and day-of-week cannot both be ?' : 'exactly one of day-of-month and day-of-week must be ? (a value or * in one needs ? in the other)';
  }
  for (const [i, f] of FIELDS.entries()) {
    const text = fields[i]!;
    if (text === '?' && f.special !== 'none') continue;
    for (const item of text.split(',')) {
      const p = itemProblem(f, item);
      if (p) return p;
    }
  }
  return undefined;
}

/** The problem with a schedule expression, as EventBridge Scheduler would reject it; undefined when valid. */
export function scheduleProblem(expression: string): string | undefined {
  const rate = RATE.exec(expression);
  if (rate) {
    const n = Number(rate[1]);
    const unit = rate[2]!;
    if (n < 1) return 'a rate must be at least 1';
    if (n === 1 && unit.endsWith('s')) return `use the singular for 1: rate(1 ${unit.slice(0, -1)})`;
    if (n > 1 && !unit.endsWith('s')) return `use the plural above 1: rate(${n} ${unit}s)`;
    return undefined;
  }
  const cron = CRON.exec(expression);
  if (cron) return cronProblem(cron[1]!);
  return "expected 'rate(N minute[s]|hour[s]|day[s])' or 'cron(minutes hours day-of-month month day-of-week year)'";
}

/** Expands a minutes or hours field to the sorted values it fires on. */
function expand(f: Field, text: string): number[] {
  const out = new Set<number>();
  for (const item of text.split(',')) {
    const [range, step] = item.split('/');
    const [a, b] = range === '*' ? [f.min, f.max] : range!.split('-').map(Number);
    const last = b ?? (step !== undefined ? f.max : a!);
    for (let v = a!; v <= last; v += step === undefined ? 1 : Number(step)) out.add(v);
  }
  return [...out].sort((x, y) => x - y);
}

/**
 * The interval between two runs of a valid schedule, in minutes, or the reason there is no single
 * one: a cron must fire every day (day fields `*`/`?`, month and year `*`) at evenly spaced times.
 */
export function scheduleIntervalMinutes(expression: string): { minutes: number } | { problem: string } {
  const rate = RATE.exec(expression);
  if (rate) {
    const n = Number(rate[1]);
    return { minutes: rate[2]!.startsWith('minute') ? n : rate[2]!.startsWith('hour') ? n * 60 : n * 1440 };
  }
  const fields = CRON.exec(expression)?.[1]?.trim().split(/\s+/) ?? [];
  const [min, hour, dom, month, dow, year] = fields;
  const everyDay = (dom === '*' || dom === '?') && (dow === '*' || dow === '?') && month === '*' && year === '*';
  if (!everyDay) return { problem: 'a cron check schedule must fire every day (day-of-month, month, day-of-week and year * or ?), so the alarms know its interval' };
  const times = expand(FIELDS[1]!, hour!).flatMap((h) => expand(FIELDS[0]!, min!).map((m) => h * 60 + m));
  const gaps = new Set(times.map((t, i) => (i + 1 < times.length ? times[i + 1]! : times[0]! + 1440) - t));
  if (gaps.size !== 1) return { problem: `fires at uneven intervals (${[...gaps].sort((a, b) => a - b).join(', ')} minutes apart); the alarms need one interval` };
  return { minutes: [...gaps][0]! };
}
