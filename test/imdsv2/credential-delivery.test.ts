/** CloudTrail's IMDSv1-credential evidence, pure parts (lambda/core/imdsv2/credential-delivery.ts) and the readiness gate input. */
import {
  confirmedImpact,
  countsFromRows,
  credentialLogFields,
  credentialQuery,
  evidenceIsFresh,
  instanceIdOfSession,
  parseEvidence,
} from '../../lambda/core/imdsv2/credential-delivery';
import { assessReadiness, readinessWindow } from '../../lambda/core/imdsv2/readiness';

const NOW = Date.UTC(2026, 11, 7, 2);
const ID = 'i-0123456789abcdef0';
const LAKE = { kind: 'lake', eventDataStoreArn: 'arn:aws:cloudtrail:eu-west-1:111122223333:eventdatastore/eds-1' } as const;

describe('instance sessions from CloudTrail', () => {
  it.each([
    [`arn:aws:sts::111122223333:assumed-role/app/${ID}`, ID],
    ['arn:aws:sts::111122223333:assumed-role/app/i-01234567', 'i-01234567'],
    ['arn:aws:sts::111122223333:assumed-role/app/alice', undefined],
    [`arn:aws:iam::111122223333:user/${ID}`, undefined],
    [`arn:aws:sts::111122223333:assumed-role/app/${ID}x`, undefined],
    [undefined, undefined],
  ])('%s is instance %s', (arn, id) => {
    expect(instanceIdOfSession(arn)).toBe(id);
  });

  it('counts IMDSv1 deliveries and clock-shaped failures per instance, dropping anything else', () => {
    const s = `arn:aws:sts::111122223333:assumed-role/app/${ID}`;
    const counts = countsFromRows([
      { arn: s, delivery: '1.0', n: '2' },
      { arn: s, delivery: '2.0', errorCode: 'RequestExpired', n: '3' },
      { arn: s, delivery: '2.0', errorCode: 'AccessDenied', n: '5' },
      { arn: s, delivery: '1.0', n: '-1' },
      { arn: s, delivery: '1.0', n: 'many' },
      { arn: 'arn:aws:sts::111122223333:assumed-role/app/bob', delivery: '1.0', n: '9' },
    ]);
    expect(counts).toEqual({ [ID]: { imdsv1Deliveries: 2, failed: { RequestExpired: 3 } } });
    expect(credentialLogFields(counts[ID])).toEqual({ imdsv1CredentialDeliveries: 2, clockFailedCalls: 3, clockFailedCodes: 'RequestExpired' });
  });

  it('queries the last 14 days of the event data store for ec2RoleDelivery 1.0 and the three error codes', () => {
    const q = credentialQuery(LAKE, NOW);
    expect(q.start).toBe(NOW - 14 * 86_400_000);
    expect(q.text).toContain('FROM eds-1');
    expect(q.text).toContain("userIdentity.sessionContext.ec2RoleDelivery = '1.0'");
    expect(q.text).toContain("'RequestExpired', 'SignatureDoesNotMatch', 'ExpiredToken'");
    expect(q.text).toContain("eventTime >= '2026-11-23 02:00:00'");
  });

  it('refuses stored evidence that is not well-formed, and serves fresh evidence of the same source only', () => {
    const good = { version: 1, source: `lake:${LAKE.eventDataStoreArn}`, takenAt: new Date(NOW).toISOString(), byInstance: { [ID]: { imdsv1Deliveries: 1, failed: {} } } };
    expect(parseEvidence(JSON.stringify(good))).toEqual(good);
    for (const bad of ['{', '[]', JSON.stringify({ ...good, byInstance: { 'not-an-id': { imdsv1Deliveries: 1, failed: {} } } }), JSON.stringify({ ...good, byInstance: { [ID]: { imdsv1Deliveries: -1, failed: {} } } })]) {
      expect(parseEvidence(bad)).toBeUndefined();
    }
    const e = parseEvidence(JSON.stringify(good));
    expect(evidenceIsFresh(e, LAKE, NOW + 3_600_000)).toBe(true);
    expect(evidenceIsFresh(e, LAKE, NOW + 25 * 3_600_000)).toBe(false);
    expect(evidenceIsFresh(e, { kind: 'logs', logGroupName: 'x' }, NOW)).toBe(false);
  });

  it('confirms impact only where failed calls go with a measured offset over the threshold', () => {
    const byInstance = { 'i-00000001': { imdsv1Deliveries: 0, failed: { RequestExpired: 2 } }, 'i-00000002': { imdsv1Deliveries: 0, failed: { SignatureDoesNotMatch: 1 } }, 'i-00000003': { imdsv1Deliveries: 4, failed: {} } };
    const offsets = new Map<string, number | null>([['i-00000001', 310], ['i-00000002', 0.002], ['i-00000003', 400]]);
    expect(confirmedImpact(byInstance, offsets, 1)).toEqual(['i-00000001']);
  });
});

describe('the readiness gate input', () => {
  const w = readinessWindow(NOW, 14);
  const clean = Object.fromEntries(w.days.map((d) => [d, 0]));
  const base = { instanceId: ID, httpTokens: 'optional' as const, launchTime: new Date(NOW - 60 * 86_400_000).toISOString(), daily: clean };

  it('is ready on clean MetadataNoToken without CloudTrail (the gate can pass)', () => {
    expect(assessReadiness(base, w).state).toBe('ready');
    expect(assessReadiness({ ...base, imdsv1CredentialDeliveries: 0 }, w).state).toBe('ready');
  });

  it('is uses-imdsv1 with one IMDSv1 credential delivery, whatever MetadataNoToken says', () => {
    expect(assessReadiness({ ...base, imdsv1CredentialDeliveries: 1 }, w)).toMatchObject({ state: 'uses-imdsv1', likelySource: 'cloudtrail-ec2RoleDelivery-1.0' });
  });

  it('is never ready when CloudTrail is configured but unreadable', () => {
    expect(assessReadiness({ ...base, imdsv1CredentialDeliveries: null }, w)).toMatchObject({ state: 'not-enough-history', reason: 'cloudtrail-unreadable' });
  });

  it('already-required stays so', () => {
    expect(assessReadiness({ ...base, httpTokens: 'required', imdsv1CredentialDeliveries: 3 }, w).state).toBe('already-required');
  });
});

describe('the CloudTrail metrics of a check', () => {
  it('counts confirmed impact and instances with IMDSv1 credentials', async () => {
    const { addCredentialMetrics } = await import('../../lambda/handlers/coverage-hook');
    const added: [string, number][] = [];
    const metrics = { addMetric: (name: string, _unit: unknown, value: number) => void added.push([name, value]) };
    const verdict = (offsetSeconds: number) => ({ offsetSeconds }) as never;
    addCredentialMetrics(
      metrics as never,
      { 'i-00000001': { imdsv1Deliveries: 1, failed: { RequestExpired: 2 } }, 'i-00000002': { imdsv1Deliveries: 0, failed: { ExpiredToken: 1 } } },
      [
        { instanceId: 'i-00000001', verdict: verdict(301) },
        { instanceId: 'i-00000002', verdict: verdict(0.001) },
      ] as never,
      1,
    );
    expect(added).toEqual([
      ['ClockImpactConfirmed', 1],
      ['Imdsv1CredentialInstances', 1],
    ]);
  });
});
