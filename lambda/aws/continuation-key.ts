/**
 * The key that signs remediation continuations: a Secrets Manager secret the stack generates (only
 * the remediate function may read it), fetched once per Lambda container and kept in memory. A failed
 * read is not cached, so the next invocation tries again.
 */
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { createClient } from './client-factory';

/** A key shorter than this is not the generated one (64 characters): refuse to sign with it. */
export const MIN_KEY_CHARS = 32;

/** The key could not be read or is unusable: nothing is signed or verified without it. */
export class ContinuationKeyError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ContinuationKeyError';
  }
}

export interface SecretContinuationKeyOptions {
  /** ARN (or name) of the secret. */
  readonly secretId: string;
  /** @default - one SecretsManagerClient from `createClient` (adaptive retries, bounded waits), created on first use */
  readonly client?: Pick<SecretsManagerClient, 'send'>;
}

let defaultClient: SecretsManagerClient | undefined;
function client(): SecretsManagerClient {
  // The same bounded waits and endpoint-naming timeout errors as every other client.
  defaultClient ??= createClient(SecretsManagerClient, 'secretsmanager');
  return defaultClient;
}

/** Which key a reader reads: named in its errors. */
export interface SecretKeyPurpose {
  /** What the key is, in messages ("continuation key"). */
  readonly label: string;
  /** The environment variable that names the secret, in the "not configured" message. */
  readonly envName: string;
}

/**
 * Returns a function that resolves a generated key (UTF-8 bytes of the secret string): read on first
 * use, then kept in memory; a failed read is not cached, so the next call tries again. Every failure
 * is a {@link ContinuationKeyError} naming the key: nothing is signed or verified without it.
 */
export function secretKey(purpose: SecretKeyPurpose, options: SecretContinuationKeyOptions): () => Promise<Uint8Array> {
  let cached: Promise<Uint8Array> | undefined;
  const read = async (): Promise<Uint8Array> => {
    if (options.secretId.trim() === '') throw new ContinuationKeyError(`no ${purpose.label} secret is configured (${purpose.envName})`);
    let value: string | undefined;
    try {
      const out = await (options.client ?? client()).send(new GetSecretValueCommand({ SecretId: options.secretId }));
      value = out.SecretString;
    } catch (err) {
      const e = err as { name?: string; message?: string };
      throw new ContinuationKeyError(`the ${purpose.label} secret could not be read: ${e?.name ?? 'Error'}: ${e?.message ?? String(err)}`, { cause: err });
    }
    if (typeof value !== 'string' || value.length < MIN_KEY_CHARS) {
      throw new ContinuationKeyError(`the ${purpose.label} secret holds no usable key (a string of at least ${MIN_KEY_CHARS} characters)`);
    }
    return Buffer.from(value, 'utf8');
  };
  return () => {
    cached ??= read().catch((err: unknown) => {
      cached = undefined;
      throw err;
    });
    return cached;
  };
}

/** The key that signs remediation continuations. */
export function secretContinuationKey(options: SecretContinuationKeyOptions): () => Promise<Uint8Array> {
  return secretKey({ label: 'continuation key', envName: 'TSG_CONTINUATION_KEY_SECRET' }, options);
}
