import { decideLaunchRetry, EC2_STATE_CHANGE, LAUNCH_REMEDIATION_MAX_IDS, LAUNCH_RETRY_KIND, launchRetryDelaySeconds, mergeTargets, parseLaunchMessage, parseLaunchScope } from '../../lambda/core/fleet/launch';

const T = Date.UTC(2026, 0, 1);
const event = (detail: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
  JSON.stringify({ source: 'aws.ec2', 'detail-type': EC2_STATE_CHANGE, time: new Date(T).toISOString(), detail, ...extra });

describe('parseLaunchMessage', () => {
  it('reads a running event as attempt 0 from the event time', () => {
    expect(parseLaunchMessage(event({ 'instance-id': 'i-0123456789abcdef0', state: 'running' }), T + 5000)).toEqual({
      ok: true,
      targets: [{ instanceId: 'i-0123456789abcdef0', attempt: 0, since: T }],
    });
  });

  it('reads its own retry message', () => {
    const body = JSON.stringify({ kind: LAUNCH_RETRY_KIND, targets: [{ instanceId: 'i-0123456789abcdef0', attempt: 3, since: T }] });
    expect(parseLaunchMessage(body, T + 1)).toEqual({ ok: true, targets: [{ instanceId: 'i-0123456789abcdef0', attempt: 3, since: T }] });
  });

  it.each([
    ['not JSON', '{', /not JSON/],
    ['a stopped event', event({ 'instance-id': 'i-0123456789abcdef0', state: 'stopped' }), /not running/],
    ['another source', event({ 'instance-id': 'i-0123456789abcdef0', state: 'running' }, { source: 'my.app' }), /not an EC2/],
    ['a forged instance id', event({ 'instance-id': 'i-; rm -rf /', state: 'running' }), /instance-id/],
    ['a retry with a negative attempt', JSON.stringify({ kind: LAUNCH_RETRY_KIND, targets: [{ instanceId: 'i-0123456789abcdef0', attempt: -1 }] }), /attempt/],
    ['a retry without targets', JSON.stringify({ kind: LAUNCH_RETRY_KIND }), /targets/],
  ])('refuses %s with a reason', (_name, body, reason) => {
    const r = parseLaunchMessage(body, T);
    expect(r.ok).toBe(false);
    expect(r.ok === false && r.reason).toMatch(reason);
  });
});

describe('launch retries', () => {
  it.each([
    [0, 15],
    [1, 30],
    [2, 60],
    [9, 60],
  ])('waits after attempt %i for %i s', (attempt, delay) => {
    expect(launchRetryDelaySeconds(attempt)).toBe(delay);
  });

  it('retries while the next attempt starts inside the wait and gives up after it', () => {
    expect(decideLaunchRetry({ instanceId: 'i-1', attempt: 2, since: T }, T + 500_000, 600)).toEqual({ retry: true, delaySeconds: 60 });
    expect(decideLaunchRetry({ instanceId: 'i-1', attempt: 9, since: T }, T + 560_000, 600)).toEqual({ retry: false });
    expect(decideLaunchRetry({ instanceId: 'i-1', attempt: 0, since: T }, T, 0)).toEqual({ retry: false });
  });

  it('keeps one target per instance, the furthest along (a duplicate event does not restart the wait)', () => {
    expect(
      mergeTargets([
        { instanceId: 'i-1', attempt: 3, since: T },
        { instanceId: 'i-1', attempt: 0, since: T + 9000 },
        { instanceId: 'i-2', attempt: 0, since: T },
      ]),
    ).toEqual([
      { instanceId: 'i-1', attempt: 3, since: T },
      { instanceId: 'i-2', attempt: 0, since: T },
    ]);
  });
});

describe('parseLaunchScope (the remediation request of a launch)', () => {
  it('is the whole region when no ids are given (the nightly run)', () => {
    expect(parseLaunchScope(undefined)).toEqual({ ok: true });
    expect(parseLaunchScope(null)).toEqual({ ok: true });
  });

  it('keeps valid ids once each', () => {
    expect(parseLaunchScope(['i-0123456789abcdef0', 'i-01234567', 'i-0123456789abcdef0'])).toEqual({ ok: true, instanceIds: ['i-0123456789abcdef0', 'i-01234567'] });
  });

  it.each<[string, unknown]>([
    ['not an array', 'i-0123456789abcdef0'],
    ['an empty list', []],
    ['a non-id', ['i-0123456789abcdef0', 'arn:aws:ec2:eu-west-1:1:instance/i-1']],
    ['a number', [42]],
    ['upper case', ['i-0123456789ABCDEF0']],
    ['too many ids', Array.from({ length: LAUNCH_REMEDIATION_MAX_IDS + 1 }, (_, k) => `i-${k.toString(16).padStart(17, '0')}`)],
  ])('refuses %s, never widening to the region', (_name, value) => {
    const r = parseLaunchScope(value);
    expect(r.ok).toBe(false);
    expect(r).not.toHaveProperty('instanceIds');
  });
});
