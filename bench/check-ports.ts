/**
 * The check's optional ports as the deployed handler wires them by default (lambda/handlers/check.ts
 * `wired`: `wireCoverage`, `createLaunchSourcesPort`), against the simulated account, so that the
 * benchmark's log bytes, metrics, calls and time include them. The generated fleet gets a plausible
 * network (10 VPCs, 3 subnets each) and the account the profiles, route tables and Default Host
 * Management setting the coverage causes read (bench/sim/coverage.ts).
 */
import { type DescribeAutoScalingGroupsCommandOutput } from '@aws-sdk/client-auto-scaling';
import { GetInstanceProfileCommand, IAMClient, SimulatePrincipalPolicyCommand } from '@aws-sdk/client-iam';
import { createAwsCoveragePort } from '../lambda/aws/coverage';
import { iamProfilePermissions } from '../lambda/aws/coverage-iam';
import { createLaunchSourcesPort } from '../lambda/aws/launch-sources';
import { SSM_AGENT_ACTIONS } from '../lambda/core/fleet/coverage';
import type { CheckSettings } from '../lambda/core/settings';
import { CoverageCache, type CoverageDeps } from '../lambda/engine/coverage';
import type { LaunchSourcesPort } from '../lambda/engine/source-ports';
import type { SimAccount, SimAccountOptions } from './sim/account';
import type { SimCoverageOptions } from './sim/coverage';
import type { SimInstance } from './sim/fleet';
import type { Transport, World } from './drive';

const VPCS = 10;
const SUBNETS_PER_VPC = 3;

/**
 * The coverage side of the account: the fleet's 7 profiles (`app-0`…`app-6`, bench/sim/ec2.ts), one
 * of whose roles lacks the agent's actions; 10 VPCs, 8 with a NAT gateway, one private with no
 * endpoints (a `no-route` cause), one routed through a transit gateway (unknown: never a cause);
 * Default Host Management never set (the default in a new region: `off`).
 */
export const BENCH_COVERAGE: NonNullable<SimCoverageOptions['coverage']> = {
  profiles: Object.fromEntries(Array.from({ length: 7 }, (_, k) => [`app-${k}`, { allowed: k === 6 ? [] : [...SSM_AGENT_ACTIONS] }])),
  routeTables: Array.from({ length: VPCS }, (_, k) => ({ id: `rtb-${k}`, vpcId: `vpc-${k}`, main: true, ...(k === 0 ? {} : k === 1 ? { defaultRoute: 'tgw-1' } : { defaultRoute: `nat-${k}` }) })),
};

/** The account options with the coverage side added unless the caller gave its own. */
export function withCoverageAccount(options: SimAccountOptions): SimAccountOptions {
  return options.coverage ? options : { ...options, coverage: BENCH_COVERAGE };
}

/** Spreads the fleet over the VPCs' subnets (instances keep a subnet the caller already gave). */
export function spreadNetwork(fleet: readonly SimInstance[]): void {
  fleet.forEach((inst, k) => {
    if (inst.subnetId !== undefined) return;
    const vpc = k % VPCS;
    Object.assign(inst, { vpcId: `vpc-${vpc}`, subnetId: `subnet-${vpc}-${Math.floor(k / VPCS) % SUBNETS_PER_VPC}` });
  });
}

/**
 * IAM for the coverage port: the mocked transport's IAMClient is answered by the account's mock; the
 * wire transport has no IAM client (bench/wire), so its requests go to the account by action name.
 */
function iamFor(account: SimAccount, transport: Transport): Pick<IAMClient, 'send'> {
  if (transport === 'mock') return new IAMClient({ region: 'us-east-1' });
  // By class, not by `constructor.name`: the memory run is a bundle whose class names are minified.
  const action = (cmd: unknown): string =>
    cmd instanceof GetInstanceProfileCommand ? 'GetInstanceProfile' : cmd instanceof SimulatePrincipalPolicyCommand ? 'SimulatePrincipalPolicy' : 'unsupported';
  return { send: ((cmd: { input: unknown }) => account.answer(action(cmd), cmd.input)) as IAMClient['send'] };
}

/**
 * DescribeAutoScalingGroups on the simulated account: it has no groups (the simulated account does
 * not implement the launch-template reads; bench/sources.ts measures attribution on its own account
 * of groups and templates). The call is counted like the account's own.
 */
function noGroups(account: SimAccount): () => Promise<(token: string | undefined) => AsyncIterable<DescribeAutoScalingGroupsCommandOutput>> {
  return async () =>
    async function* () {
      account.stats.calls['DescribeAutoScalingGroups'] = (account.stats.calls['DescribeAutoScalingGroups'] ?? 0) + 1;
      yield { AutoScalingGroups: [], $metadata: {} };
    };
}

/** The default deployment's coverage and launch-sources deps over the world's clients. */
export function deployedCheckPorts(world: World, settings: CheckSettings, transport: Transport): { coverage: CoverageDeps; launchSources?: LaunchSourcesPort } {
  const { clients, clock, account } = world;
  const coverage: CoverageDeps = {
    port: createAwsCoveragePort({ ec2: clients.ec2, ssm: clients.ssm, profile: iamProfilePermissions(iamFor(account, transport), clock), clock }),
    cache: new CoverageCache(),
  };
  if (settings.launchTemplates === 'off') return { coverage };
  return { coverage, launchSources: createLaunchSourcesPort({ ec2: clients.ec2, clock, random: world.random, autoScaling: noGroups(account) }) };
}
