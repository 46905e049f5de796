/**
 * An inventory of part of a region: either given instance ids (the launch check) or a run of EC2
 * DescribeInstances pages from a token (one slice of a region too large for one invocation). Both
 * list EC2 first, then ask SSM only about the instances found (DescribeInstanceInformation with an
 * `InstanceIds` filter), so the cost follows the subset, not the region.
 */
import { DescribeInstancesCommand, type DescribeInstancesCommandInput, type DescribeInstancesCommandOutput, type EC2Client, type Instance } from '@aws-sdk/client-ec2';
import { DescribeInstanceInformationCommand, type InstanceInformation, type SSMClient } from '@aws-sdk/client-ssm';
import type { InstanceRecord } from '../core/types';
import type { Clock } from './clock';
import type { InstanceInventory } from './inventory';
import { toRecord } from './inventory';
import { type RetryOptions, withRetry } from './retry';

/** EC2 accepts up to 200 values in one DescribeInstances filter. */
export const MAX_FILTER_VALUES = 200;
/** DescribeInstanceInformation's `InstanceIds` filter, one page of at most 50. */
const SSM_IDS_PER_CALL = 50;
/** A slice reads this many instances per DescribeInstances page (the API's maximum). */
export const EC2_PAGE_SIZE = 1000;

/** Which part of the region to list. */
export type InstanceSelection =
  | { readonly kind: 'ids'; readonly instanceIds: readonly string[] }
  /** `pages` DescribeInstances pages of {@link EC2_PAGE_SIZE} from `startToken` (undefined = the first page). */
  | { readonly kind: 'pages'; readonly startToken?: string; readonly pages: number };

export interface InstanceSubsetOptions {
  readonly ec2: Pick<EC2Client, 'send'>;
  readonly ssm: Pick<SSMClient, 'send'>;
  readonly clock: Clock;
  readonly optOutTagKey: string;
  readonly selection: InstanceSelection;
  readonly retry?: RetryOptions;
}

/** Running instances of a subset, joined with their SSM status. */
export class InstanceSubsetInventory implements InstanceInventory {
  /** After `listInstances()` of a `pages` selection: the token of the page after the slice (undefined = the region ends here). */
  public nextToken: string | undefined;
  /** DescribeInstances and DescribeInstanceInformation calls of the last listing. */
  public readonly stats = { describeInstances: 0, describeInstanceInformation: 0 };

  constructor(private readonly options: InstanceSubsetOptions) {}

  async listInstances(): Promise<InstanceRecord[]> {
    this.stats.describeInstances = 0;
    this.stats.describeInstanceInformation = 0;
    const instances = this.options.selection.kind === 'ids' ? await this.byIds(this.options.selection.instanceIds) : await this.byPages(this.options.selection);
    const managed = await this.managed(instances.map((i) => i.InstanceId!));
    return instances.map((i) => toRecord(i, managed.get(i.InstanceId!), this.options.optOutTagKey));
  }

  private async describe(input: DescribeInstancesCommandInput): Promise<DescribeInstancesCommandOutput> {
    this.stats.describeInstances++;
    const { ec2, clock, retry } = this.options;
    return withRetry(() => ec2.send(new DescribeInstancesCommand(input)), clock, { operation: 'DescribeInstances', ...retry });
  }

  private static running(pages: readonly DescribeInstancesCommandOutput[], seen: Set<string>): Instance[] {
    const out: Instance[] = [];
    for (const page of pages) {
      for (const r of page.Reservations ?? []) {
        for (const i of r.Instances ?? []) {
          if (!i.InstanceId || seen.has(i.InstanceId) || (i.State?.Name !== undefined && i.State.Name !== 'running')) continue;
          seen.add(i.InstanceId);
          out.push(i);
        }
      }
    }
    return out;
  }

  /**
   * A filter on `instance-id` instead of `InstanceIds`: an id EC2 does not know (yet, or any more)
   * is simply absent instead of failing the whole call with InvalidInstanceID.NotFound.
   */
  private async byIds(ids: readonly string[]): Promise<Instance[]> {
    const unique = [...new Set(ids)];
    const seen = new Set<string>();
    const out: Instance[] = [];
    for (let k = 0; k < unique.length; k += MAX_FILTER_VALUES) {
      const pages: DescribeInstancesCommandOutput[] = [];
      let token: string | undefined;
      do {
        const page = await this.describe({
          Filters: [
            { Name: 'instance-id', Values: unique.slice(k, k + MAX_FILTER_VALUES) },
            { Name: 'instance-state-name', Values: ['running'] },
          ],
          MaxResults: EC2_PAGE_SIZE,
          ...(token ? { NextToken: token } : {}),
        });
        pages.push(page);
        token = page.NextToken;
      } while (token);
      out.push(...InstanceSubsetInventory.running(pages, seen));
    }
    return out;
  }

  private async byPages(selection: Extract<InstanceSelection, { kind: 'pages' }>): Promise<Instance[]> {
    const seen = new Set<string>();
    const pages: DescribeInstancesCommandOutput[] = [];
    let token = selection.startToken;
    for (let n = 0; n < Math.max(1, selection.pages); n++) {
      const page = await this.describe({ Filters: [{ Name: 'instance-state-name', Values: ['running'] }], MaxResults: EC2_PAGE_SIZE, ...(token ? { NextToken: token } : {}) });
      pages.push(page);
      token = page.NextToken;
      if (!token) break;
    }
    this.nextToken = token;
    return InstanceSubsetInventory.running(pages, seen);
  }

  private async managed(ids: readonly string[]): Promise<Map<string, InstanceInformation>> {
    const { ssm, clock, retry } = this.options;
    const out = new Map<string, InstanceInformation>();
    for (let k = 0; k < ids.length; k += SSM_IDS_PER_CALL) {
      const chunk = ids.slice(k, k + SSM_IDS_PER_CALL);
      let token: string | undefined;
      do {
        this.stats.describeInstanceInformation++;
        const page = await withRetry(
          () =>
            ssm.send(
              new DescribeInstanceInformationCommand({ Filters: [{ Key: 'InstanceIds', Values: chunk }], MaxResults: SSM_IDS_PER_CALL, ...(token ? { NextToken: token } : {}) }),
            ),
          clock,
          { operation: 'DescribeInstanceInformation', ...retry },
        );
        for (const info of page.InstanceInformationList ?? []) if (info.InstanceId) out.set(info.InstanceId, info);
        token = page.NextToken;
      } while (token);
    }
    return out;
  }
}
