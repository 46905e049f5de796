/**
 * The SSM coverage lookups at fleet scale on the simulated account (bench/sim, default latencies):
 * 10,000 running instances, a tenth not managed, spread over 50 instance profiles and 20 VPCs.
 * Prints the coverage calls and the virtual time they add beside the guests' wait, cold (first run)
 * and warm (a second run reusing the cache). Run: `npx tsx bench/coverage.ts`.
 */
import { EC2Client } from '@aws-sdk/client-ec2';
import { IAMClient } from '@aws-sdk/client-iam';
import { SSMClient } from '@aws-sdk/client-ssm';
import { SimAccount } from './sim/account';
import { simInstance } from './sim/fleet';
import { DiscreteEventClock } from './sim/virtual-clock';
import { createAwsCoveragePort } from '../lambda/aws/coverage';
import { iamProfilePermissions } from '../lambda/aws/coverage-iam';
import { Ec2SsmInventory } from '../lambda/aws/inventory';
import { SSM_AGENT_ACTIONS } from '../lambda/core/fleet/coverage';
import { CoverageCache, runCoverage } from '../lambda/engine/coverage';

const N = 10_000;
const PROFILES = 50;
const VPCS = 20;

async function main(): Promise<void> {
  const clock = new DiscreteEventClock({ startMs: Date.UTC(2026, 11, 7) });
  const fleet = Array.from({ length: N }, (_, k) =>
    simInstance(`i-${k.toString(16).padStart(17, '0')}`, {
      ssm: k % 10 === 0 ? 'unmanaged' : 'Online',
      profileName: `p-${Math.floor(k / 10) % PROFILES}`,
      vpcId: `vpc-${k % VPCS}`,
      subnetId: `subnet-${k % (VPCS * 3)}`,
    }),
  );
  const profiles = Object.fromEntries(Array.from({ length: PROFILES }, (_, k) => [`p-${k}`, { allowed: k % 5 === 0 ? [] : [...SSM_AGENT_ACTIONS] }]));
  const routeTables = Array.from({ length: VPCS }, (_, k) => ({ id: `rtb-${k}`, vpcId: `vpc-${k}`, main: true, ...(k % 4 === 0 ? {} : { defaultRoute: 'nat-1' }) }));
  const account = new SimAccount(fleet, clock, { coverage: { profiles, routeTables } }).install();
  try {
    const ec2 = new EC2Client({});
    const ssm = new SSMClient({});
    const records = await clock.run(() => new Ec2SsmInventory({ ec2, ssm, clock, optOutTagKey: 'timesync-guard:opt-out' }).listInstances());
    const port = createAwsCoveragePort({ ec2, ssm, profile: iamProfilePermissions(new IAMClient({}), clock), clock });
    const cache = new CoverageCache();
    for (const label of ['cold', 'warm']) {
      account.resetStats();
      const t0 = clock.now();
      const report = await clock.run(() => runCoverage(port, records, clock, cache));
      const calls = ['GetServiceSetting', 'GetInstanceProfile', 'SimulatePrincipalPolicy', 'DescribeRouteTables', 'DescribeVpcEndpoints'].map((a) => `${a} ${account.stats.calls[a] ?? 0}`);
      console.log(`${label}: ${((clock.now() - t0) / 1000).toFixed(1)} s virtual, ${calls.join(', ')}; coverage ${report.percent}%, causes ${JSON.stringify(Object.fromEntries(Object.entries(report.byCause).filter(([, n]) => n > 0)))}`);
    }
  } finally {
    account.restore();
  }
}

void main();
