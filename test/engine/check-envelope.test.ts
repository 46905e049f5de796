/**
 * The check on the compressed reports the collectors print (lambda/core/diagnosis/envelope.ts), through
 * the real Run Command adapter against the simulated account: an envelope fits Details and needs no
 * second call; one cut at the Details limit is fetched whole, exactly as a cut plain report; a bad one
 * is unknown with a finding, never ok.
 */
import 'aws-sdk-client-mock-jest';
import { EC2Client } from '@aws-sdk/client-ec2';
import { GetCommandInvocationCommand, SSMClient } from '@aws-sdk/client-ssm';
import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { Ec2SsmInventory } from '../../lambda/aws/inventory';
import { DETAILS_OUTPUT_LIMIT } from '../../lambda/aws/run-command-invocation';
import { SsmRunCommand } from '../../lambda/aws/run-command';
import { parseSettings } from '../../lambda/core/settings';
import { SIM_DOCUMENT_PINS } from '../../bench/sim/ssm';
import { reportEnvelope } from '../../bench/sim/report-envelope';
import { type CheckDeps, runCheck } from '../../lambda/engine/check';
import { idOf, member, useSimAccount } from '../support/sim';
import { chronyReport } from './reports';

const settings = parseSettings({ ...SIM_DOCUMENT_PINS });
const sim = useSimAccount();

function deps(): CheckDeps {
  const ssm = new SSMClient({});
  const clock = sim.account.clock;
  return { inventory: new Ec2SsmInventory({ ec2: new EC2Client({}), ssm, clock, optOutTagKey: settings.optOutTagKey }), runCommand: new SsmRunCommand({ ssm, clock }), clock };
}

/** A plain report whose extra source rows do not compress (random addresses): its envelope passes the Details limit. */
function incompressibleReport(): string {
  let seed = 11;
  const hex = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) >>> 0).toString(16).padStart(8, '0');
  const rows = Array.from({ length: 90 }, () => `^,?,2001:db8:${hex()}:${hex()},2,6,0,4294967295,0.${hex()},0.${hex()},0.${hex()}`);
  return chronyReport().replace('TSG-END\n', `${rows.join('\n')}\nTSG-END\n`);
}

const codes = (e: { findings: readonly { code: string }[] }) => e.findings.map((f) => f.code);

describe('runCheck on compressed reports', () => {
  it('judges an envelope as its plain report, with no GetCommandInvocation', async () => {
    sim.simulate([member(idOf(1), { script: { output: reportEnvelope(chronyReport()) } }), member(idOf(2), { script: { output: chronyReport() } })]);
    const run = await runCheck(deps(), settings);
    expect(run.evaluations.map((e) => [e.status, e.checkState])).toEqual([
      ['ok', 'checked'],
      ['ok', 'checked'],
    ]);
    expect(sim.ssm).toHaveReceivedCommandTimes(GetCommandInvocationCommand, 0);
  });

  it('fetches an envelope cut at the Details limit whole, and judges it', async () => {
    const sealed = reportEnvelope(incompressibleReport());
    expect(sealed.length).toBeGreaterThan(DETAILS_OUTPUT_LIMIT);
    sim.simulate([member(idOf(1), { script: { output: sealed } })]);
    const run = await runCheck(deps(), settings);
    expect(sim.ssm).toHaveReceivedCommandTimes(GetCommandInvocationCommand, 1);
    expect(run.evaluations[0]).toMatchObject({ status: 'ok', checkState: 'checked' });
  });

  it('reads a cut envelope whose refetch failed as report-truncated: unknown, never ok', async () => {
    sim.simulate([member(idOf(1), { script: { output: reportEnvelope(incompressibleReport()) } })]);
    sim.ssm.on(GetCommandInvocationCommand).rejects(Object.assign(new Error('denied'), { name: 'AccessDeniedException' }));
    const run = await runCheck(deps(), settings);
    expect(run.evaluations[0]!.status).toBe('unknown');
    expect(codes(run.evaluations[0]!)).toContain('report-truncated');
  });

  it.each([
    ['a wrong checksum', (e: string) => e.replace(/ [0-9a-f]{16} /, ' 0000000000000000 ')],
    ['a wrong size', (e: string) => e.replace(/^TSG-REPORT-GZ1 \d+ /, 'TSG-REPORT-GZ1 99 ')],
    [
      'a decompression bomb (fetched whole: 10 MB of spaces in 13,004 base64 characters)',
      () => {
        const bomb = Buffer.alloc(10_000_000, 0x20);
        return `TSG-REPORT-GZ1 65536 ${createHash('sha256').update(bomb).digest('hex').slice(0, 16)} ${gzipSync(bomb, { level: 9 }).toString('base64')} TSG-END\n`;
      },
    ],
  ])('gives unknown with report-unreadable, never ok, for an envelope with %s', async (_what, spoil) => {
    sim.simulate([member(idOf(1), { script: { output: spoil(reportEnvelope(chronyReport())) } })]);
    const run = await runCheck(deps(), settings);
    expect(run.evaluations[0]!.status).toBe('unknown');
    expect(codes(run.evaluations[0]!)).toContain('report-unreadable');
  });
});
