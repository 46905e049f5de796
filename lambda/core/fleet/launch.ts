/**
 * The launch check's pure part: what a queued message asks for (an EC2 `running` event, or our own
 * retry of instances whose SSM agent was not Online yet), and when to try again. No SDK, no I/O.
 */

/** `detail-type` of the EC2 events the launch rule forwards. */
export const EC2_STATE_CHANGE = 'EC2 Instance State-change Notification';
/** Environment variable with the launch queue's URL (the launch function's own wiring, not a setting). */
export const LAUNCH_QUEUE_URL_ENV = 'TSG_LAUNCH_QUEUE_URL';
/**
 * Environment variable with the remediation state machine's ARN, set only with `remediateOnLaunch`:
 * the launch function starts that execution itself (no event on a bus others can write to).
 */
export const LAUNCH_REMEDIATION_STATE_MACHINE_ENV = 'TSG_REMEDIATION_STATE_MACHINE_ARN';
/** `kind` of the retry messages the launch handler puts back on its queue. */
export const LAUNCH_RETRY_KIND = 'timesync-guard-launch-retry';

/** One instance waiting for its launch check. */
export interface LaunchTarget {
  readonly instanceId: string;
  /** 0 for the first check after the event, +1 per re-queue. */
  readonly attempt: number;
  /** Epoch ms of the `running` event (the event's `time`; the receive time when it has none). */
  readonly since: number;
}

/** A message body judged: targets, or why it is not one. */
export type ParsedLaunchMessage = { readonly ok: true; readonly targets: readonly LaunchTarget[] } | { readonly ok: false; readonly reason: string };

const INSTANCE_ID = /^i-[0-9a-f]{8,17}$/;

/** Targets in one retry message: what the handler itself puts in one (lambda/aws/launch-queue.ts); more is not ours. */
export const LAUNCH_RETRY_MAX_TARGETS = 500;

/**
 * Re-queues of one instance, at most. The backoff (15 s, 30 s, then 60 s) reaches the longest wait
 * (`launchSsmWaitSeconds` ≤ 3600) in about 60 attempts, so a higher count is not one the handler wrote.
 */
export const LAUNCH_MAX_ATTEMPTS = 64;

/**
 * When the wait of a target started. A queue message is an input, not the truth: a `since` after the
 * receive time (a future or absurd one, e.g. 8.64e15) would keep the instance waiting for ever, so it
 * counts from the receive time instead; one that cannot be read does too.
 */
function since(v: unknown, receivedAt: number): number {
  const t = typeof v === 'string' ? Date.parse(v) : typeof v === 'number' ? v : NaN;
  return Number.isFinite(t) ? Math.min(t, receivedAt) : receivedAt;
}

/** A queue message body as a JSON object, or why it is not one (untrusted: never thrown). */
export function messageObject(body: string): { readonly ok: true; readonly value: Record<string, unknown> } | { readonly ok: false; readonly reason: string } {
  let m: unknown;
  try {
    m = JSON.parse(body);
  } catch {
    return { ok: false, reason: 'body is not JSON' };
  }
  if (!m || typeof m !== 'object') return { ok: false, reason: 'body is not an object' };
  return { ok: true, value: m as Record<string, unknown> };
}

/**
 * Reads one queue message body. Anything that is neither a `running` EC2 state-change event nor our
 * retry message is refused with a reason (logged and dropped by the handler: never guessed at).
 */
export function parseLaunchMessage(body: string, receivedAt: number): ParsedLaunchMessage {
  const parsed = messageObject(body);
  if (!parsed.ok) return parsed;
  const o = parsed.value;
  if (o.kind === LAUNCH_RETRY_KIND) {
    if (!Array.isArray(o.targets) || o.targets.length === 0) return { ok: false, reason: 'retry message without targets' };
    if (o.targets.length > LAUNCH_RETRY_MAX_TARGETS) return { ok: false, reason: `retry message with ${o.targets.length} targets (at most ${LAUNCH_RETRY_MAX_TARGETS})` };
    const targets: LaunchTarget[] = [];
    for (const t of o.targets as unknown[]) {
      const x = (t !== null && typeof t === 'object' ? t : {}) as Record<string, unknown>;
      if (typeof x.instanceId !== 'string' || !INSTANCE_ID.test(x.instanceId)) return { ok: false, reason: 'retry message with an invalid instance id' };
      const attempt = typeof x.attempt === 'number' && Number.isInteger(x.attempt) && x.attempt >= 0 ? x.attempt : NaN;
      if (!Number.isFinite(attempt)) return { ok: false, reason: 'retry message with an invalid attempt' };
      if (attempt > LAUNCH_MAX_ATTEMPTS) return { ok: false, reason: `retry message with attempt ${attempt} (at most ${LAUNCH_MAX_ATTEMPTS})` };
      targets.push({ instanceId: x.instanceId, attempt, since: since(x.since, receivedAt) });
    }
    return { ok: true, targets };
  }
  if (o.source !== 'aws.ec2' || o['detail-type'] !== EC2_STATE_CHANGE) return { ok: false, reason: 'not an EC2 instance state-change event' };
  const detail = (o.detail ?? {}) as Record<string, unknown>;
  if (detail.state !== 'running') return { ok: false, reason: `state ${JSON.stringify(detail.state)} is not running` };
  const id = detail['instance-id'];
  if (typeof id !== 'string' || !INSTANCE_ID.test(id)) return { ok: false, reason: 'event without a valid instance-id' };
  return { ok: true, targets: [{ instanceId: id, attempt: 0, since: since(o.time, receivedAt) }] };
}

/**
 * Backoff of the launch retries: 15 s, 30 s, then every 60 s. Capped low on purpose: an agent
 * registers one to four minutes after boot, and every minute past that is a minute the verdict
 * waits; a retry is one batched invocation, not one per instance, so the cap costs little.
 */
export function launchRetryDelaySeconds(attempt: number): number {
  return Math.min(60, 15 * 2 ** Math.max(0, attempt));
}

/** What to do with a target the check could not reach this time. */
export type LaunchDecision = { readonly retry: true; readonly delaySeconds: number } | { readonly retry: false };

/**
 * Retry while the next attempt still starts inside the wait budget counted from the event and the
 * attempt cap is not reached; after that, the instance is reported as it is (not reachable), never
 * waited for without end.
 */
export function decideLaunchRetry(target: LaunchTarget, now: number, waitSeconds: number): LaunchDecision {
  if (target.attempt >= LAUNCH_MAX_ATTEMPTS) return { retry: false };
  const delaySeconds = launchRetryDelaySeconds(target.attempt);
  return now + delaySeconds * 1000 <= Math.min(target.since, now) + waitSeconds * 1000 ? { retry: true, delaySeconds } : { retry: false };
}

/** Keeps one target per instance (the one with the most attempts: a duplicate event must not restart its budget). */
export function mergeTargets(targets: Iterable<LaunchTarget>): LaunchTarget[] {
  const by = new Map<string, LaunchTarget>();
  for (const t of targets) {
    const prev = by.get(t.instanceId);
    if (!prev || t.attempt > prev.attempt || (t.attempt === prev.attempt && t.since < prev.since)) by.set(t.instanceId, t);
  }
  return [...by.values()];
}

/** At most this many ids in one launch remediation request (the launch Lambda starts one execution with at most these). */
export const LAUNCH_REMEDIATION_MAX_IDS = 1000;

/** An EC2 instance id as EC2 issues them: 8 or 17 lower-case hex digits. */
const EXACT_INSTANCE_ID = /^i-[0-9a-f]{8}(?:[0-9a-f]{9})?$/;

/** The scope of a remediation run: the whole region, or just these instances; or why the request was refused. */
export type RemediationScope = { readonly ok: true; readonly instanceIds?: readonly string[] } | { readonly ok: false; readonly reason: string };

/**
 * Reads the `instanceIds` of a launch remediation request (`{ trigger: "launch", instanceIds }` on
 * the remediation state machine). It must be 1 to {@link LAUNCH_REMEDIATION_MAX_IDS} EC2 instance
 * ids: anything else (absent, null, empty, not a list, a malformed id) is refused with a reason,
 * never widened to the whole region.
 */
export function parseLaunchScope(value: unknown): RemediationScope {
  if (value === undefined || value === null) return { ok: false, reason: `instanceIds is ${String(value)}` };
  if (!Array.isArray(value)) return { ok: false, reason: 'instanceIds is not an array' };
  if (value.length === 0) return { ok: false, reason: 'instanceIds is empty' };
  if (value.length > LAUNCH_REMEDIATION_MAX_IDS) return { ok: false, reason: `instanceIds has ${value.length} ids (at most ${LAUNCH_REMEDIATION_MAX_IDS})` };
  const bad = (value as unknown[]).findIndex((v) => typeof v !== 'string' || !EXACT_INSTANCE_ID.test(v));
  if (bad >= 0) return { ok: false, reason: `not an EC2 instance id: ${String(JSON.stringify(value[bad])).slice(0, 40)}` };
  return { ok: true, instanceIds: [...new Set(value as string[])] };
}

/**
 * The scope of one new remediation run from the state machine's first request. A request that names
 * instances at all (an `instanceIds` key, even null, or `trigger: "launch"`) is a launch request and
 * must carry a valid list ({@link parseLaunchScope}); only a request with neither is the whole region
 * (the nightly schedule sends `{}`).
 */
export function remediationScope(request: unknown): RemediationScope {
  if (request === undefined || request === null) return { ok: true };
  if (typeof request !== 'object' || Array.isArray(request)) return { ok: false, reason: 'the request is not an object' };
  const r = request as Record<string, unknown>;
  if (!Object.prototype.hasOwnProperty.call(r, 'instanceIds') && r.trigger === undefined) return { ok: true };
  return parseLaunchScope(r.instanceIds);
}
