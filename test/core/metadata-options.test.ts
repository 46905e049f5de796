/**
 * The metadata-options table (lambda/contracts/metadata-options.ts) is the one place a metadata
 * option is described: the plan's wants and the remediate role's IAM conditions derive from it. A
 * new option is one table row plus its finding: shown here on a copy of the table with an IPv6 row
 * that the remediation acts on.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { METADATA_OPTIONS, type MetadataOptionRow, satisfies } from '../../lambda/contracts/metadata-options';
import type { FindingCode } from '../../lambda/core/diagnosis/findings';
import { planInstance } from '../../lambda/core/remediation/plan';
import { parseSettings } from '../../lambda/core/settings';
import type { InstanceEvaluation } from '../../lambda/core/types';
import { grantConditions, ruleDenies } from '../../lib/metadata-options-iam';

const settings = parseSettings({});

function evaluation(o: { findings?: string[]; ipv6?: 'enabled' | 'disabled'; hop?: number } = {}): InstanceEvaluation {
  return {
    instanceId: 'i-0abc',
    platform: 'linux',
    status: 'at-risk',
    checkState: 'checked',
    findings: (o.findings ?? []).map((code) => ({ code: code as FindingCode, message: code })),
    imds: { hopLimit: o.hop ?? 2, httpEndpoint: 'enabled', httpTokens: 'optional', state: 'applied', ...(o.ipv6 ? { httpProtocolIpv6: o.ipv6 } : {}) },
    hasInstanceProfile: true,
  } as InstanceEvaluation;
}

/** The table with its IPv6 row made an action: the one row a new option adds (its finding is the other change). */
const withIpv6: readonly MetadataOptionRow[] = METADATA_OPTIONS.map((r) =>
  r.parameter === 'HttpProtocolIpv6'
    ? { ...r, action: 'enable-imds-ipv6', finding: 'imds-ipv6-endpoint-disabled', grant: 'nightly', denySid: 'NeverDisableImdsIpv6' }
    : r,
);

describe('metadata-options table: the shipped rows', () => {
  it('derives exactly the IMDS grant the stack has always had (conditions and Deny order)', () => {
    expect(grantConditions('nightly', { hopLimitTarget: 2, settings: { enableMetadataEndpoint: true } })).toEqual({
      NumericGreaterThanEqualsIfExists: { 'ec2:Attribute/HttpPutResponseHopLimit': '2' },
      StringEqualsIfExists: { 'ec2:Attribute/HttpEndpoint': 'enabled' },
      Null: { 'ec2:Attribute/HttpTokens': 'true', 'ec2:Attribute/HttpProtocolIpv6': 'true', 'ec2:Attribute/InstanceMetadataTags': 'true' },
    });
    expect(grantConditions('nightly', { hopLimitTarget: 3, settings: { enableMetadataEndpoint: false } })).toEqual({
      NumericGreaterThanEqualsIfExists: { 'ec2:Attribute/HttpPutResponseHopLimit': '3' },
      Null: { 'ec2:Attribute/HttpTokens': 'true', 'ec2:Attribute/HttpProtocolIpv6': 'true', 'ec2:Attribute/InstanceMetadataTags': 'true', 'ec2:Attribute/HttpEndpoint': 'true' },
    });
    expect(ruleDenies(2)).toEqual([
      { sid: 'NeverDisableMetadataEndpoint', conditions: { StringEqualsIgnoreCase: { 'ec2:Attribute/HttpEndpoint': 'disabled' } } },
      { sid: 'NeverMakeTokensOptional', conditions: { StringEqualsIgnoreCase: { 'ec2:Attribute/HttpTokens': 'optional' } } },
      { sid: 'NeverLowerHopLimit', conditions: { NumericLessThan: { 'ec2:Attribute/HttpPutResponseHopLimit': '2' } } },
    ]);
  });

  it('names, for every row with an action, the finding whose fix it is (or why it is asked for) and a Deny', () => {
    for (const r of METADATA_OPTIONS as readonly MetadataOptionRow[]) {
      if (r.action === null) continue;
      expect(r.finding !== null || typeof r.askedBy === 'string').toBe(true);
      expect(r.denySid).toMatch(/^Never/);
    }
  });

  it('never calls a lower hop limit or the refused value satisfied', () => {
    const hop = METADATA_OPTIONS.find((r) => r.parameter === 'HttpPutResponseHopLimit')!;
    const endpoint = METADATA_OPTIONS.find((r) => r.parameter === 'HttpEndpoint')!;
    expect([satisfies(hop, 1, 2), satisfies(hop, 2, 2), satisfies(hop, 3, 2), satisfies(hop, undefined, 2)]).toEqual([false, true, true, false]);
    expect([satisfies(endpoint, 'disabled', 2), satisfies(endpoint, 'enabled', 2), satisfies(endpoint, undefined, 2)]).toEqual([false, true, false]);
  });

  it('the shipped IPv6 row changes nothing: no plan wants it even where the instance has it disabled', () => {
    const p = planInstance(evaluation({ ipv6: 'disabled', findings: ['imds-ipv6-endpoint-disabled'] }), settings);
    expect(p.planned).toBeUndefined();
  });
});

describe('a new metadata option is one table row plus its finding', () => {
  it('the plan wants it where the finding is, and only where the instance is not yet as the row wants', () => {
    const options = { metadataOptions: withIpv6 };
    const wanted = planInstance(evaluation({ ipv6: 'disabled', findings: ['imds-ipv6-endpoint-disabled'] }), settings, options);
    expect(wanted.planned?.actions).toEqual(['enable-imds-ipv6']);
    expect(wanted.planned?.metadata).toEqual({ HttpProtocolIpv6: { from: 'disabled', to: 'enabled' } });
    expect(wanted.wanted).toEqual([{ action: 'enable-imds-ipv6', before: { httpProtocolIpv6: 'disabled' }, after: { httpProtocolIpv6: 'enabled' } }]);
    // No finding, or already enabled: nothing.
    expect(planInstance(evaluation({ ipv6: 'disabled' }), settings, options).planned).toBeUndefined();
    expect(planInstance(evaluation({ ipv6: 'enabled', findings: ['imds-ipv6-endpoint-disabled'] }), settings, options).planned).toBeUndefined();
    // Beside the built-in rows, in table order.
    const both = planInstance({ ...evaluation({ hop: 1, ipv6: 'disabled', findings: ['imds-ipv6-endpoint-disabled'] }), hasInstanceProfile: true }, { ...settings, hopLimitScope: 'all' }, options);
    expect(both.planned?.actions).toEqual(['raise-hop-limit', 'enable-imds-ipv6']);
  });

  it('a row gated by a switch is wanted only while the switch is on (and IAM admits it only then)', () => {
    const gated = withIpv6.map((r) => (r.parameter === 'HttpProtocolIpv6' ? { ...r, setting: 'enableMetadataEndpoint' as const } : r));
    const e = evaluation({ ipv6: 'disabled', findings: ['imds-ipv6-endpoint-disabled'] });
    expect(planInstance(e, { ...settings, enableMetadataEndpoint: true }, { metadataOptions: gated }).planned?.actions).toEqual(['enable-imds-ipv6']);
    expect(planInstance(e, { ...settings, enableMetadataEndpoint: false }, { metadataOptions: gated }).planned).toBeUndefined();
    expect(grantConditions('nightly', { hopLimitTarget: 2, settings: { enableMetadataEndpoint: false } }, gated).Null).toHaveProperty(['ec2:Attribute/HttpProtocolIpv6'], 'true');
  });

  it('IAM allows exactly its desired value and denies the value its rule refuses', () => {
    const allow = grantConditions('nightly', { hopLimitTarget: 2, settings: { enableMetadataEndpoint: true } }, withIpv6);
    expect(allow.StringEqualsIfExists).toEqual({ 'ec2:Attribute/HttpEndpoint': 'enabled', 'ec2:Attribute/HttpProtocolIpv6': 'enabled' });
    expect(allow.Null).not.toHaveProperty('ec2:Attribute/HttpProtocolIpv6');
    expect(ruleDenies(2, withIpv6)).toContainEqual({ sid: 'NeverDisableImdsIpv6', conditions: { StringEqualsIgnoreCase: { 'ec2:Attribute/HttpProtocolIpv6': 'disabled' } } });
  });

  it('the recipe in docs/development.md edits two files: the table and the finding table', () => {
    const doc = readFileSync(join(__dirname, '../../docs/development.md'), 'utf8');
    const start = doc.indexOf('**A new metadata option.**');
    expect(start).toBeGreaterThan(0);
    // What the recipe tells you to edit comes before what it says derives from it.
    const edits = doc.slice(start, doc.indexOf('The action name joins', start));
    const files = new Set(edits.match(/`[\w./-]+\.ts`/g));
    expect([...files].sort()).toEqual(['`lambda/contracts/metadata-options.ts`', '`lambda/core/diagnosis/findings.ts`']);
  });
});
