/**
 * The key that signs IMDSv2 enforcement records (lambda/engine/imdsv2-record.ts): a Secrets Manager
 * secret the stack generates, readable only by the check and remediate functions. Read on first use
 * only (a check with no enforcement tag in the fleet never reads it), then kept in memory; a failed
 * read is not cached, so the next run tries again.
 */
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { createClient } from './clients';
import { MIN_KEY_CHARS } from './continuation-key';

export interface SecretRecordKeyOptions {
  /** ARN (or name) of the secret; empty: no key (nothing is signed or verified). */
  readonly secretId: string;
  /** @default - one SecretsManagerClient from `createClient`, created on first use */
  readonly client?: Pick<SecretsManagerClient, 'send'>;
}

/** Returns a function that resolves the key (UTF-8 bytes of the secret string), read once and cached. Throws when unusable. */
export function secretRecordKey(options: SecretRecordKeyOptions): () => Promise<Uint8Array> {
  let cached: Promise<Uint8Array> | undefined;
  let client = options.client;
  const read = async (): Promise<Uint8Array> => {
    if (options.secretId.trim() === '') throw new Error('no IMDSv2 record key secret is configured (TSG_IMDSV2_RECORD_KEY_SECRET)');
    client ??= createClient(SecretsManagerClient, 'secretsmanager');
    const out = await client.send(new GetSecretValueCommand({ SecretId: options.secretId }));
    const value = out.SecretString;
    if (typeof value !== 'string' || value.length < MIN_KEY_CHARS) throw new Error(`the IMDSv2 record key secret holds no usable key (a string of at least ${MIN_KEY_CHARS} characters)`);
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
