/**
 * The compressed envelope the real collectors print (lambda/guest/collect-linux.sh: `gzip -9 | base64`,
 * collect-windows.ps1: .NET GZipStream), built here with node:zlib so the simulated guests print what
 * real ones do: `TSG-REPORT-GZ1 <bytes> <sha256-16> <base64> TSG-END` (lambda/core/diagnosis/envelope.ts).
 */
import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { ENVELOPE_MAGIC } from '../../lambda/core/diagnosis/envelope';
import { REPORT_END } from '../../lambda/core/diagnosis/report';

/** The envelope line (with its newline, as the collectors print it) carrying `plain`. */
export function reportEnvelope(plain: string): string {
  const bytes = Buffer.from(plain, 'utf8');
  const digest = createHash('sha256').update(bytes).digest('hex').slice(0, 16);
  return `${ENVELOPE_MAGIC} ${bytes.length} ${digest} ${gzipSync(bytes, { level: 9 }).toString('base64')} ${REPORT_END}\n`;
}
