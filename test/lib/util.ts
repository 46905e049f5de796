import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { TimeSyncGuard, type TimeSyncGuardProps } from '../../lib/time-sync-guard';
import { TimeSyncGuardStack, type TimeSyncGuardStackProps } from '../../lib/time-sync-guard-stack';

/** An app that skips esbuild (the real bundling runs in `npm run synth`). */
export function testApp(): App {
  return new App({ context: { 'aws:cdk:bundling-stacks': [] } });
}

export function stackTemplate(props: TimeSyncGuardStackProps = {}): { stack: TimeSyncGuardStack; template: Template } {
  const stack = new TimeSyncGuardStack(testApp(), 'Test', props);
  return { stack, template: Template.fromStack(stack) };
}

export function guardTemplate(props: TimeSyncGuardProps = {}): { guard: TimeSyncGuard; template: Template } {
  const stack = new Stack(testApp(), 'Embed');
  const guard = new TimeSyncGuard(stack, 'Guard', props);
  return { guard, template: Template.fromStack(stack) };
}

export type Statement = {
  Sid?: string;
  Effect: string;
  Action: string | string[];
  Resource: unknown;
  Principal?: { Service?: string | string[]; AWS?: unknown };
  Condition?: Record<string, Record<string, unknown>>;
};

/** Statements of the one IAM policy whose logical id starts with `prefix`. */
export function policyStatements(template: Template, prefix: string): Statement[] {
  const policies = template.findResources('AWS::IAM::Policy');
  const ids = Object.keys(policies).filter((id) => id.startsWith(prefix));
  if (ids.length !== 1) throw new Error(`expected one policy ${prefix}*, found ${ids.join(', ') || 'none'}`);
  return policies[ids[0]].Properties.PolicyDocument.Statement as Statement[];
}

export function actions(s: Statement): string[] {
  return Array.isArray(s.Action) ? s.Action : [s.Action];
}

/** Statements that grant (or deny) an action. */
export function statementsFor(statements: Statement[], action: string, effect = 'Allow'): Statement[] {
  return statements.filter((s) => s.Effect === effect && actions(s).includes(action));
}

/** Renders an Fn::Join / Ref / GetAtt tree as a readable string (`${Ref}`), for ARN assertions. */
export function flat(v: unknown): string {
  if (typeof v === 'string') return v;
  if (Array.isArray(v)) return v.map(flat).join('|');
  if (v && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    if ('Fn::Join' in o) {
      const [sep, parts] = o['Fn::Join'] as [string, unknown[]];
      return parts.map(flat).join(sep);
    }
    if ('Ref' in o) return `\${${String(o.Ref)}}`;
    if ('Fn::GetAtt' in o) return `\${${(o['Fn::GetAtt'] as string[]).join('.')}}`;
  }
  return JSON.stringify(v);
}

/** The logical id of the only resource of a type whose id starts with prefix. */
export function logicalId(template: Template, type: string, prefix: string): string {
  const ids = Object.keys(template.findResources(type)).filter((id) => id.startsWith(prefix));
  if (ids.length !== 1) throw new Error(`expected one ${type} ${prefix}*, found ${ids.join(', ') || 'none'}`);
  return ids[0];
}

/** Example ids for the VPC option (docs/vpc.md). */
export const VPC_SUBNETS = ['subnet-0123456789abcdef0', 'subnet-0123456789abcdef1'];
export const VPC_SECURITY_GROUPS = ['sg-0123456789abcdef0'];

/** Every optional part of a guard on: the most resources, statements and variables it can have. */
export const ALL_OPTIONS: TimeSyncGuardProps = {
  launchCheck: true,
  remediateOnLaunch: true,
  imdsv2: 'enforce',
  imdsv2AutoUndo: true,
  securityHub: true,
  ssmCompliance: true,
  accountDefaults: 'set',
  alarmEmails: ['ops@example.com'],
};
