/**
 * The real remediate-windows.ps1 under pwsh on a fake Windows: W32Time's service triggers, set
 * through sc.exe, read as the SCM's registry subkeys, and restored byte for byte.
 */
import { describeWithPwsh, domainJoinTriggers, stockWindows } from './windows-harness';
import { noTriggers, scenarioTests, triggers } from './windows-remediation-support';

jest.setTimeout(300_000);

describeWithPwsh('remediate-windows.ps1 service triggers on a fake Windows (real pwsh)', () => {
  scenarioTests([
    {
      name: 'rolls back to no triggers at all when there were none and verification fails',
      state: noTriggers({ world: { reachable: ['time.windows.com'] } }),
      check: ([r], before) => {
        expect(r!.outcome).toMatchObject({ result: 'rolled-back', reason: 'not-synchronized-within-4s' });
        expect(triggers(r!.after)).toEqual({});
        expect(r!.after.registry).toEqual(before.registry);
        expect(r!.after['scCalls']).toContain('triggerinfo w32time delete');
      },
    },
    {
      name: 'rolls the stock domain-join triggers back byte for byte when verification fails',
      state: stockWindows({ world: { reachable: ['time.windows.com'] } }),
      check: ([r], before) => {
        expect(triggers(before)).toEqual(domainJoinTriggers());
        expect(r!.outcome).toMatchObject({ result: 'rolled-back' });
        expect(triggers(r!.after)).toEqual(domainJoinTriggers());
        expect(r!.after.registry).toEqual(before.registry);
      },
    },
    {
      name: 'rolls back when sc.exe cannot set the triggers',
      state: stockWindows({ world: { reachable: ['169.254.169.123'], scFails: ['start/networkon stop/networkoff'] } }),
      check: ([r], before) => {
        expect(r!.outcome).toMatchObject({ result: 'rolled-back', reason: 'service-triggers-not-set' });
        expect(r!.after.registry).toEqual(before.registry);
      },
    },
    {
      // sc.exe deletes the new triggers, then the old Guid values cannot be written back.
      name: 'reports rollback-failed when the old triggers do not come back',
      state: stockWindows({ world: { reachable: ['time.windows.com'] }, failWrites: ['Guid'] }),
      check: ([r]) => {
        expect(r!.outcome).toMatchObject({ result: 'failed', reason: 'rollback-failed-after-not-synchronized-within-4s' });
        expect(r!.stdout).toMatch(/^tsg: rollback incomplete: TriggerInfo/m);
      },
    },
    {
      name: 'does not act when the triggers cannot be read',
      state: stockWindows({ world: { scQueryFails: true } }),
      check: ([r]) => {
        expect(r!.outcome).toMatchObject({ result: 'failed', reason: 'service-triggers-unreadable' });
        expect(r!.after.writes).toBeUndefined();
      },
    },
    {
      name: 'leaves the triggers alone in a dry run and says it would set them',
      state: noTriggers(),
      runs: [{ DryRun: 'true' }],
      check: ([r], before) => {
        expect(r!.outcome).toMatchObject({ result: 'would-change' });
        expect(r!.stdout).toContain('would set triggers start/networkon stop/networkoff');
        expect(r!.after.registry).toEqual(before.registry);
        expect(r!.after['scCalls']).toEqual(['qtriggerinfo w32time']);
      },
    },
  ]);
});
