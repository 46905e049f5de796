/**
 * The checks this product reports outside its own metrics (Security Hub findings, Systems Manager
 * Compliance items): one row per check, and one row per finding code saying which check it fails
 * and how badly. Both exports (lambda/core/findings-export/asff.ts and compliance.ts) are derived
 * from these two tables: a new finding code is one row of {@link CODE_CHECK} (it does not compile
 * without one), a new check one row of {@link CHECKS}.
 *
 * A check is judged on an instance only when this run has evidence for it: the guest checks need a
 * readable report, the hop limit needs the guest's `containers` answer, the IMDS reachability check
 * needs the guest's IMDS probe. A check without evidence is left as it was: never passed, never
 * archived (what could not be read is never acted on). Pure: no SDK, no I/O.
 */
import { FINDING_TABLE, type FindingCode } from '../diagnosis/findings';
import type { InstanceEvaluation, Verdict } from '../types';

/** The checks, as they appear in Security Hub (`GeneratorId`) and SSM Compliance (item `Id`). */
export type CheckId = 'time-sync' | 'leap-smear' | 'imds-hop-limit' | 'imds-endpoint' | 'imdsv2' | 'imds-proxy' | 'imds-reachability';

/** Security Hub severity labels (ASFF `Severity.Label`), ordered. */
export const SEVERITY_LABELS = ['INFORMATIONAL', 'LOW', 'MEDIUM', 'HIGH', 'CRITICAL'] as const;
export type SeverityLabel = (typeof SEVERITY_LABELS)[number];

/** Where the evidence for a check comes from. */
type Evidence =
  /** The EC2 API's metadata options: judged on every instance that is not opted out. */
  | 'api'
  /** A whole, trusted collector report. */
  | 'report'
  /** A report whose `containers` answer is known (the hop limit matters only for container hosts). */
  | 'containers'
  /** A report that carries the guest's IMDS probe (the verdict field `imdsProbe`). */
  | 'imds-probe';

/** One check. */
export interface CheckInfo {
  readonly title: string;
  /** One sentence: what passing means. */
  readonly description: string;
  /** ASFF `Types` (namespace/category/classifier). */
  readonly types: readonly string[];
  readonly evidence: Evidence;
  /** Where the fix is described: a page of the AWS documentation. */
  readonly remediationUrl: string;
  /** What to do, ≤ 512 characters (ASFF `Remediation.Recommendation.Text`). */
  readonly remediation: string;
}

const BEST_PRACTICES = 'Software and Configuration Checks/AWS Security Best Practices';
const SET_TIME = 'https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/set-time.html';
const IMDS_OPTIONS = 'https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/configuring-IMDS-existing-instances.html';
const IMDS_PROXY = 'https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/instancedata-data-retrieval.html';

/** Every check, one row each. */
export const CHECKS: Readonly<Record<CheckId, CheckInfo>> = {
  'time-sync': {
    title: 'EC2 instance clock is synchronised to the Amazon Time Sync Service',
    description: 'The guest clock is synchronised, to Amazon Time Sync, within the configured offset and clock error bound.',
    types: [`${BEST_PRACTICES}/Time Synchronization`, 'Effects/Data Availability'],
    evidence: 'report',
    remediationUrl: SET_TIME,
    remediation: 'Point the time daemon at the Amazon Time Sync Service (169.254.169.123); the nightly timesync-guard remediation does it (docs/remediation.md, docs/diagnosis.md of timesync-guard).',
  },
  // Advisory (issue 23): a mix of smeared and unsmeared sources drifts only around a leap second, so it
  // never fails the time-sync check; it is its own check, exported with LOW severity.
  'leap-smear': {
    title: 'EC2 instance clock does not mix leap-smeared and unsmeared time sources',
    description: 'The active time configuration uses Amazon Time Sync (which smears leap seconds) without non-Amazon sources or a leap-second file beside it.',
    types: [`${BEST_PRACTICES}/Time Synchronization`],
    evidence: 'report',
    remediationUrl: SET_TIME,
    remediation: 'Remove non-Amazon servers/pools and leapsectz/leapfile from the chrony configuration when it uses Amazon Time Sync; timesync-guard does it with fixMixedSources (docs/configuration.md).',
  },
  'imds-hop-limit': {
    title: 'EC2 container host IMDS hop limit lets containers obtain credentials',
    description: 'On a guest that runs containers the IMDS PUT response hop limit is at least the target (default 2).',
    types: [`${BEST_PRACTICES}/IMDS Hop Limit`],
    evidence: 'containers',
    remediationUrl: IMDS_OPTIONS,
    remediation: 'Raise HttpPutResponseHopLimit to the target with ModifyInstanceMetadataOptions; the nightly timesync-guard remediation does it for container hosts (docs/remediation.md).',
  },
  'imds-endpoint': {
    title: 'EC2 instance with an instance profile has its metadata endpoint enabled',
    description: 'An instance with an instance profile can reach its role credentials: HttpEndpoint is enabled.',
    types: [`${BEST_PRACTICES}/IMDS Endpoint`],
    evidence: 'api',
    remediationUrl: IMDS_OPTIONS,
    remediation: 'Enable HttpEndpoint with ModifyInstanceMetadataOptions, or remove the instance profile; timesync-guard does it with enableMetadataEndpoint (docs/configuration.md).',
  },
  imdsv2: {
    title: 'EC2 instance requires IMDSv2',
    description: 'HttpTokens is required: the instance accepts no token-less (IMDSv1) metadata call.',
    types: [`${BEST_PRACTICES}/IMDSv2`],
    evidence: 'api',
    remediationUrl: IMDS_OPTIONS,
    remediation: 'Set HttpTokens=required once no software on the instance uses IMDSv1; timesync-guard judges readiness and enforces with imdsv2: enforce (docs/imdsv2.md).',
  },
  'imds-proxy': {
    title: 'EC2 instance proxy settings exclude the metadata service',
    description: 'No system-wide HTTP(S) proxy is set, or NO_PROXY covers 169.254.169.254.',
    types: [`${BEST_PRACTICES}/IMDS Proxy`],
    evidence: 'report',
    remediationUrl: IMDS_PROXY,
    remediation: 'Add 169.254.169.254,169.254.170.2,fd00:ec2::254 to NO_PROXY and no_proxy; timesync-guard does it with fixNoProxy (docs/configuration.md).',
  },
  'imds-reachability': {
    title: 'EC2 instance guest can obtain an IMDSv2 token',
    description: 'The guest probe obtained an IMDSv2 token and read metadata: no timeout, throttling or refusal.',
    types: [`${BEST_PRACTICES}/IMDS Reachability`, 'Effects/Data Availability'],
    evidence: 'imds-probe',
    remediationUrl: IMDS_OPTIONS,
    remediation: 'Check the hop limit, NO_PROXY, host firewall rules and the link-local packet allowance; configure SDK retries with backoff (docs/diagnosis.md of timesync-guard).',
  },
};

/** Which check a finding code fails and how badly; null: the code fails no check (it says why nothing was judged, or only informs). */
export type CodeCheck = { readonly check: CheckId; readonly severity: SeverityLabel } | null;

/**
 * Every finding code → the check it fails. Typed over all codes: a new code does not compile
 * until it has its row here (the guest IMDS probe codes go to `imds-reachability`, a skew estimate
 * to `time-sync`).
 */
export const CODE_CHECK: { readonly [K in FindingCode]: CodeCheck } = {
  'not-amazon-time-sync': { check: 'time-sync', severity: 'LOW' },
  'not-synchronized': { check: 'time-sync', severity: 'HIGH' },
  'offset-over-threshold': { check: 'time-sync', severity: 'HIGH' },
  'clock-error-bound-over-threshold': { check: 'time-sync', severity: 'HIGH' },
  'source-lost': { check: 'time-sync', severity: 'HIGH' },
  'free-running': { check: 'time-sync', severity: 'HIGH' },
  'multiple-daemons': { check: 'time-sync', severity: 'MEDIUM' },
  'no-daemon': { check: 'time-sync', severity: 'HIGH' },
  'local-cmos-clock': { check: 'time-sync', severity: 'HIGH' },
  'proxy-without-no-proxy': { check: 'imds-proxy', severity: 'MEDIUM' },
  'imds-hop-limit-too-low-for-containers': { check: 'imds-hop-limit', severity: 'MEDIUM' },
  // Left at 1 on purpose (EKS/ECS guidance): reported, never a failure.
  'imds-hop-limit-orchestrator-node': null,
  'imds-endpoint-disabled': { check: 'imds-endpoint', severity: 'HIGH' },
  // The guest's own IMDS probe: SDKs on this host get no credentials (or lose them under load).
  'imds-throttled': { check: 'imds-reachability', severity: 'HIGH' },
  'imds-unreachable': { check: 'imds-reachability', severity: 'HIGH' },
  'imds-token-refused': { check: 'imds-reachability', severity: 'HIGH' },
  'imds-packets-dropped': { check: 'imds-reachability', severity: 'MEDIUM' },
  // A skew measured against IMDS's Date header is a clock off by more than the threshold.
  'imds-date-skew': { check: 'time-sync', severity: 'HIGH' },
  'phc-error-bound-over-threshold': { check: 'time-sync', severity: 'MEDIUM' },
  'mixed-smeared-sources': { check: 'leap-smear', severity: 'LOW' },
  'leap-file-with-smeared-source': { check: 'leap-smear', severity: 'LOW' },
  'daemon-not-responding': null,
  'probe-timed-out': null,
  'report-truncated': null,
  'report-unreadable': null,
  'unknown-format': null,
  'implausible-value': null,
  'localized-output-unparsed': null,
  'unknown-daemon-state': null,
  'ssm-connection-lost': null,
  'ssm-inactive': null,
  'ssm-unmanaged': null,
  // Why SSM does not reach an instance: reported in the coverage report and the log, never a failed check.
  'ssm-cause-no-profile-dhmc-off': null,
  'ssm-cause-role-lacks-ssm-permissions': null,
  'ssm-cause-imds-endpoint-disabled': null,
  'ssm-cause-agent-too-old-for-dhmc': null,
  'ssm-cause-no-route-to-ssm': null,
  'ssm-cause-unknown': null,
  'command-failed': null,
  'command-timed-out': null,
  'check-timed-out': null,
  'check-pending': null,
  'command-undeliverable': null,
  'command-cancelled': null,
  'command-not-sent': null,
  'instance-gone': null,
  'output-unreadable': null,
  // The launch source fails EC2.170, not the instance: the instance's own options are judged by the IMDS checks.
  'launch-source-noncompliant': null,
  'launch-source-owned-by-iac': null,
  'guest-not-checked': null,
};

/** Severity of an instance that allows IMDSv1 (EC2.8 rates it high; the readiness judgement says whether enforcing breaks anything). */
export const IMDSV1_ALLOWED_SEVERITY: SeverityLabel = 'MEDIUM';

/** The judgement of one check on one instance in this run. */
export interface CheckJudgement {
  readonly check: CheckId;
  readonly status: 'PASSED' | 'FAILED';
  /** INFORMATIONAL when passed; the worst of the failing codes otherwise. */
  readonly severity: SeverityLabel;
  /** The failing codes (empty when passed), sorted. */
  readonly codes: readonly string[];
  /** Their messages, in the same order. */
  readonly messages: readonly string[];
}

function worst(a: SeverityLabel, b: SeverityLabel): SeverityLabel {
  return SEVERITY_LABELS.indexOf(a) >= SEVERITY_LABELS.indexOf(b) ? a : b;
}

/** True when the report was read whole and trusted (no code of the table vetoes it, nothing unknown about the daemon). */
function trustedReport(v: Verdict | undefined): v is Verdict {
  if (!v) return false;
  return !v.findings.some((f) => (FINDING_TABLE as Record<string, { vetoesFixes?: true } | undefined>)[f.code]?.vetoesFixes);
}

/** The checks this run has evidence for on this instance. */
function judgeable(e: InstanceEvaluation): Set<CheckId> {
  const out = new Set<CheckId>();
  if (e.checkState === 'opted-out' || e.checkState === 'gone') return out;
  if (e.imds.httpTokens !== undefined) out.add('imdsv2');
  if (e.imds.httpEndpoint !== undefined) out.add('imds-endpoint');
  const v = e.checkState === 'checked' ? e.verdict : undefined;
  if (trustedReport(v)) {
    out.add('imds-proxy');
    // Time sync needs a judged verdict; an `unknown` one (no daemon answered) judges nothing.
    if (v.status !== 'unknown' || v.findings.some((f) => CODE_CHECK[f.code]?.check === 'time-sync')) out.add('time-sync');
    if (v.containers !== null && v.containers !== undefined && e.imds.hopLimit !== undefined) out.add('imds-hop-limit');
    // Judged only where the report carries the active time configuration (Linux `timeconf`).
    if (v['timeConfig'] !== undefined && v['timeConfig'] !== null) out.add('leap-smear');
    // Only a probe that ran (a token PUT was sent) is evidence; "off" or "no client" judges nothing.
    const probe = v['imdsProbe'] as { put?: unknown } | null | undefined;
    if (probe !== null && typeof probe === 'object' && typeof probe.put === 'string') out.add('imds-reachability');
  }
  // A failing code is evidence on its own (e.g. the hop-limit finding on a cut report never happens, an IMDS probe code does).
  for (const f of e.findings) {
    const c = CODE_CHECK[f.code];
    if (c) out.add(c.check);
  }
  return out;
}

/**
 * Judges every check this run has evidence for on one instance. Total and pure: unknown codes (a
 * stored or foreign code not in the table) fail nothing.
 */
export function judgeChecks(e: InstanceEvaluation): CheckJudgement[] {
  const failing = new Map<CheckId, { severity: SeverityLabel; codes: string[]; messages: string[] }>();
  const fail = (check: CheckId, severity: SeverityLabel, code: string, message: string): void => {
    const f = failing.get(check) ?? { severity: 'INFORMATIONAL' as SeverityLabel, codes: [], messages: [] };
    if (f.codes.includes(code)) return;
    f.severity = worst(f.severity, severity);
    f.codes.push(code);
    f.messages.push(message);
    failing.set(check, f);
  };
  for (const f of e.findings) {
    const c = (CODE_CHECK as Record<string, CodeCheck | undefined>)[f.code];
    if (c) fail(c.check, c.severity, f.code, f.message);
  }
  if (e.imds.httpTokens === 'optional' && e.checkState !== 'opted-out' && e.checkState !== 'gone') {
    fail('imdsv2', IMDSV1_ALLOWED_SEVERITY, 'imdsv1-allowed', 'HttpTokens is optional: the instance accepts IMDSv1 calls');
  }
  const out: CheckJudgement[] = [];
  for (const check of [...judgeable(e)].sort()) {
    const f = failing.get(check);
    if (!f) {
      out.push({ check, status: 'PASSED', severity: 'INFORMATIONAL', codes: [], messages: [] });
      continue;
    }
    const order = f.codes.map((c, i) => [c, f.messages[i] ?? ''] as const).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    out.push({ check, status: 'FAILED', severity: f.severity, codes: order.map(([c]) => c), messages: order.map(([, m]) => m) });
  }
  return out;
}
