/**
 * The real remediate-windows.ps1 under pwsh on a fake Windows: W32Time's service triggers, set
 * through sc.exe, read as the SCM's registry subkeys, and restored byte for byte.
 */
import { amazonWindows, describeWithPwsh, domainJoinTriggers, networkTriggers, stockWindows } from './windows-harness';
import { fixThenRerun, noTriggers, remediate, triggers } from './windows-remediation-support';

jest.setTimeout(300_000);

describeWithPwsh('remediate-windows.ps1 service triggers on a fake Windows (real pwsh)', () => {
  it('rolls back to no triggers at all when there were none and verification fails', () => {
    const before = noTriggers({ world: { reachable: ['time.windows.com'] } });
    const r = remediate(before);
    expect(r.outcome).toMatchObject({ result: 'rolled-back', reason: 'not-synchronized-within-4s' });
    expect(triggers(r.after)).toEqual({});
    expect(r.after.registry).toEqual(before.registry);
    expect(r.after['scCalls']).toContain('triggerinfo w32time delete');
  });

  it('rolls the stock domain-join triggers back byte for byte when verification fails', () => {
    const before = stockWindows({ world: { reachable: ['time.windows.com'] } });
    expect(triggers(before)).toEqual(domainJoinTriggers());
    const r = remediate(before);
    expect(r.outcome).toMatchObject({ result: 'rolled-back' });
    expect(triggers(r.after)).toEqual(domainJoinTriggers());
    expect(r.after.registry).toEqual(before.registry);
  });

  it('rolls back when sc.exe cannot set the triggers, and reports rollback-failed when the old triggers do not come back', () => {
    const denied = stockWindows({ world: { reachable: ['169.254.169.123'], scFails: ['start/networkon stop/networkoff'] } });
    const r = remediate(denied);
    expect(r.outcome).toMatchObject({ result: 'rolled-back', reason: 'service-triggers-not-set' });
    expect(r.after.registry).toEqual(denied.registry);
    // sc.exe deletes the new triggers, then the old Guid values cannot be written back.
    const stuck = remediate(stockWindows({ world: { reachable: ['time.windows.com'] }, failWrites: ['Guid'] }));
    expect(stuck.outcome).toMatchObject({ result: 'failed', reason: 'rollback-failed-after-not-synchronized-within-4s' });
  });

  it('does not act when the triggers cannot be read', () => {
    const r = remediate(stockWindows({ world: { scQueryFails: true } }));
    expect(r.outcome).toMatchObject({ result: 'failed', reason: 'service-triggers-unreadable' });
    expect(r.after.writes).toBeUndefined();
  });

  it('leaves the triggers alone in a dry run and says it would set them', () => {
    const before = noTriggers();
    const r = remediate(before, { DryRun: 'true' });
    expect(r.outcome).toMatchObject({ result: 'would-change' });
    expect(r.stdout).toContain('would set triggers start/networkon stop/networkoff');
    expect(r.after.registry).toEqual(before.registry);
    expect(r.after['scCalls']).toEqual(['qtriggerinfo w32time']);
  });
});
