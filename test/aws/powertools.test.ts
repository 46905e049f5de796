import { CompactLogFormatter, traceSampled } from '../../lambda/aws/powertools';

const base = {
  timestamp: new Date('2026-11-29T01:00:00Z'),
  serviceName: 'timesync-guard',
  sampleRateValue: 0,
  environment: '',
  awsRegion: 'us-east-1',
} as const;

function format(logLevel: 'INFO' | 'WARN' | 'ERROR', xRayTraceId: string | undefined, header: string | undefined): Record<string, unknown> {
  const saved = process.env['_X_AMZN_TRACE_ID'];
  if (header === undefined) delete process.env['_X_AMZN_TRACE_ID'];
  else process.env['_X_AMZN_TRACE_ID'] = header;
  try {
    const item = new CompactLogFormatter().formatAttributes({ ...base, logLevel, message: 'instance', xRayTraceId }, { instanceId: 'i-1', status: 'ok' });
    return JSON.parse(JSON.stringify(item.getAttributes())) as Record<string, unknown>;
  } finally {
    if (saved === undefined) delete process.env['_X_AMZN_TRACE_ID'];
    else process.env['_X_AMZN_TRACE_ID'] = saved;
  }
}

const ROOT = '1-665a0c0c-2420a39e4fca953752e2e9f4';

describe('CompactLogFormatter', () => {
  it('keeps message and the record fields, and drops the constant keys, the timestamp CloudWatch adds itself and the INFO level', () => {
    expect(format('INFO', undefined, undefined)).toEqual({ message: 'instance', instanceId: 'i-1', status: 'ok' });
  });

  it('writes the level of every record that is not INFO', () => {
    expect(format('ERROR', undefined, undefined)).toEqual({ level: 'ERROR', message: 'instance', instanceId: 'i-1', status: 'ok' });
    expect(format('WARN', undefined, undefined)).toMatchObject({ level: 'WARN' });
  });

  it('leaves out the trace id Lambda sets on an invocation X-Ray does not record (pass-through header, Sampled=0)', () => {
    expect(format('INFO', ROOT, `Root=${ROOT};Lineage=061379e8:0`)).not.toHaveProperty('xray_trace_id');
    expect(format('INFO', ROOT, `Root=${ROOT};Parent=8c885bca7ccc2033;Sampled=0`)).not.toHaveProperty('xray_trace_id');
  });

  it('writes the trace id when X-Ray records the invocation (Sampled=1)', () => {
    expect(format('INFO', ROOT, `Root=${ROOT};Parent=8c885bca7ccc2033;Sampled=1;Lineage=061379e8:0`)).toMatchObject({ xray_trace_id: ROOT });
  });
});

describe('traceSampled', () => {
  it.each([
    [undefined, false],
    ['', false],
    [`Root=${ROOT}`, false],
    [`Root=${ROOT};Sampled=0`, false],
    [`Root=${ROOT};Sampled=10`, false],
    [`Root=${ROOT};Sampled=1`, true],
    [`Root=${ROOT}; Sampled=1 ;Lineage=a:0`, true],
  ])('%s → %s', (header, sampled) => {
    expect(traceSampled(header)).toBe(sampled);
  });
});
