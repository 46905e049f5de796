/**
 * The continuation codec: the run state, compact (gzip + base64, ids once, delta-coded lists) and
 * signed (HMAC-SHA256 under the stack's key), so the next invocation resumes exactly where this one
 * stopped — and refuses anything it did not issue, anything too old, anything it cannot read.
 */
import { accountDefaultsRecordFrom } from './account-defaults';
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { gunzipSync, gzipSync } from 'node:zlib';
import type { TokenBucketState } from '../../core/util/token-bucket';
import type { ActionPhaseItems, RemediationCounts, RemediationPhase, RunState } from './state';

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

/**
 * How a plugged-in phase's items travel in a continuation: fields after the id, each without `.`
 * or `,`; `decode` throws a {@link ContinuationError} for a field it cannot read.
 */
export interface ItemCodec {
  readonly key: string;
  encode(item: { id: string }): readonly string[];
  decode(id: string, fields: readonly string[]): { id: string };
  /** Lists of an earlier format that carried these items (top-level field, its items' reader), read in this order. */
  readonly legacy?: readonly { readonly field: string; decode(id: string, fields: readonly string[]): { id: string } }[];
}

/**
 * The top-level fields of this format; any other that holds a list (a non-empty string) must be a
 * phase's `legacy` one, or the continuation is refused: work no phase reads would be lost.
 */
const FIELDS = new Set(['v', 'ia', 'r', 's', 'n', 'p', 'f', 'c', 'pi', 'k', 'why', 'b', 't', 'gp', 'gf', 'gs', 'al', 'x', 'ad']);

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
export function encodeContinuation(s: RunState, key: Uint8Array, issuedAt: number, codecs: readonly ItemCodec[] = []): string {
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
  // Every phase's list that has items (the IMDS side's too: ./imds-phase.ts); settings are never carried.
  let x: Record<string, string> | undefined;
  for (const c of codecs) {
    const items = s.actions?.[c.key] ?? [];
    if (items.length > 0) (x ??= {})[c.key] = deltas(items, (i) => c.encode(i).map((f) => `.${f}`).join(''));
  }
  // A list no codec carries would be lost work: a bug in the caller, never a silent drop.
  const lost = Object.keys(s.actions ?? {}).find((k) => (s.actions?.[k]?.length ?? 0) > 0 && !codecs.some((c) => c.key === k));
  if (lost !== undefined) throw new Error(`continuation: no codec for the pending items of phase ${JSON.stringify(lost)}`);
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
    t: table.join(','),
    gp: s.guestPlanned,
    gf: s.guestFailures,
    gs: s.guestStopped ? 1 : 0,
    al: s.auditLost,
    x,
    // Small (the check's account-defaults report and the set step's outcome); absent when not read.
    ad: s.accountDefaults,
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

/** A number field of a continuation, or a {@link ContinuationError} naming it. */
export function int(v: unknown, what: string): number {
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
export function decodeContinuation(text: string, key: Uint8Array, now: number, codecs: readonly ItemCodec[] = []): RunState {
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
  const x = typeof o.x === 'object' && o.x !== null ? (o.x as Record<string, unknown>) : {};
  const unknownKey = Object.keys(x).find((k) => !codecs.some((c) => c.key === k));
  if (unknownKey !== undefined) throw new ContinuationError(`continuation: unknown action phase ${JSON.stringify(unknownKey)}`);
  const actions: ActionPhaseItems = {};
  for (const c of codecs) if (x[c.key] !== undefined) actions[c.key] = list(x[c.key], table).map(({ id, f }) => c.decode(id, f));
  // Lists of earlier formats, read into their phase's list (the IMDS side's `w` and `q`: ./imds-phase.ts; the guest's `g`).
  for (const c of codecs) {
    for (const l of c.legacy ?? []) {
      const items = list(o[l.field], table);
      if (items.length === 0) continue;
      if (x[c.key] !== undefined) throw new ContinuationError(`continuation: both a ${l.field} list and a ${c.key} list`);
      (actions[c.key] ??= []).push(...items.map(({ id, f }) => l.decode(id, f)));
    }
  }
  const stray = Object.keys(o).find((k) => !FIELDS.has(k) && !codecs.some((c) => c.legacy?.some((l) => l.field === k)) && typeof o[k] === 'string' && o[k] !== '');
  if (stray !== undefined) throw new ContinuationError(`continuation: a ${JSON.stringify(stray)} list this engine cannot place`);
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
    guestPlanned: int(o.gp, 'guestPlanned'),
    guestFailures: int(o.gf, 'guestFailures'),
    guestStopped: o.gs === 1,
    auditLost: int(o.al ?? 0, 'auditLost'),
    ...(Object.keys(actions).length > 0 ? { actions } : {}),
    ...(accountDefaultsRecordFrom(o.ad) ? { accountDefaults: accountDefaultsRecordFrom(o.ad)! } : {}),
  };
}

