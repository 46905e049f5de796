/**
 * The organization hub's launch queue: EC2 `running` events forwarded by each member account's rule
 * to the hub's launch bus (the bus admits only the organization), and the hub's own retries, which
 * carry the member account and region around the single-account retry message. Routes each message
 * to its account-region; the single-account parser (./launch.ts) then judges the message itself.
 * Pure: no SDK, no I/O, never throws.
 */
import { EC2_STATE_CHANGE, messageObject } from './launch';

/** `kind` of a hub retry: `{ kind, accountId, region, message }` around the single-account retry message. */
export const HUB_LAUNCH_RETRY_KIND = 'timesync-guard-org-launch-retry';

const ACCOUNT = /^\d{12}$/;
const REGION = /^[a-z]{2}(-[a-z]+)+-\d$/;

export type RoutedLaunchMessage = { readonly ok: true; readonly accountId: string; readonly region: string; readonly body: string } | { readonly ok: false; readonly reason: string };

/** The account-region a queue message belongs to, and the body the single-account launch handler reads. */
export function routeLaunchMessage(body: string): RoutedLaunchMessage {
  const parsed = messageObject(body);
  if (!parsed.ok) return parsed;
  const o = parsed.value;
  if (o.kind === HUB_LAUNCH_RETRY_KIND) {
    if (typeof o.accountId !== 'string' || !ACCOUNT.test(o.accountId) || typeof o.region !== 'string' || !REGION.test(o.region)) return { ok: false, reason: 'retry message without a valid account and region' };
    if (!o.message || typeof o.message !== 'object') return { ok: false, reason: 'retry message without its inner message' };
    return { ok: true, accountId: o.accountId, region: o.region, body: JSON.stringify(o.message) };
  }
  // EventBridge sets `account` and `region` of a forwarded event to the member account's own (PutEvents cannot send an `aws.*` source).
  if (o.source !== 'aws.ec2' || o['detail-type'] !== EC2_STATE_CHANGE) return { ok: false, reason: 'not an EC2 instance state-change event' };
  if (typeof o.account !== 'string' || !ACCOUNT.test(o.account) || typeof o.region !== 'string' || !REGION.test(o.region)) return { ok: false, reason: 'event without a valid account and region' };
  return { ok: true, accountId: o.account, region: o.region, body };
}

/** Whether the hub covers an account: one of its explicit accounts, or directly under one of its OUs (as hub-run lists them). */
export function coversAccount(accountId: string, parentIds: readonly string[] | undefined, hub: { readonly accounts: readonly string[]; readonly organizationalUnits: readonly string[] }): boolean {
  if (hub.accounts.includes(accountId)) return true;
  return (parentIds ?? []).some((p) => hub.organizationalUnits.includes(p));
}
