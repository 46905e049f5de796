/**
 * Every Lambda the stacks deploy gets only `TSG_*` variables its cold start accepts: the parsers
 * refuse an unknown `TSG_*` variable (a typo would otherwise be ignored), so a variable the
 * construct sets and the schema does not know would stop the function at its first invocation.
 * Checked on the synthesized templates of the single-account stack with every optional function
 * (launch check, IMDSv2 enforcement) and of the organization hub.
 */
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { parseHubSettings, withoutHubVariables } from '../../lambda/core/fleet/hub';
import { parseCheckSettings, parseLaunchSettings, parseSettings } from '../../lambda/core/settings';
import { TimeSyncGuardOrgStack } from '../../lib/time-sync-guard-org-stack';
import { TimeSyncGuardStack } from '../../lib/time-sync-guard-stack';

type Env = Record<string, string>;
type Fn = { Properties: { Handler?: string; Description?: string; Environment?: { Variables?: Record<string, unknown> } } };

/** A token (a Ref to a topic, a queue, a document) stands in as the literal a deployed function would read. */
function literal(vars: Record<string, unknown>): Env {
  const stand: Env = { TSG_HUB_REGIONS: 'eu-west-1', TSG_HUB_OUS: 'ou-abcd-12345678' };
  return Object.fromEntries(Object.entries(vars).map(([k, v]) => [k, typeof v === 'string' ? v : (stand[k] ?? 'from-token')]));
}

/** The cold-start parse of each function, by its description (set per function by the constructs). */
function coldStart(description: string, env: Env): void {
  if (/organization hub/.test(description)) {
    parseSettings(withoutHubVariables(env));
    parseHubSettings(env, 'eu-west-1');
  } else if (/launch/i.test(description)) parseLaunchSettings(env);
  else if (/remediat/i.test(description)) parseSettings(env);
  else if (/check/i.test(description)) parseCheckSettings(env);
  else throw new Error(`no parser known for the function "${description}"`);
}

function functions(template: Template): [string, Fn][] {
  return Object.entries(template.findResources('AWS::Lambda::Function') as Record<string, Fn>).filter(([, f]) => f.Properties.Environment?.Variables);
}

describe('the environment of every deployed function', () => {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  const single = new TimeSyncGuardStack(app, 'Env', { guard: { launchCheck: true, remediateOnLaunch: true, imdsv2: 'enforce', alarmEmails: ['ops@example.com'] } });
  const org = new TimeSyncGuardOrgStack(app, 'EnvOrg', { organizationalUnits: ['ou-abcd-12345678'], regions: ['eu-west-1'] });
  const cases = [...functions(Template.fromStack(single)), ...functions(Template.fromStack(org))].map(([id, f]) => [id, f.Properties.Description ?? '', f.Properties.Environment!.Variables!] as const);

  it('covers the check, remediate, launch and both hub functions', () => {
    expect(cases.length).toBeGreaterThanOrEqual(5);
  });

  it.each(cases)('%s passes its cold-start parser (%s)', (_id, description, vars) => {
    expect(() => coldStart(description, literal(vars))).not.toThrow();
  });
});
