import { publishSources } from '../../lambda/handlers/sources-hook';
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
