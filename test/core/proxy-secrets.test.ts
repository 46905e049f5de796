/**
 * Defence in depth on the Lambda side: a guest that prints proxy secrets anyway (an older or altered
 * collector) gets them neither read as proxy settings nor quoted in the verdict.
 */
import { diagnose } from '../../lambda/core/diagnosis/diagnose';
import { redactSecrets } from '../../lambda/core/diagnosis/proxy';
import { AMAZON_SOURCES_CSV, AMAZON_TRACKING_CSV, buildReport } from './report-builder';

const chrony: [string, readonly string[]][] = [
  ['chrony-tracking', [AMAZON_TRACKING_CSV]],
  ['chrony-sources', AMAZON_SOURCES_CSV],
];
const withProxy = (lines: string[]) => buildReport({ header: { now: '1795914100' }, sections: [['proxy', lines], ...chrony] });

describe('proxy secrets printed by a guest anyway', () => {
  it('are not read as proxy settings: only exact http_proxy/https_proxy/no_proxy names count', () => {
    const v = diagnose(
      withProxy([
        '/etc/environment:https_proxy_password=SECRET1',
        '/etc/environment:HTTP_PROXY_AUTH=Basic SECRET2',
        '/etc/environment:MY_HTTPS_PROXY=http://u:SECRET3@p:3128',
        'DefaultEnvironment="HTTPS_PROXY_PASSWORD=SECRET4"',
      ]),
    );
    expect(v['systemProxy']).toBe(false);
    expect(v.status).toBe('ok');
    expect(JSON.stringify(v)).not.toContain('SECRET');
  });

  it('never copies a proxy value into the verdict, only the names', () => {
    const v = diagnose(withProxy(['/etc/environment:HTTPS_PROXY=http://u:SECRET5@p:3128', '/etc/environment:https_proxy_password=SECRET6']));
    expect(v['systemProxy']).toBe(true);
    expect(v.findings).toEqual([expect.objectContaining({ code: 'proxy-without-no-proxy', message: expect.stringMatching(/^HTTPS_PROXY set system-wide/) })]);
    expect(JSON.stringify(v)).not.toContain('SECRET');
  });

  it('redacts credentials in guest text a finding quotes', () => {
    const ntpq = diagnose(
      buildReport({ header: { daemons: 'ntpd' }, sections: [['ntpq', ['ntpq: read: Connection refused https_proxy_password=SECRET7 http://bob:SECRET8@proxy:3128 Authorization: Basic SECRET9']]] }),
    );
    expect(ntpq.findings[0]!.code).toBe('daemon-not-responding');
    expect(ntpq.findings[0]!.message).toContain('https_proxy_password=*** http://***@proxy:3128 Authorization: Basic ***');
    const err = diagnose(buildReport({ header: { daemons: '' }, sections: [['collector-error', ['mktemp failed; HTTP_PROXY_AUTH=SECRET10']]] }));
    expect(JSON.stringify(err)).not.toContain('SECRET');
    expect(JSON.stringify(err)).toContain('HTTP_PROXY_AUTH=***');
  });

  it.each([
    ['http://u:p@ss@h:3128', 'http://***@h:3128'],
    ['bob:pw@proxy', '***@proxy'],
    ['http://jo:pw%40proxy:3128', 'http://***@proxy:3128'],
    ['token=abc', 'token=***'],
    ['Bearer abc def', 'Bearer *** def'],
    ['169.254.169.123 is fine', '169.254.169.123 is fine'],
    ['', ''],
  ])('redactSecrets(%j) = %j', (input, expected) => {
    expect(redactSecrets(input)).toBe(expected);
  });
});
