import { noProxyAudit } from '../../lambda/core/remediation/no-proxy-result';

const line = (result: string, files = '/etc/environment', reason = ''): string =>
  `tsg: progress\nTSG-NO-PROXY v1 result=${result} files=${files} reason=${reason}\nTSG-REMEDIATE v1 result=already-compliant daemon=chrony action=none reason=\n`;

describe('noProxyAudit', () => {
  it.each`
    output                                                        | outcome          | reason
    ${line('changed', '/etc/environment,/etc/profile.d/p.sh', 'services-pick-it-up-at-next-restart')} | ${'verified'} | ${undefined}
    ${line('already-compliant', '', 'no-system-proxy')}          | ${'skipped'}     | ${'no-system-proxy'}
    ${line('already-compliant', '/etc/environment', '')}          | ${'skipped'}     | ${'already-compliant'}
    ${line('rolled-back', '/etc/environment', 'write-failed')}    | ${'rolled-back'} | ${'write-failed'}
    ${line('failed', '/etc/profile.d/p.sh', 'candidate-invalid')} | ${'failed'}      | ${'candidate-invalid'}
    ${line('would-change')}                                       | ${'failed'}      | ${'unexpected-dry-run-result'}
    ${line('exploded')}                                           | ${'failed'}      | ${'unknown-result'}
    ${'TSG-NO-PROXY v1 result=changed files=/etc/en vironment\n'} | ${'failed'}      | ${'unknown-result'}
  `('$outcome ($reason) from the step line', ({ output, outcome, reason }) => {
    const a = noProxyAudit(output);
    expect(a?.outcome).toBe(outcome);
    expect(a?.reason).toBe(reason);
  });

  it('names the files and the restart note of a change', () => {
    expect(noProxyAudit(line('changed', '/etc/environment,/etc/profile.d/p.sh', 'services-pick-it-up-at-next-restart'))?.after).toEqual({
      result: 'changed',
      files: ['/etc/environment', '/etc/profile.d/p.sh'],
      note: 'services-pick-it-up-at-next-restart',
    });
  });

  it.each([[''], ['TSG-REMEDIATE v1 result=changed daemon=chrony action=x reason=\n'], [undefined as unknown as string]])(
    'is undefined when the step did not run (%j)',
    (output) => {
      expect(noProxyAudit(output)).toBeUndefined();
    },
  );

  it('reads CRLF output (Windows) and takes the last step line', () => {
    const out = 'TSG-NO-PROXY v1 result=failed files= reason=x\r\nTSG-NO-PROXY v1 result=changed files=machine-env:NO_PROXY reason=services-pick-it-up-at-next-restart\r\n';
    expect(noProxyAudit(out)).toMatchObject({ outcome: 'verified', after: { files: ['machine-env:NO_PROXY'] } });
  });
});
