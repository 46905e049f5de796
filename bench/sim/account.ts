/**
 * A simulated AWS account behind aws-sdk-client-mock: EC2, SSM, EventBridge, SNS and CloudWatch
 * answer from an in-memory fleet, on the benchmark's virtual clock, and enforce the documented
 * limits (/work/shared/reference/aws-limits.md): page sizes, 50 ids per SendCommand, the 2,500-char
 * `Details` output cap (24,000 for GetCommandInvocation), EC2's token buckets, an SSM request rate
 * (a parameter: AWS publishes none), the Run Command delivery ramp, guest execution time,
 * invocation statuses over time, IMDS changes going pending → applied, instances vanishing.
 *
 * Because aws-sdk-client-mock replaces `Client.prototype.send`, every client instance the engines
 * create (module-level or their own) talks to this account, and SDK middleware (including its
 * retries) is bypassed: throttling reaches the engine's own retry layer, as intended.
 *
 * Assumptions are numbered A1… and listed in bench/README.md.
 */
import { COLLECTOR_STEP_TIMEOUT_SECONDS } from '../../lib/constructs/guest-documents';
import { DETAILS_OUTPUT_LIMIT } from '../../lambda/aws/run-command';
import { CloudWatchClient, PutMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import { DescribeInstancesCommand, EC2Client, ModifyInstanceMetadataOptionsCommand, type DescribeInstancesCommandInput, type Instance, type ModifyInstanceMetadataOptionsCommandInput } from '@aws-sdk/client-ec2';
import { EventBridgeClient, PutEventsCommand, type PutEventsCommandInput } from '@aws-sdk/client-eventbridge';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import {
  CancelCommandCommand,
  DescribeInstanceInformationCommand,
  GetCommandInvocationCommand,
  InvalidCommandId,
  InvalidFilterKey,
  InvalidInstanceId,
  InvocationDoesNotExist,
  ListCommandInvocationsCommand,
  ListCommandsCommand,
  SendCommandCommand,
  SSMClient,
  type CancelCommandCommandInput,
  type DescribeInstanceInformationCommandInput,
  type GetCommandInvocationCommandInput,
  type ListCommandInvocationsCommandInput,
  type ListCommandsCommandInput,
  type SendCommandCommandInput,
} from '@aws-sdk/client-ssm';
import { mockClient, type AwsStub } from 'aws-sdk-client-mock';
import type { MetadataBearer } from '@smithy/types';

type AnyStub = AwsStub<object, MetadataBearer, object>;
import { collectorReport, remediationOutput, type SimInstance } from './fleet';
import type { DiscreteEventClock } from './virtual-clock';

// ---------------------------------------------------------------------------------------------
// Limits and assumptions

/** Capacity and refill of a token bucket. */
export interface BucketSpec {
  readonly capacity: number;
  readonly refillPerSecond: number;
}

/** EC2's documented buckets (aws-limits.md). */
export const EC2_BUCKETS = {
  nonMutating: { capacity: 100, refillPerSecond: 20 },
  unfilteredNonMutating: { capacity: 50, refillPerSecond: 10 },
  modifyInstanceMetadataOptions: { capacity: 100, refillPerSecond: 5 },
} as const satisfies Record<string, BucketSpec>;

/** A1: SSM publishes no API rate; one shared bucket of 20 requests/s with a burst of 40. */
export const DEFAULT_SSM_BUCKET: BucketSpec = { capacity: 40, refillPerSecond: 20 };

/** Environment variable that sets the SSM bucket of a benchmark run: `RATE` or `RATE,BURST` (run.ts --ssm-rate). */
export const SSM_BUCKET_ENV = 'TSG_BENCH_SSM_BUCKET';

/** The SSM bucket of this process: from {@link SSM_BUCKET_ENV} when set (burst defaults to 2 × rate), else A1. */
export function ssmBucketFromEnv(env: Readonly<Record<string, string | undefined>> = process.env): BucketSpec {
  const raw = env[SSM_BUCKET_ENV];
  if (!raw) return DEFAULT_SSM_BUCKET;
  const [rate, burst] = raw.split(',').map(Number);
  if (!(rate! > 0) || (burst !== undefined && !(burst > 0))) throw new Error(`${SSM_BUCKET_ENV}=${raw}: expected RATE or RATE,BURST (positive numbers)`);
  return { refillPerSecond: rate!, capacity: burst ?? 2 * rate! };
}

/** Virtual latency of each call, in ms (A2–A5). */
export interface Latencies {
  /** A2: DescribeInstances: 200 ms + 0.8 ms per instance returned (a full page of 1,000 ≈ 1 s). */
  readonly describeInstancesBase: number;
  readonly describeInstancesPerItem: number;
  /** A3: one SSM listing page (DescribeInstanceInformation, ListCommands, ListCommandInvocations). */
  readonly ssmListPage: number;
  /** A4: every other call. */
  readonly other: number;
  /** A5: a throttled call fails fast. */
  readonly throttled: number;
}

export const DEFAULT_LATENCIES: Latencies = {
  describeInstancesBase: 200,
  describeInstancesPerItem: 0.8,
  ssmListPage: 300,
  other: 100,
  throttled: 20,
};

/** Run Command and IMDS behaviour over time (A6–A9). */
export interface RunCommandModel {
  /** A6: delivery ramp: one more wave per round, each doubling (1, then 2 more, then 4 more…). */
  readonly rampRoundMs: number;
  /** A7: time the collector / remediation script runs in the guest. */
  readonly guestMs: number;
  /** A8: execution timeout of a hung script when the command passes none (`executionTimeout`). */
  readonly defaultExecutionTimeoutMs: number;
  /** A9: ModifyInstanceMetadataOptions stays `pending` this long, then `applied`. */
  readonly metadataApplyMs: number;
}

export const DEFAULT_RUN_COMMAND_MODEL: RunCommandModel = {
  rampRoundMs: 1000,
  guestMs: 5000,
  defaultExecutionTimeoutMs: COLLECTOR_STEP_TIMEOUT_SECONDS * 1000,
  metadataApplyMs: 2000,
};

/**
 * Milliseconds from a command's delivery start until its last invocation ends, for `count`
 * invocations of `guestMs` each under the ramp and MaxConcurrency `mc`: the same rules as
 * {@link SimAccount}'s SendCommand (wave w opens at w × round and admits 2^(w+1) − 1 in total; a new
 * invocation takes the slot of the earliest one to finish). Used for the lower bounds.
 */
export function deliveryMakespanMs(count: number, mc: number, model: RunCommandModel = DEFAULT_RUN_COMMAND_MODEL): number {
  const inFlight: number[] = [];
  let last = 0;
  for (let k = 0; k < count; k++) {
    const rampStart = Math.floor(Math.log2(k + 1)) * model.rampRoundMs;
    let slotFree = 0;
    if (inFlight.length >= Math.max(1, mc)) {
      inFlight.sort((a, b) => a - b);
      slotFree = inFlight.shift()!;
    }
    const end = Math.max(rampStart, slotFree) + model.guestMs;
    inFlight.push(end);
    last = Math.max(last, end);
  }
  return last;
}

/** SSM `Details` output cap of ListCommandInvocations: the one definition the engine and every simulator use. */
export const DETAILS_OUTPUT_CAP = DETAILS_OUTPUT_LIMIT;
/** GetCommandInvocation's StandardOutputContent cap. */
export const GET_OUTPUT_CAP = 24_000;

// ---------------------------------------------------------------------------------------------
// Errors shaped like the SDK's

/** An AWS error as the SDK surfaces it: `name` is the service's error code. */
export class SimAwsError extends Error {
  readonly $fault: 'client' | 'server';
  readonly $metadata: { httpStatusCode: number; requestId: string };
  readonly Code: string;
  constructor(code: string, message: string, status = 400) {
    super(message);
    this.name = code;
    this.Code = code;
    this.$fault = status >= 500 ? 'server' : 'client';
    this.$metadata = { httpStatusCode: status, requestId: 'sim' };
  }
}

const ssmMeta = { $metadata: { httpStatusCode: 400, requestId: 'sim' } };

// ---------------------------------------------------------------------------------------------
// Token bucket on virtual time

/** EC2-style bucket: a request takes one token or is throttled; tokens refill continuously. */
export class SimBucket {
  private tokens: number;
  private at: number;
  constructor(
    readonly spec: BucketSpec,
    private readonly now: () => number,
  ) {
    this.tokens = spec.capacity;
    this.at = now();
  }
  /** Takes a token if there is one. */
  take(): boolean {
    const t = this.now();
    if (t > this.at) {
      this.tokens = Math.min(this.spec.capacity, this.tokens + ((t - this.at) / 1000) * this.spec.refillPerSecond);
      this.at = t;
    }
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return true;
    }
    return false;
  }
  /** Tokens available now (for tests). */
  available(): number {
    const t = this.now();
    return Math.min(this.spec.capacity, this.tokens + (Math.max(0, t - this.at) / 1000) * this.spec.refillPerSecond);
  }
}

// ---------------------------------------------------------------------------------------------
// Run Command state

type InvStatus = 'Pending' | 'InProgress' | 'Success' | 'Failed' | 'TimedOut' | 'Cancelled';

interface Invocation {
  readonly instanceId: string;
  /** Virtual ms of start / end; end = when the status becomes terminal. */
  readonly startAt: number;
  endAt: number;
  terminal: InvStatus;
  terminalDetails: string;
  readonly responseCode: number;
  readonly output: string;
}

interface SimCommand {
  readonly commandId: string;
  readonly documentName: string;
  readonly parameters: Record<string, string[]>;
  readonly requestedAt: number;
  readonly instanceIds: readonly string[];
  readonly maxConcurrency: string;
  readonly maxErrors: string;
  readonly timeoutSeconds: number;
  readonly invocations: Map<string, Invocation>;
  cancelledAt?: number;
  /** CancelCommand named these instances: only their invocations are cancelled. */
  cancelledIds?: Set<string>;
}

/** Which script a document runs. */
export type DocumentKind = 'collect' | 'remediate';

/** Options of {@link SimAccount}. */
export interface SimAccountOptions {
  readonly ssmBucket?: BucketSpec;
  readonly latencies?: Partial<Latencies>;
  readonly runCommand?: Partial<RunCommandModel>;
  /** Tag key of the opt-out tag. @default DEFAULTS.optOutTagKey */
  readonly optOutTagKey?: string;
  /** Document name → kind. AWS-RunShellScript/AWS-RunPowerShellScript are classified by their commands. */
  readonly documents?: Readonly<Record<string, DocumentKind>>;
}

/** Per-action counters. */
export interface CallStats {
  /** Requests received, throttled or not. */
  readonly calls: Record<string, number>;
  /** Requests rejected by a throttling bucket. */
  readonly throttled: Record<string, number>;
  /** Requests rejected for another reason (validation, unknown ids…). */
  readonly errors: Record<string, number>;
}

function bump(m: Record<string, number>, k: string, by = 1): void {
  m[k] = (m[k] ?? 0) + by;
}

/** SSM `MaxConcurrency` / `MaxErrors` (a count or a percent of the targets) as a count. */
export function percentOrCount(spec: string | undefined, of: number, dflt: number): number {
  if (spec === undefined || spec === '') return dflt;
  const m = /^(\d+)%$/.exec(spec.trim());
  if (m) return Math.ceil((of * Number(m[1])) / 100);
  const v = Number(spec);
  return Number.isFinite(v) ? v : dflt;
}

/**
 * Index of the first item after the page token (0 without a token). Items are sorted by key; a
 * token is the last key returned, so a listing resumes correctly even when items vanish between pages.
 */
function afterToken(length: number, keyAt: (k: number) => string, token: string | undefined): number {
  if (token === undefined) return 0;
  if (!token.startsWith('sim:')) throw new SimAwsError('InvalidNextToken', 'The specified token is invalid');
  const after = token.slice(4);
  let lo = 0;
  let hi = length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (keyAt(mid) <= after) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** ids and tokens are opaque strings; a token is the last key returned. */
function pageAfter<T>(items: readonly T[], key: (t: T) => string, token: string | undefined, size: number): { page: T[]; next?: string } {
  const start = afterToken(items.length, (k) => key(items[k]!), token);
  const page = items.slice(start, start + size);
  const more = start + size < items.length;
  return more ? { page, next: `sim:${key(page[page.length - 1]!)}` } : { page };
}

/**
 * One page of the items whose keys are `sorted`, from the token on, keeping those `keep` accepts:
 * O(page + skipped), never a pass over the whole list (the listing stays linear at 50,000 instances).
 */
function indexedPage<T>(sorted: readonly string[], token: string | undefined, size: number, keep: (key: string) => T | undefined): { page: T[]; next?: string } {
  const page: T[] = [];
  let k = afterToken(sorted.length, (i) => sorted[i]!, token);
  let lastKey = '';
  for (; k < sorted.length && page.length < size; k++) {
    const t = keep(sorted[k]!);
    if (t !== undefined) {
      page.push(t);
      lastKey = sorted[k]!;
    }
  }
  // More only if another kept item follows (AWS may also return a token with an empty last page; we do not).
  for (; k < sorted.length; k++) if (keep(sorted[k]!) !== undefined) return { page, next: `sim:${lastKey}` };
  return { page };
}

/**
 * The simulated account. `install()` mocks the five SDK clients; `restore()` undoes it. Counters in
 * {@link SimAccount.stats}; the fleet's instances are mutated by the simulated APIs.
 */
export class SimAccount {
  readonly stats: CallStats = { calls: {}, throttled: {}, errors: {} };
  /** Audit events received (PutEvents entries), by DetailType; entries are not kept (memory). */
  readonly eventsByType: Record<string, number> = {};
  /** Audit events received in total. */
  eventCount = 0;
  /** Bytes of the events' Detail (EventBridge bills per 64 KB chunk; all here are far smaller). */
  eventDetailBytes = 0;
  /** SNS messages published. */
  readonly notifications: string[] = [];
  /** Hop limits ever lowered by a ModifyInstanceMetadataOptions call (must stay 0). */
  lowered = 0;
  /** ModifyInstanceMetadataOptions calls that changed something, per instance. */
  readonly modified = new Map<string, number>();
  readonly commands = new Map<string, SimCommand>();
  /** Virtual ms of the first / last request of each action. */
  readonly firstAt: Record<string, number> = {};
  readonly lastAt: Record<string, number> = {};

  private readonly byId = new Map<string, SimInstance>();
  private readonly sortedIds: string[];
  /** Managed nodes (Online or ConnectionLost) in id order: DescribeInstanceInformation's listing, built once. */
  private readonly sortedManaged: string[];
  private readonly lat: Latencies;
  private readonly rc: RunCommandModel;
  private readonly documents: Readonly<Record<string, DocumentKind>>;
  private readonly optOutTagKey: string;
  private readonly buckets: Record<'nonMutating' | 'unfiltered' | 'modifyMetadata' | 'ssm', SimBucket>;
  private runStart: number;
  private commandSeq = 0;
  private stubs: AnyStub[] = [];

  constructor(
    readonly fleet: SimInstance[],
    private readonly clock: DiscreteEventClock,
    options: SimAccountOptions = {},
  ) {
    for (const i of fleet) this.byId.set(i.id, i);
    this.sortedIds = [...this.byId.keys()].sort();
    this.sortedManaged = this.sortedIds.filter((id) => this.byId.get(id)!.ssm !== 'unmanaged');
    this.lat = { ...DEFAULT_LATENCIES, ...options.latencies };
    this.rc = { ...DEFAULT_RUN_COMMAND_MODEL, ...options.runCommand };
    this.documents = { 'TimeSyncGuard-Collect': 'collect', 'TimeSyncGuard-Remediate': 'remediate', ...options.documents };
    this.optOutTagKey = options.optOutTagKey ?? 'timesync-guard:opt-out';
    const now = () => clock.now();
    this.buckets = {
      nonMutating: new SimBucket(EC2_BUCKETS.nonMutating, now),
      unfiltered: new SimBucket(EC2_BUCKETS.unfilteredNonMutating, now),
      modifyMetadata: new SimBucket(EC2_BUCKETS.modifyInstanceMetadataOptions, now),
      ssm: new SimBucket(options.ssmBucket ?? ssmBucketFromEnv(), now),
    };
    this.runStart = clock.now();
  }

  /**
   * Marks the start of a run. The first call fixes when the vanishing instances are terminated
   * (`vanishAfterMs` after it); a terminated instance stays terminated in later runs.
   */
  startRun(): void {
    this.runStart = this.clock.now();
    if (!this.terminationsFixed) {
      this.terminationsFixed = true;
      for (const x of this.fleet) if (x.vanishAfterMs !== undefined) this.terminatedAt.set(x.id, this.runStart + x.vanishAfterMs);
    }
  }
  private terminationsFixed = false;
  private readonly terminatedAt = new Map<string, number>();

  /** Virtual ms at which the instance is (or was) terminated; +∞ when never. */
  terminationTime(inst: SimInstance): number {
    if (!this.terminationsFixed) this.startRun();
    return this.terminatedAt.get(inst.id) ?? Number.POSITIVE_INFINITY;
  }

  /** True when the instance has been terminated by now. */
  isGone(inst: SimInstance): boolean {
    return this.clock.now() >= this.terminationTime(inst);
  }

  /** Mocks every SDK client the engines use. Call {@link restore} when done. */
  install(): this {
    const ec2 = mockClient(EC2Client);
    const ssm = mockClient(SSMClient);
    const events = mockClient(EventBridgeClient);
    const sns = mockClient(SNSClient);
    const cw = mockClient(CloudWatchClient);
    this.stubs = [ec2, ssm, events, sns, cw] as unknown as AnyStub[];
    for (const [stub, svc] of [[ec2, 'ec2'], [ssm, 'ssm'], [events, 'events'], [sns, 'sns'], [cw, 'cloudwatch']] as const) {
      (stub as unknown as AnyStub).onAnyCommand().callsFake((input: unknown) => {
        bump(this.stats.calls, `${svc}:unsupported`);
        throw new SimAwsError('UnsupportedOperation', `the simulated account does not implement this ${svc} call: ${JSON.stringify(input).slice(0, 200)}`);
      });
    }
    ec2.on(DescribeInstancesCommand).callsFake((i: DescribeInstancesCommandInput) => this.call('DescribeInstances', i, () => this.describeInstances(i)));
    ec2.on(ModifyInstanceMetadataOptionsCommand).callsFake((i: ModifyInstanceMetadataOptionsCommandInput) => this.call('ModifyInstanceMetadataOptions', i, () => this.modifyMetadata(i)));
    ssm.on(DescribeInstanceInformationCommand).callsFake((i: DescribeInstanceInformationCommandInput) => this.call('DescribeInstanceInformation', i, () => this.describeInstanceInformation(i)));
    ssm.on(SendCommandCommand).callsFake((i: SendCommandCommandInput) => this.call('SendCommand', i, () => this.sendCommand(i)));
    ssm.on(ListCommandsCommand).callsFake((i: ListCommandsCommandInput) => this.call('ListCommands', i, () => this.listCommands(i)));
    ssm.on(ListCommandInvocationsCommand).callsFake((i: ListCommandInvocationsCommandInput) => this.call('ListCommandInvocations', i, () => this.listCommandInvocations(i)));
    ssm.on(GetCommandInvocationCommand).callsFake((i: GetCommandInvocationCommandInput) => this.call('GetCommandInvocation', i, () => this.getCommandInvocation(i)));
    ssm.on(CancelCommandCommand).callsFake((i: CancelCommandCommandInput) => this.call('CancelCommand', i, () => this.cancelCommand(i)));
    events.on(PutEventsCommand).callsFake((i: PutEventsCommandInput) => this.call('PutEvents', i, () => this.putEvents(i)));
    sns.on(PublishCommand).callsFake((i: { Message?: string }) =>
      this.call('Publish', i, () => {
        this.notifications.push(i.Message ?? '');
        return { result: { MessageId: `sim-${this.notifications.length}` }, latency: this.lat.other };
      }),
    );
    cw.on(PutMetricDataCommand).callsFake((i: { MetricData?: unknown[] }) =>
      this.call('PutMetricData', i, () => {
        if ((i.MetricData?.length ?? 0) > 1000) throw new SimAwsError('InvalidParameterValue', 'The collection MetricData must not have a size greater than 1000.');
        return { result: {}, latency: this.lat.other };
      }),
    );
    return this;
  }

  /**
   * Answers one request by action name, exactly as the mocks do (same counters, buckets and virtual
   * latency), for a transport other than aws-sdk-client-mock: bench/wire answers the real SDK
   * clients' HTTP requests through this.
   */
  answer(action: string, input: any): Promise<unknown> { // eslint-disable-line @typescript-eslint/no-explicit-any
    const handlers: Record<string, () => { result: unknown; latency: number }> = {
      DescribeInstances: () => this.describeInstances(input),
      ModifyInstanceMetadataOptions: () => this.modifyMetadata(input),
      DescribeInstanceInformation: () => this.describeInstanceInformation(input),
      SendCommand: () => this.sendCommand(input),
      ListCommands: () => this.listCommands(input),
      ListCommandInvocations: () => this.listCommandInvocations(input),
      GetCommandInvocation: () => this.getCommandInvocation(input),
      CancelCommand: () => this.cancelCommand(input),
      PutEvents: () => this.putEvents(input),
      Publish: () => {
        this.notifications.push(input.Message ?? '');
        return { result: { MessageId: `sim-${this.notifications.length}` }, latency: this.lat.other };
      },
    };
    const h = handlers[action];
    if (!h) return Promise.reject(new SimAwsError('UnsupportedOperation', `the simulated account does not implement ${action}`));
    return this.call(action, input, h);
  }

  /** Removes the mocks. */
  restore(): void {
    for (const s of this.stubs) s.restore();
    this.stubs = [];
  }

  /** Drops the mocks' recorded call arguments (sinon keeps them all): memory that is not the engine's. */
  trimHistory(): void {
    for (const s of this.stubs) s.resetHistory();
  }

  /** Virtual ms at which the last invocation of any command so far ended (reached a terminal status). */
  lastInvocationEnd(): number | undefined {
    let last: number | undefined;
    for (const c of this.commands.values()) for (const inv of c.invocations.values()) if (last === undefined || inv.endAt > last) last = inv.endAt;
    return last;
  }

  /** Total calls over all actions. */
  totalCalls(): number {
    return Object.values(this.stats.calls).reduce((a, b) => a + b, 0);
  }

  /** Resets the counters (between phases). */
  resetStats(): void {
    for (const m of [this.stats.calls, this.stats.throttled, this.stats.errors, this.firstAt, this.lastAt]) for (const k of Object.keys(m)) delete m[k];
  }

  // -------------------------------------------------------------------------------------------

  private bucketFor(action: string, input: unknown): SimBucket | undefined {
    switch (action) {
      case 'DescribeInstances': {
        const i = input as DescribeInstancesCommandInput;
        const unfiltered = !i.Filters?.length && i.MaxResults === undefined && !i.InstanceIds?.length;
        return unfiltered ? this.buckets.unfiltered : this.buckets.nonMutating;
      }
      case 'ModifyInstanceMetadataOptions':
        return this.buckets.modifyMetadata;
      case 'DescribeInstanceInformation':
      case 'SendCommand':
      case 'ListCommands':
      case 'ListCommandInvocations':
      case 'GetCommandInvocation':
      case 'CancelCommand':
        return this.buckets.ssm;
      default:
        return undefined;
    }
  }

  /** Counts, throttles, waits the call's virtual latency, then answers (state read at answer time). */
  private async call<T>(action: string, input: unknown, answer: () => { result: T; latency: number }): Promise<T> {
    bump(this.stats.calls, action);
    const t = this.clock.now();
    if (this.firstAt[action] === undefined) this.firstAt[action] = t;
    this.lastAt[action] = t;
    const bucket = this.bucketFor(action, input);
    if (bucket && !bucket.take()) {
      bump(this.stats.throttled, action);
      await this.clock.sleep(this.lat.throttled);
      if (bucket === this.buckets.ssm) throw new SimAwsError('ThrottlingException', 'Rate exceeded');
      throw new SimAwsError('RequestLimitExceeded', 'Request limit exceeded.', 503);
    }
    let out: { result: T; latency: number };
    try {
      out = answer();
    } catch (e) {
      bump(this.stats.errors, action);
      await this.clock.sleep(this.lat.other);
      throw e;
    }
    await this.clock.sleep(out.latency);
    return out.result;
  }

  // ---------------------------------------------------------------------------- EC2

  private toEc2(inst: SimInstance): Instance {
    this.settleMetadata(inst);
    const n = Number.parseInt(inst.id.slice(-6), 16);
    const gone = this.isGone(inst);
    const tags = [{ Key: 'Name', Value: inst.name }];
    if (inst.optedOut) tags.push({ Key: this.optOutTagKey, Value: 'true' });
    return {
      InstanceId: inst.id,
      InstanceType: inst.platform === 'windows' ? 'm7i.large' : 'm7g.large',
      State: gone ? { Code: 48, Name: 'terminated' } : { Code: 16, Name: 'running' },
      // The API returns lower-case `windows` although the SDK's enum spells `Windows`.
      ...(inst.platform === 'windows' ? { Platform: 'windows' as Instance['Platform'] } : {}),
      PlatformDetails: inst.platform === 'windows' ? 'Windows' : 'Linux/UNIX',
      ...(inst.hasProfile ? { IamInstanceProfile: { Arn: `arn:aws:iam::111122223333:instance-profile/app-${n % 7}`, Id: `AIPA${n}` } } : {}),
      MetadataOptions: {
        State: inst.metadataState,
        HttpTokens: inst.httpTokens,
        HttpPutResponseHopLimit: inst.hopLimit,
        HttpEndpoint: inst.httpEndpoint,
        HttpProtocolIpv6: inst.ipv6Only ? 'enabled' : 'disabled',
        InstanceMetadataTags: 'disabled',
      },
      ...(inst.ipv6Only ? { Ipv6Address: `2600:1f18::${n.toString(16)}` } : { PrivateIpAddress: `10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}` }),
      Tags: tags,
    };
  }

  private settleMetadata(inst: SimInstance): void {
    if (inst.metadataState === 'pending' && inst.appliedAtMs !== undefined && this.clock.now() >= inst.appliedAtMs) inst.metadataState = 'applied';
  }

  private matches(inst: SimInstance, filters: DescribeInstancesCommandInput['Filters']): boolean {
    for (const f of filters ?? []) {
      const values = f.Values ?? [];
      const name = f.Name ?? '';
      let actual: string | undefined;
      if (name === 'instance-state-name') actual = this.isGone(inst) ? 'terminated' : 'running';
      else if (name === 'instance-id') actual = inst.id;
      else if (name === 'platform') actual = inst.platform === 'windows' ? 'windows' : undefined;
      else if (name === 'metadata-options.http-put-response-hop-limit') actual = String(inst.hopLimit);
      else if (name === 'metadata-options.http-endpoint') actual = inst.httpEndpoint;
      else if (name === 'metadata-options.http-tokens') actual = inst.httpTokens;
      else if (name === 'metadata-options.state') {
        this.settleMetadata(inst);
        actual = inst.metadataState;
      } else if (name === 'tag-key') {
        if (!values.some((v) => v === 'Name' || (inst.optedOut && v === this.optOutTagKey))) return false;
        continue;
      } else throw new SimAwsError('InvalidParameterValue', `The filter '${name}' is invalid (not modelled by the simulator)`);
      if (actual === undefined || !values.includes(actual)) return false;
    }
    return true;
  }

  private describeInstances(i: DescribeInstancesCommandInput): { result: object; latency: number } {
    if (i.InstanceIds?.length && i.MaxResults !== undefined) {
      throw new SimAwsError('InvalidParameterCombination', 'The parameter instancesSet cannot be used with the parameter maxResults');
    }
    if (i.MaxResults !== undefined && (i.MaxResults < 5 || i.MaxResults > 1000)) {
      throw new SimAwsError('InvalidParameterValue', `Value ( ${i.MaxResults} ) for parameter maxResults is invalid. Expecting a value between 5 and 1000.`);
    }
    let selected: SimInstance[];
    let next: string | undefined;
    if (i.InstanceIds?.length) {
      const unknown = i.InstanceIds.filter((id) => !this.byId.has(id));
      if (unknown.length) throw new SimAwsError('InvalidInstanceID.NotFound', `The instance IDs '${unknown.join(', ')}' do not exist`);
      selected = i.InstanceIds.map((id) => this.byId.get(id)!).filter((x) => this.matches(x, i.Filters));
    } else {
      const size = i.MaxResults ?? 1000;
      const p = indexedPage(this.sortedIds, i.NextToken, size, (id) => {
        const x = this.byId.get(id)!;
        return this.matches(x, i.Filters) ? x : undefined;
      });
      selected = p.page;
      next = p.next;
    }
    const instances = selected.map((x) => this.toEc2(x));
    const reservations = [];
    for (let k = 0; k < instances.length; k += 10) reservations.push({ ReservationId: `r-${k}`, OwnerId: '111122223333', Instances: instances.slice(k, k + 10) });
    return {
      result: { Reservations: reservations, ...(next ? { NextToken: next } : {}) },
      latency: this.lat.describeInstancesBase + this.lat.describeInstancesPerItem * instances.length,
    };
  }

  private modifyMetadata(i: ModifyInstanceMetadataOptionsCommandInput): { result: object; latency: number } {
    const inst = i.InstanceId ? this.byId.get(i.InstanceId) : undefined;
    if (!inst) throw new SimAwsError('InvalidInstanceID.NotFound', `The instance ID '${i.InstanceId}' does not exist`);
    if (this.isGone(inst)) throw new SimAwsError('IncorrectInstanceState', `The instance '${inst.id}' is not in a state from which it can be modified.`);
    const hop = i.HttpPutResponseHopLimit;
    if (hop !== undefined && (!Number.isInteger(hop) || hop < 1 || hop > 64)) {
      throw new SimAwsError('InvalidParameterValue', `The HttpPutResponseHopLimit '${hop}' is not valid. Specify a value from 1 to 64.`);
    }
    if (i.DryRun) throw new SimAwsError('DryRunOperation', 'Request would have succeeded, but DryRun flag is set.', 412);
    if (hop !== undefined) {
      if (hop < inst.hopLimit) this.lowered++;
      inst.hopLimit = hop;
    }
    if (i.HttpEndpoint) inst.httpEndpoint = i.HttpEndpoint;
    if (i.HttpTokens) inst.httpTokens = i.HttpTokens;
    inst.metadataState = 'pending';
    inst.appliedAtMs = this.clock.now() + this.lat.other + this.rc.metadataApplyMs;
    this.modified.set(inst.id, (this.modified.get(inst.id) ?? 0) + 1);
    return {
      result: {
        InstanceId: inst.id,
        InstanceMetadataOptions: { State: 'pending', HttpTokens: inst.httpTokens, HttpPutResponseHopLimit: inst.hopLimit, HttpEndpoint: inst.httpEndpoint },
      },
      latency: this.lat.other,
    };
  }

  // ---------------------------------------------------------------------------- SSM inventory

  private describeInstanceInformation(i: DescribeInstanceInformationCommandInput): { result: object; latency: number } {
    const size = i.MaxResults ?? 10;
    if (size < 5 || size > 50) {
      throw Object.assign(new SimAwsError('ValidationException', `1 validation error detected: Value '${size}' at 'maxResults' failed to satisfy constraint: Member must have value less than or equal to 50`));
    }
    let ping: string[] | undefined;
    let platforms: string[] | undefined;
    let ids: string[] | undefined;
    for (const f of i.Filters ?? []) {
      if (f.Key === 'PingStatus') ping = f.Values;
      else if (f.Key === 'PlatformTypes') platforms = f.Values;
      else if (f.Key === 'InstanceIds') ids = f.Values;
      else if (f.Key === 'ResourceType') continue;
      else throw new InvalidFilterKey({ message: `The filter key ${f.Key} is not valid (not modelled by the simulator)`, ...ssmMeta });
    }
    for (const f of i.InstanceInformationFilterList ?? []) {
      if (f.key === 'PingStatus') ping = f.valueSet;
      else if (f.key === 'PlatformTypes') platforms = f.valueSet;
      else if (f.key === 'InstanceIds') ids = f.valueSet;
      else throw new InvalidFilterKey({ message: `The filter key ${f.key} is not valid (not modelled by the simulator)`, ...ssmMeta });
    }
    const keep = (id: string): { x: SimInstance; status: string } | undefined => {
      const x = this.byId.get(id);
      if (!x || x.ssm === 'unmanaged') return undefined;
      const status = x.ssm === 'Online' && !this.isGone(x) ? 'Online' : 'ConnectionLost';
      if (ping && !ping.includes(status)) return undefined;
      if (platforms && !platforms.includes(x.platform === 'windows' ? 'Windows' : 'Linux')) return undefined;
      return { x, status };
    };
    // An InstanceIds filter walks only the ids asked for; otherwise the managed-node index from the token on.
    const p = ids ? indexedPage([...new Set(ids)].sort(), i.NextToken, size, keep) : indexedPage(this.sortedManaged, i.NextToken, size, keep);
    return {
      result: {
        InstanceInformationList: p.page.map(({ x, status }) => ({
          InstanceId: x.id,
          PingStatus: status,
          LastPingDateTime: new Date(this.clock.now() - (status === 'Online' ? 60_000 : 3_600_000)),
          AgentVersion: '3.3.1142.0',
          IsLatestVersion: false,
          PlatformType: x.platform === 'windows' ? 'Windows' : 'Linux',
          PlatformName: x.platform === 'windows' ? 'Microsoft Windows Server 2022 Datacenter' : 'Amazon Linux',
          PlatformVersion: x.platform === 'windows' ? '10.0.20348' : '2023',
          ResourceType: 'EC2Instance',
          ComputerName: `${x.name}.ec2.internal`,
          IPAddress: x.ipv6Only ? undefined : '10.0.0.1',
        })),
        ...(p.next ? { NextToken: p.next } : {}),
      },
      latency: this.lat.ssmListPage,
    };
  }

  // ---------------------------------------------------------------------------- Run Command

  private kindOf(doc: string, params: Record<string, string[]>): DocumentKind {
    const k = this.documents[doc];
    if (k) return k;
    if (doc === 'AWS-RunShellScript' || doc === 'AWS-RunPowerShellScript') {
      return (params['commands'] ?? []).join('\n').includes('TSG-REMEDIATE') ? 'remediate' : 'collect';
    }
    throw new SimAwsError('InvalidDocument', `Document ${doc} does not exist in your account`);
  }

  private sendCommand(i: SendCommandCommandInput): { result: object; latency: number } {
    if (i.Targets?.length) throw new SimAwsError('ValidationException', 'the simulator models SendCommand by InstanceIds only');
    const ids = i.InstanceIds ?? [];
    if (ids.length === 0) throw new SimAwsError('ValidationException', 'InstanceIds or Targets must be specified');
    if (ids.length > 50) {
      throw new SimAwsError('ValidationException', `1 validation error detected: Value '[${ids.slice(0, 3).join(', ')}, …]' at 'instanceIds' failed to satisfy constraint: Member must have length less than or equal to 50`);
    }
    if (!i.DocumentName) throw new SimAwsError('ValidationException', 'DocumentName must be specified');
    const invalid = ids.filter((id) => {
      const x = this.byId.get(id);
      return !x || x.ssm === 'unmanaged' || this.isGone(x);
    });
    if (invalid.length) throw new InvalidInstanceId({ message: `Instances [[${invalid.join(', ')}]] not in a valid state for account 111122223333`, ...ssmMeta });
    const params = (i.Parameters ?? {}) as Record<string, string[]>;
    const kind = this.kindOf(i.DocumentName, params);
    const dryRun = (params['DryRun']?.[0] ?? 'false').toLowerCase() === 'true';
    const timeoutSeconds = i.TimeoutSeconds ?? 3600;
    const execTimeoutMs = params['executionTimeout']?.[0] ? Number(params['executionTimeout'][0]) * 1000 : this.rc.defaultExecutionTimeoutMs;
    const maxConcurrency = i.MaxConcurrency ?? '50';
    const maxErrors = i.MaxErrors ?? '0';
    const mc = Math.max(1, percentOrCount(maxConcurrency, ids.length, 50));
    const me = percentOrCount(maxErrors, ids.length, 0);
    const t0 = this.clock.now() + this.lat.other;
    const invocations = new Map<string, Invocation>();
    const inFlight: number[] = [];
    let failures = 0;
    let stopAt = Number.POSITIVE_INFINITY;
    ids.forEach((id, k) => {
      const x = this.byId.get(id)!;
      // Ramp: wave w opens at t0 + w × round and admits up to 2^(w+1) − 1 invocations in total.
      const wave = Math.floor(Math.log2(k + 1));
      const rampStart = t0 + wave * this.rc.rampRoundMs;
      // Concurrency: a new invocation waits for the earliest of the in-flight ones to finish.
      let slotFree = t0;
      if (inFlight.length >= mc) {
        inFlight.sort((a, b) => a - b);
        slotFree = inFlight.shift()!;
      }
      const startAt = Math.max(rampStart, slotFree);
      if (startAt > stopAt) {
        invocations.set(id, { instanceId: id, startAt: stopAt, endAt: stopAt, terminal: 'Cancelled', terminalDetails: 'Terminated', responseCode: -1, output: '' });
        return;
      }
      let inv: Invocation;
      const vanishAt = this.terminationTime(x);
      if (x.ssm === 'ConnectionLost') {
        inv = { instanceId: id, startAt, endAt: t0 + timeoutSeconds * 1000, terminal: 'TimedOut', terminalDetails: 'DeliveryTimedOut', responseCode: -1, output: '' };
      } else if (vanishAt <= startAt + (x.guestMs ?? this.rc.guestMs)) {
        inv = { instanceId: id, startAt, endAt: Math.max(startAt, vanishAt), terminal: 'Failed', terminalDetails: 'Undeliverable', responseCode: -1, output: '' };
      } else if (x.guest === 'times-out') {
        inv = { instanceId: id, startAt, endAt: startAt + execTimeoutMs, terminal: 'TimedOut', terminalDetails: 'ExecutionTimedOut', responseCode: -1, output: '' };
      } else if (kind === 'collect') {
        const endAt = startAt + (x.guestMs ?? this.rc.guestMs);
        const report = collectorReport(x, Math.floor(endAt / 1000));
        const fails = x.guest === 'fails';
        inv = { instanceId: id, startAt, endAt, terminal: fails ? 'Failed' : 'Success', terminalDetails: fails ? 'Failed' : 'Success', responseCode: fails ? 1 : 0, output: report };
      } else {
        const endAt = startAt + this.rc.guestMs;
        const r = x.guest === 'garbled' ? { output: 'sh: 1: cannot create /tmp/x: Read-only file system\n', exitCode: 2 } : remediationOutput(x, dryRun);
        inv = { instanceId: id, startAt, endAt, terminal: r.exitCode === 0 ? 'Success' : 'Failed', terminalDetails: r.exitCode === 0 ? 'Success' : 'Failed', responseCode: r.exitCode, output: r.output };
      }
      if (inv.terminal !== 'Success' && inv.terminalDetails !== 'Undeliverable') {
        failures++;
        if (failures > me && inv.endAt < stopAt) stopAt = inv.endAt;
      }
      invocations.set(id, inv);
      inFlight.push(inv.endAt);
    });
    const commandId = `${(++this.commandSeq).toString(16).padStart(8, '0')}-0000-4000-8000-${this.commandSeq.toString(16).padStart(12, '0')}`;
    const cmd: SimCommand = {
      commandId,
      documentName: i.DocumentName,
      parameters: params,
      requestedAt: this.clock.now(),
      instanceIds: [...ids],
      maxConcurrency,
      maxErrors,
      timeoutSeconds,
      invocations,
    };
    this.commands.set(commandId, cmd);
    return { result: { Command: this.commandView(cmd) }, latency: this.lat.other };
  }

  private invStatus(inv: Invocation, cmd: SimCommand): { status: InvStatus; details: string } {
    const t = this.clock.now();
    if (cmd.cancelledAt !== undefined && cmd.cancelledAt < inv.endAt && t >= cmd.cancelledAt && (!cmd.cancelledIds || cmd.cancelledIds.has(inv.instanceId))) return { status: 'Cancelled', details: 'Cancelled' };
    if (t >= inv.endAt) return { status: inv.terminal, details: inv.terminalDetails };
    if (t >= inv.startAt) return { status: 'InProgress', details: 'InProgress' };
    return { status: 'Pending', details: 'Pending' };
  }

  private commandView(cmd: SimCommand): object {
    let done = 0;
    let errors = 0;
    let timedOut = 0;
    let started = 0;
    let cancelled = 0;
    for (const inv of cmd.invocations.values()) {
      const s = this.invStatus(inv, cmd).status;
      if (s !== 'Pending') started++;
      if (s === 'Success' || s === 'Failed' || s === 'TimedOut' || s === 'Cancelled') done++;
      if (s === 'Failed' || s === 'TimedOut') errors++;
      if (s === 'TimedOut') timedOut++;
      if (s === 'Cancelled') cancelled++;
    }
    const n = cmd.invocations.size;
    const status = done < n ? (started === 0 ? 'Pending' : 'InProgress') : cancelled > 0 && cmd.cancelledAt !== undefined ? 'Cancelled' : errors > 0 ? (timedOut === errors ? 'TimedOut' : 'Failed') : 'Success';
    return {
      CommandId: cmd.commandId,
      DocumentName: cmd.documentName,
      Parameters: cmd.parameters,
      InstanceIds: cmd.instanceIds,
      RequestedDateTime: new Date(cmd.requestedAt),
      Status: status,
      StatusDetails: status,
      MaxConcurrency: cmd.maxConcurrency,
      MaxErrors: cmd.maxErrors,
      TimeoutSeconds: cmd.timeoutSeconds,
      TargetCount: n,
      CompletedCount: done,
      ErrorCount: errors,
      DeliveryTimedOutCount: [...cmd.invocations.values()].filter((v) => v.terminalDetails === 'DeliveryTimedOut' && this.clock.now() >= v.endAt).length,
    };
  }

  private command(id: string | undefined): SimCommand {
    const c = id ? this.commands.get(id) : undefined;
    if (!c) throw new InvalidCommandId({ message: `Command ${id} not found`, ...ssmMeta });
    return c;
  }

  private listCommands(i: ListCommandsCommandInput): { result: object; latency: number } {
    const size = i.MaxResults ?? 50;
    if (size < 1 || size > 50) throw new SimAwsError('ValidationException', `Value '${size}' at 'maxResults' failed to satisfy constraint: Member must have value less than or equal to 50`);
    let cmds: SimCommand[];
    if (i.CommandId) cmds = [this.command(i.CommandId)];
    else cmds = [...this.commands.values()];
    for (const f of i.Filters ?? []) {
      const v = f.value ?? '';
      if (f.key === 'InvokedAfter') cmds = cmds.filter((c) => c.requestedAt >= Date.parse(v));
      else if (f.key === 'InvokedBefore') cmds = cmds.filter((c) => c.requestedAt <= Date.parse(v));
      else if (f.key === 'DocumentName') cmds = cmds.filter((c) => c.documentName === v);
      else if (f.key === 'Status') cmds = cmds.filter((c) => (this.commandView(c) as { Status: string }).Status === v);
      else throw new SimAwsError('InvalidFilterKey', `filter ${f.key} not modelled by the simulator`);
    }
    const p = pageAfter(cmds, (c) => c.commandId, i.NextToken, size);
    return { result: { Commands: p.page.map((c) => this.commandView(c)), ...(p.next ? { NextToken: p.next } : {}) }, latency: this.lat.ssmListPage };
  }

  private listCommandInvocations(i: ListCommandInvocationsCommandInput): { result: object; latency: number } {
    const size = i.MaxResults ?? 50;
    if (size < 1 || size > 50) throw new SimAwsError('ValidationException', `Value '${size}' at 'maxResults' failed to satisfy constraint: Member must have value less than or equal to 50`);
    const cmds = i.CommandId ? [this.command(i.CommandId)] : [...this.commands.values()];
    const rows: { cmd: SimCommand; inv: Invocation; key: string }[] = [];
    for (const cmd of cmds) {
      for (const inv of cmd.invocations.values()) {
        if (i.InstanceId && inv.instanceId !== i.InstanceId) continue;
        rows.push({ cmd, inv, key: `${cmd.commandId}/${inv.instanceId}` });
      }
    }
    rows.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    const p = pageAfter(rows, (r) => r.key, i.NextToken, size);
    const plugin = (cmd: SimCommand) => (cmd.documentName.includes('PowerShell') ? 'aws:runPowerShellScript' : 'aws:runShellScript');
    return {
      result: {
        CommandInvocations: p.page.map(({ cmd, inv }) => {
          const { status, details } = this.invStatus(inv, cmd);
          const terminal = status !== 'Pending' && status !== 'InProgress';
          return {
            CommandId: cmd.commandId,
            InstanceId: inv.instanceId,
            DocumentName: cmd.documentName,
            RequestedDateTime: new Date(cmd.requestedAt),
            Status: status,
            StatusDetails: details,
            ...(i.Details
              ? {
                  CommandPlugins: [
                    {
                      Name: plugin(cmd),
                      Status: status,
                      StatusDetails: details,
                      ResponseCode: terminal ? inv.responseCode : -1,
                      ...(status !== 'Pending' ? { ResponseStartDateTime: new Date(inv.startAt) } : {}),
                      ...(terminal ? { ResponseFinishDateTime: new Date(inv.endAt) } : {}),
                      // The Details cap: only the first 2,500 characters of stdout.
                      Output: terminal ? inv.output.slice(0, DETAILS_OUTPUT_CAP) : '',
                    },
                  ],
                }
              : {}),
          };
        }),
        ...(p.next ? { NextToken: p.next } : {}),
      },
      latency: this.lat.ssmListPage,
    };
  }

  private getCommandInvocation(i: GetCommandInvocationCommandInput): { result: object; latency: number } {
    const cmd = this.commands.get(i.CommandId ?? '');
    const inv = cmd?.invocations.get(i.InstanceId ?? '');
    if (!cmd || !inv) throw new InvocationDoesNotExist({ message: 'An error occurred (InvocationDoesNotExist)', ...ssmMeta });
    const { status, details } = this.invStatus(inv, cmd);
    const terminal = status !== 'Pending' && status !== 'InProgress';
    return {
      result: {
        CommandId: cmd.commandId,
        InstanceId: inv.instanceId,
        DocumentName: cmd.documentName,
        Status: status,
        StatusDetails: details,
        ResponseCode: terminal ? inv.responseCode : -1,
        StandardOutputContent: terminal ? inv.output.slice(0, GET_OUTPUT_CAP) : '',
        StandardErrorContent: '',
        ...(status !== 'Pending' ? { ExecutionStartDateTime: new Date(inv.startAt).toISOString() } : {}),
        ...(terminal ? { ExecutionEndDateTime: new Date(inv.endAt).toISOString() } : {}),
      },
      latency: this.lat.other,
    };
  }

  private cancelCommand(i: CancelCommandCommandInput): { result: object; latency: number } {
    const cmd = this.command(i.CommandId);
    if (cmd.cancelledAt === undefined) {
      cmd.cancelledAt = this.clock.now();
      if (i.InstanceIds?.length) cmd.cancelledIds = new Set(i.InstanceIds);
    }
    return { result: {}, latency: this.lat.other };
  }

  // ---------------------------------------------------------------------------- EventBridge

  private putEvents(i: PutEventsCommandInput): { result: object; latency: number } {
    const entries = i.Entries ?? [];
    if (entries.length < 1 || entries.length > 10) {
      throw new SimAwsError('ValidationException', `1 validation error detected: Value at 'entries' failed to satisfy constraint: Member must have length less than or equal to 10`);
    }
    for (const e of entries) {
      bump(this.eventsByType, e.DetailType ?? '');
      this.eventDetailBytes += (e.Detail ?? '').length;
    }
    this.eventCount += entries.length;
    return { result: { FailedEntryCount: 0, Entries: entries.map((_, k) => ({ EventId: `sim-${this.eventCount - entries.length + k}` })) }, latency: this.lat.other };
  }
}
