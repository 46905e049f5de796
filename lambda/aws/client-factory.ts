/**
 * Building SDK clients (no client class is imported here, so a module loaded on first use can build
 * its client without pulling in any other; ./clients.ts adds the CLI's client set). SDK clients: one per service, built on first use and reused across invocations, each with
 * bounded waits. A handler builds only the clients it uses (`createClient(EC2Client, 'ec2')` in its
 * own wiring), so its bundle holds no other SDK client and its cold start constructs none.
 *
 * `retryMode: 'adaptive'` adds the SDK's client-side rate limiter for short bursts; sustained
 * throttling is absorbed above it by `retry.ts`. Region comes from the environment (AWS_REGION in
 * Lambda, the profile for the CLI); an endpoint override comes from the SDK's own `AWS_ENDPOINT_URL`
 * / `AWS_ENDPOINT_URL_<SERVICE>` variables.
 */
import type { EC2ClientConfig } from '@aws-sdk/client-ec2';

/**
 * How long one HTTP attempt may wait. An endpoint that accepts and never answers costs at most
 * `maxAttempts × (socketIdleMs + 3 s)` (the SDK's handler arms its idle timer 3 s after connecting)
 * plus sub-second backoff: ≈ 40 s, so the CLI gives up inside a minute and a Lambda long before its
 * timeout. The values are far above what a healthy regional endpoint needs (connect: tens of ms;
 * first byte of a 1,000-instance DescribeInstances page: ≈ 1–3 s), so a slow but working call is
 * not cut. A response body that keeps trickling is bounded only by the idle limit per gap.
 */
export const CLIENT_TIMEOUTS: ClientTimeouts = { connectionMs: 3_000, socketIdleMs: 10_000, requestMs: 30_000 };

/** Limits of one HTTP attempt, in milliseconds. */
export interface ClientTimeouts {
  /** TCP (+TLS) connection set-up. */
  readonly connectionMs: number;
  /** Longest silence on an open connection (no byte sent or received). */
  readonly socketIdleMs: number;
  /** Whole request + response of one attempt, even while bytes trickle in. */
  readonly requestMs: number;
}

/** SDK attempts per call (the first included) for a timeout, a 5xx or a throttle. */
export const CLIENT_MAX_ATTEMPTS = 3;

/** Options for a client built outside Lambda (the CLI) or with another transport (the benchmark). */
export interface ClientOptions {
  /** @default - the SDK's region chain (AWS_REGION, profile) */
  readonly region?: string;
  /** @default - the SDK's default credential chain */
  readonly credentials?: EC2ClientConfig['credentials'];
  /**
   * Transport; the benchmark passes one that answers from its simulated account.
   * @default - the SDK's Node.js HTTP handler with {@link CLIENT_TIMEOUTS}
   */
  readonly requestHandler?: EC2ClientConfig['requestHandler'];
  /** @default CLIENT_MAX_ATTEMPTS */
  readonly maxAttempts?: number;
  /** Overrides of single limits (tests shorten them). @default CLIENT_TIMEOUTS */
  readonly timeouts?: Partial<ClientTimeouts>;
}

/**
 * A call gave up because the service's endpoint did not answer in time (after the SDK's retries).
 * The message names the service and the endpoint so a wrong `AWS_ENDPOINT_URL`, a proxy or a
 * network path that swallows packets can be told from an AWS-side problem.
 */
export class EndpointTimeoutError extends Error {
  constructor(
    readonly service: string,
    readonly endpoint: string,
    options: { cause: unknown },
  ) {
    const why = options.cause instanceof Error ? options.cause.message.replace(/^@smithy\/node-http-handler - /, '') : String(options.cause);
    super(`${service} endpoint ${endpoint} did not answer in time (${why})`, options);
    this.name = 'EndpointTimeoutError';
  }
}

/** True for the SDK's timeout errors (connection, socket idle, whole request), also when wrapped. */
export function isTimeoutError(err: unknown, depth = 0): boolean {
  if (err === null || typeof err !== 'object' || depth > 5) return false;
  const e = err as { name?: unknown; code?: unknown; cause?: unknown };
  return e.name === 'TimeoutError' || e.code === 'ETIMEDOUT' || isTimeoutError(e.cause, depth + 1);
}

/** Any SDK v3 client (its middleware stack is typed per service; only `add` is used). */
interface ClientLike {
  readonly middlewareStack: { add(middleware: never, options: never): void };
}

type Middleware = (next: (args: unknown) => Promise<unknown>, context: Record<string, unknown>) => (args: unknown) => Promise<unknown>;
type MiddlewareStack = { add(middleware: Middleware, options: { step: 'initialize'; name: string; override?: boolean }): void };

/** Where the call went: the resolved endpoint (`endpointV2`, set by the SDK during the call), else the region. */
function endpointOf(context: Record<string, unknown>, service: string): string {
  const url = (context['endpointV2'] as { url?: URL } | undefined)?.url;
  if (url && typeof url.host === 'string') return `${url.protocol}//${url.host}`;
  return `${service} in ${process.env['AWS_REGION'] ?? 'the default region'}`;
}

/**
 * Builds one SDK client with bounded waits and adaptive retries, and names the endpoint when a
 * timeout ends the call. `service` is the short name used in errors (`ec2`, `ssm`, …).
 */
export function createClient<C extends ClientLike, Config extends object>(Client: new (...args: [Config]) => C, service: string, options: ClientOptions = {}): C {
  const t = { ...CLIENT_TIMEOUTS, ...options.timeouts };
  const config = {
    retryMode: 'adaptive' as const,
    maxAttempts: options.maxAttempts ?? CLIENT_MAX_ATTEMPTS,
    // The config-object form: the SDK builds its NodeHttpHandler from it (no extra dependency).
    requestHandler: options.requestHandler ?? {
      connectionTimeout: t.connectionMs,
      socketTimeout: t.socketIdleMs,
      requestTimeout: t.requestMs,
      throwOnRequestTimeout: true,
    },
    ...(options.region ? { region: options.region } : {}),
    ...(options.credentials ? { credentials: options.credentials } : {}),
  } as unknown as Config;
  const client = new Client(config);
  // Outermost step: runs after the retry strategy has given up, with the endpoint resolved in `context`.
  (client.middlewareStack as unknown as MiddlewareStack).add(
    (next, context) => async (args) => {
      try {
        return await next(args);
      } catch (err) {
        if (isTimeoutError(err) && !(err instanceof EndpointTimeoutError)) throw new EndpointTimeoutError(service, endpointOf(context, service), { cause: err });
        throw err;
      }
    },
    { step: 'initialize', name: 'timesyncGuardEndpointTimeout', override: true },
  );
  return client;
}

/** Memoizes a factory: the value is built on the first call, then reused (one client per container). */
export function lazy<T>(build: () => T): () => T {
  let value: T | undefined;
  let built = false;
  return () => {
    if (!built) {
      value = build();
      built = true;
    }
    return value as T;
  };
}

