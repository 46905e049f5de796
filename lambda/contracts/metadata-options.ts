/**
 * The instance metadata options the remediation may change, one row each: the one contract between
 * the engine that sends `ModifyInstanceMetadataOptions` (lambda/engine/remediation/, through the
 * plan's wants in lambda/core/remediation/metadata-wants.ts) and the IAM grant that makes anything
 * else impossible (lib/metadata-options-iam.ts derives every condition from these rows). Pure: no
 * SDK, no CDK, so both sides import it.
 *
 * A new option is one row here plus the finding that asks for it (lambda/core/diagnosis/findings.ts,
 * `fix` = the row's action): the plan wants it where the finding is, IAM allows exactly its desired
 * value and denies the value its rule refuses (test/engine/remediation/metadata-options.test.ts).
 *
 * Row order is the order of the plan's wanted actions (and of the audit records) and of the IAM
 * conditions; the Deny statements put the never-disable rows first (stable: the stack's template).
 */

/** Never lower (a number: at least the target) or never disable (a value: never the refused one). */
export type MetadataRule = { readonly never: 'lower' } | { readonly never: 'disable'; readonly refused: string };

/** What a row sets: at least the configured hop target, or one value. */
export type MetadataDesired = { readonly atLeast: 'hopLimitTarget' } | { readonly value: string };

/**
 * Which grant may send the option: `nightly` (the remediate role's IMDS grant; with `setting`, only
 * while that boolean setting is on), `imdsv2` (the IMDSv2 enforcement grant, docs/imdsv2.md), or
 * `none` (never in a request: IAM requires the attribute to be absent).
 */
export type MetadataGrant = 'nightly' | 'imdsv2' | 'none';

/** The boolean settings a metadata row may be gated by. */
export type MetadataSwitch = 'enableMetadataEndpoint';

export interface MetadataOptionRow {
  /** The ModifyInstanceMetadataOptions parameter; IAM sees the request's value as `ec2:Attribute/<parameter>`. */
  readonly parameter: string;
  /** The field of the fresh read that reports it (lambda/core/types.ts `ImdsOptions`). */
  readonly field: string;
  /** The audit action that changes it; null: the remediation never changes it. */
  readonly action: string | null;
  /** The finding code whose table row's `fix` is this action (null: asked for otherwise, see `askedBy`). */
  readonly finding: string | null;
  /** Why the option is wanted when no finding asks for it. */
  readonly askedBy?: string;
  readonly desired: MetadataDesired;
  readonly rule: MetadataRule;
  readonly grant: MetadataGrant;
  /**
   * A `nightly` row sent only while this boolean setting is on (the plan, the IMDS phase on every
   * resume, and the IAM grant all read it). Only the switches the construct hands to the IMDS grant
   * (lib/guard-common.ts `imdsStatements`); a new switch joins {@link MetadataSwitch} and that call.
   */
  readonly setting?: MetadataSwitch;
  /** The Deny statement's Sid that enforces the rule for the remediate role (rows with an action). */
  readonly denySid?: string;
}

export const METADATA_OPTIONS = [
  {
    parameter: 'HttpPutResponseHopLimit',
    field: 'hopLimit',
    action: 'raise-hop-limit',
    finding: 'imds-hop-limit-too-low-for-containers',
    desired: { atLeast: 'hopLimitTarget' },
    rule: { never: 'lower' },
    grant: 'nightly',
    denySid: 'NeverLowerHopLimit',
  },
  {
    parameter: 'HttpEndpoint',
    field: 'httpEndpoint',
    action: 'enable-metadata-endpoint',
    finding: 'imds-endpoint-disabled',
    desired: { value: 'enabled' },
    rule: { never: 'disable', refused: 'disabled' },
    grant: 'nightly',
    setting: 'enableMetadataEndpoint',
    denySid: 'NeverDisableMetadataEndpoint',
  },
  {
    parameter: 'HttpTokens',
    field: 'httpTokens',
    action: 'require-imdsv2',
    finding: null,
    askedBy: 'IMDSv2 readiness: no MetadataNoToken calls in the lookback window (docs/imdsv2.md)',
    desired: { value: 'required' },
    rule: { never: 'disable', refused: 'optional' },
    grant: 'imdsv2',
    denySid: 'NeverMakeTokensOptional',
  },
  {
    parameter: 'HttpProtocolIpv6',
    field: 'httpProtocolIpv6',
    action: null,
    finding: null,
    desired: { value: 'enabled' },
    rule: { never: 'disable', refused: 'disabled' },
    grant: 'none',
  },
  {
    parameter: 'InstanceMetadataTags',
    field: 'instanceMetadataTags',
    action: null,
    finding: null,
    desired: { value: 'enabled' },
    rule: { never: 'disable', refused: 'disabled' },
    grant: 'none',
  },
] as const satisfies readonly MetadataOptionRow[];

/** One row of the table as it stands. */
export type MetadataOption = (typeof METADATA_OPTIONS)[number];

/** The actions the table's rows stand for (part of the remediation's action vocabulary). */
export type MetadataOptionAction = Exclude<MetadataOption['action'], null>;

/** A table's row by its action (undefined: no row changes it). */
export function metadataOptionOf(action: string, table: readonly MetadataOptionRow[] = METADATA_OPTIONS): MetadataOptionRow | undefined {
  return table.find((r) => r.action === action);
}

/** The value a row asks for under the given hop target. */
export function desiredValue(row: MetadataOptionRow, hopLimitTarget: number): string | number {
  return 'atLeast' in row.desired ? hopLimitTarget : row.desired.value;
}

/**
 * Whether a fresh read already satisfies a row (its rule's direction): a number at least the
 * target, or exactly the desired value. What the read does not report is never satisfied.
 */
export function satisfies(row: MetadataOptionRow, current: unknown, hopLimitTarget: number): boolean {
  const want = desiredValue(row, hopLimitTarget);
  return typeof want === 'number' ? typeof current === 'number' && current >= want : current === want;
}

/** The value a never-disable row refuses (a never-lower row refuses every lower number: none to name). */
export function refusedValue(row: MetadataOptionRow): string {
  if (row.rule.never !== 'disable') throw new Error(`${row.parameter} refuses no single value`);
  return row.rule.refused;
}

/** `ec2:Attribute/<parameter>`: the request's value as IAM sees it (present only when the request sets it). */
export function attributeKey(row: Pick<MetadataOptionRow, 'parameter'>): string {
  return `ec2:Attribute/${row.parameter}`;
}
