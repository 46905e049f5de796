/**
 * Adapters whose SDK client is needed only on some invocations (the daily IMDSv2 readiness refresh,
 * the snapshot, a rollback's audit and record key, the night's SNS summary): each is a port whose
 * module and SDK client are loaded at its first call, not at the Lambda's start-up. A handler's
 * start-up then loads only what every invocation needs (EC2, SSM, Powertools); `import()` of a
 * bundled module is evaluated on demand by esbuild, so the lazy client's code is read but not run.
 * Each `import()` names a one-export module of ./on-demand/: a dynamically imported module keeps
 * all its exports, so importing an SDK package itself would keep every command of the client.
 * test/aws/lazy-adapters.test.ts checks both the module graph and the bundle's static imports.
 */
import type { Clock } from './clock';
import type { Imdsv2MetricsPort, Imdsv2SnapshotPort } from '../engine/imdsv2';
import type { AuditSink, Notifier, SecurityHubPort } from '../engine/ports';
import type { UrgentExecutions } from '../engine/urgent';
import type { EventBridgeAuditOptions } from './audit';

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
    return (loaded = (await import('./on-demand/cloudwatch')).instanceMetrics(clock));
  });
  return {
    sums: async (...args) => (await port()).sums(...args),
    get stats() {
      return loaded?.stats;
    },
  };
}

/** One object of the stack's S3 bucket, its store built at the first read or write. */
function lazyObjectStore(build: (s3: typeof import('./on-demand/s3')) => Imdsv2SnapshotPort): Imdsv2SnapshotPort {
  const store = onFirstUse(async () => build(await import('./on-demand/s3')));
  return { read: async () => (await store()).read(), write: async (text) => (await store()).write(text) };
}

/** The readiness snapshot in the stack's S3 bucket. */
export function lazySnapshotStore(bucket: string, clock: Clock): Imdsv2SnapshotPort {
  return lazyObjectStore((m) => m.snapshotStore(bucket, clock));
}

/** The IMDSv2 record key (Secrets Manager), read when a record is first made or verified. */
export function lazyRecordKey(secretId: string): () => Promise<Uint8Array> {
  const key = onFirstUse(async () => (await import('./on-demand/record-key')).secretRecordKey({ secretId }));
  return async () => (await key())();
}

/** Action events of a rollback (EventBridge): the check audits only when the watch rolls an instance back. */
export function lazyAuditActions(options: Omit<EventBridgeAuditOptions, 'events'>): AuditSink['actions'] {
  const sink = onFirstUse(async () => (await import('./on-demand/eventbridge')).eventBridgeAudit(options));
  return async (details) => (await sink()).actions(details);
}

/** The night's SNS summary (sent once, at the end of a run). A client that cannot load is a summary not sent. */
export function lazySnsNotifier(topicArn: string | undefined): Notifier {
  const notifier = onFirstUse(async () => (await import('./on-demand/sns')).snsNotifier(topicArn ?? ''));
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
  const port = onFirstUse(async () => (await import('./on-demand/sfn')).remediationExecutions(stateMachineArn, clock));
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
  const port = onFirstUse(async () => (await import('./on-demand/securityhub')).securityHubPort(clock));
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
