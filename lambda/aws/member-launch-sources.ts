/**
 * The launch sources of one member account-region (docs/organization.md): the single-account
 * adapter (./launch-sources.ts) over the spoke's EC2 client and an Auto Scaling client of the same
 * region under the same spoke credentials. The Auto Scaling client is loaded at the first read, as
 * in one account (./on-demand/auto-scaling.ts), so an item that never reads the groups never loads it.
 */
import type { Clock } from '../engine/ports';
import type { LaunchSourcesPort } from '../engine/source-ports';
import type { AwsClients, ClientOptions } from './clients';
import { createClient } from './client-factory';
import { createLaunchSourcesPort } from './launch-sources';

/** The port factory hub-item takes (`HubItemDeps.launchSourcesFor`). */
export type MemberLaunchSources = (region: string, credentials: ClientOptions['credentials'], spoke: AwsClients) => LaunchSourcesPort;

export function memberLaunchSources(clock: Clock): MemberLaunchSources {
  return (region, credentials, spoke) =>
    createLaunchSourcesPort({
      ec2: spoke.ec2,
      clock,
      autoScaling: async () => {
        const [{ AutoScalingClient }, { groupPages }] = await Promise.all([import('@aws-sdk/client-auto-scaling'), import('./on-demand/auto-scaling')]);
        return groupPages(createClient(AutoScalingClient, 'autoscaling', { region, ...(credentials ? { credentials } : {}) }));
      },
    });
}
