/**
 * The enforcement record: the value of `timesync-guard:imdsv2-enforced` that this deployment writes
 * when it switches an instance to IMDSv2-only, `<ISO time>/<MAC>`, the MAC an HMAC-SHA256 of the
 * instance id and that time under the stack's record key (a secret generated at deploy, readable
 * only by the guard's two functions). Anyone allowed ec2:CreateTags can put the tag on an instance;
 * without the key they cannot make a value that verifies, and a value copied from another instance
 * names that instance. The watch (alert, and the opt-in undo) acts only on records that verify.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { ENFORCED_TAG_MAC_SEPARATOR, type EnforcedTag } from '../core/imdsv2/enforcement';

/** Domain separation: what is signed, so a MAC made for anything else never verifies here. */
const MAC_CONTEXT = 'timesync-guard imdsv2-enforced v1\n';

function mac(key: Uint8Array, instanceId: string, iso: string): Buffer {
  return createHmac('sha256', key).update(MAC_CONTEXT).update(instanceId).update('\n').update(iso).digest();
}

/** The signed record for `instanceId`, enforced at `at` (ms). */
export function enforcementRecord(key: Uint8Array, instanceId: string, at: number): string {
  const iso = new Date(at).toISOString();
  return `${iso}${ENFORCED_TAG_MAC_SEPARATOR}${mac(key, instanceId, iso).toString('base64url')}`;
}

/** True only for an `enforced` tag whose MAC verifies for this instance under `key`. */
export function verifyEnforcementRecord(key: Uint8Array, instanceId: string, tag: EnforcedTag | undefined): boolean {
  if (tag?.kind !== 'enforced' || !tag.signed) return false;
  const expected = mac(key, instanceId, tag.signed.iso);
  const given = Buffer.from(tag.signed.mac, 'base64url');
  return given.length === expected.length && timingSafeEqual(given, expected) && tag.signed.mac === expected.toString('base64url');
}
