/**
 * The remediation state machine as the check's urgent path sees it: its executions of the last 24 h
 * (the urgent memory and the day's spent cap: `readUrgentHistory`), whether a run is in progress,
 * and the start of one urgent run. IAM lets the check role do these on that one machine only
 * (lib/constructs/urgent-path.ts).
 *
 * Bounded: at most {@link MAX_LISTED} executions listed (newest first, paginated) and only the ones
 * the memory needs described (urgent-named and whole-region runs of the window); a listing that
 * does not reach the window's start within the bound is an error (the urgent path then starts
 * nothing: what could not be read is never acted on). Calls go through the SDK's client with
 * adaptive retries and `withRetry` for throttles beyond them.
 */
import { DescribeExecutionCommand, ListExecutionsCommand, SFNClient } from '@aws-sdk/client-sfn';
import type { ExecutionRecord } from '../core/fleet/urgent';
import { createClient, lazy, type ClientOptions } from './client-factory';
import type { Clock } from './clock';
import { createStartExecution, type StartExecution } from './start-execution';
import { withRetry } from './retry';

/** Executions listed at most per read (one hourly urgent run and one nightly run a day leave ample room for launch runs). */
export const MAX_LISTED = 1000;
/** Executions described at most per read. */
export const MAX_DESCRIBED = 100;

/** What the urgent path asks of the remediation state machine. */
export interface RemediationExecutionsPort {
  /** Executions started at or after `since` (epoch ms), described where the memory needs them; throws when the window cannot be read whole. */
  history(since: number): Promise<ExecutionRecord[]>;
  /** A run of the machine is RUNNING. */
  running(): Promise<boolean>;
  readonly start: StartExecution;
}

/** Options of {@link createRemediationExecutions}. */
export interface RemediationExecutionsOptions {
  readonly stateMachineArn: string;
  readonly clock: Clock;
  /** @default - a client built on first use with {@link createClient} */
  readonly client?: SFNClient;
  readonly clientOptions?: ClientOptions;
}

/** Whether the memory needs the execution's input and output: urgent runs, and runs that are neither urgent nor launch (whole-region). */
function worthDescribing(name: string | undefined): boolean {
  return typeof name === 'string' && !name.startsWith('launch-');
}

export function createRemediationExecutions(options: RemediationExecutionsOptions): RemediationExecutionsPort {
  const arn = options.stateMachineArn;
  const sfn = lazy(() => options.client ?? createClient(SFNClient, 'states', options.clientOptions));
  const send = <T>(operation: string, call: () => Promise<T>): Promise<T> => withRetry(call, options.clock, { operation });
  return {
    start: createStartExecution({ stateMachineArn: arn, clock: options.clock, ...(options.client ? { client: options.client } : {}), ...(options.clientOptions ? { clientOptions: options.clientOptions } : {}) }),
    async running() {
      const out = await send('ListExecutions', () => sfn().send(new ListExecutionsCommand({ stateMachineArn: arn, statusFilter: 'RUNNING', maxResults: 1 })));
      return (out.executions ?? []).length > 0;
    },
    async history(since) {
      const listed: { name?: string; status?: string; executionArn?: string; startedAt: number }[] = [];
      let nextToken: string | undefined;
      let reachedStart = false;
      do {
        const page = await send('ListExecutions', () => sfn().send(new ListExecutionsCommand({ stateMachineArn: arn, maxResults: 100, ...(nextToken ? { nextToken } : {}) })));
        for (const e of page.executions ?? []) {
          const startedAt = e.startDate instanceof Date ? e.startDate.getTime() : NaN;
          // Newest first: the first one before the window ends the listing.
          if (!(startedAt >= since)) {
            reachedStart = true;
            break;
          }
          listed.push({ name: e.name, status: e.status, executionArn: e.executionArn, startedAt });
        }
        nextToken = reachedStart ? undefined : page.nextToken;
        if (listed.length >= MAX_LISTED && nextToken) throw new Error(`more than ${MAX_LISTED} remediation executions in the urgent window: not read whole`);
      } while (nextToken);
      const wanted = listed.filter((e) => worthDescribing(e.name) && typeof e.executionArn === 'string');
      if (wanted.length > MAX_DESCRIBED) throw new Error(`more than ${MAX_DESCRIBED} remediation executions to describe in the urgent window: not read whole`);
      const records: ExecutionRecord[] = listed.filter((e) => !worthDescribing(e.name)).map((e) => ({ name: e.name, status: e.status, startedAt: e.startedAt }));
      for (const e of wanted) {
        const d = await send('DescribeExecution', () => sfn().send(new DescribeExecutionCommand({ executionArn: e.executionArn })));
        records.push({ name: e.name, status: d.status ?? e.status, startedAt: e.startedAt, input: d.input, output: d.output });
      }
      return records;
    },
  };
}
