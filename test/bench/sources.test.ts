import { runSourcesBench } from '../../bench/sources';

describe('bench/sources', () => {
  it('attributes every instance right, fixes only what it may, and the scale-out comes back compliant', async () => {
    const f = await runSourcesBench();
    expect(f.autoScalingGroups).toBeGreaterThanOrEqual(10);
    expect(f.instances).toBeGreaterThanOrEqual(200);
    expect(f.decidingLayerAccuracy).toBe(1);
    expect(f.templatesFixed).toBeGreaterThan(0);
    expect(f.iacOwnedTemplatesChanged).toBe(0);
    expect(f.scaleOutLaunchesCompliant).toBe(1);
    expect(f.secondRunInstanceChanges).toBe(0);
    expect(f.sourcesLeftToOwners).toBeGreaterThan(0);
  });

  it('can fail: without the fix applied, the scale-out comes back wrong and the next night changes instances', async () => {
    const f = await runSourcesBench({ apply: false });
    expect(f.templatesFixed).toBe(0);
    expect(f.scaleOutLaunchesCompliant).toBeLessThan(1);
    expect(f.secondRunInstanceChanges).toBeGreaterThan(0);
  });
});
