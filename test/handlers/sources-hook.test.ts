import { commonLayer, publishSources, sourceLogFields, sourcesSummary } from '../../lambda/handlers/sources-hook';
import type { SourcesCheckResult } from '../../lambda/engine/sources-check';

const result = (counts: { templates: number; groups: number; notRead: number }): SourcesCheckResult => ({
  attribution: new Map(),
  plan: { decisions: [], templatesLaunchingNonCompliant: counts.templates, groupsLaunchingNonCompliant: counts.groups, groupsNotRead: counts.notRead },
  enforcementBlockers: [],
  errors: [],
});

describe('the launch sources metrics', () => {
  const logger = { info: () => undefined, warn: () => undefined, error: () => undefined };
  const published = (r: SourcesCheckResult): [string, number][] => {
    const out: [string, number][] = [];
    publishSources(r, logger, { addMetric: (name: string, _unit: unknown, value: number) => void out.push([name, value]) } as never);
    return out;
  };

  it('are published only in the hours they are not 0 (billed by the hours published; no alarm reads them)', () => {
    expect(published(result({ templates: 0, groups: 0, notRead: 0 }))).toEqual([]);
    expect(published(result({ templates: 2, groups: 3, notRead: 0 }))).toEqual([
      ['LaunchTemplatesNonCompliant', 2],
      ['AutoScalingGroupsNonCompliant', 3],
    ]);
    expect(published(result({ templates: 0, groups: 0, notRead: 1 }))).toEqual([['LaunchSourcesNotRead', 1]]);
  });

  it('are not published for a run that did not complete', () => {
    const r = result({ templates: 2, groups: 3, notRead: 1 });
    expect(() => publishSources(r, logger, undefined)).not.toThrow();
  });
});

describe('the per-instance imdsSource fields', () => {
  const src = (layer: string, extra: Record<string, unknown> = {}) => ({ layer, fields: { hopLimit: layer, httpTokens: layer }, ...extra }) as never;
  const sources = (byId: Record<string, never>): SourcesCheckResult => ({ ...result({ templates: 0, groups: 0, notRead: 0 }), attribution: new Map(Object.entries(byId)) });

  it("name every instance's layer, the common one included (the summary names the common one too)", () => {
    const s = sources({ a: src('modified', { detail: 'launched hopLimit 2' }), b: src('modified'), c: src('ec2-default') });
    expect(sourcesSummary(s)).toMatchObject({ commonLayer: 'modified', byLayer: { modified: 2, 'ec2-default': 1 } });
    expect(sourceLogFields(s, 'a')).toEqual({ imdsSource: 'modified', imdsSourceDetail: 'launched hopLimit 2' });
    expect(sourceLogFields(s, 'c')).toEqual({ imdsSource: 'ec2-default' });
  });

  it('never treat unknown as the common layer', () => {
    const s = sources({ a: src('launch-template', { templateId: 'lt-0123456789abcdef0', templateVersion: 3 }), b: src('unknown', { detail: 'image-not-read' }), c: src('unknown', { detail: 'image-not-read' }) });
    expect(commonLayer(s)).toBe('launch-template');
    expect(sourceLogFields(s, 'a')).toEqual({ imdsSource: 'launch-template', imdsSourceTemplate: 'lt-0123456789abcdef0:3' });
    expect(sourceLogFields(s, 'b')).toEqual({ imdsSource: 'unknown', imdsSourceDetail: 'image-not-read' });
  });
});
