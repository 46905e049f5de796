/**
 * The collectors print their report sealed in the compressed envelope (lambda/core/diagnosis/envelope.ts).
 * The guest tests read the plain report inside, after checking the seal the way the Lambda does:
 * an envelope line within the Details budget, opened by the real codec, and judged exactly as the
 * plain report it carries (the round trip).
 */
import { diagnose } from '../../lambda/core/diagnosis/diagnose';
import { openEnvelope } from '../../lambda/core/diagnosis/envelope';
import type { Thresholds } from '../../lambda/core/types';
import { nodeReportCodec } from '../../lambda/engine/report-codec';

/** The most characters a collector prints as its envelope (both collectors' ENVELOPE_MAX). */
export const ENVELOPE_MAX_CHARS = 2400;

const ENVELOPE_LINE = /^TSG-REPORT-GZ1 \d{1,6} [0-9a-f]{16} [A-Za-z0-9+/]+={0,2} TSG-END\r?\n$/;

/** The plain report inside a collector's printed envelope (fails the test when it is not a good one). */
export function unseal(printed: string, thresholds?: Thresholds): string {
  expect(printed).toMatch(ENVELOPE_LINE);
  expect(printed.trimEnd().length).toBeLessThanOrEqual(ENVELOPE_MAX_CHARS);
  const opened = openEnvelope(printed, nodeReportCodec);
  if (opened.kind !== 'opened') throw new Error(`the collector's envelope did not open: ${JSON.stringify(opened)}`);
  expect(diagnose(printed, thresholds, nodeReportCodec)).toEqual(diagnose(opened.text, thresholds));
  return opened.text;
}
