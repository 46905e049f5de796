/**
 * The Lambda's {@link ReportCodec}: node:zlib and node:crypto, both CPU-only (no I/O), kept out of
 * lambda/core so the core stays free of Node modules. `maxOutputLength` bounds what a gzip bomb from
 * a compromised guest can make the function allocate: at most the envelope's declared size, itself
 * capped at 65,536 bytes by the core.
 */
import { createHash } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import type { ReportCodec } from '../core/diagnosis/envelope';

export const nodeReportCodec: ReportCodec = {
  gunzipBase64(payload, maxBytes) {
    try {
      // zlib refuses a maxOutputLength below 1; an envelope declaring 0 bytes inflates to nothing or fails.
      const bytes = gunzipSync(Buffer.from(payload, 'base64'), { maxOutputLength: Math.max(1, maxBytes) });
      return { ok: true, bytes };
    } catch (e) {
      const code = (e as { code?: unknown }).code;
      if (code === 'ERR_BUFFER_TOO_LARGE') return { ok: false, reason: 'too-large' };
      return { ok: false, reason: 'corrupt', detail: e instanceof Error ? e.message : String(e) };
    }
  },
  sha256Hex(bytes) {
    return createHash('sha256').update(bytes).digest('hex');
  },
};
