/**
 * The NO_PROXY step of remediate-windows.ps1 (FixNoProxy=true) under real pwsh against the fake
 * Windows: the machine environment in the fake registry, the WinHTTP proxy through a netsh stand-in.
 */
import { parseRemediationOutput } from '../../lambda/core/remediation/guest-result';
import { NO_PROXY_ADDRESSES, noProxyAudit } from '../../lambda/core/remediation/no-proxy-result';
import { amazonWindows, describeWithPwsh, type FakeState, fakeWindows } from './windows-harness';

jest.setTimeout(300_000);

const ENV = 'hklm:\\system\\currentcontrolset\\control\\session manager\\environment';
const ADDRS = NO_PROXY_ADDRESSES.join(',');
const NP_LINE = /^TSG-NO-PROXY v1 result=(\S+) files=(\S*) reason=(\S*)$/m;
type Kind = 'String' | 'ExpandString' | 'DWord' | 'Binary';

/** An Amazon-configured host (the time-sync step has nothing to do) with this machine environment. */
function host(env: Record<string, { value: string; kind?: string }>, over: Partial<FakeState> = {}): FakeState {
  const s = amazonWindows(over);
  const all: Record<string, { value: string; kind?: string }> = { Path: { value: 'C:\\Windows\\system32' }, ...env };
  s.registry[ENV] = Object.fromEntries(Object.entries(all).map(([k, v]) => [k, { value: v.value, kind: (v.kind ?? 'String') as Kind }]));
  return s;
}

function np(stdout: string) {
  const m = NP_LINE.exec(stdout);
  return m ? { result: m[1]!, files: m[2]!, reason: m[3]! } : undefined;
}

/** Runs the script (twice with `twice`) on one fake Windows; returns each run and the final state. */
function runs(state: FakeState, args: Record<string, string>, times = 1) {
  const w = fakeWindows(state);
  try {
    const out = [];
    for (let i = 0; i < times; i++) {
      const r = w.run('remediate-windows.ps1', { VerifySeconds: '4', ...args });
      out.push({ ...r, np: np(r.stdout), outcome: parseRemediationOutput(r.stdout), state: w.state() });
    }
    return out;
  } finally {
    w.cleanup();
  }
}

const ON = { FixNoProxy: 'true', FixTimeSync: 'false' };

describeWithPwsh('remediate-windows.ps1 FixNoProxy on a fake Windows (real pwsh)', () => {
  it('creates NO_PROXY in the machine environment where HTTPS_PROXY is set without one, and a second run changes nothing', () => {
    const [first, second] = runs(host({ HTTPS_PROXY: { value: 'http://proxy.corp:3128' } }), ON, 2);
    expect(first!.np).toEqual({ result: 'changed', files: 'machine-env:NO_PROXY', reason: 'services-pick-it-up-at-next-restart' });
    expect(first!.stdout).toContain('services see it after the next Windows restart');
    expect(first!.state.registry[ENV]!['NO_PROXY']).toEqual({ value: ADDRS, kind: 'String' });
    expect(first!.outcome).toMatchObject({ result: 'skipped', reason: 'time-sync-fix-off' });
    expect(first!.code).toBe(0);
    expect(second!.np).toMatchObject({ result: 'already-compliant', reason: 'imds-covered' });
    expect(second!.state.registry).toEqual(first!.state.registry);
    expect(second!.state.writes).toBe(first!.state.writes);
    expect(noProxyAudit(first!.stdout)).toMatchObject({ outcome: 'verified', after: { files: ['machine-env:NO_PROXY'] } });
  });

  it('appends to an existing value whatever its case, keeping its name and its REG_EXPAND_SZ kind', () => {
    const [r] = runs(host({ http_proxy: { value: 'http://p:8080' }, no_proxy: { value: 'localhost,%CORP_HOSTS%', kind: 'ExpandString' } }), ON);
    expect(r!.np).toMatchObject({ result: 'changed', files: 'machine-env:no_proxy' });
    expect(r!.state.registry[ENV]!['no_proxy']).toEqual({ value: `localhost,%CORP_HOSTS%,${ADDRS}`, kind: 'ExpandString' });
    expect(Object.keys(r!.state.registry[ENV]!).filter((k) => /^no_proxy$/i.test(k))).toEqual(['no_proxy']);
  });

  it('appends only the addresses missing', () => {
    const [r] = runs(host({ HTTPS_PROXY: { value: 'http://p:3128' }, NO_PROXY: { value: 'fd00:ec2::254, .corp' } }), ON);
    expect(r!.state.registry[ENV]!['NO_PROXY']!.value).toBe('fd00:ec2::254, .corp,169.254.169.254,169.254.170.2');
  });

  it.each([
    ['no proxy at all', {}, 'no-system-proxy'],
    ['an empty proxy value', { HTTPS_PROXY: { value: ' ' } }, 'no-system-proxy'],
    ['NO_PROXY covering it by CIDR', { HTTPS_PROXY: { value: 'http://p:3128' }, NO_PROXY: { value: '169.254.0.0/16' } }, 'imds-covered'],
    ['NO_PROXY=*', { HTTP_PROXY: { value: 'http://p:3128' }, NO_PROXY: { value: '*' } }, 'imds-covered'],
  ])('changes nothing with %s', (_n, env, reason) => {
    const s = host(env as Record<string, { value: string }>);
    const [r] = runs(s, ON);
    expect(r!.np).toMatchObject({ result: 'already-compliant', reason });
    expect(r!.state.registry).toEqual(s.registry);
  });

  it('with FixNoProxy off (or absent) changes nothing and prints no NO_PROXY line, even with the proxy set', () => {
    const s = host({ HTTPS_PROXY: { value: 'http://p:3128' } });
    const variants: Record<string, string>[] = [{}, { FixNoProxy: 'false' }, { FixNoProxy: '' }];
    for (const args of variants) {
      const [r] = runs(s, args);
      expect(r!.np).toBeUndefined();
      expect(r!.outcome.result).toBe('already-compliant');
      expect(r!.state.registry).toEqual(s.registry);
      expect(r!.state.netshCalls).toBeUndefined();
    }
  });

  it('reports the WinHTTP proxy and never changes it (only `netsh winhttp show proxy` runs)', () => {
    const [r] = runs(host({ HTTPS_PROXY: { value: 'http://p:3128' } }, { world: { ...amazonWindows().world, winhttpProxy: 'winproxy.corp:8080' } }), ON);
    expect(r!.stdout).toMatch(/WinHTTP proxy \(not changed, SDKs do not use it\): .*winproxy\.corp:8080/);
    expect(r!.state.netshCalls).toEqual(['winhttp show proxy']);
  });

  it('in dry run says what it would write and writes nothing', () => {
    const s = host({ HTTPS_PROXY: { value: 'http://p:3128' } });
    const [r] = runs(s, { ...ON, DryRun: 'true' });
    expect(r!.np).toEqual({ result: 'would-change', files: 'machine-env:NO_PROXY', reason: 'dry-run' });
    expect(r!.stdout).toContain(`NO_PROXY=${ADDRS}`);
    expect(r!.state.registry).toEqual(s.registry);
  });

  it.each([
    ['refused (access denied)', { failWrites: ['NO_PROXY'] }, {}, 'registry-write-failed'],
    ['accepted but not stored', { dropWrites: ['NO_PROXY'] }, {}, 'registry-not-updated'],
    ['accepted but not stored, on an existing value', { dropWrites: ['NO_PROXY'] }, { NO_PROXY: { value: 'localhost' } }, 'registry-not-updated'],
  ])('rolls back to the exact previous registry when the write is %s', (_n, over, extra, reason) => {
    const s = host({ HTTPS_PROXY: { value: 'http://p:3128' }, ...extra }, over as Partial<FakeState>);
    const [r] = runs(s, ON);
    expect(r!.np).toMatchObject({ result: 'rolled-back', reason });
    expect(r!.state.registry).toEqual(s.registry);
    expect(r!.outcome).toMatchObject({ result: 'rolled-back', action: 'no-proxy', reason: 'time-sync-fix-off' });
    expect(r!.code).toBe(2);
    expect(noProxyAudit(r!.stdout)).toMatchObject({ outcome: 'rolled-back', reason });
  });

  it('runs both steps when both are on: NO_PROXY fixed, the time-sync step still judged', () => {
    const [r] = runs(host({ HTTPS_PROXY: { value: 'http://p:3128' } }), { FixNoProxy: 'true' });
    expect(r!.np?.result).toBe('changed');
    expect(r!.outcome).toMatchObject({ result: 'already-compliant', reason: 'amazon-source-selected' });
  });

  it.each([['FixNoProxy'], ['FixTimeSync']])('rejects a bad %s value with a failed result', (name) => {
    const [r] = runs(host({}), { [name]: 'maybe' });
    expect(r!.outcome).toMatchObject({ result: 'failed', action: 'parse-options', reason: `bad-value-for-${name}` });
  });
});
