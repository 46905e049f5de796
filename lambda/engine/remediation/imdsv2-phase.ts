/**
 * IMDSv2 enforcement as a remediation action phase (./phase.ts): the items are the `ready`
 * instances the plan selected (start.ts: `planImdsv2Enforcement`, within the run's cap), each with
 * the hop limit to raise in the same call (0: none). The work is lambda/engine/imdsv2.ts's
 * `runImdsv2Enforcement`: fresh read (options and MetadataNoToken), signed tag first,
 * ModifyInstanceMetadataOptions on the run's paced IMDS port, verification until `applied`.
 */
import type { Settings } from '../../core/settings';
import { runImdsv2Enforcement, type Imdsv2Ec2Port, type Imdsv2EnforcementState } from '../imdsv2';
import { ContinuationError } from './continuation';
import type { RunContext } from './context';
import type { ActionPhase, PhaseItem } from './phase';

interface Imdsv2Item extends PhaseItem {
  /** Hop limit to raise to in the same call; 0: tokens only. */
  hop: number;
}

export const IMDSV2_PHASE: ActionPhase<Imdsv2Item> = {
  key: 'imdsv2',
  actionsOf: () => ['require-imdsv2'],
  // The readiness plan is not per PlannedInstance: its own records are `applied`/`verified`/`skipped`.
  planned: () => [],
  select: (plan) => (plan.imdsv2?.enforce ?? []).map((c) => ({ id: c.instanceId, hop: c.hopLimit ?? 0 })),
  enabled: (settings: Settings) => settings.imdsv2 === 'enforce',
  encode: (item) => [String(item.hop)],
  decode(id, fields) {
    const hop = Number(fields[0]);
    if (fields.length !== 1 || !Number.isInteger(hop) || hop < 0 || hop > 64) throw new ContinuationError(`bad imdsv2 item ${id}`, { reason: 'malformed' });
    return { id, hop };
  },
  async run(ctx: RunContext, items: Imdsv2Item[]): Promise<boolean> {
    const { imdsv2Tag: tag, imdsv2Recheck: recheck, imdsv2RecordKey: recordKey } = ctx.deps;
    if (!tag || !recheck || !recordKey) {
      const reason = !tag ? 'no-tag-port' : !recheck ? 'no-usage-recheck' : 'no-record-key';
      for (const i of items.splice(0)) ctx.audit(i.id, 'require-imdsv2', 'skipped', { reason });
      return true;
    }
    const ec2: Imdsv2Ec2Port = {
      describe: (ids) => ctx.describeOrWait(ids),
      async modify(r) {
        const res = await ctx.imds.modify({ instanceId: r.instanceId, httpTokens: r.httpTokens, ...(r.hopLimit !== undefined ? { hopLimit: r.hopLimit } : {}) });
        return res.outcome === 'requested' ? { outcome: 'requested' } : { outcome: res.outcome, error: res.error };
      },
      modifyWaitMs: () => ctx.imds.modifyWaitMs(),
      tag,
    };
    // Verification of a switch does not outlive the invocation: an unverified one is re-read next time.
    // The item only says whether to raise; how far is this invocation's setting (a resumed run follows
    // the current hopLimitTarget, never a value carried in the continuation).
    const target = ctx.settings.hopLimitTarget;
    const state: Imdsv2EnforcementState = { pending: items.map((i) => ({ instanceId: i.id, ...(i.hop > 0 ? { hopLimit: target } : {}) })), verifying: [] };
    const done = await runImdsv2Enforcement(
      {
        ec2,
        clock: ctx.clock,
        recheck,
        recordKey,
        audit: (r) => {
          if (r.outcome === 'applied') ctx.state.counts.attempted++;
          ctx.audit(r.instanceId, 'require-imdsv2', r.outcome, { ...(r.reason ? { reason: r.reason } : {}), before: r.before, after: r.after });
        },
      },
      state,
      { deadline: ctx.options.deadline - ctx.options.reserveMs, verifyTimeoutMs: ctx.options.verifyTimeoutMs, verifyPollMs: ctx.options.verifyPollMs },
    );
    const left = new Set([...state.pending.map((p) => p.instanceId), ...state.verifying.map((v) => v.id)]);
    const keep = items.filter((i) => left.has(i.id));
    items.splice(0, items.length, ...keep);
    return done;
  },
};
