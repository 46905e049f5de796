/**
 * One instance's check judgements as AWS Security Finding Format (ASFF) findings, imported as this
 * account's own product (`product/<account>/default`). Shared by the check Lambda (which imports
 * only what changed, see plan.ts) and the CLI (`diagnose --format asff`, which prints them).
 *
 * Field rules (Security Hub user guide, "Required top-level ASFF attributes" and the
 * AwsSecurityFinding API reference): SchemaVersion 2018-10-08; Id ≤ 512 characters and stable per
 * instance + check, so every run updates the same finding instead of piling up new ones; Title ≤ 256;
 * Description ≤ 1,024; Types `namespace/category/classifier`; times ISO-8601 with a `Z`;
 * ProductFields ≤ 50 pairs, keys ≤ 128, values ≤ 2,048; a finding ≤ 240 KB. Pure.
 */
import { evaluateInstance, type EvaluationSettings } from '../fleet/evaluate-instance';
import type { ImdsOptions, InstanceEvaluation, InstanceRecord, Verdict } from '../types';
import { CHECKS, type CheckId, type CheckJudgement, judgeChecks } from './checks';

export const ASFF_SCHEMA_VERSION = '2018-10-08';
/** Prefix of every GeneratorId (a Security Hub insight filters on it). */
export const GENERATOR_PREFIX = 'timesync-guard/';
export const PRODUCT_NAME = 'timesync-guard';

/** Limits of the format this module keeps (the tests check every finding against them). */
export const ASFF_LIMITS = { id: 512, title: 256, description: 1024, productFields: 50, productFieldKey: 128, productFieldValue: 2048, recommendationText: 512 } as const;

/** Where the findings go. */
export interface AsffContext {
  readonly partition: string;
  readonly region: string;
  readonly accountId: string;
}

export type ComplianceStatus = 'PASSED' | 'FAILED' | 'WARNING' | 'NOT_AVAILABLE';

/** The part of an ASFF finding this product writes (a plain object: the SDK's `AwsSecurityFinding` accepts it). */
export interface AsffFinding {
  readonly SchemaVersion: string;
  readonly Id: string;
  readonly ProductArn: string;
  readonly ProductName: string;
  readonly GeneratorId: string;
  readonly AwsAccountId: string;
  readonly Region: string;
  readonly Types: readonly string[];
  readonly FirstObservedAt?: string;
  readonly LastObservedAt: string;
  readonly CreatedAt: string;
  readonly UpdatedAt: string;
  readonly Severity: { readonly Label: string };
  readonly Title: string;
  readonly Description: string;
  readonly Remediation: { readonly Recommendation: { readonly Text: string; readonly Url: string } };
  readonly ProductFields: Readonly<Record<string, string>>;
  readonly Resources: readonly {
    readonly Type: 'AwsEc2Instance';
    readonly Id: string;
    readonly Partition: string;
    readonly Region: string;
  }[];
  readonly Compliance: { readonly Status: ComplianceStatus };
  readonly Workflow?: { readonly Status: 'NEW' };
  readonly RecordState: 'ACTIVE' | 'ARCHIVED';
}

/** `arn:<partition>:securityhub:<region>:<account>:product/<account>/default`: the account's own product. */
export function productArn(c: AsffContext): string {
  return `arn:${c.partition}:securityhub:${c.region}:${c.accountId}:product/${c.accountId}/default`;
}

/** The finding Id: the same for the same account, region, instance and check on every run. */
export function findingId(c: AsffContext, instanceId: string, check: CheckId): string {
  return `${GENERATOR_PREFIX}${c.accountId}/${c.region}/${instanceId}/${check}`;
}

export function instanceArn(c: AsffContext, instanceId: string): string {
  return `arn:${c.partition}:ec2:${c.region}:${c.accountId}:instance/${instanceId}`;
}

function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

/** The verdict's numbers and the IMDS options, as ProductFields (strings; absent values left out). */
export function productFields(e: InstanceEvaluation, j: Pick<CheckJudgement, 'check' | 'codes'>): Record<string, string> {
  const v = e.verdict;
  const raw: Record<string, unknown> = {
    Check: j.check,
    Codes: j.codes.join(','),
    CheckState: e.checkState,
    InstanceStatus: e.status,
    OffsetSeconds: v?.offsetSeconds,
    ClockErrorBoundSeconds: v?.clockErrorBoundSeconds,
    TimeSource: v?.timeSource,
    Daemon: v?.daemon,
    Synchronized: v?.synchronized,
    Containers: v?.containers,
    HopLimit: e.imds.hopLimit,
    HttpTokens: e.imds.httpTokens,
    HttpEndpoint: e.imds.httpEndpoint,
  };
  const out: Record<string, string> = {};
  for (const [k, val] of Object.entries(raw)) {
    if (val === undefined || val === null || val === '') continue;
    out[`${PRODUCT_NAME}/${k}`] = clip(String(val), ASFF_LIMITS.productFieldValue);
  }
  return out;
}

/** What {@link buildFinding} needs besides the judgement. */
export interface FindingTimes {
  /** This run's time. */
  readonly now: number;
  /** When the finding was first imported (stored), else now. */
  readonly createdAt?: number;
}

/**
 * The finding of one judged check. A failing check is ACTIVE (Workflow NEW when `regression`: a
 * finding new to Security Hub or failing again after it was archived); a passing one is the
 * archived record of a fixed problem (only ever imported for a check that had failed).
 */
export function buildFinding(c: AsffContext, e: InstanceEvaluation, j: CheckJudgement, t: FindingTimes, regression: boolean): AsffFinding {
  const info = CHECKS[j.check];
  const failed = j.status === 'FAILED';
  const who = e.name ? `${e.instanceId} (${e.name})` : e.instanceId;
  const description = failed ? `${who}: ${j.messages.join('; ')}` : `${who}: passes again. ${info.description}`;
  return {
    ...common(c, e.instanceId, j.check, t),
    Severity: { Label: j.severity },
    Title: clip(info.title, ASFF_LIMITS.title),
    Description: clip(description, ASFF_LIMITS.description),
    ProductFields: productFields(e, j),
    Compliance: { Status: j.status },
    ...(failed && regression ? { Workflow: { Status: 'NEW' as const } } : {}),
    RecordState: failed ? 'ACTIVE' : 'ARCHIVED',
  };
}

/** The finding that archives a check of an instance that is gone (terminated, stopped, no longer listed). */
export function goneFinding(c: AsffContext, instanceId: string, check: CheckId, t: FindingTimes): AsffFinding {
  const info = CHECKS[check];
  return {
    ...common(c, instanceId, check, t),
    Severity: { Label: 'INFORMATIONAL' },
    Title: clip(info.title, ASFF_LIMITS.title),
    Description: clip(`${instanceId}: no longer running (not listed by the check): archived.`, ASFF_LIMITS.description),
    ProductFields: { [`${PRODUCT_NAME}/Check`]: check, [`${PRODUCT_NAME}/CheckState`]: 'gone' },
    Compliance: { Status: 'NOT_AVAILABLE' },
    RecordState: 'ARCHIVED',
  };
}

function common(c: AsffContext, instanceId: string, check: CheckId, t: FindingTimes) {
  const info = CHECKS[check];
  const created = Math.min(t.createdAt ?? t.now, t.now);
  return {
    SchemaVersion: ASFF_SCHEMA_VERSION,
    Id: findingId(c, instanceId, check),
    ProductArn: productArn(c),
    ProductName: PRODUCT_NAME,
    GeneratorId: `${GENERATOR_PREFIX}${check}`,
    AwsAccountId: c.accountId,
    Region: c.region,
    Types: info.types,
    FirstObservedAt: iso(created),
    LastObservedAt: iso(t.now),
    CreatedAt: iso(created),
    UpdatedAt: iso(t.now),
    Remediation: { Recommendation: { Text: clip(info.remediation, ASFF_LIMITS.recommendationText), Url: info.remediationUrl } },
    Resources: [{ Type: 'AwsEc2Instance' as const, Id: instanceArn(c, instanceId), Partition: c.partition, Region: c.region }],
  };
}

/**
 * Every finding one evaluation yields with no history (the CLI's view, and the first import of a
 * check that fails): the failing checks only, each NEW. A passing check with no history has nothing
 * to report (it was never a finding).
 */
export function findingsForEvaluation(c: AsffContext, e: InstanceEvaluation, judgements: readonly CheckJudgement[], now: number): AsffFinding[] {
  return judgements.filter((j) => j.status === 'FAILED').map((j) => buildFinding(c, e, j, { now }, true));
}

/** The account, region and partition of a Lambda function ARN (`arn:<partition>:lambda:<region>:<account>:function:<name>`); undefined for anything else. */
export function contextFromFunctionArn(arn: unknown): AsffContext | undefined {
  if (typeof arn !== 'string') return undefined;
  const m = /^arn:(aws[a-z-]*):lambda:([a-z0-9-]+):(\d{12}):function:/.exec(arn);
  return m ? { partition: m[1] as string, region: m[2] as string, accountId: m[3] as string } : undefined;
}

/**
 * The findings one collector report yields for an instance, with what the API would add when known
 * (the CLI's `diagnose --format asff`): the same evaluation and mapping as the check Lambda, for an
 * SSM-managed instance with an instance profile. Without `imds`, the IMDS checks are not judged.
 */
export function findingsForReport(c: AsffContext, instanceId: string, verdict: Verdict, settings: EvaluationSettings, now: number, imds: ImdsOptions = {}): AsffFinding[] {
  const record: InstanceRecord = { instanceId, platform: verdict.platform ?? 'linux', hasInstanceProfile: true, optedOut: false, imds, ssm: { pingStatus: 'Online' } };
  const e = evaluateInstance(record, { kind: 'report', verdict }, settings);
  return findingsForEvaluation(c, e, judgeChecks(e), now);
}
