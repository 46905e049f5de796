/**
 * `timesync-guard diagnose [FILE|-]`: reads a collector report and prints the verdict as one JSON
 * object. Exit 0 whatever the verdict; 1 only when the input cannot be read at all (missing file,
 * empty, not a report); 2 for a usage error. Thresholds come from --max-offset / --max-bound or
 * the same environment variables as the Lambda (TSG_MAX_OFFSET_SECONDS, TSG_MAX_CLOCK_ERROR_BOUND_SECONDS).
 */
import { readFileSync } from 'node:fs';
import { diagnose, parseReportStrict, ReportFormatError } from '../../lambda/core/diagnosis/diagnose';
import { nodeReportCodec } from '../../lambda/engine/report-codec';
import { ENV, parseCheckSettings, rejectUnknownVariables } from '../../lambda/core/settings';
import type { Thresholds } from '../../lambda/core/types';
import { ArgReader } from './args';
import type { CliIo } from './io';

export const summary = 'Judge a collector report (FILE or - for stdin) and print the verdict as JSON';

const USAGE = `Usage: npx timesync-guard diagnose [FILE|-] [--max-offset SECONDS] [--max-bound SECONDS] [--pretty]

Reads a report written by the collector from FILE, or from stdin when FILE is - (or absent and
piped), and prints one JSON verdict. Thresholds: 0.001–300 s (default 1, or TSG_MAX_OFFSET_SECONDS /
TSG_MAX_CLOCK_ERROR_BOUND_SECONDS).
Make a report on the instance:
  npx timesync-guard collector linux > c.sh      (copy c.sh to the instance)
  sudo sh c.sh > report.txt                      (copy report.txt back)
  npx timesync-guard diagnose report.txt
Exit codes: 0 a verdict was printed (whatever its status), 1 the input is not a readable report, 2 usage error.`;

interface DiagnoseArgs {
  file?: string;
  maxOffset?: number;
  maxBound?: number;
  pretty: boolean;
}

function parseArgs(args: readonly string[]): DiagnoseArgs {
  const out: DiagnoseArgs = { pretty: false };
  const r = new ArgReader(args);
  while (r.next()) {
    if (r.flag === '--max-offset') out.maxOffset = r.setting('maxOffsetSeconds') as number;
    else if (r.flag === '--max-bound') out.maxBound = r.setting('maxClockErrorBoundSeconds') as number;
    else if (r.arg === '--pretty') out.pretty = true;
    else if (r.arg.startsWith('--') && r.arg !== '--') throw new Error(`unknown option ${r.arg}`);
    else if (out.file === undefined) out.file = r.arg;
    else throw new Error(`unexpected argument ${JSON.stringify(r.arg)}`);
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
    rejectUnknownVariables(io.env);
    // Only the two thresholds: the other settings mean nothing to a report judged by hand.
    const s = parseCheckSettings({ [ENV.maxOffsetSeconds]: io.env[ENV.maxOffsetSeconds], [ENV.maxClockErrorBoundSeconds]: io.env[ENV.maxClockErrorBoundSeconds] });
    thresholds = {
      maxOffsetSeconds: parsed.maxOffset ?? s.maxOffsetSeconds,
      maxClockErrorBoundSeconds: parsed.maxBound ?? s.maxClockErrorBoundSeconds,
    };
  } catch (e) {
    io.err(`timesync-guard diagnose: ${e instanceof Error ? e.message : String(e)}\n\n${USAGE}`);
    return 2;
  }
  if (parsed.file === undefined && io.stdinIsTerminal) {
    io.err(`timesync-guard diagnose: no report given (stdin is a terminal).\n\n${USAGE}`);
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
    parseReportStrict(text, nodeReportCodec);
  } catch (e) {
    if (e instanceof ReportFormatError) {
      io.err(
        `timesync-guard diagnose: ${from} is not a timesync-guard collector report (${e.message}).\n` +
          'Produce one: npx timesync-guard collector linux > c.sh, then on the instance: sudo sh c.sh > report.txt',
      );
      return 1;
    }
    throw e;
  }
  const verdict = diagnose(text, thresholds, nodeReportCodec);
  io.out(parsed.pretty ? JSON.stringify(verdict, null, 2) : JSON.stringify(verdict));
  return 0;
}
