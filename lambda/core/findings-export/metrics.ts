/**
 * The fleet metrics of the findings export (one value per check run, dimension `service` only).
 * `SecurityHubNotSubscribed` is 1 on a run that could not import because Security Hub is not
 * enabled in the account-region: alarm on it, or turn `securityHub` off.
 */
export const FINDINGS_EXPORT_METRICS = {
  notSubscribed: 'SecurityHubNotSubscribed',
  imported: 'SecurityHubFindingsImported',
  archived: 'SecurityHubFindingsArchived',
  importFailed: 'SecurityHubImportFailed',
  compliancePut: 'ComplianceInstancesPut',
  complianceFailed: 'CompliancePutFailed',
} as const;

/**
 * The values of one run's summary, by metric name: only those that are not 0. A custom metric is
 * billed by the hours it is published in, and a steady fleet exports nothing, so these cost nothing
 * until something changes (no alarm reads them; a missing hour means 0).
 */
export function findingsExportMetricValues(s: {
  securityHubNotSubscribed: boolean;
  findingsImported: number;
  findingsArchived: number;
  findingsFailed: number;
  compliancePuts: number;
  complianceFailed: number;
}): [string, number][] {
  return [
    [FINDINGS_EXPORT_METRICS.notSubscribed, s.securityHubNotSubscribed ? 1 : 0],
    [FINDINGS_EXPORT_METRICS.imported, s.findingsImported],
    [FINDINGS_EXPORT_METRICS.archived, s.findingsArchived],
    [FINDINGS_EXPORT_METRICS.importFailed, s.findingsFailed],
    [FINDINGS_EXPORT_METRICS.compliancePut, s.compliancePuts],
    [FINDINGS_EXPORT_METRICS.complianceFailed, s.complianceFailed],
  ].filter(([, n]) => n !== 0) as [string, number][];
}
