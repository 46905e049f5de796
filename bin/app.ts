#!/usr/bin/env node
/**
 * The CDK app: one TimeSyncGuardStack configured from context (see docs/configuration.md), or with
 * `-c organization=true` the organization hub TimeSyncGuardOrgStack instead (docs/organization.md),
 * with cdk-nag AwsSolutions on every synth. Env-agnostic unless CDK_DEFAULT_ACCOUNT/REGION are set,
 * so `cdk synth` works with no credentials.
 *
 * A configuration mistake is the user's, not the code's: it prints one line
 * `timesync-guard: <setting>: <problem>` and exits 1, with the stack trace only under `--debug`
 * (cdk's own flag) or TSG_DEBUG=1.
 */
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { SettingsError } from '../lambda/core/settings';
import { DEFAULT_STACK_NAME, guardPropsFromContext } from '../lib/context';
import { DEFAULT_ORG_STACK_NAME, ORG_CONTEXT_KEYS, organizationMode, orgPropsFromContext, TimeSyncGuardOrgStack } from '../lib/time-sync-guard-org-stack';
import { TimeSyncGuardStack } from '../lib/time-sync-guard-stack';
import { TimeSyncGuardPropsError } from '../lib/time-sync-guard-props';

function build(): void {
  const app = new App();
  const account = process.env.CDK_DEFAULT_ACCOUNT;
  const region = process.env.CDK_DEFAULT_REGION;
  const env = account && region ? { account, region } : undefined;
  const get = (key: string): unknown => app.node.tryGetContext(key);
  const keys = Object.keys(app.node.getAllContext());
  const orgKeys: readonly string[] = ORG_CONTEXT_KEYS;
  if (organizationMode(get)) {
    const { stackName, alarmTopicArn, props } = guardPropsFromContext(get, keys.filter((k) => !orgKeys.includes(k)));
    new TimeSyncGuardOrgStack(app, stackName === DEFAULT_STACK_NAME ? DEFAULT_ORG_STACK_NAME : stackName, {
      env,
      guard: props,
      alarmTopicArn,
      ...orgPropsFromContext(get),
    });
  } else {
    const misplaced = keys.find((k) => k !== 'organization' && orgKeys.includes(k));
    if (misplaced !== undefined) throw new TimeSyncGuardPropsError(misplaced, 'applies only to the organization hub: add -c organization=true (docs/organization.md)');
    const { stackName, alarmTopicArn, props } = guardPropsFromContext(get, keys.filter((k) => k !== 'organization'));
    new TimeSyncGuardStack(app, stackName, { env, guard: props, alarmTopicArn });
  }
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
}

const debug = process.env.TSG_DEBUG === '1' || process.env.TSG_DEBUG === 'true' || process.env.CDK_DEBUG === 'true' || process.argv.includes('--debug');
try {
  build();
} catch (e) {
  if (!(e instanceof SettingsError) || debug) throw e;
  process.stderr.write(`timesync-guard: ${e.setting}: ${e.problem}\n`);
  process.exit(1);
}
