/**
 * The key that signs IMDSv2 enforcement records (lambda/engine/imdsv2-record.ts): a Secrets Manager
 * secret the stack generates, readable only by the check and remediate functions. Read on first use
 * only (a check with no enforcement tag in the fleet never reads it), then kept in memory; a failed
 * read is not cached, so the next run tries again.
 */
import { secretKey, type SecretContinuationKeyOptions } from './continuation-key';

/** Where the record key is: the secret's ARN (or name); empty: no key (nothing is signed or verified). */
export type SecretRecordKeyOptions = SecretContinuationKeyOptions;

/** Returns a function that resolves the record key, read once and cached. Rejects when unusable. */
export function secretRecordKey(options: SecretRecordKeyOptions): () => Promise<Uint8Array> {
  return secretKey({ label: 'IMDSv2 record key', envName: 'TSG_IMDSV2_RECORD_KEY_SECRET' }, options);
}
