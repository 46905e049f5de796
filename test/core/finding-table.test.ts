/**
 * The finding table (diagnosis/findings.ts) is the one place a code's metric and fix are declared;
 * aggregate.ts and plan.ts derive their routing from it. These tests push one instance carrying each
 * code through the real aggregation and the real planner and require exactly what its row says.
 */
import { diagnose } from '../../lambda/core/diagnosis/diagnose';
import { aggregate } from '../../lambda/core/fleet/aggregate';
import { evaluateInstance } from '../../lambda/core/fleet/evaluate-instance';
import { ACCOUNT_FINDING_TABLE, type AccountFindingCode, FINDING_TABLE, type FindingCode, type FindingCodeInfo, type FindingMetric } from '../../lambda/core/diagnosis/findings';
import { accountDefaultsMetricValues, type AccountMetadataDefaults, decideDefaultsChange, evaluateMetadataDefaults, type MetadataDefaultsReading } from '../../lambda/core/fleet/metadata-defaults';
import { planRemediation, type RemediationAction } from '../../lambda/core/remediation/plan';
import { parseSettings } from '../../lambda/core/settings';
import type { Finding, ImdsOptions, InstanceEvaluation, InstanceRecord, Verdict } from '../../lambda/core/types';
import { chronyReport } from '../engine/reports';

// Every fix enabled, so that a row's fix is planned whenever its code is present.
const settings = { ...parseSettings({}), fixTimeSync: true, fixNoProxy: true, enableMetadataEndpoint: true, dryRun: false };
const rows = Object.entries(FINDING_TABLE) as [FindingCode, FindingCodeInfo][];
/** Every count metric some row routes to: each must stay 0 unless the code's own row names it. */
const routedMetrics = [...new Set(rows.map(([, r]) => r.metric).filter((m): m is FindingMetric => m !== null))];

const CLEAN_IMDS: ImdsOptions = { hopLimit: 2, httpEndpoint: 'enabled', httpTokens: 'required', state: 'applied' };
/** The metadata options (and guest answer) under which the plan takes each IMDS action. */
const IMDS_STATE: Partial<Record<RemediationAction, { imds: ImdsOptions; containers: boolean }>> = {
  'raise-hop-limit': { imds: { ...CLEAN_IMDS, hopLimit: 1 }, containers: true },
  'enable-metadata-endpoint': { imds: { ...CLEAN_IMDS, httpEndpoint: 'disabled' }, containers: false },
};

/** A real clean verdict (chrony on Amazon Time Sync) carrying `findings` instead of its own. */
function verdict(findings: Finding[], containers = false): Verdict {
  const clean = containers ? diagnose(chronyReport({ containers: 'docker' })) : diagnose(chronyReport());
  // at-risk, so that a guest code with a fix is planned (an unknown verdict never is).
  return { ...clean, findings, status: findings.length > 0 ? 'at-risk' : clean.status };
}

/** A checked instance whose only finding is `code`; an instance code with an IMDS fix gets the metadata options that raise it. */
function carrying(code: FindingCode, row: FindingCodeInfo): InstanceEvaluation {
  const f: Finding = { code, message: code };
  const state = row.fix ? IMDS_STATE[row.fix] : undefined;
  return {
    instanceId: 'i-0abc',
    platform: 'linux',
    status: 'at-risk',
    checkState: 'checked',
    imds: state?.imds ?? CLEAN_IMDS,
    hasInstanceProfile: true,
    findings: [f],
    verdict: row.level === 'guest' ? verdict([f]) : verdict([], state?.containers ?? false),
  };
}

describe('finding table', () => {
  it.each(rows)('routes %s to its metric and nothing else', (code, row) => {
    const { counts } = aggregate([carrying(code, row)], settings);
    for (const m of routedMetrics) expect([m, counts[m]]).toEqual([m, row.metric === m ? 1 : 0]);
  });

  it.each(rows)('plans the fix of %s and nothing else', (code, row) => {
    const plan = planRemediation([carrying(code, row)], settings, 1);
    expect(plan.instances.flatMap((i) => i.actions)).toEqual(row.fix ? [row.fix] : []);
  });

  it.each(rows.filter(([, r]) => r.level === 'instance' && r.fix !== null))(
    'raises %s from the metadata options its fix is planned from',
    (code, row) => {
      const state = IMDS_STATE[row.fix!]!;
      const record: InstanceRecord = { instanceId: 'i-0abc', platform: 'linux', hasInstanceProfile: true, optedOut: false, imds: state.imds };
      const e = evaluateInstance(record, { kind: 'report', verdict: verdict([], state.containers) }, settings);
      expect(e.findings.map((f) => f.code)).toContain(code);
    },
  );

  it.each(rows.filter(([, r]) => r.vetoesFixes))('plans no guest fix from a report carrying %s, whatever else it says', (code) => {
    const e = carrying('not-synchronized', FINDING_TABLE['not-synchronized']);
    const v = verdict([{ code: 'not-synchronized', message: '' }, { code, message: '' }]);
    expect(planRemediation([{ ...e, verdict: v, findings: v.findings }], settings, 1).instances).toEqual([]);
  });

  it('has a fix for at least the codes the nightly run exists for', () => {
    // The table is the contract: if one of these loses its fix, the product promise changes.
    expect(FINDING_TABLE['not-amazon-time-sync'].fix).toBe('enable-amazon-time-sync');
    expect(FINDING_TABLE['imds-hop-limit-too-low-for-containers'].fix).toBe('raise-hop-limit');
    expect(FINDING_TABLE['imds-endpoint-disabled'].fix).toBe('enable-metadata-endpoint');
  });

  it('types Finding.code as the table keys', () => {
    // @ts-expect-error a code that is not in the table does not compile
    const f: Finding = { code: 'no-such-code', message: '' };
    expect(Object.keys(FINDING_TABLE)).not.toContain(f.code);
  });
});

describe('account rows of the finding table', () => {
  const read = (defaults: Partial<AccountMetadataDefaults>): MetadataDefaultsReading => ({ status: 'read', defaults: { managedBy: 'account', ...defaults } });
  /** A reading that raises each code alone, and the fleet it is judged against. */
  const RAISES: Record<AccountFindingCode, MetadataDefaultsReading> = {
    'account-default-hop-limit-too-low': read({ hopLimit: 1, httpTokens: 'required' }),
    'account-default-tokens-optional': read({ hopLimit: 2, httpTokens: 'optional' }),
    'account-defaults-unknown': { status: 'unknown', error: 'AccessDenied' },
  };
  const GATE_OPEN = { enforcementOn: true, fleetReadyForTokensRequired: true };

  it.each(Object.keys(ACCOUNT_FINDING_TABLE) as AccountFindingCode[])('raises %s alone, with the status its row says, counted by its metric', (code) => {
    const row = ACCOUNT_FINDING_TABLE[code];
    const report = evaluateMetadataDefaults(RAISES[code], 3, 2);
    expect(report.findings.map((f) => f.code)).toEqual([code]);
    expect(report.status).toBe(row.effect);
    const values = accountDefaultsMetricValues(report);
    expect(row.metric === 'accountDefaultsUnknown' ? values.unknown : values.findings).toBe(1);
  });

  it.each(Object.keys(ACCOUNT_FINDING_TABLE) as AccountFindingCode[])('has the set-mode change its row names for %s, and none when the row has no fix', (code) => {
    const row = ACCOUNT_FINDING_TABLE[code];
    const decision = decideDefaultsChange(RAISES[code], { mode: 'set', hopLimitTarget: 2, containerHosts: 3, gate: GATE_OPEN });
    const written = decision.kind === 'change' ? Object.keys(decision.change).sort() : [];
    const expected = { 'set-account-default-hop-limit': ['hopLimit'], 'set-account-default-tokens-required': ['httpTokens'] } as const;
    expect(written).toEqual(row.fix === null ? [] : expected[row.fix]);
  });
});
