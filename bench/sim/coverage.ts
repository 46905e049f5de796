/**
 * The simulated account's side of the SSM coverage causes (lambda/aws/coverage.ts): the Default
 * Host Management service setting (Get / Update / Reset), IAM instance profiles and their roles'
 * simulated SSM permissions, and the VPCs' route tables and interface endpoints. State comes from
 * {@link SimCoverageOptions} and the setting is mutable (the DHMC custom resource writes it).
 * Registered in account.ts (IAM_SERVICE) and as rows of EC2_SERVICE / SSM_SERVICE.
 */
import {
  DescribeRouteTablesCommand,
  type DescribeRouteTablesCommandInput,
  DescribeVpcEndpointsCommand,
  type DescribeVpcEndpointsCommandInput,
} from '@aws-sdk/client-ec2';
import { GetInstanceProfileCommand, IAMClient, SimulatePrincipalPolicyCommand, type SimulatePrincipalPolicyCommandInput } from '@aws-sdk/client-iam';
import { GetServiceSettingCommand, ResetServiceSettingCommand, UpdateServiceSettingCommand, type UpdateServiceSettingCommandInput } from '@aws-sdk/client-ssm';
import { DHMC_SETTING_ID } from '../../lambda/core/fleet/coverage';
import type { SimAccount, SimAction, SimService } from './account';
import { SimAwsError } from './primitives';

/** One simulated route table. */
export interface SimRouteTable {
  readonly id: string;
  readonly vpcId: string;
  readonly main?: boolean;
  readonly subnetIds?: readonly string[];
  /** 0.0.0.0/0 target: `igw-…`, `nat-…`, `tgw-…`, or none. */
  readonly defaultRoute?: string;
}

/** The coverage part of the simulated account. */
export interface SimCoverageOptions {
  readonly coverage?: {
    /** The DHMC role name; undefined: never set (ServiceSettingNotFound). */
    readonly dhmcRole?: string;
    /** Profile name → its role's allowed actions (absent profile: NoSuchEntity; `role: null`: a profile with no role). */
    readonly profiles?: Readonly<Record<string, { readonly role?: string | null; readonly allowed: readonly string[] }>>;
    /** Route tables; a VPC with none is unknown to EC2 (no table answered). */
    readonly routeTables?: readonly SimRouteTable[];
    /** VPC id → interface endpoint service suffixes (`ssm`, `ssmmessages`, `ec2messages`). */
    readonly endpoints?: Readonly<Record<string, readonly string[]>>;
  };
}

/** The mutable DHMC setting of each account (undefined: never set). */
const dhmcSetting = new WeakMap<SimAccount, { value: string | undefined }>();
function dhmcOf(acct: SimAccount): { value: string | undefined } {
  let s = dhmcSetting.get(acct);
  if (!s) {
    s = { value: acct.options.coverage?.dhmcRole };
    dhmcSetting.set(acct, s);
  }
  return s;
}

/** The DHMC setting as the account holds it now (tests of the custom resource read it). */
export function simDhmcValue(acct: SimAccount): string | undefined {
  return dhmcOf(acct).value;
}

const settingArn = (): string => `arn:aws:ssm:us-east-1:111122223333:servicesetting${DHMC_SETTING_ID}`;
const checkId = (id: string | undefined): void => {
  if (id !== DHMC_SETTING_ID) throw new SimAwsError('ServiceSettingNotFound', `setting ${id} not modelled`);
};

/** SSM's three service-setting actions, rows of SSM_SERVICE. */
export const SSM_SERVICE_SETTING_ACTIONS: Readonly<Record<string, SimAction>> = {
  GetServiceSetting: {
    command: GetServiceSettingCommand,
    answer: (acct, input: { SettingId?: string }) => {
      checkId(input.SettingId);
      const v = dhmcOf(acct).value;
      if (v === undefined) throw new SimAwsError('ServiceSettingNotFound', 'The specified service setting was not found.');
      return { result: { ServiceSetting: { SettingId: DHMC_SETTING_ID, SettingValue: v, ARN: settingArn(), Status: 'Customized' } }, latency: acct.lat.other };
    },
    bucket: () => 'requests',
  },
  UpdateServiceSetting: {
    command: UpdateServiceSettingCommand,
    answer: (acct, input: UpdateServiceSettingCommandInput) => {
      checkId(input.SettingId);
      dhmcOf(acct).value = input.SettingValue;
      return { result: {}, latency: acct.lat.other };
    },
    bucket: () => 'requests',
  },
  ResetServiceSetting: {
    command: ResetServiceSettingCommand,
    answer: (acct, input: { SettingId?: string }) => {
      checkId(input.SettingId);
      dhmcOf(acct).value = '$None';
      return { result: { ServiceSetting: { SettingId: DHMC_SETTING_ID, SettingValue: '$None', Status: 'Default' } }, latency: acct.lat.other };
    },
    bucket: () => 'requests',
  },
};

const vpcFilter = (filters: { Name?: string; Values?: string[] }[] | undefined): Set<string> | undefined => {
  const f = filters?.find((x) => x.Name === 'vpc-id');
  return f ? new Set(f.Values ?? []) : undefined;
};

/** DescribeRouteTables / DescribeVpcEndpoints filtered by VPC, rows of EC2_SERVICE (one page each). */
export const EC2_NETWORK_ACTIONS: Readonly<Record<string, SimAction>> = {
  DescribeRouteTables: {
    command: DescribeRouteTablesCommand,
    answer: (acct, input: DescribeRouteTablesCommandInput) => {
      const vpcs = vpcFilter(input.Filters);
      const tables = (acct.options.coverage?.routeTables ?? []).filter((t) => !vpcs || vpcs.has(t.vpcId));
      return {
        result: {
          RouteTables: tables.map((t) => ({
            RouteTableId: t.id,
            VpcId: t.vpcId,
            Associations: [...(t.main ? [{ Main: true, RouteTableId: t.id }] : []), ...(t.subnetIds ?? []).map((s) => ({ Main: false, SubnetId: s, RouteTableId: t.id }))],
            Routes: [
              { DestinationCidrBlock: '10.0.0.0/16', GatewayId: 'local', State: 'active' },
              ...(t.defaultRoute
                ? [{ DestinationCidrBlock: '0.0.0.0/0', State: 'active', ...(t.defaultRoute.startsWith('nat-') ? { NatGatewayId: t.defaultRoute } : t.defaultRoute.startsWith('tgw-') ? { TransitGatewayId: t.defaultRoute } : { GatewayId: t.defaultRoute }) }]
                : []),
            ],
          })),
        },
        latency: acct.lat.other,
      };
    },
    bucket: () => 'nonMutating',
  },
  DescribeVpcEndpoints: {
    command: DescribeVpcEndpointsCommand,
    answer: (acct, input: DescribeVpcEndpointsCommandInput) => {
      const vpcs = vpcFilter(input.Filters);
      const out = Object.entries(acct.options.coverage?.endpoints ?? {})
        .filter(([vpc]) => !vpcs || vpcs.has(vpc))
        .flatMap(([vpc, services]) =>
          services.map((s, k) => ({ VpcEndpointId: `vpce-${vpc}-${k}`, VpcId: vpc, ServiceName: `com.amazonaws.us-east-1.${s}`, VpcEndpointType: 'Interface', State: 'available', PrivateDnsEnabled: true })),
        );
      return { result: { VpcEndpoints: out }, latency: acct.lat.other };
    },
    bucket: () => 'nonMutating',
  },
};

/** IAM: GetInstanceProfile and SimulatePrincipalPolicy (a low control-plane rate). */
export const IAM_SERVICE: SimService = {
  name: 'iam',
  client: IAMClient,
  buckets: () => ({ requests: { capacity: 10, refillPerSecond: 5 } }),
  throttled: () => new SimAwsError('Throttling', 'Rate exceeded'),
  actions: {
    GetInstanceProfile: {
      command: GetInstanceProfileCommand,
      answer: (acct, input: { InstanceProfileName?: string }) => {
        const p = acct.options.coverage?.profiles?.[input.InstanceProfileName ?? ''];
        if (!p) throw new SimAwsError('NoSuchEntity', `Instance Profile ${input.InstanceProfileName} cannot be found.`, 404);
        const role = p.role === null ? [] : [{ RoleName: p.role ?? `${input.InstanceProfileName}-role`, Arn: `arn:aws:iam::111122223333:role/${p.role ?? `${input.InstanceProfileName}-role`}` }];
        return { result: { InstanceProfile: { InstanceProfileName: input.InstanceProfileName, Roles: role } }, latency: acct.lat.other };
      },
      bucket: () => 'requests',
    },
    SimulatePrincipalPolicy: {
      command: SimulatePrincipalPolicyCommand,
      answer: (acct, input: SimulatePrincipalPolicyCommandInput) => {
        const roleName = (input.PolicySourceArn ?? '').split('/').pop() ?? '';
        const p = Object.entries(acct.options.coverage?.profiles ?? {}).find(([name, v]) => (v.role ?? `${name}-role`) === roleName)?.[1];
        if (!p) throw new SimAwsError('NoSuchEntity', `role ${roleName} not found`, 404);
        return {
          result: { EvaluationResults: (input.ActionNames ?? []).map((a) => ({ EvalActionName: a, EvalResourceName: '*', EvalDecision: p.allowed.includes(a) ? 'allowed' : 'implicitDeny' })) },
          latency: acct.lat.other,
        };
      },
      bucket: () => 'requests',
    },
  },
};
