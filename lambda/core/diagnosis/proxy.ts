/** System-wide proxy settings that would send IMDS (169.254.169.254) requests to a proxy. */
import { finding } from './findings';
import { type ParsedReport, section } from './report';
import type { Finding } from '../types';

const IMDS = '169.254.169.254';

/** `scheme://user:pass@host` → `scheme://***@host`: everything before the last `@` or `%40` of a word goes. */
function redactUserinfo(word: string): string {
  const pct = word.toLowerCase().lastIndexOf('%40');
  const end = Math.max(word.lastIndexOf('@'), pct < 0 ? -1 : pct + 2);
  if (end < 0) return word;
  const scheme = /^[A-Za-z][A-Za-z0-9+.-]*:\/\//.exec(word)?.[0] ?? '';
  return `${scheme.length <= end ? scheme : ''}***@${word.slice(end + 1)}`;
}

/**
 * Guest text that the verdict quotes (a finding's message, a source name) with anything that looks
 * like a credential removed: defence in depth, since guest output is untrusted and an older or
 * altered collector may print what ours no longer does. Word by word (linear): a URL's user info,
 * the value of a `*pass*`/`*secret*`/`*token*`/`*auth*`/`*user*`/`*key*`/`*cred*` assignment, and the
 * word after `Basic`/`Bearer`/`Digest`/`NTLM`/`Negotiate` become `***`.
 */
export function redactSecrets(text: string): string {
  let hideNext = false;
  return text
    .split(/(\s+)/)
    .map((w) => {
      if (w === '' || /^\s/.test(w)) return w;
      if (hideNext) {
        hideNext = false;
        return '***';
      }
      if (/^(basic|bearer|digest|ntlm|negotiate)$/i.test(w)) {
        hideNext = true;
        return w;
      }
      const eq = w.indexOf('=');
      if (eq > 0 && /pass|secret|token|auth|user|key|cred/i.test(w.slice(0, eq))) return `${w.slice(0, eq)}=***`;
      return redactUserinfo(w);
    })
    .join('');
}

/** True when one NO_PROXY entry exempts the IMDS address (exact IP, `*`, or a CIDR/suffix covering it). */
export function noProxyCoversImds(noProxy: string): boolean {
  return noProxy
    .split(/[,\s]+/)
    .map((e) => e.trim().replace(/^["']|["']$/g, ''))
    .filter((e) => e !== '')
    .some((e) => {
      if (e === '*' || e === IMDS) return true;
      const cidr = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(e);
      if (cidr) {
        const bits = Number(cidr[5]);
        if (bits > 32) return false;
        const toInt = (a: number[]) => a.reduce((acc, x) => acc * 256 + x, 0);
        const net = toInt(cidr.slice(1, 5).map(Number));
        const ip = toInt(IMDS.split('.').map(Number));
        const size = 2 ** (32 - bits);
        return Math.floor(net / size) === Math.floor(ip / size);
      }
      // Prefix forms ("169.254.") are honoured by few clients (curl and the AWS SDKs do not): not a cover.
      return false;
    });
}

/**
 * Reads the `[proxy]` section (`<file>:<line>` as grep prints it, or `env:NAME=value` on Windows)
 * and flags an HTTP(S) proxy without a NO_PROXY that covers 169.254.169.254.
 */
export function proxyFindings(p: ParsedReport): { findings: Finding[]; proxy: boolean | null } {
  const s = section(p, 'proxy');
  if (s === undefined) return { findings: [], proxy: p.header['collector'] !== undefined ? false : null };
  const proxies: string[] = [];
  const noProxies: string[] = [];
  for (const raw of s.lines) {
    // Drop the "file:" prefix grep adds, and shell syntax around the assignment.
    const line = raw.replace(/^[^:=\s]*:/, '').replace(/^\s*(export\s+)?/, '');
    const de = /DefaultEnvironment=(.*)$/.exec(line);
    const assignments = de ? de[1]!.match(/"[^"]*"|\S+/g)?.map((a) => a.replace(/^"|"$/g, '')) ?? [] : [line];
    for (const a of assignments) {
      // Exact names only (any case): `https_proxy_password=`, `HTTP_PROXY_AUTH=` and the like are
      // never read, and no value is ever copied into the verdict (only the names and a yes/no).
      const t = a.trim();
      const m = /^(https?_proxy|no_proxy)\s*=/i.exec(t);
      if (!m) continue;
      const value = t.slice(m[0].length).trim().replace(/^["']|["']$/g, '');
      if (value === '') continue;
      if (/^no_proxy$/i.test(m[1]!)) noProxies.push(value);
      else proxies.push(`${m[1]}`);
    }
  }
  if (proxies.length === 0) return { findings: [], proxy: false };
  if (noProxies.some(noProxyCoversImds)) return { findings: [], proxy: true };
  return {
    findings: [
      finding(
        'proxy-without-no-proxy',
        `${[...new Set(proxies)].join(', ')} set system-wide and NO_PROXY does not cover ${IMDS}: instance-metadata requests would go to the proxy`,
      ),
    ],
    proxy: true,
  };
}
