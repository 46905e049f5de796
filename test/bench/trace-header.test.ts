/**
 * The benchmark captures what the Lambda's logger prints with the trace header Lambda sets (every
 * invocation has one), so the log bytes it prices include the X-Ray trace id wherever it ships.
 */
const saved = process.env['POWERTOOLS_LOG_LEVEL'];
let drive: typeof import('../../bench/drive');
let powertools: typeof import('../../lambda/aws/powertools');
beforeAll(async () => {
  process.env['POWERTOOLS_LOG_LEVEL'] = 'INFO';
  drive = await import('../../bench/drive');
  powertools = await import('../../lambda/aws/powertools');
});
afterAll(() => {
  if (saved === undefined) delete process.env['POWERTOOLS_LOG_LEVEL'];
  else process.env['POWERTOOLS_LOG_LEVEL'] = saved;
});

async function bytesOfOneRecord(header?: string): Promise<number> {
  const { Logger } = await import('@aws-lambda-powertools/logger');
  const logger = new Logger({ serviceName: 'timesync-guard', logLevel: 'INFO', logFormatter: new powertools.CompactLogFormatter() });
  const { captured } = await drive.captureStdout(async () => logger.info('instance', { instanceId: 'i-1' }), header);
  return captured.bytes;
}

describe('the trace header of a captured run', () => {
  it('is the unsampled one Lambda sets on an untraced invocation by default: no trace id in the record', async () => {
    expect(drive.lambdaTraceHeader(false)).not.toMatch(/Sampled=1/);
    expect(await bytesOfOneRecord()).toBe(Buffer.byteLength('{"message":"instance","instanceId":"i-1"}\n'));
  });

  it('with a sampled header (the remediate function under the traced state machine) prices the 54-byte trace id', async () => {
    const traced = await bytesOfOneRecord(drive.lambdaTraceHeader(true));
    expect(traced - (await bytesOfOneRecord(drive.lambdaTraceHeader(false)))).toBe(Buffer.byteLength(',"xray_trace_id":"1-6570f3a0-0123456789abcdef01234567"'));
  });

  it('is restored after the run', async () => {
    const before = process.env['_X_AMZN_TRACE_ID'];
    await bytesOfOneRecord(drive.lambdaTraceHeader(true));
    expect(process.env['_X_AMZN_TRACE_ID']).toBe(before);
  });
});
