/**
 * Simulated Security Hub (BatchImportFindings) and Systems Manager Compliance (PutComplianceItems,
 * an SSM action: ssm.ts spreads {@link COMPLIANCE_ACTIONS} into its actions). Registered in
 * account.ts's SERVICES.
 *
 * BatchImportFindings as documented (Security Hub partner guide): at most 100 findings per request
 * (more: InvalidInputException), 240 KB per finding, 10 requests per second with a burst of 30
 * (`TooManyRequestsException`), the caller's account must be each finding's AwsAccountId and own
 * the product; a finding that is not valid ASFF comes back in FailedFindings, the rest are imported.
 * An account without Security Hub answers InvalidAccessException. Findings are kept by
 * (ProductArn, Id): a re-import updates, and Workflow is set only on create (later imports cannot
 * change it), except that a finding going back to FAILED (or ACTIVE) from PASSED (or ARCHIVED) is
 * set to NEW again, as Security Hub does.
 */
import { BatchImportFindingsCommand, SecurityHubClient } from '@aws-sdk/client-securityhub';
import { PutComplianceItemsCommand } from '@aws-sdk/client-ssm';
import type { SimAccount, SimAction, SimService } from './account';
import { asffProblems } from './asff-schema';
import { SimAwsError } from './primitives';

/** Options of the simulated Security Hub and Compliance (part of SimAccountOptions). */
export interface SimSecurityHubOptions {
  /** false: Security Hub is not enabled in the account (InvalidAccessException). @default true */
  readonly securityHubEnabled?: boolean;
  /** The simulated account id. @default '123456789012' */
  readonly accountId?: string;
  /** Findings refused (FailedFindings, `InternalError`) although valid: `call` counts requests from 0 (partial failures). @default none */
  failFinding?(call: number, id: string): boolean;
}

/** A stored finding (what Security Hub shows). */
export interface SimFinding {
  finding: Record<string, unknown>;
  workflow: string;
  imports: number;
}

/** The state of the simulated services, per account. */
export interface SimSecurityHubState {
  readonly findings: Map<string, SimFinding>;
  /** Finding ingestion events (each finding accepted by an import counts one; Security Hub bills per event). */
  ingestionEvents: number;
  /** instance id → items of `Custom:TimeSyncGuard` as last put (COMPLETE upload). */
  readonly compliance: Map<string, Record<string, unknown>[]>;
  /** Puts SSM ignored because their ItemContentHash equalled the stored one. */
  ignoredPuts: number;
  readonly hashes: Map<string, string>;
}

const states = new WeakMap<SimAccount, SimSecurityHubState>();

/** The simulated Security Hub and Compliance state of an account. */
export function securityHubState(acct: SimAccount): SimSecurityHubState {
  let s = states.get(acct);
  if (!s) {
    s = { findings: new Map(), ingestionEvents: 0, compliance: new Map(), ignoredPuts: 0, hashes: new Map() };
    states.set(acct, s);
  }
  return s;
}

const accountOf = (acct: SimAccount): string => (acct.options as SimSecurityHubOptions).accountId ?? '123456789012';

function batchImportFindings(acct: SimAccount, input: { Findings?: Record<string, unknown>[] }): { result: object; latency: number } {
  const o = acct.options as SimSecurityHubOptions;
  if (o.securityHubEnabled === false) {
    throw new SimAwsError('InvalidAccessException', `Account ${accountOf(acct)} is not subscribed to AWS Security Hub`, 401);
  }
  const findings = input.Findings ?? [];
  if (findings.length < 1 || findings.length > 100) throw new SimAwsError('InvalidInputException', `Findings must hold 1 to 100 findings, got ${findings.length}`);
  const s = securityHubState(acct);
  const call = (acct.stats.calls['BatchImportFindings'] ?? 1) - 1;
  const failed: { Id: string; ErrorCode: string; ErrorMessage: string }[] = [];
  const account = accountOf(acct);
  for (const f of findings) {
    const id = String(f['Id'] ?? '');
    const problems = asffProblems(f);
    if (f['AwsAccountId'] !== account) problems.push('AwsAccountId is not the calling account');
    if (typeof f['ProductArn'] === 'string' && !(f['ProductArn'] as string).endsWith(`:${account}:product/${account}/default`)) problems.push('not the account\'s own product');
    if (problems.length > 0) {
      failed.push({ Id: id, ErrorCode: 'InvalidInput', ErrorMessage: problems.join('; ').slice(0, 500) });
      continue;
    }
    if (o.failFinding?.(call, id)) {
      failed.push({ Id: id, ErrorCode: 'InternalError', ErrorMessage: 'simulated partial failure' });
      continue;
    }
    s.ingestionEvents++;
    const key = `${String(f['ProductArn'])}|${id}`;
    const prev = s.findings.get(key);
    if (!prev) {
      s.findings.set(key, { finding: f, workflow: (f['Workflow'] as { Status?: string } | undefined)?.Status ?? 'NEW', imports: 1 });
      continue;
    }
    const was = prev.finding;
    const regressed =
      ((was['Compliance'] as { Status?: string } | undefined)?.Status === 'PASSED' && (f['Compliance'] as { Status?: string } | undefined)?.Status === 'FAILED') ||
      (was['RecordState'] === 'ARCHIVED' && f['RecordState'] === 'ACTIVE');
    prev.finding = f;
    prev.imports++;
    if (regressed) prev.workflow = 'NEW';
  }
  return { result: { FailedCount: failed.length, SuccessCount: findings.length - failed.length, FailedFindings: failed }, latency: acct.lat.other };
}

function putComplianceItems(acct: SimAccount, i: { ResourceId?: string; ResourceType?: string; ComplianceType?: string; Items?: Record<string, unknown>[]; ItemContentHash?: string; UploadType?: string; ExecutionSummary?: { ExecutionTime?: unknown } }): { result: object; latency: number } {
  const id = i.ResourceId ?? '';
  const inst = acct.byId.get(id);
  if (i.ResourceType !== 'ManagedInstance') throw new SimAwsError('InvalidResourceType', 'ResourceType must be ManagedInstance');
  if (!inst || inst.ssm === 'unmanaged' || acct.isGone(inst)) throw new SimAwsError('InvalidResourceId', `${id} is not a managed instance`);
  if (!i.ComplianceType || !/^Custom:[\w.:-]{1,93}$|^(Association|Patch)$/.test(i.ComplianceType)) throw new SimAwsError('ValidationException', 'ComplianceType invalid');
  if (!i.ExecutionSummary?.ExecutionTime) throw new SimAwsError('ValidationException', 'ExecutionSummary.ExecutionTime is required');
  const items = i.Items ?? [];
  if (items.length > 10_000) throw new SimAwsError('ItemSizeLimitExceededException', 'more than 10,000 items');
  for (const it of items) {
    if (!['CRITICAL', 'HIGH', 'MEDIUM', 'LOW', 'INFORMATIONAL', 'UNSPECIFIED'].includes(it['Severity'] as string)) throw new SimAwsError('ValidationException', 'Severity invalid');
    if (!['COMPLIANT', 'NON_COMPLIANT'].includes(it['Status'] as string)) throw new SimAwsError('ValidationException', 'Status invalid');
  }
  if ((i.UploadType ?? 'COMPLETE') !== 'COMPLETE') throw new SimAwsError('ValidationException', 'PARTIAL is for association compliance only');
  const s = securityHubState(acct);
  const key = `${id}|${i.ComplianceType}`;
  if (i.ItemContentHash && s.hashes.get(key) === i.ItemContentHash) {
    s.ignoredPuts++;
    return { result: {}, latency: acct.lat.other };
  }
  // COMPLETE: the items sent replace every item of the type on the resource.
  s.compliance.set(id, items);
  if (i.ItemContentHash) s.hashes.set(key, i.ItemContentHash);
  return { result: {}, latency: acct.lat.other };
}

/** SSM's Compliance action (spread into SSM_SERVICE's actions; SSM's request bucket applies). */
export const COMPLIANCE_ACTIONS: Readonly<Record<string, SimAction>> = {
  PutComplianceItems: { command: PutComplianceItemsCommand, answer: putComplianceItems, bucket: () => 'requests' },
};

export const SECURITYHUB_SERVICE: SimService = {
  name: 'securityhub',
  client: SecurityHubClient,
  actions: { BatchImportFindings: { command: BatchImportFindingsCommand, answer: batchImportFindings, bucket: () => 'import' } },
  buckets: () => ({ import: { capacity: 30, refillPerSecond: 10 } }),
  throttled: () => new SimAwsError('TooManyRequestsException', 'Rate exceeded', 429),
};
