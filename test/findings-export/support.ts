import type { Finding, InstanceEvaluation, Verdict } from '../../lambda/core/types';

/** An instance id as EC2 writes them. */
export const iid = (n: number): string => `i-${(0x10000000 + n).toString(16).padStart(17, '0')}`;

const verdict = (o: Partial<Verdict> = {}): Verdict => ({
  platform: 'linux',
  daemon: 'chrony',
  timeSource: 'amazon-ipv4',
  synchronized: true,
  offsetSeconds: 0.0002,
  clockErrorBoundSeconds: 0.0011,
  containers: false,
  status: 'ok',
  findings: [],
  ...o,
});

/** A checked, healthy instance (IMDSv2 required, endpoint enabled, no containers). */
export function healthy(n: number, o: Partial<InstanceEvaluation> = {}): InstanceEvaluation {
  return {
    instanceId: iid(n),
    platform: 'linux',
    name: `app-${n}`,
    status: 'ok',
    checkState: 'checked',
    findings: [],
    imds: { httpEndpoint: 'enabled', httpTokens: 'required', hopLimit: 2, state: 'applied' },
    hasInstanceProfile: true,
    verdict: verdict(),
    ...o,
  };
}

/** A checked instance whose clock drifted: offset over the threshold, not on Amazon Time Sync. */
export function drifted(n: number, offsetSeconds = 42.5): InstanceEvaluation {
  const findings: Finding[] = [
    { code: 'offset-over-threshold', message: `offset ${offsetSeconds} s over 1 s` },
    { code: 'not-amazon-time-sync', message: 'synchronised to pool.ntp.org' },
  ];
  return healthy(n, { status: 'at-risk', findings, verdict: verdict({ status: 'at-risk', timeSource: 'other', offsetSeconds, findings }) });
}

/** A container host with hop limit 1 (and IMDSv1 allowed). */
export function hopLimitOne(n: number): InstanceEvaluation {
  const findings: Finding[] = [{ code: 'imds-hop-limit-too-low-for-containers', message: 'IMDS hop limit 1 < 2 and the guest runs containers' }];
  return healthy(n, {
    status: 'at-risk',
    findings,
    imds: { httpEndpoint: 'enabled', httpTokens: 'optional', hopLimit: 1, state: 'applied' },
    verdict: verdict({ containers: true }),
  });
}

/** An instance whose guest was not reached this run (SSM ConnectionLost). */
export function unreachable(n: number): InstanceEvaluation {
  return healthy(n, { status: 'unknown', checkState: 'ssm-offline', findings: [{ code: 'ssm-connection-lost', message: 'SSM PingStatus ConnectionLost' }], verdict: undefined });
}
