/**
 * The check before the fix: the first invocation of a run checks the fleet itself (fresh data, never
 * the last hourly run's), with at most half of the invocation's time. Each instance's evaluation is
 * handed to the plan as soon as it is final (start.ts); a check that fails as a whole fails the run,
 * and nothing is planned after that. Remediation never acts on stale data, nor on an instance whose
 * own check is not complete.
 */
import type { CheckSettings } from '../../core/settings';
import type { InstanceRecord } from '../../core/types';
import { type CheckStream, type DiagnoseFn, runCheck } from '../check';
import type { Clock, EngineLogger, InstanceInventory, MetadataDefaultsPort, RunCommandPort } from '../ports';
import { type Imdsv2Candidate, parseEnforcedTag } from '../../core/imdsv2/enforcement';
import type { Imdsv2Readiness } from '../../core/imdsv2/readiness';
import type { InstanceEvaluation } from '../../core/types';
import type { Imdsv2CheckPorts } from '../imdsv2';
import type { FreshCheckStream, RemediationCheckResult } from './types';

/** The check part of a run failed: remediation never acts on stale or partial data. */
export class RemediationRunError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'RemediationRunError';
  }
}

/** What the fresh check needs. */
export interface FreshCheckDeps {
  readonly inventory: InstanceInventory;
  readonly runCommand: RunCommandPort;
  readonly clock: Clock;
  readonly logger?: EngineLogger;
  readonly diagnose?: DiagnoseFn;
  /** The account metadata defaults, read by the check. @default - not read */
  readonly metadataDefaults?: MetadataDefaultsPort;
  /** IMDSv2 readiness for the enforcement plan (docs/imdsv2.md). @default - not assessed */
  readonly imdsv2?: Imdsv2CheckPorts;
}

/**
 * The engine's `check` dependency: runs the fleet check by `deadline`'s half-way point and keeps
 * what evaluations do not carry (IPv6-only instances) from the inventory's records.
 */
/**
 * The check before the fix. `instanceIds` scopes it to those instances (a launch remediation): the
 * rest of the region is listed (its size sets the percentage cap, as at night) but neither
 * collected nor evaluated, so nothing else can be planned.
 */
export function freshCheck(
  deps: FreshCheckDeps,
  settings: CheckSettings,
  deadline: number,
  instanceIds?: readonly string[],
): (stream?: FreshCheckStream) => Promise<RemediationCheckResult> {
  const { clock } = deps;
  return async (stream) => {
    let records: InstanceRecord[] = [];
    const inventory: InstanceInventory = {
      listInstances: async () => (records = await deps.inventory.listInstances()),
    };
    let run;
    try {
      run = await runCheck(
        {
          inventory,
          runCommand: deps.runCommand,
          clock,
          ...(deps.logger ? { logger: deps.logger } : {}),
          ...(deps.diagnose ? { diagnose: deps.diagnose } : {}),
          ...(deps.metadataDefaults ? { metadataDefaults: deps.metadataDefaults } : {}),
          ...(deps.imdsv2 ? { imdsv2: deps.imdsv2 } : {}),
        },
        settings,
        // The check may use at most half of this invocation; acting needs the rest.
        {
          deadline: clock.now() + Math.max(0, (deadline - clock.now()) / 2),
          ...(instanceIds ? { instanceIds } : {}),
          ...(stream ? { stream: checkStream(stream) } : {}),
        },
      );
    } catch (err) {
      throw new RemediationRunError('the fleet check before remediation could not run', { cause: err });
    }
    if (!run.completed) throw new RemediationRunError(`the fleet check before remediation failed: ${run.errors.join('; ')}`);
    return {
      evaluations: run.evaluations,
      fleetSize: instanceIds ? records.length : run.evaluations.length,
      ipv6Only: new Set(records.filter((r) => r.ipv6Only === true).map((r) => r.instanceId)),
      ...(run.accountDefaults ? { accountDefaults: run.accountDefaults } : {}),
      ...(run.imdsv2 && !run.imdsv2.readiness.error ? { imdsv2: imdsv2Candidates(run.evaluations, records, run.imdsv2.readiness.readiness) } : {}),
    };
  };
}

/** The check's stream, reduced to what planning needs. */
function checkStream(stream: FreshCheckStream): CheckStream {
  return {
    listed: (count) => stream.listed(count),
    evaluated: (items) => stream.evaluated(items.map((i) => ({ evaluation: i.evaluation, ipv6Only: i.record.ipv6Only === true }))),
  };
}

/** Each evaluation with its readiness and enforcement tag, for the IMDSv2 plan. */
function imdsv2Candidates(evaluations: readonly InstanceEvaluation[], records: readonly InstanceRecord[], readiness: ReadonlyMap<string, Imdsv2Readiness>): Imdsv2Candidate[] {
  const tags = new Map(records.map((r) => [r.instanceId, r.imdsv2Enforced]));
  return evaluations.map((e) => ({ evaluation: e, readiness: readiness.get(e.instanceId), tag: parseEnforcedTag(tags.get(e.instanceId)) }));
}
