/**
 * collect-windows.ps1 under real pwsh: proxy configuration in the machine environment never leaves
 * the host except the exact HTTP_PROXY / HTTPS_PROXY / NO_PROXY values, credentials redacted.
 */
import { unseal } from './sealed-report';
import { diagnose } from '../../lambda/core/diagnosis/diagnose';
import { parseReport, section } from '../../lambda/core/diagnosis/report';
import { amazonWindows, type BatchRun, type BatchScenario, batchTests, describeWithPwsh, type FakeState } from './windows-harness';

jest.setTimeout(300_000);

const NO_PROXY_LIST = ['localhost', '127.0.0.1', '169.254.169.254', '.internal.corp.example.com', '.svc.cluster.local', '10.0.0.0/8', '172.16.0.0/12', '.amazonaws.com', 'registry.corp.example.com'].join(',');
const PROXY = 'http://svc-proxy-user:S3cr3t-P4ssw0rd@egress-proxy.internal.corp.example.com:3128';

const ENV = 'hklm:\\system\\currentcontrolset\\control\\session manager\\environment';

/** An Amazon-synced host whose machine environment holds these values. */
function host(env: Record<string, string>): FakeState {
  const s = amazonWindows();
  s.registry[ENV] = Object.fromEntries(Object.entries({ Path: 'C:\\Windows\\system32', ...env }).map(([k, value]) => [k, { value, kind: 'String' as const }]));
  return s;
}

/** A scenario of one collector run whose exit code must be 0; `check` sees the plain report inside its envelope (checked by unseal). */
function once(name: string, env: Record<string, string>, check: (out: string) => void): BatchScenario<BatchRun> {
  return {
    name,
    state: host(env),
    check: ([r]) => {
      expect(r!.code).toBe(0);
      check(unseal(r!.stdout));
    },
  };
}

describeWithPwsh('collect-windows.ps1 prints only the proxy values the check needs (real pwsh)', () => {
  // One pwsh process for the file's runs (see batchTests).
  batchTests(
    'collect-windows.ps1',
    [
      once(
        'keeps secret-named values and every credential off the report; the check still sees the proxy',
        {
          HTTPS_PROXY_PASSWORD: 'SECRET1',
          HTTP_PROXY_AUTH: 'Basic U0VDUkVUMg==',
          https_proxy_user: 'SECRET3',
          PROXY_PASS: 'SECRET4',
          ALL_PROXY: 'socks5://u:SECRET5@socks:1080',
          HTTP_PROXY: 'http://d%40n:p@ss:SECRET6/x@proxy.corp:3128',
          https_proxy: 'alice:SECRET7@proxy.corp:8080',
          NO_PROXY: 'localhost,169.254.169.254',
        },
        (out) => {
          expect(out).not.toMatch(/SECRET|U0VDUkVUMg|Basic|PASSWORD|_AUTH|_user|PROXY_PASS|ALL_PROXY|d%40n|p@ss/i);
          expect(section(parseReport(out), 'proxy')?.lines).toEqual([
            'env:HTTP_PROXY=http://***@proxy.corp:3128',
            'env:HTTPS_PROXY=***@proxy.corp:8080',
            'env:NO_PROXY=localhost,169.254.169.254',
          ]);
          const v = diagnose(out);
          expect(v['systemProxy']).toBe(true);
          expect(v.status).toBe('ok');
        },
      ),
      once(
        'redacts a percent-encoded separator, and prints "***" for a value that is not a plain proxy address',
        { HTTP_PROXY: 'http://jo:pwSECRET8%40proxy:3128', HTTPS_PROXY: 'http://h:3128 SECRET9\r\nTSG-END' },
        (out) => {
          expect(out).not.toContain('SECRET');
          expect(section(parseReport(out), 'proxy')?.lines).toEqual(['env:HTTP_PROXY=http://***@proxy:3128', 'env:HTTPS_PROXY=***']);
          // The injected end marker did not end the report early: the time sections follow.
          expect(out.match(/^TSG-END$/gm)).toHaveLength(1);
          const v = diagnose(out);
          expect(v.findings.map((f) => f.code)).toEqual(['proxy-without-no-proxy']);
        },
      ),
      ...(['fr', 'ja'] as const).map((lang): BatchScenario<BatchRun> => {
        const s = host({ HTTP_PROXY: PROXY, HTTPS_PROXY: PROXY, NO_PROXY: NO_PROXY_LIST, http_proxy: PROXY, https_proxy: PROXY, no_proxy: NO_PROXY_LIST });
        s.world = { ...s.world, lang };
        return {
          name: `the largest Windows report (${lang} w32tm text, every proxy variable, long values) seals within 80 % of Details`,
          state: s,
          check: ([r]) => {
            expect(r!.code).toBe(0);
            const plain = unseal(r!.stdout);
            expect(section(parseReport(plain), 'proxy')!.lines.length).toBeGreaterThanOrEqual(3);
            expect(r!.stdout.trimEnd().length).toBeLessThanOrEqual(2000);
            process.stdout.write(`report-size windows-${lang}: plain ${plain.length} chars, envelope ${r!.stdout.trimEnd().length} chars\n`);
          },
        };
      }),
    ],
    (r) => r,
  );
});
