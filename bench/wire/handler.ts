/**
 * A request handler for the REAL SDK clients that answers from the simulated account in each
 * service's wire format, so that serialization, signing and response parsing are in the
 * benchmark's CPU and memory figures (aws-sdk-client-mock replaces `send` and skips all of it):
 * EC2 query protocol in, XML out (model-driven, ec2-query.ts); SSM and EventBridge JSON 1.1; Step
 * Functions JSON 1.0 (bench/sim/sfn.ts); SNS
 * query protocol. Errors go out as the services send them, and the SDK's own deserializers turn them
 * back into its exception classes.
 */
import { ec2ErrorXml, ec2ResponseXml, parseEc2Request } from './ec2-query';

/** What answers an action (SimAccount.answer). */
export interface WireBackend {
  answer(action: string, input: unknown): Promise<unknown>;
}

interface HttpRequestLike {
  readonly hostname: string;
  readonly headers: Record<string, string>;
  readonly body?: unknown;
}

interface HttpResponseLike {
  readonly statusCode: number;
  readonly headers: Record<string, string>;
  readonly body: Uint8Array;
}

/** Bytes on the wire, per direction (for the figures). */
export interface WireStats {
  requestBytes: number;
  responseBytes: number;
  requests: number;
}

const text = (body: unknown): string => {
  if (body === undefined || body === null) return '';
  if (typeof body === 'string') return body;
  // A view on the bytes, not Buffer.from(body): the SDK's JSON body is a Uint8Array whose valueOf warns.
  const u = body as Uint8Array;
  return Buffer.from(u.buffer, u.byteOffset, u.byteLength).toString('utf8');
};

/** JSON 1.1: timestamps as epoch seconds. */
const jsonBody = (v: unknown): string =>
  JSON.stringify(v, function (this: Record<string, unknown>, key, value) {
    const raw = this[key];
    return raw instanceof Date ? raw.getTime() / 1000 : value;
  });

function errorParts(e: unknown): { code: string; message: string; status: number } {
  const err = e as { name?: string; message?: string; $metadata?: { httpStatusCode?: number } };
  return { code: err.name ?? 'InternalFailure', message: err.message ?? String(e), status: err.$metadata?.httpStatusCode ?? 400 };
}

/** The SDK `requestHandler` that serves every client from one simulated account. */
export class SimWireHandler {
  readonly stats: WireStats = { requestBytes: 0, responseBytes: 0, requests: 0 };
  private seq = 0;

  constructor(private readonly backend: WireBackend) {}

  async handle(request: HttpRequestLike): Promise<{ response: HttpResponseLike }> {
    const body = text(request.body);
    this.stats.requests++;
    this.stats.requestBytes += Buffer.byteLength(body);
    const service = request.hostname.split('.')[0];
    const requestId = `sim-${++this.seq}`;
    let response: HttpResponseLike;
    if (service === 'ec2') response = await this.ec2(body, requestId);
    else if (service === 'ssm' || service === 'events') response = await this.json(request.headers, body, requestId);
    else if (service === 'states') response = await this.json(request.headers, body, requestId, 'application/x-amz-json-1.0');
    else if (service === 'sns') response = await this.sns(body, requestId);
    else throw new Error(`the wire adapter does not serve ${request.hostname}`);
    this.stats.responseBytes += response.body.byteLength;
    return { response };
  }

  private async ec2(body: string, requestId: string): Promise<HttpResponseLike> {
    const { action, input } = parseEc2Request(body);
    try {
      const out = await this.backend.answer(action, input);
      return respond(200, 'text/xml;charset=UTF-8', ec2ResponseXml(action, out, requestId));
    } catch (e) {
      const { code, message, status } = errorParts(e);
      return respond(status, 'text/xml;charset=UTF-8', ec2ErrorXml(code, message, requestId));
    }
  }

  private async json(headers: Record<string, string>, body: string, requestId: string, contentType = 'application/x-amz-json-1.1'): Promise<HttpResponseLike> {
    const target = headers['x-amz-target'] ?? headers['X-Amz-Target'] ?? '';
    const action = target.slice(target.indexOf('.') + 1);
    try {
      const out = await this.backend.answer(action, body ? JSON.parse(body) : {});
      return respond(200, contentType, jsonBody(out), requestId);
    } catch (e) {
      const { code, message, status } = errorParts(e);
      return respond(status, contentType, JSON.stringify({ __type: code, message }), requestId, code);
    }
  }

  private async sns(body: string, requestId: string): Promise<HttpResponseLike> {
    const form = new URLSearchParams(body);
    const action = form.get('Action') ?? '';
    if (action !== 'Publish') throw new Error(`the wire adapter does not serve sns:${action}`);
    const input = { TopicArn: form.get('TopicArn') ?? undefined, Subject: form.get('Subject') ?? undefined, Message: form.get('Message') ?? undefined };
    try {
      const out = (await this.backend.answer(action, input)) as { MessageId: string };
      return respond(200, 'text/xml', `<PublishResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><PublishResult><MessageId>${out.MessageId}</MessageId></PublishResult><ResponseMetadata><RequestId>${requestId}</RequestId></ResponseMetadata></PublishResponse>`);
    } catch (e) {
      const { code, message, status } = errorParts(e);
      return respond(status, 'text/xml', `<ErrorResponse><Error><Type>Sender</Type><Code>${code}</Code><Message>${message}</Message></Error><RequestId>${requestId}</RequestId></ErrorResponse>`);
    }
  }

  /** The SDK asks its handler for these (NodeHttpHandler's interface). */
  updateHttpClientConfig(): void {}
  httpHandlerConfigs(): Record<string, never> {
    return {};
  }
  destroy(): void {}
}

function respond(status: number, contentType: string, body: string, requestId?: string, errorType?: string): HttpResponseLike {
  const bytes = Buffer.from(body, 'utf8');
  const headers: Record<string, string> = { 'content-type': contentType, 'content-length': String(bytes.byteLength) };
  if (requestId) headers['x-amzn-requestid'] = requestId;
  if (errorType) headers['x-amzn-errortype'] = errorType;
  return { statusCode: status, headers, body: new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength) };
}
