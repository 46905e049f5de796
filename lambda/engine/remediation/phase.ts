/**
 * How a remediation action plugs in: every action is one object of this shape in its own file,
 * listed in ./phases.ts — the metadata-options rows (./imds-phase.ts, driven by the table in
 * lambda/contracts/metadata-options.ts), the account defaults (./account-defaults-phase.ts), the
 * guest document (./guest-phase.ts), IMDSv2 enforcement and the launch-template fix. The run then,
 * for it and without further code:
 * - with `wants`, judges every instance by it in the plan (`planInstance` loops over every phase's
 *   wants in phase order: the metadata rows' and the guest document's first): what it wants counts
 *   the instance in under the run's cap, what it blocks is audited `skipped`, and its `fields`
 *   (hop limit, endpoint, further options, guest) are set on the planned instance,
 * - with `begin`, calls it once per new run, right after the plan is audited (dry run too),
 * - audits `planned` for every instance the plan selected (dry run too: `planned(p)`),
 * - queues `queue(p)`'s item for each instance the plan admits, then `select(plan)`'s items, on a
 *   real run (never on a dry run),
 * - carries the items across invocations in the signed continuation (`encode`/`decode`; lists of
 *   an earlier format through `legacy`),
 * - on every resume applies the CURRENT settings (dry run now: each item skipped `dry-run`;
 *   `enabled(settings)` false: skipped `setting-off`; otherwise `narrow` takes out what the
 *   settings no longer want), never dropping an item `acted` says was already sent (it is verified),
 * - runs `run(ctx, items)` beside the other phases (on every invocation with `always`, else while it
 *   has items) until it returns true (done) or false (out of time: what is left in `items` goes
 *   into the continuation),
 * - counts the run done only when every phase is done.
 * The phase decides on fresh data at the point of action, audits each outcome with `ctx.audit`
 * (which keeps the counters), counts `state.counts.attempted` for what it sends, and checks
 * `ctx.timeLeft()` before anything it could not finish.
 */
import type { InstanceWants, PlannedInstance, Plan, RemediationAction } from '../../core/remediation/plan';
import type { Settings } from '../../core/settings';
import type { RunContext } from './context';
import type { RunState } from './state';
import type { RemediationCheckResult, RemediationDeps } from './types';

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

/** What `begin` sees: the new run right after its plan was audited. */
export interface RunStart {
  readonly deps: RemediationDeps;
  readonly settings: Settings;
  readonly plan: Plan;
  /** The fresh check's result (undefined fields: not read). */
  readonly checked: RemediationCheckResult | undefined;
  /** The run's state (a phase may keep a run-level record on it, carried by the continuation). */
  readonly state: RunState;
  /**
   * This invocation's context (audit trail and counters, fresh IMDS reads, the deadline): what a
   * phase's dry run audits through. Absent only where a caller starts a run without one (tests of the plan).
   */
  readonly ctx?: RunContext;
}

/** A remediation action phase (see the file comment). */
export interface ActionPhase<Item extends PhaseItem = PhaseItem> {
  /** Stable and unique: names the phase's list in continuations (never reuse or rename one). */
  readonly key: string;
  /** The actions an item stands for (each audited and counted separately). */
  actionsOf(item: Item): readonly RemediationAction[];
  /** `planned` audit records for an instance the plan selected (also in dry run). */
  planned(p: PlannedInstance): readonly PlannedAudit[];
  /** The items of a real (not dry-run) plan this phase acts on, in plan order (after those `queue` gave). */
  select(plan: Plan): Item[];
  /**
   * An instance's item, queued as soon as the plan admits the instance (a real plan only; while the
   * check streams too, so a check that then fails drops it audited `skipped` / `check-failed`).
   * @default - nothing queued per instance: `select` gives the items
   */
  queue?(p: PlannedInstance): Item | undefined;
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
  /**
   * What the phase wants of one instance, judged alone (no cap), for the plan (`planInstance` loops
   * over every phase's wants): actions wanted, actions blocked with their reason (`not-checked`),
   * fields of the planned instance. Pure; an exception counts as nothing wanted. @default - nothing per instance
   */
  readonly wants?: InstanceWants;
  /** Once per new run, after the plan is audited (dry run too): run-level work. @default - nothing */
  begin?(run: RunStart): Promise<void>;
  /**
   * Whether an item's change was already sent (it is being verified): no drop (dry run now, a setting
   * off, a failed check) takes it out, `run` resolves it. @default - no item is
   */
  acted?(item: Item): boolean;
  /**
   * On a resume, after `enabled`: takes out of the items not yet `acted` on what the CURRENT settings
   * no longer want, auditing each action taken out with `skip` (reason `setting-off`). @default - nothing more
   */
  narrow?(items: Item[], settings: Settings, skip: (id: string, action: RemediationAction) => void): void;
  /**
   * Run on every invocation, with no items too (the IMDS side: changes may still be under way off
   * its list, and it moves `state.phase`). @default false - only while the phase has items
   */
  readonly always?: boolean;
  /**
   * Lists of an earlier continuation format that carried this phase's items (top-level field, and
   * how its items read), read into the phase's list in this order. @default - none
   */
  readonly legacy?: readonly LegacyList<Item>[];
}

/** A list of an earlier continuation format (see {@link ActionPhase.legacy}). */
export interface LegacyList<Item extends PhaseItem = PhaseItem> {
  /** The continuation's top-level field that held it. */
  readonly field: string;
  /** Its item's fields after the id; throws a ContinuationError for a field it cannot read. */
  decode(id: string, fields: readonly string[]): Item;
}
