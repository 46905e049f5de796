/**
 * The real collect-windows.ps1 under real pwsh: its IMDSv2 probe (.NET HttpClient) against fake
 * IMDS servers on 169.254.169.254 inside a private network namespace (answering, 429, silent, and
 * one whose clock is 10 minutes behind under libfaketime), and the ENA link-local counter through
 * stand-ins for Get-Counter and Get-NetAdapter (what Linux lacks). One pwsh process runs every case.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { diagnose } from '../../lambda/core/diagnosis/diagnose';
import { parseReport, section } from '../../lambda/core/diagnosis/report';
import { FAKE_INSTANCE_ID, FAKE_TOKEN, startFakeImds, writeFakeImds } from './fake-imds';
import { unseal } from './sealed-report';
import { amazonWindows, describeWithPwsh, fakeWindows, GUEST, PWSH } from './windows-harness';

jest.setTimeout(180_000);

const FAKETIME_LIB = ['/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1', '/usr/lib/aarch64-linux-gnu/faketime/libfaketime.so.1', '/usr/lib/faketime/libfaketime.so.1'].find((p) => existsSync(p)) ?? 'libfaketime.so.1';
const codes = (text: string) => diagnose(text).findings.map((f) => f.code).sort();

interface Case {
  readonly port: number;
  /** Get-Counter's link-local count, or null: the counter set does not exist (ENA driver before 2.2.2). */
  readonly counter: number | null;
}
const CASES: Record<string, Case> = {
  answer: { port: 80, counter: 0 },
  throttle: { port: 8429, counter: 0 },
  silent: { port: 8000, counter: null },
  skew: { port: 8600, counter: 1523 },
  unreachable: { port: 8999, counter: 0 },
};

describeWithPwsh('collect-windows.ps1: IMDSv2 probe and ENA counter (real pwsh, private network namespace)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsg-g23-win-'));
  const fake = fakeWindows(amazonWindows());
  const out: Record<string, { text: string; ms: number }> = {};

  beforeAll(() => {
    const imds = writeFakeImds(dir);
    const lit = (v: string) => `'${v.replace(/'/g, "''")}'`;
    const body = Object.entries(CASES).flatMap(([name, c]) => [
      `$global:enaCount = ${c.counter === null ? '$null' : c.counter}`,
      `$TsgArgs = @{ ImdsUrl = 'http://169.254.169.254:${c.port}' }`,
      `Write-Host 'TSG-TEST-BEGIN ${name}'; $t0 = [Diagnostics.Stopwatch]::StartNew()`,
      `& ${lit(join(GUEST, 'collect-windows.ps1'))}`,
      `Write-Host "TSG-TEST-END ${name} ms=$($t0.ElapsedMilliseconds)"`,
    ]);
    const wrapper = join(dir, 'batch.ps1');
    writeFileSync(
      wrapper,
      [
        `. ${lit(join(__dirname, 'fake-windows', 'prelude.ps1'))}`,
        // Stand-ins for what the Linux pwsh lacks: an ENA adapter, and its "ENA Packets Shaping" counter set.
        "function Get-NetAdapter { [pscustomobject]@{ Name = 'Ethernet 2'; InterfaceDescription = 'Amazon Elastic Network Adapter'; DriverVersionString = '2.6.0.0' } }",
        "function Get-Counter { if ($null -eq $global:enaCount) { throw 'The specified object was not found on the computer.' }; [pscustomobject]@{ CounterSamples = @([pscustomobject]@{ InstanceName = 'ena #1'; RawValue = $global:enaCount }) } }",
        ...body,
      ].join('\n'),
    );
    const ready = (n: string) => join(dir, `${n}.ready`);
    const script = `
      set -u
      P=
      trap '[ -z "$P" ] || kill $P 2>/dev/null; wait' EXIT INT TERM
      ip link set lo up
      ip addr add 169.254.169.254/32 dev lo
      ${startFakeImds(imds, 'answer', 80, ready('answer'))}
      ${startFakeImds(imds, 'throttle', 8429, ready('throttle'))}
      ${startFakeImds(imds, 'silent', 8000, ready('silent'))}
      ${startFakeImds(imds, 'answer', 8600, ready('skew'), `env LD_PRELOAD=${FAKETIME_LIB} FAKETIME=-600s DONT_FAKE_MONOTONIC=1`)}
      ${PWSH} -NoProfile -NonInteractive -File ${wrapper}
    `;
    const env: NodeJS.ProcessEnv = { ...process.env, SystemRoot: fake.dir, TSG_FAKE_STATE: fake.statePath, TSG_FAKE_FIXTURES: join(__dirname, '..', 'fixtures') };
    // The probe honours the SDKs' switch, which the test setup sets: off here, inside the namespace only.
    delete env['AWS_EC2_METADATA_DISABLED'];
    const r = spawnSync('unshare', ['-n', 'sh', '-c', script], { encoding: 'utf8', timeout: 170_000, env });
    for (const name of Object.keys(CASES)) {
      const m = new RegExp(`^TSG-TEST-BEGIN ${name}\\n([\\s\\S]*?)^TSG-TEST-END ${name} ms=(\\d+)`, 'm').exec(r.stdout ?? '');
      const printed = m?.[1];
      // The collector prints its report sealed; the tests read the plain report inside, as the Lambda does.
      out[name] = { text: printed === undefined ? `no run: ${r.stderr}` : printed.startsWith('TSG-REPORT-GZ1 ') ? unseal(printed) : printed, ms: Number(m?.[2] ?? -1) };
    }
  });

  afterAll(() => {
    fake.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  it('gets a token and the instance id through HttpClient, prints neither, and finds no IMDS problem', () => {
    const { text } = out['answer']!;
    expect(text).not.toContain(FAKE_TOKEN);
    expect(text).not.toContain(FAKE_INSTANCE_ID);
    expect(section(parseReport(text), 'imds')!.lines[0]).toMatch(/^via=dotnet put=200 put_ms=\d+ get=200 get_ms=\d+ local=\d+ date=[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT$/);
    expect(codes(text)).toEqual([]);
    expect(diagnose(text).status).toBe('ok');
  });

  it('reports HTTP 429 as imds-throttled', () => {
    expect(section(parseReport(out['throttle']!.text), 'imds')!.lines[0]).toMatch(/put=429/);
    expect(codes(out['throttle']!.text)).toEqual(['imds-throttled']);
  });

  it('reports a silent IMDS as imds-unreachable within its 2 s timeout, and an old ENA driver as "unsupported"', () => {
    const { text, ms } = out['silent']!;
    expect(section(parseReport(text), 'imds')!.lines[0]).toMatch(/^via=dotnet put=timeout put_ms=\d+$/);
    expect(codes(text)).toEqual(['imds-unreachable']);
    expect(ms).toBeLessThan(15_000);
    console.log(`Windows collector run with IMDS silent: ${ms} ms (answering: ${out['answer']!.ms} ms)`);
    expect(section(parseReport(text), 'ena')!.lines).toEqual(['Ethernet_2 driver=2.6.0.0 linklocal_allowance_exceeded=unsupported']);
  });

  it('reports no listener (connection refused) as imds-unreachable', () => {
    expect(section(parseReport(out['unreachable']!.text), 'imds')!.lines[0]).toMatch(/put=refused/);
    expect(codes(out['unreachable']!.text)).toEqual(['imds-unreachable']);
  });

  it('reads a Date header 10 minutes behind (the fake IMDS under libfaketime) as imds-date-skew, and the ENA counter as imds-packets-dropped', () => {
    const { text } = out['skew']!;
    const v = diagnose(text);
    expect(codes(text)).toEqual(['imds-date-skew', 'imds-packets-dropped']);
    const skew = (v['imdsProbe'] as { skewSeconds: number }).skewSeconds;
    expect(skew).toBeGreaterThanOrEqual(597);
    expect(skew).toBeLessThanOrEqual(603);
    // W32Time reports an offset, so the estimate does not replace it.
    expect(v['offsetSource']).toBeUndefined();
    expect(section(parseReport(text), 'ena')!.lines).toEqual(['ena__1 driver=2.6.0.0 linklocal_allowance_exceeded=1523']);
    expect(parseReport(text).header['uptime']).toMatch(/^\d+$/);
  });
});
