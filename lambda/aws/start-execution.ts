/**
 * Starts one execution of one Step Functions state machine (`StartExecution`, AWS JSON 1.0), signed
 * with SigV4. The launch check starts the remediation run itself: no event on a bus that anyone
 * allowed `events:PutEvents` can write to, and IAM lets the launch role start this one machine only.
 *
 * Why not `@aws-sdk/client-sfn`: one call does not justify another SDK client in the bundle and the
 * lockfile; the signing is the SDK's own (`@smithy/signature-v4`), the transport is Node's `fetch`
 * with the same bounded wait as every other client (CLIENT_TIMEOUTS.requestMs), and throttles are
 * retried by `withRetry` like every other call.
 */
import { createHash, createHmac, type Hash, type Hmac } from 'node:crypto';
import { fromNodeProviderChain } from '@aws-sdk/credential-providers';
import { SignatureV4 } from '@smithy/signature-v4';
import type { AwsCredentialIdentity, Provider, SourceData } from '@smithy/types';
import { CLIENT_TIMEOUTS } from './clients';
import type { Clock } from './clock';
import { withRetry } from './retry';

/** Starts an execution of the one machine it was built for; resolves with the execution's ARN. */
export type StartExecution = (input: Record<string, unknown>, name?: string) => Promise<string>;

/** A failed StartExecution: `name` is the service's error type (e.g. `ExecutionLimitExceeded`, `ThrottlingException`). */
export class StartExecutionError extends Error {
  readonly $metadata: { readonly httpStatusCode: number };
  constructor(name: string, message: string, status: number) {
    super(`StartExecution failed (${status} ${name}): ${message}`);
    this.name = name;
    this.$metadata = { httpStatusCode: status };
  }
}

function bytes(d: SourceData): string | Uint8Array {
  if (typeof d === 'string') return d;
  return ArrayBuffer.isView(d) ? new Uint8Array(d.buffer, d.byteOffset, d.byteLength) : new Uint8Array(d);
}

/** The SDK's hash interface over node:crypto (SHA-256, or HMAC-SHA-256 with a key). */
class Sha256 {
  private readonly h: Hash | Hmac;
  constructor(secret?: SourceData) {
    this.h = secret === undefined ? createHash('sha256') : createHmac('sha256', bytes(secret));
  }
  update(data: SourceData): void {
    this.h.update(bytes(data));
  }
  digest(): Promise<Uint8Array> {
    return Promise.resolve(new Uint8Array(this.h.digest()));
  }
}

const ARN = /^arn:(aws[a-z-]*):states:([a-z0-9-]+):\d{12}:stateMachine:[A-Za-z0-9_-]{1,80}$/;
const DNS_SUFFIX: Record<string, string> = { aws: 'amazonaws.com', 'aws-us-gov': 'amazonaws.com', 'aws-cn': 'amazonaws.com.cn' };

/** Where StartExecution goes: the SDK's endpoint override variables first, else the regional endpoint of the ARN's partition. */
export function statesEndpoint(stateMachineArn: string, env: Record<string, string | undefined> = process.env): URL {
  const m = ARN.exec(stateMachineArn);
  if (!m) throw new Error(`not a state machine ARN: ${JSON.stringify(stateMachineArn).slice(0, 120)}`);
  const override = env['AWS_ENDPOINT_URL_SFN']?.trim() || env['AWS_ENDPOINT_URL']?.trim();
  if (override) return new URL(override);
  const suffix = DNS_SUFFIX[m[1]!];
  if (!suffix) throw new Error(`no Step Functions endpoint known for partition ${m[1]}: set AWS_ENDPOINT_URL_SFN`);
  return new URL(`https://states.${m[2]}.${suffix}/`);
}

/** Options of {@link createStartExecution}. */
export interface StartExecutionOptions {
  readonly stateMachineArn: string;
  readonly clock: Clock;
  /** @default - the SDK's default credential chain (the Lambda role's environment credentials) */
  readonly credentials?: AwsCredentialIdentity | Provider<AwsCredentialIdentity>;
  /** @default globalThis.fetch */
  readonly fetch?: typeof globalThis.fetch;
  /** @default process.env */
  readonly env?: Record<string, string | undefined>;
  /** Whole request + response of one attempt. @default CLIENT_TIMEOUTS.requestMs */
  readonly timeoutMs?: number;
}

/** Builds the StartExecution call for one state machine; the ARN is checked here (a bad one fails at first use, naming it). */
export function createStartExecution(options: StartExecutionOptions): StartExecution {
  const arn = options.stateMachineArn;
  const region = ARN.exec(arn)?.[2] ?? '';
  const doFetch = options.fetch ?? globalThis.fetch;
  const timeoutMs = options.timeoutMs ?? CLIENT_TIMEOUTS.requestMs;
  let signer: SignatureV4 | undefined;
  const signerOf = (): SignatureV4 =>
    (signer ??= new SignatureV4({ service: 'states', region, credentials: options.credentials ?? fromNodeProviderChain(), sha256: Sha256, uriEscapePath: true }));

  const once = async (body: string): Promise<string> => {
    const url = statesEndpoint(arn, options.env ?? process.env);
    const signed = await signerOf().sign({
      method: 'POST',
      protocol: url.protocol,
      hostname: url.hostname,
      ...(url.port ? { port: Number(url.port) } : {}),
      path: url.pathname || '/',
      query: {},
      headers: {
        host: url.host,
        'content-type': 'application/x-amz-json-1.0',
        'x-amz-target': 'AWSStepFunctions.StartExecution',
      },
      body,
    });
    const res = await doFetch(url, { method: 'POST', headers: signed.headers, body, signal: AbortSignal.timeout(timeoutMs) });
    const text = await res.text();
    let parsed: Record<string, unknown> = {};
    try {
      const v: unknown = JSON.parse(text);
      if (v && typeof v === 'object') parsed = v as Record<string, unknown>;
    } catch {
      // An unreadable answer is judged by its status below.
    }
    if (res.ok && typeof parsed.executionArn === 'string') return parsed.executionArn;
    const type = String(parsed.__type ?? parsed.code ?? (res.ok ? 'UnreadableResponse' : `Http${res.status}`)).replace(/^.*#/, '');
    throw new StartExecutionError(type, String(parsed.message ?? parsed.Message ?? text.slice(0, 200)), res.status);
  };

  return (input, name) => {
    const body = JSON.stringify({ stateMachineArn: arn, input: JSON.stringify(input), ...(name ? { name } : {}) });
    return withRetry(() => once(body), options.clock, { operation: 'StartExecution' });
  };
}
