/**
 * The one shape of what a remediation action wants of one instance: every action phase's `wants`
 * (lambda/engine/remediation/phase.ts) returns a {@link WantResult}, and `planInstance` (./plan.ts)
 * loops over them — the metadata-options rows (./metadata-wants.ts) and the guest document
 * (./guest-wants.ts) as much as a plugged-in phase. Types only, so that the wants and the plan
 * depend on this file and not on each other.
 */
import type { Settings } from '../settings';
import type { InstanceEvaluation, RemediationAction } from '../types';

/** Why an action was not taken (planning time; the engine adds execution-time reasons). */
export type PlanSkipReason =
  /** The instance carries the opt-out tag. */
  | 'opted-out'
  /** The guest was not checked this run: its state is unknown and we never act blind. */
  | 'not-checked'
  /** The per-run cap (count or percent, the smaller) was reached. */
  | 'cap-reached'
  /** Dry run: planned and reported, not executed. */
  | 'dry-run';

/**
 * The settings one instance's plan reads: all of them reach the check too (its urgent path asks
 * whether the night would change an urgent host before it starts a run for it).
 */
export type PlanInstanceSettings = Pick<Settings, 'hopLimitTarget' | 'hopLimitScope' | 'enableMetadataEndpoint' | 'fixTimeSync' | 'fixNoProxy' | 'fixMixedSources'>;

/** One wanted action with the change it stands for (the audit record's before/after). */
export interface WantedAction {
  readonly action: RemediationAction;
  readonly before?: unknown;
  readonly after?: unknown;
}

/** An action a want refuses to plan without looking at the cap (e.g. `not-checked`: the guest's state is unknown). */
export interface BlockedAction extends WantedAction {
  readonly reason: PlanSkipReason;
}

/**
 * What a want gives the planned instance's own fields (`PlannedInstance`), for the phases that read
 * them back when the plan admits the instance (the IMDS side's change, the guest document's item).
 */
export interface WantFields {
  /** Raise the hop limit from `from` to `to`. @default - not raised */
  readonly hopLimit?: { readonly from?: number; readonly to: number };
  /** Set `HttpEndpoint: 'enabled'`. @default false */
  readonly enableEndpoint?: boolean;
  /** Run the stack's remediation document in the guest. @default false */
  readonly guest?: boolean;
  /** Further metadata options, by parameter: the value seen and the one to set. @default - none */
  readonly metadata?: Readonly<Record<string, { readonly from?: unknown; readonly to: string | number }>>;
}

/** One want's answer for one instance. */
export interface WantResult {
  /** The actions wanted, in execution order, with before/after. */
  readonly wanted: readonly WantedAction[];
  /** Actions refused before the cap (audited `skipped` with their reason unless the instance is opted out). @default - none */
  readonly blocked?: readonly BlockedAction[];
  /** What the wanted actions set on the planned instance. @default - nothing */
  readonly fields?: WantFields;
}

/** What one action phase wants of one instance, judged alone (no cap). Pure; an exception counts as nothing wanted. */
export type InstanceWants = (e: InstanceEvaluation, settings: PlanInstanceSettings) => WantResult;
