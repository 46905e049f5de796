import {
  decideLaunchRetry,
  EC2_STATE_CHANGE,
  LAUNCH_MAX_ATTEMPTS,
  LAUNCH_REMEDIATION_MAX_IDS,
  LAUNCH_RETRY_KIND,
  LAUNCH_RETRY_MAX_TARGETS,
  launchRetryDelaySeconds,
  mergeTargets,
  parseLaunchMessage,
  parseLaunchScope,
  remediationScope,
} from '../../lambda/core/fleet/launch';

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
    ['a retry with an empty target list', JSON.stringify({ kind: LAUNCH_RETRY_KIND, targets: [] }), /targets/],
    ['a retry with null targets', JSON.stringify({ kind: LAUNCH_RETRY_KIND, targets: [null] }), /instance id/],
    ['a retry with a huge attempt', JSON.stringify({ kind: LAUNCH_RETRY_KIND, targets: [{ instanceId: 'i-0123456789abcdef0', attempt: 1e9, since: T }] }), /attempt 1000000000/],
    ['a retry one attempt over the cap', JSON.stringify({ kind: LAUNCH_RETRY_KIND, targets: [{ instanceId: 'i-0123456789abcdef0', attempt: LAUNCH_MAX_ATTEMPTS + 1, since: T }] }), /at most/],
    ['a retry with a fractional attempt', JSON.stringify({ kind: LAUNCH_RETRY_KIND, targets: [{ instanceId: 'i-0123456789abcdef0', attempt: 1.5, since: T }] }), /attempt/],
    [
      'a retry with more targets than the handler ever puts in one',
      JSON.stringify({ kind: LAUNCH_RETRY_KIND, targets: Array.from({ length: LAUNCH_RETRY_MAX_TARGETS + 1 }, (_, k) => ({ instanceId: `i-${k.toString(16).padStart(17, '0')}`, attempt: 0, since: T })) }),
      /targets/,
    ],
    ['a JSON string', JSON.stringify('hello'), /not an object/],
    ['null', 'null', /not an object/],
    ['a custom source with the EC2 detail-type', event({ 'instance-id': 'i-0123456789abcdef0', state: 'running' }, { source: 'aws.ec2.forged' }), /not an EC2/],
  ])('refuses %s with a reason', (_name, body, reason) => {
    const r = parseLaunchMessage(body, T);
    expect(r.ok).toBe(false);
    expect(r.ok === false && r.reason).toMatch(reason);
  });
});

describe('since: a retry message is an input, not the truth', () => {
  const retry = (since: unknown) => JSON.stringify({ kind: LAUNCH_RETRY_KIND, targets: [{ instanceId: 'i-0123456789abcdef0', attempt: 1, since }] });
  it.each<[string, unknown]>([
    ['in the future', T + 3_600_000],
    ['8.64e15 (the last date JavaScript knows)', 8.64e15],
    ['a far-future ISO date', '9999-12-31T23:59:59Z'],
    ['not a number', 'soon'],
    ['Infinity (serialised as null)', null],
  ])('counts a since %s from the receive time', (_name, since) => {
    const r = parseLaunchMessage(retry(since), T);
    expect(r).toEqual({ ok: true, targets: [{ instanceId: 'i-0123456789abcdef0', attempt: 1, since: T }] });
  });

  it('clamps an EC2 event dated in the future too', () => {
    const r = parseLaunchMessage(event({ 'instance-id': 'i-0123456789abcdef0', state: 'running' }, { time: '2099-01-01T00:00:00Z' }), T);
    expect(r.ok && r.targets[0]!.since).toBe(T);
  });

  it('keeps a since in the past (it only shortens the wait)', () => {
    expect(parseLaunchMessage(retry(T - 60_000), T)).toEqual({ ok: true, targets: [{ instanceId: 'i-0123456789abcdef0', attempt: 1, since: T - 60_000 }] });
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

  it('stops at the attempt cap even inside the wait, and a future since buys no extra time', () => {
    expect(decideLaunchRetry({ instanceId: 'i-1', attempt: LAUNCH_MAX_ATTEMPTS, since: T }, T, 3600)).toEqual({ retry: false });
    expect(decideLaunchRetry({ instanceId: 'i-1', attempt: LAUNCH_MAX_ATTEMPTS - 1, since: T }, T, 3600)).toEqual({ retry: true, delaySeconds: 60 });
    // A since after now counts from now: a 60 s delay does not fit a 30 s wait.
    expect(decideLaunchRetry({ instanceId: 'i-1', attempt: 5, since: 8.64e15 }, T, 30)).toEqual({ retry: false });
  });

  it('the cap is above what the longest wait needs, so an honest retry is never cut short by it', () => {
    let attempt = 0;
    for (let t = 0; decideLaunchRetry({ instanceId: 'i-1', attempt, since: T }, T + t * 1000, 3600).retry; attempt++) t += launchRetryDelaySeconds(attempt);
    expect(attempt).toBeLessThan(LAUNCH_MAX_ATTEMPTS);
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
  it('refuses a launch request without ids: null or absent is never the whole region', () => {
    expect(parseLaunchScope(undefined)).toEqual({ ok: false, reason: 'instanceIds is undefined' });
    expect(parseLaunchScope(null)).toEqual({ ok: false, reason: 'instanceIds is null' });
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
    ['10,000 ids', Array.from({ length: 10_000 }, (_, k) => `i-${k.toString(16).padStart(17, '0')}`)],
    ['an object', { 0: 'i-0123456789abcdef0', length: 1 }],
    ['a null inside the list', ['i-0123456789abcdef0', null]],
    ['a 12-digit id', ['i-0123456789ab']],
    ['an id with a suffix', ['i-0123456789abcdef0\n']],
  ])('refuses %s, never widening to the region', (_name, value) => {
    const r = parseLaunchScope(value);
    expect(r.ok).toBe(false);
    expect(r).not.toHaveProperty('instanceIds');
  });
});

describe('remediationScope (the first request of a remediation run)', () => {
  it('is the whole region only for a request that names no instances (the schedule sends {})', () => {
    for (const request of [undefined, null, {}, { continuation: null }]) expect(remediationScope(request)).toEqual({ ok: true });
  });

  it.each<[string, unknown]>([
    ['instanceIds: null', { trigger: 'launch', instanceIds: null }],
    ['instanceIds: null without a trigger', { instanceIds: null }],
    ['a trigger and no instanceIds', { trigger: 'launch' }],
    ['instanceIds: []', { trigger: 'launch', instanceIds: [] }],
    ['instanceIds as a string', { trigger: 'launch', instanceIds: 'i-0123456789abcdef0' }],
    ['a request that is a list', [{ instanceIds: ['i-0123456789abcdef0'] }]],
  ])('refuses a launch request with %s', (_name, request) => {
    const r = remediationScope(request);
    expect(r.ok).toBe(false);
    expect(r).not.toHaveProperty('instanceIds');
  });

  it('reads a valid launch request as just its instances', () => {
    expect(remediationScope({ trigger: 'launch', instanceIds: ['i-0123456789abcdef0'] })).toEqual({ ok: true, instanceIds: ['i-0123456789abcdef0'] });
  });
});
