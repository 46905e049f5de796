/**
 * IMDSv2 orchestration, against explicit ports (no SDK):
 * - {@link imdsv2ReadinessStep}: the readiness of every instance, from the cached daily snapshot,
 *   refreshed with GetMetricData when it is older than 24 h (so the hourly check reads one object);
 * - {@link imdsv2WatchStep}: for the instances this deployment enforced (signed record, see
 *   ./imdsv2-record.ts) within the rollback window, the rejected IMDSv1 calls per hour since
 *   enforcement: reported (alarm metric, audit) by default; rolled back to `optional` only with
 *   `imdsv2AutoUndo` and rejections in two separate hours;
 * - {@link runImdsv2Enforcement}: the nightly phase that switches `ready` instances to
 *   `HttpTokens=required` (hop limit raised in the same call on container hosts), on the same
 *   read → pace → verify loop as the hop-limit changes (./remediation/metadata-loop.ts), each one
 *   re-read from CloudWatch first, tagged with the signed record, verified until `applied`.
 *
 * Why the watch runs in the check and not in the next nightly run: a rejected IMDSv1 call is a
 * workload failing now (its credentials stop refreshing), or someone probing the instance; the
 * check runs every hour, so the alarm (or the opt-in undo) comes within an hour.
 */
import { countReadiness, type FreshUsage, type Imdsv2Readiness, type Imdsv2State, IMDS_METRICS, judgeFreshUsage, readinessWindow } from '../core/imdsv2/readiness';
import { buildSnapshot, parseSnapshot, readinessFromSnapshot, snapshotIsFresh, snapshotWindowMismatch, type CurrentFacts } from '../core/imdsv2/snapshot';
import { decideRollbacks, type EnforcedTag, type Imdsv2Change, type Imdsv2Mode, parseEnforcedTag, rolledBackTagValue, watchList } from '../core/imdsv2/enforcement';
import { enforcementRecord, verifyEnforcementRecord } from './imdsv2-record';
import type { InstanceRecord } from '../core/types';
import type { Clock } from './ports';
import { type CredentialEvidenceDeps, type CredentialEvidenceResult, readCredentialEvidence } from './credential-evidence';
import { MetadataChangeLoop } from './remediation/metadata-loop';

/** Daily / windowed sums of one per-instance metric (lambda/aws/cloudwatch-metrics.ts). */
export interface Imdsv2MetricsPort {
  sums(metric: string, instanceIds: readonly string[], start: number, end: number, periodSeconds: number): Promise<Map<string, Map<number, number> | undefined>>;
  readonly stats?: { calls: number; queries: number; datapoints: number; throttled: number };
}

/** Where the snapshot is kept (lambda/aws/readiness-cache.ts). */
export interface Imdsv2SnapshotPort {
  read(): Promise<string | undefined>;
  write(text: string): Promise<void>;
}

/** Fresh metadata options (the subset the enforcement reads). */
export interface Imdsv2Fresh {
  readonly httpTokens?: 'optional' | 'required';
  readonly hopLimit?: number;
  readonly state?: 'pending' | 'applied';
  readonly optedOut?: boolean;
}

/** The EC2 side of enforcement and rollback. */
export interface Imdsv2Ec2Port {
  /** Fresh options; undefined when EC2 kept throttling (look again later). */
  describe(ids: readonly string[]): Promise<Map<string, Imdsv2Fresh> | undefined>;
  /** One paced ModifyInstanceMetadataOptions setting HttpTokens (and the hop limit when given). Never throws. */
  modify(request: { readonly instanceId: string; readonly httpTokens: 'required' | 'optional'; readonly hopLimit?: number }): Promise<{
    readonly outcome: 'requested' | 'gone' | 'throttled' | 'failed';
    readonly error?: string;
  }>;
  /** Milliseconds the next modify would wait for a token. */
  modifyWaitMs(): number;
  /** Sets the enforcement tag (`timesync-guard:imdsv2-enforced`) to `value`. Throws on failure. */
  tag(instanceId: string, value: string): Promise<void>;
}

export type Imdsv2AuditAction = 'require-imdsv2' | 'rollback-imdsv2';

/** One IMDSv2 audit record (sent as a `TimeSync Guard Remediation Action` event). */
export interface Imdsv2AuditRecord {
  readonly instanceId: string;
  readonly action: Imdsv2AuditAction;
  readonly outcome: 'planned' | 'applied' | 'verified' | 'rolled-back' | 'failed' | 'skipped';
  readonly reason?: string;
  readonly before?: unknown;
  readonly after?: unknown;
}

/** Settings of the readiness and watch steps. */
export interface Imdsv2CheckSettings {
  readonly imdsv2: Imdsv2Mode;
  readonly imdsv2LookbackDays: number;
  readonly imdsv2RollbackWindowHours: number;
  /** Roll back (only in `enforce` mode, and only after rejections in two separate hours); else alert only. */
  readonly imdsv2AutoUndo: boolean;
}

/** What the readiness step found. */
export interface Imdsv2ReadinessResult {
  readonly readiness: ReadonlyMap<string, Imdsv2Readiness>;
  readonly counts: Record<Imdsv2State, number>;
  /** True when this run fetched metrics (the daily refresh). */
  readonly refreshed: boolean;
  /** The refresh's GetMetricData calls (0 without a refresh) and its duration (clock ms). */
  readonly refresh: { readonly calls: number; readonly queries: number; readonly ms: number };
  /** ISO time of the data used. */
  readonly takenAt?: string;
  /** Set when readiness could not be read: no state is reported then (nothing is enforced on it). */
  readonly error?: string;
  /** Why the stored snapshot was refused (its window is not the settings' one); the run refreshed instead. */
  readonly refused?: string;
  /** CloudTrail's IMDSv1-credential evidence, when configured (./credential-evidence.ts). */
  readonly credentials?: CredentialEvidenceResult;
}

const facts = (r: InstanceRecord): CurrentFacts => ({
  instanceId: r.instanceId,
  ...(r.imds.httpTokens ? { httpTokens: r.imds.httpTokens } : {}),
  ...(r.launchTime ? { launchTime: r.launchTime } : {}),
  ...(r.ssm?.agentVersion ? { agentVersion: r.ssm.agentVersion } : {}),
});

/**
 * Readiness of `records`: from the stored snapshot when it is younger than 24 h (one read, no
 * GetMetricData), else a refresh of the whole fleet (daily periods, batched) written back. A failed
 * read or write of the store is logged and does not stop the check; a failed refresh leaves every
 * instance without a readiness (never `ready`).
 */
export async function imdsv2ReadinessStep(
  ports: {
    readonly metrics: Imdsv2MetricsPort;
    readonly store: Imdsv2SnapshotPort;
    readonly clock: Clock;
    readonly logger?: { warn(m: string, ...x: Record<string, unknown>[]): void };
    readonly credentials?: CredentialEvidenceDeps;
  },
  records: readonly InstanceRecord[],
  settings: Pick<Imdsv2CheckSettings, 'imdsv2LookbackDays'>,
): Promise<Imdsv2ReadinessResult> {
  const { clock } = ports;
  const now = clock.now();
  const credentials = ports.credentials ? await readCredentialEvidence(ports.credentials, clock) : undefined;
  if (credentials?.outcome === 'unreadable') ports.logger?.warn('imdsv2-cloudtrail-unreadable', { error: credentials.error });
  // With CloudTrail configured, its evidence is part of every instance's facts (unreadable: never ready).
  const withTrail = (f: CurrentFacts): CurrentFacts =>
    credentials === undefined ? f : { ...f, imdsv1CredentialDeliveries: credentials.outcome === 'read' ? (credentials.byInstance[f.instanceId]?.imdsv1Deliveries ?? 0) : null };
  const current = records.filter((r) => !r.optedOut).map(facts).map(withTrail);
  let stored: string | undefined;
  try {
    stored = await ports.store.read();
  } catch (err) {
    ports.logger?.warn('imdsv2-snapshot-unreadable', { error: String((err as Error)?.message ?? err) });
  }
  const snapshot = parseSnapshot(stored);
  // The object is an input, not the truth: its window must be the one the settings give for its time.
  const refused = snapshot ? snapshotWindowMismatch(snapshot, settings.imdsv2LookbackDays) : undefined;
  if (refused !== undefined) ports.logger?.warn('imdsv2-snapshot-refused', { reason: refused, takenAt: snapshot?.takenAt });
  const result = (list: Imdsv2Readiness[], refreshed: boolean, refresh: Imdsv2ReadinessResult['refresh'], takenAt: string): Imdsv2ReadinessResult => ({
    readiness: new Map(list.map((r) => [r.instanceId, r])),
    counts: countReadiness(list),
    refreshed,
    refresh,
    takenAt,
    ...(refused !== undefined ? { refused } : {}),
    ...(credentials ? { credentials } : {}),
  });
  if (refused === undefined && snapshotIsFresh(snapshot, now, settings.imdsv2LookbackDays)) {
    return result(readinessFromSnapshot(snapshot, current, settings.imdsv2LookbackDays), false, { calls: 0, queries: 0, ms: 0 }, snapshot.takenAt);
  }
  const window = readinessWindow(now, settings.imdsv2LookbackDays);
  const before = { calls: ports.metrics.stats?.calls ?? 0, queries: ports.metrics.stats?.queries ?? 0 };
  let sums: Map<string, Map<number, number> | undefined>;
  try {
    sums = await ports.metrics.sums(IMDS_METRICS.noToken, current.map((c) => c.instanceId), window.start, window.end, 86_400);
  } catch (err) {
    const error = `GetMetricData failed: ${String((err as Error)?.message ?? err)}`;
    ports.logger?.warn('imdsv2-readiness-failed', { error });
    return { readiness: new Map(), counts: countReadiness([]), refreshed: false, refresh: { calls: 0, queries: 0, ms: clock.now() - now }, error, ...(refused !== undefined ? { refused } : {}) };
  }
  const daily = new Map<string, Record<string, number> | undefined>();
  for (const c of current) daily.set(c.instanceId, dayRecord(sums.get(c.instanceId), sums.has(c.instanceId)));
  const snap = buildSnapshot(window, settings.imdsv2LookbackDays, daily);
  try {
    await ports.store.write(JSON.stringify(snap));
  } catch (err) {
    ports.logger?.warn('imdsv2-snapshot-not-written', { error: String((err as Error)?.message ?? err) });
  }
  const refresh = {
    calls: (ports.metrics.stats?.calls ?? 0) - before.calls,
    queries: (ports.metrics.stats?.queries ?? 0) - before.queries,
    ms: clock.now() - now,
  };
  return result(readinessFromSnapshot(snap, current, settings.imdsv2LookbackDays), true, refresh, snap.takenAt);
}

function dayRecord(m: Map<number, number> | undefined, known: boolean): Record<string, number> | undefined {
  if (!known || !m) return undefined;
  const out: Record<string, number> = {};
  for (const [t, v] of m) {
    const d = new Date(t).toISOString().slice(0, 10);
    out[d] = (out[d] ?? 0) + v;
  }
  return out;
}

/** One watched instance with rejected IMDSv1 calls since its enforcement. */
export interface Imdsv2Rejection {
  readonly instanceId: string;
  readonly rejectedCalls: number;
  /** Separate hourly periods with rejections. */
  readonly rejectedHours: number;
}

/** What the watch step did. */
export interface Imdsv2WatchResult {
  readonly watched: number;
  /** Every watched instance with rejected calls this run (rolled back or not): the alarm's count. */
  readonly rejected: readonly Imdsv2Rejection[];
  readonly rolledBack: readonly Imdsv2Rejection[];
  readonly failed: readonly { readonly instanceId: string; readonly reason: string }[];
  /** Instances carrying the enforcement tag with tokens required whose record does not verify: never watched, never undone. */
  readonly unverified: readonly string[];
  readonly calls: number;
  readonly error?: string;
}

const HOUR_MS = 3_600_000;

/**
 * Watches the instances this deployment enforced within the window: the hourly Sums of
 * `MetadataNoTokenRejected` since each one's enforcement. Only a record that verifies under the
 * stack's key counts as "enforced by us" (a tag anyone with ec2:CreateTags wrote is skipped and
 * logged). Each instance with rejected calls gets an audit record and counts towards the
 * `Imdsv2Rejected` alarm. It is rolled back (`HttpTokens=optional`, tag re-valued
 * `rolled-back:<date>`, so it is never enforced again) only when `imdsv2` is `enforce`,
 * `imdsv2AutoUndo` is on and the rejections fall in two separate hours; IAM grants the undo only
 * then, too.
 */
export async function imdsv2WatchStep(
  ports: {
    readonly metrics: Imdsv2MetricsPort;
    readonly ec2: Imdsv2Ec2Port;
    readonly clock: Clock;
    readonly audit: (records: readonly Imdsv2AuditRecord[]) => Promise<void>;
    /** The stack's record key; without it nothing is watched (nothing unverified is acted on). */
    readonly recordKey?: () => Promise<Uint8Array>;
    readonly logger?: { warn(m: string, ...x: Record<string, unknown>[]): void };
  },
  records: readonly InstanceRecord[],
  settings: Pick<Imdsv2CheckSettings, 'imdsv2' | 'imdsv2RollbackWindowHours' | 'imdsv2AutoUndo'>,
): Promise<Imdsv2WatchResult> {
  const now = ports.clock.now();
  const empty = { rejected: [], rolledBack: [], failed: [], unverified: [] };
  // An instance opted out since its enforcement is its owner's to undo (IAM denies it too).
  const tagged = records
    .filter((r) => !r.optedOut)
    .map((r) => ({ instanceId: r.instanceId, httpTokens: r.imds.httpTokens, tag: parseEnforcedTag(r.imdsv2Enforced) }));
  const candidates = watchList(tagged, now, settings.imdsv2RollbackWindowHours);
  if (candidates.length === 0) return { watched: 0, ...empty, calls: 0 };
  let key: Uint8Array;
  try {
    if (!ports.recordKey) throw new Error('no record key configured (TSG_IMDSV2_RECORD_KEY_SECRET)');
    key = await ports.recordKey();
  } catch (err) {
    const error = `record key unreadable: ${String((err as Error)?.message ?? err)}`;
    ports.logger?.warn('imdsv2-watch-failed', { error });
    return { watched: 0, ...empty, calls: 0, error };
  }
  const tagOf = new Map<string, EnforcedTag | undefined>(tagged.map((t) => [t.instanceId, t.tag]));
  const watched = candidates.filter((w) => verifyEnforcementRecord(key, w.instanceId, tagOf.get(w.instanceId)));
  const unverified = candidates.filter((w) => !watched.includes(w)).map((w) => w.instanceId);
  if (unverified.length > 0) ports.logger?.warn('imdsv2-enforcement-tag-unverified', { instanceIds: unverified, count: unverified.length });
  if (watched.length === 0) return { watched: 0, ...empty, unverified, calls: 0 };
  const callsBefore = ports.metrics.stats?.calls ?? 0;
  // Hourly sums from the hour of the earliest enforcement to now: whether rejections came in
  // separate hours is what the opt-in undo needs (≤ 2,160 points a query: 46 instances a call at most).
  const start = Math.floor(Math.min(...watched.map((w) => w.since)) / HOUR_MS) * HOUR_MS;
  const end = Math.max(start + HOUR_MS, Math.ceil(now / HOUR_MS) * HOUR_MS);
  let sums: Map<string, Map<number, number> | undefined>;
  try {
    sums = await ports.metrics.sums(IMDS_METRICS.noTokenRejected, watched.map((w) => w.instanceId), start, end, 3600);
  } catch (err) {
    const error = `GetMetricData failed: ${String((err as Error)?.message ?? err)}`;
    ports.logger?.warn('imdsv2-watch-failed', { error });
    return { watched: watched.length, ...empty, unverified, calls: (ports.metrics.stats?.calls ?? 0) - callsBefore, error };
  }
  const undo = settings.imdsv2 === 'enforce' && settings.imdsv2AutoUndo;
  const decisions = decideRollbacks(watched, sums, undo);
  const rejected = decisions.map(({ instanceId, rejectedCalls, rejectedHours }) => ({ instanceId, rejectedCalls, rejectedHours }));
  const rolledBack: Imdsv2Rejection[] = [];
  const failed: { instanceId: string; reason: string }[] = [];
  const audit: Imdsv2AuditRecord[] = [];
  for (const d of decisions) {
    const r = { instanceId: d.instanceId, rejectedCalls: d.rejectedCalls, rejectedHours: d.rejectedHours };
    const before = { httpTokens: 'required', rejectedCalls: d.rejectedCalls, rejectedHours: d.rejectedHours };
    if (d.action === 'alert') {
      audit.push({ instanceId: d.instanceId, action: 'rollback-imdsv2', outcome: 'skipped', reason: d.reason, before });
      continue;
    }
    const res = await rollBackOne(ports.ec2, d.instanceId);
    if (res.outcome === 'requested') {
      try {
        await ports.ec2.tag(d.instanceId, rolledBackTagValue(ports.clock.now()));
      } catch (err) {
        // The undo itself happened; a tag left at its enforcement record only means the next runs watch it again.
        ports.logger?.warn('imdsv2-rollback-tag-failed', { instanceId: d.instanceId, error: String((err as Error)?.message ?? err) });
      }
      rolledBack.push(r);
      audit.push({ instanceId: d.instanceId, action: 'rollback-imdsv2', outcome: 'rolled-back', reason: d.reason, before, after: { httpTokens: 'optional' } });
    } else {
      failed.push({ instanceId: d.instanceId, reason: res.outcome });
      audit.push({ instanceId: d.instanceId, action: 'rollback-imdsv2', outcome: 'failed', reason: `rollback-${res.outcome}`, before, ...(res.error ? { after: { error: res.error } } : {}) });
    }
  }
  if (audit.length > 0) await ports.audit(audit);
  return { watched: watched.length, rejected, rolledBack, failed, unverified, calls: (ports.metrics.stats?.calls ?? 0) - callsBefore };
}

async function rollBackOne(ec2: Imdsv2Ec2Port, instanceId: string): Promise<{ outcome: string; error?: string }> {
  // A throttled undo is retried a few times here: the workload is failing now.
  for (let attempt = 0; attempt < 3; attempt++) {
    const res = await ec2.modify({ instanceId, httpTokens: 'optional' });
    if (res.outcome !== 'throttled') return res;
  }
  return { outcome: 'throttled' };
}

/** Progress of the enforcement phase, carried between invocations (ids only). */
export interface Imdsv2EnforcementState {
  /** Still to switch. */
  pending: Imdsv2Change[];
  /** Switched, waiting for `applied`: id, hop target (0: none), clock ms of the request. */
  verifying: { id: string; hop: number; at: number }[];
}

/** Options of {@link runImdsv2Enforcement}. */
export interface Imdsv2EnforcementOptions {
  readonly deadline: number;
  /** @default 120000 */
  readonly verifyTimeoutMs?: number;
  /** @default 5000 */
  readonly verifyPollMs?: number;
  /** @default 100 */
  readonly chunkSize?: number;
  readonly dryRun?: boolean;
}

/**
 * The remediate side's own read of `MetadataNoToken` for instances it is about to switch: daily
 * sums over the readiness window the settings give now, judged by {@link judgeFreshUsage}. The plan
 * came from a snapshot another role wrote; the switch rests on this read. A failed call throws
 * (the caller switches none of them).
 */
export function freshUsageRecheck(
  metrics: Imdsv2MetricsPort,
  clock: Clock,
  lookbackDays: number,
): (ids: readonly string[]) => Promise<ReadonlyMap<string, FreshUsage>> {
  return async (ids) => {
    const window = readinessWindow(clock.now(), lookbackDays);
    const sums = await metrics.sums(IMDS_METRICS.noToken, ids, window.start, window.end, 86_400);
    return new Map(ids.map((id) => [id, judgeFreshUsage(dayRecord(sums.get(id), sums.has(id)), window)]));
  };
}

/**
 * The nightly enforcement phase: for each planned instance, a fresh read of its options (skip if
 * gone, opted out, or already required) and of its `MetadataNoToken` (skip unless clean: see
 * {@link freshUsageRecheck}), the signed enforcement record FIRST (so the watch knows the switch
 * is ours the moment tokens are required), then one ModifyInstanceMetadataOptions with
 * `HttpTokens=required` (and the hop limit), then verification until `applied`. Returns true when
 * nothing is left; otherwise the state holds the rest for the next invocation.
 */
export async function runImdsv2Enforcement(
  ports: {
    readonly ec2: Imdsv2Ec2Port;
    readonly clock: Clock;
    readonly audit: (r: Imdsv2AuditRecord) => void;
    /** Fresh MetadataNoToken verdicts; an instance not `clean` (or a failed read) is not switched. */
    readonly recheck: (ids: readonly string[]) => Promise<ReadonlyMap<string, FreshUsage>>;
    /** The stack's record key (signs the enforcement tag); unreadable → nothing is switched. */
    readonly recordKey: () => Promise<Uint8Array>;
  },
  state: Imdsv2EnforcementState,
  opts: Imdsv2EnforcementOptions,
): Promise<boolean> {
  const { ec2, clock, audit } = ports;
  const verifyTimeoutMs = opts.verifyTimeoutMs ?? 120_000;
  const pollMs = opts.verifyPollMs ?? 5_000;
  const chunkSize = Math.max(1, Math.min(200, opts.chunkSize ?? 100));
  if (opts.dryRun) {
    for (const c of state.pending.splice(0)) audit({ instanceId: c.instanceId, action: 'require-imdsv2', outcome: 'skipped', reason: 'dry-run' });
    return true;
  }
  let key: Uint8Array | undefined;
  if (state.pending.length > 0) {
    try {
      key = await ports.recordKey();
    } catch (err) {
      // Without a record the watch could not tell this switch from a forged tag: switch nothing.
      const error = String((err as Error)?.message ?? err);
      for (const c of state.pending.splice(0)) audit({ instanceId: c.instanceId, action: 'require-imdsv2', outcome: 'failed', reason: 'record-key-unreadable', after: { error } });
    }
  }
  type Item = Imdsv2Change & { readonly id: string };
  // The shared read → pace → verify loop (./remediation/metadata-loop.ts); its queue is `state.pending`, keyed by id.
  const queue: Item[] = state.pending.map((c) => ({ ...c, id: c.instanceId }));
  const loop = new MetadataChangeLoop<Item, Imdsv2Fresh, ReadonlyMap<string, FreshUsage>>({
    clock,
    chunkSize,
    pollMs,
    verifyMinAgeMs: 2_000,
    queue: () => queue,
    verifying: () => state.verifying,
    keepVerifying: (left) => void (state.verifying = left as Imdsv2EnforcementState['verifying']),
    timeLeft: () => opts.deadline - clock.now(),
    modifyWaitMs: () => ec2.modifyWaitMs(),
    describe: (ids) => ec2.describe(ids),
    async prepare(chunk) {
      try {
        return { value: await ports.recheck(chunk.map((c) => c.instanceId)) };
      } catch (err) {
        const error = String((err as Error)?.message ?? err);
        for (const c of chunk) audit({ instanceId: c.instanceId, action: 'require-imdsv2', outcome: 'skipped', reason: 'usage-unreadable', after: { error } });
        return undefined;
      }
    },
    async act(c, cur, usage) {
      const before = cur ? { httpTokens: cur.httpTokens, hopLimit: cur.hopLimit } : undefined;
      if (!cur) {
        audit({ instanceId: c.instanceId, action: 'require-imdsv2', outcome: 'skipped', reason: 'instance-gone' });
        return;
      }
      if (cur.optedOut) {
        audit({ instanceId: c.instanceId, action: 'require-imdsv2', outcome: 'skipped', reason: 'opted-out', before });
        return;
      }
      if (cur.httpTokens === 'required') {
        audit({ instanceId: c.instanceId, action: 'require-imdsv2', outcome: 'skipped', reason: 'already-compliant', before });
        return;
      }
      const used = usage.get(c.instanceId) ?? 'unreadable';
      if (used !== 'clean') {
        audit({ instanceId: c.instanceId, action: 'require-imdsv2', outcome: 'skipped', reason: used === 'uses-imdsv1' ? 'uses-imdsv1' : `usage-${used}`, before });
        return;
      }
      // Never lower: the hop limit is sent only when it raises it.
      const hop = c.hopLimit !== undefined && (cur.hopLimit ?? 1) < c.hopLimit ? c.hopLimit : undefined;
      try {
        await ec2.tag(c.instanceId, enforcementRecord(key!, c.instanceId, clock.now()));
      } catch (err) {
        // Without the record the watch would not know the switch is ours: do not switch.
        audit({ instanceId: c.instanceId, action: 'require-imdsv2', outcome: 'failed', reason: 'tag-failed', before, after: { error: String((err as Error)?.message ?? err) } });
        return;
      }
      const res = await ec2.modify({ instanceId: c.instanceId, httpTokens: 'required', ...(hop !== undefined ? { hopLimit: hop } : {}) });
      if (res.outcome === 'throttled') {
        queue.push(c);
        return;
      }
      if (res.outcome === 'requested') {
        audit({ instanceId: c.instanceId, action: 'require-imdsv2', outcome: 'applied', before, after: { httpTokens: 'required', ...(hop !== undefined ? { hopLimit: hop } : {}) } });
        state.verifying.push({ id: c.instanceId, hop: hop ?? 0, at: clock.now() });
      } else {
        audit({ instanceId: c.instanceId, action: 'require-imdsv2', outcome: res.outcome === 'gone' ? 'skipped' : 'failed', reason: res.outcome === 'gone' ? 'instance-gone' : 'modify-failed', before, ...(res.error ? { after: { error: res.error } } : {}) });
      }
    },
    judge(v, cur, now) {
      const hop = (v as Imdsv2EnforcementState['verifying'][number]).hop;
      const after = cur ? { httpTokens: cur.httpTokens, hopLimit: cur.hopLimit, state: cur.state } : undefined;
      if (!cur) {
        audit({ instanceId: v.id, action: 'require-imdsv2', outcome: 'failed', reason: 'instance-gone' });
        return true;
      }
      if (cur.state === 'applied' && cur.httpTokens === 'required' && (hop === 0 || (cur.hopLimit ?? 0) >= hop)) {
        audit({ instanceId: v.id, action: 'require-imdsv2', outcome: 'verified', after });
        return true;
      }
      if (now - v.at >= verifyTimeoutMs) {
        audit({ instanceId: v.id, action: 'require-imdsv2', outcome: 'failed', reason: 'not-applied', after });
        return true;
      }
      return false;
    },
  });
  try {
    if (key && !(await loop.changes())) return false;
    return await loop.verify();
  } finally {
    // What is left goes back to the caller's state (it carries `pending` to the next invocation).
    state.pending = queue.map(({ id: _id, ...c }) => c);
  }
}

/** The ports the check needs for IMDSv2: readiness always, the watch when EC2 and audit are given. */
export interface Imdsv2CheckPorts {
  readonly metrics: Imdsv2MetricsPort;
  readonly store: Imdsv2SnapshotPort;
  /** The stack's record key (verifies enforcement records); without it the watch acts on nothing. */
  readonly recordKey?: () => Promise<Uint8Array>;
  /** Rollback of enforced instances; without it the watch does not run. */
  readonly ec2?: Imdsv2Ec2Port;
  readonly audit?: (records: readonly Imdsv2AuditRecord[]) => Promise<void>;
  /** CloudTrail's IMDSv1-credential evidence (setting `cloudTrail`). @default - not read */
  readonly credentials?: CredentialEvidenceDeps;
}

/** IMDSv2 part of one check run. */
export interface Imdsv2CheckResult {
  readonly readiness: Imdsv2ReadinessResult;
  readonly watch?: Imdsv2WatchResult;
}

/** Readiness and the rollback watch of one check run, side by side; never throws. */
export async function runImdsv2Checks(
  ports: Imdsv2CheckPorts,
  records: readonly InstanceRecord[],
  settings: Imdsv2CheckSettings,
  clock: Clock,
  logger?: { warn(m: string, ...x: Record<string, unknown>[]): void; error(m: string, ...x: Record<string, unknown>[]): void },
): Promise<Imdsv2CheckResult> {
  const readinessP = imdsv2ReadinessStep({ metrics: ports.metrics, store: ports.store, clock, ...(logger ? { logger } : {}), ...(ports.credentials ? { credentials: ports.credentials } : {}) }, records, settings);
  const watchP =
    ports.ec2 && ports.audit
      ? imdsv2WatchStep(
          { metrics: ports.metrics, ec2: ports.ec2, audit: ports.audit, clock, ...(ports.recordKey ? { recordKey: ports.recordKey } : {}), ...(logger ? { logger } : {}) },
          records,
          settings,
        ).catch(
          (err: unknown): Imdsv2WatchResult => {
            const error = String((err as Error)?.message ?? err);
            logger?.error('imdsv2-watch-error', { error });
            return { watched: 0, rejected: [], rolledBack: [], failed: [], unverified: [], calls: 0, error };
          },
        )
      : undefined;
  const [readiness, watch] = await Promise.all([readinessP, watchP]);
  return { readiness, ...(watch ? { watch } : {}) };
}
