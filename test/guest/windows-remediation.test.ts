/**
 * The real remediate-windows.ps1 under pwsh against a fake Windows (registry, service, w32tm
 * stand-ins): the paths that fix, keep or leave a host. Rollback, triggers and failure injection
 * are in the other windows-remediation-*.test.ts files (split so no file is the suite's critical path).
 */
import { amazonWindows, describeWithPwsh, domainJoinTriggers, networkTriggers, POLICY, reg, stockWindows, SVC } from './windows-harness';
import { fixThenRerun, remediate, triggers } from './windows-remediation-support';

jest.setTimeout(300_000);

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

  it('repairs an imported image (Disabled and stopped service, weekly SpecialPollInterval) on a Japanese host: only those values, the start type through the SCM, started, verified, then compliant', () => {
    const s = amazonWindows({ services: { w32time: { status: 'Stopped' } } });
    s.world.lang = 'ja';
    s.registry[`${SVC}\\timeproviders\\ntpclient`]!['SpecialPollInterval'] = { value: 604800, kind: 'DWord' };
    s.registry[SVC] = { Start: { value: 4, kind: 'DWord' } };
    fixThenRerun(s, (stdout, after) => {
      expect(stdout.match(/^tsg: set .*/gm)).toEqual(['tsg: set SpecialPollInterval=900', 'tsg: set start type Auto (sc.exe config w32time start= auto), read back from the SCM']);
      expect(reg(after, `${SVC}\\timeproviders\\ntpclient`, 'SpecialPollInterval')).toBe(900);
      expect(after.services['w32time']).toMatchObject({ status: 'Running', startType: 'auto' });
      // sc.exe config writes the registry copy too.
      expect(reg(after, SVC, 'Start')).toBe(2);
    });
  });

  it('does not act when the domain role cannot be read (CIM fails), and never falls back to WMI without a timeout', () => {
    const r = remediate(stockWindows({ cimFails: true }));
    expect(r.outcome).toMatchObject({ result: 'failed', reason: 'domain-role-unknown' });
    expect(r.after.cimCalls).toEqual(['cim timeout=15']);
    expect(r.after.writes).toBeUndefined();
  });

  it('changes nothing in a dry run', () => {
    const before = stockWindows();
    const r = remediate(before, { DryRun: 'true' });
    expect(r.outcome).toMatchObject({ result: 'would-change' });
    expect(r.after.registry).toEqual(before.registry);
    expect(r.after.writes).toBeUndefined();
  });

  it.each([
    ['Manual with the stock domain-join triggers', 3, domainJoinTriggers()],
    ['Manual without triggers', 3, {}],
    ['Automatic without triggers', 2, {}],
  ])("judges a running host synchronised to Amazon with AWS's documented values compliant, start type %s: nothing written", (_name, start, trig) => {
    const s = amazonWindows();
    for (const k of Object.keys(triggers(s))) delete s.registry[k];
    Object.assign(s.registry, trig);
    s.registry[SVC] = { Start: { value: start, kind: 'DWord' } };
    const r = remediate(s);
    expect(r.outcome).toMatchObject({ result: 'already-compliant', reason: 'amazon-source-selected' });
    expect(r.code).toBe(0);
    expect(r.after.registry).toEqual(s.registry);
    expect(r.after.writes).toBeUndefined();
    expect(r.after['scCalls']).toEqual(['qtriggerinfo w32time']);
  });

  it('applies the whole AWS configuration to a stopped host that has only the values (start type and triggers too, so it runs after a reboot), then a second run changes nothing', () => {
    const s = amazonWindows({ services: { w32time: { status: 'Stopped' } } });
    for (const k of Object.keys(triggers(s))) delete s.registry[k];
    s.registry[SVC] = { Start: { value: 3, kind: 'DWord' } };
    fixThenRerun(s, (stdout, after) => {
      expect(stdout).toContain('before: triggers (action/type/guid)=none');
      expect(stdout).toContain('before: start type=Manual');
      expect(triggers(after)).toEqual(networkTriggers());
      expect(after.services['w32time']).toMatchObject({ status: 'Running', startType: 'auto' });
    });
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
