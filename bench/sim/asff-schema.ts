/**
 * A check of one finding against the AWS Security Finding Format, written from the Security Hub
 * user guide ("Required top-level ASFF attributes", "Optional top-level ASFF attributes") and the
 * AwsSecurityFinding API reference, independent of the code that builds the findings: the tests
 * validate every finding with it, and the simulated Security Hub refuses what it refuses
 * (FailedFindings `InvalidInput`), as the service does.
 */

/** The required top-level attributes (Security Hub user guide). */
export const ASFF_REQUIRED = ['AwsAccountId', 'CreatedAt', 'Description', 'GeneratorId', 'Id', 'ProductArn', 'Resources', 'SchemaVersion', 'Severity', 'Title', 'Types', 'UpdatedAt'] as const;

const TYPE_NAMESPACES = ['Software and Configuration Checks', 'TTPs', 'Effects', 'Unusual Behaviors', 'Sensitive Data Identifications'];
const SEVERITY = ['INFORMATIONAL', 'LOW', 'MEDIUM', 'HIGH', 'CRITICAL'];
const COMPLIANCE = ['PASSED', 'WARNING', 'FAILED', 'NOT_AVAILABLE'];
const RECORD_STATE = ['ACTIVE', 'ARCHIVED'];
const WORKFLOW = ['NEW', 'NOTIFIED', 'RESOLVED', 'SUPPRESSED'];
/** ISO-8601 / RFC 3339 date-time, as the API requires for every timestamp. */
const TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/;
/** 240 KB per finding. */
export const ASFF_MAX_FINDING_BYTES = 240 * 1024;

/** The problems of one finding (empty: valid). */
export function asffProblems(f: unknown): string[] {
  const p: string[] = [];
  if (!f || typeof f !== 'object' || Array.isArray(f)) return ['not an object'];
  const x = f as Record<string, unknown>;
  for (const k of ASFF_REQUIRED) if (x[k] === undefined || x[k] === null || x[k] === '') p.push(`${k} is required`);
  const str = (k: string, max: number): void => {
    if (x[k] === undefined) return;
    if (typeof x[k] !== 'string') p.push(`${k} must be a string`);
    else if ((x[k] as string).length > max) p.push(`${k} longer than ${max}`);
  };
  str('SchemaVersion', 512);
  str('Id', 512);
  str('ProductArn', 512);
  str('GeneratorId', 512);
  str('Title', 256);
  str('Description', 1024);
  str('ProductName', 128);
  str('Region', 16);
  if (x['SchemaVersion'] !== undefined && x['SchemaVersion'] !== '2018-10-08') p.push('SchemaVersion must be 2018-10-08');
  if (typeof x['AwsAccountId'] !== 'string' || !/^\d{12}$/.test(x['AwsAccountId'] as string)) p.push('AwsAccountId must be 12 digits');
  if (typeof x['ProductArn'] === 'string' && !/^arn:aws[a-z-]*:securityhub:[a-z0-9-]+:\d{0,12}:product\/[^/]+\/[^/]+$/.test(x['ProductArn'] as string)) p.push('ProductArn is not a product ARN');
  for (const k of ['CreatedAt', 'UpdatedAt', 'FirstObservedAt', 'LastObservedAt']) {
    if (x[k] !== undefined && (typeof x[k] !== 'string' || !TIMESTAMP.test(x[k] as string))) p.push(`${k} must be an ISO-8601 timestamp`);
  }
  if (typeof x['CreatedAt'] === 'string' && typeof x['UpdatedAt'] === 'string' && Date.parse(x['CreatedAt'] as string) > Date.parse(x['UpdatedAt'] as string)) p.push('CreatedAt after UpdatedAt');
  const types = x['Types'];
  if (!Array.isArray(types) || types.length < 1 || types.length > 50) p.push('Types must be an array of 1–50');
  else for (const t of types) if (typeof t !== 'string' || !TYPE_NAMESPACES.includes(t.split('/')[0] ?? '') || t.split('/').length > 3) p.push(`Type ${JSON.stringify(t)} is not namespace/category/classifier`);
  const sev = x['Severity'] as Record<string, unknown> | undefined;
  if (!sev || typeof sev !== 'object' || (sev['Label'] === undefined && sev['Normalized'] === undefined)) p.push('Severity needs Label (or Normalized)');
  else if (sev['Label'] !== undefined && !SEVERITY.includes(sev['Label'] as string)) p.push(`Severity.Label ${String(sev['Label'])} is not one of ${SEVERITY.join(', ')}`);
  const res = x['Resources'];
  if (!Array.isArray(res) || res.length < 1 || res.length > 32) p.push('Resources must be an array of 1–32');
  else for (const r of res as Record<string, unknown>[]) if (typeof r?.['Type'] !== 'string' || typeof r?.['Id'] !== 'string') p.push('each Resource needs Type and Id');
  const comp = x['Compliance'] as Record<string, unknown> | undefined;
  if (comp !== undefined && !COMPLIANCE.includes(comp?.['Status'] as string)) p.push('Compliance.Status invalid');
  if (x['RecordState'] !== undefined && !RECORD_STATE.includes(x['RecordState'] as string)) p.push('RecordState invalid');
  const wf = x['Workflow'] as Record<string, unknown> | undefined;
  if (wf !== undefined && !WORKFLOW.includes(wf?.['Status'] as string)) p.push('Workflow.Status invalid');
  const pf = x['ProductFields'] as Record<string, unknown> | undefined;
  if (pf !== undefined) {
    const e = Object.entries(pf ?? {});
    if (e.length > 50) p.push('ProductFields: more than 50 pairs');
    for (const [k, v] of e) if (typeof v !== 'string' || k.length > 128 || v.length > 2048) p.push(`ProductFields.${k}: key ≤ 128, string value ≤ 2048`);
  }
  const rec = (x['Remediation'] as { Recommendation?: { Text?: unknown; Url?: unknown } } | undefined)?.Recommendation;
  if (rec) {
    if (rec.Text !== undefined && (typeof rec.Text !== 'string' || rec.Text.length > 512)) p.push('Remediation.Recommendation.Text ≤ 512');
    if (rec.Url !== undefined && (typeof rec.Url !== 'string' || !/^https:\/\//.test(rec.Url))) p.push('Remediation.Recommendation.Url must be a URL');
  }
  if (Buffer.byteLength(JSON.stringify(f)) > ASFF_MAX_FINDING_BYTES) p.push('finding larger than 240 KB');
  return p;
}
