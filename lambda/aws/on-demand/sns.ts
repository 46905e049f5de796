/** Loaded on first use (../lazy-adapters.ts): the night's SNS summary. */
import { SNSClient } from '@aws-sdk/client-sns';
import type { Notifier } from '../../engine/ports';
import { createClient } from '../client-factory';
import { createSnsNotifier } from '../notify';

export function snsNotifier(topicArn: string): Notifier {
  return createSnsNotifier({ sns: createClient(SNSClient, 'sns'), topicArn });
}
