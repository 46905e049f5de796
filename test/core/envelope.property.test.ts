/**
 * The compressed report envelope is guest output: untrusted. Whatever the text, opening it never
 * throws, never inflates past its declared size (itself capped), and never yields a report that was
 * not the one the guest sealed; a cut envelope reads as cut (the refetch path), not as garbage.
 */
import fc from 'fast-check';
import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { diagnose, parseReportStrict, ReportFormatError } from '../../lambda/core/diagnosis/diagnose';
import { ENVELOPE_MAGIC, openEnvelope, type ReportCodec } from '../../lambda/core/diagnosis/envelope';
import { MAX_REPORT_CHARS } from '../../lambda/core/diagnosis/report';
import { isCut } from '../../lambda/aws/run-command-invocation';
import { nodeReportCodec } from '../../lambda/engine/report-codec';
import { reportEnvelope } from '../../bench/sim/report-envelope';
import { AMAZON_SOURCES_CSV, AMAZON_TRACKING_CSV, buildReport } from './report-builder';

const PLAIN = buildReport({ sections: [['chrony-tracking', [AMAZON_TRACKING_CSV]], ['chrony-sources', AMAZON_SOURCES_CSV]] });
const SEALED = reportEnvelope(PLAIN);
const codes = (text: string) => diagnose(text, undefined, nodeReportCodec).findings.map((f) => f.code);

/** An envelope line with the given parts (each defaulting to a true one for `body`). */
function envelope(body: Buffer, parts: { bytes?: number; digest?: string; payload?: string } = {}): string {
  const digest = parts.digest ?? createHash('sha256').update(body).digest('hex').slice(0, 16);
  return `${ENVELOPE_MAGIC} ${parts.bytes ?? body.length} ${digest} ${parts.payload ?? gzipSync(body).toString('base64')} TSG-END\n`;
}

describe('report envelope', () => {
  it('reads to the same verdict as the plain report it carries', () => {
    expect(SEALED.length).toBeLessThan(PLAIN.length);
    const sealed = diagnose(SEALED, undefined, nodeReportCodec);
    expect(sealed.status).toBe('ok');
    expect(sealed).toEqual(diagnose(PLAIN));
    expect(parseReportStrict(SEALED, nodeReportCodec)).toEqual(parseReportStrict(PLAIN));
  });

  it('is read behind banner lines, with CRLF and a BOM', () => {
    const text = `\uFEFFWarning: something the shell said\r\n${SEALED.replace('\n', '\r\n')}`;
    expect(diagnose(text, undefined, nodeReportCodec)).toEqual(diagnose(PLAIN));
  });

  it('still reads the plain report (old documents, hosts without gzip)', () => {
    expect(openEnvelope(PLAIN, nodeReportCodec)).toEqual({ kind: 'plain', text: PLAIN });
    expect(diagnose(PLAIN, undefined, nodeReportCodec).status).toBe('ok');
  });

  it('is unreadable, never ok, for a reader without a decoder', () => {
    const v = diagnose(SEALED);
    expect(v.status).toBe('unknown');
    expect(v.findings.map((f) => f.code)).toEqual(['report-unreadable']);
    expect(v.findings[0]!.message).toMatch(/no decoder/);
  });

  it('reads as cut at every length short of its end, and the adapter refetches every such prefix', () => {
    for (let n = 1; n < SEALED.trimEnd().length; n++) {
      const prefix = SEALED.slice(0, n);
      const v = diagnose(prefix, undefined, nodeReportCodec);
      expect(v.status).toBe('unknown');
      // Before the magic is whole ("TSG-REP") the text may read as not a report; from "TSG-REPORT" on it is cut.
      if (n >= 'TSG-REPORT'.length) expect([n, v.findings.map((f) => f.code)]).toEqual([n, ['report-truncated']]);
      // The Run Command adapter's rule (start marker present, end marker missing) sends it to GetCommandInvocation.
      if (n >= 'TSG-REPORT'.length) expect(isCut(prefix, 'TSG-END')).toBe(true);
    }
  });

  it('refuses a declared size that is not the real one, either way', () => {
    const body = Buffer.from(PLAIN);
    for (const bytes of [body.length - 1, body.length + 1, 0]) {
      expect(codes(envelope(body, { bytes }))).toEqual(['report-unreadable']);
    }
  });

  it('refuses a checksum that does not match', () => {
    const body = Buffer.from(PLAIN);
    const v = diagnose(envelope(body, { digest: '0123456789abcdef' }), undefined, nodeReportCodec);
    expect(v.findings.map((f) => f.code)).toEqual(['report-unreadable']);
    expect(v.findings[0]!.message).toMatch(/checksum/);
  });

  it('stops a decompression bomb at the declared size, and refuses a declared size over the cap', () => {
    const bomb = Buffer.alloc(50_000_000, 0x41);
    const payload = gzipSync(bomb, { level: 9 }).toString('base64');
    expect(payload.length).toBeLessThan(MAX_REPORT_CHARS);
    let produced = 0;
    const counting: ReportCodec = {
      gunzipBase64: (p, max) => {
        const r = nodeReportCodec.gunzipBase64(p, max);
        if (r.ok) produced = r.bytes.length;
        return r;
      },
      sha256Hex: nodeReportCodec.sha256Hex,
    };
    const t = Date.now();
    const v = diagnose(envelope(bomb, { bytes: 60_000, payload }), undefined, counting);
    expect(Date.now() - t).toBeLessThan(2_000);
    expect(produced).toBe(0);
    expect(v.status).toBe('unknown');
    expect(v.findings[0]!.message).toMatch(/inflates past its declared 60000 bytes/);
    const over = diagnose(envelope(bomb, { bytes: MAX_REPORT_CHARS + 1, payload }), undefined, counting);
    expect(over.findings[0]!.message).toMatch(/over the 65536-byte cap/);
  });

  it('refuses a payload that is not gzip, or not base64', () => {
    const body = Buffer.from(PLAIN);
    expect(codes(envelope(body, { payload: Buffer.from('not gzip at all!').toString('base64') }))).toEqual(['report-unreadable']);
    expect(codes(envelope(body, { payload: 'AAA' }))).toEqual(['report-unreadable']);
    expect(codes(`${ENVELOPE_MAGIC} 12 0123456789abcdef !!!! TSG-END\n`)).toEqual(['report-unreadable']);
    expect(codes('TSG-REPORT-ZSTD9 1 2 3 TSG-END\n')).toEqual(['report-unreadable']);
  });

  it('does not recurse: an envelope sealed inside an envelope is not a report', () => {
    expect(codes(reportEnvelope(SEALED))).toEqual(['report-unreadable']);
  });

  it('the strict reader refuses a bad envelope and reads a cut one as an incomplete report', () => {
    expect(() => parseReportStrict(envelope(Buffer.from(PLAIN), { digest: 'ffffffffffffffff' }), nodeReportCodec)).toThrow(ReportFormatError);
    expect(parseReportStrict(SEALED.slice(0, 200), nodeReportCodec)).toMatchObject({ complete: false, sections: [] });
  });

  it('never throws and never reads ok on random text, random payloads or a mangled envelope', () => {
    const mangle = fc.tuple(fc.nat(SEALED.length - 1), fc.string({ maxLength: 3 })).map(([i, s]) => SEALED.slice(0, i) + s + SEALED.slice(i + 1));
    const randomPayload = fc.uint8Array({ maxLength: 400 }).map((b) => envelope(Buffer.from(PLAIN), { payload: Buffer.from(b).toString('base64') || 'AAAA' }));
    const randomGzip = fc.uint8Array({ maxLength: 2000 }).map((b) => envelope(Buffer.from(b)));
    fc.assert(
      fc.property(fc.oneof(fc.string({ maxLength: 300 }).map((s) => `${ENVELOPE_MAGIC} ${s}`), mangle, randomPayload, randomGzip), (text) => {
        const v = diagnose(text, undefined, nodeReportCodec);
        // A mangled character may leave the envelope whole (e.g. its newline): then it reads exactly as the sealed report.
        if (v.status === 'ok') expect(v).toEqual(diagnose(PLAIN));
        else expect(v.findings.length).toBeGreaterThan(0);
      }),
      { numRuns: 1000 },
    );
  });
});
