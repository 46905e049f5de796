/** The per-run remediation summary to the stack's SNS topic. */
import { PublishCommand, type SNSClient } from '@aws-sdk/client-sns';
import type { Notifier } from '../engine/ports';

export type { Notifier };

/** SNS-backed notifier; with no topic configured it does nothing and returns false. */
export function createSnsNotifier(options: { readonly sns: Pick<SNSClient, 'send'>; readonly topicArn?: string }): Notifier {
  return {
    async publish(subject, summary) {
      if (!options.topicArn) return false;
      // SNS subjects: ≤ 100 chars, ASCII printable, no newlines.
      const safeSubject = subject.replace(/[^\x20-\x7e]/g, ' ').slice(0, 100);
      try {
        await options.sns.send(
          new PublishCommand({
            TopicArn: options.topicArn,
            Subject: safeSubject,
            Message: JSON.stringify(summary, null, 2),
          }),
        );
        return true;
      } catch {
        return false;
      }
    },
  };
}
