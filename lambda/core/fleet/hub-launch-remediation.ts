/**
 * `remediateOnLaunch` in the organization hub: hub-launch starts the hub's own state machine for one
 * account-region, `{ mode: "remediate", trigger: "launch", accountId, region, instanceIds }`, under an
 * execution name starting `launch-` (lambda/handlers/launch.ts launchExecutionName). The run then is
 * the nightly one (overlap guard, hub-item's remediation engine: plan, caps, dry run, opt-out,
 * verify, rollback, audit) over that one item, scoped to those instances. Pure: no I/O, never throws.
 */
import type { RunningExecution } from './hub-run-data';
import { parseLaunchScope } from './launch';

const HUB_ACCOUNT_ID = /^\d{12}$/;
const HUB_REGION = /^[a-z]{2}(-[a-z]+)+-\d$/;

/** The trigger of a launch remediation, as the single-account launch check sends it. */
export const HUB_LAUNCH_TRIGGER = 'launch';

/** Execution names of launch runs (launchExecutionName). */
export const HUB_LAUNCH_EXECUTION_PREFIX = 'launch-';

/** One launch run's only item. */
export interface HubLaunchRunItem {
  readonly accountId: string;
  readonly region: string;
  readonly trigger: typeof HUB_LAUNCH_TRIGGER;
  readonly instanceIds: readonly string[];
}

export type HubRunInput = { readonly kind: 'scheduled' } | { readonly kind: 'launch'; readonly item: HubLaunchRunItem } | { readonly kind: 'refused'; readonly reason: string };

/**
 * What started a run: the schedules send `{ mode }` only; anything naming `trigger` or `instanceIds`
 * is a launch run and must name a valid account, one of the hub's regions and a valid instance list
 * (never widened to the whole organization: refused with a reason instead).
 */
export function hubRunInput(input: unknown, regions: readonly string[]): HubRunInput {
  if (input === null || typeof input !== 'object' || Array.isArray(input)) return { kind: 'scheduled' };
  const r = input as Record<string, unknown>;
  if (r.trigger === undefined && !Object.prototype.hasOwnProperty.call(r, 'instanceIds')) return { kind: 'scheduled' };
  if (r.trigger !== HUB_LAUNCH_TRIGGER) return { kind: 'refused', reason: `trigger is ${String(JSON.stringify(r.trigger)).slice(0, 40)}, not "launch"` };
  if (r.mode !== 'remediate') return { kind: 'refused', reason: 'a launch run must be a remediation (mode "remediate")' };
  if (typeof r.accountId !== 'string' || !HUB_ACCOUNT_ID.test(r.accountId)) return { kind: 'refused', reason: 'accountId is not a 12-digit account id' };
  if (typeof r.region !== 'string' || !HUB_REGION.test(r.region) || !regions.includes(r.region)) return { kind: 'refused', reason: `region ${String(JSON.stringify(r.region)).slice(0, 40)} is not one the hub covers` };
  const scope = parseLaunchScope(r.instanceIds);
  if (!scope.ok) return { kind: 'refused', reason: scope.reason };
  return { kind: 'launch', item: { accountId: r.accountId, region: r.region, trigger: HUB_LAUNCH_TRIGGER, instanceIds: scope.instanceIds ?? [] } };
}

/** The execution name of an execution ARN (`arn:…:execution:<machine>:<name>`). */
function executionName(executionArn: string): string {
  return executionArn.split(':')[7] ?? '';
}

/**
 * The runs a run's overlap guard weighs: a launch run yields to every earlier run (its instances
 * wait for the nightly run, as in one account); a scheduled run ignores launch runs, so one
 * account's launch never costs the organization its hourly check or nightly remediation.
 */
export function runsToWeigh(selfIsLaunch: boolean, running: readonly RunningExecution[]): RunningExecution[] {
  return selfIsLaunch ? [...running] : running.filter((e) => !executionName(e.executionArn).startsWith(HUB_LAUNCH_EXECUTION_PREFIX));
}

/** The remediation scope hub-item passes to the first invocation of a launch run's item (none for a scheduled one). */
export function launchScopeOf(target: unknown): { readonly trigger: typeof HUB_LAUNCH_TRIGGER; readonly instanceIds: unknown } | undefined {
  if (target === null || typeof target !== 'object' || Array.isArray(target)) return undefined;
  const t = target as Record<string, unknown>;
  // Anything naming a trigger or ids is handed on as it is: the remediation refuses a bad list, never widens it.
  if (t.trigger === undefined && !Object.prototype.hasOwnProperty.call(t, 'instanceIds')) return undefined;
  return { trigger: HUB_LAUNCH_TRIGGER, instanceIds: t.instanceIds };
}
