/**
 * The remediation state machine in the simulated account: Step Functions' ListExecutions,
 * DescribeExecution and StartExecution (AWS JSON 1.0 through bench/wire's handler, so the real SFN
 * client serializes and parses), and each execution run as the synthesized definition runs it
 * (lib/constructs/remediation-state-machine.ts; test/lib/remediation-state-machine.test.ts executes
 * that definition): the request choice (urgent / launch / refused / whole region), the overlap
 * guard (another RUNNING execution → SUCCEEDED `{ skipped: 'overlap' }`), then the remediate
 * function in a loop passing the continuation, `SFN_HOP_MS` between invocations.
 *
 * Modelled, not enforced here: IAM (test/lib/urgent-iam.test.ts decides that on the template).
 */
import type { Clock } from '../../lambda/engine/ports';

/** Step Functions hands the continuation to the next Lambda invocation in this long (drive.ts's A5b). */
const SFN_HOP_MS = 100;
const MAX_ITERATIONS = 60;

/** The remediate function as the loop invokes it. */
export type RemediateFn = (request: Record<string, unknown>) => Promise<{ done: boolean; continuation?: string; summary?: unknown }>;

/** One execution. */
export interface SimExecution {
  readonly executionArn: string;
  readonly name: string;
  readonly input: string;
  readonly startedAt: number;
  status: 'RUNNING' | 'SUCCEEDED' | 'FAILED';
  stoppedAt?: number;
  output?: string;
  error?: string;
  /** Resolves when the execution ends. */
  done: Promise<void>;
}

function fail(name: string, message: string, status = 400): Error {
  return Object.assign(new Error(message), { name, $metadata: { httpStatusCode: status } });
}

export class SimStateMachine {
  readonly executions: SimExecution[] = [];
  readonly calls: Record<string, number> = {};
  private seq = 0;

  constructor(
    readonly stateMachineArn: string,
    private readonly clock: Clock,
    private readonly remediate: RemediateFn,
  ) {}

  /** The wire backend (bench/wire/handler.ts `WireBackend`). */
  async answer(action: string, input: unknown): Promise<unknown> {
    this.calls[action] = (this.calls[action] ?? 0) + 1;
    await this.clock.sleep(30);
    const i = (input ?? {}) as Record<string, unknown>;
    if (action === 'StartExecution') {
      if (i.stateMachineArn !== this.stateMachineArn) throw fail('StateMachineDoesNotExist', `State Machine Does Not Exist: '${String(i.stateMachineArn)}'`);
      const e = this.start(String(i.input ?? '{}'), typeof i.name === 'string' ? i.name : undefined);
      return { executionArn: e.executionArn, startDate: new Date(e.startedAt) };
    }
    if (action === 'ListExecutions') {
      if (i.stateMachineArn !== this.stateMachineArn) throw fail('StateMachineDoesNotExist', 'State Machine Does Not Exist');
      const list = [...this.executions].reverse().filter((e) => i.statusFilter === undefined || e.status === i.statusFilter);
      const max = typeof i.maxResults === 'number' && i.maxResults > 0 ? Math.min(1000, i.maxResults) : 100;
      const from = typeof i.nextToken === 'string' ? Number(i.nextToken) : 0;
      const page = list.slice(from, from + max);
      return {
        executions: page.map((e) => ({ executionArn: e.executionArn, stateMachineArn: this.stateMachineArn, name: e.name, status: e.status, startDate: new Date(e.startedAt), ...(e.stoppedAt ? { stopDate: new Date(e.stoppedAt) } : {}) })),
        ...(from + max < list.length ? { nextToken: String(from + max) } : {}),
      };
    }
    if (action === 'DescribeExecution') {
      const e = this.executions.find((x) => x.executionArn === i.executionArn);
      if (!e) throw fail('ExecutionDoesNotExist', 'Execution Does Not Exist');
      return {
        executionArn: e.executionArn,
        stateMachineArn: this.stateMachineArn,
        name: e.name,
        status: e.status,
        startDate: new Date(e.startedAt),
        input: e.input,
        ...(e.output !== undefined ? { output: e.output } : {}),
        ...(e.stoppedAt ? { stopDate: new Date(e.stoppedAt) } : {}),
      };
    }
    throw fail('UnknownOperationException', `the simulated state machine does not serve ${action}`);
  }

  /** Starts an execution (the scheduler's start of the nightly run uses this directly, input `{}`). */
  start(input: string, name?: string): SimExecution {
    const n = name ?? `sched-${++this.seq}`;
    const same = this.executions.find((e) => e.name === n);
    if (same) {
      // Step Functions answers an identical repeat with the first execution; another input with the name is refused.
      if (same.input === input) return same;
      throw fail('ExecutionAlreadyExists', `Execution Already Exists: '${n}'`);
    }
    const e = { executionArn: `${this.stateMachineArn.replace(':stateMachine:', ':execution:')}:${n}`, name: n, input, startedAt: this.clock.now(), status: 'RUNNING' } as SimExecution;
    this.executions.push(e);
    e.done = this.run(e);
    return e;
  }

  private end(e: SimExecution, status: 'SUCCEEDED' | 'FAILED', output?: unknown, error?: string): void {
    e.status = status;
    e.stoppedAt = this.clock.now();
    if (output !== undefined) e.output = JSON.stringify(output);
    if (error) e.error = error;
  }

  private async run(e: SimExecution): Promise<void> {
    let input: Record<string, unknown>;
    try {
      input = JSON.parse(e.input) as Record<string, unknown>;
    } catch {
      return this.end(e, 'FAILED', undefined, 'States.Runtime');
    }
    // LaunchOrScheduled / UrgentHasIds / InitUrgent / InitLaunch / Init, as synthesized.
    let request: Record<string, unknown>;
    if ('capSpent' in input) {
      if (!('instanceIds' in input)) return this.end(e, 'FAILED', undefined, 'TimeSyncGuard.LaunchRequestRefused');
      request = { trigger: 'urgent', instanceIds: input.instanceIds, capSpent: input.capSpent };
    } else if ('instanceIds' in input) request = { instanceIds: input.instanceIds };
    else if ('trigger' in input) return this.end(e, 'FAILED', undefined, 'TimeSyncGuard.LaunchRequestRefused');
    else request = {};
    await this.clock.sleep(SFN_HOP_MS);
    if (this.executions.filter((x) => x.status === 'RUNNING').length > 1) return this.end(e, 'SUCCEEDED', { skipped: 'overlap', reason: 'another remediation run of this state machine is still RUNNING' });
    for (let k = 0; k < MAX_ITERATIONS; k++) {
      let r;
      try {
        r = await this.remediate(request);
      } catch (err) {
        return this.end(e, 'FAILED', undefined, err instanceof Error ? err.name : 'Error');
      }
      if (r.done) return this.end(e, 'SUCCEEDED', r);
      if (typeof r.continuation !== 'string') return this.end(e, 'FAILED', undefined, 'States.Runtime');
      request = { continuation: r.continuation };
      await this.clock.sleep(SFN_HOP_MS);
    }
    return this.end(e, 'FAILED', undefined, 'TimeSyncGuard.MaxIterations');
  }
}
