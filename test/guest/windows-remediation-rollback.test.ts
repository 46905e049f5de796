/**
 * The real remediate-windows.ps1 under pwsh on a fake Windows: what it does when the fix does not
 * take (verification fails, w32tm hangs, the service will not start, the clock is too far off),
 * and that the rollback puts back exactly what it found, or says it could not.
 */
import { readFileSync } from 'node:fs';
import { parseRemediationOutput } from '../../lambda/core/remediation/guest-result';
import { amazonWindows, describeWithPwsh, fakeWindows, stockWindows, SVC } from './windows-harness';
import { type Scenario, scenarioTests, TEST_ARGS } from './windows-remediation-support';

jest.setTimeout(300_000);

describeWithPwsh('remediate-windows.ps1 rollback on a fake Windows (real pwsh)', () => {
  const stuck = amazonWindows({ services: { w32time: { status: 'Stopped', stuckStarting: true } } });
  stuck.registry[SVC] = { Start: { value: 4, kind: 'DWord' } };

  scenarioTests([
    {
      name: 'rolls every value back exactly when verification fails (an absent value is deleted again), after one service restart',
      // staleSuccess: /resync exits 0 and the Source line already reads 169.254.169.123,0x9 while the
      // reference id is still time.windows.com's: only the reference id tells it is not verified.
      state: stockWindows({ world: { reachable: ['time.windows.com'], staleSuccess: true } }),
      check: ([r], before) => {
        expect(r!.outcome).toMatchObject({ result: 'rolled-back', reason: 'not-synchronized-within-4s' });
        expect(r!.code).toBe(2);
        expect(r!.after.registry).toEqual(before.registry);
        expect(r!.stdout.match(/restarting W32Time once/g)).toHaveLength(1);
        expect(r!.after.services['w32time']!.status).toBe('Running');
      },
    },
    {
      name: 'gives up on a service stuck starting after its ServiceWaitSeconds wait (no unbounded Start-Service), restores every value and the start type, and says the rollback is incomplete while the service stays START_PENDING',
      state: stuck,
      // The wait is the script's own (3 s here; the documents pass the production 30 s).
      runs: [{ ServiceWaitSeconds: '3' }],
      check: ([r], before) => {
        expect(r!.stdout).toContain('tsg: W32Time not running 3s after sc.exe start w32time');
        // The service cannot be stopped from START_PENDING (sc.exe 1061): the rollback says so instead of claiming success.
        expect(r!.stdout).toMatch(/^tsg: sc\.exe stop w32time: \d+ \[SC\] ControlService FAILED 1061/m);
        expect(r!.stdout).toContain('service-not-stopped');
        expect(r!.outcome).toMatchObject({ result: 'failed', reason: 'rollback-failed-after-w32time-did-not-start' });
        expect(r!.code).toBe(1);
        expect(r!.ms).toBeGreaterThan(3_000);
        expect(r!.ms).toBeLessThan(60_000);
        expect(r!.after.registry).toEqual(before.registry);
        expect(r!.after.services['w32time']!.startType).toBe('disabled');
      },
    },
    ...['0', '601', 'soon'].map((bad): Scenario => ({
      name: `refuses ServiceWaitSeconds=${bad} before touching anything`,
      state: stockWindows(),
      runs: [{ ServiceWaitSeconds: bad }],
      check: ([r]) => {
        expect(r!.outcome).toMatchObject({ result: 'failed', action: 'parse-options', reason: 'bad-value-for-ServiceWaitSeconds' });
        expect(r!.after.writes).toBeUndefined();
      },
    })),
    {
      name: 'says rollback-failed when a restored value does not read back',
      // InputProvider did not exist: the fix creates it, the rollback cannot delete it.
      state: stockWindows({ world: { reachable: ['time.windows.com'] }, failRemoves: ['InputProvider'] }),
      check: ([r]) => {
        expect(r!.outcome).toMatchObject({ result: 'failed', reason: 'rollback-failed-after-not-synchronized-within-4s' });
        expect(r!.stdout).toMatch(/^tsg: rollback incomplete: InputProvider/m);
        expect(r!.code).toBe(1);
      },
    },
    {
      name: 'reports a clock too far off as its own reason, and leaves a service it found stopped stopped again',
      state: stockWindows({ world: { reachable: ['169.254.169.123'], tooFar: true }, services: { w32time: { status: 'Stopped' } } }),
      check: ([r], before) => {
        expect(r!.outcome).toMatchObject({ result: 'rolled-back', reason: 'clock-too-far-off' });
        expect(r!.after.registry).toEqual(before.registry);
        expect(r!.after.services['w32time']!.status).toBe('Stopped');
        expect(r!.after['scCalls']).toEqual(expect.arrayContaining(['start w32time', 'stop w32time']));
      },
    },
  ]);

  // Its own process: the test reads the hung stand-in's PID file and checks the process is gone.
  it('holds its w32tm timeouts when /resync hangs: rolled back within the verify budget, the hung w32tm killed by PID', () => {
    // The Amazon endpoint answers (the /nowait resync syncs the status), but the blocking /resync never returns.
    const before = stockWindows({ world: { reachable: ['169.254.169.123'], hangOn: ['/resync'] } });
    const w = fakeWindows(before);
    try {
      const r = w.run('remediate-windows.ps1', { ...TEST_ARGS });
      expect(parseRemediationOutput(r.stdout)).toMatchObject({ result: 'rolled-back', reason: 'not-synchronized-within-4s' });
      expect(r.ms).toBeLessThan(60_000);
      expect(w.state().registry).toEqual(before.registry);
      const pid = Number(readFileSync(`${w.statePath}.hang.pid`, 'utf8'));
      expect(() => process.kill(pid, 0)).toThrow();
    } finally {
      w.cleanup();
    }
  });

});
