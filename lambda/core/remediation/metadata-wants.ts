/**
 * What the plan wants of one instance's metadata options, row by row of the metadata-options table
 * (lambda/contracts/metadata-options.ts). A row the nightly grant sends is wanted where the instance
 * carries the row's finding and its current value does not satisfy the row yet; the two rows with
 * wider rules (the hop limit's scope, the endpoint's instance profile and setting) keep them here,
 * keyed by action, so one loop over the table ({@link metadataOptionsWants}, the IMDS phase's
 * `wants`) treats every row the same way.
 */
import { desiredValue, METADATA_OPTIONS, type MetadataOptionRow, satisfies } from '../../contracts/metadata-options';
import { orchestratorsOf } from '../fleet/evaluate-instance';
import type { Settings } from '../settings';
import type { InstanceEvaluation, RemediationAction } from '../types';
import type { BlockedAction, InstanceWants, WantedAction, WantFields } from './wants';

/** The settings the metadata wants read. */
export type MetadataWantSettings = Pick<Settings, 'hopLimitTarget' | 'hopLimitScope' | 'enableMetadataEndpoint'>;

/** One row's answer for one instance: the wanted change, or why it cannot be judged yet, or nothing. */
export interface MetadataWant {
  readonly want?: { readonly action: RemediationAction; readonly before?: unknown; readonly after?: unknown; readonly value: string | number };
  readonly notChecked?: { readonly action: RemediationAction; readonly before?: unknown; readonly after?: unknown };
}

type WantRule = (row: MetadataOptionRow, e: InstanceEvaluation, settings: MetadataWantSettings) => MetadataWant;

/**
 * Whether a container host is in the hop-limit scope: under `containers` a Kubernetes node or ECS
 * container instance is left at its hop limit (pods/tasks would reach the node role's credentials);
 * `containers-and-orchestrators` and `all` include it.
 */
export function hopLimitScopeCovers(scope: Settings['hopLimitScope'], e: InstanceEvaluation): boolean {
  return scope !== 'containers' || orchestratorsOf(e.verdict).length === 0;
}

/** Where the instance reports its options: the evaluation's `imds` (a field it lacks reads as undefined). */
function currentOf(row: MetadataOptionRow, e: InstanceEvaluation): unknown {
  return (e.imds as Record<string, unknown> | undefined)?.[row.field];
}

/** A row with no rule of its own: wanted where the instance carries the row's finding and is not yet as the row wants. */
export const findingWant: WantRule = (row, e, settings) => {
  const action = row.action as RemediationAction | null;
  if (action === null || row.finding === null || !e.findings.some((f) => f.code === row.finding)) return {};
  // A row gated by a switch that is off (or not given) is not wanted.
  if (row.setting !== undefined && (settings as Partial<Record<string, unknown>>)[row.setting] !== true) return {};
  const current = currentOf(row, e);
  if (satisfies(row, current, settings.hopLimitTarget)) return {};
  const value = desiredValue(row, settings.hopLimitTarget);
  return { want: { action, before: { [row.field]: current }, after: { [row.field]: value }, value } };
};

/** The rules of the rows that need more than their finding (see the file comment). */
const RULES: Partial<Record<RemediationAction, WantRule>> = {
  // The API reports a hop limit for every instance; a missing value is EC2's default (1).
  'raise-hop-limit': (row, e, settings) => {
    const current = typeof e.imds?.hopLimit === 'number' && Number.isFinite(e.imds.hopLimit) ? e.imds.hopLimit : undefined;
    if ((current ?? 1) >= settings.hopLimitTarget) return {};
    const containers = e.verdict?.containers;
    const before = { hopLimit: current }, after = { hopLimit: settings.hopLimitTarget };
    if (settings.hopLimitScope === 'all' || (containers === true && hopLimitScopeCovers(settings.hopLimitScope, e))) {
      return { want: { action: 'raise-hop-limit', before, after, value: desiredValue(row, settings.hopLimitTarget) } };
    }
    // We do not know whether containers run there; a later check will tell.
    if (e.checkState !== 'checked' && containers == null) return { notChecked: { action: 'raise-hop-limit', before, after } };
    return {};
  },
  // Only with the setting on, and only where there are credentials the instance cannot otherwise reach.
  'enable-metadata-endpoint': (row, e, settings) =>
    settings.enableMetadataEndpoint && e.imds?.httpEndpoint === 'disabled' && e.hasInstanceProfile === true
      ? { want: { action: 'enable-metadata-endpoint', before: { httpEndpoint: 'disabled' }, after: { httpEndpoint: 'enabled' }, value: desiredValue(row, settings.hopLimitTarget) } }
      : {},
};

/**
 * The metadata rows the per-instance plan judges: the ones the nightly grant sends (IMDSv2 tokens are
 * planned from the readiness, lambda/core/imdsv2/enforcement.ts), in table order.
 */
export function nightlyRows(table: readonly MetadataOptionRow[] = METADATA_OPTIONS): readonly MetadataOptionRow[] {
  return table.filter((r) => r.grant === 'nightly' && r.action !== null);
}

/** One row's want for one instance. */
export function metadataWant(row: MetadataOptionRow, e: InstanceEvaluation, settings: MetadataWantSettings): MetadataWant {
  return (RULES[row.action as RemediationAction] ?? findingWant)(row, e, settings);
}

/**
 * The metadata-options rows as one want (the IMDS phase's): the rows the nightly grant sends, in
 * table order, each wanted or blocked (`not-checked`) by its rule, the planned instance's hop limit,
 * endpoint and further options set from what is wanted. `table` is read on every call.
 * @param table - the metadata-options table @default METADATA_OPTIONS
 */
export function metadataOptionsWants(table?: readonly MetadataOptionRow[]): InstanceWants {
  return (e, settings) => {
    const wanted: WantedAction[] = [];
    const blocked: BlockedAction[] = [];
    let hopLimit: WantFields['hopLimit'];
    let enableEndpoint = false;
    let metadata: Record<string, { from?: unknown; to: string | number }> | undefined;
    for (const row of nightlyRows(table ?? METADATA_OPTIONS)) {
      const w = metadataWant(row, e, settings);
      if (w.notChecked) blocked.push({ ...w.notChecked, reason: 'not-checked' });
      if (!w.want) continue;
      const { value, ...one } = w.want;
      wanted.push(one);
      if (one.action === 'raise-hop-limit') hopLimit = { from: (one.before as { hopLimit?: number }).hopLimit, to: value as number };
      else if (one.action === 'enable-metadata-endpoint') enableEndpoint = true;
      else (metadata ??= {})[row.parameter] = { from: (one.before as Record<string, unknown> | undefined)?.[row.field], to: value };
    }
    const fields: WantFields = { ...(hopLimit ? { hopLimit } : {}), ...(enableEndpoint ? { enableEndpoint } : {}), ...(metadata ? { metadata } : {}) };
    return { wanted, ...(blocked.length > 0 ? { blocked } : {}), fields };
  };
}
