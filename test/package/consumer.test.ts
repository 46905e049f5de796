/**
 * The published package as a platform team uses it (issue 24, "a real package"): `npm pack`, then
 * a fresh CDK app laid out as `cdk init app --language typescript` did with ts-node (bin/app.ts,
 * lib/<name>-stack.ts, cdk.json, the init template's tsconfig) installs the tarball, imports it by
 * name, and synthesizes two guards in one stack, with no esbuild within its reach.
 *
 * Offline and one aws-cdk-lib: the tarball is installed with npm (it has no dependencies), and the
 * peers come from this repository's node_modules as hard-linked copies (so the consumer's tree
 * resolves its own files: a `Topic` made by the app is the `ITopic` the package expects, and
 * nothing under it can find this repository's esbuild). ts-node and TypeScript are linked as is.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { type Ran, runAsync } from '../support/run-async';

const ROOT = join(__dirname, '..', '..');
const work = mkdtempSync(join(tmpdir(), 'tsg-consumer-'));
const app = join(work, 'app');
const modules = join(app, 'node_modules');
const pkg = join(modules, 'timesync-guard');
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** Dev tools of the consumer (cdk init's), linked: they neither bundle nor load aws-cdk-lib. */
const LINKED_TOOLS = ['ts-node', 'typescript', '@types/node'];

/** The init template's tsconfig (aws-cdk/lib/init-templates/app/typescript), without jest's types (no tests here). */
const TSCONFIG = {
  compilerOptions: {
    target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', lib: ['es2022'], declaration: true, strict: true,
    noImplicitAny: true, strictNullChecks: true, noImplicitThis: true, alwaysStrict: true, noImplicitReturns: true,
    inlineSourceMap: true, inlineSources: true, experimentalDecorators: true, strictPropertyInitialization: false,
    skipLibCheck: true, typeRoots: ['./node_modules/@types'], noEmit: true, isolatedModules: true, types: ['node'],
  },
  exclude: ['node_modules', 'cdk.out'],
};

const BIN = `#!/usr/bin/env node
import * as cdk from 'aws-cdk-lib';
import { PlatformStack } from '../lib/platform-stack';

const app = new cdk.App();
new PlatformStack(app, 'PlatformStack');
`;

// Two guards in one stack; the first sends to a topic the app made (one aws-cdk-lib, or this fails to compile).
const STACK = `import * as cdk from 'aws-cdk-lib';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { TimeSyncGuard, type TimeSyncGuardProps } from 'timesync-guard';

export class PlatformStack extends cdk.Stack {
  constructor(scope: Construct, id: string, props?: cdk.StackProps) {
    super(scope, id, props);
    const alerts = new Topic(this, 'PlatformAlerts');
    const prod: TimeSyncGuardProps = { alarmTopic: alerts, dryRun: true, launchCheck: true };
    new TimeSyncGuard(this, 'ProdGuard', prod);
    new TimeSyncGuard(this, 'StagingGuard', { metricNamespace: 'StagingTimeSync', remediationEnabled: false });
  }
}
`;

/** Copies a package and the dependencies it does not bundle from this repository's tree as hard links (a copy where links are refused). */
function copyPackage(name: string, from: string, done: Set<string>): void {
  if (done.has(name)) return;
  done.add(name);
  const src = dirname(require.resolve(`${name}/package.json`, { paths: [from] }));
  const dest = join(modules, name);
  mkdirSync(dirname(dest), { recursive: true });
  try {
    execFileSync('cp', ['-al', src, dest]);
  } catch {
    execFileSync('cp', ['-r', src, dest]);
  }
  const manifest = JSON.parse(readFileSync(join(src, 'package.json'), 'utf8')) as { dependencies?: Record<string, string>; bundleDependencies?: string[]; bundledDependencies?: string[] };
  const bundled = new Set(manifest.bundleDependencies ?? manifest.bundledDependencies ?? []);
  for (const dep of Object.keys(manifest.dependencies ?? {})) if (!bundled.has(dep)) copyPackage(dep, src, done);
}

const sha = (file: string): string => createHash('sha256').update(readFileSync(file)).digest('hex');

/** The synth's environment: this repository's node_modules/.bin (and its esbuild) off the PATH. */
function consumerEnv(): NodeJS.ProcessEnv {
  const path = (process.env.PATH ?? '').split(delimiter).filter((p) => !p.includes('node_modules')).join(delimiter);
  return { ...process.env, PATH: path, CDK_OUTDIR: join(app, 'cdk.out'), TS_NODE_PROJECT: join(app, 'tsconfig.json') };
}

let synth: Ran;
let template: { Resources: Record<string, { Type: string; Properties: Record<string, unknown> }> };
let assets: { files: Record<string, { source: { path: string } }> };

beforeAll(async () => {
  // `npm pack` runs prepack (npm run package): the tarball is built here, from this tree.
  const packed = execFileSync('npm', ['pack', '--pack-destination', work, '--silent'], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  const tarball = join(work, packed.trim().split('\n').pop() ?? '');
  mkdirSync(join(app, 'bin'), { recursive: true });
  mkdirSync(join(app, 'lib'));
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'platform', version: '0.1.0', bin: { platform: 'bin/app.js' }, scripts: { cdk: 'cdk' } }, null, 2));
  writeFileSync(join(app, 'cdk.json'), JSON.stringify({ app: 'npx ts-node --prefer-ts-exts bin/app.ts' }, null, 2));
  writeFileSync(join(app, 'tsconfig.json'), JSON.stringify(TSCONFIG, null, 2));
  writeFileSync(join(app, 'bin', 'app.ts'), BIN);
  writeFileSync(join(app, 'lib', 'platform-stack.ts'), STACK);
  // The peers are placed after npm is done (npm would prune what its package.json does not list).
  execFileSync('npm', ['install', tarball, '--offline', '--no-audit', '--no-fund', '--legacy-peer-deps', '--ignore-scripts'], { cwd: app, stdio: 'ignore' });
  const done = new Set<string>();
  for (const peer of ['aws-cdk-lib', 'constructs']) copyPackage(peer, ROOT, done);
  for (const tool of LINKED_TOOLS) {
    mkdirSync(dirname(join(modules, tool)), { recursive: true });
    symlinkSync(dirname(require.resolve(`${tool}/package.json`, { paths: [ROOT] })), join(modules, tool), 'dir');
  }
  // cdk.json's app, run as the CDK CLI runs it (the CLI itself is not what is under test).
  synth = await runAsync(process.execPath, [join(modules, 'ts-node', 'dist', 'bin.js'), '--prefer-ts-exts', 'bin/app.ts'], { cwd: app, env: consumerEnv(), timeoutMs: 240_000 });
  if (synth.code === 0) {
    template = JSON.parse(readFileSync(join(app, 'cdk.out', 'PlatformStack.template.json'), 'utf8'));
    assets = JSON.parse(readFileSync(join(app, 'cdk.out', 'PlatformStack.assets.json'), 'utf8'));
  }
}, 300_000);

const ofType = (type: string) => Object.entries(template.Resources).filter(([, r]) => r.Type === type);

describe('the packed library in a fresh ts-node CDK app', () => {
  it('imports by name, type-checks under ts-node and synthesizes two guards in one stack', () => {
    expect({ code: synth.code, stderr: synth.code === 0 ? '' : synth.stderr }).toEqual({ code: 0, stderr: '' });
    // Two check + two remediate functions, one launch check; two remediation state machines.
    expect(ofType('AWS::Lambda::Function').filter(([id]) => id.startsWith('ProdGuard') || id.startsWith('StagingGuard'))).toHaveLength(5);
    expect(ofType('AWS::StepFunctions::StateMachine')).toHaveLength(2);
    // The prod guard's alarms go to the app's own topic: one aws-cdk-lib, one Topic type.
    const [alerts] = ofType('AWS::SNS::Topic').find(([id]) => id.startsWith('PlatformAlerts')) ?? [];
    const prodAlarms = ofType('AWS::CloudWatch::Alarm').filter(([id]) => id.startsWith('ProdGuard'));
    expect(prodAlarms.length).toBeGreaterThan(0);
    for (const [, alarm] of prodAlarms) expect(alarm.Properties.AlarmActions).toEqual([{ Ref: alerts }]);
  });

  it('deploys the bundles shipped in the package, byte for byte, configured as from source (handler, Node.js 24, arm64, 512 MB, source maps)', () => {
    const shipped = new Map(readdirSync(join(pkg, 'dist', 'bundles')).map((name) => [sha(join(pkg, 'dist', 'bundles', name, 'index.js')), name]));
    const deployed = ofType('AWS::Lambda::Function')
      .filter(([id]) => id.includes('Guard'))
      .map(([, fn]) => {
        const key = (fn.Properties.Code as { S3Key: string }).S3Key;
        const dir = join(app, 'cdk.out', assets.files[key.replace(/\.zip$/, '')].source.path);
        const p = fn.Properties as { Handler: string; Runtime: string; MemorySize: number; Architectures: string[]; Environment: { Variables: Record<string, unknown> } };
        return { bundle: shipped.get(sha(join(dir, 'index.js'))), config: [p.Handler, p.Runtime, p.MemorySize, p.Architectures, p.Environment.Variables.NODE_OPTIONS] };
      });
    expect(deployed.map((d) => d.bundle).sort()).toEqual(['check', 'check', 'launch', 'remediate', 'remediate']);
    // As this repository deploys them (lib/constructs/guard-function.ts): only the code's origin differs.
    for (const d of deployed) expect(d.config).toEqual(['index.handler', 'nodejs24.x', 512, ['arm64'], '--enable-source-maps']);
  });

  it('deploys each bundle with the on-demand files beside it (bin/bundle-on-demand.js), the same bytes as the package ships', () => {
    const filesOf = (dir: string): Record<string, string> =>
      existsSync(join(dir, 'on-demand')) ? Object.fromEntries(readdirSync(join(dir, 'on-demand')).sort().map((f) => [f, sha(join(dir, 'on-demand', f))])) : {};
    const shipped = new Map(readdirSync(join(pkg, 'dist', 'bundles')).map((name) => [sha(join(pkg, 'dist', 'bundles', name, 'index.js')), name]));
    const seen = new Map<string, number>();
    for (const [, fn] of ofType('AWS::Lambda::Function').filter(([id]) => id.includes('Guard'))) {
      const key = (fn.Properties.Code as { S3Key: string }).S3Key;
      const dir = join(app, 'cdk.out', assets.files[key.replace(/\.zip$/, '')].source.path);
      const name = shipped.get(sha(join(dir, 'index.js'))) ?? '?';
      expect({ name, files: filesOf(dir) }).toEqual({ name, files: filesOf(join(pkg, 'dist', 'bundles', name)) });
      seen.set(name, Object.keys(filesOf(dir)).length);
    }
    // The check and the remediation load some clients only on some runs: those are on-demand files.
    expect(seen.get('check')).toBeGreaterThan(0);
    expect(seen.get('remediate')).toBeGreaterThan(0);
  });

  it('has no esbuild within reach of the app or its aws-cdk-lib', () => {
    for (const from of [app, join(modules, 'aws-cdk-lib')]) expect(() => require.resolve('esbuild', { paths: [from] })).toThrow();
    expect(consumerEnv().PATH?.split(delimiter).some((dir) => existsSync(join(dir, 'esbuild')))).toBe(false);
  });

  it('is a library: compiled JS and .d.ts, a LICENSE, aws-cdk-lib and constructs as peers, no dependencies, no TypeScript sources', () => {
    const manifest = JSON.parse(readFileSync(join(pkg, 'package.json'), 'utf8'));
    expect(manifest.private).toBeUndefined();
    expect(manifest.dependencies).toBeUndefined();
    expect(Object.keys(manifest.peerDependencies).sort()).toEqual(['aws-cdk-lib', 'constructs']);
    for (const f of [manifest.main, manifest.types, 'LICENSE', 'API.md', 'dist/lambda/guest/remediate-linux.sh']) expect(existsSync(join(pkg, f))).toBe(true);
    expect(readFileSync(join(pkg, 'LICENSE'), 'utf8')).toMatch(/Apache License\s+Version 2\.0/);
    const ts = execFileSync('find', [pkg, '-name', '*.ts', '-not', '-name', '*.d.ts'], { encoding: 'utf8' }).trim();
    expect(ts).toBe('');
  });
});
