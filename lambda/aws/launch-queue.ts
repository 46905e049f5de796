/**
 * The launch check's retry path: instances whose SSM agent is not Online yet go back on the launch
 * queue with an SQS delivery delay (the backoff), instead of a Lambda waiting while it is billed.
 */
import { SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { LAUNCH_RETRY_KIND, LAUNCH_RETRY_MAX_TARGETS, type LaunchTarget } from '../core/fleet/launch';
import type { Clock } from './clock';
import { withRetry } from './retry';

/** Where retries go. */
export interface LaunchRequeue {
  /** Puts the targets back, to be delivered after `delaySeconds`; rejects when they could not be queued. */
  requeue(targets: readonly LaunchTarget[], delaySeconds: number): Promise<void>;
}

/** Targets per message: ≈ 80 bytes each keeps a message far below the SQS size limit (and the parser refuses more). */
export const TARGETS_PER_MESSAGE = LAUNCH_RETRY_MAX_TARGETS;

/** SQS-backed requeue (SendMessage with DelaySeconds, ≤ 900 s). */
export function createSqsLaunchRequeue(options: {
  readonly sqs: Pick<SQSClient, 'send'>;
  readonly queueUrl: string;
  readonly clock: Clock;
  /** Wraps each retry message (the organization hub adds the member account and region). @default - sent as it is */
  readonly wrap?: (message: Record<string, unknown>) => Record<string, unknown>;
}): LaunchRequeue {
  return {
    async requeue(targets, delaySeconds) {
      const delay = Math.max(0, Math.min(900, Math.round(delaySeconds)));
      for (let k = 0; k < targets.length; k += TARGETS_PER_MESSAGE) {
        const message = { kind: LAUNCH_RETRY_KIND, targets: targets.slice(k, k + TARGETS_PER_MESSAGE) };
        const body = JSON.stringify(options.wrap ? options.wrap(message) : message);
        await withRetry(() => options.sqs.send(new SendMessageCommand({ QueueUrl: options.queueUrl, MessageBody: body, DelaySeconds: delay })), options.clock, {
          operation: 'SendMessage',
        });
      }
    },
  };
}
