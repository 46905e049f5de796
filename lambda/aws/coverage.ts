/**
 * The read-only calls behind the SSM coverage causes (lambda/engine/coverage.ts): the Default Host
 * Management setting, an instance profile's role simulated for the SSM Agent actions, and the
 * route tables and interface endpoints of the unmanaged instances' VPCs. Throttling is retried on
 * the injected clock; any other error is thrown and becomes an `unknown` fact in the engine. The
 * profile check is ./coverage-iam.ts.
 */
import { DescribeRouteTablesCommand, DescribeVpcEndpointsCommand, type EC2Client } from '@aws-sdk/client-ec2';
import { GetServiceSettingCommand, type SSMClient } from '@aws-sdk/client-ssm';
import {
  DHMC_SETTING_ID,
  type DhmcState,
  internetRouteOf,
  type NetworkPath,
  routeTableOf,
  type RouteTableFacts,
  ssmEndpointsOf,
} from '../core/fleet/coverage';
import type { Clock } from '../engine/ports';
import type { CoveragePort } from '../engine/coverage';
import { type PriorityRateLimiter, withRetry } from './retry';
import { ssmLimiter } from './run-command';

export interface AwsCoveragePortOptions {
  readonly ec2: Pick<EC2Client, 'send'>;
  readonly ssm: Pick<SSMClient, 'send'>;
  /**
   * The profile check (./coverage-iam.ts), loaded on first use by the handler: IAM is needed only
   * when an unmanaged instance has a profile, so its client is not in the check's start-up.
   */
  readonly profile: CoveragePort['profile'];
  readonly clock: Clock;
  /**
   * Paces the SSM call (GetServiceSetting): SSM's rate is one bucket per account, so a call beside
   * the check's must wait its turn in the same limiter, or it takes a token the limiter counted on
   * and a SendCommand is throttled (which halves the limiter's rate for the rest of the run).
   * `false`: not paced (throttles are still retried).
   * @default - ssmLimiter(ssm, clock), shared with the inventory and Run Command on the same client
   */
  readonly ssmLimiter?: PriorityRateLimiter | false;
}

/** DescribeRouteTables / DescribeVpcEndpoints accept this many values in one filter. */
const VPCS_PER_CALL = 200;

/** A setting value that names no role: Default Host Management is off. */
export function dhmcFromSetting(value: string | undefined): DhmcState {
  const v = (value ?? '').trim();
  return v === '' || v === '$None' ? { state: 'off' } : { state: 'on', role: v };
}

export function createAwsCoveragePort(o: AwsCoveragePortOptions): CoveragePort {
  const retry = <T>(operation: string, fn: () => Promise<T>): Promise<T> => withRetry(fn, o.clock, { operation, maxAttempts: 4 });
  const limiter = o.ssmLimiter === false ? undefined : (o.ssmLimiter ?? ssmLimiter(o.ssm, o.clock));
  const ssmRetry = <T>(operation: string, fn: () => Promise<T>): Promise<T> =>
    withRetry(fn, o.clock, limiter ? limiter.retryOptions({ operation, maxAttempts: 4 }) : { operation, maxAttempts: 4 });
  return {
    async dhmc() {
      try {
        const out = await ssmRetry('GetServiceSetting', () => o.ssm.send(new GetServiceSettingCommand({ SettingId: DHMC_SETTING_ID })));
        // An answer without the setting is not "off": it is unread (never a cause).
        if (!out?.ServiceSetting) throw new Error('GetServiceSetting returned no setting');
        return dhmcFromSetting(out.ServiceSetting.SettingValue);
      } catch (err) {
        // Never set in this region: the setting does not exist yet.
        if ((err as { name?: string }).name === 'ServiceSettingNotFound') return { state: 'off' };
        throw err;
      }
    },
    profile: o.profile,
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
