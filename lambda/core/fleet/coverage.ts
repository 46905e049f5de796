/**
 * SSM coverage and its causes: for each running instance without an Online SSM ping, how it stands
 * (never registered, ConnectionLost, Inactive) and the likely reasons, judged from read-only facts
 * the engine gathered (the region's Default Host Management setting, each instance profile's SSM
 * permissions, each subnet's route to the SSM endpoints). Pure: no SDK, no I/O, never throws.
 *
 * Causes are evidence, not guesses: a fact that could not be read (`unknown`) never yields a cause,
 * and an instance with no cause found is reported as `ssm-cause-unknown` so it is never silently
 * "explained".
 */
import type { InstanceFindingCode } from '../diagnosis/findings';
import { compareVersions } from '../imdsv2/readiness';
import type { InstanceRecord } from '../types';

/** The oldest SSM Agent that Default Host Management can manage (AWS's documented minimum). */
export const DHMC_MIN_AGENT_VERSION = '3.2.582.0';

/** The SSM service setting that holds the Default Host Management role (one per account and region). */
export const DHMC_SETTING_ID = '/ssm/managed-instance/default-ec2-instance-management-role';

/** The interface endpoints an instance without an internet route needs to reach SSM. */
export const SSM_ENDPOINT_SERVICES = ['ssm', 'ssmmessages', 'ec2messages'] as const;
export type SsmEndpointService = (typeof SSM_ENDPOINT_SERVICES)[number];

/** How an instance that is not Online stands with SSM. */
export type SsmRegistration = 'never-registered' | 'connection-lost' | 'inactive';

/** One finding code per cause (rows of the finding table, lambda/core/diagnosis/findings.ts). */
export const COVERAGE_CAUSES = [
  'ssm-cause-no-profile-dhmc-off',
  'ssm-cause-role-lacks-ssm-permissions',
  'ssm-cause-imds-endpoint-disabled',
  'ssm-cause-agent-too-old-for-dhmc',
  'ssm-cause-no-route-to-ssm',
  'ssm-cause-unknown',
] as const;
export type CoverageCause = (typeof COVERAGE_CAUSES)[number];

/** The region's Default Host Management setting: `on` names a role; `unknown` when it could not be read. */
export type DhmcState = { readonly state: 'on'; readonly role: string } | { readonly state: 'off' } | { readonly state: 'unknown'; readonly error: string };

/** Whether an instance profile's role may do what SSM Agent needs (`unknown`: not read, or no role). */
export type ProfilePermissions = { readonly state: 'allowed' } | { readonly state: 'denied'; readonly missing: readonly string[] } | { readonly state: 'unknown'; readonly error: string };

/** A subnet's way to the SSM endpoints. */
export interface NetworkPath {
  /** `yes`: 0.0.0.0/0 through an internet or NAT gateway; `no`: no default route at all (or a blackhole); `unknown`: another target (TGW, peering, appliance) or not read. */
  readonly internetRoute: 'yes' | 'no' | 'unknown';
  /** Interface endpoints present (state available) in the VPC; undefined when not read. */
  readonly endpoints?: readonly SsmEndpointService[];
}

/** The facts the engine read for the unmanaged instances, deduplicated per profile, subnet and VPC. */
export interface CoverageFacts {
  readonly dhmc: DhmcState;
  /** By instance profile ARN. */
  readonly profiles: ReadonlyMap<string, ProfilePermissions>;
  /** By subnet id. */
  readonly network: ReadonlyMap<string, NetworkPath>;
}

/** One instance that SSM does not reach now. */
export interface CoverageGap {
  readonly instanceId: string;
  readonly registration: SsmRegistration;
  /** Likely causes, in table order; `ssm-cause-unknown` alone when none was found. */
  readonly causes: readonly CoverageCause[];
  /** One line per cause, for the log record. */
  readonly details: readonly string[];
  /**
   * Would turning Default Host Management on bring it in: `yes` (no instance profile, agent known
   * ≥ 3.2.582.0, IMDS endpoint enabled so IMDSv2 is available, no missing route); `no` with the
   * reason; `unknown` when the agent version is not known (never registered).
   */
  readonly dhmcWouldManage: 'yes' | 'no' | 'unknown' | 'already-on';
  readonly dhmcReason?: string;
}

/** The fleet's coverage. */
export interface CoverageReport {
  /** Running instances (the inventory lists only `running`: stopped, stopping and shutting-down are excluded). */
  readonly running: number;
  /** Of them, SSM Online. */
  readonly managed: number;
  /** managed ÷ running × 100, rounded down to 0.1; undefined with no running instance. */
  readonly percent?: number;
  readonly gaps: readonly CoverageGap[];
  /** Instances per cause (an instance counts once per cause). */
  readonly byCause: Readonly<Record<CoverageCause, number>>;
  /** Unmanaged instances Default Host Management would bring in. */
  readonly dhmcWouldManage: number;
  readonly dhmc: DhmcState['state'];
}

/** The registration of a record that is not Online, or undefined when it is Online. */
export function registrationOf(r: Pick<InstanceRecord, 'ssm'>): SsmRegistration | undefined {
  if (!r.ssm) return 'never-registered';
  if (r.ssm.pingStatus === 'Online') return undefined;
  return r.ssm.pingStatus === 'ConnectionLost' ? 'connection-lost' : 'inactive';
}

/** A dotted numeric version (what DescribeInstanceInformation reports), else undefined. */
function knownVersion(v: string | undefined): string | undefined {
  return v !== undefined && /^\d+(\.\d+){1,3}$/.test(v) ? v : undefined;
}

/** The endpoints an instance without an internet route lacks; empty when it can reach SSM (ssm plus ec2messages or ssmmessages). */
export function missingEndpoints(present: readonly SsmEndpointService[]): SsmEndpointService[] {
  const has = new Set(present);
  // Agents from 3.3.40.0 fall back to ssmmessages when ec2messages is absent; ssm itself is always needed.
  if (has.has('ssm') && (has.has('ec2messages') || has.has('ssmmessages'))) return [];
  return SSM_ENDPOINT_SERVICES.filter((s) => !has.has(s));
}

/** True when the subnet's path is known to reach no SSM endpoint. */
function noRoute(path: NetworkPath | undefined): SsmEndpointService[] | undefined {
  if (!path || path.internetRoute !== 'no' || path.endpoints === undefined) return undefined;
  const missing = missingEndpoints(path.endpoints);
  return missing.length > 0 ? missing : undefined;
}

/** Judges one instance that is not Online (the caller passes only those). */
export function judgeGap(r: InstanceRecord, facts: CoverageFacts): CoverageGap {
  const registration = registrationOf(r) ?? 'inactive';
  const causes: CoverageCause[] = [];
  const details: string[] = [];
  const add = (c: CoverageCause, d: string): void => {
    causes.push(c);
    details.push(d);
  };
  const agent = knownVersion(r.ssm?.agentVersion);
  if (!r.hasInstanceProfile && facts.dhmc.state === 'off') add('ssm-cause-no-profile-dhmc-off', 'no instance profile and Default Host Management is off in this region');
  if (r.hasInstanceProfile && r.instanceProfileArn !== undefined) {
    const p = facts.profiles.get(r.instanceProfileArn);
    if (p?.state === 'denied') add('ssm-cause-role-lacks-ssm-permissions', `the instance profile's role is not allowed ${p.missing.join(', ')}`);
  }
  if (r.imds.httpEndpoint === 'disabled') add('ssm-cause-imds-endpoint-disabled', 'the metadata endpoint is disabled: the agent gets no credentials');
  if (!r.hasInstanceProfile && facts.dhmc.state === 'on' && agent !== undefined && compareVersions(agent, DHMC_MIN_AGENT_VERSION) < 0) {
    add('ssm-cause-agent-too-old-for-dhmc', `SSM Agent ${agent} is older than ${DHMC_MIN_AGENT_VERSION}, the oldest Default Host Management manages`);
  }
  const missing = r.subnetId !== undefined ? noRoute(facts.network.get(r.subnetId)) : undefined;
  if (missing) add('ssm-cause-no-route-to-ssm', `no 0.0.0.0/0 route through an internet or NAT gateway and no ${missing.join(', ')} interface endpoint in the VPC`);
  if (causes.length === 0) add('ssm-cause-unknown', 'no cause found in the read-only facts (agent not installed or stopped, a firewall, or a fact that could not be read)');
  const would = dhmcVerdict(r, facts.dhmc, agent, missing !== undefined);
  return { instanceId: r.instanceId, registration, causes, details, dhmcWouldManage: would.verdict, ...(would.reason ? { dhmcReason: would.reason } : {}) };
}

function dhmcVerdict(r: InstanceRecord, dhmc: DhmcState, agent: string | undefined, noPath: boolean): { verdict: CoverageGap['dhmcWouldManage']; reason?: string } {
  if (dhmc.state === 'on') return { verdict: 'already-on' };
  // An attached profile's credentials take precedence over Default Host Management's.
  if (r.hasInstanceProfile) return { verdict: 'no', reason: 'has-instance-profile' };
  if (r.imds.httpEndpoint === 'disabled') return { verdict: 'no', reason: 'imds-endpoint-disabled' };
  if (noPath) return { verdict: 'no', reason: 'no-route-to-ssm' };
  if (agent === undefined) return { verdict: 'unknown', reason: 'agent-version-unknown' };
  if (compareVersions(agent, DHMC_MIN_AGENT_VERSION) < 0) return { verdict: 'no', reason: `agent-${agent}-too-old` };
  return { verdict: 'yes' };
}

/** The fleet's coverage from the inventory and the facts read for its unmanaged part. */
export function assessCoverage(records: readonly InstanceRecord[], facts: CoverageFacts): CoverageReport {
  const gaps: CoverageGap[] = [];
  let managed = 0;
  for (const r of records) {
    if (registrationOf(r) === undefined) managed++;
    else gaps.push(judgeGap(r, facts));
  }
  const byCause = Object.fromEntries(COVERAGE_CAUSES.map((c) => [c, 0])) as Record<CoverageCause, number>;
  for (const g of gaps) for (const c of g.causes) byCause[c]++;
  const running = records.length;
  return {
    running,
    managed,
    ...(running > 0 ? { percent: Math.floor((managed / running) * 1000) / 10 } : {}),
    gaps,
    byCause,
    dhmcWouldManage: gaps.filter((g) => g.dhmcWouldManage === 'yes').length,
    dhmc: facts.dhmc.state,
  };
}

/** What the engine must read for these records: only for the instances that are not Online. */
export interface CoverageLookups {
  readonly profileArns: readonly string[];
  readonly subnets: readonly { readonly subnetId: string; readonly vpcId: string }[];
  readonly unmanaged: number;
}

/** The distinct profiles and subnets of the instances SSM does not reach (nothing when all are Online). */
export function coverageLookups(records: readonly InstanceRecord[]): CoverageLookups {
  const profiles = new Set<string>();
  const subnets = new Map<string, string>();
  let unmanaged = 0;
  for (const r of records) {
    if (registrationOf(r) === undefined) continue;
    unmanaged++;
    if (r.hasInstanceProfile && r.instanceProfileArn) profiles.add(r.instanceProfileArn);
    if (r.subnetId && r.vpcId) subnets.set(r.subnetId, r.vpcId);
  }
  return { profileArns: [...profiles].sort(), subnets: [...subnets].sort(([a], [b]) => (a < b ? -1 : 1)).map(([subnetId, vpcId]) => ({ subnetId, vpcId })), unmanaged };
}

/** The finding code of the record that already names each registration. */
const REGISTRATION_CODES: Readonly<Record<SsmRegistration, string>> = {
  'never-registered': 'ssm-unmanaged',
  'connection-lost': 'ssm-connection-lost',
  inactive: 'ssm-inactive',
};

/** What a `dhmcReason` says about `dhmcWouldManage` (every reason but the unknown agent version means no). */
export function dhmcWouldManageOfReason(reason: string): CoverageGap['dhmcWouldManage'] {
  return reason === 'agent-version-unknown' ? 'unknown' : 'no';
}

/**
 * Per-instance log fields (Logs Insights): `filter ssmCauses like /no-route/`. Absent for an
 * instance SSM reaches. What the same record already says is left out (10,000 records an hour):
 * `ssmRegistration` when one of the record's finding `codes` names it (`ssm-unmanaged`:
 * never-registered, `ssm-connection-lost`, `ssm-inactive`), `dhmcWouldManage` when `dhmcReason`
 * implies it ({@link dhmcWouldManageOfReason}).
 */
export function coverageLogFields(g: CoverageGap | undefined, codes: readonly string[] = []): Record<string, unknown> {
  if (!g) return {};
  // A cause whose sentence is always the same adds nothing to its code (the finding table has it);
  // only the ones naming this instance's facts (actions, agent version, endpoints) are written.
  const detail = g.details.filter((_, k) => !CONSTANT_DETAIL_CAUSES.has(g.causes[k]!)).join('; ');
  const implied = g.dhmcReason !== undefined && dhmcWouldManageOfReason(g.dhmcReason) === g.dhmcWouldManage;
  return {
    ...(codes.includes(REGISTRATION_CODES[g.registration]) ? {} : { ssmRegistration: g.registration }),
    ssmCauses: g.causes.join(','),
    ...(detail ? { ssmCauseDetail: detail } : {}),
    ...(implied ? {} : { dhmcWouldManage: g.dhmcWouldManage }),
    ...(g.dhmcReason ? { dhmcReason: g.dhmcReason } : {}),
  };
}

/** Causes whose detail line names no fact of the instance (left out of its log record). */
export const CONSTANT_DETAIL_CAUSES: ReadonlySet<CoverageCause> = new Set(['ssm-cause-no-profile-dhmc-off', 'ssm-cause-imds-endpoint-disabled', 'ssm-cause-unknown']);

/** One route of a route table, as DescribeRouteTables gives it (the fields the judgement reads). */
export interface RouteFacts {
  readonly destinationCidrBlock?: string;
  readonly gatewayId?: string;
  readonly natGatewayId?: string;
  readonly transitGatewayId?: string;
  readonly vpcPeeringConnectionId?: string;
  readonly networkInterfaceId?: string;
  readonly instanceId?: string;
  /** `active` or `blackhole`. */
  readonly state?: string;
}

/**
 * Whether a subnet's route table sends 0.0.0.0/0 to the internet: `yes` through an internet gateway
 * (`igw-`) or a NAT gateway; `no` when there is no active default route at all; `unknown` when the
 * default route goes somewhere we cannot follow (transit gateway, peering, an appliance's ENI, a
 * virtual private gateway): it may well reach the internet, so it is never a cause.
 */
export function internetRouteOf(routes: readonly RouteFacts[] | undefined): NetworkPath['internetRoute'] {
  if (routes === undefined) return 'unknown';
  const defaults = routes.filter((r) => r.destinationCidrBlock === '0.0.0.0/0' && r.state !== 'blackhole');
  if (defaults.length === 0) return 'no';
  if (defaults.some((r) => (r.gatewayId?.startsWith('igw-') ?? false) || r.natGatewayId !== undefined)) return 'yes';
  return 'unknown';
}

/** The SSM services among a VPC's interface endpoint service names (`com.amazonaws.<region>.ssm` …). */
export function ssmEndpointsOf(serviceNames: readonly string[]): SsmEndpointService[] {
  const out = new Set<SsmEndpointService>();
  for (const name of serviceNames) {
    const last = name.split('.').pop() ?? '';
    if ((SSM_ENDPOINT_SERVICES as readonly string[]).includes(last)) out.add(last as SsmEndpointService);
  }
  return SSM_ENDPOINT_SERVICES.filter((s) => out.has(s));
}

// Each cause is a row of the finding table: this line does not compile when one is missing there.
export const COVERAGE_CAUSE_CODES: readonly InstanceFindingCode[] = COVERAGE_CAUSES;

/** One route table (DescribeRouteTables), reduced to what the subnet lookup needs. */
export interface RouteTableFacts {
  readonly vpcId?: string;
  /** Subnets explicitly associated with it. */
  readonly subnetIds: readonly string[];
  /** The VPC's main table (used by every subnet without an explicit association). */
  readonly main: boolean;
  readonly routes: readonly RouteFacts[];
}

/** The table a subnet uses: its explicit association, else its VPC's main table; undefined when neither was read. */
export function routeTableOf(tables: readonly RouteTableFacts[], subnetId: string, vpcId: string): RouteTableFacts | undefined {
  return tables.find((t) => t.subnetIds.includes(subnetId)) ?? tables.find((t) => t.main && t.vpcId === vpcId);
}

/** What SSM Agent must be allowed (ssm:UpdateInstanceInformation, and one of the two message channels). */
export const SSM_AGENT_ACTIONS = ['ssm:UpdateInstanceInformation', 'ssmmessages:CreateControlChannel', 'ec2messages:GetMessages'] as const;

/**
 * Judges an iam:SimulatePrincipalPolicy answer for {@link SSM_AGENT_ACTIONS}: denied when
 * UpdateInstanceInformation is denied or both message channels are; an action absent from the
 * answer makes it `unknown` (never a cause).
 */
export function judgeSimulation(results: readonly { readonly action?: string; readonly decision?: string }[]): ProfilePermissions {
  const decision = new Map(results.map((r) => [r.action ?? '', r.decision ?? '']));
  if (!SSM_AGENT_ACTIONS.every((a) => decision.has(a))) return { state: 'unknown', error: 'the simulation did not answer for every SSM Agent action' };
  const allowed = (a: string): boolean => decision.get(a) === 'allowed';
  const [update, control, messages] = SSM_AGENT_ACTIONS;
  if (allowed(update) && (allowed(control) || allowed(messages))) return { state: 'allowed' };
  return { state: 'denied', missing: SSM_AGENT_ACTIONS.filter((a) => !allowed(a)) };
}

/** The coverage metric (fleet level, dimension `service` only; docs/coverage.md). */
export const COVERAGE_METRICS = {
  /** SSM-managed (Online) instances ÷ running instances × 100, once per completed check. */
  percent: 'SsmCoveragePercent',
} as const;
