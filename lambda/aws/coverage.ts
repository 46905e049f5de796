/**
 * The read-only calls behind the SSM coverage causes (lambda/engine/coverage.ts): the Default Host
 * Management setting, an instance profile's role simulated for the SSM Agent actions, and the
 * route tables and interface endpoints of the unmanaged instances' VPCs. Throttling is retried on
 * the injected clock; any other error is thrown and becomes an `unknown` fact in the engine.
 *
 * Why iam:SimulatePrincipalPolicy and not the policy listings: GetInstanceProfile + Simulate is two
 * calls per profile, and the simulation evaluates every policy on the role (managed, inline,
 * permissions boundary), so a custom policy granting the SSM actions is judged right. The listings
 * (ListAttachedRolePolicies + ListRolePolicies) cost as many calls and can only recognise
 * AmazonSSMManagedInstanceCore by name: any other grant would need GetPolicyVersion / GetRolePolicy
 * and a policy evaluator of our own. Neither sees SCPs, so a role judged allowed can still be
 * denied by an SCP (then the cause stays `ssm-cause-unknown`, never a wrong one).
 */
import { DescribeRouteTablesCommand, DescribeVpcEndpointsCommand, type EC2Client } from '@aws-sdk/client-ec2';
import { GetInstanceProfileCommand, type IAMClient, SimulatePrincipalPolicyCommand } from '@aws-sdk/client-iam';
import { GetServiceSettingCommand, type SSMClient } from '@aws-sdk/client-ssm';
import {
  DHMC_SETTING_ID,
  type DhmcState,
  internetRouteOf,
  judgeSimulation,
  type NetworkPath,
  type ProfilePermissions,
  routeTableOf,
  type RouteTableFacts,
  SSM_AGENT_ACTIONS,
  ssmEndpointsOf,
} from '../core/fleet/coverage';
import type { Clock } from '../engine/ports';
import type { CoveragePort } from '../engine/coverage';
import { withRetry } from './retry';

export interface AwsCoveragePortOptions {
  readonly ec2: Pick<EC2Client, 'send'>;
  readonly ssm: Pick<SSMClient, 'send'>;
  /** The client, or how to build it on first use (IAM is needed only when a profile must be read). */
  readonly iam: Pick<IAMClient, 'send'> | (() => Pick<IAMClient, 'send'>);
  readonly clock: Clock;
}

/** DescribeRouteTables / DescribeVpcEndpoints accept this many values in one filter. */
const VPCS_PER_CALL = 200;

/** A setting value that names no role: Default Host Management is off. */
export function dhmcFromSetting(value: string | undefined): DhmcState {
  const v = (value ?? '').trim();
  return v === '' || v === '$None' ? { state: 'off' } : { state: 'on', role: v };
}

/** The profile name of an instance profile ARN (`arn:aws:iam::1:instance-profile/path/name` → `name`). */
export function profileNameOf(arn: string): string | undefined {
  const m = /^arn:[\w-]+:iam::\d{12}:instance-profile\/(?:.*\/)?([\w+=,.@-]{1,128})$/.exec(arn);
  return m?.[1];
}

export function createAwsCoveragePort(o: AwsCoveragePortOptions): CoveragePort {
  const iam = (): Pick<IAMClient, 'send'> => (typeof o.iam === 'function' ? o.iam() : o.iam);
  const retry = <T>(operation: string, fn: () => Promise<T>): Promise<T> => withRetry(fn, o.clock, { operation, maxAttempts: 4 });
  return {
    async dhmc() {
      try {
        const out = await retry('GetServiceSetting', () => o.ssm.send(new GetServiceSettingCommand({ SettingId: DHMC_SETTING_ID })));
        // An answer without the setting is not "off": it is unread (never a cause).
        if (!out?.ServiceSetting) throw new Error('GetServiceSetting returned no setting');
        return dhmcFromSetting(out.ServiceSetting.SettingValue);
      } catch (err) {
        // Never set in this region: the setting does not exist yet.
        if ((err as { name?: string }).name === 'ServiceSettingNotFound') return { state: 'off' };
        throw err;
      }
    },
    async profile(arn): Promise<ProfilePermissions> {
      const name = profileNameOf(arn);
      if (!name) return { state: 'unknown', error: `not an instance profile ARN: ${arn.slice(0, 200)}` };
      const out = await retry('GetInstanceProfile', () => iam().send(new GetInstanceProfileCommand({ InstanceProfileName: name })));
      const role = out.InstanceProfile?.Roles?.[0]?.Arn;
      // A profile with no role gives the agent no credentials at all.
      if (!role) return { state: 'denied', missing: [...SSM_AGENT_ACTIONS] };
      const sim = await retry('SimulatePrincipalPolicy', () => iam().send(new SimulatePrincipalPolicyCommand({ PolicySourceArn: role, ActionNames: [...SSM_AGENT_ACTIONS] })));
      return judgeSimulation((sim.EvaluationResults ?? []).map((r) => ({ action: r.EvalActionName, decision: r.EvalDecision })));
    },
    async network(subnets) {
      const vpcs = [...new Set(subnets.map((s) => s.vpcId))].sort();
      const tables: RouteTableFacts[] = [];
      const endpoints = new Map<string, string[]>();
      for (let k = 0; k < vpcs.length; k += VPCS_PER_CALL) {
        const Values = vpcs.slice(k, k + VPCS_PER_CALL);
        let token: string | undefined;
        do {
          const page = await retry('DescribeRouteTables', () => o.ec2.send(new DescribeRouteTablesCommand({ Filters: [{ Name: 'vpc-id', Values }], ...(token ? { NextToken: token } : {}) })));
          for (const t of page.RouteTables ?? []) {
            tables.push({
              ...(t.VpcId ? { vpcId: t.VpcId } : {}),
              subnetIds: (t.Associations ?? []).flatMap((a) => (a.SubnetId ? [a.SubnetId] : [])),
              main: (t.Associations ?? []).some((a) => a.Main === true),
              routes: (t.Routes ?? []).map((r) => ({
                ...(r.DestinationCidrBlock ? { destinationCidrBlock: r.DestinationCidrBlock } : {}),
                ...(r.GatewayId ? { gatewayId: r.GatewayId } : {}),
                ...(r.NatGatewayId ? { natGatewayId: r.NatGatewayId } : {}),
                ...(r.TransitGatewayId ? { transitGatewayId: r.TransitGatewayId } : {}),
                ...(r.VpcPeeringConnectionId ? { vpcPeeringConnectionId: r.VpcPeeringConnectionId } : {}),
                ...(r.NetworkInterfaceId ? { networkInterfaceId: r.NetworkInterfaceId } : {}),
                ...(r.State ? { state: r.State } : {}),
              })),
            });
          }
          token = page.NextToken;
        } while (token);
        do {
          const page = await retry('DescribeVpcEndpoints', () =>
            o.ec2.send(new DescribeVpcEndpointsCommand({ Filters: [{ Name: 'vpc-id', Values }, { Name: 'vpc-endpoint-type', Values: ['Interface'] }, { Name: 'vpc-endpoint-state', Values: ['available'] }], ...(token ? { NextToken: token } : {}) })),
          );
          for (const e of page.VpcEndpoints ?? []) {
            if (!e.VpcId || !e.ServiceName) continue;
            // Without private DNS the agent's default endpoint name does not resolve to the endpoint.
            if (e.PrivateDnsEnabled === false) continue;
            endpoints.set(e.VpcId, [...(endpoints.get(e.VpcId) ?? []), e.ServiceName]);
          }
          token = page.NextToken;
        } while (token);
      }
      const out = new Map<string, NetworkPath>();
      for (const s of subnets) {
        const table = routeTableOf(tables, s.subnetId, s.vpcId);
        out.set(s.subnetId, { internetRoute: internetRouteOf(table?.routes), endpoints: ssmEndpointsOf(endpoints.get(s.vpcId) ?? []) });
      }
      return out;
    },
  };
}
