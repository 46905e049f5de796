/** Loaded on first use (../launch-sources.ts): the Auto Scaling client and the one paginator the sources read. */
import { AutoScalingClient, type DescribeAutoScalingGroupsCommandOutput, paginateDescribeAutoScalingGroups } from '@aws-sdk/client-auto-scaling';
import { createClient } from '../client-factory';

/** Pages of DescribeAutoScalingGroups (100 a page, the API's maximum) from `startingToken`. */
export type GroupPages = (startingToken: string | undefined) => AsyncIterable<DescribeAutoScalingGroupsCommandOutput>;

/** The pager over `client` (default: one built here, with the stack's timeouts). */
export function groupPages(client: Pick<AutoScalingClient, 'send'> = createClient(AutoScalingClient, 'autoscaling')): GroupPages {
  return (startingToken) => paginateDescribeAutoScalingGroups({ client: client as AutoScalingClient, startingToken }, { MaxRecords: 100 });
}
