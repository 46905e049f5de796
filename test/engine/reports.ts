/**
 * Collector reports in the real format (lambda/core/diagnosis/report.ts), built from real chronyc output:
 * the CSV lines come from the shared fixtures chrony_local-loopback_{tracking,sources}-csv-synced.txt
 * (# source: real output captured on Debian 12, chrony 4.3, chronyd -x client synced to a loopback
 * chronyd); only the server address is replaced where a test needs the Amazon endpoint.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const NOW = 1795914071;

/** A chrony report synchronised to `address` (169.254.169.123 → Amazon Time Sync over IPv4). */
export function chronyReport(opts: { address?: string; containers?: string; offset?: number; end?: boolean; padTo?: number } = {}): string {
  const address = opts.address ?? '169.254.169.123';
  const refid = address === '169.254.169.123' ? 'A9FEA97B' : '7F000001';
  const offset = opts.offset ?? -0.000001299;
  const lines = [
    'TSG-REPORT v1 linux',
    'collector=1',
    `now=${NOW}`,
    'os=amzn 2023',
    'detect=systemctl',
    'daemons=chronyd',
    `containers=${opts.containers ?? 'none'}`,
    'ptp=none',
    '[chrony-tracking rc=0]',
    `${refid},${address},4,1795914070.122775364,${offset},0.000000003,0.000002892,-0.010,0.001,0.097,0.000005548,0.000001370,1.0,Normal`,
    '[chrony-sources rc=0]',
    `^,*,${address},3,4,377,1,0.000003002,0.000003005,0.000005934`,
  ];
  if (opts.padTo !== undefined) {
    // Unselected sources pad the report past the Details limit, as a long source list would.
    let i = 0;
    while (lines.join('\n').length < opts.padTo) lines.push(`^,?,10.0.${Math.floor(i / 250)}.${i++ % 250},2,6,0,4294967295,0.0,0.0,0.0`);
  }
  if (opts.end !== false) lines.push('TSG-END');
  return `${lines.join('\n')}\n`;
}

/** chronyd not running: what the collector prints on a box whose daemon died. */
export function daemonDownReport(): string {
  return [
    'TSG-REPORT v1 linux',
    'collector=1',
    `now=${NOW}`,
    'os=debian 12',
    'detect=proc',
    'daemons=',
    'containers=none',
    'ptp=none',
    '[chrony-tracking rc=1]',
    '506 Cannot talk to daemon',
    'TSG-END',
    '',
  ].join('\n');
}

/** A collector report fixture of test/fixtures (its `# source:` line removed, as SSM would return it). */
export function fixtureReport(relativePath: string): string {
  const text = readFileSync(join(__dirname, '..', 'fixtures', relativePath), 'utf8');
  return text.replace(/^# source:[^\n]*\n/, '');
}

/**
 * A Windows report in the collector's format around the hand-made w32tm output
 * (test/fixtures/handmade/w32tm-status-amazon-en.txt: hand-made, modelled on public captures).
 */
export function windowsAmazonReport(): string {
  const status = fixtureReport('handmade/w32tm-status-amazon-en.txt').trimEnd();
  return [
    'TSG-REPORT v1 windows',
    'collector=1',
    `now=${NOW}`,
    'os=windows 10.0.20348',
    'detect=service',
    'daemons=w32time',
    'domain=false',
    'containers=none',
    '[w32tm-status rc=0]',
    status,
    '[w32time-reg rc=0]',
    'NtpServer=169.254.169.123,0x9',
    'Type=NTP',
    'SpecialPollInterval=900',
    'NtpClientEnabled=1',
    'TSG-END',
    '',
  ].join('\n');
}
