import {
  formatRemediationLine,
  isHealthyResult,
  parseRemediationOutput,
  REMEDIATION_RESULTS,
} from '../../lambda/core/remediation/guest-result';
import { readGuestScript, type GuestScriptName } from '../../lambda/guest/scripts';

const CHANGED = [
  'tsg: options: dry-run=false endpoint=auto use-phc=false install-chrony=false step=false verify-seconds=60',
  'tsg: Amazon endpoint: 169.254.169.123',
  'tsg: verified: the Amazon source is selected',
  'TSG-REMEDIATE v1 result=changed daemon=chrony action=add-source-main-config reason=',
  '',
].join('\n');

describe('parseRemediationOutput', () => {
  it('reads the final line and keeps the progress lines before it', () => {
    expect(parseRemediationOutput(CHANGED)).toEqual({
      result: 'changed',
      daemon: 'chrony',
      action: 'add-source-main-config',
      reason: '',
      progress: [
        'tsg: options: dry-run=false endpoint=auto use-phc=false install-chrony=false step=false verify-seconds=60',
        'tsg: Amazon endpoint: 169.254.169.123',
        'tsg: verified: the Amazon source is selected',
      ],
    });
  });

  it.each(REMEDIATION_RESULTS.map((r) => [r]))('round-trips result=%s', (result) => {
    const line = formatRemediationLine({ result, daemon: 'ntpd', action: 'x', reason: 'y-1.2~z' });
    expect(parseRemediationOutput(`${line}\n`)).toMatchObject({ result, daemon: 'ntpd', action: 'x', reason: 'y-1.2~z' });
  });

  it('tolerates Windows line endings and trailing blanks', () => {
    const text = 'tsg: options: DryRun=False\r\nTSG-REMEDIATE v1 result=skipped daemon=w32time action=none reason=domain-member  \r\n\r\n';
    expect(parseRemediationOutput(text)).toMatchObject({ result: 'skipped', daemon: 'w32time', reason: 'domain-member' });
  });

  it('uses the last result line when an earlier one was echoed', () => {
    const text = 'TSG-REMEDIATE v1 result=failed daemon=chrony action=a reason=b\nTSG-REMEDIATE v1 result=changed daemon=chrony action=c reason=\n';
    expect(parseRemediationOutput(text).result).toBe('changed');
  });

  it.each([
    ['empty output', ''],
    ['only progress (truncated by SSM)', 'tsg: options: dry-run=false\ntsg: restarting chronyd\n'],
    ['a line that merely mentions the format', 'see TSG-REMEDIATE v1 result=changed in the docs'],
  ])('reports unknown/no-result-line for %s', (_name, text) => {
    expect(parseRemediationOutput(text)).toMatchObject({ result: 'unknown', reason: 'no-result-line', daemon: 'unknown', action: '' });
  });

  it.each([
    ['a result it does not know', 'TSG-REMEDIATE v1 result=exploded daemon=chrony action=a reason=b'],
    ['a cut-off line', 'TSG-REMEDIATE v1 result=changed daemon=chr'],
    ['a reason with spaces', 'TSG-REMEDIATE v1 result=failed daemon=chrony action=a reason=two words'],
    ['a missing field', 'TSG-REMEDIATE v1 result=changed daemon=chrony reason='],
    ['upper-case result', 'TSG-REMEDIATE v1 result=CHANGED daemon=chrony action=a reason='],
  ])('reports unknown/garbled-result-line for %s', (_name, text) => {
    expect(parseRemediationOutput(text)).toMatchObject({ result: 'unknown', reason: 'garbled-result-line' });
  });

  it('reports an unsupported version instead of guessing its fields', () => {
    expect(parseRemediationOutput('TSG-REMEDIATE v2 result=changed daemon=chrony action=a reason=')).toMatchObject({
      result: 'unknown',
      reason: 'unsupported-version',
    });
  });

  it('keeps the result but reports daemon unknown for a daemon it does not know', () => {
    expect(parseRemediationOutput('TSG-REMEDIATE v1 result=changed daemon=ptpd action=a reason=')).toMatchObject({
      result: 'changed',
      daemon: 'unknown',
    });
  });

  it.each([[undefined], [null], [42], [{}]])('never throws on a non-string (%p)', (value) => {
    expect(parseRemediationOutput(value as unknown as string)).toMatchObject({ result: 'unknown', reason: 'no-result-line' });
  });
});

describe('isHealthyResult', () => {
  it.each([
    ['already-compliant', true],
    ['changed', true],
    ['would-change', true],
    ['skipped', true],
    ['rolled-back', false],
    ['failed', false],
    ['unknown', false],
  ] as const)('%s → %s (matches the script exit codes)', (result, healthy) => {
    expect(isHealthyResult(result)).toBe(healthy);
  });
});

describe('the guest scripts and the parser agree', () => {
  const read = (name: string): string => readGuestScript(name as GuestScriptName);

  it.each([
    ['remediate-linux.sh', /\bfinish ([a-z-]+) /g],
    ['remediate-windows.ps1', /\bFinish '([a-z-]+)'/g],
  ])('%s only reports results the parser knows', (name, pattern) => {
    const used = [...read(name).matchAll(pattern)].map((m) => m[1]);
    expect(used.length).toBeGreaterThan(5);
    for (const r of used) expect(REMEDIATION_RESULTS).toContain(r);
  });

  it('the Linux script can report every result', () => {
    const used = new Set([...read('remediate-linux.sh').matchAll(/\bfinish ([a-z-]+) /g)].map((m) => m[1]));
    for (const r of REMEDIATION_RESULTS) expect(used).toContain(r);
  });

  it.each([
    ['remediate-linux.sh', "printf 'TSG-REMEDIATE v1 result=%s daemon=%s action=%s reason=%s\\n'"],
    ['remediate-windows.ps1', '"TSG-REMEDIATE v1 result={0} daemon=w32time action={1} reason={2}"'],
  ])('%s prints the v1 final line format', (name, format) => {
    expect(read(name)).toContain(format);
  });
});
