import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { TimeSyncGuardOrgStack, type TimeSyncGuardOrgStackProps } from '../../lib/time-sync-guard-org-stack';

export const HUB = '999988887777';
export const OU = 'ou-ab12-cdef3456';

/** The org stack in an app that skips esbuild (the real bundling runs in `npm run synth -- -c organization=true`). */
export function orgTemplate(props: TimeSyncGuardOrgStackProps = { organizationalUnits: [OU] }): { stack: TimeSyncGuardOrgStack; template: Template } {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  const stack = new TimeSyncGuardOrgStack(app, 'Org', props);
  return { stack, template: Template.fromStack(stack) };
}

type Json = Record<string, unknown>;

/** The resources of one type, by logical id. */
export function resourcesOf(template: Template, type: string): [string, Json][] {
  return Object.entries(template.findResources(type)) as [string, Json][];
}

/** The StackSet whose logical id starts with `prefix`, its properties. */
export function stackSet(template: Template, prefix: string): Json {
  const found = resourcesOf(template, 'AWS::CloudFormation::StackSet').filter(([id]) => id.startsWith(prefix));
  if (found.length !== 1) throw new Error(`expected one StackSet ${prefix}*, found ${found.length}`);
  return found[0]![1].Properties as Json;
}
