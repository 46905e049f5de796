import 'aws-sdk-client-mock-jest';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { mockClient } from 'aws-sdk-client-mock';
import { AUDIT_DETAIL_TYPES, type AuditActionDetail, createEventBridgeAudit } from '../../lambda/aws/audit';
import { createSnsNotifier } from '../../lambda/aws/notify';
import { awsError } from '../support/sim';

const ebMock = mockClient(EventBridgeClient);
const snsMock = mockClient(SNSClient);
const events = new EventBridgeClient({});
const sleep = jest.fn(async () => undefined);

beforeEach(() => {
  ebMock.reset();
  snsMock.reset();
  sleep.mockClear();
});

const detail = (k: number): AuditActionDetail => ({
  runId: 'r',
  instanceId: `i-${k}`,
  action: 'raise-hop-limit',
  outcome: 'applied',
  before: { hopLimit: 1 },
  after: { hopLimit: 2 },
  dryRun: false,
  at: '2026-01-01T00:00:00.000Z',
});

const ok = (input: { Entries: unknown[] }) => Promise.resolve({ FailedEntryCount: 0, Entries: input.Entries.map(() => ({ EventId: 'x' })) });

describe('createEventBridgeAudit', () => {
  it('puts 25 actions as 3 PutEvents calls of ≤ 10 entries on the default bus with the source and detail-type', async () => {
    ebMock.on(PutEventsCommand).callsFake(ok);
    const audit = createEventBridgeAudit({ events, source: 'timesync-guard', sleep });
    await audit.actions(Array.from({ length: 25 }, (_, k) => detail(k)));
    const calls = ebMock.commandCalls(PutEventsCommand);
    expect(calls.map((c) => c.args[0].input.Entries!.length).sort()).toEqual([10, 10, 5]);
    const e = calls[0]!.args[0].input.Entries![0]!;
    expect(e).toEqual({ Source: 'timesync-guard', DetailType: AUDIT_DETAIL_TYPES.action, Detail: JSON.stringify(detail(0)) });
    expect(audit.failedEntries()).toBe(0);
  });

  it('resends only the entries EventBridge rejected', async () => {
    ebMock
      .on(PutEventsCommand)
      .resolvesOnce({ FailedEntryCount: 1, Entries: [{ EventId: 'a' }, { ErrorCode: 'ThrottlingException', ErrorMessage: 'slow' }, { EventId: 'c' }] })
      .callsFake(ok);
    const audit = createEventBridgeAudit({ events, source: 's', sleep });
    await audit.actions([detail(0), detail(1), detail(2)]);
    const second = ebMock.commandCalls(PutEventsCommand)[1]!.args[0].input.Entries!;
    expect(second.map((x) => JSON.parse(x.Detail!).instanceId)).toEqual(['i-1']);
    expect(audit.failedEntries()).toBe(0);
  });

  it('retries throttling of the whole call, then counts and reports what is lost (never silently)', async () => {
    ebMock.on(PutEventsCommand).rejects(awsError('ThrottlingException'));
    const lost: string[] = [];
    const audit = createEventBridgeAudit({ events, source: 's', sleep, maxAttempts: 3, onLost: (e) => lost.push(JSON.parse(e.Detail!).instanceId) });
    await expect(audit.actions([detail(0), detail(1)])).resolves.toBeUndefined();
    expect(ebMock).toHaveReceivedCommandTimes(PutEventsCommand, 3);
    expect(audit.failedEntries()).toBe(2);
    expect(lost).toEqual(['i-0', 'i-1']);
  });

  it('sends the run summary with its own detail-type', async () => {
    ebMock.on(PutEventsCommand).callsFake(ok);
    const audit = createEventBridgeAudit({ events, source: 's', sleep });
    await audit.summary({ runId: 'r', done: true });
    expect(ebMock).toHaveReceivedCommandWith(PutEventsCommand, {
      Entries: [{ Source: 's', DetailType: 'TimeSync Guard Remediation Run Summary', Detail: '{"runId":"r","done":true}' }],
    });
  });

  it('sends nothing for nothing', async () => {
    const audit = createEventBridgeAudit({ events, source: 's', sleep });
    await audit.actions([]);
    expect(ebMock).toHaveReceivedCommandTimes(PutEventsCommand, 0);
  });
});

describe('createSnsNotifier', () => {
  it('publishes the summary to the topic with a safe subject', async () => {
    snsMock.on(PublishCommand).resolves({ MessageId: 'm' });
    const n = createSnsNotifier({ sns: new SNSClient({}), topicArn: 'arn:aws:sns:us-east-1:1:t' });
    expect(await n.publish(`x\n${'y'.repeat(200)}`, { a: 1 })).toBe(true);
    const input = snsMock.commandCalls(PublishCommand)[0]!.args[0].input;
    expect(input.TopicArn).toBe('arn:aws:sns:us-east-1:1:t');
    expect(input.Subject!.length).toBeLessThanOrEqual(100);
    expect(input.Subject).not.toMatch(/\n/);
    expect(JSON.parse(input.Message!)).toEqual({ a: 1 });
  });

  it('without a topic, or when SNS fails, reports false instead of throwing', async () => {
    expect(await createSnsNotifier({ sns: new SNSClient({}) }).publish('s', {})).toBe(false);
    snsMock.on(PublishCommand).rejects(awsError('AuthorizationError', 403));
    expect(await createSnsNotifier({ sns: new SNSClient({}), topicArn: 'arn:aws:sns:us-east-1:1:t' }).publish('s', {})).toBe(false);
  });
});
