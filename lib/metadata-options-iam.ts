/**
 * The IAM conditions on ec2:ModifyInstanceMetadataOptions, derived from the metadata-options table
 * (lambda/contracts/metadata-options.ts) as the guest documents derive their parameters from
 * theirs: a row's desired value is what the Allow admits, its rule what the Deny refuses, and a row
 * no grant sends must be absent from the request. Why `ec2:Attribute/<Parameter>` and not the
 * `ec2:MetadataHttp*` keys: see `imdsStatements` in ./guard-common.ts.
 */
import { attributeKey, desiredValue, METADATA_OPTIONS, type MetadataGrant, type MetadataOptionRow, type MetadataSwitch } from '../lambda/contracts/metadata-options';

export type Conditions = Record<string, Record<string, string>>;

/** The value conditions of the rows a grant sends: numbers at least the target, values exactly the desired one (`…IfExists`: a request may leave a row out). */
export function grantedValueConditions(rows: readonly MetadataOptionRow[], hopLimitTarget: number): Conditions {
  const out: Conditions = {};
  for (const r of rows) {
    const want = desiredValue(r, hopLimitTarget);
    const op = typeof want === 'number' ? 'NumericGreaterThanEqualsIfExists' : 'StringEqualsIfExists';
    (out[op] ??= {})[attributeKey(r)] = String(want);
  }
  return out;
}

/** `Null: true` for every row given: the request must not set it. */
export function absentConditions(rows: readonly MetadataOptionRow[]): Record<string, string> {
  return Object.fromEntries(rows.map((r) => [attributeKey(r), 'true']));
}

/** The condition that matches a request breaking a row's rule (a lower number, the refused value). */
export function ruleBreakCondition(row: MetadataOptionRow, hopLimitTarget: number): Conditions {
  return row.rule.never === 'lower'
    ? { NumericLessThan: { [attributeKey(row)]: String(hopLimitTarget) } }
    : { StringEqualsIgnoreCase: { [attributeKey(row)]: row.rule.refused } };
}

/**
 * One Deny per row that has an action and a Deny Sid: the rules stand even if an Allow is widened.
 * Never-disable rows first, then never-lower ones, each in table order (the template's order).
 */
export function ruleDenies(hopLimitTarget: number, table: readonly MetadataOptionRow[] = METADATA_OPTIONS): { sid: string; conditions: Conditions }[] {
  const denied = table.filter((r) => r.action !== null && r.denySid !== undefined);
  return [...denied.filter((r) => r.rule.never === 'disable'), ...denied.filter((r) => r.rule.never === 'lower')].map((r) => ({ sid: r.denySid!, conditions: ruleBreakCondition(r, hopLimitTarget) }));
}

/**
 * The Allow conditions of one grant: its rows' desired values (a `setting`-gated row only while the
 * setting is on), every other row absent — the rows of other grants first, in table order, then the
 * gated rows switched off.
 */
export function grantConditions(grant: MetadataGrant, o: { hopLimitTarget: number; settings?: Readonly<Partial<Record<MetadataSwitch, boolean>>> }, table: readonly MetadataOptionRow[] = METADATA_OPTIONS): Conditions {
  const mine = table.filter((r) => r.grant === grant);
  const on = mine.filter((r) => r.setting === undefined || o.settings?.[r.setting] === true);
  const off = mine.filter((r) => !on.includes(r));
  return { ...grantedValueConditions(on, o.hopLimitTarget), Null: absentConditions([...table.filter((r) => r.grant !== grant), ...off]) };
}

/** The table's row for a parameter (throws for one the table lacks: a bug in lib/, caught at synth). */
export function rowOf(parameter: string, table: readonly MetadataOptionRow[] = METADATA_OPTIONS): MetadataOptionRow {
  const r = table.find((x) => x.parameter === parameter);
  if (!r) throw new Error(`metadata options table has no ${parameter} row`);
  return r;
}
