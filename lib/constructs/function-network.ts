/**
 * The VPC option (docs/vpc.md): every function of a guard (or of the organization hub) in the given
 * subnets. The guard creates one {@link FunctionNetwork} before its functions; each
 * {@link GuardFunction} finds the nearest one above it ({@link FunctionNetwork.of}) and joins it, so a
 * function added later under the guard is in the VPC without its author wiring it.
 */
import { Validations } from 'aws-cdk-lib';
import { type ISecurityGroup, type IVpc, Peer, Port, SecurityGroup, type SubnetSelection } from 'aws-cdk-lib/aws-ec2';
import { Policy, PolicyStatement, type IRole } from 'aws-cdk-lib/aws-iam';
import type { CfnFunction, IFunction } from 'aws-cdk-lib/aws-lambda';
import { Construct, type IConstruct } from 'constructs';
import { TimeSyncGuardPropsError } from '../time-sync-guard-props';

/** The construct id every guard gives its network, so functions below it can find it. */
const NETWORK_ID = 'FunctionNetwork';

/** What places the functions in a VPC: the settings' ids, or a VPC object (construct users). */
export interface FunctionNetworkProps {
  readonly vpcSubnetIds?: readonly string[];
  readonly vpcSecurityGroupIds?: readonly string[];
  readonly vpc?: IVpc;
  readonly vpcSubnets?: SubnetSelection;
  readonly securityGroups?: ISecurityGroup[];
}

/**
 * The actions Lambda needs from the execution role to manage a VPC function's network interfaces
 * (Lambda Developer Guide, "Giving Lambda functions access to resources in an Amazon VPC"; the EC2
 * part of AWSLambdaVPCAccessExecutionRole, without its logs:* on every log group).
 */
export const VPC_ENI_ACTIONS = [
  'ec2:CreateNetworkInterface',
  'ec2:DescribeNetworkInterfaces',
  'ec2:DescribeSubnets',
  'ec2:DeleteNetworkInterface',
  'ec2:AssignPrivateIpAddresses',
  'ec2:UnassignPrivateIpAddresses',
] as const;

/** Validates the VPC props (naming the one at fault); true when the functions go into a VPC. */
export function wantsVpc(p: FunctionNetworkProps): boolean {
  const ids = p.vpcSubnetIds !== undefined || p.vpcSecurityGroupIds !== undefined;
  if (ids && p.vpc !== undefined) throw new TimeSyncGuardPropsError('vpc', 'excludes vpcSubnetIds and vpcSecurityGroupIds (give the VPC object or the ids)');
  if (p.vpc === undefined && (p.vpcSubnets !== undefined || p.securityGroups !== undefined)) {
    throw new TimeSyncGuardPropsError(p.vpcSubnets !== undefined ? 'vpcSubnets' : 'securityGroups', 'needs vpc');
  }
  if (ids) {
    for (const [name, v] of [['vpcSubnetIds', p.vpcSubnetIds], ['vpcSecurityGroupIds', p.vpcSecurityGroupIds]] as const) {
      if (v === undefined || v.length === 0) throw new TimeSyncGuardPropsError(name, `is required with ${name === 'vpcSubnetIds' ? 'vpcSecurityGroupIds' : 'vpcSubnetIds'} (both place the functions in the VPC)`);
    }
  }
  return ids || p.vpc !== undefined;
}

/** The subnets and security groups every function of the guard gets. */
export class FunctionNetwork extends Construct {
  /** The nearest network above `scope` (a guard's or the hub's), or undefined outside any VPC. */
  public static of(scope: IConstruct): FunctionNetwork | undefined {
    for (let s: IConstruct | undefined = scope; s !== undefined; s = s.node.scope) {
      const found = s.node.tryFindChild(NETWORK_ID);
      if (found instanceof FunctionNetwork) return found;
    }
    return undefined;
  }

  /** Creates the network of `scope` when the props ask for a VPC (validated), else nothing. */
  public static create(scope: Construct, props: FunctionNetworkProps): FunctionNetwork | undefined {
    return wantsVpc(props) ? new FunctionNetwork(scope, NETWORK_ID, props) : undefined;
  }

  public readonly subnetIds: string[];
  public readonly securityGroupIds: string[];

  private constructor(scope: Construct, id: string, props: FunctionNetworkProps) {
    super(scope, id);
    if (props.vpc) {
      this.subnetIds = props.vpc.selectSubnets(props.vpcSubnets).subnetIds;
      const groups =
        props.securityGroups ??
        (() => {
          // The functions only call AWS APIs over HTTPS and take no connection.
          const sg = new SecurityGroup(this, 'SecurityGroup', { vpc: props.vpc, allowAllOutbound: false, description: 'timesync-guard functions: outbound HTTPS to the AWS APIs only' });
          sg.addEgressRule(Peer.anyIpv4(), Port.tcp(443), 'AWS APIs (VPC endpoints or NAT)');
          return [sg];
        })();
      this.securityGroupIds = groups.map((g) => g.securityGroupId);
    } else {
      this.subnetIds = [...props.vpcSubnetIds!];
      this.securityGroupIds = [...props.vpcSecurityGroupIds!];
    }
  }

  /**
   * Puts a function into the subnets: its VPC configuration, and its role's network-interface
   * permissions in a policy of their own that the function waits for (Lambda checks them when it
   * creates the function).
   */
  public join(fn: IFunction, role: IRole): void {
    const cfn = fn.node.defaultChild as CfnFunction;
    cfn.vpcConfig = { subnetIds: this.subnetIds, securityGroupIds: this.securityGroupIds };
    const policy = new Policy(fn.node.scope as Construct, 'VpcAccessPolicy', {
      roles: [role],
      statements: [new PolicyStatement({ sid: 'LambdaVpcNetworkInterfaces', actions: [...VPC_ENI_ACTIONS], resources: ['*'] })],
    });
    cfn.node.addDependency(policy);
    Validations.of(policy).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'The network-interface actions Lambda performs with the execution role for a function in a VPC (the EC2 part of AWSLambdaVPCAccessExecutionRole, without its logs:*). The Lambda Developer Guide says DescribeNetworkInterfaces works only on "*" and that a DeleteNetworkInterface scoped to specific ids can cut the function off from the VPC; the interfaces are created by Lambda in the subnets and security groups of the function configuration.',
    });
  }
}
