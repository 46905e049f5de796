/**
 * The check before the fix: the first invocation of a run checks the fleet itself (fresh data, never
 * the last hourly run's), with at most half of the invocation's time, and plans only on a complete
 * check. Remediation never acts on stale or partial data.
 */
import type { CheckSettings } from '../../core/settings';
import type { InstanceRecord } from '../../core/types';
import { type DiagnoseFn, runCheck } from '../check';
import type { Clock, EngineLogger, InstanceInventory, RunCommandPort } from '../ports';
import type { RemediationCheckResult } from './types';

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
}

/**
 * The engine's `check` dependency: runs the fleet check by `deadline`'s half-way point and keeps
 * what evaluations do not carry (IPv6-only instances) from the inventory's records.
 */
export function freshCheck(deps: FreshCheckDeps, settings: CheckSettings, deadline: number): () => Promise<RemediationCheckResult> {
  const { clock } = deps;
  return async () => {
    let records: InstanceRecord[] = [];
    const inventory: InstanceInventory = {
      listInstances: async () => (records = await deps.inventory.listInstances()),
    };
    let run;
    try {
      run = await runCheck(
        { inventory, runCommand: deps.runCommand, clock, ...(deps.logger ? { logger: deps.logger } : {}), ...(deps.diagnose ? { diagnose: deps.diagnose } : {}) },
        settings,
        // The check may use at most half of this invocation; acting needs the rest.
        { deadline: clock.now() + Math.max(0, (deadline - clock.now()) / 2) },
      );
    } catch (err) {
      throw new RemediationRunError('the fleet check before remediation could not run', { cause: err });
    }
    if (!run.completed) throw new RemediationRunError(`the fleet check before remediation failed: ${run.errors.join('; ')}`);
    return {
      evaluations: run.evaluations,
      fleetSize: run.evaluations.length,
      ipv6Only: new Set(records.filter((r) => r.ipv6Only === true).map((r) => r.instanceId)),
    };
  };
}
