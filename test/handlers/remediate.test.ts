import 'aws-sdk-client-mock-jest';
import { EC2Client, ModifyInstanceMetadataOptionsCommand } from '@aws-sdk/client-ec2';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { AUDIT_DETAIL_TYPES } from '../../lambda/aws/audit';
import { VirtualClock } from '../../lambda/aws/clock';
import type { InstanceInventory } from '../../lambda/aws/inventory';
import { createSnsNotifier } from '../../lambda/aws/notify';
import type { InvocationResult, RunCommandPort, RunDocumentRequest, RunSessionRequest } from '../../lambda/engine/ports';
import { REMEDIATION_METRICS } from '../../lambda/core/fleet/metric-names';
import { formatRemediationLine } from '../../lambda/core/remediation/guest-result';
import { parseSettings } from '../../lambda/core/settings';
import type { InstanceRecord, Verdict } from '../../lambda/core/types';
import { ContinuationError } from '../../lambda/engine/remediate';
import { createRemediateHandler, handler, RemediationRunError, type RemediateHandlerDeps } from '../../lambda/handlers/remediate';
import { simInstance } from '../../bench/sim/fleet';
import { useSimAccount } from '../support/sim';

const account = useSimAccount();

const id = (k: number): string => `i-0${String(k).padStart(16, '0')}`;
const KEY = Buffer.from('handler-test-continuation-key-0123456789abcdef');

function record(instanceId: string, over: Partial<InstanceRecord> = {}): InstanceRecord {
  return {
    instanceId,
    platform: 'linux',
    hasInstanceProfile: true,
    optedOut: false,
    imds: { hopLimit: 1, httpEndpoint: 'enabled', httpTokens: 'required', state: 'applied' },
    ssm: { pingStatus: 'Online', platformType: 'Linux' },
    ...over,
  };
}

/** A Run Command port that answers by document: a collector report, or the remediation script's final line. */
class FakeRunCommand implements RunCommandPort {
  requests: RunDocumentRequest[] = [];
  constructor(private readonly remediationDoc: string) {}
  startSession(request: RunSessionRequest) {
    const ids: string[] = [];
    return { add: (more: readonly string[]) => void ids.push(...more), finish: () => this.runDocument({ ...request, instanceIds: ids }) };
  }
  async runDocument(request: RunDocumentRequest) {
    this.requests.push(request);
    const results = new Map<string, InvocationResult>();
    for (const i of request.instanceIds) {
      const output =
        request.documentName === this.remediationDoc
          ? `${formatRemediationLine({ result: 'changed', daemon: 'chrony', action: 'add-source-drop-in', reason: '' })}\n`
          : 'TSG-REPORT v1 linux\n(the fake diagnose ignores the body)\nTSG-END\n';
      results.set(i, { instanceId: i, state: 'success', output, commandId: 'c1' });
    }
    return { results, commandIds: ['c1'], errors: [], stats: { sendCommand: 1, listCommands: 1, listCommandInvocationsPages: 1, getCommandInvocation: 0, throttled: 0, polls: 1 } };
  }
}

const offAmazonWithContainers: Verdict = {
  platform: 'linux',
  daemon: 'chrony',
  timeSource: 'other',
  synchronized: true,
  offsetSeconds: 0.001,
  clockErrorBoundSeconds: 0.01,
  containers: true,
  status: 'at-risk',
  findings: [{ code: 'not-amazon-time-sync', message: 'x' }],
};

function setup(n: number, env: Record<string, string> = {}) {
  const clock = new VirtualClock();
  const settings = parseSettings({
    TSG_REMEDIATION_DOCUMENT: 'Stack-Remediate',
    TSG_EVENT_SOURCE: 'acme.timesync',
    TSG_MAX_CHANGES_PERCENT: '100',
    TSG_MAX_CHANGES_PER_RUN: '100000',
    TSG_TOPIC_ARN: 'arn:aws:sns:us-east-1:111122223333:t',
    ...env,
  });
  const records = Array.from({ length: n }, (_, k) => record(id(k), k === 0 ? { ipv6Only: true } : {}));
  const inventory: InstanceInventory & { calls: number } = {
    calls: 0,
    async listInstances() {
      this.calls++;
      return records;
    },
  };
  account.simulate(records.map((r) => simInstance(r.instanceId, { hopLimit: 1, ipv6Only: r.ipv6Only === true })), { clock });
  /** The instances whose metadata options were changed, in order of first change, and how often. */
  const sim = {
    get modified(): string[] {
      return [...account.account.modified.keys()];
    },
    get changes(): number[] {
      return [...account.account.modified.values()];
    },
  };
  const runCommand = new FakeRunCommand('Stack-Remediate');
  const metrics = new Metrics({ namespace: 'TimeSyncGuard', serviceName: 'timesync-guard' });
  const added: [string, number][] = [];
  jest.spyOn(metrics, 'addMetric').mockImplementation((name: string, _unit, value: number) => {
    added.push([name, value]);
    return metrics;
  });
  jest.spyOn(metrics, 'publishStoredMetrics').mockImplementation(() => metrics);
  const logger = { info: jest.fn(), warn: jest.fn(), error: jest.fn() };
  const deps: RemediateHandlerDeps = {
    settings,
    clock,
    logger,
    metrics,
    ec2: new EC2Client({}),
    eventbridge: new EventBridgeClient({}),
    inventory,
    runCommand,
    notifier: createSnsNotifier({ sns: new SNSClient({}), topicArn: settings.topicArn }),
    diagnose: () => offAmazonWithContainers,
    continuationKey: async () => KEY,
    engine: { guestVerifySeconds: 10, guestWaveBudgetMs: 60_000 },
  };
  return { clock, deps, sim, runCommand, inventory, added, logger };
}

const ctx = (ms: number) => ({ getRemainingTimeInMillis: () => ms });

describe('remediate handler', () => {
  it('exports the Lambda entry point the state machine invokes', () => {
    expect(typeof handler).toBe('function');
  });

  it('checks, plans and acts in one invocation when there is time: IMDS raised, guest fixed, audited, metrics and summary out', async () => {
    const { deps, sim, runCommand, added } = setup(3);
    const out = await createRemediateHandler(deps)({}, ctx(900_000));
    expect(out.done).toBe(true);
    expect(out.continuation).toBeUndefined();
    expect(sim.modified).toEqual([id(0), id(1), id(2)]);
    const guest = runCommand.requests.filter((r) => r.documentName === 'Stack-Remediate');
    expect(guest.flatMap((r) => r.instanceIds).sort()).toEqual([id(0), id(1), id(2)]);
    expect(guest.find((r) => r.instanceIds.includes(id(0)))!.parameters!.Endpoint).toEqual(['ipv6']);
    expect(out.summary.counts).toEqual(expect.objectContaining({ attempted: 6, succeeded: 6, failed: 0 }));
    const sources = new Set(account.events.commandCalls(PutEventsCommand).flatMap((c) => c.args[0].input.Entries!.map((e) => e.Source)));
    expect([...sources]).toEqual(['acme.timesync']);
    expect(account.account.stub(SNSClient)).toHaveReceivedCommandTimes(PublishCommand, 1);
    expect(Object.fromEntries(added)).toEqual({
      [REMEDIATION_METRICS.attempted]: 6,
      [REMEDIATION_METRICS.succeeded]: 6,
      // Failed, rolled back and skipped are 0: not published (absent: 0).
      [REMEDIATION_METRICS.remediationCompleted]: 1,
    });
    // The state machine's output stays small.
    expect(JSON.stringify(out).length).toBeLessThan(4_000);
  });

  it('takes its deadline from the Lambda context minus the margin, returns a continuation, and the loop finishes the run', async () => {
    const { deps, sim, inventory, clock, added } = setup(300, { TSG_FIX_TIME_SYNC: 'false' });
    const h = createRemediateHandler({ ...deps, safetyMarginMs: 45_000 });
    const start = clock.now();
    let out = await h({}, ctx(70_000));
    expect(out.done).toBe(false);
    expect(clock.now() - start).toBeLessThanOrEqual(70_000 - 45_000);
    expect(added).toEqual([]); // metrics only when the run is finished
    let loops = 1;
    while (!out.done && loops < 20) {
      out = await h({ continuation: out.continuation }, ctx(70_000));
      loops++;
    }
    expect(out.done).toBe(true);
    expect(loops).toBeGreaterThan(1);
    expect(inventory.calls).toBe(1);
    expect(sim.modified).toHaveLength(300);
    expect(sim.changes.every((n) => n === 1)).toBe(true);
    expect(out.summary.invocations).toBe(loops);
  });

  it.each([[undefined], [null], [{}], [{ continuation: null }], [{ continuation: '' }]])('starts a new run for the state machine’s first input %p', async (event) => {
    const { deps, inventory } = setup(1);
    const out = await createRemediateHandler(deps)(event as never, ctx(900_000));
    expect(out.done).toBe(true);
    expect(inventory.calls).toBe(1);
  });

  it('a check that cannot run fails the invocation (Lambda error → alarm) and changes nothing', async () => {
    const { deps } = setup(2);
    const broken: InstanceInventory = { listInstances: () => Promise.reject(new Error('UnauthorizedOperation')) };
    await expect(createRemediateHandler({ ...deps, inventory: broken })({}, ctx(900_000))).rejects.toThrow(RemediationRunError);
    expect(account.ec2).toHaveReceivedCommandTimes(ModifyInstanceMetadataOptionsCommand, 0);
  });

  it('a launch request checks and fixes only the launched instances; the rest of the region is untouched', async () => {
    const { deps, sim, runCommand } = setup(4);
    const out = await createRemediateHandler(deps)({ instanceIds: [id(1), id(3)] }, ctx(900_000));
    expect(out.done).toBe(true);
    expect(sim.modified.sort()).toEqual([id(1), id(3)]);
    const guest = runCommand.requests.filter((r) => r.documentName === 'Stack-Remediate');
    expect(guest.flatMap((r) => r.instanceIds).sort()).toEqual([id(1), id(3)]);
  });

  it("an urgent request fixes only its ids, within what the day's cap has left", async () => {
    const { deps, sim } = setup(4, { TSG_MAX_CHANGES_PER_RUN: '3' });
    const out = await createRemediateHandler(deps)({ trigger: 'urgent', instanceIds: [id(1), id(2), id(3)], capSpent: 1 }, ctx(900_000));
    expect(out.done).toBe(true);
    // The night spent one of the three: two of the urgent hosts are changed, the third waits (cap-reached).
    expect(sim.modified.sort()).toEqual([id(1), id(2)]);
    expect(out.summary).toMatchObject({ cap: 2, plannedInstances: 2 });
  });

  it("an urgent request whose day's cap is spent changes nothing", async () => {
    const { deps, sim, runCommand } = setup(4, { TSG_MAX_CHANGES_PER_RUN: '3' });
    const out = await createRemediateHandler(deps)({ trigger: 'urgent', instanceIds: [id(1)], capSpent: 3 }, ctx(900_000));
    expect(out.summary).toMatchObject({ cap: 0, plannedInstances: 0 });
    expect(sim.modified).toEqual([]);
    expect(runCommand.requests.filter((r) => r.documentName === 'Stack-Remediate')).toHaveLength(0);
  });

  it.each<[string, unknown]>([
    ['no spent cap', { trigger: 'urgent', instanceIds: [id(1)] }],
    ['a negative spent cap', { trigger: 'urgent', instanceIds: [id(1)], capSpent: -5 }],
    ['no ids', { trigger: 'urgent', capSpent: 0 }],
  ])('an urgent request with %s is refused and changes nothing', async (_name, event) => {
    const { deps, runCommand, inventory } = setup(3);
    await expect(createRemediateHandler(deps)(event as never, ctx(900_000))).rejects.toThrow(/request refused/);
    expect(account.ec2).toHaveReceivedCommandTimes(ModifyInstanceMetadataOptionsCommand, 0);
    expect(runCommand.requests).toHaveLength(0);
    expect(inventory.calls).toBe(0);
  });

  it.each<[string, unknown]>([
    ['not a list', id(1)],
    ['an empty list', []],
    ['a non-id', [id(1), 'i-; rm -rf /']],
    ['null (a forged event with instanceIds: null)', null],
    ['10,000 ids', Array.from({ length: 10_000 }, (_, k) => `i-${k.toString(16).padStart(17, '0')}`)],
    ['a malformed id', ['i-0123']],
  ])('a launch request with %s is refused and changes nothing (never widened to the region)', async (_name, instanceIds) => {
    const { deps, runCommand, inventory } = setup(3);
    await expect(createRemediateHandler(deps)({ trigger: 'launch', instanceIds }, ctx(900_000))).rejects.toThrow(/launch remediation request refused/);
    await expect(createRemediateHandler(deps)({ instanceIds }, ctx(900_000))).rejects.toThrow(/launch remediation request refused/);
    expect(account.ec2).toHaveReceivedCommandTimes(ModifyInstanceMetadataOptionsCommand, 0);
    expect(runCommand.requests).toHaveLength(0);
    expect(inventory.calls).toBe(0);
  });

  it('a launch request without instanceIds is refused, not read as the whole region', async () => {
    const { deps, runCommand, inventory } = setup(3);
    await expect(createRemediateHandler(deps)({ trigger: 'launch' }, ctx(900_000))).rejects.toThrow(/launch remediation request refused: instanceIds is undefined/);
    expect(account.ec2).toHaveReceivedCommandTimes(ModifyInstanceMetadataOptionsCommand, 0);
    expect(runCommand.requests).toHaveLength(0);
    expect(inventory.calls).toBe(0);
  });

  it('a garbled continuation fails loudly with a clear error instead of starting over', async () => {
    const { deps, inventory, logger } = setup(2);
    await expect(createRemediateHandler(deps)({ continuation: 'garbage!' }, ctx(900_000))).rejects.toThrow(ContinuationError);
    expect(inventory.calls).toBe(0);
    expect(logger.error).toHaveBeenCalledWith('remediation-failed', expect.objectContaining({ error: expect.stringContaining('ContinuationError') }));
  });

  it('a direct invoke with an edited continuation is refused (ContinuationError), audited on the bus, and changes nothing', async () => {
    const { deps, sim, inventory, logger } = setup(300);
    const h = createRemediateHandler(deps);
    const first = await h({}, ctx(70_000));
    expect(first.done).toBe(false);
    const modified = sim.modified.length;
    const [payload, mac] = first.continuation!.split('.');
    const edited = `${payload!.slice(0, 40)}${payload![40] === 'x' ? 'y' : 'x'}${payload!.slice(41)}.${mac}`;
    account.events.resetHistory();
    await expect(h({ continuation: edited }, ctx(900_000))).rejects.toMatchObject({ name: 'ContinuationError', reason: 'forged' });
    expect(sim.modified).toHaveLength(modified);
    expect(inventory.calls).toBe(1);
    const events = account.events.commandCalls(PutEventsCommand).flatMap((c) => c.args[0].input.Entries!);
    expect(events).toEqual([expect.objectContaining({ Source: deps.settings.eventSource, DetailType: AUDIT_DETAIL_TYPES.continuationRefused })]);
    expect(JSON.parse(events[0]!.Detail!)).toEqual(expect.objectContaining({ reason: 'forged', continuationChars: edited.length }));
    expect(logger.error).toHaveBeenCalledWith('remediation-continuation-refused', expect.objectContaining({ reason: 'forged' }));
  });

  it('a continuation signed by another stack (another key) is refused', async () => {
    const { deps } = setup(300);
    const other = createRemediateHandler({ ...deps, continuationKey: async () => Buffer.from('a-different-stacks-key-0123456789abcdef0123') });
    const first = await other({}, ctx(70_000));
    await expect(createRemediateHandler(deps)({ continuation: first.continuation }, ctx(900_000))).rejects.toMatchObject({ reason: 'forged' });
  });

  it('dry run from the environment: plans and reports, changes nothing', async () => {
    const { deps, sim, runCommand } = setup(3, { TSG_DRY_RUN: 'true' });
    const out = await createRemediateHandler(deps)({}, ctx(900_000));
    expect(out.done).toBe(true);
    expect(out.summary.dryRun).toBe(true);
    expect(sim.modified).toEqual([]);
    expect(runCommand.requests.filter((r) => r.documentName === 'Stack-Remediate')).toEqual([]);
  });
});
