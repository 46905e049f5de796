/**
 * A simulated AWS account behind aws-sdk-client-mock, shared by the benchmark and the tests: the
 * state every service reads (the fleet's instances, virtual clock, token buckets, Run Command and
 * audit state), call dispatch (count, throttle, charge virtual latency, answer) and the mocks.
 * Each service lives in its own module with its handlers and limits (ec2.ts, ssm.ts, events.ts)
 * and is listed once in {@link SERVICES}; the limits are those of the team's shared reference aws-limits.md.
 *
 * Because aws-sdk-client-mock replaces `Client.prototype.send`, every client instance the engines
 * create (module-level or their own) talks to this account, and SDK middleware (including its
 * retries) is bypassed: throttling reaches the engine's own retry layer, as intended.
 *
 * Assumptions are numbered A1… and listed in bench/README.md.
 */
import { mockClient, type AwsStub } from 'aws-sdk-client-mock';
import type { MetadataBearer } from '@smithy/types';
import { EC2_SERVICE } from './ec2';
import { SimCloudWatch, type SimCloudWatchAccountOptions } from './cloudwatch';
import { CLOUDWATCH_SERVICE, EVENTBRIDGE_SERVICE, SNS_SERVICE, type SimEventsOptions } from './events';
import type { SimInstance } from './fleet';
import { bump, DEFAULT_LATENCIES, DEFAULT_RUN_COMMAND_MODEL, SimAwsError, SimBucket, type BucketSpec, type Latencies, type RunCommandModel, type SimClock } from './primitives';
import { SSM_SERVICE, type SimCommand, type SimSsmOptions } from './ssm';
import { SECURITYHUB_SERVICE, type SimSecurityHubOptions } from './securityhub';
import { IAM_SERVICE, type SimCoverageOptions } from './coverage';
import { CLOUDTRAIL_SERVICE, LOGS_SERVICE, type SimCloudTrailOptions } from './cloudtrail';

export { DEFAULT_LATENCIES, DEFAULT_RUN_COMMAND_MODEL, NO_LATENCY, percentOrCount, SimAwsError, SimBucket, type BucketSpec, type Latencies, type RunCommandModel, type SimClock } from './primitives';
export { EC2_BUCKETS } from './ec2';
export { DEFAULT_SSM_BUCKET, deliveryMakespanMs, DETAILS_OUTPUT_CAP, GET_OUTPUT_CAP, SSM_BUCKET_ENV, ssmBucketFromEnv } from './ssm';

type AnyStub = AwsStub<object, MetadataBearer, object>;

// ---------------------------------------------------------------------------------------------
// Service registration

/** One request answered: the response and its virtual latency in ms. */
export interface SimAnswer {
  readonly result: unknown;
  readonly latency: number;
}

/** One API action of a simulated service. */
export interface SimAction {
  /** The SDK command class the mock answers (e.g. `DescribeInstancesCommand`). */
  readonly command: abstract new (...args: never[]) => unknown;
  /** Answers from the account's state at answer time; throws a {@link SimAwsError} (or the SDK's exception class) to refuse. */
  answer(account: SimAccount, input: any): SimAnswer; // eslint-disable-line @typescript-eslint/no-explicit-any
  /** The service bucket (a key of {@link SimService.buckets}) this request takes a token from; none = never throttled. */
  bucket?(input: any): string; // eslint-disable-line @typescript-eslint/no-explicit-any
}

/**
 * A simulated AWS service: its SDK client, its actions, its token buckets. To add one, write a
 * module exporting a `SimService` and list it in {@link SERVICES}; to add an action to a service,
 * add a row to its `actions`.
 */
export interface SimService {
  /** Prefix of its counter for calls the simulation does not implement (`ec2:unsupported`). */
  readonly name: string;
  /** The SDK client class to mock. */
  readonly client: abstract new (...args: never[]) => unknown;
  /** Action name (as the wire protocol spells it) → its handler. Names are unique across services. */
  readonly actions: Readonly<Record<string, SimAction>>;
  /** The service's token buckets, created full when the account is. @default none */
  buckets?(options: SimAccountOptions): Readonly<Record<string, BucketSpec>>;
  /** The error an empty bucket gives. @default RequestLimitExceeded */
  throttled?(): Error;
}

/** Every simulated service; the one place a new service is registered. */
export const SERVICES: readonly SimService[] = [EC2_SERVICE, SSM_SERVICE, EVENTBRIDGE_SERVICE, SNS_SERVICE, CLOUDWATCH_SERVICE, SECURITYHUB_SERVICE, IAM_SERVICE, CLOUDTRAIL_SERVICE, LOGS_SERVICE];

// ---------------------------------------------------------------------------------------------
// The account

/** Which script a document runs. */
export type DocumentKind = 'collect' | 'remediate';

/** Options of {@link SimAccount}; a service's own options are declared in its module. */
export interface SimAccountOptions extends SimSsmOptions, SimEventsOptions, SimCloudWatchAccountOptions, SimSecurityHubOptions, SimCoverageOptions, SimCloudTrailOptions {
  readonly ssmBucket?: BucketSpec;
  readonly latencies?: Partial<Latencies>;
  readonly runCommand?: Partial<RunCommandModel>;
  /** Tag key of the opt-out tag. @default DEFAULTS.optOutTagKey */
  readonly optOutTagKey?: string;
  /** Document name → kind. AWS-RunShellScript/AWS-RunPowerShellScript are classified by their commands. */
  readonly documents?: Readonly<Record<string, DocumentKind>>;
  /**
   * Errors to throw, in order, from the next requests of an action (by action name), before its
   * bucket is consulted; each is thrown once (tests). @default none
   */
  readonly failures?: Readonly<Record<string, readonly Error[]>>;
  /**
   * Throttles chosen requests before the bucket is consulted: `index` counts that action's
   * requests from 0 (tests). @default none
   */
  throttle?(action: string, input: any, index: number): boolean; // eslint-disable-line @typescript-eslint/no-explicit-any
  /** Which resource IAM's SendCommand denial names: the instance, the document, or none. @default 'instance' */
  readonly deniedResource?: 'instance' | 'document' | 'none';
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

/**
 * The simulated account. `install()` mocks every registered service's SDK client; `restore()`
 * undoes it. Counters in {@link SimAccount.stats}; the fleet's instances are mutated by the
 * simulated APIs. Fields marked "service state" are read and written by the service modules.
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

  // Service state (read by the service modules; not part of the account's public API).
  readonly byId = new Map<string, SimInstance>();
  readonly sortedIds: string[];
  /** Managed nodes (Online or ConnectionLost) in id order: DescribeInstanceInformation's listing, built once. */
  readonly sortedManaged: string[];
  readonly lat: Latencies;
  readonly rc: RunCommandModel;
  readonly documents: Readonly<Record<string, DocumentKind>>;
  readonly optOutTagKey: string;
  /** Last command number issued (SSM command ids). */
  commandSeq = 0;
  readonly deniedResource: 'instance' | 'document' | 'none';
  /** CloudWatch's per-instance IMDS metrics (sim/cloudwatch.ts); every instance launched `launchedAtMs` (default 90 days before the account). */
  readonly cloudwatch: SimCloudWatch;
  /** LaunchTime of an instance without `launchedAtMs`. */
  readonly defaultLaunchMs: number;

  /** Action name → its service and handler. */
  private readonly actions = new Map<string, { service: SimService; action: SimAction }>();
  /** `service:bucket` → bucket. */
  private readonly buckets = new Map<string, SimBucket>();
  private readonly failures = new Map<string, Error[]>();
  private readonly throttle: SimAccountOptions['throttle'];
  private runStart: number;
  private stubs: AnyStub[] = [];

  constructor(
    readonly fleet: SimInstance[],
    readonly clock: SimClock,
    /** As given; the service modules read their own options here. */
    readonly options: SimAccountOptions = {},
  ) {
    for (const i of fleet) this.byId.set(i.id, i);
    this.sortedIds = [...this.byId.keys()].sort();
    this.sortedManaged = this.sortedIds.filter((id) => this.byId.get(id)!.ssm !== 'unmanaged');
    this.lat = { ...DEFAULT_LATENCIES, ...options.latencies };
    this.rc = { ...DEFAULT_RUN_COMMAND_MODEL, ...options.runCommand };
    this.documents = { 'TimeSyncGuard-Collect': 'collect', 'TimeSyncGuard-Remediate': 'remediate', 'TimeSyncGuard-Remediate-Windows': 'remediate', ...options.documents };
    this.optOutTagKey = options.optOutTagKey ?? 'timesync-guard:opt-out';
    this.deniedResource = options.deniedResource ?? 'instance';
    this.throttle = options.throttle;
    for (const [name, errors] of Object.entries(options.failures ?? {})) this.failures.set(name, [...errors]);
    const now = () => clock.now();
    for (const service of SERVICES) {
      for (const [name, spec] of Object.entries(service.buckets?.(options) ?? {})) this.buckets.set(`${service.name}:${name}`, new SimBucket(spec, now));
      for (const [name, action] of Object.entries(service.actions)) {
        if (this.actions.has(name)) throw new Error(`simulated action ${name} is registered twice`);
        this.actions.set(name, { service, action });
      }
    }
    this.runStart = clock.now();
    this.defaultLaunchMs = clock.now() - 90 * 86_400_000;
    this.cloudwatch = new SimCloudWatch(clock, {
      requestsPerSecond: Number.POSITIVE_INFINITY,
      ...(options.metricPageDatapoints !== undefined ? { pageDatapoints: options.metricPageDatapoints } : {}),
      implicitLaunch: (id) => (this.byId.has(id) ? (this.byId.get(id)!.launchedAtMs ?? this.defaultLaunchMs) : undefined),
    });
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

  /** Mocks every registered service's SDK client. Call {@link restore} when done. */
  install(): this {
    const stubs = new Map<SimService, AnyStub>();
    for (const service of SERVICES) {
      const stub = mockClient(service.client as never) as unknown as AnyStub;
      stubs.set(service, stub);
      stub.onAnyCommand().callsFake((input: unknown) => {
        bump(this.stats.calls, `${service.name}:unsupported`);
        throw new SimAwsError('UnsupportedOperation', `the simulated account does not implement this ${service.name} call: ${JSON.stringify(input).slice(0, 200)}`);
      });
    }
    for (const [name, { service, action }] of this.actions) {
      stubs.get(service)!.on(action.command as never).callsFake((input: unknown) => this.answer(name, input));
    }
    this.stubs = [...stubs.values()];
    return this;
  }

  /**
   * Answers one request by action name: what the mocks do (same counters, buckets and virtual
   * latency), also for a transport other than aws-sdk-client-mock: bench/wire answers the real SDK
   * clients' HTTP requests through this.
   */
  answer(action: string, input: any): Promise<unknown> { // eslint-disable-line @typescript-eslint/no-explicit-any
    const entry = this.actions.get(action);
    if (!entry) return Promise.reject(new SimAwsError('UnsupportedOperation', `the simulated account does not implement ${action}`));
    return this.call(entry.service, action, input, entry.action);
  }

  /** The mock of one service's SDK client (for aws-sdk-client-mock-jest's matchers); install first. */
  stub(client: abstract new (...args: never[]) => unknown): AnyStub {
    const k = SERVICES.findIndex((svc) => svc.client === client);
    const stub = this.stubs[k];
    if (!stub) throw new Error('no installed mock for this client');
    return stub;
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

  /** Counts, throttles, waits the call's virtual latency, then answers (state read at answer time). */
  private async call(service: SimService, name: string, input: unknown, action: SimAction): Promise<unknown> {
    bump(this.stats.calls, name);
    const t = this.clock.now();
    if (this.firstAt[name] === undefined) this.firstAt[name] = t;
    this.lastAt[name] = t;
    const bucketName = action.bucket?.(input);
    const bucket = bucketName === undefined ? undefined : this.buckets.get(`${service.name}:${bucketName}`);
    if (bucketName !== undefined && !bucket) throw new Error(`${name} takes from bucket ${bucketName}, which ${service.name} does not declare`);
    const failure = this.failures.get(name)?.shift();
    if (failure) {
      bump(this.stats.errors, name);
      throw failure;
    }
    if (this.throttle?.(name, input, this.stats.calls[name]! - 1) || (bucket && !bucket.take())) {
      bump(this.stats.throttled, name);
      // A5: a throttled call fails fast. With no throttle latency (tests) it fails at once: a zero
      // sleep would still yield and reorder concurrent callers' retries against the bucket.
      if (this.lat.throttled > 0) await this.clock.sleep(this.lat.throttled);
      throw service.throttled?.() ?? new SimAwsError('RequestLimitExceeded', 'Request limit exceeded.', 503);
    }
    let out: SimAnswer;
    try {
      out = action.answer(this, input);
    } catch (e) {
      bump(this.stats.errors, name);
      await this.clock.sleep(this.lat.other);
      throw e;
    }
    await this.clock.sleep(out.latency);
    return out.result;
  }
}
