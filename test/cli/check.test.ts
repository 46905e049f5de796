import 'aws-sdk-client-mock-jest';
import { PutMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import { SendCommandCommand } from '@aws-sdk/client-ssm';
import { createRun, parseArgs, run } from '../../bin/commands/check';
import type { CliIo } from '../../bin/commands/io';
import { createClients } from '../../lambda/aws/clients';
import { VirtualClock } from '../../lambda/aws/clock';
import { HOURLY_CHECK_METRIC_NAMES } from '../../lambda/core/fleet/aggregate';
import { GUEST_SCRIPTS, readGuestScript } from '../../lambda/guest/scripts';
import type { SimInstance } from '../../bench/sim/fleet';
import { SIM_DOCUMENT_HASHES } from '../../bench/sim/ssm';
import { chronyReport } from '../engine/reports';
import { awsError, idOf, member, useSimAccount } from '../support/sim';

const sim = useSimAccount();
/** What the simulated account's collector document holds. */
const PIN = SIM_DOCUMENT_HASHES['TimeSyncGuard-Collect']!;
const clock = new VirtualClock();
/** The account runs on the CLI's clock. */
const simulateFleet = (fleet: SimInstance[], options?: Parameters<typeof sim.simulate>[1]): void => void sim.simulate(fleet, { clock, ...options });

function io(env: Record<string, string> = {}): CliIo & { stdout: string[]; stderr: string[] } {
  const stdout: string[] = [];
  const stderr: string[] = [];
  return { stdout, stderr, out: (s) => stdout.push(s), err: (s) => stderr.push(s), readStdin: async () => '', env };
}

const regions: (string | undefined)[] = [];
const virtualRun = createRun({
  clock,
  makeClients: (o) => {
    regions.push(o.region);
    return createClients(o);
  },
});

beforeEach(() => {
  regions.length = 0;
});

describe('timesync-guard check', () => {
  it('prints a table with offenders first and a summary, exits 1 when instances are at risk, publishes nothing', async () => {
    simulateFleet([
      member(idOf(1)),
      member(idOf(2), { script: { output: chronyReport({ address: '127.0.0.1' }) } }),
      member(idOf(3), { ssm: 'unmanaged' }),
    ]);
    const out = io();
    const code = await virtualRun(['--region', 'eu-west-1'], out);
    expect(code).toBe(1);
    const text = out.stdout.join('\n');
    const lines = text.split('\n');
    expect(lines[0]).toMatch(/^INSTANCE\s+NAME\s+PLATFORM\s+STATUS\s+TIME SOURCE\s+OFFSET s\s+BOUND s\s+HOP\s+FINDINGS$/);
    expect(lines[1]).toContain(idOf(2));
    expect(lines[1]).toMatch(/at-risk\s+other/);
    expect(lines[1]).toContain('not-amazon-time-sync');
    expect(text).toMatch(/unmanaged/);
    expect(text).toMatch(/3 running, 2 checked, 1 at risk, 1 not checked, 0 opted out/);
    expect(regions).toEqual(['eu-west-1']);
    expect(sim.cloudwatch).toHaveReceivedCommandTimes(PutMetricDataCommand, 0);
  });

  it('sends the collector script text itself through AWS-RunShellScript (nothing deployed needed)', async () => {
    simulateFleet([member(idOf(1))]);
    expect(await virtualRun([], io())).toBe(0);
    expect(sim.ssm).toHaveReceivedCommandWith(SendCommandCommand, {
      DocumentName: 'AWS-RunShellScript',
      Parameters: { commands: [readGuestScript(GUEST_SCRIPTS.collectLinux)], executionTimeout: ['120'] },
    });
  });

  it('runs a deployed document with --document, pinned by --document-hash', async () => {
    simulateFleet([member(idOf(1))]);
    expect(await virtualRun(['--document', 'TimeSyncGuard-Collect', '--document-hash', PIN], io())).toBe(0);
    expect(sim.ssm).toHaveReceivedCommandWith(SendCommandCommand, { DocumentName: 'TimeSyncGuard-Collect', DocumentHash: PIN, DocumentHashType: 'Sha256' });
  });

  it('pins --document with TSG_COLLECTOR_DOCUMENT_HASH when --document-hash is not given', async () => {
    simulateFleet([member(idOf(1))]);
    expect(await virtualRun(['--document', 'TimeSyncGuard-Collect'], io({ TSG_COLLECTOR_DOCUMENT_HASH: PIN }))).toBe(0);
    expect(sim.ssm).toHaveReceivedCommandWith(SendCommandCommand, { DocumentName: 'TimeSyncGuard-Collect', DocumentHash: PIN, DocumentHashType: 'Sha256' });
  });

  it('refuses --document without a pin (usage, exit 2) and sends nothing', async () => {
    simulateFleet([member(idOf(1))]);
    const out = io();
    expect(await virtualRun(['--document', 'TimeSyncGuard-Collect'], out)).toBe(2);
    expect(out.stderr.join('\n')).toMatch(/--document TimeSyncGuard-Collect needs the content it must have/);
    expect(sim.ssm).not.toHaveReceivedCommand(SendCommandCommand);
  });

  it('runs nothing on a same-name document with other content: exit 3 (the check could not run), no instance judged', async () => {
    simulateFleet([member(idOf(1))], { documentHashes: { 'TimeSyncGuard-Collect': 'f'.repeat(64) } });
    const out = io();
    const code = await virtualRun(['--document', 'TimeSyncGuard-Collect', '--document-hash', PIN], out);
    expect(code).toBe(3);
    expect(out.stderr.join('\n')).toMatch(/InvalidDocument: document hash .* does not match Sha256/);
    expect(out.stdout.join('\n')).not.toMatch(/1 checked/);
  });

  it('prints one JSON document with --json', async () => {
    simulateFleet([member(idOf(1)), member(idOf(2))]);
    const out = io();
    expect(await virtualRun(['--json'], out)).toBe(0);
    const doc = JSON.parse(out.stdout.join('\n')) as { completed: boolean; summary: { counts: Record<string, number> }; evaluations: unknown[] };
    expect(doc.completed).toBe(true);
    expect(doc.evaluations).toHaveLength(2);
    expect(doc.summary.counts.instancesChecked).toBe(2);
  });

  it('skips the guest with --no-guest: no Run Command at all', async () => {
    simulateFleet([member(idOf(1), { httpEndpoint: 'disabled' })]);
    const out = io();
    expect(await virtualRun(['--no-guest'], out)).toBe(1);
    expect(sim.ssm).toHaveReceivedCommandTimes(SendCommandCommand, 0);
    expect(out.stdout.join('\n')).toContain('imds-endpoint-disabled');
  });

  it('publishes the fixed metric set with PutMetricData only with --publish', async () => {
    simulateFleet([member(idOf(1)), member(idOf(2))]);
    expect(await virtualRun(['--publish'], io({ TSG_METRIC_NAMESPACE: 'Acme/Time' }))).toBe(0);
    expect(sim.cloudwatch).toHaveReceivedCommandTimes(PutMetricDataCommand, 1);
    const input = sim.cloudwatch.commandCalls(PutMetricDataCommand)[0]!.args[0].input;
    expect(input.Namespace).toBe('Acme/Time');
    // The sparse counts of the rarer guest causes are 0 here: not published.
    expect(input.MetricData!.map((d) => d.MetricName).sort()).toEqual([...HOURLY_CHECK_METRIC_NAMES].sort());
    for (const d of input.MetricData!) expect(d.Dimensions).toEqual([{ Name: 'service', Value: 'timesync-guard' }]);
    const bounds = input.MetricData!.find((d) => d.MetricName === 'ClockErrorBoundSeconds')!;
    expect(bounds.Counts!.reduce((a, b) => a + b, 0)).toBe(2);
  });

  it('exits 3 with a clear message when the inventory cannot be read', async () => {
    simulateFleet([], { failures: { DescribeInstances: [awsError('AuthFailure', 401, 'AWS was not able to validate the provided access credentials')] } });
    const out = io();
    expect(await virtualRun([], out)).toBe(3);
    expect(out.stderr.join('\n')).toMatch(/could not run: AuthFailure/);
  });

  it('exits 3 when the run itself fails (SendCommand denied), after printing what it knows', async () => {
    simulateFleet([member(idOf(1))], { failures: { SendCommand: [awsError('AccessDeniedException')] } });
    const out = io();
    expect(await virtualRun([], out)).toBe(3);
    expect(out.stdout.join('\n')).toContain('command-not-sent');
    expect(out.stderr.join('\n')).toMatch(/AccessDeniedException/);
  });

  it.each([[['--bogus']], [['--region']], [['--profile', '--json']], [['--document', 'D', '--document-hash', 'ABC']], [['--document-hash', 'a'.repeat(64)]]])('rejects %p with usage and exit 2', async (args) => {
    const out = io();
    expect(await virtualRun(args, out)).toBe(2);
    expect(out.stderr.join('\n')).toMatch(/Usage: npx timesync-guard check/);
  });

  it('exits 2 naming a mistyped TSG_ variable and the nearest known one', async () => {
    const out = io({ TSG_OPT_OUT_TAG: 'x' });
    expect(await virtualRun([], out)).toBe(2);
    expect(out.stderr.join('\n')).toContain('TSG_OPT_OUT_TAG: unknown variable; did you mean TSG_OPT_OUT_TAG_KEY?');
  });

  it('exits 2 naming a bad TSG_ setting', async () => {
    const out = io({ TSG_MAX_OFFSET_SECONDS: 'lots' });
    expect(await virtualRun([], out)).toBe(2);
    expect(out.stderr.join('\n')).toMatch(/TSG_MAX_OFFSET_SECONDS/);
  });

  it('says so when the region has no running instance', async () => {
    simulateFleet([]);
    const out = io();
    expect(await virtualRun([], out)).toBe(0);
    expect(out.stdout.join('\n')).toMatch(/No running instances/);
  });

  it('works through the real entry point run() too (real clock, one short poll)', async () => {
    // The account's clock is virtual and run()'s is real: the guest answers at once.
    simulateFleet([member(idOf(1), { script: { output: chronyReport(), guestMs: 0 } })]);
    const out = io();
    expect(await run(['--region', 'us-east-1', '--profile', 'audit'], out)).toBe(0);
    expect(out.stdout.join('\n')).toMatch(/1 running, 1 checked, 0 at risk/);
  }, 20_000);
});

describe('parseArgs', () => {
  it('reads every option, in both --k v and --k=v forms', () => {
    expect(parseArgs(['--region=ap-south-1', '--profile', 'p', '--json', '--no-guest', '--publish', '--document', 'D'])).toEqual({
      region: 'ap-south-1',
      profile: 'p',
      json: true,
      guest: false,
      publish: true,
      document: 'D',
      help: false,
    });
  });
});
