/**
 * The Systems Manager Compliance adapter: one PutComplianceItems per managed instance, type
 * `Custom:TimeSyncGuard`, upload type COMPLETE (the API's name for a full upload: every item of the
 * type on the resource is replaced, so an item left out disappears; PARTIAL exists only for State
 * Manager association compliance). SSM publishes no rate for it (A#: 10 per second, burst 20, with
 * throttling retried); the export spreads what does not fit in one run over the next runs.
 */
import { type ComplianceItemEntry, PutComplianceItemsCommand, type SSMClient } from '@aws-sdk/client-ssm';
import { COMPLIANCE_EXECUTION_TYPE, COMPLIANCE_TYPE } from '../core/findings-export/compliance';
import type { TokenBucketOptions } from '../core/util/token-bucket';
import type { Clock, CompliancePort, CompliancePutRequest, CompliancePutResult } from '../engine/ports';
import { pacedCaller, shortError } from './paced-call';

export type { CompliancePort };

/** Assumed pace of PutComplianceItems (not published). */
export const PUT_COMPLIANCE_BUCKET: TokenBucketOptions = { capacity: 20, refillPerSecond: 10 };

export interface SsmCompliancePortOptions {
  readonly ssm: Pick<SSMClient, 'send'>;
  readonly clock: Clock;
  /** @default PUT_COMPLIANCE_BUCKET */
  readonly bucket?: TokenBucketOptions;
  /** @default 6 */
  readonly maxAttempts?: number;
}

/** The SDK-backed port. */
export function createSsmCompliancePort(o: SsmCompliancePortOptions): CompliancePort {
  const call = pacedCaller(o.bucket ?? PUT_COMPLIANCE_BUCKET, o.clock, 'PutComplianceItems', o.maxAttempts ?? 6);
  return {
    async put(r: CompliancePutRequest): Promise<CompliancePutResult> {
      try {
        await call(() =>
          o.ssm.send(
            new PutComplianceItemsCommand({
              ResourceId: r.instanceId,
              ResourceType: 'ManagedInstance',
              ComplianceType: COMPLIANCE_TYPE,
              ExecutionSummary: { ExecutionTime: new Date(r.executionTime), ExecutionId: r.executionId, ExecutionType: COMPLIANCE_EXECUTION_TYPE },
              Items: r.items as ComplianceItemEntry[],
              ItemContentHash: r.itemContentHash,
              UploadType: 'COMPLETE',
            }),
          ),
        );
        return { outcome: 'put' };
      } catch (err) {
        const name = (err as { name?: string } | null)?.name;
        return name === 'InvalidResourceId' || name === 'InvalidResourceType' ? { outcome: 'not-managed', error: shortError(err) } : { outcome: 'failed', error: shortError(err) };
      }
    },
  };
}
