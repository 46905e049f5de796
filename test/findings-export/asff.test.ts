import { asffProblems, ASFF_REQUIRED } from '../../bench/sim/asff-schema';
import { buildFinding, contextFromFunctionArn, findingsForEvaluation, goneFinding, productArn } from '../../lambda/core/findings-export/asff';
import { CHECKS, CODE_CHECK, judgeChecks } from '../../lambda/core/findings-export/checks';
import { complianceItems } from '../../lambda/core/findings-export/compliance';
import { FINDING_TABLE } from '../../lambda/core/diagnosis/findings';
import { drifted, healthy, hopLimitOne, iid, unreachable } from './support';

const ctx = { partition: 'aws', region: 'eu-west-1', accountId: '111122223333' };
const now = Date.UTC(2026, 11, 7, 14, 0, 0);

describe('ASFF findings (lambda/core/findings-export/asff.ts)', () => {
  it('the schema check requires exactly the twelve top-level attributes of the Security Hub user guide', () => {
    expect([...ASFF_REQUIRED].sort()).toEqual(['AwsAccountId', 'CreatedAt', 'Description', 'GeneratorId', 'Id', 'ProductArn', 'Resources', 'SchemaVersion', 'Severity', 'Title', 'Types', 'UpdatedAt']);
    for (const k of ASFF_REQUIRED) {
      const f = { ...findingsForEvaluation(ctx, drifted(1), judgeChecks(drifted(1)), now)[0] } as Record<string, unknown>;
      delete f[k];
      expect(asffProblems(f)).toContain(`${k} is required`);
    }
  });

  const evaluations = [['drifted', drifted(1)], ['hop limit 1 on a container host', hopLimitOne(2)], ['healthy', healthy(3)], ['unreachable', unreachable(4)]] as const;

  it.each(evaluations)('every finding of a %s instance, failing, fixed or gone, is valid ASFF', (_, e) => {
    const judged = judgeChecks(e);
    const all = [
      ...judged.map((j) => buildFinding(ctx, e, j, { now, createdAt: now - 3_600_000 }, true)),
      ...judged.map((j) => goneFinding(ctx, e.instanceId, j.check, { now })),
    ];
    for (const f of all) expect(asffProblems(f)).toEqual([]);
  });

  it('imports as the account\'s own product, with a stable Id per instance and check and a GeneratorId per check', () => {
    const [a] = findingsForEvaluation(ctx, drifted(1), judgeChecks(drifted(1)), now);
    const [b] = findingsForEvaluation(ctx, drifted(1, 99), judgeChecks(drifted(1, 99)), now + 3_600_000);
    expect(productArn(ctx)).toBe('arn:aws:securityhub:eu-west-1:111122223333:product/111122223333/default');
    expect(a).toMatchObject({ ProductArn: productArn(ctx), AwsAccountId: '111122223333', GeneratorId: 'timesync-guard/time-sync', Id: `timesync-guard/111122223333/eu-west-1/${iid(1)}/time-sync` });
    expect(b!.Id).toBe(a!.Id);
    expect(a!.Resources[0]).toEqual({ Type: 'AwsEc2Instance', Id: `arn:aws:ec2:eu-west-1:111122223333:instance/${iid(1)}`, Partition: 'aws', Region: 'eu-west-1' });
  });

  it('a failing check is ACTIVE, FAILED, NEW, with the verdict\'s numbers in ProductFields and the worst code\'s severity', () => {
    const [f] = findingsForEvaluation(ctx, drifted(1, 42.5), judgeChecks(drifted(1, 42.5)), now);
    expect(f).toMatchObject({ RecordState: 'ACTIVE', Compliance: { Status: 'FAILED' }, Workflow: { Status: 'NEW' }, Severity: { Label: 'HIGH' } });
    expect(f!.ProductFields).toMatchObject({ 'timesync-guard/OffsetSeconds': '42.5', 'timesync-guard/Codes': 'not-amazon-time-sync,offset-over-threshold', 'timesync-guard/TimeSource': 'other' });
    expect(f!.Remediation.Recommendation.Url).toMatch(/^https:\/\/docs\.aws\.amazon\.com\//);
  });

  it('a check that passes again is PASSED and ARCHIVED, without Workflow (Security Hub keeps the analyst\'s)', () => {
    const e = healthy(1);
    const j = judgeChecks(e).find((x) => x.check === 'time-sync')!;
    const f = buildFinding(ctx, e, j, { now, createdAt: now - 86_400_000 }, false);
    expect(f).toMatchObject({ RecordState: 'ARCHIVED', Compliance: { Status: 'PASSED' }, Severity: { Label: 'INFORMATIONAL' } });
    expect(f.Workflow).toBeUndefined();
    expect(f.CreatedAt).toBe(new Date(now - 86_400_000).toISOString());
  });

  it('a healthy instance yields no finding at all; a hop-limit-1 container host fails the hop limit and IMDSv2 checks', () => {
    expect(findingsForEvaluation(ctx, healthy(1), judgeChecks(healthy(1)), now)).toEqual([]);
    expect(findingsForEvaluation(ctx, hopLimitOne(2), judgeChecks(hopLimitOne(2)), now).map((f) => f.GeneratorId).sort()).toEqual(['timesync-guard/imds-hop-limit', 'timesync-guard/imdsv2']);
  });

  it('judges only what the run has evidence for: an unreachable guest gets no time-sync, proxy or hop-limit verdict', () => {
    expect(judgeChecks(unreachable(4)).map((j) => j.check)).toEqual(['imds-endpoint', 'imdsv2']);
    expect(judgeChecks(healthy(3, { checkState: 'opted-out', status: 'opted-out' }))).toEqual([]);
  });

  it('every failing code routes to a check that exists, and every at-risk code fails some check', () => {
    for (const [code, c] of Object.entries(CODE_CHECK)) {
      if (c) expect(Object.keys(CHECKS)).toContain(c.check);
      const row = (FINDING_TABLE as Record<string, { effect: string }>)[code];
      if (row?.effect === 'at-risk') expect(c).not.toBeNull();
    }
  });

  it('compliance items: one per judged check, a check not judged this run keeps its last state', () => {
    const { items } = complianceItems(judgeChecks(unreachable(4)), new Map([['time-sync', 'F:HIGH']]));
    expect(items.map((i) => [i.Id, i.Status, i.Severity])).toEqual([
      ['imds-endpoint', 'COMPLIANT', 'UNSPECIFIED'],
      ['imdsv2', 'COMPLIANT', 'UNSPECIFIED'],
      ['time-sync', 'NON_COMPLIANT', 'HIGH'],
    ]);
  });

  it.each([
    ['arn:aws:lambda:eu-west-1:111122223333:function:Check', ctx],
    ['arn:aws-us-gov:lambda:us-gov-west-1:111122223333:function:x', { partition: 'aws-us-gov', region: 'us-gov-west-1', accountId: '111122223333' }],
    ['not an arn', undefined],
    [undefined, undefined],
  ])('the account comes from the function ARN %p', (arn, expected) => {
    expect(contextFromFunctionArn(arn)).toEqual(expected);
  });
});
