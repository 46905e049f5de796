/** Test helper: what the check and the nightly plan make of one verdict (a hop-limit-1 instance, guest fixes on). */
import { evaluateInstance } from '../../lambda/core/fleet/evaluate-instance';
import { planRemediation } from '../../lambda/core/remediation/plan';
import { parseSettings } from '../../lambda/core/settings';
import type { InstanceRecord, Verdict } from '../../lambda/core/types';

const settings = { ...parseSettings({}), maxChangesPercent: 100, fixTimeSync: true, dryRun: false };
const record: InstanceRecord = {
  instanceId: 'i-0123456789abcdef0',
  platform: 'linux',
  hasInstanceProfile: true,
  optedOut: false,
  imds: { hopLimit: 1, httpEndpoint: 'enabled', httpTokens: 'required', state: 'applied' },
  ssm: { pingStatus: 'Online' },
};

/** The instance evaluation and the plan built from it. */
export function planForVerdict(v: Verdict) {
  const evaluation = evaluateInstance(record, { kind: 'report', verdict: v }, settings);
  return { evaluation, plan: planRemediation([evaluation], settings, 1) };
}
