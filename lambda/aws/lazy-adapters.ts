/**
 * Adapters whose SDK client is needed only on some invocations (the daily IMDSv2 readiness refresh,
 * the snapshot, a rollback's audit and record key, the night's SNS summary): each is a port whose
 * module and SDK client are loaded at its first call, not at the Lambda's start-up. A handler's
 * start-up then loads only what every invocation needs (EC2, SSM, Powertools). Each port names a
 * small module of ./on-demand/, bundled into a file of its own and not even read before its first
 * use (./on-demand-loader.ts); a module rather than an SDK package, so that the file holds only the
 * commands the port sends. test/aws/lazy-adapters.test.ts checks the module graph,
 * test/aws/on-demand-bundle.test.ts the built asset.
 */
import type { Clock } from './clock';
import type { Imdsv2MetricsPort, Imdsv2SnapshotPort } from '../engine/imdsv2';
import type { AuditSink, Notifier, SecurityHubPort } from '../engine/ports';
import type { UrgentExecutions } from '../engine/urgent';
import type { EventBridgeAuditOptions } from './audit';
import { loadOnDemand, type OnDemandModules } from './on-demand-loader';

/**
 * Memoizes an async factory: built at the first call, reused after. A failed build is not kept
 * (the next call tries again: a failed module load or secret read must not stick for the container's life).
 */
export function onFirstUse<T>(build: () => Promise<T>): () => Promise<T> {
  let value: Promise<T> | undefined;
  return () =>
    (value ??= build().catch((err: unknown) => {
      value = undefined;
      throw err;
    }));
}

/** CloudWatch GetMetricData for the readiness refresh and the rollback watch. */
export function lazyInstanceMetrics(clock: Clock): Imdsv2MetricsPort {
  let loaded: Imdsv2MetricsPort | undefined;
  const port = onFirstUse(async () => {
    return (loaded = (await loadOnDemand('on-demand/cloudwatch')).instanceMetrics(clock));
  });
  return {
    sums: async (...args) => (await port()).sums(...args),
    get stats() {
      return loaded?.stats;
    },
  };
}

/** One object of the stack's S3 bucket, its store built at the first read or write. */
function lazyObjectStore(build: (s3: OnDemandModules['on-demand/s3']) => Imdsv2SnapshotPort): Imdsv2SnapshotPort {
  const store = onFirstUse(async () => build(await loadOnDemand('on-demand/s3')));
  return { read: async () => (await store()).read(), write: async (text) => (await store()).write(text) };
}

/** The readiness snapshot in the stack's S3 bucket. */
export function lazySnapshotStore(bucket: string, clock: Clock): Imdsv2SnapshotPort {
  return lazyObjectStore((m) => m.snapshotStore(bucket, clock));
}

/** The IMDSv2 record key (Secrets Manager), read when a record is first made or verified. */
export function lazyRecordKey(secretId: string): () => Promise<Uint8Array> {
  const key = onFirstUse(async () => (await loadOnDemand('on-demand/record-key')).secretRecordKey({ secretId }));
  return async () => (await key())();
}

/** Action events of a rollback (EventBridge): the check audits only when the watch rolls an instance back. */
export function lazyAuditActions(options: Omit<EventBridgeAuditOptions, 'events'>): AuditSink['actions'] {
  const sink = onFirstUse(async () => (await loadOnDemand('on-demand/eventbridge')).eventBridgeAudit(options));
  return async (details) => (await sink()).actions(details);
}

/** The night's SNS summary (sent once, at the end of a run). A client that cannot load is a summary not sent. */
export function lazySnsNotifier(topicArn: string | undefined): Notifier {
  const notifier = onFirstUse(async () => (await loadOnDemand('on-demand/sns')).snsNotifier(topicArn ?? ''));
  return {
    async publish(subject, summary) {
      if (!topicArn) return false;
      try {
        return await (await notifier()).publish(subject, summary);
      } catch {
        return false;
      }
    },
  };
}

/**
 * The urgent path's Step Functions calls: the check reads the remediation history only when a run
 * found urgent hosts, so most hourly checks never load the client.
 */
export function lazyRemediationExecutions(stateMachineArn: string, clock: Clock): UrgentExecutions {
  const port = onFirstUse(async () => (await loadOnDemand('on-demand/sfn')).remediationExecutions(stateMachineArn, clock));
  return {
    history: async (since) => (await port()).history(since),
    running: async () => (await port()).running(),
    start: async (input, name) => (await port()).start(input, name),
  };
}

/** The findings export's state object in the stack's S3 bucket. */
export function lazyExportStateStore(bucket: string, clock: Clock): Imdsv2SnapshotPort {
  return lazyObjectStore((m) => m.exportStateStore(bucket, clock));
}

/** Security Hub: the findings export imports only what changed, so a steady fleet never loads it. Never throws (its port's contract). */
export function lazySecurityHub(clock: Clock): SecurityHubPort {
  const port = onFirstUse(async () => (await loadOnDemand('on-demand/securityhub')).securityHubPort(clock));
  return {
    importFindings: async (findings) => {
      try {
        return await (await port()).importFindings(findings);
      } catch (err) {
        return { outcome: 'failed', error: err instanceof Error ? `${err.name}: ${err.message}` : String(err) };
      }
    },
  };
}
