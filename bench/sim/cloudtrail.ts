/**
 * The simulated account's CloudTrail Lake (StartQuery / GetQueryResults with paging, a query that
 * stays QUEUED/RUNNING for a number of polls) and CloudWatch Logs Insights (StartQuery /
 * GetQueryResults). The query text is recorded, not interpreted: the answer is the aggregated rows
 * of {@link SimCloudTrailOptions} (what the query of lambda/core/imdsv2/credential-delivery.ts
 * returns from a real trail). Registered in account.ts's SERVICES.
 */
import { CloudTrailClient, GetQueryResultsCommand, type GetQueryResultsCommandInput, StartQueryCommand, type StartQueryCommandInput } from '@aws-sdk/client-cloudtrail';
import {
  CloudWatchLogsClient,
  GetQueryResultsCommand as LogsGetQueryResultsCommand,
  type GetQueryResultsCommandInput as LogsGetQueryResultsInput,
  StartQueryCommand as LogsStartQueryCommand,
  type StartQueryCommandInput as LogsStartQueryInput,
} from '@aws-sdk/client-cloudwatch-logs';
import type { SimAccount, SimService } from './account';
import { SimAwsError } from './primitives';

/** One aggregated row of the credential query. */
export interface SimTrailRow {
  readonly arn: string;
  readonly delivery?: string;
  readonly errorCode?: string;
  readonly n: number;
}

export interface SimCloudTrailOptions {
  readonly cloudTrail?: {
    readonly rows?: readonly SimTrailRow[];
    /** GetQueryResults calls answered QUEUED/RUNNING before FINISHED. @default 1 */
    readonly pollsUntilFinished?: number;
    /** Rows per result page (Lake). @default 2 */
    readonly pageSize?: number;
  };
}

interface SimQuery {
  readonly text: string;
  polls: number;
}

/** Queries started, per account (tests read the text and count). */
const queries = new WeakMap<SimAccount, Map<string, SimQuery>>();
export function simQueries(acct: SimAccount): Map<string, SimQuery> {
  let m = queries.get(acct);
  if (!m) {
    m = new Map();
    queries.set(acct, m);
  }
  return m;
}

function startQuery(acct: SimAccount, text: string | undefined): { result: unknown; latency: number } {
  if (!text) throw new SimAwsError('InvalidQueryStatementException', 'empty query');
  const m = simQueries(acct);
  const id = `q-${m.size + 1}`;
  m.set(id, { text, polls: 0 });
  return { result: { QueryId: id, queryId: id }, latency: acct.lat.other };
}

function pollQuery(acct: SimAccount, id: string | undefined): SimQuery {
  const q = id ? simQueries(acct).get(id) : undefined;
  if (!q) throw new SimAwsError('QueryIdNotFoundException', `query ${id} not found`);
  q.polls++;
  return q;
}

const columns = (r: SimTrailRow): [string, string][] => [
  ['arn', r.arn],
  ...(r.delivery !== undefined ? ([['delivery', r.delivery]] as [string, string][]) : []),
  ...(r.errorCode !== undefined ? ([['errorCode', r.errorCode]] as [string, string][]) : []),
  ['n', String(r.n)],
];

export const CLOUDTRAIL_SERVICE: SimService = {
  name: 'cloudtrail',
  client: CloudTrailClient,
  actions: {
    StartQuery: { command: StartQueryCommand, answer: (acct, input: StartQueryCommandInput) => startQuery(acct, input.QueryStatement) },
    GetQueryResults: {
      command: GetQueryResultsCommand,
      answer: (acct, input: GetQueryResultsCommandInput) => {
        const o = acct.options.cloudTrail ?? {};
        const q = pollQuery(acct, input.QueryId);
        const until = o.pollsUntilFinished ?? 1;
        if (q.polls <= until) return { result: { QueryStatus: q.polls === 1 ? 'QUEUED' : 'RUNNING' }, latency: acct.lat.other };
        const size = o.pageSize ?? 2;
        const from = input.NextToken ? Number(input.NextToken) : 0;
        const all = o.rows ?? [];
        const page = all.slice(from, from + size);
        return {
          result: {
            QueryStatus: 'FINISHED',
            QueryResultRows: page.map((r) => columns(r).map(([k, v]) => ({ [k]: v }))),
            ...(from + size < all.length ? { NextToken: String(from + size) } : {}),
          },
          latency: acct.lat.other,
        };
      },
    },
  },
};

export const LOGS_SERVICE: SimService = {
  name: 'logs',
  client: CloudWatchLogsClient,
  actions: {
    // The Logs names collide with CloudTrail's: the account keys actions by name, so these carry a prefix.
    'Logs.StartQuery': { command: LogsStartQueryCommand, answer: (acct, input: LogsStartQueryInput) => startQuery(acct, input.queryString) },
    'Logs.GetQueryResults': {
      command: LogsGetQueryResultsCommand,
      answer: (acct, input: LogsGetQueryResultsInput) => {
        const o = acct.options.cloudTrail ?? {};
        const q = pollQuery(acct, input.queryId);
        if (q.polls <= (o.pollsUntilFinished ?? 1)) return { result: { status: q.polls === 1 ? 'Scheduled' : 'Running', results: [] }, latency: acct.lat.other };
        return { result: { status: 'Complete', results: (o.rows ?? []).map((r) => columns(r).map(([field, value]) => ({ field, value }))) }, latency: acct.lat.other };
      },
    },
  },
};
