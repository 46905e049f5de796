/**
 * The nightly remediation engine: check (fresh data), plan (pure), act (IMDS changes paced to EC2's
 * token bucket and verified `applied`; the stack's remediation document in the guest, stopping at
 * MaxErrors), audit every action, and — because 10,000 hop-limit changes need ≈ 33 minutes of API
 * time — stop cleanly before a deadline and hand back an opaque continuation that the next
 * invocation resumes from, without re-running the check and without redoing finished work.
 *
 * Every wait goes through the injected `Clock`, so the benchmark can run it on a virtual clock.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { gunzipSync, gzipSync } from 'node:zlib';
import { noProxyAudit } from '../core/remediation/no-proxy-result';
import { planRemediation, type Plan, type PlannedInstance, type RemediationAction } from '../core/remediation/plan';
import type { Settings } from '../core/settings';
import type { TokenBucketState } from '../core/util/token-bucket';
import type { InstanceEvaluation, Platform } from '../core/types';
import type { AuditActionDetail, AuditOutcome, AuditSink } from '../aws/audit';
import type { Clock } from '../aws/clock';
import type { FreshImdsOptions, ImdsPort } from '../aws/imds';
import type { Notifier } from '../aws/notify';
import { isThrottlingError } from '../aws/retry';
import type { InvocationResult, RunCommandPort } from '../aws/run-command';

/** What the in-guest script reported, as the engine needs it (a subset of H2's parsed result). */
export interface GuestOutcome {
  readonly result: 'already-compliant' | 'changed' | 'would-change' | 'rolled-back' | 'failed' | 'skipped' | 'unknown';
  readonly daemon?: string;
  readonly action?: string;
  readonly reason?: string;
}

/** Fresh fleet data for the plan (the check engine's run, reduced to what planning needs). */
export interface RemediationCheckResult {
  readonly evaluations: readonly InstanceEvaluation[];
  /** Instances seen (opted-out included): the base of the percent cap. @default evaluations.length */
  readonly fleetSize?: number;
  /** Instances with no IPv4 address (the guest must use fd00:ec2::123). */
  readonly ipv6Only?: ReadonlySet<string>;
}

/** Structured logger (Powertools' Logger fits). */
export interface EngineLogger {
  info(message: string, ...extra: Record<string, unknown>[]): void;
  warn(message: string, ...extra: Record<string, unknown>[]): void;
  error(message: string, ...extra: Record<string, unknown>[]): void;
}

/** Metric values of a finished run (names: REMEDIATION_METRICS). */
export interface RemediationMetricValues {
  readonly attempted: number;
  readonly succeeded: number;
  readonly failed: number;
  readonly rolledBack: number;
  readonly skipped: number;
  /** 1: the whole run finished (heartbeat). */
  readonly completed: 1;
}

/** Everything the engine talks to; all injected so tests and the benchmark can substitute them. */
export interface RemediationDeps {
  readonly clock: Clock;
  /** Runs the fleet check (only on the first invocation of a run). */
  readonly check: () => Promise<RemediationCheckResult>;
  /** Builds the IMDS port, resuming its token bucket from a continuation. */
  readonly imds: (bucketState?: TokenBucketState) => ImdsPort;
  readonly runCommand: RunCommandPort;
  /** Parses the remediation script's output (H2's `parseRemediationOutput`); must never throw. */
  readonly parseOutput: (text: string) => GuestOutcome;
  readonly audit: AuditSink;
  /**
   * The HMAC-SHA256 key that signs and verifies continuations (the stack's generated secret, read
   * once per container). A continuation without a valid MAC under this key is refused.
   */
  readonly continuationKey: () => Promise<Uint8Array>;
  readonly notifier?: Notifier;
  /** Emits the run's metrics (final invocation only). */
  readonly metrics?: (values: RemediationMetricValues) => void | Promise<void>;
  readonly logger?: EngineLogger;
  /** @default - time + random suffix */
  readonly newRunId?: () => string;
}

/** Timing knobs; defaults suit production, tests shrink them. */
export interface RemediationOptions {
  /** Clock ms by which this invocation must have returned (handler: remaining time − margin). */
  readonly deadline: number;
  /** How long an IMDS change may stay un-`applied` before it is a failure. @default 120000 */
  readonly verifyTimeoutMs?: number;
  /** Wait between verification polls once all changes are sent. @default 5000 */
  readonly verifyPollMs?: number;
  /** A change is first checked this long after it was requested. @default 2000 */
  readonly verifyMinAgeMs?: number;
  /** Instances per IMDS chunk: one fresh DescribeInstances before, one verification pass after. @default 100 */
  readonly imdsChunkSize?: number;
  /** The guest script's own bounded wait for a selected Amazon source. @default 60 */
  readonly guestVerifySeconds?: number;
  /** SendCommand batches (≤ 50 ids each) per guest wave; MaxErrors is judged between waves. @default 5 */
  readonly guestWaveBatches?: number;
  /** Time one guest wave may take; a wave starts only if it fits before the deadline. @default (guestVerifySeconds + 180) s */
  readonly guestWaveBudgetMs?: number;
  /** Kept free before the deadline for the final audit/summary calls. @default 5000 */
  readonly reserveMs?: number;
}

export type RemediationPhase = 'imds' | 'imds-verify' | 'guest' | 'done';

/** Counters of one run (per action: an instance with two actions counts twice). */
export interface RemediationCounts {
  planned: number;
  attempted: number;
  succeeded: number;
  failed: number;
  rolledBack: number;
  skipped: number;
}

/** The run summary: the state machine's output, the SNS message and the summary event's detail. */
export interface RemediationSummary {
  readonly runId: string;
  readonly dryRun: boolean;
  readonly done: boolean;
  readonly phase: RemediationPhase;
  readonly startedAt: string;
  readonly finishedAt?: string;
  /** Lambda invocations used so far. */
  readonly invocations: number;
  readonly fleetSize: number;
  readonly cap: number;
  /** Instances the plan selected (would-change in dry run). */
  readonly plannedInstances: number;
  readonly counts: RemediationCounts;
  /** Skipped and failed actions by reason. */
  readonly reasons: Record<string, number>;
  /** Work not yet done (non-zero only when `done` is false). */
  readonly pending: { readonly imds: number; readonly verifying: number; readonly guest: number };
  /** Guest step stopped because failures passed MaxErrors. */
  readonly guestStoppedAtMaxErrors: boolean;
  /** Audit events EventBridge did not accept (each was logged instead). */
  readonly auditLost: number;
}

/** What one invocation returns: the state machine loops while `done` is false, passing `continuation`. */
export interface RemediationResult {
  readonly done: boolean;
  readonly continuation?: string;
  readonly summary: RemediationSummary;
}

/**
 * Why a continuation was refused: `forged` (no MAC, or a MAC that does not verify under this stack's
 * key: edited, made up, or signed by another stack), `expired` (issued too long ago, or its run is
 * older than a run may be), `malformed` (authentic but undecodable: a bug, never guessed around).
 */
export type ContinuationRefusal = 'forged' | 'expired' | 'malformed';

/** A continuation that is refused: the state machine must fail loudly, never guess. */
export class ContinuationError extends Error {
  readonly reason: ContinuationRefusal;
  constructor(message: string, options?: { cause?: unknown; reason?: ContinuationRefusal }) {
    super(message, options);
    this.name = 'ContinuationError';
    this.reason = options?.reason ?? 'malformed';
  }
}

interface ImdsItem {
  id: string;
  /**
   * > 0: raise the hop limit (to the CURRENT `hopLimitTarget`, read at the point of action; the
   * continuation carries only 1/0), 0: no hop change.
   */
  hop: number;
  /** Hop limit the plan saw (−1 = unreported). */
  from: number;
  endpoint: boolean;
}
interface VerifyItem {
  id: string;
  hop: number;
  endpoint: boolean;
  /** Clock ms of the Modify call. */
  at: number;
  /** Describes that have seen it not yet applied. */
  seen: number;
}
interface GuestItem {
  id: string;
  platform: Platform;
  ipv6: boolean;
}

interface State {
  runId: string;
  startedAt: number;
  invocations: number;
  phase: RemediationPhase;
  dryRun: boolean;
  fleetSize: number;
  cap: number;
  plannedInstances: number;
  counts: RemediationCounts;
  reasons: Record<string, number>;
  bucket?: TokenBucketState;
  imds: ImdsItem[];
  verifying: VerifyItem[];
  guest: GuestItem[];
  guestPlanned: number;
  guestFailures: number;
  guestStopped: boolean;
  auditLost: number;
}

const CONTINUATION_VERSION = 2;

/** Domain separation for the MAC: this key signs nothing else, but the prefix says what is signed. */
const MAC_CONTEXT = 'timesync-guard remediation continuation v2\n';
/**
 * A continuation is accepted this long after it was issued. The state machine hands it on within
 * seconds; its longest wait is the Lambda throttle retry (30 s × 2^k, 6 attempts ≈ 32 min). Two
 * hours bounds how long a leaked continuation (e.g. from the execution log) can be replayed.
 */
export const CONTINUATION_MAX_AGE_MS = 2 * 3_600_000;
/** A run older than this (the state machine's 23 h timeout, plus slack) is never resumed. */
export const RUN_MAX_AGE_MS = 24 * 3_600_000;
/** Issue times this far in the future are clock skew between containers; more is refused. */
const FUTURE_SKEW_MS = 5 * 60_000;
/** Step Functions passes at most 256 KB; anything longer is not ours (and is never gunzipped). */
const MAX_CONTINUATION_CHARS = 262_144;
/** A signed payload expands to well under this; a bound keeps gunzip from being a memory bomb. */
const MAX_DECODED_BYTES = 16 * 1024 * 1024;

function mac(key: Uint8Array, payload: string): Buffer {
  return createHmac('sha256', key).update(MAC_CONTEXT).update(payload).digest();
}

/** Signs an encoded payload: `payload.mac` (exported so tests can sign payloads the encoder would never write). */
export function signContinuationPayload(payload: string, key: Uint8Array): string {
  return `${payload}.${mac(key, payload).toString('base64url')}`;
}

/** A short fingerprint of a refused continuation for the audit record (the text itself is not kept). */
export function continuationFingerprint(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 16);
}

/** The "i-" prefix is the same for every id: leave it out of the continuation. */
const ID_PREFIX = 'i-';
const stripId = (id: string): string => (id.startsWith(ID_PREFIX) ? id.slice(ID_PREFIX.length) : `!${id}`);
const restoreId = (s: string): string => (s.startsWith('!') ? s.slice(1) : `${ID_PREFIX}${s}`);

/**
 * Encodes the state compactly: gzip + base64 of a JSON in which every instance id appears once
 * (a table, without the `i-` prefix) and the pending lists refer to it by delta-coded index — lists
 * in plan order are runs of "1" that compress to almost nothing. Measured: ≈ 13 bytes per pending
 * instance with random ids, far under Step Functions' 256 KB payload at 10,000 instances.
 */
export function encodeContinuation(s: State, key: Uint8Array, issuedAt: number): string {
  const table: string[] = [];
  const index = new Map<string, number>();
  const ref = (id: string): number => {
    let i = index.get(id);
    if (i === undefined) {
      i = table.length;
      index.set(id, i);
      table.push(stripId(id));
    }
    return i;
  };
  const deltas = <T extends { id: string }>(items: readonly T[], rest: (t: T) => string): string => {
    let prev = -1;
    return items
      .map((t) => {
        const i = ref(t.id);
        const d = i - prev;
        prev = i;
        return `${d}${rest(t)}`;
      })
      .join(',');
  };
  const compact = {
    v: CONTINUATION_VERSION,
    ia: issuedAt,
    r: s.runId,
    s: s.startedAt,
    n: s.invocations,
    p: s.phase,
    f: s.fleetSize,
    c: s.cap,
    pi: s.plannedInstances,
    k: s.counts,
    why: s.reasons,
    b: s.bucket,
    // Settings are never carried: no dry-run flag, no hop target (1 = "raise to the configured one").
    q: deltas(s.imds, (i) => `.${i.hop > 0 ? 1 : 0}.${i.from}.${i.endpoint ? 1 : 0}`),
    w: deltas(s.verifying, (i) => `.${i.hop}.${i.endpoint ? 1 : 0}.${i.at}.${i.seen}`),
    g: deltas(s.guest, (i) => `.${i.platform === 'windows' ? 'w' : 'l'}.${i.ipv6 ? 1 : 0}`),
    t: table.join(','),
    gp: s.guestPlanned,
    gf: s.guestFailures,
    gs: s.guestStopped ? 1 : 0,
    al: s.auditLost,
  };
  return signContinuationPayload(gzipSync(Buffer.from(JSON.stringify(compact)), { level: 9 }).toString('base64'), key);
}

function list(s: unknown, table: readonly string[]): { id: string; f: string[] }[] {
  if (typeof s !== 'string' || s === '') return [];
  let prev = -1;
  return s.split(',').map((x) => {
    const [d, ...f] = x.split('.');
    const i = prev + int(d, 'index');
    prev = i;
    const id = table[i];
    if (id === undefined || id === '') throw new ContinuationError(`continuation: instance index ${i} out of range`);
    return { id: restoreId(id), f };
  });
}

function int(v: unknown, what: string): number {
  const n = Number(v);
  if (v === undefined || v === null || v === '' || !Number.isFinite(n)) throw new ContinuationError(`continuation: ${what} is not a number`);
  return n;
}

/**
 * Verifies and decodes a continuation. The MAC is checked first (constant time), before anything of
 * the text is decompressed or parsed; then its age. Throws {@link ContinuationError} (`reason`
 * forged / expired / malformed) with a clear message. `dryRun` in the result is always false: the
 * caller applies the CURRENT settings.
 */
export function decodeContinuation(text: string, key: Uint8Array, now: number): State {
  if (typeof text !== 'string' || text.length > MAX_CONTINUATION_CHARS) {
    throw new ContinuationError('continuation refused: not a string of at most 256 KB', { reason: 'forged' });
  }
  const dot = text.lastIndexOf('.');
  if (dot < 0) throw new ContinuationError('continuation refused: it carries no signature (not issued by this stack)', { reason: 'forged' });
  const payload = text.slice(0, dot);
  const given = Buffer.from(text.slice(dot + 1), 'base64url');
  const expected = mac(key, payload);
  if (given.length !== expected.length || !timingSafeEqual(given, expected) || text.slice(dot + 1) !== expected.toString('base64url')) {
    throw new ContinuationError('continuation refused: its signature does not verify (edited, forged, or signed by another stack)', { reason: 'forged' });
  }
  let o: Record<string, unknown>;
  try {
    o = JSON.parse(gunzipSync(Buffer.from(payload, 'base64'), { maxOutputLength: MAX_DECODED_BYTES }).toString('utf8')) as Record<string, unknown>;
  } catch (err) {
    throw new ContinuationError('continuation: not a timesync-guard continuation (gzip/base64/JSON)', { cause: err });
  }
  if (!o || typeof o !== 'object' || o.v !== CONTINUATION_VERSION) throw new ContinuationError(`continuation: unsupported version ${JSON.stringify(o?.v)}`);
  const phases: RemediationPhase[] = ['imds', 'imds-verify', 'guest', 'done'];
  if (!phases.includes(o.p as RemediationPhase)) throw new ContinuationError(`continuation: unknown phase ${JSON.stringify(o.p)}`);
  if (typeof o.r !== 'string' || o.r === '') throw new ContinuationError('continuation: missing run id');
  const issuedAt = int(o.ia, 'issuedAt');
  if (now - issuedAt > CONTINUATION_MAX_AGE_MS || issuedAt - now > FUTURE_SKEW_MS) {
    throw new ContinuationError(`continuation refused: issued ${new Date(issuedAt).toISOString()}, outside the ${CONTINUATION_MAX_AGE_MS / 3_600_000} h it is valid`, {
      reason: 'expired',
    });
  }
  if (now - int(o.s, 'startedAt') > RUN_MAX_AGE_MS) {
    throw new ContinuationError(`continuation refused: its run started more than ${RUN_MAX_AGE_MS / 3_600_000} h ago`, { reason: 'expired' });
  }
  const k = (o.k ?? {}) as Partial<RemediationCounts>;
  const b = o.b as TokenBucketState | undefined;
  const table = typeof o.t === 'string' && o.t !== '' ? o.t.split(',') : [];
  return {
    runId: o.r,
    startedAt: int(o.s, 'startedAt'),
    invocations: int(o.n, 'invocations'),
    phase: o.p as RemediationPhase,
    dryRun: false,
    fleetSize: int(o.f, 'fleetSize'),
    cap: int(o.c, 'cap'),
    plannedInstances: int(o.pi, 'plannedInstances'),
    counts: {
      planned: int(k.planned, 'counts'),
      attempted: int(k.attempted, 'counts'),
      succeeded: int(k.succeeded, 'counts'),
      failed: int(k.failed, 'counts'),
      rolledBack: int(k.rolledBack, 'counts'),
      skipped: int(k.skipped, 'counts'),
    },
    reasons: typeof o.why === 'object' && o.why !== null ? (o.why as Record<string, number>) : {},
    bucket: b && Number.isFinite(b.tokens) && Number.isFinite(b.at) ? b : undefined,
    imds: list(o.q, table).map(({ id, f: [hop, from, e] }) => ({ id, hop: int(hop, 'hop') > 0 ? 1 : 0, from: int(from, 'from'), endpoint: e === '1' })),
    verifying: list(o.w, table).map(({ id, f: [hop, e, at, seen] }) => ({ id, hop: int(hop, 'hop'), endpoint: e === '1', at: int(at, 'at'), seen: int(seen, 'seen') })),
    guest: list(o.g, table).map(({ id, f: [p, v6] }) => ({ id, platform: p === 'w' ? 'windows' : 'linux', ipv6: v6 === '1' })),
    guestPlanned: int(o.gp, 'guestPlanned'),
    guestFailures: int(o.gf, 'guestFailures'),
    guestStopped: o.gs === 1,
    auditLost: int(o.al ?? 0, 'auditLost'),
  };
}

/** MaxErrors as a count: `N` or `P%` of the instances planned for the guest step (rounded down, like SSM). */
export function maxErrorsCount(maxErrors: string, planned: number): number {
  const m = /^(\d+)(%?)$/.exec(maxErrors.trim());
  if (!m) return 0;
  const n = Number(m[1]);
  return m[2] === '%' ? Math.floor((planned * n) / 100) : n;
}

function newRunIdDefault(clock: Clock): string {
  return `${new Date(clock.now()).toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z')}-${Math.random().toString(36).slice(2, 8)}`;
}

/**
 * Runs (or resumes) one remediation run until it is done or the deadline approaches.
 *
 * First invocation (no continuation): check → plan → audit the plan → act. Later invocations resume
 * from `input.continuation` exactly where the previous one stopped. The final invocation emits the
 * summary event, the SNS summary and the metrics (with `RemediationCompleted` = 1).
 *
 * Throws only for a run that cannot proceed at all (the check failed, a malformed continuation);
 * an instance's failure is data, counted and audited.
 */
export async function runRemediation(
  deps: RemediationDeps,
  settings: Settings,
  input: { readonly continuation?: string },
  opts: RemediationOptions,
): Promise<RemediationResult> {
  const { clock } = deps;
  const log = deps.logger;
  const o = {
    verifyTimeoutMs: opts.verifyTimeoutMs ?? 120_000,
    verifyPollMs: opts.verifyPollMs ?? 5_000,
    verifyMinAgeMs: opts.verifyMinAgeMs ?? 2_000,
    imdsChunkSize: Math.max(1, Math.min(200, opts.imdsChunkSize ?? 100)),
    guestVerifySeconds: Math.max(0, Math.min(999, Math.floor(opts.guestVerifySeconds ?? 60))),
    guestWaveBatches: Math.max(1, opts.guestWaveBatches ?? 5),
    reserveMs: opts.reserveMs ?? 5_000,
  };
  const waveBudgetMs = opts.guestWaveBudgetMs ?? (o.guestVerifySeconds + 180) * 1000;
  const timeLeft = (): number => opts.deadline - o.reserveMs - clock.now();

  let state: State;
  const pendingAudit: AuditActionDetail[] = [];
  const audit = (
    instanceId: string,
    action: RemediationAction,
    outcome: AuditOutcome,
    extra: { reason?: string; before?: unknown; after?: unknown; error?: string } = {},
  ): void => {
    const detail: AuditActionDetail = {
      runId: state.runId,
      instanceId,
      action,
      outcome,
      ...(extra.reason !== undefined ? { reason: extra.reason } : {}),
      ...(extra.before !== undefined ? { before: extra.before } : {}),
      ...(extra.after !== undefined ? { after: extra.after } : {}),
      dryRun: state.dryRun,
      at: new Date(clock.now()).toISOString(),
    };
    pendingAudit.push(detail);
    log?.info('remediation-action', { ...detail, ...(extra.error ? { error: extra.error } : {}) });
    const c = state.counts;
    if (outcome === 'planned') c.planned++;
    else if (outcome === 'verified') c.succeeded++;
    else if (outcome === 'failed') c.failed++;
    else if (outcome === 'rolled-back') c.rolledBack++;
    else if (outcome === 'skipped') c.skipped++;
    if ((outcome === 'skipped' || outcome === 'failed' || outcome === 'rolled-back') && extra.reason) {
      const key = `${outcome}:${extra.reason}`;
      state.reasons[key] = (state.reasons[key] ?? 0) + 1;
    }
  };
  const flushAudit = async (): Promise<void> => {
    if (pendingAudit.length === 0) return;
    const batch = pendingAudit.splice(0, pendingAudit.length);
    await deps.audit.actions(batch);
  };

  // ---- start or resume -------------------------------------------------------------------------
  // Read before any work: a run that could not hand on its continuation must not start acting.
  const key = await deps.continuationKey();
  if (input.continuation !== undefined && input.continuation !== null && input.continuation !== '') {
    try {
      state = decodeContinuation(input.continuation, key, clock.now());
    } catch (err) {
      await refuse(input.continuation, err);
      throw err;
    }
    state.invocations++;
    log?.info('remediation-resume', { runId: state.runId, phase: state.phase, invocation: state.invocations });
    applyCurrentSettings();
    await flushAudit();
  } else {
    const startedAt = clock.now();
    const runId = deps.newRunId?.() ?? newRunIdDefault(clock);
    const checked = await deps.check();
    const evaluations = Array.isArray(checked?.evaluations) ? checked.evaluations : [];
    const fleetSize = checked?.fleetSize ?? evaluations.length;
    const plan: Plan = planRemediation(evaluations, settings, fleetSize, checked?.ipv6Only ? { ipv6Only: checked.ipv6Only } : {});
    const selected = plan.dryRun ? plan.wouldChange : plan.instances;
    state = {
      runId,
      startedAt,
      invocations: 1,
      phase: 'imds',
      dryRun: plan.dryRun,
      fleetSize,
      cap: plan.cap,
      plannedInstances: selected.length,
      counts: { planned: 0, attempted: 0, succeeded: 0, failed: 0, rolledBack: 0, skipped: 0 },
      reasons: {},
      imds: [],
      verifying: [],
      guest: [],
      guestPlanned: 0,
      guestFailures: 0,
      guestStopped: false,
      auditLost: 0,
    };
    for (const p of selected) auditPlanned(p);
    for (const s of plan.skipped) audit(s.instanceId, s.action, 'skipped', { reason: s.reason, before: s.before, after: s.after });
    if (!plan.dryRun) {
      state.imds = plan.instances
        .filter((p) => p.hopLimit !== undefined || p.enableEndpoint)
        .map((p) => ({ id: p.instanceId, hop: p.hopLimit?.to ?? 0, from: p.hopLimit?.from ?? -1, endpoint: p.enableEndpoint }));
      state.guest = plan.instances.filter((p) => p.guest).map((p) => ({ id: p.instanceId, platform: p.platform, ipv6: p.ipv6Only }));
      state.guestPlanned = state.guest.length;
    } else {
      state.phase = 'done';
    }
    log?.info('remediation-plan', {
      runId,
      dryRun: plan.dryRun,
      fleetSize,
      cap: plan.cap,
      plannedInstances: selected.length,
      imdsChanges: state.imds.length,
      guestChanges: state.guest.length,
      skipped: plan.skipped.length,
    });
    await flushAudit();
  }

  /** Audits and logs a refused continuation; the caller rethrows (the run fails loudly). */
  async function refuse(text: unknown, err: unknown): Promise<void> {
    const e = err instanceof ContinuationError ? err : new ContinuationError(String(err), { cause: err });
    const detail = {
      reason: e.reason,
      message: e.message,
      continuationChars: typeof text === 'string' ? text.length : 0,
      continuationSha256: continuationFingerprint(typeof text === 'string' ? text : String(text)),
      at: new Date(clock.now()).toISOString(),
    };
    log?.error('remediation-continuation-refused', detail);
    await deps.audit.refused(detail);
  }

  /**
   * On every resume the CURRENT settings win over the plan carried in the continuation: a run that
   * is now a dry run applies nothing more, an action whose switch is now off is dropped, and the hop
   * target is always read from the settings at the point of action (the continuation carries none).
   * Opt-out tags are re-read at the point of action (IMDS and guest), not here.
   */
  function applyCurrentSettings(): void {
    state.dryRun = settings.dryRun;
    if (settings.dryRun) {
      for (const i of state.imds.splice(0)) for (const a of actionsOf(i)) audit(i.id, a, 'skipped', { reason: 'dry-run' });
      for (const g of state.guest.splice(0)) audit(g.id, 'enable-amazon-time-sync', 'skipped', { reason: 'dry-run' });
      return;
    }
    if (!settings.enableMetadataEndpoint) {
      for (const i of state.imds) {
        if (!i.endpoint) continue;
        i.endpoint = false;
        audit(i.id, 'enable-metadata-endpoint', 'skipped', { reason: 'setting-off' });
      }
      state.imds = state.imds.filter((i) => i.hop > 0 || i.endpoint);
    }
    if (!settings.fixTimeSync && !settings.fixNoProxy) {
      for (const g of state.guest.splice(0)) audit(g.id, 'enable-amazon-time-sync', 'skipped', { reason: 'setting-off' });
    }
  }

  function auditPlanned(p: PlannedInstance): void {
    if (p.hopLimit) audit(p.instanceId, 'raise-hop-limit', 'planned', { before: { hopLimit: p.hopLimit.from }, after: { hopLimit: p.hopLimit.to } });
    if (p.enableEndpoint) audit(p.instanceId, 'enable-metadata-endpoint', 'planned', { before: { httpEndpoint: 'disabled' }, after: { httpEndpoint: 'enabled' } });
    if (p.actions.includes('enable-amazon-time-sync')) audit(p.instanceId, 'enable-amazon-time-sync', 'planned', { after: { timeSource: 'amazon' } });
    if (p.actions.includes('add-imds-no-proxy')) audit(p.instanceId, 'add-imds-no-proxy', 'planned', { after: { noProxyCoversImds: true } });
  }

  const imds = deps.imds(state.bucket);

  // ---- IMDS: verification ------------------------------------------------------------------------
  /** Fresh IMDS options, or undefined when EC2 kept throttling past the retries (any other error is run-level: thrown). */
  async function describeOrWait(ids: readonly string[]): Promise<Map<string, FreshImdsOptions> | undefined> {
    try {
      return await imds.describe(ids);
    } catch (err) {
      if (!isThrottlingError(err)) throw err;
      log?.warn('remediation-describe-throttled', { runId: state.runId, instances: ids.length });
      return undefined;
    }
  }

  let lastVerifyAt = clock.now();
  async function verifyPass(): Promise<void> {
    const now = clock.now();
    lastVerifyAt = now;
    const due = state.verifying.filter((v) => now - v.at >= o.verifyMinAgeMs);
    if (due.length === 0) return;
    const fresh = await describeOrWait(due.map((v) => v.id));
    if (!fresh) return; // throttled past the retries: look again at the next pass
    const t = clock.now();
    const resolved = new Set<VerifyItem>();
    for (const v of due) {
      const cur = fresh.get(v.id);
      const hopOk = v.hop === 0 || (cur?.hopLimit ?? 0) >= v.hop;
      const endpointOk = !v.endpoint || cur?.httpEndpoint === 'enabled';
      const after = cur ? { hopLimit: cur.hopLimit, httpEndpoint: cur.httpEndpoint, state: cur.state } : undefined;
      if (!cur) {
        for (const a of actionsOf(v)) audit(v.id, a, 'failed', { reason: 'instance-gone' });
        resolved.add(v);
      } else if (cur.state === 'applied' && hopOk && endpointOk) {
        for (const a of actionsOf(v)) audit(v.id, a, 'verified', { after });
        resolved.add(v);
      } else if (t - v.at >= o.verifyTimeoutMs && v.seen >= 1) {
        // Past the bounded wait, and seen pending before this look too: a late first look never fails a change.
        for (const a of actionsOf(v)) audit(v.id, a, 'failed', { reason: 'not-applied', after });
        resolved.add(v);
      } else {
        v.seen++;
      }
    }
    state.verifying = state.verifying.filter((v) => !resolved.has(v));
  }

  function actionsOf(i: { hop: number; endpoint: boolean }): RemediationAction[] {
    const a: RemediationAction[] = [];
    if (i.hop > 0) a.push('raise-hop-limit');
    if (i.endpoint) a.push('enable-metadata-endpoint');
    return a;
  }

  // ---- IMDS: changes ----------------------------------------------------------------------------
  async function imdsPhase(): Promise<boolean> {
    while (state.imds.length > 0) {
      // A chunk needs at least one describe and one modify; do not start one we cannot finish.
      if (timeLeft() < 2_000 + imds.modifyWaitMs()) return false;
      const chunk = state.imds.splice(0, o.imdsChunkSize);
      const fresh = await describeOrWait(chunk.map((i) => i.id));
      if (!fresh) {
        // Sustained Describe throttling: nothing is lost, the chunk waits for the next round.
        state.imds.unshift(...chunk);
        if (timeLeft() < o.verifyPollMs + 2_000) return false;
        await clock.sleep(o.verifyPollMs);
        continue;
      }
      for (let k = 0; k < chunk.length; k++) {
        const item = chunk[k]!;
        // Paced: stop before a token wait (or the call) would cross the deadline; the rest waits for the next invocation.
        if (timeLeft() < imds.modifyWaitMs() + 1_000) {
          state.imds.unshift(...chunk.slice(k));
          await flushAudit();
          return false;
        }
        await modifyOne(item, fresh.get(item.id));
        // Throttling can stretch a chunk: keep verification timely (one batched describe, not one per change).
        if (state.verifying.length > 0 && clock.now() - lastVerifyAt >= o.verifyPollMs) await verifyPass();
      }
      await verifyPass();
      await flushAudit();
    }
    return true;
  }

  async function modifyOne(item: ImdsItem, cur: FreshImdsOptions | undefined): Promise<void> {
    const before = cur ? { hopLimit: cur.hopLimit, httpEndpoint: cur.httpEndpoint } : undefined;
    if (!cur) {
      for (const a of actionsOf(item)) audit(item.id, a, 'skipped', { reason: 'instance-gone' });
      return;
    }
    // Tagged since the plan (or since the previous invocation): the owner's word wins.
    if (cur.optedOut) {
      for (const a of actionsOf(item)) audit(item.id, a, 'skipped', { reason: 'opted-out', before });
      return;
    }
    // Fresh data decides: the request only ever raises, to the configured target, and skips what is already right.
    const currentHop = cur.hopLimit ?? 1;
    const target = settings.hopLimitTarget;
    const hop = item.hop > 0 && currentHop < target ? target : undefined;
    if (item.hop > 0 && hop === undefined) audit(item.id, 'raise-hop-limit', 'skipped', { reason: 'already-compliant', before });
    const endpoint = item.endpoint && cur.httpEndpoint === 'disabled';
    if (item.endpoint && !endpoint) audit(item.id, 'enable-metadata-endpoint', 'skipped', { reason: 'already-compliant', before });
    if (hop === undefined && !endpoint) return;
    const doing = { hop: hop ?? 0, endpoint };
    const res = await imds.modify({ instanceId: item.id, ...(hop !== undefined ? { hopLimit: hop } : {}), ...(endpoint ? { enableEndpoint: true } : {}) });
    if (res.outcome === 'throttled') {
      // Not lost: back of the queue, tried again in this invocation or the next.
      state.imds.push({ ...item, hop: doing.hop, endpoint: doing.endpoint });
      log?.warn('remediation-throttled', { runId: state.runId, instanceId: item.id, attempts: res.attempts });
      return;
    }
    const actions = actionsOf(doing);
    state.counts.attempted += actions.length;
    if (res.outcome === 'requested') {
      const after = { ...(hop !== undefined ? { hopLimit: hop } : {}), ...(endpoint ? { httpEndpoint: 'enabled' } : {}) };
      for (const a of actions) audit(item.id, a, 'applied', { before, after });
      state.verifying.push({ id: item.id, hop: doing.hop, endpoint: doing.endpoint, at: clock.now(), seen: 0 });
    } else if (res.outcome === 'gone') {
      state.counts.attempted -= actions.length;
      for (const a of actions) audit(item.id, a, 'skipped', { reason: 'instance-gone', before, error: res.error });
    } else {
      for (const a of actions) audit(item.id, a, 'failed', { reason: 'modify-failed', before, error: res.error });
    }
  }

  async function imdsVerifyPhase(): Promise<boolean> {
    await verifyPass();
    while (state.verifying.length > 0) {
      if (timeLeft() < o.verifyPollMs + 2_000) return false;
      await clock.sleep(o.verifyPollMs);
      await verifyPass();
      await flushAudit();
    }
    await flushAudit();
    return true;
  }

  // ---- Guest ------------------------------------------------------------------------------------
  const guestParams = (endpoint: 'auto' | 'ipv6'): Record<string, string[]> => ({
    DryRun: ['false'],
    Endpoint: [endpoint],
    UsePhc: [String(settings.usePhc)],
    InstallChrony: [String(settings.installChrony)],
    StepLargeOffset: [String(settings.stepLargeOffset)],
    ForceDomainMembers: [String(settings.forceDomainMembers)],
    VerifySeconds: [String(o.guestVerifySeconds)],
    FixNoProxy: [String(settings.fixNoProxy)],
    FixTimeSync: [String(settings.fixTimeSync)],
  });

  /** The document's two steps, each audited; either one failing or rolling back counts as an error. */
  function judgeGuest(item: GuestItem, r: InvocationResult | undefined): boolean {
    const np = r?.output ? noProxyAudit(r.output) : undefined;
    if (np) audit(item.id, 'add-imds-no-proxy', np.outcome, { reason: np.reason, after: np.after });
    return judgeTimeSync(item, r) || np?.outcome === 'failed' || np?.outcome === 'rolled-back';
  }

  function judgeTimeSync(item: GuestItem, r: InvocationResult | undefined): boolean /* counts as error */ {
    const a: RemediationAction = 'enable-amazon-time-sync';
    if (!r) {
      audit(item.id, a, 'failed', { reason: 'no-result' });
      return true;
    }
    if (r.state === 'denied') {
      // IAM refused this one instance (the opt-out Deny, e.g. a tag set after our fresh read): its
      // owner's word, not a failure of the fix, so it does not count toward MaxErrors.
      audit(item.id, a, 'skipped', { reason: 'access-denied', after: { status: r.status, detail: r.detail } });
      return false;
    }
    if (r.output !== undefined && r.output !== '' && (r.state === 'success' || r.state === 'failed')) {
      let g: GuestOutcome;
      try {
        g = deps.parseOutput(r.output);
      } catch {
        g = { result: 'unknown', reason: 'unparseable-output' };
      }
      const after = { result: g.result, daemon: g.daemon, action: g.action };
      switch (g.result) {
        case 'changed':
          audit(item.id, a, 'verified', { after });
          return false;
        case 'already-compliant':
          audit(item.id, a, 'skipped', { reason: 'already-compliant', after });
          return false;
        case 'skipped':
          audit(item.id, a, 'skipped', { reason: g.reason || 'guest-skipped', after });
          return false;
        case 'rolled-back':
          audit(item.id, a, 'rolled-back', { reason: g.reason || 'verification-failed', after });
          return true;
        case 'would-change':
          // We sent DryRun=false; a dry-run answer means the document is not ours or is misconfigured.
          audit(item.id, a, 'failed', { reason: 'unexpected-dry-run-result', after });
          return true;
        case 'failed':
          audit(item.id, a, 'failed', { reason: g.reason || 'guest-failed', after });
          return true;
        default:
          audit(item.id, a, 'failed', { reason: g.reason ? `unknown-result:${g.reason}` : 'unknown-result', after: { invocation: r.state } });
          return true;
      }
    }
    audit(item.id, a, 'failed', { reason: `invocation-${r.state}`, after: { status: r.status, detail: r.detail } });
    return true;
  }

  async function guestPhase(): Promise<boolean> {
    const threshold = maxErrorsCount(settings.remediationMaxErrors, state.guestPlanned);
    while (state.guest.length > 0) {
      if (state.guestStopped || state.guestFailures > threshold) {
        state.guestStopped = true;
        for (const g of state.guest.splice(0)) audit(g.id, 'enable-amazon-time-sync', 'skipped', { reason: 'max-errors-reached' });
        await flushAudit();
        break;
      }
      if (timeLeft() < waveBudgetMs) return false;
      const picked = state.guest.splice(0, o.guestWaveBatches * 50);
      // Opt-out re-read at the point of action: one batched DescribeInstances per wave.
      const fresh = await describeOrWait(picked.map((g) => g.id));
      if (!fresh) {
        state.guest.unshift(...picked);
        if (timeLeft() < o.verifyPollMs + waveBudgetMs) return false;
        await clock.sleep(o.verifyPollMs);
        continue;
      }
      const wave: GuestItem[] = [];
      for (const g of picked) {
        const cur = fresh.get(g.id);
        if (!cur) audit(g.id, 'enable-amazon-time-sync', 'skipped', { reason: 'instance-gone' });
        else if (cur.optedOut) audit(g.id, 'enable-amazon-time-sync', 'skipped', { reason: 'opted-out' });
        else wave.push(g);
      }
      if (wave.length === 0) {
        await flushAudit();
        continue;
      }
      const waveDeadline = clock.now() + waveBudgetMs;
      const groups: { endpoint: 'auto' | 'ipv6'; items: GuestItem[] }[] = [
        { endpoint: 'auto', items: wave.filter((g) => !g.ipv6) },
        { endpoint: 'ipv6', items: wave.filter((g) => g.ipv6) },
      ];
      state.counts.attempted += wave.length;
      const results = await Promise.all(
        groups
          .filter((g) => g.items.length > 0)
          .map(async (g) => {
            try {
              const res = await deps.runCommand.runDocument({
                instanceIds: g.items.map((i) => i.id),
                documentName: settings.remediationDocument,
                parameters: guestParams(g.endpoint),
                comment: `timesync-guard remediation ${state.runId}`,
                maxConcurrency: settings.remediationMaxConcurrency,
                maxErrors: settings.remediationMaxErrors,
                timeoutSeconds: settings.commandTimeoutSeconds,
                deadline: waveDeadline,
              });
              if (res.errors.length > 0) log?.error('remediation-guest-errors', { runId: state.runId, errors: res.errors.slice(0, 5) });
              return res.results;
            } catch (err) {
              log?.error('remediation-guest-send-failed', { runId: state.runId, error: String((err as Error)?.message ?? err) });
              return new Map<string, InvocationResult>();
            }
          }),
      );
      const merged = new Map<string, InvocationResult>();
      for (const m of results) for (const [k, v] of m) merged.set(k, v);
      for (const item of wave) if (judgeGuest(item, merged.get(item.id))) state.guestFailures++;
      await flushAudit();
    }
    return true;
  }

  // ---- drive the phases -------------------------------------------------------------------------
  // The IMDS changes wait on EC2's ModifyInstanceMetadataOptions bucket (5/s: ≈ 33 min for 10,000),
  // the guest waves on Run Command and SSM's rate: independent limits, and the in-guest scripts use
  // neither IMDS nor its settings. So the guest waves go out while the IMDS changes are paced, instead
  // of after them. `phase` stays the IMDS side's progress; `state.guest` holds the guest side's, so a
  // continuation resumes both wherever each stopped.
  const imdsSide = async (): Promise<void> => {
    if (state.phase === 'imds') {
      if (!(await imdsPhase())) return;
      state.phase = 'imds-verify';
    }
    if (state.phase === 'imds-verify') {
      if (await imdsVerifyPhase()) state.phase = 'guest';
    }
  };
  try {
    if (state.phase !== 'done') {
      const [, guestDone] = await Promise.all([imdsSide(), guestPhase()]);
      if (state.phase === 'guest' && guestDone) state.phase = 'done';
    }
  } finally {
    await flushAudit();
    state.bucket = imds.bucketState();
    state.auditLost = deps.audit.failedEntries() + (state.auditLost ?? 0);
  }

  const done = state.phase === 'done';
  const summary: RemediationSummary = {
    runId: state.runId,
    dryRun: state.dryRun,
    done,
    phase: state.phase,
    startedAt: new Date(state.startedAt).toISOString(),
    ...(done ? { finishedAt: new Date(clock.now()).toISOString() } : {}),
    invocations: state.invocations,
    fleetSize: state.fleetSize,
    cap: state.cap,
    plannedInstances: state.plannedInstances,
    counts: { ...state.counts },
    reasons: { ...state.reasons },
    pending: { imds: state.imds.length, verifying: state.verifying.length, guest: state.guest.length },
    guestStoppedAtMaxErrors: state.guestStopped,
    auditLost: state.auditLost,
  };

  if (!done) {
    const continuation = encodeContinuation(state, key, clock.now());
    log?.info('remediation-continue', { ...summary, continuationBytes: continuation.length });
    return { done: false, continuation, summary };
  }

  log?.info('remediation-summary', { ...summary });
  await deps.audit.summary({ ...summary });
  const sent = await (deps.notifier?.publish(
    `timesync-guard remediation ${state.dryRun ? '(dry run) ' : ''}${state.runId}: ${state.counts.succeeded} fixed, ${state.counts.failed} failed, ${state.counts.rolledBack} rolled back`,
    { ...summary },
  ) ?? Promise.resolve(false));
  if (deps.notifier && !sent) log?.warn('remediation-summary-not-sent', { runId: state.runId });
  await deps.metrics?.({
    attempted: state.counts.attempted,
    succeeded: state.counts.succeeded,
    failed: state.counts.failed,
    rolledBack: state.counts.rolledBack,
    skipped: state.counts.skipped,
    completed: 1,
  });
  return { done: true, summary };
}
