/** The real collect-windows.ps1 under pwsh against a fake Windows, its report judged by the real diagnose. */
import { readFileSync } from 'node:fs';
import { diagnose } from '../../lambda/core/diagnosis/diagnose';
import { unseal } from './sealed-report';
import { amazonWindows, type BatchRun, type BatchScenario, batchTests, describeWithPwsh, type FakeState, fakeWindows, stockWindows, SVC } from './windows-harness';

jest.setTimeout(180_000);

const codes = (v: { findings: readonly { code: string }[] }) => v.findings.map((f) => f.code);

type Collected = BatchRun & { printed: string; verdict: ReturnType<typeof diagnose> };

const PLAIN = { Plain: '1' };

/**
 * A run's plain report inside the envelope it printed (checked and round-tripped by unseal), or
 * what it printed where it asked for Plain=1; judged by diagnose(). In the test, not the batch's
 * read: a bad envelope fails its own test rather than the whole file's beforeAll.
 */
function collected(r: BatchRun, args: Record<string, string> = {}): Collected {
  const stdout = args['Plain'] === '1' ? r.stdout : unseal(r.stdout);
  return { ...r, printed: r.stdout, stdout, verdict: diagnose(stdout) };
}

/** A scenario of one collector run on a fresh fake Windows, its report judged by diagnose(). */
function once(name: string, state: FakeState, check: (r: Collected) => void): BatchScenario<BatchRun> {
  return { name, state, check: ([r]) => check(collected(r!)) };
}

const dcMember = stockWindows({
  computer: { DomainRole: 3, PartOfDomain: true },
  world: { reachable: ['dc01.corp.example.com'], addresses: { 'dc01.corp.example.com': '10.0.0.5' }, poll: '10 (1024s)' },
  synced: { peer: 'dc01.corp.example.com', at: Date.now() / 1000 - 600 },
});
dcMember.registry[`${SVC}\\parameters`] = { NtpServer: { value: '', kind: 'String' }, Type: { value: 'NT5DS', kind: 'String' } };

describeWithPwsh('collect-windows.ps1 on a fake Windows (real pwsh)', () => {
  // One pwsh process for the file's runs (pwsh's start-up costs more CPU than a run).
  batchTests('collect-windows.ps1', [
    once('reports a host synced to Amazon as ok, with CIM under a timeout and only existing registry values', amazonWindows(), (r) => {
      expect(r.code).toBe(0);
      expect(r.verdict).toMatchObject({ status: 'ok', timeSource: 'amazon-ipv4', synchronized: true, clockErrorBoundSeconds: null });
      expect(r.stdout).toMatch(/^domainrole=2$/m);
      expect(r.stdout).not.toMatch(/^PolicyNtpServer=/m);
      expect(r.after.cimCalls[0]).toMatch(/^cim timeout=\d+$/);
    }),
    ...(['de', 'fr', 'ja'] as const).map((lang) =>
      once(`judges ${lang} output the same as English`, amazonWindows({ world: { reachable: ['169.254.169.123'], lang } }), (r) => {
        expect(r.verdict).toMatchObject({ status: 'ok', timeSource: 'amazon-ipv4' });
      }),
    ),
    once('reports time.windows.com as synchronised but at-risk', stockWindows(), (r) => {
      expect(r.verdict).toMatchObject({ status: 'at-risk', synchronized: true, timeSource: 'other' });
      expect(codes(r.verdict)).toEqual(['not-amazon-time-sync']);
    }),
    once('reports a domain member on its DC as at-risk, following the domain hierarchy; its empty NtpServer is not printed', dcMember, (r) => {
      expect(r.stdout).toMatch(/^domain=true$/m);
      expect(r.stdout).toMatch(/^Type=NT5DS$/m);
      expect(r.stdout).not.toMatch(/^NtpServer=/m);
      expect(r.verdict).toMatchObject({ status: 'at-risk', synchronized: true, timeSource: 'other', sourceAddress: '10.0.0.5' });
      expect(r.verdict.findings).toEqual([expect.objectContaining({ code: 'not-amazon-time-sync', message: expect.stringMatching(/domain hierarchy/) })]);
    }),
    {
      name: 'prints the plain report when told to (Plain=1), judged the same as its envelope',
      state: amazonWindows(),
      // Sealed, then plain on the same host as the first run left it (a collector changes nothing there).
      runs: [{}, PLAIN],
      check: ([s, p]) => {
        const sealed = collected(s!);
        const plain = collected(p!, PLAIN);
        expect(plain.stdout).toMatch(/^TSG-REPORT v1 windows\r?\n/);
        // Two runs a moment apart: the same judgement (the clock readings themselves move on).
        const judged = (v: typeof plain.verdict) => ({ status: v.status, timeSource: v.timeSource, synchronized: v.synchronized, daemon: v.daemon, findings: v.findings });
        expect(judged(plain.verdict)).toEqual(judged(sealed.verdict));
      },
    },
    once('prints no domain lines when CIM fails, and does not fall back to WMI (no timeout there)', amazonWindows({ cimFails: true }), (r) => {
      expect(r.after.cimCalls).toEqual(['cim timeout=5']);
      expect(r.stdout).not.toMatch(/^domain/m);
      expect(r.verdict).toMatchObject({ status: 'ok' });
    }),
    once('reports the Local CMOS clock (leap 0, stratum 1, LOCL) as never ok', stockWindows({ world: { cmosLocl: true } }), (r) => {
      expect(codes(r.verdict)).toEqual(['local-cmos-clock']);
    }),
    once('reports a stopped service as no-daemon', stockWindows({ services: { w32time: { status: 'Stopped' } } }), (r) => {
      expect(r.verdict).toMatchObject({ status: 'at-risk', daemon: 'none' });
    }),
  ], (r) => r);

  // Its own process: the test reads the hung stand-in's PID file and checks the process is gone.
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
