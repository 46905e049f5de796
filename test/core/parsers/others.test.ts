import { parseNtpctl } from '../../../lambda/core/diagnosis/parsers/ntpctl';
import { ntpqFailure, parseNtpqPeers, parseNtpqRv } from '../../../lambda/core/diagnosis/parsers/ntpq';
import { parseNtpMessage, parseProperties, parseTimesyncStatus } from '../../../lambda/core/diagnosis/parsers/timedatectl';
import { parseTimespan } from '../../../lambda/core/diagnosis/parsers/units';
import { ntpServerPeers, parseW32timeValues, parseW32tmStatus } from '../../../lambda/core/diagnosis/parsers/w32tm';
import { fixtureLines } from '../report-builder';

describe('ntpq', () => {
  it('reads ntpq -pn rows with their tally codes and ms values', () => {
    const peers = parseNtpqPeers(fixtureLines('handmade/ntpq-pn-amazon.txt'))!;
    expect(peers.map((p) => p.tally)).toEqual([' ', '*', '+', '-']);
    expect(peers[1]).toMatchObject({ remote: '169.254.169.123', stratum: 3, reach: 255, delayMs: 0.412, offsetMs: -0.031, jitterMs: 0.018 });
  });

  it('reads the system variables', () => {
    expect(parseNtpqRv(fixtureLines('handmade/ntpq-rv-amazon.txt'))).toEqual({ leap: '00', stratum: 4, rootDelayMs: 0.512, rootDispMs: 7.456, refid: '169.254.169.123', offsetMs: -0.031 });
  });

  it('recognises a daemon that does not answer', () => {
    expect(ntpqFailure(fixtureLines('handmade/ntpq-refused.txt'))).toBe(true);
    expect(parseNtpqPeers(fixtureLines('handmade/ntpq-refused.txt'))).toBeNull();
  });
});

describe('timedatectl', () => {
  it.each([
    ['-34us', -0.000034],
    ['+1.234ms', 0.001234],
    ['2min 8s', 128],
    ['0', 0],
    ['banana', null],
    // fast-check found it: a line separator inside the span once threw instead of giving null.
    [',\u2028ms', null],
  ])('parses the time span %j', (text, seconds) => {
    const v = parseTimespan(text);
    if (seconds === null) expect(v).toBeNull();
    else expect(v).toBeCloseTo(seconds, 9);
  });

  it('reads show-timesync properties and the NTPMessage record', () => {
    const props = parseProperties(fixtureLines('handmade/timesync-show-amazon.txt'));
    expect(props.get('ServerAddress')).toBe('169.254.169.123');
    const msg = parseNtpMessage(props.get('NTPMessage'));
    expect(msg.get('Leap')).toBe('0');
    expect(msg.get('RootDelay')).toBe('259us');
  });

  it('reads timesync-status with timesyncd sign (+ = local behind)', () => {
    expect(parseTimesyncStatus(fixtureLines('handmade/timesync-status-amazon.txt'))).toMatchObject({
      server: '169.254.169.123',
      leap: 'normal',
      stratum: 3,
      offset: -0.002345,
      rootDistance: 0.000328,
      packetCount: 12,
    });
  });
});

describe('ntpctl (OpenNTPD)', () => {
  it('reads the peer in use', () => {
    expect(parseNtpctl(fixtureLines('handmade/ntpctl-synced.txt'))).toEqual({
      synced: true,
      stratum: 4,
      selected: { address: '169.254.169.123', offset: 0.0015, delay: 0.00037 },
    });
  });

  it('reads an unsynced clock', () => {
    expect(parseNtpctl(fixtureLines('handmade/ntpctl-unsynced.txt'))).toEqual({ synced: false });
  });
});

describe('w32tm', () => {
  it('reads the English status', () => {
    expect(parseW32tmStatus(fixtureLines('handmade/w32tm-status-amazon-en.txt'))).toMatchObject({
      english: true,
      leap: 0,
      stratum: 4,
      rootDelay: 0.0004303,
      rootDispersion: 0.0100528,
      referenceId: 'A9FEA97B',
      referenceIp: '169.254.169.123',
      source: '169.254.169.123,0x9',
      pollIntervalSeconds: 1024,
      phaseOffset: -0.0000361,
      lastSyncErrorCode: 0,
      sinceLastGoodSync: 345.6789012,
    });
  });

  it('reads localized output by position', () => {
    const s = parseW32tmStatus(fixtureLines('handmade/w32tm-status-amazon-de.txt'))!;
    expect(s).toMatchObject({ english: false, readable: true, verbose: false, referenceId: 'A9FEA97B', referenceIp: '169.254.169.123', source: '169.254.169.123,0x9', pollIntervalSeconds: 1024 });
  });

  it('reads the HRESULT of a stopped service', () => {
    expect(parseW32tmStatus(fixtureLines('handmade/w32tm-status-stopped.txt'))).toMatchObject({ error: '0x80070426' });
  });

  it('reads configuration values whatever the "(Local)" suffix says', () => {
    const kv = parseW32timeValues(fixtureLines('handmade/w32tm-config-en.txt'));
    expect(kv.get('NtpServer')).toBe('169.254.169.123,0x9');
    expect(kv.get('Type')).toBe('NTP');
    expect(ntpServerPeers(kv.get('NtpServer'))).toEqual(['169.254.169.123']);
    expect(ntpServerPeers('169.254.169.123,0x9 time.aws.com,0x9')).toEqual(['169.254.169.123', 'time.aws.com']);
  });
});
