#!/usr/bin/env node
/**
 * The CDK app: one TimeSyncGuardStack configured from context (see README.md, "Configuration"), with cdk-nag
 * AwsSolutions on every synth. Env-agnostic unless CDK_DEFAULT_ACCOUNT/REGION are set, so
 * `cdk synth` works with no credentials.
 */
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { guardPropsFromContext } from '../lib/context';
import { TimeSyncGuardStack } from '../lib/time-sync-guard-stack';

const app = new App();
const account = process.env.CDK_DEFAULT_ACCOUNT;
const region = process.env.CDK_DEFAULT_REGION;
const { stackName, alarmTopicArn, props } = guardPropsFromContext((key) => app.node.tryGetContext(key));
new TimeSyncGuardStack(app, stackName, {
  env: account && region ? { account, region } : undefined,
  guard: props,
  alarmTopicArn,
});
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
