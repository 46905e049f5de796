/**
 * The real remediate-windows.ps1 under pwsh against a fake Windows (registry, service, w32tm
 * stand-ins): the paths that fix, keep or leave a host. Rollback, triggers and failure injection
 * are in the other windows-remediation-*.test.ts files (split so no file is the suite's critical path).
 */
import { amazonWindows, describeWithPwsh, domainJoinTriggers, type FakeState, networkTriggers, POLICY, reg, stockWindows, SVC } from './windows-harness';
import { expectFixedThenCompliant, type Scenario, scenarioTests, triggers } from './windows-remediation-support';

jest.setTimeout(300_000);

/** Two runs with the verify budget of a run that succeeds: the fix, then the re-run that finds it compliant. */
const TWICE = [{ VerifySeconds: '10' }, { VerifySeconds: '10' }];

/** An AWS-configured host, synchronised to Amazon, with another start type and triggers. */
function amazonWith(start: number, trig: FakeState['registry'], over: Partial<FakeState> = {}): FakeState {
  const s = amazonWindows(over);
  for (const k of Object.keys(triggers(s))) delete s.registry[k];
  Object.assign(s.registry, trig);
  s.registry[SVC] = { Start: { value: start, kind: 'DWord' } };
  return s;
}

const imported = amazonWindows({ services: { w32time: { status: 'Stopped' } } });
imported.world.lang = 'ja';
imported.registry[`${SVC}\\timeproviders\\ntpclient`]!['SpecialPollInterval'] = { value: 604800, kind: 'DWord' };
imported.registry[SVC] = { Start: { value: 4, kind: 'DWord' } };

const build26100 = stockWindows();
build26100.registry['hklm:\\software\\microsoft\\windows nt\\currentversion'] = { CurrentBuildNumber: { value: '26100', kind: 'String' } };

const gpo = stockWindows();
gpo.registry[`${POLICY}\\parameters`] = { NtpServer: { value: 'ntp.corp.example.com,0x9', kind: 'String' } };

describeWithPwsh('remediate-windows.ps1 on a fake Windows (real pwsh)', () => {
  scenarioTests([
    {
      name: 'fixes a stock host as AWS AMIs ship it, verifies by reference id, and a second run changes nothing',
      state: stockWindows(),
      runs: TWICE,
      check: (runs) => {
        const s = expectFixedThenCompliant(runs);
        expect(reg(s, `${SVC}\\parameters`, 'NtpServer')).toBe('169.254.169.123,0x9');
        expect(reg(s, `${SVC}\\parameters`, 'Type')).toBe('NTP');
        expect(reg(s, `${SVC}\\timeproviders\\ntpclient`, 'SpecialPollInterval')).toBe(900);
        expect(reg(s, `${SVC}\\timeproviders\\ntpclient`, 'InputProvider')).toBe(1);
        expect(reg(s, `${SVC}\\timeproviders\\ntpclient`, 'Enabled')).toBe(1);
        expect(reg(s, `${SVC}\\config`, 'UpdateInterval')).toBe(120);
        expect(s.services['w32time']).toMatchObject({ status: 'Running', startType: 'auto' });
        expect(reg(s, SVC, 'Start')).toBe(2);
        expect(triggers(s)).toEqual(networkTriggers());
        expect(s.cimCalls[0]).toMatch(/^cim timeout=\d+$/);
        expect((runs[1]!.after['scCalls'] as string[]).filter((c) => c.startsWith('triggerinfo') || c.startsWith('config'))).toEqual([
          'triggerinfo w32time start/networkon stop/networkoff',
          'config w32time start= auto',
        ]);
      },
    },
    {
      name: 'repairs an imported image (Disabled and stopped service, weekly SpecialPollInterval) on a Japanese host: only those values, the start type through the SCM, started, verified, then compliant',
      state: imported,
      runs: TWICE,
      check: (runs) => {
        const after = expectFixedThenCompliant(runs);
        expect(runs[0]!.stdout.match(/^tsg: set .*/gm)).toEqual(['tsg: set SpecialPollInterval=900', 'tsg: set start type Auto (sc.exe config w32time start= auto), read back from the SCM']);
        expect(reg(after, `${SVC}\\timeproviders\\ntpclient`, 'SpecialPollInterval')).toBe(900);
        expect(after.services['w32time']).toMatchObject({ status: 'Running', startType: 'auto' });
        // sc.exe config writes the registry copy too.
        expect(reg(after, SVC, 'Start')).toBe(2);
      },
    },
    ...(
      [
        ['Manual with the stock domain-join triggers', 3, domainJoinTriggers()],
        ['Manual without triggers', 3, {}],
        ['Automatic without triggers', 2, {}],
      ] as const
    ).map(
      ([name, start, trig]): Scenario => ({
        name: `judges a running host synchronised to Amazon with AWS's documented values compliant, start type ${name}: nothing written`,
        state: amazonWith(start, trig),
        check: ([r], before) => {
          expect(r!.outcome).toMatchObject({ result: 'already-compliant', reason: 'amazon-source-selected' });
          expect(r!.code).toBe(0);
          expect(r!.after.registry).toEqual(before.registry);
          expect(r!.after.writes).toBeUndefined();
          expect(r!.after['scCalls']).toEqual(['qtriggerinfo w32time']);
        },
      }),
    ),
    {
      name: 'applies the whole AWS configuration to a stopped host that has only the values (start type and triggers too, so it runs after a reboot), then a second run changes nothing',
      state: amazonWith(3, {}, { services: { w32time: { status: 'Stopped' } } }),
      runs: TWICE,
      check: (runs) => {
        const after = expectFixedThenCompliant(runs);
        expect(runs[0]!.stdout).toContain('before: triggers (action/type/guid)=none');
        expect(runs[0]!.stdout).toContain('before: start type=Manual');
        expect(triggers(after)).toEqual(networkTriggers());
        expect(after.services['w32time']).toMatchObject({ status: 'Running', startType: 'auto' });
      },
    },
    {
      name: 'does not act when the domain role cannot be read (CIM fails), and never falls back to WMI without a timeout',
      state: stockWindows({ cimFails: true }),
      check: ([r]) => {
        expect(r!.outcome).toMatchObject({ result: 'failed', reason: 'domain-role-unknown' });
        expect(r!.after.cimCalls).toEqual(['cim timeout=15']);
        expect(r!.after.writes).toBeUndefined();
      },
    },
    {
      name: 'changes nothing in a dry run',
      state: stockWindows(),
      runs: [{ DryRun: 'true' }],
      check: ([r], before) => {
        expect(r!.outcome).toMatchObject({ result: 'would-change' });
        expect(r!.stdout).toContain('tsg: would set start type Auto (sc.exe config w32time start= auto)');
        expect(r!.after.registry).toEqual(before.registry);
        expect(r!.after.writes).toBeUndefined();
      },
    },
    {
      name: 'writes fd00:ec2::123 with Endpoint=ipv6 (1024 s on build 26100), verifies by the Source position, and a second run keeps it',
      state: build26100,
      runs: TWICE.map((a) => ({ ...a, Endpoint: 'ipv6' })),
      check: (runs) => {
        const after = expectFixedThenCompliant(runs);
        expect(reg(after, `${SVC}\\parameters`, 'NtpServer')).toBe('fd00:ec2::123,0x9');
        expect(reg(after, `${SVC}\\timeproviders\\ntpclient`, 'SpecialPollInterval')).toBe(1024);
      },
    },
    {
      name: 'leaves a domain member alone',
      state: stockWindows({ computer: { DomainRole: 3, PartOfDomain: true } }),
      check: ([r]) => {
        expect(r!.outcome).toMatchObject({ result: 'skipped', reason: 'domain-member' });
        expect(r!.after.writes).toBeUndefined();
      },
    },
    {
      name: 'changes a domain member when forced',
      state: stockWindows({ computer: { DomainRole: 3, PartOfDomain: true } }),
      runs: [{ ForceDomainMembers: 'true', VerifySeconds: '10' }],
      check: ([r]) => expect(r!.outcome).toMatchObject({ result: 'changed' }),
    },
    {
      name: 'never touches a backup domain controller, even when forced',
      state: stockWindows({ computer: { DomainRole: 4, PartOfDomain: true } }),
      runs: [{ ForceDomainMembers: 'true' }],
      check: ([r]) => {
        expect(r!.outcome).toMatchObject({ result: 'skipped', reason: 'domain-controller' });
        expect(r!.after.writes).toBeUndefined();
      },
    },
    {
      name: 'leaves the PDC emulator alone unless forced',
      state: stockWindows({ computer: { DomainRole: 5, PartOfDomain: true } }),
      check: ([r]) => {
        expect(r!.outcome).toMatchObject({ result: 'skipped', reason: 'pdc-emulator' });
        expect(r!.after.writes).toBeUndefined();
      },
    },
    {
      name: 'changes a forced PDC emulator, as reliable',
      state: stockWindows({ computer: { DomainRole: 5, PartOfDomain: true } }),
      runs: [{ ForceDomainMembers: 'true', VerifySeconds: '10' }],
      check: ([r]) => {
        expect(r!.outcome).toMatchObject({ result: 'changed' });
        expect(reg(r!.after, `${SVC}\\config`, 'AnnounceFlags')).toBe(5);
      },
    },
    {
      name: 'reports a Group-Policy-managed host and writes nothing',
      state: gpo,
      check: ([r]) => {
        expect(r!.outcome).toMatchObject({ result: 'skipped', reason: 'group-policy-managed' });
        expect(r!.after.writes).toBeUndefined();
      },
    },
  ]);
});
