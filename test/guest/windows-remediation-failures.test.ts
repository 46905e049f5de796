/**
 * Failures are failures: the real remediate-windows.ps1 under pwsh on a fake Windows whose
 * service-control calls (sc.exe, w32tm, registry writes) fail one at a time. Each failure must be
 * named in the output, end in a non-zero exit with a rolled-back/failed result, and leave what was
 * found. The start type and typed returns are in windows-remediation-scm.test.ts.
 */
import { describeWithPwsh, type FakeState, stockWindows } from './windows-harness';
import { type Run, type Scenario, scenarioTests } from './windows-remediation-support';

jest.setTimeout(300_000);

/** A stock host whose fix would succeed and touch everything: stopped, Manual, stock triggers and values, the Amazon endpoint reachable. */
function stoppedStock(over: Partial<FakeState> = {}): FakeState {
  return stockWindows({ services: { w32time: { status: 'Stopped' } }, world: { reachable: ['169.254.169.123', 'time.windows.com'] }, ...over });
}

/** What a rollback must leave: the registry, the SCM's start type and the service state as found. */
function expectAsFound(before: FakeState, r: Run, startType: string, status: string): void {
  expect(r.after.registry).toEqual(before.registry);
  expect(r.after.services['w32time']).toMatchObject({ status, startType });
}

/** One call fails; the run names it, exits 2 rolled-back and leaves the stopped Manual host as found. */
function failing(step: string, over: Partial<FakeState>, reason: string, message: RegExp): Scenario {
  return {
    name: `reports a failing ${step}, exits 2 rolled-back, and leaves the host as found`,
    state: stoppedStock(over),
    check: ([r], before) => {
      expect(r!.stdout).toMatch(message);
      expect(r.outcome).toMatchObject({ result: 'rolled-back', reason });
      expect(r.code).toBe(2);
      expectAsFound(before, r, 'demand', 'Stopped');
    },
  };
}

const SCENARIOS: Scenario[] = [
  {
    name: 'changes a stopped stock host when nothing fails (the baseline the failures below break)',
    state: stoppedStock(),
    check: ([r]) => {
      expect(r!.outcome).toMatchObject({ result: 'changed', action: 'set-amazon-time-sync' });
      expect(r!.code).toBe(0);
      expect(r!.after['scCalls']).toEqual(['qtriggerinfo w32time', 'triggerinfo w32time start/networkon stop/networkoff', 'config w32time start= auto', 'start w32time']);
    },
  },
  failing('sc.exe triggerinfo', { failCalls: ['sc.exe triggerinfo w32time start/networkon stop/networkoff'] }, 'service-triggers-not-set', /^tsg: sc\.exe triggerinfo w32time: 5 .*Access is denied/m),
  failing('sc.exe config', { failCalls: ['sc.exe config w32time start= auto'] }, 'service-start-type-not-set', /^tsg: sc\.exe config w32time start= auto: 5 .*Access is denied/m),
  failing(
    'sc.exe config that does not take',
    { world: { reachable: ['169.254.169.123'], scConfigIgnored: true } },
    'service-start-type-not-updated',
    /^tsg: start type reads 'Manual' after sc\.exe config w32time start= auto$/m,
  ),
  failing('sc.exe start', { failCalls: ['sc.exe start w32time'] }, 'w32time-did-not-start', /^tsg: sc\.exe start w32time: 5 .*Access is denied/m),
  failing('w32tm /config /update', { failCalls: ['w32tm.exe /config /update'] }, 'w32tm-config-update-failed', /^tsg: w32tm \/config \/update: 5 .*Access is denied/m),
  failing('w32tm /resync', { failCalls: ['w32tm.exe /resync'] }, 'not-synchronized-within-4s', /^tsg: w32tm \/resync: 5 .*Access is denied/m),
  ...['NtpServer', 'InputProvider', 'SpecialPollInterval', 'UpdateInterval'].map((name) =>
    failing(`registry write of ${name}`, { failWrites: [name] }, 'registry-write-failed', new RegExp(`^tsg: writing ${name} failed: Requested registry access is not allowed`, 'm')),
  ),
  {
    name: 'reports a failing sc.exe stop during the restart of a running host, and still rolls back to it running on its old values',
    state: stockWindows({ world: { reachable: ['time.windows.com'] }, failCalls: ['sc.exe stop w32time'] }),
    check: ([r], before) => {
      expect(r!.stdout).toMatch(/^tsg: sc\.exe stop w32time: 5 .*Access is denied/m);
      expect(r!.stdout).toContain('tsg: W32Time restart failed');
      expect(r!.outcome).toMatchObject({ result: 'rolled-back', reason: 'not-synchronized-within-4s' });
      expect(r!.code).toBe(2);
      expectAsFound(before, r!, 'demand', 'Running');
    },
  },
  {
    name: 'says rollback-failed when the rollback cannot stop the service it started (sc.exe stop fails)',
    state: stoppedStock({ world: { reachable: ['time.windows.com'] }, failCalls: ['sc.exe stop w32time'] }),
    check: ([r], before) => {
      expect(r!.stdout).toMatch(/^tsg: sc\.exe stop w32time: 5 .*Access is denied/m);
      expect(r!.stdout).toMatch(/^tsg: rollback incomplete: service-not-stopped/m);
      expect(r!.outcome).toMatchObject({ result: 'failed', reason: 'rollback-failed-after-not-synchronized-within-4s' });
      expect(r!.code).toBe(1);
      // What could be restored was.
      expect(r!.after.registry).toEqual(before.registry);
      expect(r!.after.services['w32time']!.startType).toBe('demand');
    },
  },
  {
    name: 'says rollback-failed when the rollback cannot put the start type back (sc.exe config start= demand fails)',
    state: stoppedStock({ world: { reachable: ['time.windows.com'] }, failCalls: ['sc.exe config w32time start= demand'] }),
    check: ([r]) => {
      expect(r!.stdout).toMatch(/^tsg: sc\.exe config w32time start= demand: 5 .*Access is denied/m);
      expect(r!.stdout).toMatch(/^tsg: rollback incomplete: start-type/m);
      expect(r!.outcome).toMatchObject({ result: 'failed', reason: 'rollback-failed-after-not-synchronized-within-4s' });
      expect(r!.code).toBe(1);
      expect(r!.after.services['w32time']).toMatchObject({ status: 'Stopped', startType: 'auto' });
    },
  },
];

describeWithPwsh('remediate-windows.ps1 when a service-control call fails (real pwsh)', () => {
  scenarioTests(SCENARIOS);
});
