import 'aws-sdk-client-mock-jest';
import { CloudWatchClient, PutMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import { EC2Client } from '@aws-sdk/client-ec2';
import { SendCommandCommand, SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { createRun, parseArgs, run } from '../../bin/commands/check';
import type { CliIo } from '../../bin/commands/io';
import { createClients } from '../../lambda/aws/clients';
import { VirtualClock } from '../../lambda/aws/clock';
import { CHECK_METRICS } from '../../lambda/core/fleet/metric-names';
import { GUEST_SCRIPTS, readGuestScript } from '../../lambda/guest/scripts';
import { awsError } from '../aws/ssm-sim';
import { idOf, member, simulateFleet } from '../engine/fleet-sim';
import { chronyReport } from '../engine/reports';

const ec2Mock = mockClient(EC2Client);
const ssmMock = mockClient(SSMClient);
const cwMock = mockClient(CloudWatchClient);

function io(env: Record<string, string> = {}): CliIo & { stdout: string[]; stderr: string[] } {
  const stdout: string[] = [];
  const stderr: string[] = [];
  return { stdout, stderr, out: (s) => stdout.push(s), err: (s) => stderr.push(s), readStdin: async () => '', env };
}

const regions: (string | undefined)[] = [];
const virtualRun = createRun({
  clock: new VirtualClock(),
  makeClients: (o) => {
    regions.push(o.region);
    return createClients(o);
  },
});

beforeEach(() => {
  ec2Mock.reset();
  ssmMock.reset();
  cwMock.reset();
  regions.length = 0;
});

describe('timesync-guard check', () => {
  it('prints a table with offenders first and a summary, exits 1 when instances are at risk, publishes nothing', async () => {
    simulateFleet(ec2Mock, ssmMock, [
      member(idOf(1)),
      member(idOf(2), { run: { output: chronyReport({ address: '127.0.0.1' }) } }),
      member(idOf(3), { ping: undefined }),
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
    expect(cwMock).toHaveReceivedCommandTimes(PutMetricDataCommand, 0);
  });

  it('sends the collector script text itself through AWS-RunShellScript (nothing deployed needed)', async () => {
    simulateFleet(ec2Mock, ssmMock, [member(idOf(1))]);
    expect(await virtualRun([], io())).toBe(0);
    expect(ssmMock).toHaveReceivedCommandWith(SendCommandCommand, {
      DocumentName: 'AWS-RunShellScript',
      Parameters: { commands: [readGuestScript(GUEST_SCRIPTS.collectLinux)], executionTimeout: ['120'] },
    });
  });

  it('runs a deployed document with --document', async () => {
    simulateFleet(ec2Mock, ssmMock, [member(idOf(1))]);
    await virtualRun(['--document', 'TimeSyncGuard-Collect'], io());
    expect(ssmMock).toHaveReceivedCommandWith(SendCommandCommand, { DocumentName: 'TimeSyncGuard-Collect' });
  });

  it('prints one JSON document with --json', async () => {
    simulateFleet(ec2Mock, ssmMock, [member(idOf(1)), member(idOf(2))]);
    const out = io();
    expect(await virtualRun(['--json'], out)).toBe(0);
    const doc = JSON.parse(out.stdout.join('\n')) as { completed: boolean; summary: { counts: Record<string, number> }; evaluations: unknown[] };
    expect(doc.completed).toBe(true);
    expect(doc.evaluations).toHaveLength(2);
    expect(doc.summary.counts.instancesChecked).toBe(2);
  });

  it('skips the guest with --no-guest: no Run Command at all', async () => {
    simulateFleet(ec2Mock, ssmMock, [member(idOf(1), { ec2: { MetadataOptions: { HttpEndpoint: 'disabled' } } })]);
    const out = io();
    expect(await virtualRun(['--no-guest'], out)).toBe(1);
    expect(ssmMock).toHaveReceivedCommandTimes(SendCommandCommand, 0);
    expect(out.stdout.join('\n')).toContain('imds-endpoint-disabled');
  });

  it('publishes the fixed metric set with PutMetricData only with --publish', async () => {
    simulateFleet(ec2Mock, ssmMock, [member(idOf(1)), member(idOf(2))]);
    expect(await virtualRun(['--publish'], io({ TSG_METRIC_NAMESPACE: 'Acme/Time' }))).toBe(0);
    expect(cwMock).toHaveReceivedCommandTimes(PutMetricDataCommand, 1);
    const input = cwMock.commandCalls(PutMetricDataCommand)[0]!.args[0].input;
    expect(input.Namespace).toBe('Acme/Time');
    expect(input.MetricData!.map((d) => d.MetricName).sort()).toEqual(Object.values(CHECK_METRICS).sort());
    for (const d of input.MetricData!) expect(d.Dimensions).toEqual([{ Name: 'service', Value: 'timesync-guard' }]);
    const bounds = input.MetricData!.find((d) => d.MetricName === 'ClockErrorBoundSeconds')!;
    expect(bounds.Counts!.reduce((a, b) => a + b, 0)).toBe(2);
  });

  it('exits 3 with a clear message when the inventory cannot be read', async () => {
    simulateFleet(ec2Mock, ssmMock, []);
    ec2Mock.rejects(awsError('AuthFailure', 401, 'AWS was not able to validate the provided access credentials'));
    const out = io();
    expect(await virtualRun([], out)).toBe(3);
    expect(out.stderr.join('\n')).toMatch(/could not run: AuthFailure/);
  });

  it('exits 3 when the run itself fails (SendCommand denied), after printing what it knows', async () => {
    simulateFleet(ec2Mock, ssmMock, [member(idOf(1))], { failures: { SendCommand: [awsError('AccessDeniedException')] } });
    const out = io();
    expect(await virtualRun([], out)).toBe(3);
    expect(out.stdout.join('\n')).toContain('command-not-sent');
    expect(out.stderr.join('\n')).toMatch(/AccessDeniedException/);
  });

  it.each([[['--bogus']], [['--region']], [['--profile', '--json']]])('rejects %p with usage and exit 2', async (args) => {
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
    simulateFleet(ec2Mock, ssmMock, []);
    const out = io();
    expect(await virtualRun([], out)).toBe(0);
    expect(out.stdout.join('\n')).toMatch(/No running instances/);
  });

  it('works through the real entry point run() too (real clock, one short poll)', async () => {
    simulateFleet(ec2Mock, ssmMock, [member(idOf(1))]);
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
