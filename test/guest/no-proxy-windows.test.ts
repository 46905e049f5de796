/**
 * The NO_PROXY step of remediate-windows.ps1 (FixNoProxy=true) under real pwsh against the fake
 * Windows: the machine environment in the fake registry, the WinHTTP proxy through a netsh stand-in.
 */
import { NO_PROXY_ADDRESSES, noProxyAudit } from '../../lambda/core/remediation/no-proxy-result';
import { amazonWindows, describeWithPwsh, type FakeState } from './windows-harness';
import { type Run, type Scenario, scenarioTests } from './windows-remediation-support';

jest.setTimeout(300_000);

const ENV = 'hklm:\\system\\currentcontrolset\\control\\session manager\\environment';
const ADDRS = NO_PROXY_ADDRESSES.join(',');
const NP_LINE = /^TSG-NO-PROXY v1 result=(\S+) files=(\S*) reason=(\S*)$/m;
type Kind = 'String' | 'ExpandString' | 'DWord' | 'Binary';

/** An Amazon-configured host (the time-sync step has nothing to do) with this machine environment. */
function host(env: Readonly<Record<string, { readonly value: string; readonly kind?: string }>>, over: Partial<FakeState> = {}): FakeState {
  const s = amazonWindows(over);
  const all: Record<string, { value: string; kind?: string }> = { Path: { value: 'C:\\Windows\\system32' }, ...env };
  s.registry[ENV] = Object.fromEntries(Object.entries(all).map(([k, v]) => [k, { value: v.value, kind: (v.kind ?? 'String') as Kind }]));
  return s;
}

function np(stdout: string) {
  const m = NP_LINE.exec(stdout);
  return m ? { result: m[1]!, files: m[2]!, reason: m[3]! } : undefined;
}

const ON = { FixNoProxy: 'true', FixTimeSync: 'false' };
const PROXY = { HTTPS_PROXY: { value: 'http://p:3128' } };

/** A scenario whose check sees its single run, with its NO_PROXY line parsed. */
function once(name: string, state: FakeState, args: Record<string, string>, check: (r: Run & { np: ReturnType<typeof np> }, before: FakeState) => void): Scenario {
  return { name, state, runs: [args], check: ([r], before) => check({ ...r!, np: np(r!.stdout) }, before) };
}

// All runs of the file go through one pwsh process (scenarioTests): pwsh's start-up and the
// script's first compilation cost more CPU than a run itself.
describeWithPwsh('remediate-windows.ps1 FixNoProxy on a fake Windows (real pwsh)', () => {
  scenarioTests([
    {
      name: 'creates NO_PROXY in the machine environment where HTTPS_PROXY is set without one, and a second run changes nothing',
      state: host({ HTTPS_PROXY: { value: 'http://proxy.corp:3128' } }),
      runs: [ON, ON],
      check: ([first, second]) => {
        expect(np(first!.stdout)).toEqual({ result: 'changed', files: 'machine-env:NO_PROXY', reason: 'services-pick-it-up-at-next-restart' });
        expect(first!.stdout).toContain('services see it after the next Windows restart');
        expect(first!.after.registry[ENV]!['NO_PROXY']).toEqual({ value: ADDRS, kind: 'String' });
        expect(first!.outcome).toMatchObject({ result: 'skipped', reason: 'time-sync-fix-off' });
        expect(first!.code).toBe(0);
        expect(np(second!.stdout)).toMatchObject({ result: 'already-compliant', reason: 'imds-covered' });
        expect(second!.after.registry).toEqual(first!.after.registry);
        expect(second!.after.writes).toBe(first!.after.writes);
        expect(noProxyAudit(first!.stdout)).toMatchObject({ outcome: 'verified', after: { files: ['machine-env:NO_PROXY'] } });
      },
    },
    once(
      'appends to an existing value whatever its case, keeping its name and its REG_EXPAND_SZ kind',
      host({ http_proxy: { value: 'http://p:8080' }, no_proxy: { value: 'localhost,%CORP_HOSTS%', kind: 'ExpandString' } }),
      ON,
      (r) => {
        expect(r.np).toMatchObject({ result: 'changed', files: 'machine-env:no_proxy' });
        expect(r.after.registry[ENV]!['no_proxy']).toEqual({ value: `localhost,%CORP_HOSTS%,${ADDRS}`, kind: 'ExpandString' });
        expect(Object.keys(r.after.registry[ENV]!).filter((k) => /^no_proxy$/i.test(k))).toEqual(['no_proxy']);
      },
    ),
    once('appends only the addresses missing', host({ ...PROXY, NO_PROXY: { value: 'fd00:ec2::254, .corp' } }), ON, (r) => {
      expect(r.after.registry[ENV]!['NO_PROXY']!.value).toBe('fd00:ec2::254, .corp,169.254.169.254,169.254.170.2');
    }),
    ...(
      [
        ['no proxy at all', {}, 'no-system-proxy'],
        ['an empty proxy value', { HTTPS_PROXY: { value: ' ' } }, 'no-system-proxy'],
        ['NO_PROXY covering it by CIDR', { ...PROXY, NO_PROXY: { value: '169.254.0.0/16' } }, 'imds-covered'],
        ['NO_PROXY=*', { HTTP_PROXY: { value: 'http://p:3128' }, NO_PROXY: { value: '*' } }, 'imds-covered'],
      ] as const
    ).map(([what, env, reason]) =>
      once(`changes nothing with ${what}`, host(env), ON, (r, before) => {
        expect(r.np).toMatchObject({ result: 'already-compliant', reason });
        expect(r.after.registry).toEqual(before.registry);
      }),
    ),
    ...(
      [
        ['absent', {}],
        ['false', { FixNoProxy: 'false' }],
        ['empty', { FixNoProxy: '' }],
      ] as const
    ).map(([what, args]) =>
      once(`with FixNoProxy ${what} changes nothing and prints no NO_PROXY line, even with the proxy set`, host(PROXY), args, (r, before) => {
        expect(r.np).toBeUndefined();
        expect(r.outcome.result).toBe('already-compliant');
        expect(r.after.registry).toEqual(before.registry);
        expect(r.after.netshCalls).toBeUndefined();
      }),
    ),
    once(
      'reports the WinHTTP proxy and never changes it (only `netsh winhttp show proxy` runs)',
      host(PROXY, { world: { ...amazonWindows().world, winhttpProxy: 'winproxy.corp:8080' } }),
      ON,
      (r) => {
        expect(r.stdout).toMatch(/WinHTTP proxy \(not changed, SDKs do not use it\): .*winproxy\.corp:8080/);
        expect(r.after.netshCalls).toEqual(['winhttp show proxy']);
      },
    ),
    once('in dry run says what it would write and writes nothing', host(PROXY), { ...ON, DryRun: 'true' }, (r, before) => {
      expect(r.np).toEqual({ result: 'would-change', files: 'machine-env:NO_PROXY', reason: 'dry-run' });
      expect(r.stdout).toContain(`NO_PROXY=${ADDRS}`);
      expect(r.after.registry).toEqual(before.registry);
    }),
    ...(
      [
        ['refused (access denied)', { failWrites: ['NO_PROXY'] }, {}, 'registry-write-failed'],
        ['accepted but not stored', { dropWrites: ['NO_PROXY'] }, {}, 'registry-not-updated'],
        ['accepted but not stored, on an existing value', { dropWrites: ['NO_PROXY'] }, { NO_PROXY: { value: 'localhost' } }, 'registry-not-updated'],
      ] satisfies [string, Partial<FakeState>, Record<string, { value: string }>, string][]
    ).map(([what, over, extra, reason]) =>
      once(`rolls back to the exact previous registry when the write is ${what}`, host({ ...PROXY, ...extra }, over), ON, (r, before) => {
        expect(r.np).toMatchObject({ result: 'rolled-back', reason });
        expect(r.after.registry).toEqual(before.registry);
        expect(r.outcome).toMatchObject({ result: 'rolled-back', action: 'no-proxy', reason: 'time-sync-fix-off' });
        expect(r.code).toBe(2);
        expect(noProxyAudit(r.stdout)).toMatchObject({ outcome: 'rolled-back', reason });
      }),
    ),
    once('runs both steps when both are on: NO_PROXY fixed, the time-sync step still judged', host(PROXY), { FixNoProxy: 'true' }, (r) => {
      expect(r.np?.result).toBe('changed');
      expect(r.outcome).toMatchObject({ result: 'already-compliant', reason: 'amazon-source-selected' });
    }),
    ...['FixNoProxy', 'FixTimeSync'].map((name) =>
      once(`rejects a bad ${name} value with a failed result`, host({}), { [name]: 'maybe' }, (r) => {
        expect(r.outcome).toMatchObject({ result: 'failed', action: 'parse-options', reason: `bad-value-for-${name}` });
      }),
    ),
  ]);
});
