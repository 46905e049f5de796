/**
 * IMDSv2 orchestration, against explicit ports (no SDK):
 * - {@link imdsv2ReadinessStep}: the readiness of every instance, from the cached daily snapshot,
 *   refreshed with GetMetricData when it is older than 24 h (so the hourly check reads one object);
 * - {@link imdsv2WatchStep}: for the instances enforced within the rollback window, the rejected
 *   IMDSv1 calls since enforcement; any → roll back to `optional` at once, tag, audit;
 * - {@link runImdsv2Enforcement}: the nightly phase that switches `ready` instances to
 *   `HttpTokens=required` (hop limit raised in the same call on container hosts), paced like the
 *   hop-limit changes, tagged, verified until `applied`.
 *
 * Why the rollback runs in the check and not in the next nightly run: a rejected IMDSv1 call is a
 * workload failing now (its credentials stop refreshing); the check runs every hour, the nightly
 * run once a day, so the undo comes within an hour instead of up to a day later.
 */
import { countReadiness, type Imdsv2Readiness, type Imdsv2State, IMDS_METRICS, readinessWindow } from '../core/imdsv2/readiness';
import { buildSnapshot, parseSnapshot, readinessFromSnapshot, snapshotIsFresh, type CurrentFacts } from '../core/imdsv2/snapshot';
import { decideRollbacks, enforcedTagValue, type Imdsv2Change, type Imdsv2Mode, parseEnforcedTag, watchList } from '../core/imdsv2/enforcement';
import type { InstanceRecord } from '../core/types';
import type { Clock } from './ports';

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
  ports: { readonly metrics: Imdsv2MetricsPort; readonly store: Imdsv2SnapshotPort; readonly clock: Clock; readonly logger?: { warn(m: string, ...x: Record<string, unknown>[]): void } },
  records: readonly InstanceRecord[],
  settings: Pick<Imdsv2CheckSettings, 'imdsv2LookbackDays'>,
): Promise<Imdsv2ReadinessResult> {
  const { clock } = ports;
  const now = clock.now();
  const current = records.filter((r) => !r.optedOut).map(facts);
  let stored: string | undefined;
  try {
    stored = await ports.store.read();
  } catch (err) {
    ports.logger?.warn('imdsv2-snapshot-unreadable', { error: String((err as Error)?.message ?? err) });
  }
  const snapshot = parseSnapshot(stored);
  const result = (list: Imdsv2Readiness[], refreshed: boolean, refresh: Imdsv2ReadinessResult['refresh'], takenAt: string): Imdsv2ReadinessResult => ({
    readiness: new Map(list.map((r) => [r.instanceId, r])),
    counts: countReadiness(list),
    refreshed,
    refresh,
    takenAt,
  });
  if (snapshotIsFresh(snapshot, now, settings.imdsv2LookbackDays)) {
    return result(readinessFromSnapshot(snapshot, current), false, { calls: 0, queries: 0, ms: 0 }, snapshot.takenAt);
  }
  const window = readinessWindow(now, settings.imdsv2LookbackDays);
  const before = { calls: ports.metrics.stats?.calls ?? 0, queries: ports.metrics.stats?.queries ?? 0 };
  let sums: Map<string, Map<number, number> | undefined>;
  try {
    sums = await ports.metrics.sums(IMDS_METRICS.noToken, current.map((c) => c.instanceId), window.start, window.end, 86_400);
  } catch (err) {
    const error = `GetMetricData failed: ${String((err as Error)?.message ?? err)}`;
    ports.logger?.warn('imdsv2-readiness-failed', { error });
    return { readiness: new Map(), counts: countReadiness([]), refreshed: false, refresh: { calls: 0, queries: 0, ms: clock.now() - now }, error };
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
  return result(readinessFromSnapshot(snap, current), true, refresh, snap.takenAt);
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

/** What the watch step did. */
export interface Imdsv2WatchResult {
  readonly watched: number;
  readonly rolledBack: readonly { readonly instanceId: string; readonly rejectedCalls: number }[];
  readonly failed: readonly { readonly instanceId: string; readonly reason: string }[];
  readonly calls: number;
  readonly error?: string;
}

/**
 * Watches the instances enforced within the window: the Sum of `MetadataNoTokenRejected` since each
 * one's enforcement (one datapoint per query), and rolls back at once any with a rejected call:
 * `HttpTokens=optional` (IAM allows it only on instances carrying our tag), the tag re-valued
 * `rolled-back:<date>` (so it is never enforced again), an audit record with the count.
 */
export async function imdsv2WatchStep(
  ports: {
    readonly metrics: Imdsv2MetricsPort;
    readonly ec2: Imdsv2Ec2Port;
    readonly clock: Clock;
    readonly audit: (records: readonly Imdsv2AuditRecord[]) => Promise<void>;
    readonly logger?: { warn(m: string, ...x: Record<string, unknown>[]): void };
  },
  records: readonly InstanceRecord[],
  settings: Pick<Imdsv2CheckSettings, 'imdsv2RollbackWindowHours'>,
): Promise<Imdsv2WatchResult> {
  const now = ports.clock.now();
  const watched = watchList(
    // An instance opted out since its enforcement is its owner's to undo (IAM denies it too).
    records.filter((r) => !r.optedOut).map((r) => ({ instanceId: r.instanceId, httpTokens: r.imds.httpTokens, tag: parseEnforcedTag(r.imdsv2Enforced) })),
    now,
    settings.imdsv2RollbackWindowHours,
  );
  if (watched.length === 0) return { watched: 0, rolledBack: [], failed: [], calls: 0 };
  const callsBefore = ports.metrics.stats?.calls ?? 0;
  // One query per instance from the earliest enforcement to now, period = the whole span rounded up
  // to a minute: one datapoint each, so 500 instances per call.
  const start = Math.floor(Math.min(...watched.map((w) => w.since)) / 60_000) * 60_000;
  const period = Math.max(60, Math.ceil((now - start) / 60_000) * 60);
  let sums: Map<string, Map<number, number> | undefined>;
  try {
    sums = await ports.metrics.sums(IMDS_METRICS.noTokenRejected, watched.map((w) => w.instanceId), start, start + period * 1000, period);
  } catch (err) {
    const error = `GetMetricData failed: ${String((err as Error)?.message ?? err)}`;
    ports.logger?.warn('imdsv2-watch-failed', { error });
    return { watched: watched.length, rolledBack: [], failed: [], calls: (ports.metrics.stats?.calls ?? 0) - callsBefore, error };
  }
  const totals = new Map<string, number | undefined>();
  for (const w of watched) {
    const m = sums.get(w.instanceId);
    totals.set(w.instanceId, m ? [...m.values()].reduce((a, b) => a + b, 0) : undefined);
  }
  const decisions = decideRollbacks(watched, totals);
  const rolledBack: { instanceId: string; rejectedCalls: number }[] = [];
  const failed: { instanceId: string; reason: string }[] = [];
  const audit: Imdsv2AuditRecord[] = [];
  for (const d of decisions) {
    const before = { httpTokens: 'required', rejectedCalls: d.rejectedCalls };
    const res = await rollBackOne(ports.ec2, d.instanceId);
    if (res.outcome === 'requested') {
      try {
        await ports.ec2.tag(d.instanceId, enforcedTagValue(ports.clock.now(), true));
      } catch (err) {
        // The undo itself happened; a tag left at its enforcement date only means the next runs watch it again.
        ports.logger?.warn('imdsv2-rollback-tag-failed', { instanceId: d.instanceId, error: String((err as Error)?.message ?? err) });
      }
      rolledBack.push(d);
      audit.push({ instanceId: d.instanceId, action: 'rollback-imdsv2', outcome: 'rolled-back', reason: 'imdsv1-calls-rejected', before, after: { httpTokens: 'optional' } });
    } else {
      failed.push({ instanceId: d.instanceId, reason: res.outcome });
      audit.push({ instanceId: d.instanceId, action: 'rollback-imdsv2', outcome: 'failed', reason: `rollback-${res.outcome}`, before, ...(res.error ? { after: { error: res.error } } : {}) });
    }
  }
  if (audit.length > 0) await ports.audit(audit);
  return { watched: watched.length, rolledBack, failed, calls: (ports.metrics.stats?.calls ?? 0) - callsBefore };
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
 * The nightly enforcement phase: for each planned instance, a fresh read (skip if gone, opted out,
 * or already required), the tag FIRST (so the IAM-gated undo is possible the moment tokens are
 * required), then one ModifyInstanceMetadataOptions with `HttpTokens=required` (and the hop limit),
 * then verification until `applied`. Returns true when nothing is left; otherwise the state holds
 * the rest for the next invocation.
 */
export async function runImdsv2Enforcement(
  ports: { readonly ec2: Imdsv2Ec2Port; readonly clock: Clock; readonly audit: (r: Imdsv2AuditRecord) => void },
  state: Imdsv2EnforcementState,
  opts: Imdsv2EnforcementOptions,
): Promise<boolean> {
  const { ec2, clock, audit } = ports;
  const verifyTimeoutMs = opts.verifyTimeoutMs ?? 120_000;
  const pollMs = opts.verifyPollMs ?? 5_000;
  const chunkSize = Math.max(1, Math.min(200, opts.chunkSize ?? 100));
  const timeLeft = (): number => opts.deadline - clock.now();
  if (opts.dryRun) {
    for (const c of state.pending.splice(0)) audit({ instanceId: c.instanceId, action: 'require-imdsv2', outcome: 'skipped', reason: 'dry-run' });
    return true;
  }
  const verify = async (): Promise<void> => {
    const due = state.verifying.filter((v) => clock.now() - v.at >= 2_000);
    if (due.length === 0) return;
    const fresh = await ec2.describe(due.map((v) => v.id));
    if (!fresh) return;
    const done = new Set<string>();
    for (const v of due) {
      const cur = fresh.get(v.id);
      const after = cur ? { httpTokens: cur.httpTokens, hopLimit: cur.hopLimit, state: cur.state } : undefined;
      if (!cur) {
        audit({ instanceId: v.id, action: 'require-imdsv2', outcome: 'failed', reason: 'instance-gone' });
        done.add(v.id);
      } else if (cur.state === 'applied' && cur.httpTokens === 'required' && (v.hop === 0 || (cur.hopLimit ?? 0) >= v.hop)) {
        audit({ instanceId: v.id, action: 'require-imdsv2', outcome: 'verified', after });
        done.add(v.id);
      } else if (clock.now() - v.at >= verifyTimeoutMs) {
        audit({ instanceId: v.id, action: 'require-imdsv2', outcome: 'failed', reason: 'not-applied', after });
        done.add(v.id);
      }
    }
    state.verifying = state.verifying.filter((v) => !done.has(v.id));
  };
  while (state.pending.length > 0) {
    if (timeLeft() < 2_000 + ec2.modifyWaitMs()) return false;
    const chunk = state.pending.splice(0, chunkSize);
    const fresh = await ec2.describe(chunk.map((c) => c.instanceId));
    if (!fresh) {
      state.pending.unshift(...chunk);
      if (timeLeft() < pollMs + 2_000) return false;
      await clock.sleep(pollMs);
      continue;
    }
    for (let k = 0; k < chunk.length; k++) {
      const c = chunk[k]!;
      if (timeLeft() < ec2.modifyWaitMs() + 1_000) {
        state.pending.unshift(...chunk.slice(k));
        return false;
      }
      const cur = fresh.get(c.instanceId);
      const before = cur ? { httpTokens: cur.httpTokens, hopLimit: cur.hopLimit } : undefined;
      if (!cur) {
        audit({ instanceId: c.instanceId, action: 'require-imdsv2', outcome: 'skipped', reason: 'instance-gone' });
        continue;
      }
      if (cur.optedOut) {
        audit({ instanceId: c.instanceId, action: 'require-imdsv2', outcome: 'skipped', reason: 'opted-out', before });
        continue;
      }
      if (cur.httpTokens === 'required') {
        audit({ instanceId: c.instanceId, action: 'require-imdsv2', outcome: 'skipped', reason: 'already-compliant', before });
        continue;
      }
      // Never lower: the hop limit is sent only when it raises it.
      const hop = c.hopLimit !== undefined && (cur.hopLimit ?? 1) < c.hopLimit ? c.hopLimit : undefined;
      try {
        await ec2.tag(c.instanceId, enforcedTagValue(clock.now()));
      } catch (err) {
        // Without the tag the undo would be denied by IAM: do not switch.
        audit({ instanceId: c.instanceId, action: 'require-imdsv2', outcome: 'failed', reason: 'tag-failed', before, after: { error: String((err as Error)?.message ?? err) } });
        continue;
      }
      const res = await ec2.modify({ instanceId: c.instanceId, httpTokens: 'required', ...(hop !== undefined ? { hopLimit: hop } : {}) });
      if (res.outcome === 'throttled') {
        state.pending.push(c);
        continue;
      }
      if (res.outcome === 'requested') {
        audit({ instanceId: c.instanceId, action: 'require-imdsv2', outcome: 'applied', before, after: { httpTokens: 'required', ...(hop !== undefined ? { hopLimit: hop } : {}) } });
        state.verifying.push({ id: c.instanceId, hop: hop ?? 0, at: clock.now() });
      } else {
        audit({ instanceId: c.instanceId, action: 'require-imdsv2', outcome: res.outcome === 'gone' ? 'skipped' : 'failed', reason: res.outcome === 'gone' ? 'instance-gone' : 'modify-failed', before, ...(res.error ? { after: { error: res.error } } : {}) });
      }
    }
    await verify();
  }
  while (state.verifying.length > 0) {
    if (timeLeft() < pollMs + 2_000) return false;
    await clock.sleep(pollMs);
    await verify();
  }
  return true;
}

/** The ports the check needs for IMDSv2: readiness always, the watch when EC2 and audit are given. */
export interface Imdsv2CheckPorts {
  readonly metrics: Imdsv2MetricsPort;
  readonly store: Imdsv2SnapshotPort;
  /** Rollback of enforced instances; without it the watch does not run. */
  readonly ec2?: Imdsv2Ec2Port;
  readonly audit?: (records: readonly Imdsv2AuditRecord[]) => Promise<void>;
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
  const readinessP = imdsv2ReadinessStep({ metrics: ports.metrics, store: ports.store, clock, ...(logger ? { logger } : {}) }, records, settings);
  const watchP =
    ports.ec2 && ports.audit
      ? imdsv2WatchStep({ metrics: ports.metrics, ec2: ports.ec2, audit: ports.audit, clock, ...(logger ? { logger } : {}) }, records, settings).catch(
          (err: unknown): Imdsv2WatchResult => {
            const error = String((err as Error)?.message ?? err);
            logger?.error('imdsv2-watch-error', { error });
            return { watched: 0, rolledBack: [], failed: [], calls: 0, error };
          },
        )
      : undefined;
  const [readiness, watch] = await Promise.all([readinessP, watchP]);
  return { readiness, ...(watch ? { watch } : {}) };
}
