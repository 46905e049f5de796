/**
 * The check's part of the sources (docs/launch-templates.md): once per run, after the instances are
 * evaluated, read the sources (../engine/sources.ts), attribute every instance to the layer that
 * decided its IMDS options, judge the groups and node classes in `report` mode, list the template
 * versions IMDSv2 account-level enforcement would stop, and add the two instance codes
 * (`launch-source-noncompliant`, `launch-source-owned-by-iac`) to the evaluations. Reads never throw;
 * what could not be read is reported, and nothing is judged from it.
 */
import type { MetadataDefaultsReading } from '../core/fleet/metadata-defaults';
import { hopLimitScopeCovers } from '../core/remediation/plan';
import type { Settings } from '../core/settings';
import { attributeInstance } from '../core/sources/attribute';
import { type EnforcementBlocker, enforcementBlockers } from '../core/sources/enforcement';
import { planSources, type SourcePlan } from '../core/sources/plan';
import { sourceFindingIndex } from '../core/sources/report';
import type { ImdsSource } from '../core/sources/types';
import type { InstanceEvaluation, InstanceRecord } from '../core/types';
import { readSources } from './sources';
import type { LaunchSourcesPort } from './source-ports';

/** What one check run learnt about the sources. */
export interface SourcesCheckResult {
  /** Per instance id: the deciding layer (the log record's `imdsSource`). */
  readonly attribution: ReadonlyMap<string, ImdsSource>;
  readonly plan: SourcePlan;
  /** Template versions `HttpTokensEnforced` would stop (listed only while enforcement is off). */
  readonly enforcementBlockers: readonly EnforcementBlocker[];
  readonly errors: readonly string[];
}

/** Runs the sources step; returns the evaluations with the source codes added (same order). */
export async function runSourcesCheck(
  port: LaunchSourcesPort,
  records: readonly InstanceRecord[],
  evaluations: readonly InstanceEvaluation[],
  settings: Pick<Settings, 'hopLimitTarget' | 'hopLimitScope' | 'imdsv2' | 'optOutTagKey'>,
  defaults: MetadataDefaultsReading | undefined,
): Promise<{ result: SourcesCheckResult; evaluations: InstanceEvaluation[] }> {
  const accountDefaults = defaults?.status === 'read' ? defaults.defaults : undefined;
  const inv = await readSources(port, records.map((r) => r.origin), accountDefaults);
  const byId = new Map(evaluations.map((e) => [e.instanceId, e]));
  const attribution = new Map<string, ImdsSource>();
  for (const r of records) attribution.set(r.instanceId, attributeInstance({ instanceId: r.instanceId, imds: r.imds, ...(r.origin ? { origin: r.origin } : {}) }, inv));
  const plan = planSources(
    inv,
    {
      hopLimitTarget: settings.hopLimitTarget,
      containerHost: (id) => {
        const e = byId.get(id);
        return e !== undefined && (settings.hopLimitScope === 'all' || (e.verdict?.containers === true && hopLimitScopeCovers(settings.hopLimitScope, e)));
      },
      tokensAllowed: (id) => settings.imdsv2 === 'enforce' && byId.get(id)?.imds.httpTokens === 'required',
      optOutTagKey: settings.optOutTagKey,
    },
    records.map((r) => ({ instanceId: r.instanceId, ...(r.origin ? { origin: r.origin } : {}) })),
    'report',
  );
  const findingsOf = sourceFindingIndex(plan);
  const origins = new Map(records.map((r) => [r.instanceId, r.origin]));
  const out = evaluations.map((e) => {
    const extra = findingsOf(origins.get(e.instanceId));
    return extra.length > 0 ? { ...e, findings: [...e.findings, ...extra] } : e;
  });
  const blockers = accountDefaults?.httpTokensEnforced === 'enabled' ? [] : enforcementBlockers(inv);
  return { result: { attribution, plan, enforcementBlockers: blockers, errors: inv.errors }, evaluations: out };
}
