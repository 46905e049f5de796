import { attributeInstance, launchDetail, launchOriginOf, resolveLaunchOptions, resolveReference } from '../../../lambda/core/sources/attribute';
import { enforcementBlockers } from '../../../lambda/core/sources/enforcement';
import { planSources, type SourceWants } from '../../../lambda/core/sources/plan';
import { sourceFindingIndex } from '../../../lambda/core/sources/report';
import type { AutoScalingGroupInfo, LaunchTemplateInfo, LaunchTemplateVersionInfo, SourceInventory } from '../../../lambda/core/sources/types';

const LT = 'lt-0123456789abcdef0';
const hop1 = { hopLimit: 1, httpTokens: 'optional' as const, httpEndpoint: 'enabled' as const };

function inventory(opts: { template?: Partial<LaunchTemplateInfo>; versions?: LaunchTemplateVersionInfo[]; groups?: AutoScalingGroupInfo[] } = {}): SourceInventory {
  const template: LaunchTemplateInfo = { id: LT, name: 'web', defaultVersion: 1, latestVersion: 2, tags: [], ...opts.template };
  const versions = opts.versions ?? [
    { templateId: LT, version: 1, metadataOptions: hop1, imageId: 'ami-00000000000000001' },
    { templateId: LT, version: 2, metadataOptions: hop1, imageId: 'ami-00000000000000001' },
  ];
  return {
    groups: opts.groups ?? [{ name: 'web', tags: [], references: [{ templateId: LT, version: '$Default', place: 'group' }], instanceIds: ['i-1'] }],
    templates: new Map([[LT, template]]),
    versions: new Map(versions.map((v) => [`${v.templateId}:${v.version}`, v])),
    images: new Map([['ami-00000000000000001', { imageId: 'ami-00000000000000001' }], ['ami-00000000000000002', { imageId: 'ami-00000000000000002', imdsSupport: 'v2.0' as const }]]),
    errors: [],
  };
}

const wants: SourceWants = { hopLimitTarget: 2, containerHost: () => true, tokensAllowed: () => false, optOutTagKey: 'timesync-guard:opt-out' };
const tags = (version: number, extra: Record<string, string> = {}) =>
  Object.entries({ 'aws:ec2launchtemplate:id': LT, 'aws:ec2launchtemplate:version': String(version), 'aws:autoscaling:groupName': 'web', ...extra }).map(([Key, Value]) => ({ Key, Value }));

describe('attribution', () => {
  it.each([
    ['template sets both', hop1, undefined, {}, 'launch-template'],
    ['AMI v2.0 decides when the template states nothing', undefined, 'v2.0', {}, 'ami'],
    ['account default decides below the AMI', undefined, undefined, { hopLimit: 2, managedBy: 'declarative-policy' as const }, 'account-default'],
    ["EC2's default when nothing is set", undefined, undefined, {}, 'ec2-default'],
  ])('%s', (_n, spec, ami, defaults, layer) => {
    const r = resolveLaunchOptions(spec, ami ? { imageId: 'ami-x', imdsSupport: 'v2.0' } : undefined, { managedBy: 'account', ...defaults });
    expect([r.fields.hopLimit, r.fields.httpTokens]).toContain(layer);
  });

  it('says modified when the instance differs from its template version', () => {
    const s = attributeInstance({ instanceId: 'i-1', imds: { hopLimit: 2, httpTokens: 'optional' }, origin: launchOriginOf(tags(1), 'ami-00000000000000001') }, inventory());
    expect(s.layer).toBe('modified');
    // Launched with EC2's defaults: the record's own options say what changed.
    expect(s.detail).toBeUndefined();
  });

  it("names the launch options that were not EC2's defaults after a change", () => {
    const v2 = { hopLimit: 2, httpTokens: 'required' as const, httpEndpoint: 'enabled' as const };
    const s = attributeInstance(
      { instanceId: 'i-1', imds: { hopLimit: 2, httpTokens: 'optional' }, origin: launchOriginOf(tags(1), 'ami-00000000000000001') },
      inventory({ versions: [{ templateId: LT, version: 1, metadataOptions: v2, imageId: 'ami-00000000000000001' }] }),
    );
    expect(s.layer).toBe('modified');
    expect(s.detail).toBe('launched hopLimit 2, httpTokens required');
  });

  it.each([
    [{ hopLimit: 1, httpTokens: 'optional' as const }, ''],
    [{ hopLimit: 3, httpTokens: 'optional' as const }, 'launched hopLimit 3'],
    [{ hopLimit: 1, httpTokens: 'required' as const }, 'launched httpTokens required'],
  ])('launchDetail(%o) = %j', (launch, detail) => {
    expect(launchDetail(launch)).toBe(detail);
  });

  it('never attributes to a lower layer when the template version could not be read', () => {
    const s = attributeInstance({ instanceId: 'i-1', imds: { hopLimit: 1 }, origin: launchOriginOf(tags(7), 'ami-00000000000000001') }, inventory());
    expect(s.layer).toBe('unknown');
  });

  it('names Karpenter and EKS from their tags', () => {
    const k = attributeInstance({ instanceId: 'i-1', imds: { hopLimit: 1, httpTokens: 'optional' }, origin: launchOriginOf(tags(1, { 'karpenter.sh/nodepool': 'general' }), 'ami-00000000000000001') }, inventory());
    const e = attributeInstance({ instanceId: 'i-1', imds: { hopLimit: 1, httpTokens: 'optional' }, origin: launchOriginOf(tags(1, { 'eks:nodegroup-name': 'ng' }), 'ami-00000000000000001') }, inventory());
    expect([k.layer, e.layer]).toEqual(['karpenter', 'eks-nodegroup']);
  });

  it('drops malformed tag values instead of guessing', () => {
    expect(launchOriginOf([{ Key: 'aws:ec2launchtemplate:id', Value: 'not-a-template' }, { Key: 'aws:ec2launchtemplate:version', Value: '$Latest' }])).toEqual({});
  });

  it.each([
    [undefined, 1, 'default'],
    ['$Default', 1, 'default'],
    ['$Latest', 2, 'latest'],
    ['5', 5, 'pinned'],
  ])('resolves the version %s a group launches', (v, n, follows) => {
    expect(resolveReference({ id: LT, name: 'w', defaultVersion: 1, latestVersion: 2, tags: [] }, v)).toEqual({ version: n, follows });
  });
});

describe('the source plan', () => {
  it('copies the version in use with only MetadataOptions changed and moves $Default when the group follows it', () => {
    const [d] = planSources(inventory({ template: { latestVersion: 1 }, versions: [{ templateId: LT, version: 1, metadataOptions: hop1 }] }), wants, [], 'fix').decisions;
    expect(d).toMatchObject({ kind: 'fix', sourceVersion: 1, moveDefault: true, metadataOptions: { hopLimit: 2, httpTokens: 'optional', httpEndpoint: 'enabled' } });
  });

  it('never lowers a hop limit and never plans tokens the gate does not allow', () => {
    const p = planSources(inventory({ versions: [{ templateId: LT, version: 1, metadataOptions: { hopLimit: 3, httpTokens: 'optional' } }, { templateId: LT, version: 2 }] }), wants, [], 'fix');
    expect(p.decisions).toEqual([]);
  });

  it('refuses to copy $Default when groups follow $Latest on another version', () => {
    const groups: AutoScalingGroupInfo[] = [
      { name: 'a', tags: [], references: [{ templateId: LT, version: '$Default', place: 'group' }], instanceIds: ['i-1'] },
      { name: 'b', tags: [], references: [{ templateId: LT, version: '$Latest', place: 'group' }], instanceIds: ['i-2'] },
    ];
    const reasons = planSources(inventory({ groups }), wants, [], 'fix').decisions.map((d) => (d.kind === 'report' ? d.reason : d.kind));
    expect(reasons).toEqual(['versions-diverge', 'fix']);
  });

  it('leaves a CloudFormation template to its stack with a snippet, and a pinned group to its owner', () => {
    const cfn = planSources(inventory({ template: { tags: [{ Key: 'aws:cloudformation:stack-name', Value: 'web' }] } }), wants, [], 'fix').decisions[0];
    expect(cfn).toMatchObject({ kind: 'report', reason: 'cloudformation-managed' });
    expect(cfn!.kind === 'report' && cfn!.snippet).toContain('HttpPutResponseHopLimit: 2');
    const pinned = planSources(inventory({ groups: [{ name: 'p', tags: [], references: [{ templateId: LT, version: '1', place: 'group' }], instanceIds: ['i-1'] }] }), wants, [], 'fix').decisions[0];
    expect(pinned).toMatchObject({ kind: 'report', reason: 'pinned-version' });
  });

  it('honours the opt-out tag on the group', () => {
    const groups: AutoScalingGroupInfo[] = [{ name: 'a', tags: [{ Key: 'timesync-guard:opt-out', Value: 'true' }], references: [{ templateId: LT, place: 'group' }], instanceIds: ['i-1'] }];
    expect(planSources(inventory({ groups }), wants, [], 'fix').decisions[0]).toMatchObject({ kind: 'report', reason: 'opted-out' });
  });

  it('gives a Karpenter node class the YAML change', () => {
    const o = launchOriginOf(tags(1, { 'karpenter.sh/nodepool': 'general', 'karpenter.k8s.aws/ec2nodeclass': 'default' }), 'ami-00000000000000001');
    const d = planSources(inventory({ groups: [] }), wants, [{ instanceId: 'i-9', origin: o }], 'report').decisions[0];
    expect(d).toMatchObject({ kind: 'report', reason: 'karpenter', nodeClass: 'default' });
    expect(d!.kind === 'report' && d!.snippet).toContain('httpPutResponseHopLimit: 2');
    expect(sourceFindingIndex(planSources(inventory({ groups: [] }), wants, [{ instanceId: 'i-9', origin: o }], 'report'))(o).map((f) => f.code)).toEqual(['launch-source-noncompliant', 'launch-source-owned-by-iac']);
  });
});

describe('before IMDSv2 enforcement', () => {
  it('lists every version in use or default whose launches would allow IMDSv1', () => {
    const b = enforcementBlockers(inventory({ versions: [{ templateId: LT, version: 1, metadataOptions: hop1 }, { templateId: LT, version: 2, imageId: 'ami-00000000000000002' }] }));
    expect(b).toEqual([{ templateId: LT, templateName: 'web', version: 1, reason: 'tokens-optional', groups: ['web'] }]);
  });
});
