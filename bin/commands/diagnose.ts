/**
 * `timesync-guard diagnose [FILE|-]`: reads a collector report and prints the verdict as one JSON
 * object. Exit 0 whatever the verdict; 1 only when the input cannot be read at all (missing file,
 * empty, not a report); 2 for a usage error. Thresholds come from --max-offset / --max-bound or
 * the same environment variables as the Lambda (TSG_MAX_OFFSET_SECONDS, TSG_MAX_CLOCK_ERROR_BOUND_SECONDS).
 */
import { readFileSync } from 'node:fs';
import { diagnose, parseReportStrict, ReportFormatError } from '../../lambda/core/diagnose';
import { ENV, parseSettings, SettingsError } from '../../lambda/core/settings';
import type { Thresholds } from '../../lambda/core/types';
import type { CliIo } from './io';

export const summary = 'Judge a collector report (FILE or - for stdin) and print the verdict as JSON';

const USAGE = `Usage: timesync-guard diagnose [FILE|-] [--max-offset SECONDS] [--max-bound SECONDS] [--pretty]

Reads a report written by the collector (timesync-guard collector linux|windows) from FILE,
or from stdin when FILE is - or absent, and prints one JSON verdict.
Exit codes: 0 a verdict was printed (whatever its status), 1 the input is not a readable report, 2 usage error.`;

interface DiagnoseArgs {
  file?: string;
  maxOffset?: number;
  maxBound?: number;
  pretty: boolean;
}

function parseArgs(args: readonly string[]): DiagnoseArgs {
  const out: DiagnoseArgs = { pretty: false };
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    const seconds = (): number => {
      const v = Number(args[++i]);
      if (!Number.isFinite(v) || v <= 0) throw new Error(`${a} needs a positive number of seconds`);
      return v;
    };
    if (a === '--max-offset') out.maxOffset = seconds();
    else if (a === '--max-bound') out.maxBound = seconds();
    else if (a === '--pretty') out.pretty = true;
    else if (a.startsWith('--') && a !== '--') throw new Error(`unknown option ${a}`);
    else if (out.file === undefined) out.file = a;
    else throw new Error(`unexpected argument ${JSON.stringify(a)}`);
  }
  return out;
}

export async function run(args: string[], io: CliIo): Promise<number> {
  if (args.includes('--help') || args.includes('-h')) {
    io.out(USAGE);
    return 0;
  }
  let parsed: DiagnoseArgs;
  let thresholds: Thresholds;
  try {
    parsed = parseArgs(args);
    const s = parseSettings({ [ENV.maxOffsetSeconds]: io.env[ENV.maxOffsetSeconds], [ENV.maxClockErrorBoundSeconds]: io.env[ENV.maxClockErrorBoundSeconds] });
    thresholds = {
      maxOffsetSeconds: parsed.maxOffset ?? s.maxOffsetSeconds,
      maxClockErrorBoundSeconds: parsed.maxBound ?? s.maxClockErrorBoundSeconds,
    };
  } catch (e) {
    io.err(`timesync-guard diagnose: ${e instanceof SettingsError || e instanceof Error ? e.message : String(e)}\n\n${USAGE}`);
    return 2;
  }
  const from = parsed.file === undefined || parsed.file === '-' ? 'stdin' : parsed.file;
  let text: string;
  try {
    text = from === 'stdin' ? await io.readStdin() : readFileSync(from, 'utf8');
  } catch (e) {
    io.err(`timesync-guard diagnose: cannot read ${from}: ${e instanceof Error ? e.message : String(e)}`);
    return 1;
  }
  try {
    parseReportStrict(text);
  } catch (e) {
    if (e instanceof ReportFormatError) {
      io.err(
        `timesync-guard diagnose: ${from} is not a timesync-guard collector report (${e.message}).\n` +
          'Produce one on the instance with: timesync-guard collector linux > c.sh && sudo sh c.sh > report.txt',
      );
      return 1;
    }
    throw e;
  }
  const verdict = diagnose(text, thresholds);
  io.out(parsed.pretty ? JSON.stringify(verdict, null, 2) : JSON.stringify(verdict));
  return 0;
}
