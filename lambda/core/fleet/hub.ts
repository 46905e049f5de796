/**
 * The organization hub's contract: its settings (environment of the hub Lambdas, same parser style
 * as settings.ts), the item the Map state hands to the item handler and what it returns, and the
 * run totals. Pure: no SDK, no I/O.
 */
import { IMDSV2_METRICS, IMDSV2_STATE_METRIC } from '../imdsv2/metrics';
import { SettingsError } from '../settings';
import { HUB_SOURCE_METRICS } from './hub-sources';
import { ACCOUNT_DEFAULTS_METRICS } from './metadata-defaults';

/** Environment variables of the hub Lambdas (in addition to settings.ts's ENV). */
export const HUB_ENV = {
  spokeRoleName: 'TSG_SPOKE_ROLE_NAME',
  organizationalUnits: 'TSG_HUB_OUS',
  accounts: 'TSG_HUB_ACCOUNTS',
  regions: 'TSG_HUB_REGIONS',
  slicePages: 'TSG_HUB_SLICE_PAGES',
  /** The bucket of the run's item list, the Map's results and the full summary (hub-run only). */
  runBucket: 'TSG_HUB_RUN_BUCKET',
} as const;

/**
 * - slicePages 10: one slice lists 10 EC2 pages (10,000 instances); the benchmark checks 10,000 in
 *   ≈ 102 s, far inside half of a 15-minute invocation, so a slice never needs more than half.
 */
export const HUB_DEFAULTS = { spokeRoleName: 'TimeSyncGuardSpoke', slicePages: 10 } as const;

/** Suffix of the second spoke role, the IMDSv2 undo's (`imdsv2AutoUndo` with `imdsv2=enforce`). */
export const IMDSV2_UNDO_ROLE_SUFFIX = '-Imdsv2Undo';

/**
 * The member account's IMDSv2 undo role: only the hourly check's rollback enters it, and it holds
 * only the single-account check role's undo statements, so the spoke role that enforces never may
 * undo and this one never may enforce (docs/organization.md).
 */
export function imdsv2UndoRoleName(spokeRoleName: string): string {
  return `${spokeRoleName}${IMDSV2_UNDO_ROLE_SUFFIX}`;
}

export interface HubSettings {
  readonly spokeRoleName: string;
  readonly organizationalUnits: readonly string[];
  readonly accounts: readonly string[];
  readonly regions: readonly string[];
  readonly slicePages: number;
  /** Where a run keeps its item list, results and summary; unset: the listing and results travel in the execution state (tests, ≤ 1,000 items). */
  readonly runBucket?: string;
}

type Env = Readonly<Record<string, string | undefined>>;

/**
 * The environment minus the hub's own variables, for the single-account settings parser: it rejects
 * every `TSG_*` variable it does not know, so the hub Lambdas parse the two sets apart.
 */
export function withoutHubVariables(env: Env): Record<string, string | undefined> {
  const hub = new Set<string>(Object.values(HUB_ENV));
  return Object.fromEntries(Object.entries(env).filter(([k]) => !hub.has(k)));
}

const list = (v: string | undefined): string[] => (v ?? '').split(',').map((x) => x.trim()).filter((x) => x !== '');

/** Parses the hub settings; a bad value fails the cold start naming the variable. */
export function parseHubSettings(env: Env, defaultRegion: string | undefined): HubSettings {
  const accounts = list(env[HUB_ENV.accounts]);
  for (const a of accounts) if (!/^\d{12}$/.test(a)) throw new SettingsError(HUB_ENV.accounts, `${JSON.stringify(a)} is not a 12-digit account id`);
  const ous = list(env[HUB_ENV.organizationalUnits]);
  for (const o of ous) if (!/^(ou-[0-9a-z]{4,32}-[a-z0-9]{8,32}|r-[0-9a-z]{4,32})$/.test(o)) throw new SettingsError(HUB_ENV.organizationalUnits, `${JSON.stringify(o)} is not an OU or root id`);
  const regions = list(env[HUB_ENV.regions]);
  for (const r of regions) if (!/^[a-z]{2}(-[a-z]+)+-\d$/.test(r)) throw new SettingsError(HUB_ENV.regions, `${JSON.stringify(r)} is not a region`);
  const role = (env[HUB_ENV.spokeRoleName] ?? '').trim() || HUB_DEFAULTS.spokeRoleName;
  if (!/^[\w+=,.@-]{1,64}$/.test(role)) throw new SettingsError(HUB_ENV.spokeRoleName, `${JSON.stringify(role)} is not a role name`);
  const pagesRaw = (env[HUB_ENV.slicePages] ?? '').trim();
  const slicePages = pagesRaw === '' ? HUB_DEFAULTS.slicePages : Number(pagesRaw);
  if (!Number.isInteger(slicePages) || slicePages < 1 || slicePages > 100) throw new SettingsError(HUB_ENV.slicePages, `${JSON.stringify(pagesRaw)}: expected an integer in [1, 100]`);
  const runBucket = (env[HUB_ENV.runBucket] ?? '').trim();
  return {
    spokeRoleName: role,
    organizationalUnits: ous,
    accounts,
    regions: regions.length > 0 ? regions : defaultRegion ? [defaultRegion] : [],
    slicePages,
    ...(runBucket ? { runBucket } : {}),
  };
}

/** What the Map state hands the item handler (and the loop hands back for the next slice). */
export interface HubItemEvent {
  readonly accountId: string;
  readonly region: string;
  readonly mode: 'check' | 'remediate';
  /** EC2 page token where this slice starts (null: the first page). */
  readonly sliceToken?: string | null;
  /** Remediation continuation (null: a new run). */
  readonly continuation?: string | null;
  /** Counts of the earlier slices of this account-region. */
  readonly carry?: Readonly<Record<string, number>> | null;
  readonly slices?: number;
  /** The item as the run listed it (first request only): a launch run's names its instances (hub-launch-remediation.ts). */
  readonly target?: unknown;
}

/**
 * Why an account-region was not covered. `document-mismatch`: a document the run needs is missing
 * there or its content is not the one the documents StackSet deploys (its hash differs from the
 * hub's pin): nothing is run in that account-region.
 */
export type HubItemFailure = 'access-denied' | 'throttled' | 'region-disabled' | 'document-mismatch' | 'check-failed' | 'remediation-failed' | 'error';

/** What DescribeDocument says of a member account's document (its default version: what SendCommand would run). */
export interface DescribedDocument {
  readonly hash?: string | undefined;
  readonly hashType?: string | undefined;
  readonly status?: string | undefined;
}

/**
 * Judges a member account's document against the hub's pin: the problem, or undefined when it is
 * the pinned content. A document that could not be described is never taken for the right one.
 */
export function pinnedDocumentProblem(name: string, expected: string | undefined, described: DescribedDocument | undefined): string | undefined {
  if (expected === undefined) return `the hub holds no pin for document ${name}: nothing is sent`;
  if (!described) return `document ${name} does not exist there (the documents StackSet does not cover this region, or it was deleted): nothing is sent`;
  if (described.hashType !== 'Sha256' || described.hash !== expected) {
    return `document ${name} is not the one the documents StackSet deploys (its ${described.hashType ?? 'unknown'} hash ${described.hash ?? 'unknown'}, pinned SHA-256 ${expected}; changed in place, or another same-name document): nothing is sent`;
  }
  if (described.status !== undefined && described.status !== 'Active') return `document ${name} is ${described.status}, not Active: nothing is sent`;
  return undefined;
}

/** The item handler's answer. Every key is always present (null when empty): the state machine's paths need them. */
export interface HubItemResult {
  readonly accountId: string;
  readonly region: string;
  readonly mode: 'check' | 'remediate';
  readonly status: 'ok' | 'failed';
  readonly reason: HubItemFailure | null;
  readonly detail: string | null;
  /** false: call again with `sliceToken` / `continuation`. */
  readonly done: boolean;
  readonly sliceToken: string | null;
  readonly continuation: string | null;
  /** Check counts summed over the slices so far (CHECK_METRICS keys), or remediation counts. */
  readonly counts: Readonly<Record<string, number>> | null;
  readonly slices: number;
}

/** Adds count records key by key. */
export function addCounts(a: Readonly<Record<string, number>> | null | undefined, b: Readonly<Record<string, number>> | null | undefined): Record<string, number> {
  const out: Record<string, number> = { ...(a ?? {}) };
  for (const [k, v] of Object.entries(b ?? {})) if (typeof v === 'number' && Number.isFinite(v)) out[k] = (out[k] ?? 0) + v;
  return out;
}

/**
 * Run-level metric of the hub, `service` dimension only (no AccountId): account-regions the run could
 * not cover, published on every run (0 included) so one alarm watches the whole organization.
 */
export const HUB_FLEET_METRICS = { accountRegionsNotCovered: 'AccountRegionsNotCovered' } as const;

/**
 * Counts an item adds beside the check counts (first slice of an account-region only: the account
 * defaults and the readiness are the account-region's, not the slice's), published by the summary
 * under the single-account metric names so the single-account alarms (imdsv2Rejected,
 * imdsv2RolledBack) and dashboard widgets read the organization's sums.
 */
export const HUB_EXTRA_METRICS: Readonly<Record<string, string>> = {
  accountDefaultFindings: ACCOUNT_DEFAULTS_METRICS.accountDefaultFindings,
  accountDefaultsUnknown: ACCOUNT_DEFAULTS_METRICS.accountDefaultsUnknown,
  imdsv2Rejected: IMDSV2_METRICS.rejected,
  imdsv2RolledBack: IMDSV2_METRICS.rolledBack,
  ...Object.fromEntries(Object.entries(IMDSV2_STATE_METRIC).map(([state, name]) => [`imdsv2:${state}`, name])),
  // Launch sources (every slice, largest slice kept: ./hub-sources.ts).
  ...HUB_SOURCE_METRICS,
};

/** `detail-type` of the hub's run summary on the central bus. */
export const HUB_SUMMARY_DETAIL_TYPE = 'TimeSync Guard Organization Run Summary';

/** `detail-type` of the audit event of a run that stopped because an earlier run of the hub is still RUNNING. */
export const HUB_SKIPPED_DETAIL_TYPE = 'TimeSync Guard Organization Run Skipped';

/** Run totals: fleet counts summed over covered account-regions, and the ones not covered. */
export interface HubRunTotals {
  readonly accountRegions: number;
  readonly covered: number;
  readonly notCovered: readonly { readonly accountId: string; readonly region: string; readonly reason: string; readonly detail: string | null }[];
  readonly counts: Record<string, number>;
  readonly byAccount: Record<string, Record<string, number>>;
}

/** Flattens the Map's nested results (accounts × regions) and sums them; anything unreadable counts as not covered. */
export function totalsOf(results: unknown): HubRunTotals {
  const flat: unknown[] = Array.isArray(results) ? results.flat(2) : [];
  const notCovered: { accountId: string; region: string; reason: string; detail: string | null }[] = [];
  let counts: Record<string, number> = {};
  const byAccount: Record<string, Record<string, number>> = {};
  let covered = 0;
  for (const x of flat) {
    const r = (x ?? {}) as Partial<HubItemResult>;
    const accountId = typeof r.accountId === 'string' ? r.accountId : 'unknown';
    const region = typeof r.region === 'string' ? r.region : 'unknown';
    if (r.status !== 'ok') {
      notCovered.push({ accountId, region, reason: typeof r.reason === 'string' ? r.reason : 'error', detail: typeof r.detail === 'string' ? r.detail : null });
      continue;
    }
    covered++;
    counts = addCounts(counts, r.counts);
    byAccount[accountId] = addCounts(byAccount[accountId], r.counts);
  }
  return { accountRegions: flat.length, covered, notCovered, counts, byAccount };
}
