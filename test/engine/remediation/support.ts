/**
 * Hand-made contexts for testing one remediation phase without a full run: an in-memory IMDS port,
 * an in-memory audit sink, a Run Command port answering from a table, the real settings parser.
 */
import { VirtualClock } from '../../../lambda/aws/clock';
import { METADATA_OPTIONS } from '../../../lambda/contracts/metadata-options';
import { parseRemediationOutput } from '../../../lambda/core/remediation/guest-result';
import { parseSettings, type Settings } from '../../../lambda/core/settings';
import type {
  AuditActionDetail,
  AuditSink,
  FreshImdsOptions,
  ImdsDescribeResult,
  ImdsModifyRequest,
  ImdsModifyResult,
  ImdsPort,
  InvocationResult,
  RunCommandPort,
  RunDocumentRequest,
  RunSessionRequest,
} from '../../../lambda/engine/ports';
import { AuditTrail, createRunContext, resolveOptions, type RunContext } from '../../../lambda/engine/remediation/context';
import { newRunState, type RunState } from '../../../lambda/engine/remediation/state';
import type { RemediationDeps, RemediationOptions } from '../../../lambda/engine/remediation/types';

export const id = (k: number): string => `i-0${String(k).padStart(16, '0')}`;

export function settings(over: Partial<Settings> = {}): Settings {
  return { ...parseSettings({}), maxChangesPercent: 100, maxChangesPerRun: 100_000, ...over };
}

/** An EC2 account in memory: current options per instance; throttles `describe` while `throttleDescribes` > 0. */
export class MemoryImds implements ImdsPort {
  readonly modified: ImdsModifyRequest[] = [];
  throttleDescribes = 0;
  modifyOutcome: (r: ImdsModifyRequest) => ImdsModifyResult['outcome'] = () => 'requested';
  constructor(readonly instances: Map<string, FreshImdsOptions>) {}
  async describe(ids: readonly string[]): Promise<ImdsDescribeResult> {
    if (this.throttleDescribes > 0) {
      this.throttleDescribes--;
      return { outcome: 'throttled', error: 'RequestLimitExceeded' };
    }
    const out = new Map<string, FreshImdsOptions>();
    for (const i of ids) {
      const cur = this.instances.get(i);
      if (cur) out.set(i, cur);
    }
    return { outcome: 'described', instances: out };
  }
  async modify(r: ImdsModifyRequest): Promise<ImdsModifyResult> {
    this.modified.push(r);
    const outcome = this.modifyOutcome(r);
    if (outcome !== 'requested') return { outcome, error: outcome, attempts: 1 };
    const cur = this.instances.get(r.instanceId) ?? {};
    this.instances.set(r.instanceId, {
      ...cur,
      ...(r.hopLimit !== undefined ? { hopLimit: r.hopLimit } : {}),
      ...(r.enableEndpoint ? { httpEndpoint: 'enabled' as const } : {}),
      // Further metadata-options rows: each parameter lands on its row's field.
      ...Object.fromEntries(Object.entries(r.options ?? {}).map(([p, v]) => [METADATA_OPTIONS.find((row) => row.parameter === p)?.field ?? p, v])),
      state: 'applied',
    });
    return { outcome: 'requested', state: 'pending', attempts: 1 };
  }
  modifyWaitMs(): number {
    return 0;
  }
  bucketState() {
    return { tokens: 100, at: 0 };
  }
}

/** Audit events in memory. */
export class MemoryAudit implements AuditSink {
  readonly sent: AuditActionDetail[] = [];
  readonly summaries: Record<string, unknown>[] = [];
  async actions(d: readonly AuditActionDetail[]) {
    this.sent.push(...d);
  }
  async summary(d: Record<string, unknown>) {
    this.summaries.push(d);
  }
  async refused() {}
  failedEntries() {
    return 0;
  }
}

/** A Run Command port answering each instance from `answer` (one session per request). */
export class TableRunCommand implements RunCommandPort {
  readonly requests: RunDocumentRequest[] = [];
  constructor(private readonly answer: (instanceId: string, request: RunDocumentRequest) => Omit<InvocationResult, 'instanceId'> | undefined) {}
  startSession(request: RunSessionRequest) {
    const ids: string[] = [];
    return {
      add: (more: readonly string[]) => void ids.push(...more),
      finish: async () => {
        const full = { ...request, instanceIds: [...ids] };
        this.requests.push(full);
        const results = new Map<string, InvocationResult>();
        for (const i of ids) {
          const a = this.answer(i, full);
          if (a) results.set(i, { instanceId: i, ...a });
        }
        return { results, commandIds: ['c1'], errors: [], stats: { sendCommand: 1, listCommands: 0, listCommandInvocationsPages: 0, getCommandInvocation: 0, throttled: 0, polls: 0 } };
      },
    };
  }
}

/** A context over a hand-made state; `over` replaces deps, `opts` the timing options. */
export function makeContext(o: {
  state?: Partial<RunState>;
  settings?: Settings;
  imds?: ImdsPort;
  runCommand?: RunCommandPort;
  deps?: Partial<RemediationDeps>;
  opts?: Partial<RemediationOptions>;
  clock?: VirtualClock;
}): { ctx: RunContext; audit: MemoryAudit; clock: VirtualClock; state: RunState } {
  const clock = o.clock ?? new VirtualClock();
  const audit = new MemoryAudit();
  const state: RunState = { ...newRunState({ runId: 'run-1', startedAt: clock.now(), dryRun: false, fleetSize: 10, cap: 10, plannedInstances: 0 }), ...o.state };
  const imds = o.imds ?? new MemoryImds(new Map());
  const deps: RemediationDeps = {
    clock,
    check: async () => ({ evaluations: [] }),
    imds: () => imds,
    runCommand: o.runCommand ?? new TableRunCommand(() => undefined),
    parseOutput: parseRemediationOutput,
    audit,
    continuationKey: async () => Buffer.from('k'),
    ...o.deps,
  };
  const trail = new AuditTrail(audit, clock, undefined, () => state);
  const ctx = createRunContext({
    state,
    settings: o.settings ?? settings(),
    options: resolveOptions({ deadline: clock.now() + 3_600_000, ...o.opts }),
    deps,
    trail,
    imds,
  });
  return { ctx, audit, clock, state };
}

/** `action:outcome[:reason]` of each audit record, for compact expectations. */
export const brief = (a: MemoryAudit): string[] => a.sent.map((d) => `${d.instanceId}:${d.action}:${d.outcome}${d.reason ? `:${d.reason}` : ''}`);
