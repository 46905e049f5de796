/**
 * The simulated account's EC2 instance metadata defaults (account level, one region):
 * `GetInstanceMetadataDefaults` and `ModifyInstanceMetadataDefaults`, validated as EC2 documents
 * them (hop limit 1–64 or -1 for no preference; `no-preference` clears a field), including an account
 * whose defaults an AWS Organizations EC2 declarative policy manages: it reports
 * `ManagedBy: declarative-policy` with the policy's exception message and refuses every write.
 *
 * A15 (bench/README.md): the refusal's error code is not documented; the simulator answers
 * `UnauthorizedOperation` carrying the policy's exception message. A change is visible to the next read.
 *
 * Registered as two rows of EC2_SERVICE (sim/ec2.ts). Each SimAccount has one state, an account-managed
 * one with no preference set unless a test gives another ({@link setMetadataDefaults}).
 */
import {
  GetInstanceMetadataDefaultsCommand,
  type GetInstanceMetadataDefaultsResult,
  ModifyInstanceMetadataDefaultsCommand,
  type ModifyInstanceMetadataDefaultsCommandInput,
  type ModifyInstanceMetadataDefaultsResult,
} from '@aws-sdk/client-ec2';
import type { AwsStub } from 'aws-sdk-client-mock';
import type { MetadataBearer } from '@smithy/types';
import type { SimAccount, SimAction } from './account';
import { SimAwsError } from './primitives';

/** The account's defaults (fields absent = no preference). */
export interface SimDefaults {
  httpTokens?: 'optional' | 'required';
  hopLimit?: number;
  httpEndpoint?: 'enabled' | 'disabled';
  instanceMetadataTags?: 'enabled' | 'disabled';
  managedBy: 'account' | 'declarative-policy';
  managedExceptionMessage?: string;
}

export interface SimMetadataDefaultsOptions {
  /** The first N reads fail with this error (e.g. `UnauthorizedOperation`, `RequestLimitExceeded`). */
  readonly failReads?: { readonly count: number; readonly code: string; readonly status?: number };
  /** Virtual latency of each call, ms. @default 100 */
  readonly latencyMs?: number;
  /** Accepted writes take effect only after this many further reads (eventual consistency). @default 0 */
  readonly applyAfterReads?: number;
}

type Answer<T> = { result: T; latency: number };

/** The simulated defaults; wire it to an EC2 mock with {@link SimMetadataDefaults.attach}. */
export class SimMetadataDefaults {
  readonly calls = { get: 0, modify: 0 };
  /** Every Modify request received, accepted or not. */
  readonly modifyRequests: ModifyInstanceMetadataDefaultsCommandInput[] = [];
  /** Writes that lowered the hop-limit default (must stay 0 for this product). */
  lowered = 0;
  private failuresLeft: number;
  private pending?: { state: SimDefaults; readsLeft: number };

  constructor(
    public state: SimDefaults,
    private readonly options: SimMetadataDefaultsOptions = {},
  ) {
    this.failuresLeft = options.failReads?.count ?? 0;
  }

  /** An account managed by a declarative policy that assigns these values. */
  static policyManaged(values: Omit<SimDefaults, 'managedBy'>, exceptionMessage: string): SimMetadataDefaults {
    return new SimMetadataDefaults({ ...values, managedBy: 'declarative-policy', managedExceptionMessage: exceptionMessage });
  }

  get(): Answer<GetInstanceMetadataDefaultsResult> {
    this.calls.get++;
    if (this.failuresLeft > 0) {
      this.failuresLeft--;
      const f = this.options.failReads!;
      throw new SimAwsError(f.code, `simulated ${f.code}`, f.status ?? 400);
    }
    if (this.pending && this.pending.readsLeft-- <= 0) {
      this.state = this.pending.state;
      this.pending = undefined;
    }
    const s = this.state;
    return {
      result: {
        AccountLevel: {
          ...(s.httpTokens ? { HttpTokens: s.httpTokens } : {}),
          ...(s.hopLimit !== undefined ? { HttpPutResponseHopLimit: s.hopLimit } : {}),
          ...(s.httpEndpoint ? { HttpEndpoint: s.httpEndpoint } : {}),
          ...(s.instanceMetadataTags ? { InstanceMetadataTags: s.instanceMetadataTags } : {}),
          ManagedBy: s.managedBy,
          ...(s.managedExceptionMessage ? { ManagedExceptionMessage: s.managedExceptionMessage } : {}),
        },
      },
      latency: this.options.latencyMs ?? 100,
    };
  }

  modify(input: ModifyInstanceMetadataDefaultsCommandInput): Answer<ModifyInstanceMetadataDefaultsResult> {
    this.calls.modify++;
    this.modifyRequests.push({ ...input });
    if (this.state.managedBy === 'declarative-policy') {
      throw new SimAwsError('UnauthorizedOperation', this.state.managedExceptionMessage ?? 'The instance metadata defaults are managed by a declarative policy.');
    }
    const hop = input.HttpPutResponseHopLimit;
    if (hop !== undefined && !(Number.isInteger(hop) && ((hop >= 1 && hop <= 64) || hop === -1))) {
      throw new SimAwsError('InvalidParameterValue', `HttpPutResponseHopLimit must be 1-64 or -1, got ${hop}`);
    }
    const enumOk = (v: unknown, values: string[]): boolean => v === undefined || values.includes(v as string);
    if (!enumOk(input.HttpTokens, ['optional', 'required', 'no-preference'])) throw new SimAwsError('InvalidParameterValue', `HttpTokens ${String(input.HttpTokens)}`);
    if (!enumOk(input.HttpEndpoint, ['enabled', 'disabled', 'no-preference'])) throw new SimAwsError('InvalidParameterValue', `HttpEndpoint ${String(input.HttpEndpoint)}`);
    if (!enumOk(input.InstanceMetadataTags, ['enabled', 'disabled', 'no-preference'])) {
      throw new SimAwsError('InvalidParameterValue', `InstanceMetadataTags ${String(input.InstanceMetadataTags)}`);
    }
    const next: SimDefaults = { ...(this.pending?.state ?? this.state) };
    if (hop !== undefined) {
      if ((next.hopLimit ?? 1) > (hop === -1 ? 1 : hop)) this.lowered++;
      if (hop === -1) delete next.hopLimit;
      else next.hopLimit = hop;
    }
    const set = <K extends 'httpTokens' | 'httpEndpoint' | 'instanceMetadataTags'>(k: K, v: string | undefined): void => {
      if (v === undefined) return;
      if (v === 'no-preference') delete next[k];
      else next[k] = v as SimDefaults[K];
    };
    set('httpTokens', input.HttpTokens);
    set('httpEndpoint', input.HttpEndpoint);
    set('instanceMetadataTags', input.InstanceMetadataTags);
    const delay = this.options.applyAfterReads ?? 0;
    if (delay > 0) this.pending = { state: next, readsLeft: delay };
    else this.state = next;
    return { result: { Return: true }, latency: this.options.latencyMs ?? 100 };
  }

  /** Answers one request by action name (for a transport other than aws-sdk-client-mock). */
  answer(action: string, input: unknown): Answer<unknown> | undefined {
    if (action === 'GetInstanceMetadataDefaults') return this.get();
    if (action === 'ModifyInstanceMetadataDefaults') return this.modify(input as ModifyInstanceMetadataDefaultsCommandInput);
    return undefined;
  }

  /**
   * Registers both actions on an EC2 mock (`mockClient(EC2Client)`), answering after the virtual
   * latency on `sleep` (the benchmark's clock) when given.
   */
  attach(stub: AwsStub<object, MetadataBearer, object>, sleep?: (ms: number) => Promise<void>): this {
    const respond = async <T>(answer: () => Answer<T>): Promise<T> => {
      const out = answer();
      if (sleep) await sleep(out.latency);
      return out.result;
    };
    const s = stub as unknown as AwsStub<object, MetadataBearer, object> & { on: (c: unknown) => { callsFake: (f: (i: unknown) => unknown) => void } };
    s.on(GetInstanceMetadataDefaultsCommand).callsFake(() => respond(() => this.get()));
    s.on(ModifyInstanceMetadataDefaultsCommand).callsFake((i) => respond(() => this.modify(i as ModifyInstanceMetadataDefaultsCommandInput)));
    return this;
  }
}

const byAccount = new WeakMap<SimAccount, SimMetadataDefaults>();

/** The defaults of a simulated account (created, account-managed and empty, on first use). */
export function metadataDefaultsOf(account: SimAccount): SimMetadataDefaults {
  let d = byAccount.get(account);
  if (!d) {
    d = new SimMetadataDefaults({ managedBy: 'account' });
    byAccount.set(account, d);
  }
  return d;
}

/** Gives a simulated account these defaults (e.g. {@link SimMetadataDefaults.policyManaged}). */
export function setMetadataDefaults(account: SimAccount, defaults: SimMetadataDefaults): SimMetadataDefaults {
  byAccount.set(account, defaults);
  return defaults;
}

/** The two EC2 actions, as rows of EC2_SERVICE (both on EC2's non-mutating bucket, as the sim README suggests). */
export const EC2_METADATA_DEFAULTS_ACTIONS: Readonly<Record<string, SimAction>> = {
  GetInstanceMetadataDefaults: { command: GetInstanceMetadataDefaultsCommand, answer: (acct) => ({ ...metadataDefaultsOf(acct).get(), latency: acct.lat.other }), bucket: () => 'nonMutating' },
  ModifyInstanceMetadataDefaults: {
    command: ModifyInstanceMetadataDefaultsCommand,
    answer: (acct, input: ModifyInstanceMetadataDefaultsCommandInput) => ({ ...metadataDefaultsOf(acct).modify(input), latency: acct.lat.other }),
    bucket: () => 'nonMutating',
  },
};
