/** The real collect-windows.ps1 under pwsh against a fake Windows, its report judged by the real diagnose. */
import { readFileSync } from 'node:fs';
import { diagnose } from '../../lambda/core/diagnosis/diagnose';
import { unseal } from './sealed-report';
import { amazonWindows, describeWithPwsh, type FakeState, fakeWindows, stockWindows, SVC } from './windows-harness';

jest.setTimeout(180_000);

function collect(state: FakeState, args?: Record<string, string>) {
  const w = fakeWindows(state);
  try {
    const r = w.run('collect-windows.ps1', args);
    // The plain report inside the envelope it printed (checked and round-tripped by unseal).
    const stdout = args?.['Plain'] === '1' ? r.stdout : unseal(r.stdout);
    return { ...r, printed: r.stdout, stdout, verdict: diagnose(stdout), after: w.state() };
  } finally {
    w.cleanup();
  }
}
const codes = (v: { findings: readonly { code: string }[] }) => v.findings.map((f) => f.code);

describeWithPwsh('collect-windows.ps1 on a fake Windows (real pwsh)', () => {
  it('reports a host synced to Amazon as ok, with CIM under a timeout and only existing registry values', () => {
    const r = collect(amazonWindows());
    expect(r.code).toBe(0);
    expect(r.verdict).toMatchObject({ status: 'ok', timeSource: 'amazon-ipv4', synchronized: true, clockErrorBoundSeconds: null });
    expect(r.stdout).toMatch(/^domainrole=2$/m);
    expect(r.stdout).not.toMatch(/^PolicyNtpServer=/m);
    expect(r.after.cimCalls[0]).toMatch(/^cim timeout=\d+$/);
  });

  it.each(['de', 'fr', 'ja'] as const)('judges %s output the same as English', (lang) => {
    const r = collect(amazonWindows({ world: { reachable: ['169.254.169.123'], lang } }));
    expect(r.verdict).toMatchObject({ status: 'ok', timeSource: 'amazon-ipv4' });
  });

  it('reports time.windows.com as synchronised but at-risk', () => {
    const r = collect(stockWindows());
    expect(r.verdict).toMatchObject({ status: 'at-risk', synchronized: true, timeSource: 'other' });
    expect(codes(r.verdict)).toEqual(['not-amazon-time-sync']);
  });

  it('reports a domain member on its DC as at-risk, following the domain hierarchy; its empty NtpServer is not printed', () => {
    const s = stockWindows({
      computer: { DomainRole: 3, PartOfDomain: true },
      world: { reachable: ['dc01.corp.example.com'], addresses: { 'dc01.corp.example.com': '10.0.0.5' }, poll: '10 (1024s)' },
      synced: { peer: 'dc01.corp.example.com', at: Date.now() / 1000 - 600 },
    });
    s.registry[`${SVC}\\parameters`] = { NtpServer: { value: '', kind: 'String' }, Type: { value: 'NT5DS', kind: 'String' } };
    const r = collect(s);
    expect(r.stdout).toMatch(/^domain=true$/m);
    expect(r.stdout).toMatch(/^Type=NT5DS$/m);
    expect(r.stdout).not.toMatch(/^NtpServer=/m);
    expect(r.verdict).toMatchObject({ status: 'at-risk', synchronized: true, timeSource: 'other', sourceAddress: '10.0.0.5' });
    expect(r.verdict.findings).toEqual([expect.objectContaining({ code: 'not-amazon-time-sync', message: expect.stringMatching(/domain hierarchy/) })]);
  });

  it('prints the plain report when told to (Plain=1), judged the same as its envelope', () => {
    const sealed = collect(amazonWindows());
    const plain = collect(amazonWindows(), { Plain: '1' });
    expect(plain.stdout).toMatch(/^TSG-REPORT v1 windows\r?\n/);
    // Two runs a moment apart: the same judgement (the clock readings themselves move on).
    const judged = (v: typeof plain.verdict) => ({ status: v.status, timeSource: v.timeSource, synchronized: v.synchronized, daemon: v.daemon, findings: v.findings });
    expect(judged(plain.verdict)).toEqual(judged(sealed.verdict));
  });

  it('prints no domain lines when CIM fails, and does not fall back to WMI (no timeout there)', () => {
    const r = collect(amazonWindows({ cimFails: true }));
    expect(r.after.cimCalls).toEqual(['cim timeout=5']);
    expect(r.stdout).not.toMatch(/^domain/m);
    expect(r.verdict).toMatchObject({ status: 'ok' });
  });

  it('reports the Local CMOS clock (leap 0, stratum 1, LOCL) as never ok', () => {
    const r = collect(stockWindows({ world: { cmosLocl: true } }));
    expect(codes(r.verdict)).toEqual(['local-cmos-clock']);
  });

  it('reports a stopped service as no-daemon', () => {
    const r = collect(stockWindows({ services: { w32time: { status: 'Stopped' } } }));
    expect(r.verdict).toMatchObject({ status: 'at-risk', daemon: 'none' });
  });

  it('holds its probe timeout when w32tm hangs, and kills the hung process', () => {
    const w = fakeWindows(amazonWindows({ world: { hang: true } }));
    try {
      const r = w.run('collect-windows.ps1', { ProbeTimeoutSeconds: '2' });
      const out = unseal(r.stdout);
      expect(out).toMatch(/^\[w32tm-status rc=124\]$/m);
      expect(out).toMatch(/TSG-END/);
      expect(codes(diagnose(out))).toContain('probe-timed-out');
      const pid = Number(readFileSync(`${w.statePath}.hang.pid`, 'utf8'));
      expect(() => process.kill(pid, 0)).toThrow();
    } finally {
      w.cleanup();
    }
  });
});
