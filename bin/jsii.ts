/**
 * `npm run jsii`: proves the construct's public API compiles under jsii (the compiler behind the
 * Python, Java, .NET and Go bindings) and writes API.md from it with jsii-docgen.
 *
 * The TypeScript API (lib/index.ts) is richer than jsii can express (docs/library.md, "jsii"): its
 * props are a mapped type derived from the settings schema, its errors extend Error, some enums are
 * string-literal unions. So the jsii surface is generated here from the same schema rows, into a
 * staging copy of lib/ and the lambda/ modules it imports: a `TimeSyncGuard` construct with
 * explicit, jsii-typed props (the row's doc and default as TSDoc) that constructs the TypeScript
 * `TimeSyncGuard` as its `Default` child (so logical IDs are the same). Nothing here is committed but
 * API.md; a new setting row appears in the surface and in API.md with no other change.
 *
 * Usage: `npm run jsii [-- --keep]` (--keep leaves the staging directory, e.g. for jsii-pacmak).
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { propName, rows, type SettingRow } from '../lambda/core/settings';

const ROOT = join(__dirname, '..');

/** Props whose TypeScript type is a CDK type rather than the row's plain type: the type and TSDoc the surface gives them. */
const CDK_TYPED: Readonly<Record<string, { readonly type: string; readonly doc: string; readonly default: string }>> = {
  timeZone: { type: 'cdk.TimeZone', doc: 'Time zone of both schedules (an IANA name), e.g. for a local maintenance window.', default: 'TimeZone.ETC_UTC' },
  remediationHeartbeatWindow: { type: 'cdk.Duration', doc: 'Window of the RemediationCompleted heartbeat alarm (whole minutes, at most 1 day).', default: 'Duration.days(1)' },
  logRetention: { type: 'logs.RetentionDays', doc: 'Retention of the Lambda and state machine log groups (the per-instance records live there). A year or more passes Control Tower\'s CT.CLOUDWATCH.PR.2.', default: 'RetentionDays.ONE_YEAR' },
};

/** Props that are not schema rows. */
const EXTRA_PROPS = [
  {
    name: 'alarmTopic',
    type: 'sns.ITopic',
    doc: 'An existing topic for alarms and run summaries instead of a new one. Excludes `alarmEmails`. Its key policy (if encrypted) must let CloudWatch use the key.',
    default: '- a new topic, TLS only, encrypted with a new customer-managed KMS key',
  },
  {
    name: 'vpc',
    type: 'ec2.IVpc',
    doc: 'A VPC to run every function of the guard in (docs/vpc.md lists the endpoints it needs without NAT). Excludes `vpcSubnetIds` and `vpcSecurityGroupIds`.',
    default: '- the functions run outside any VPC (unless `vpcSubnetIds` is given)',
  },
  { name: 'vpcSubnets', type: 'ec2.SubnetSelection', doc: 'The subnets of `vpc` the functions run in.', default: "- the VPC's private subnets (CDK's default selection)" },
  { name: 'securityGroups', type: 'ec2.ISecurityGroup[]', doc: 'Security groups of the functions in `vpc`.', default: '- one new security group that allows outbound HTTPS (443) only' },
];

function tsdoc(lines: readonly string[], indent = '  '): string {
  return [`${indent}/**`, ...lines.map((l) => `${indent} * ${l.replace(/\*\//g, '*\\/')}`), `${indent} */`].join('\n');
}

/** The jsii type of a row's prop: literal unions become string (the construct validates the value by its row). */
function jsiiType(row: SettingRow): string {
  if (row.type === 'number') return 'number';
  if (row.type === 'boolean') return 'boolean';
  if (row.type === 'list') return 'string[]';
  return 'string';
}

function propLines(): string[] {
  const out: string[] = [];
  for (const row of rows()) {
    const name = propName(row.key);
    if (name === undefined) continue;
    const cdk = CDK_TYPED[name];
    const values = row.type === 'enum' ? ` One of ${row.values.map((v) => `\`${v}\``).join(', ')}.` : '';
    const def = cdk?.default ?? ('default' in row && row.default !== undefined ? JSON.stringify(row.default) : '- none');
    out.push(tsdoc([`${cdk?.doc ?? row.doc}${cdk ? '' : values}`, `@default ${def}`]), `  readonly ${name}?: ${cdk?.type ?? jsiiType(row)};`);
  }
  for (const p of EXTRA_PROPS) out.push(tsdoc([p.doc, `@default ${p.default}`]), `  readonly ${p.name}?: ${p.type};`);
  return out;
}

/** `, name: props.name as GuardProps['name']` for each enum row's prop (jsii's string to the TypeScript union). */
function enumNarrowing(): string {
  return rows()
    .filter((r) => r.type === 'enum')
    .flatMap((r) => propName(r.key) ?? [])
    .map((name) => `, ${name}: props.${name} as GuardProps['${name}']`)
    .join('');
}

/** The jsii surface: props from the rows, and the construct around the TypeScript one. */
export function surfaceSource(): string {
  return `import type * as cdk from 'aws-cdk-lib';
import type * as cw from 'aws-cdk-lib/aws-cloudwatch';
import type * as ec2 from 'aws-cdk-lib/aws-ec2';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { TimeSyncGuard as Guard, type TimeSyncGuardProps as GuardProps } from '../lib/time-sync-guard';

/**
 * Configuration of {@link TimeSyncGuard}. Every prop is optional; each is validated by its row of
 * the settings schema when the construct is created (an invalid value throws, naming the prop).
 */
export interface TimeSyncGuardProps {
${propLines().join('\n')}
}

/**
 * timesync-guard: the hourly fleet check (EventBridge Scheduler → Lambda → SSM Run Command
 * collector → metrics, alarms, dashboard) and the nightly remediation (Scheduler → Step Functions
 * loop around the remediate Lambda → ModifyInstanceMetadataOptions + SSM remediation document,
 * audited on the default event bus). Embed it in any stack; two instances never clash.
 */
export class TimeSyncGuard extends Construct {
  /** The check Lambda. */
  public readonly checkFunction: lambda.IFunction;
  /** The remediate Lambda (invoked only by the state machine). */
  public readonly remediateFunction: lambda.IFunction;
  /** The check Lambda's log group (per-instance records, for Logs Insights). */
  public readonly checkLogGroup: logs.ILogGroup;
  /** Alarm and run-summary topic (created, or the \`alarmTopic\` prop). */
  public readonly topic: sns.ITopic;
  /** The nightly remediation workflow. */
  public readonly remediationStateMachine: sfn.IStateMachine;
  /** Dead-letter queue of both schedule targets. */
  public readonly deadLetterQueue: sqs.IQueue;
  /** The CloudWatch dashboard. */
  public readonly dashboard: cw.Dashboard;
  /** Name of the SSM collector document. */
  public readonly collectorDocumentName: string;
  /** Name of the SSM remediation document. */
  public readonly remediationDocumentName: string;

  constructor(scope: Construct, id: string, props: TimeSyncGuardProps = {}) {
    super(scope, id);
    // "Default": the child adds nothing to logical IDs, so the resources are named as from TypeScript.
    // Typed, not cast: a surface prop whose type drifts from the TypeScript prop fails jsii's compile.
    // Enum rows only are narrowed (string → their union); the construct validates them by their row.
    const guardProps: GuardProps = { ...props${enumNarrowing()} };
    const guard = new Guard(this, 'Default', guardProps);
    this.checkFunction = guard.checkFunction.function;
    this.remediateFunction = guard.remediateFunction.function;
    this.checkLogGroup = guard.checkFunction.logGroup;
    this.topic = guard.topic;
    this.remediationStateMachine = guard.remediation.stateMachine;
    this.deadLetterQueue = guard.deadLetterQueue;
    this.dashboard = guard.dashboard;
    this.collectorDocumentName = guard.documents.collector.ref;
    this.remediationDocumentName = guard.documents.remediation.ref;
  }
}
`;
}

function stage(withBundles: boolean): string {
  const dir = mkdtempSync(join(tmpdir(), 'tsg-jsii-'));
  cpSync(join(ROOT, 'lib'), join(dir, 'lib'), { recursive: true });
  for (const sub of ['core', 'guest', 'contracts']) cpSync(join(ROOT, 'lambda', sub), join(dir, 'lambda', sub), { recursive: true });
  // The prebuilt Lambdas (npm run package), where lib/shipped-bundles.ts looks for them, so that a binding
  // generated from a kept directory can synthesize; the check alone does not read them.
  if (withBundles && existsSync(join(ROOT, 'dist', 'bundles'))) cpSync(join(ROOT, 'dist', 'bundles'), join(dir, 'bundles'), { recursive: true });
  mkdirSync(join(dir, 'jsii'));
  writeFileSync(join(dir, 'jsii', 'index.ts'), surfaceSource());
  copyFileSync(join(ROOT, 'README.md'), join(dir, 'README.md'));
  copyFileSync(join(ROOT, 'LICENSE'), join(dir, 'LICENSE'));
  symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'), 'dir');
  const root = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
  const peers = root.peerDependencies as Record<string, string>;
  writeFileSync(
    join(dir, 'package.json'),
    JSON.stringify(
      {
        name: root.name,
        version: root.version,
        description: root.description,
        license: root.license,
        author: { name: 'timesync-guard authors', organization: false },
        repository: { type: 'git', url: 'https://github.com/timesync-guard/timesync-guard.git' },
        main: 'jsii/index.js',
        types: 'jsii/index.d.ts',
        jsii: {
          outdir: 'dist',
          targets: { dotnet: { namespace: 'TimeSyncGuard', packageId: 'TimeSyncGuard' } },
        },
        peerDependencies: peers,
        devDependencies: Object.fromEntries(Object.keys(peers).map((p) => [p, JSON.parse(readFileSync(join(ROOT, 'node_modules', p, 'package.json'), 'utf8')).version])),
      },
      null,
      2,
    ),
  );
  return dir;
}

/**
 * Compiles the surface with jsii and renders API.md in a staging directory; returns that API.md.
 * `keep` leaves the directory (its path is printed).
 */
export function buildSurface({ keep = false }: { keep?: boolean } = {}): string {
  const dir = stage(keep);
  try {
    execFileSync(join(ROOT, 'node_modules', '.bin', 'jsii'), ['--silence-warnings=reserved-word'], { cwd: dir, stdio: ['ignore', 'ignore', 'inherit'] });
    execFileSync(join(ROOT, 'node_modules', '.bin', 'jsii-docgen'), ['--output', join(dir, 'API.md')], { cwd: dir, stdio: ['ignore', 'ignore', 'inherit'] });
    if (keep) process.stdout.write(`staging directory: ${dir}\n`);
    return readFileSync(join(dir, 'API.md'), 'utf8');
  } finally {
    if (!keep) rmSync(dir, { recursive: true, force: true });
  }
}

function main(): void {
  const api = buildSurface({ keep: process.argv.includes('--keep') });
  writeFileSync(join(ROOT, 'API.md'), api);
  process.stdout.write('timesync-guard: the jsii surface compiles; API.md written\n');
}

if (require.main === module) main();
