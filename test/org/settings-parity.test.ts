/**
 * One settings schema for both stacks (issue 27, point 4): every setting row of the single-account
 * stack exists in the organization hub under the same name, with the same default (the value the
 * hub's item function gets is the one the single-account functions get) and the same validation
 * (the same bad value is refused by both with the same message). The rows the hub refuses are listed
 * here with why: adding one makes this test fail.
 */
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { contextKey, propName, rows, type SettingKey } from '../../lambda/core/settings';
import { TimeSyncGuardOrgStack } from '../../lib/time-sync-guard-org-stack';
import { TimeSyncGuardStack } from '../../lib/time-sync-guard-stack';
import { OU } from './util';

/** Rows the hub refuses or fixes, and why (docs/organization.md). */
const HUB_REFUSES: Partial<Record<SettingKey, string>> = {
  urgentRemediation: 'the hub has no urgent path (an hourly check starting a remediation of its urgent hosts): they wait for the nightly run',
};

/** Set by each construct itself (document names and pins, buckets, keys, topic): not settings a user gives. */
const constructSet = (row: { context?: string | false; prop?: string | false }) => row.context === false || row.prop === false;

const app = () => new App({ context: { 'aws:cdk:bundling-stacks': [] } });

type Env = Record<string, unknown>;
function envOf(template: Template, descriptionPart: string): Env {
  const fns = Object.values(template.findResources('AWS::Lambda::Function')) as { Properties: { Description?: string; Environment?: { Variables?: Env } } }[];
  const fn = fns.find((f) => (f.Properties.Description ?? '').includes(descriptionPart));
  if (!fn) throw new Error(`no function ${descriptionPart}`);
  return fn.Properties.Environment?.Variables ?? {};
}

describe('settings: the hub and the single-account stack share every schema row', () => {
  const single = Template.fromStack(new TimeSyncGuardStack(app(), 'Single', {}));
  const hub = Template.fromStack(new TimeSyncGuardOrgStack(app(), 'Hub', { organizationalUnits: [OU] }));
  const singleEnv = { ...envOf(single, 'hourly fleet check'), ...envOf(single, 'nightly remediation') };
  const hubEnv = envOf(hub, 'one account-region');

  it('gives the hub item function every setting the single-account functions get, with the same default value', () => {
    const differ: string[] = [];
    for (const row of rows()) {
      if (!row.env || constructSet(row) || HUB_REFUSES[row.key] || !(row.env in singleEnv)) continue;
      if (JSON.stringify(hubEnv[row.env]) !== JSON.stringify(singleEnv[row.env])) differ.push(`${row.key} (${row.env}): hub ${JSON.stringify(hubEnv[row.env])}, single ${JSON.stringify(singleEnv[row.env])}`);
    }
    expect(differ).toEqual([]);
  });

  it('reads the same context key and prop for every row (one context reader: lib/context.ts guardPropsFromContext)', () => {
    for (const row of rows()) {
      if (constructSet(row)) continue;
      // The hub's own context keys never shadow a setting.
      expect(['organizationalUnits', 'accounts', 'regions', 'spokeRoleName', 'callAs', 'organizationId', 'maxConcurrency']).not.toContain(contextKey(row.key));
      expect(propName(row.key)).toBeDefined();
    }
  });

  /** A value each row's validation must refuse, or undefined when its type has none to try cheaply. */
  const bad = (row: ReturnType<typeof rows>[number]): unknown => {
    if (row.type === 'number') return row.max + 1;
    if (row.type === 'enum') return 'not-a-value';
    if (row.type === 'string' && row.pattern) return ' \n';
    return undefined;
  };
  const refusal = (build: () => unknown): string => {
    try {
      build();
      return 'accepted';
    } catch (e) {
      return e instanceof Error ? e.message : String(e);
    }
  };

  it('refuses the same bad value of every row with the same message in both stacks', () => {
    const differ: string[] = [];
    let tried = 0;
    for (const row of rows()) {
      const prop = propName(row.key);
      const value = bad(row);
      if (!prop || constructSet(row) || value === undefined || HUB_REFUSES[row.key]) continue;
      // Durations and retention are props of another type (lib/context.ts converts them): their context validation is shared.
      if (['timeZone', 'remediationHeartbeatWindowMinutes', 'logRetentionDays', 'stackName', 'alarmTopicArn'].includes(row.key)) continue;
      const guard = { [prop]: value };
      const s = refusal(() => new TimeSyncGuardStack(app(), 'S', { guard } as never));
      const h = refusal(() => new TimeSyncGuardOrgStack(app(), 'H', { organizationalUnits: [OU], guard } as never));
      tried++;
      if (s !== h || s === 'accepted') differ.push(`${row.key}=${JSON.stringify(value)}: single ${s}; hub ${h}`);
    }
    expect(tried).toBeGreaterThan(10);
    expect(differ).toEqual([]);
  });

  it('the comparison can fail: a hub refusal of its own shows as a difference', () => {
    // The hub refuses no setting any more; a hub-only constraint on the same settings stands in (the undo role's name must fit IAM).
    const guard = { imdsv2: 'enforce', imdsv2AutoUndo: true } as const;
    const s = refusal(() => new TimeSyncGuardStack(app(), 'S', { guard }));
    const h = refusal(() => new TimeSyncGuardOrgStack(app(), 'H', { organizationalUnits: [OU], spokeRoleName: 'R'.repeat(60), guard }));
    expect(s).toBe('accepted');
    expect(h).not.toBe('accepted');
  });
});
