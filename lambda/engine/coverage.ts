/**
 * SSM coverage of one check run (docs/coverage.md): the lookups the causes need, made only for the
 * instances SSM does not reach, each distinct profile and subnet once, remembered across warm runs
 * for {@link COVERAGE_CACHE_MS}, and paced (IAM's simulation is a control-plane call with a low
 * rate). Never throws: a lookup that fails is an `unknown` fact, which never yields a cause.
 */
import {
  assessCoverage,
  type CoverageReport,
  coverageLookups,
  type DhmcState,
  type NetworkPath,
  type ProfilePermissions,
} from '../core/fleet/coverage';
import type { InstanceRecord } from '../core/types';
import type { Clock, EngineLogger } from './ports';

/** The read-only AWS calls the causes rest on (lambda/aws/coverage.ts). Each may throw; the engine turns that into `unknown`. */
export interface CoveragePort {
  /** ssm:GetServiceSetting of the Default Host Management role setting. */
  dhmc(): Promise<DhmcState>;
  /** iam:GetInstanceProfile + iam:SimulatePrincipalPolicy of its role for the SSM Agent actions. */
  profile(instanceProfileArn: string): Promise<ProfilePermissions>;
  /** ec2:DescribeRouteTables + ec2:DescribeVpcEndpoints for these subnets' VPCs (one call each, filtered by VPC). */
  network(subnets: readonly { readonly subnetId: string; readonly vpcId: string }[]): Promise<Map<string, NetworkPath>>;
}

/** How long a fact read for a profile or subnet is reused by later runs of the same (warm) function. */
export const COVERAGE_CACHE_MS = 6 * 3_600_000;
/** At most this many profiles are simulated per run; the rest are `unknown` this run and read by the next ones. */
export const MAX_PROFILES_PER_RUN = 100;
/** Pause between two IAM calls of one run. */
export const IAM_PACE_MS = 250;

interface Cached<T> {
  readonly value: T;
  readonly at: number;
}

/** Remembers facts per key for {@link COVERAGE_CACHE_MS} (a warm Lambda reuses them). */
export class CoverageCache {
  private readonly profiles = new Map<string, Cached<ProfilePermissions>>();
  private readonly subnets = new Map<string, Cached<NetworkPath>>();
  /** IAM / EC2 lookups made by the last run (the benchmark and tests read it). */
  lastCalls = { profiles: 0, network: 0, dhmc: 0 };

  profile(key: string, now: number): ProfilePermissions | undefined {
    return fresh(this.profiles.get(key), now);
  }
  subnet(key: string, now: number): NetworkPath | undefined {
    return fresh(this.subnets.get(key), now);
  }
  putProfile(key: string, value: ProfilePermissions, now: number): void {
    // An unknown answer is not kept: the next run asks again.
    if (value.state !== 'unknown') this.profiles.set(key, { value, at: now });
  }
  putSubnet(key: string, value: NetworkPath, now: number): void {
    if (value.internetRoute !== 'unknown' || value.endpoints !== undefined) this.subnets.set(key, { value, at: now });
  }
}

function fresh<T>(c: Cached<T> | undefined, now: number): T | undefined {
  return c && now - c.at < COVERAGE_CACHE_MS && now >= c.at ? c.value : undefined;
}

const message = (err: unknown): string => (err instanceof Error ? `${err.name}: ${err.message}` : String(err));

/** The coverage of this run's fleet. Calls AWS only when some running instance is not Online. */
export async function runCoverage(
  port: CoveragePort,
  records: readonly InstanceRecord[],
  clock: Clock,
  cache: CoverageCache = new CoverageCache(),
  logger?: EngineLogger,
): Promise<CoverageReport> {
  const lookups = coverageLookups(records);
  cache.lastCalls = { profiles: 0, network: 0, dhmc: 0 };
  if (lookups.unmanaged === 0) return assessCoverage(records, { dhmc: { state: 'unknown', error: 'not read: every instance is Online' }, profiles: new Map(), network: new Map() });
  const now = clock.now();
  const dhmcP = port.dhmc().then(
    (d) => d,
    (err: unknown): DhmcState => ({ state: 'unknown', error: message(err) }),
  );
  cache.lastCalls.dhmc = 1;
  const profiles = new Map<string, ProfilePermissions>();
  let asked = 0;
  for (const arn of lookups.profileArns) {
    const known = cache.profile(arn, now);
    if (known) {
      profiles.set(arn, known);
      continue;
    }
    if (asked >= MAX_PROFILES_PER_RUN) {
      profiles.set(arn, { state: 'unknown', error: 'not read this run (profile cap)' });
      continue;
    }
    if (asked > 0) await clock.sleep(IAM_PACE_MS);
    asked++;
    let p: ProfilePermissions;
    try {
      p = await port.profile(arn);
    } catch (err) {
      p = { state: 'unknown', error: message(err) };
    }
    profiles.set(arn, p);
    cache.putProfile(arn, p, clock.now());
  }
  cache.lastCalls.profiles = asked;
  const network = new Map<string, NetworkPath>();
  const toRead = lookups.subnets.filter((s) => {
    const known = cache.subnet(s.subnetId, now);
    if (known) network.set(s.subnetId, known);
    return !known;
  });
  if (toRead.length > 0) {
    cache.lastCalls.network = 1;
    try {
      for (const [subnet, path] of await port.network(toRead)) {
        network.set(subnet, path);
        cache.putSubnet(subnet, path, clock.now());
      }
    } catch (err) {
      logger?.warn('coverage-network-unreadable', { error: message(err) });
    }
  }
  const dhmc = await dhmcP;
  if (dhmc.state === 'unknown') logger?.warn('coverage-dhmc-unreadable', { error: dhmc.error });
  return assessCoverage(records, { dhmc, profiles, network });
}

/** What the check needs for coverage: the port, and the cache a warm function keeps between runs. */
export interface CoverageDeps {
  readonly port: CoveragePort;
  /** @default - a new cache per run (nothing reused) */
  readonly cache?: CoverageCache;
}

/** The check's hook: coverage beside the guests' wait, or nothing without deps. Never rejects. */
export function startCoverage(deps: CoverageDeps | undefined, records: readonly InstanceRecord[], clock: Clock, logger?: EngineLogger): Promise<CoverageReport> | undefined {
  if (!deps) return undefined;
  return runCoverage(deps.port, records, clock, deps.cache, logger).catch((err: unknown) => {
    // runCoverage turns every lookup failure into data; this is only a bug's last line of defence.
    logger?.error('coverage-failed', { error: message(err) });
    return assessCoverage(records, { dhmc: { state: 'unknown', error: message(err) }, profiles: new Map(), network: new Map() });
  });
}
