/** The real remediate-windows.ps1 under pwsh against a fake Windows (registry, service, w32tm stand-ins). */
import { readFileSync } from 'node:fs';
import { parseRemediationOutput } from '../../lambda/core/remediation/guest-result';
import { amazonWindows, describeWithPwsh, domainJoinTriggers, type FakeState, fakeWindows, networkTriggers, POLICY, reg, stockWindows, SVC, TRIGGERS } from './windows-harness';

/** The TriggerInfo subkeys of a state. */
function triggers(s: FakeState) {
  return Object.fromEntries(Object.entries(s.registry).filter(([k]) => k.startsWith(`${TRIGGERS}\\`)));
}

/** A stock host without any service trigger. */
function noTriggers(over: Partial<FakeState> = {}): FakeState {
  const s = stockWindows(over);
  for (const k of Object.keys(triggers(s))) delete s.registry[k];
  return s;
}

jest.setTimeout(300_000);

function remediate(state: FakeState, args: Record<string, string> = {}) {
  const w = fakeWindows(state);
  try {
    const r = w.run('remediate-windows.ps1', { VerifySeconds: '4', ...args });
    return { ...r, outcome: parseRemediationOutput(r.stdout), after: w.state(), w };
  } finally {
    w.cleanup();
  }
}

/** Runs the fix (`check` sees the first run), then again: the second run is already-compliant and writes nothing. */
function fixThenRerun(state: FakeState, check: (stdout: string, after: FakeState) => void, args: Record<string, string> = {}): FakeState {
  const w = fakeWindows(state);
  try {
    const first = w.run('remediate-windows.ps1', { VerifySeconds: '10', ...args });
    expect(parseRemediationOutput(first.stdout)).toMatchObject({ result: 'changed', action: 'set-amazon-time-sync' });
    expect(first.code).toBe(0);
    const s = w.state();
    check(first.stdout, s);
    const second = w.run('remediate-windows.ps1', { VerifySeconds: '10', ...args });
    expect(parseRemediationOutput(second.stdout)).toMatchObject({ result: 'already-compliant' });
    expect(w.state().registry).toEqual(s.registry);
    expect(w.state().writes).toBe(s.writes);
    return w.state();
  } finally {
    w.cleanup();
  }
}

describeWithPwsh('remediate-windows.ps1 on a fake Windows (real pwsh)', () => {
  it('fixes a stock host as AWS AMIs ship it, verifies by reference id, and a second run changes nothing', () => {
    const end = fixThenRerun(stockWindows(), (_stdout, s) => {
      expect(reg(s, `${SVC}\\parameters`, 'NtpServer')).toBe('169.254.169.123,0x9');
      expect(reg(s, `${SVC}\\parameters`, 'Type')).toBe('NTP');
      expect(reg(s, `${SVC}\\timeproviders\\ntpclient`, 'SpecialPollInterval')).toBe(900);
      expect(reg(s, `${SVC}\\timeproviders\\ntpclient`, 'InputProvider')).toBe(1);
      expect(reg(s, `${SVC}\\timeproviders\\ntpclient`, 'Enabled')).toBe(1);
      expect(reg(s, `${SVC}\\config`, 'UpdateInterval')).toBe(120);
      expect(reg(s, SVC, 'Start')).toBe(2);
      expect(triggers(s)).toEqual(networkTriggers());
      expect(s.cimCalls[0]).toMatch(/^cim timeout=\d+$/);
    });
    expect((end['scCalls'] as string[]).filter((c) => c.startsWith('triggerinfo'))).toEqual(['triggerinfo w32time start/networkon stop/networkoff']);
  });

  it('rolls every value back exactly when verification fails (an absent value is deleted again), after one service restart', () => {
    // staleSuccess: /resync exits 0 and the Source line already reads 169.254.169.123,0x9 while the
    // reference id is still time.windows.com's: only the reference id tells it is not verified.
    const before = stockWindows({ world: { reachable: ['time.windows.com'], staleSuccess: true } });
    const r = remediate(before);
    expect(r.outcome).toMatchObject({ result: 'rolled-back', reason: 'not-synchronized-within-4s' });
    expect(r.code).toBe(2);
    expect(r.after.registry).toEqual(before.registry);
    expect(r.stdout.match(/restarting W32Time once/g)).toHaveLength(1);
    expect(r.after.services['w32time']!.status).toBe('Running');
  });

  it('holds its w32tm timeouts when /resync hangs: rolled back within the verify budget, the hung w32tm killed by PID', () => {
    // The Amazon endpoint answers (the /nowait resync syncs the status), but the blocking /resync never returns.
    const before = stockWindows({ world: { reachable: ['169.254.169.123'], hangOn: ['/resync'] } });
    const w = fakeWindows(before);
    try {
      const r = w.run('remediate-windows.ps1', { VerifySeconds: '4' });
      expect(parseRemediationOutput(r.stdout)).toMatchObject({ result: 'rolled-back', reason: 'not-synchronized-within-4s' });
      expect(r.ms).toBeLessThan(60_000);
      expect(w.state().registry).toEqual(before.registry);
      const pid = Number(readFileSync(`${w.statePath}.hang.pid`, 'utf8'));
      expect(() => process.kill(pid, 0)).toThrow();
    } finally {
      w.cleanup();
    }
  });

  it('repairs an imported image (Disabled and stopped service, weekly SpecialPollInterval) on a Japanese host: only those values, started, verified, then compliant', () => {
    const s = amazonWindows({ services: { w32time: { status: 'Stopped' } } });
    s.world.lang = 'ja';
    s.registry[`${SVC}\\timeproviders\\ntpclient`]!['SpecialPollInterval'] = { value: 604800, kind: 'DWord' };
    s.registry[SVC] = { Start: { value: 4, kind: 'DWord' } };
    fixThenRerun(s, (stdout, after) => {
      expect(stdout.match(/^tsg: set \S+/gm)).toEqual(['tsg: set SpecialPollInterval=900', 'tsg: set Start=2']);
      expect(reg(after, `${SVC}\\timeproviders\\ntpclient`, 'SpecialPollInterval')).toBe(900);
      expect(reg(after, SVC, 'Start')).toBe(2);
      expect(after.services['w32time']!.status).toBe('Running');
    });
  });

  it('gives up on a service stuck starting after its 30 s wait (no unbounded Start-Service) and rolls back', () => {
    const before = amazonWindows({ services: { w32time: { status: 'Stopped', stuckStarting: true } } });
    before.registry[SVC] = { Start: { value: 4, kind: 'DWord' } };
    const r = remediate(before);
    expect(r.outcome).toMatchObject({ result: 'rolled-back', reason: 'w32time-did-not-start' });
    expect(r.ms).toBeGreaterThan(30_000);
    expect(r.ms).toBeLessThan(120_000);
    expect(r.after.registry).toEqual(before.registry);
  });

  it('does not act when the domain role cannot be read (CIM fails), and never falls back to WMI without a timeout', () => {
    const r = remediate(stockWindows({ cimFails: true }));
    expect(r.outcome).toMatchObject({ result: 'failed', reason: 'domain-role-unknown' });
    expect(r.after.cimCalls).toEqual(['cim timeout=15']);
    expect(r.after.writes).toBeUndefined();
  });

  it('says rollback-failed when a restored value does not read back', () => {
    // InputProvider did not exist: the fix creates it, the rollback cannot delete it.
    const r = remediate(stockWindows({ world: { reachable: ['time.windows.com'] }, failRemoves: ['InputProvider'] }));
    expect(r.outcome).toMatchObject({ result: 'failed', reason: 'rollback-failed-after-not-synchronized-within-4s' });
    expect(r.code).toBe(1);
  });

  it('reports a clock too far off as its own reason, and leaves a service it found stopped stopped again', () => {
    const before = stockWindows({ world: { reachable: ['169.254.169.123'], tooFar: true }, services: { w32time: { status: 'Stopped' } } });
    const r = remediate(before);
    expect(r.outcome).toMatchObject({ result: 'rolled-back', reason: 'clock-too-far-off' });
    expect(r.after.registry).toEqual(before.registry);
    expect(r.after.services['w32time']!.status).toBe('Stopped');
    expect(r.after['scCalls']).toEqual(expect.arrayContaining(['start w32time', 'stop w32time']));
  });

  it('changes nothing in a dry run', () => {
    const before = stockWindows();
    const r = remediate(before, { DryRun: 'true' });
    expect(r.outcome).toMatchObject({ result: 'would-change' });
    expect(r.after.registry).toEqual(before.registry);
    expect(r.after.writes).toBeUndefined();
  });

  it('sets the network triggers on a host with Start=2 but no triggers, then a second run changes nothing', () => {
    const s = amazonWindows();
    for (const k of Object.keys(triggers(s))) delete s.registry[k];
    fixThenRerun(s, (stdout, after) => {
      expect(stdout).toContain('before: triggers (action/type/guid)=none');
      expect(triggers(after)).toEqual(networkTriggers());
    });
  });

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

  it('writes fd00:ec2::123 with Endpoint=ipv6 (1024 s on build 26100), verifies by the Source position, and a second run keeps it', () => {
    const s = stockWindows();
    s.registry['hklm:\\software\\microsoft\\windows nt\\currentversion'] = { CurrentBuildNumber: { value: '26100', kind: 'String' } };
    fixThenRerun(
      s,
      (_stdout, after) => {
        expect(reg(after, `${SVC}\\parameters`, 'NtpServer')).toBe('fd00:ec2::123,0x9');
        expect(reg(after, `${SVC}\\timeproviders\\ntpclient`, 'SpecialPollInterval')).toBe(1024);
      },
      { Endpoint: 'ipv6' },
    );
  });

  it('leaves a domain member alone unless forced', () => {
    const member = () => stockWindows({ computer: { DomainRole: 3, PartOfDomain: true } });
    const left = remediate(member());
    expect(left.outcome).toMatchObject({ result: 'skipped', reason: 'domain-member' });
    expect(left.after.writes).toBeUndefined();
    const forced = remediate(member(), { ForceDomainMembers: 'true', VerifySeconds: '10' });
    expect(forced.outcome).toMatchObject({ result: 'changed' });
  });

  it('never touches a backup domain controller, and the PDC emulator only when forced, as reliable', () => {
    expect(remediate(stockWindows({ computer: { DomainRole: 4, PartOfDomain: true } }), { ForceDomainMembers: 'true' }).outcome).toMatchObject({ result: 'skipped', reason: 'domain-controller' });
    const unforced = remediate(stockWindows({ computer: { DomainRole: 5, PartOfDomain: true } }));
    expect(unforced.outcome).toMatchObject({ result: 'skipped', reason: 'pdc-emulator' });
    expect(unforced.after.writes).toBeUndefined();
    const pdc = remediate(stockWindows({ computer: { DomainRole: 5, PartOfDomain: true } }), { ForceDomainMembers: 'true', VerifySeconds: '10' });
    expect(pdc.outcome).toMatchObject({ result: 'changed' });
    expect(reg(pdc.after, `${SVC}\\config`, 'AnnounceFlags')).toBe(5);
  });

  it('reports a Group-Policy-managed host and writes nothing', () => {
    const s = stockWindows();
    s.registry[`${POLICY}\\parameters`] = { NtpServer: { value: 'ntp.corp.example.com,0x9', kind: 'String' } };
    const r = remediate(s);
    expect(r.outcome).toMatchObject({ result: 'skipped', reason: 'group-policy-managed' });
    expect(r.after.writes).toBeUndefined();
  });
});
