/**
 * The EC2 side of IMDSv2 enforcement and rollback: the IMDS port's fresh reads and paced modify
 * (same token bucket as the hop-limit changes), plus CreateTags of the enforcement tag only (IAM
 * scopes ec2:CreateTags to that one key).
 */
import { CreateTagsCommand, type EC2Client } from '@aws-sdk/client-ec2';
import { IMDSV2_ENFORCED_TAG_KEY } from '../core/imdsv2/readiness';
import type { Imdsv2Ec2Port } from '../engine/imdsv2';
import type { Clock, ImdsPort } from '../engine/ports';
import { withRetry } from './retry';

/** Builds the port over an existing IMDS port (sharing its modify bucket) and the EC2 client. */
export function createImdsv2Ec2Port(imds: ImdsPort, ec2: Pick<EC2Client, 'send'>, clock: Clock): Imdsv2Ec2Port {
  return {
    // Throttled past the retries: undefined, the phase looks again later (nothing is lost).
    describe: async (ids) => {
      const r = await imds.describe(ids);
      return r.outcome === 'described' ? r.instances : undefined;
    },
    async modify(request) {
      const res = await imds.modify({ instanceId: request.instanceId, httpTokens: request.httpTokens, ...(request.hopLimit !== undefined ? { hopLimit: request.hopLimit } : {}) });
      return res.outcome === 'requested' ? { outcome: 'requested' } : { outcome: res.outcome, error: res.error };
    },
    modifyWaitMs: () => imds.modifyWaitMs(),
    tag: createImdsv2Tagger(ec2, clock),
  };
}

/** CreateTags of the enforcement tag on one instance (retried on throttling). */
export function createImdsv2Tagger(ec2: Pick<EC2Client, 'send'>, clock: Clock): (instanceId: string, value: string) => Promise<void> {
  return async (instanceId, value) => {
    await withRetry(
      () => ec2.send(new CreateTagsCommand({ Resources: [instanceId], Tags: [{ Key: IMDSV2_ENFORCED_TAG_KEY, Value: value }] })),
      clock,
      { operation: 'CreateTags', maxAttempts: 5 },
    );
  };
}
