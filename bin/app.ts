#!/usr/bin/env node
/**
 * The CDK app: one TimeSyncGuardStack configured from context (see docs/configuration.md), with
 * cdk-nag AwsSolutions on every synth. Env-agnostic unless CDK_DEFAULT_ACCOUNT/REGION are set, so
 * `cdk synth` works with no credentials.
 *
 * A configuration mistake is the user's, not the code's: it prints one line
 * `timesync-guard: <setting>: <problem>` and exits 1, with the stack trace only under `--debug`
 * (cdk's own flag) or TSG_DEBUG=1.
 */
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { SettingsError } from '../lambda/core/settings';
import { guardPropsFromContext } from '../lib/context';
import { TimeSyncGuardStack } from '../lib/time-sync-guard-stack';

function build(): void {
  const app = new App();
  const account = process.env.CDK_DEFAULT_ACCOUNT;
  const region = process.env.CDK_DEFAULT_REGION;
  const { stackName, alarmTopicArn, props } = guardPropsFromContext((key) => app.node.tryGetContext(key), Object.keys(app.node.getAllContext()));
  new TimeSyncGuardStack(app, stackName, {
    env: account && region ? { account, region } : undefined,
    guard: props,
    alarmTopicArn,
  });
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
