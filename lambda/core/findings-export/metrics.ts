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

/** The values of one run's summary, by metric name. */
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
  ];
}
