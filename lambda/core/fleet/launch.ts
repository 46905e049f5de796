/**
 * The launch check's pure part: what a queued message asks for (an EC2 `running` event, or our own
 * retry of instances whose SSM agent was not Online yet), and when to try again. No SDK, no I/O.
 */

/** `detail-type` of the EC2 events the launch rule forwards. */
export const EC2_STATE_CHANGE = 'EC2 Instance State-change Notification';
/** `detail-type` of the request the launch check sends when `remediateOnLaunch` is on (a rule starts the remediation state machine). */
export const LAUNCH_REMEDIATION_DETAIL_TYPE = 'TimeSync Guard Launch Remediation Request';
/** Environment variable with the launch queue's URL (the launch function's own wiring, not a setting). */
export const LAUNCH_QUEUE_URL_ENV = 'TSG_LAUNCH_QUEUE_URL';
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

function time(v: unknown, fallback: number): number {
  const t = typeof v === 'string' ? Date.parse(v) : typeof v === 'number' ? v : NaN;
  return Number.isFinite(t) ? t : fallback;
}

/**
 * Reads one queue message body. Anything that is neither a `running` EC2 state-change event nor our
 * retry message is refused with a reason (logged and dropped by the handler: never guessed at).
 */
export function parseLaunchMessage(body: string, receivedAt: number): ParsedLaunchMessage {
  let m: unknown;
  try {
    m = JSON.parse(body);
  } catch {
    return { ok: false, reason: 'body is not JSON' };
  }
  if (!m || typeof m !== 'object') return { ok: false, reason: 'body is not an object' };
  const o = m as Record<string, unknown>;
  if (o.kind === LAUNCH_RETRY_KIND) {
    if (!Array.isArray(o.targets)) return { ok: false, reason: 'retry message without targets' };
    const targets: LaunchTarget[] = [];
    for (const t of o.targets as unknown[]) {
      const x = (t ?? {}) as Record<string, unknown>;
      if (typeof x.instanceId !== 'string' || !INSTANCE_ID.test(x.instanceId)) return { ok: false, reason: 'retry message with an invalid instance id' };
      const attempt = typeof x.attempt === 'number' && Number.isInteger(x.attempt) && x.attempt >= 0 ? x.attempt : NaN;
      if (!Number.isFinite(attempt)) return { ok: false, reason: 'retry message with an invalid attempt' };
      targets.push({ instanceId: x.instanceId, attempt, since: time(x.since, receivedAt) });
    }
    return { ok: true, targets };
  }
  if (o.source !== 'aws.ec2' || o['detail-type'] !== EC2_STATE_CHANGE) return { ok: false, reason: 'not an EC2 instance state-change event' };
  const detail = (o.detail ?? {}) as Record<string, unknown>;
  if (detail.state !== 'running') return { ok: false, reason: `state ${JSON.stringify(detail.state)} is not running` };
  const id = detail['instance-id'];
  if (typeof id !== 'string' || !INSTANCE_ID.test(id)) return { ok: false, reason: 'event without a valid instance-id' };
  return { ok: true, targets: [{ instanceId: id, attempt: 0, since: time(o.time, receivedAt) }] };
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
 * Retry while the next attempt still starts inside the wait budget counted from the event; after it,
 * the instance is reported as it is (not reachable), never waited for without end.
 */
export function decideLaunchRetry(target: LaunchTarget, now: number, waitSeconds: number): LaunchDecision {
  const delaySeconds = launchRetryDelaySeconds(target.attempt);
  return now + delaySeconds * 1000 <= target.since + waitSeconds * 1000 ? { retry: true, delaySeconds } : { retry: false };
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

/** At most this many ids in one launch remediation request (the launch Lambda sends ≤ 500 per message). */
export const LAUNCH_REMEDIATION_MAX_IDS = 1000;

/**
 * Reads the `instanceIds` of a launch remediation request (`{ trigger: "launch", instanceIds }` on
 * the remediation state machine). Absent → the whole region (the nightly run). Present, it must be
 * 1 to {@link LAUNCH_REMEDIATION_MAX_IDS} EC2 instance ids: anything else is refused with a reason,
 * never widened to the whole region.
 */
export function parseLaunchScope(value: unknown): { readonly ok: true; readonly instanceIds?: readonly string[] } | { readonly ok: false; readonly reason: string } {
  if (value === undefined || value === null) return { ok: true };
  if (!Array.isArray(value)) return { ok: false, reason: 'instanceIds is not an array' };
  if (value.length === 0) return { ok: false, reason: 'instanceIds is empty' };
  if (value.length > LAUNCH_REMEDIATION_MAX_IDS) return { ok: false, reason: `instanceIds has ${value.length} ids (at most ${LAUNCH_REMEDIATION_MAX_IDS})` };
  const bad = value.find((v) => typeof v !== 'string' || !/^i-[0-9a-f]{8}(?:[0-9a-f]{9})?$/.test(v));
  if (bad !== undefined) return { ok: false, reason: `not an EC2 instance id: ${JSON.stringify(bad).slice(0, 40)}` };
  return { ok: true, instanceIds: [...new Set(value as string[])] };
}
