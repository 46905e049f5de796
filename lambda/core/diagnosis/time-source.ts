/** Recognises the Amazon Time Sync Service endpoints among source addresses. */
import type { TimeSource } from '../types';

export const AMAZON_IPV4 = '169.254.169.123';
export const AMAZON_IPV6 = 'fd00:ec2::123';
/** chrony's reference ID of the PHC refclock: ASCII "PHC0". */
export const PHC_REFID = '50484330';

/** Expands an IPv6 address to 8 lower-case groups without leading zeros; null when it is not one. */
export function normalizeIpv6(addr: string): string | null {
  const t = addr.trim().toLowerCase().replace(/^\[|\]$/g, '');
  // The zone index (`%eth0`) cut by index: an unanchored `%.*$` is quadratic on many `%`.
  const zone = t.indexOf('%');
  const a = zone < 0 ? t : t.slice(0, zone);
  if (!/^[0-9a-f:]+$/.test(a) || !a.includes(':')) return null;
  const halves = a.split('::');
  if (halves.length > 2) return null;
  const head = halves[0] === '' ? [] : halves[0]!.split(':');
  const tail = halves.length === 2 ? (halves[1] === '' ? [] : halves[1]!.split(':')) : [];
  const missing = 8 - head.length - tail.length;
  if ((halves.length === 1 && missing !== 0) || missing < 0) return null;
  const groups = [...head, ...Array(halves.length === 2 ? missing : 0).fill('0'), ...tail];
  if (groups.length !== 8 || groups.some((g) => !/^[0-9a-f]{1,4}$/.test(g))) return null;
  return groups.map((g) => parseInt(g, 16).toString(16)).join(':');
}

const AMAZON_IPV6_NORMAL = normalizeIpv6(AMAZON_IPV6);

/**
 * Classifies a selected source.
 * @param address IP address or refclock name as the daemon prints it
 * @param refclock true when the daemon marks it as a reference clock (chrony mode `#`)
 */
export function classifySource(address: string, refclock = false, refId?: string): TimeSource {
  const a = address.trim();
  if (refclock) return /^PHC\d*$/i.test(a) || refId?.toUpperCase() === PHC_REFID ? 'amazon-phc' : 'other';
  if (a === AMAZON_IPV4) return 'amazon-ipv4';
  if (a.includes(':') && normalizeIpv6(a) === AMAZON_IPV6_NORMAL) return 'amazon-ipv6';
  if (a === '') return 'unknown';
  return 'other';
}
