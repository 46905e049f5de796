import { CompactLogFormatter } from '../../lambda/aws/powertools';

describe('CompactLogFormatter', () => {
  it('keeps level, message and the record fields, and drops the constant keys and the timestamp CloudWatch adds itself', () => {
    const item = new CompactLogFormatter().formatAttributes(
      {
        logLevel: 'INFO',
        message: 'instance',
        timestamp: new Date('2026-11-29T01:00:00Z'),
        serviceName: 'timesync-guard',
        sampleRateValue: 0,
        environment: '',
        awsRegion: 'us-east-1',
        xRayTraceId: undefined,
      },
      { instanceId: 'i-1', status: 'ok' },
    );
    const json = JSON.parse(JSON.stringify(item.getAttributes()));
    expect(json).toEqual({ level: 'INFO', message: 'instance', instanceId: 'i-1', status: 'ok' });
  });
});
