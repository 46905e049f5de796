/**
 * How a remediation action plugs in. The built-in sides (IMDS: ./imds-phase.ts, guest:
 * ./guest-phase.ts) keep their own lists in the run state; a NEW action is one object of this shape
 * in its own file, listed in ./phases.ts. The run then, for it and without further code:
 * - audits `planned` for every instance the plan selected (dry run too: `planned(p)`),
 * - queues `select(plan)`'s items on a real run (never on a dry run),
 * - carries the pending items across invocations in the signed continuation (`encode`/`decode`),
 * - on every resume applies the CURRENT settings (dry run now: every item skipped `dry-run`;
 *   `enabled(settings)` false: skipped `setting-off`),
 * - runs `run(ctx, items)` beside the IMDS and guest sides until it returns true (done) or false
 *   (out of time: what is left in `items` goes into the continuation),
 * - counts the run done only when every phase is done.
 * The phase decides on fresh data at the point of action, audits each outcome with `ctx.audit`
 * (which keeps the counters), counts `state.counts.attempted` for what it sends, and checks
 * `ctx.timeLeft()` before anything it could not finish.
 */
import type { PlannedInstance, Plan, RemediationAction } from '../../core/remediation/plan';
import type { Settings } from '../../core/settings';
import type { RunContext } from './context';

/** An item of a phase's list: at least the instance id. */
export interface PhaseItem {
  id: string;
}

/** One `planned` audit record. */
export interface PlannedAudit {
  readonly action: RemediationAction;
  readonly before?: unknown;
  readonly after?: unknown;
}

/** A remediation action phase (see the file comment). */
export interface ActionPhase<Item extends PhaseItem = PhaseItem> {
  /** Stable and unique: names the phase's list in continuations (never reuse or rename one). */
  readonly key: string;
  /** The actions an item stands for (each audited and counted separately). */
  actionsOf(item: Item): readonly RemediationAction[];
  /** `planned` audit records for an instance the plan selected (also in dry run). */
  planned(p: PlannedInstance): readonly PlannedAudit[];
  /** The items of a real (not dry-run) plan this phase acts on, in plan order. */
  select(plan: Plan): Item[];
  /** Whether the current settings still want this action (checked on every resume). */
  enabled(settings: Settings): boolean;
  /** An item's fields after its id, for the continuation: each without `.` or `,`. */
  encode(item: Item): readonly string[];
  /** The inverse of `encode`; throws a ContinuationError (./continuation.ts) for a field it cannot read. */
  decode(id: string, fields: readonly string[]): Item;
  /**
   * Works through `items`, removing each one it finished (done, failed or skipped: all audited);
   * true when none is left, false when the deadline stops it.
   */
  run(ctx: RunContext, items: Item[]): Promise<boolean>;
}
