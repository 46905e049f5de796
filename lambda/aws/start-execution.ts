/**
 * Starts one execution of one Step Functions state machine. The launch check starts the remediation
 * run itself: no event on a bus that anyone allowed `events:PutEvents` can write to, and IAM lets the
 * launch role start this one machine only.
 *
 * The call goes through the SDK's own client (its serializer, SigV4 signer and parser) built like
 * every other client here (`createClient`: bounded waits, adaptive retries); throttles beyond the
 * SDK's attempts are retried by `withRetry`. The execution name is the caller's, so a retried call
 * is the same execution (Step Functions answers an identical repeat with the first execution).
 */
import { SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { createClient, lazy, type ClientOptions } from './client-factory';
import type { Clock } from './clock';
import { withRetry } from './retry';

/** Starts an execution of the one machine it was built for; resolves with the execution's ARN. */
export type StartExecution = (input: Record<string, unknown>, name?: string) => Promise<string>;

/** A StartExecution answer without an execution ARN: never taken for a started run. */
export class StartExecutionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UnreadableResponse';
  }
}

const ARN = /^arn:aws[a-z-]*:states:[a-z0-9-]+:\d{12}:stateMachine:[A-Za-z0-9_-]{1,80}$/;

/** Options of {@link createStartExecution}. */
export interface StartExecutionOptions {
  readonly stateMachineArn: string;
  readonly clock: Clock;
  /** @default - a client built on first use with {@link createClient} */
  readonly client?: SFNClient;
  /** Options for the client built on first use (tests: credentials, attempts). @default {} */
  readonly clientOptions?: ClientOptions;
}

/** Builds the StartExecution call for one state machine; a malformed ARN fails each call, naming it (never the handler's other work). */
export function createStartExecution(options: StartExecutionOptions): StartExecution {
  const arn = options.stateMachineArn;
  const sfn = lazy(() => options.client ?? createClient(SFNClient, 'states', options.clientOptions));
  return async (input, name) => {
    if (!ARN.test(arn)) throw new Error(`not a state machine ARN: ${JSON.stringify(arn).slice(0, 120)}`);
    const command = new StartExecutionCommand({ stateMachineArn: arn, input: JSON.stringify(input), ...(name ? { name } : {}) });
    const out = await withRetry(() => sfn().send(command), options.clock, { operation: 'StartExecution' });
    if (typeof out.executionArn !== 'string' || out.executionArn === '') throw new StartExecutionError('StartExecution answered without an execution ARN');
    return out.executionArn;
  };
}
