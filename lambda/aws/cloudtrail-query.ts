/**
 * The CloudTrail query adapters of the IMDSv1-credential signal (lambda/engine/credential-evidence.ts):
 * CloudTrail Lake (StartQuery on the event data store, GetQueryResults paged by NextToken) or
 * CloudWatch Logs Insights on the log group the trail delivers to (StartQuery over the window,
 * GetQueryResults: one answer, at most 10,000 rows). Rows come back as field → value.
 */
import { type CloudTrailClient, GetQueryResultsCommand, StartQueryCommand } from '@aws-sdk/client-cloudtrail';
import { type CloudWatchLogsClient, GetQueryResultsCommand as LogsGetQueryResultsCommand, StartQueryCommand as LogsStartQueryCommand } from '@aws-sdk/client-cloudwatch-logs';
import type { CloudTrailSource } from '../core/imdsv2/credential-delivery';
import type { CloudTrailQueryPort } from '../engine/credential-evidence';
import type { Clock } from '../engine/ports';
import { withRetry } from './retry';

export function createCloudTrailQueryPort(
  source: CloudTrailSource,
  clients: { readonly cloudtrail: () => Pick<CloudTrailClient, 'send'>; readonly logs: () => Pick<CloudWatchLogsClient, 'send'> },
  clock: Clock,
): CloudTrailQueryPort {
  const retry = <T>(operation: string, fn: () => Promise<T>): Promise<T> => withRetry(fn, clock, { operation, maxAttempts: 4 });
  if (source.kind === 'lake') {
    return {
      async start(q) {
        const out = await retry('StartQuery', () => clients.cloudtrail().send(new StartQueryCommand({ QueryStatement: q.text })));
        if (!out.QueryId) throw new Error('StartQuery returned no QueryId');
        return out.QueryId;
      },
      async page(queryId, nextToken) {
        const out = await retry('GetQueryResults', () =>
          clients.cloudtrail().send(new GetQueryResultsCommand({ QueryId: queryId, EventDataStore: source.eventDataStoreArn, MaxQueryResults: 1000, ...(nextToken ? { NextToken: nextToken } : {}) })),
        );
        const rows = (out.QueryResultRows ?? []).map((row) => Object.assign({}, ...row) as Record<string, string>);
        return { status: out.QueryStatus ?? 'UNKNOWN', rows, ...(out.NextToken ? { nextToken: out.NextToken } : {}) };
      },
    };
  }
  return {
    async start(q) {
      const out = await retry('StartQuery', () =>
        clients.logs().send(new LogsStartQueryCommand({ logGroupName: source.logGroupName, startTime: Math.floor(q.start / 1000), endTime: Math.floor(q.end / 1000), queryString: q.text, limit: 10_000 })),
      );
      if (!out.queryId) throw new Error('StartQuery returned no queryId');
      return out.queryId;
    },
    async page(queryId) {
      const out = await retry('GetQueryResults', () => clients.logs().send(new LogsGetQueryResultsCommand({ queryId })));
      const rows = (out.results ?? []).map((row) => Object.fromEntries(row.flatMap((f) => (f.field ? [[f.field, f.value ?? '']] : []))) as Record<string, string>);
      return { status: out.status ?? 'Unknown', rows };
    },
  };
}
