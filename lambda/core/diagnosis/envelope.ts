/**
 * The compressed report envelope: one line the collectors print instead of the plain report when the
 * guest can compress, so that every real report fits ListCommandInvocations' 2,500-character `Details`
 * (docs/guest-scripts.md, "Report envelope").
 *
 * ```
 * TSG-REPORT-GZ1 <bytes> <sha256-16> <base64> TSG-END
 * ```
 * `<bytes>`: the plain report's size in bytes; `<sha256-16>`: the first 16 lower-case hex digits of
 * its SHA-256; `<base64>`: the plain report, gzip-compressed, base64-encoded on one line. The line
 * starts with the report magic and ends with the end marker, so the Run Command adapter's cut rule
 * (an output holding `TSG-REPORT` without `TSG-END`, or at the Details limit, is fetched again with
 * GetCommandInvocation) treats a cut envelope exactly as a cut plain report. Base64 holds no `-`,
 * so the end marker cannot occur inside the payload.
 *
 * Pure: decompression and hashing are the caller's {@link ReportCodec} (node:zlib / node:crypto in
 * lambda/engine/report-codec.ts), so this module does no I/O and never throws. The guest is
 * untrusted: the declared size is capped before anything is inflated, and the codec inflates at most
 * the declared size (a gzip bomb stops there).
 */
import { MAX_REPORT_CHARS } from './report';

export const ENVELOPE_MAGIC = 'TSG-REPORT-GZ1';

/** What opening an envelope needs from outside the pure core. */
export interface ReportCodec {
  /**
   * Base64-decodes and gunzips `payload`, producing at most `maxBytes` bytes. `too-large` when the
   * output would pass `maxBytes`; `corrupt` when it is not valid base64 + gzip. Never throws.
   */
  gunzipBase64(payload: string, maxBytes: number): { readonly ok: true; readonly bytes: Uint8Array } | { readonly ok: false; readonly reason: 'too-large' | 'corrupt'; readonly detail?: string };
  /** SHA-256 of `bytes`, lower-case hex. */
  sha256Hex(bytes: Uint8Array): string;
}

/** The outcome of {@link openEnvelope}. */
export type OpenedReport =
  /** Not an envelope: the text is read as a plain report. */
  | { readonly kind: 'plain'; readonly text: string }
  /** An envelope, checked and inflated: `text` is the plain report it carried. */
  | { readonly kind: 'opened'; readonly text: string; readonly encodedChars: number }
  /** An envelope cut before its end marker (Details at its limit, a failed refetch). */
  | { readonly kind: 'truncated'; readonly message: string }
  /** An envelope that is not one this reader accepts (malformed, wrong size or checksum, a bomb). */
  | { readonly kind: 'invalid'; readonly message: string };

/** As many leading lines as the plain parser tolerates before the magic line (banners). */
const MAX_LEADING_LINES = 20;
const FULL_RE = /^TSG-REPORT-GZ1 (\d{1,6}) ([0-9a-f]{16}) ([A-Za-z0-9+/]+={0,2}) TSG-END$/;
/** Every prefix of a well-formed envelope line (without its end marker) matches this. */
const PREFIX_RE = /^TSG-REPORT-GZ1(?: (?:\d{0,6}(?: (?:[0-9a-f]{0,16}(?: (?:[A-Za-z0-9+/]*={0,2}(?: (?:T(?:S(?:G(?:-(?:E(?:N)?)?)?)?)?)?)?)?)?)?)?)?)?$/;

const PREFIX = 'the compressed report (TSG-REPORT-GZ1)';

function invalid(why: string): OpenedReport {
  return { kind: 'invalid', message: `${PREFIX} ${why}: nothing in it is judged` };
}

/**
 * Finds and opens an envelope. A text with no envelope line is `plain` (old documents, hosts without
 * gzip print the plain report). Never throws.
 * @param codec the decoder; without one an envelope is `invalid` (this reader cannot open it)
 */
export function openEnvelope(text: string, codec?: ReportCodec): OpenedReport {
  if (typeof text !== 'string') return { kind: 'plain', text };
  // Long texts are refused by the plain parser's size cap before any line is looked at.
  if (text.length > MAX_REPORT_CHARS || !text.includes('TSG-REPORT-')) return { kind: 'plain', text };
  const lines = text.replace(/^\uFEFF/, '').replace(/\r\n?/g, '\n').split('\n', MAX_LEADING_LINES + 1);
  // The first line naming the magic decides: a plain report's `TSG-REPORT v1` is read as before,
  // whatever its sections hold further down.
  const line = lines.map((l) => l.trim()).find((l) => l.startsWith('TSG-REPORT'));
  if (line === undefined || !line.startsWith('TSG-REPORT-')) return { kind: 'plain', text };
  if (!line.startsWith(`${ENVELOPE_MAGIC} `) && line !== ENVELOPE_MAGIC) {
    return ENVELOPE_MAGIC.startsWith(line) ? { kind: 'truncated', message: `${PREFIX} was cut inside its marker` } : invalid(`is of a kind this reader does not know (${quote(line)})`);
  }
  const m = FULL_RE.exec(line);
  if (!m) {
    if (PREFIX_RE.test(line)) return { kind: 'truncated', message: `${PREFIX} has no TSG-END: it was cut after ${line.length} characters` };
    return invalid('is malformed (expected "TSG-REPORT-GZ1 <bytes> <sha256-16> <base64> TSG-END")');
  }
  const declared = Number(m[1]);
  const digest = m[2]!;
  const payload = m[3]!;
  if (declared > MAX_REPORT_CHARS) return invalid(`declares ${declared} bytes, over the ${MAX_REPORT_CHARS}-byte cap`);
  if (payload.length % 4 !== 0) return invalid(`has ${payload.length} base64 characters, not a multiple of 4`);
  if (codec === undefined) return invalid('cannot be opened by this reader (no decoder)');
  let out: ReturnType<ReportCodec['gunzipBase64']>;
  try {
    out = codec.gunzipBase64(payload, declared);
  } catch (e) {
    out = { ok: false, reason: 'corrupt', detail: e instanceof Error ? e.message : String(e) };
  }
  if (!out.ok) {
    return out.reason === 'too-large'
      ? invalid(`inflates past its declared ${declared} bytes (a corrupt payload or a decompression bomb)`)
      : invalid(`does not inflate${out.detail ? ` (${out.detail.slice(0, 120)})` : ''}`);
  }
  if (out.bytes.length !== declared) return invalid(`declares ${declared} bytes and holds ${out.bytes.length}`);
  let sum: string;
  try {
    sum = codec.sha256Hex(out.bytes);
  } catch {
    sum = '';
  }
  if (sum.slice(0, 16) !== digest) return invalid(`fails its checksum (declared ${digest}, computed ${sum.slice(0, 16) || 'none'})`);
  return { kind: 'opened', text: new TextDecoder('utf-8').decode(out.bytes), encodedChars: line.length };
}

function quote(s: string): string {
  return JSON.stringify(s.length > 40 ? `${s.slice(0, 40)}…` : s);
}
