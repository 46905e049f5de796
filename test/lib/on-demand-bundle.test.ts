/**
 * The on-demand modules (lambda/aws/on-demand-loader.ts, bin/bundle-on-demand.js) in the assets:
 * not read at start-up, loaded and working at first use, present in the synthesized asset exactly
 * as the benchmark builds them, and loaded from source under jest.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Duration, Stack } from 'aws-cdk-lib';
import type { CfnFunction } from 'aws-cdk-lib/aws-lambda';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { bundleOnDemand, onDemandNames } from '../../bin/bundle-on-demand';
import { bundleAsDeployed, clientPackages, lambdaLikeEnv } from '../../bench/cold-load';
import { loadOnDemand } from '../../lambda/aws/on-demand-loader';
import { GuardFunction } from '../../lib/constructs/guard-function';

const ROOT = join(__dirname, '..', '..');
const dir = mkdtempSync(join(tmpdir(), 'tsg-on-demand-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The check's on-demand modules: everything but EC2 and SSM, each used only on some runs. */
const CHECK_ON_DEMAND = ['auto-scaling', 'cloudtrail', 'cloudwatch', 'eventbridge', 'iam', 'record-key', 's3', 'securityhub', 'sfn'];

describe('onDemandNames', () => {
  it('reads the quoted on-demand/<name> literals of a bundle, each once, and ignores comments and other paths', () => {
    expect(onDemandNames(`a("on-demand/s3");b('on-demand/sns');c(\`on-demand/s3\`);// lambda/aws/on-demand/iam.ts\n"x/on-demand-y"`)).toEqual(['s3', 'sns']);
  });

  it('a bundle naming a module with no source fails the build', () => {
    const d = join(dir, 'bad');
    mkdirSync(d);
    writeFileSync(join(d, 'index.js'), 'load("on-demand/no-such-client")');
    expect(() => bundleOnDemand(d, {})).toThrow(/on-demand\/no-such-client, which has no source/);
  });
});

describe('a bundle with an on-demand client (SNS), built as the guard functions are', () => {
  const bundle = join(dir, 'sns', 'index.js');
  beforeAll(async () => {
    await bundleAsDeployed(join(ROOT, 'test', 'fixtures', 'on-demand', 'entry.ts'), bundle);
  });

  it('carries the SNS client in on-demand/sns.js only, not in index.js', () => {
    expect(readdirSync(join(dir, 'sns', 'on-demand')).sort()).toEqual(['sns.js', 'sns.js.map']);
    // The SNS client's XML namespace: in its code only (a boolean, not the whole minified file, on failure).
    expect(readFileSync(bundle, 'utf8').includes('sns.amazonaws.com/doc')).toBe(false);
    expect(readFileSync(join(dir, 'sns', 'on-demand', 'sns.js'), 'utf8').includes('sns.amazonaws.com/doc')).toBe(true);
  });

  it('does not load the file at start-up; loads it at the first publish, which reaches SNS (a local endpoint) and succeeds', () => {
    // A local stand-in for SNS answers Publish; the child records which on-demand files it has loaded before and after.
    const probe = `
      const http = require('node:http');
      const bodies = [];
      const onDemand = () => Object.keys(require.cache).filter((k) => /[\\\\/]on-demand[\\\\/]/.test(k)).map((k) => k.replace(/.*[\\\\/]on-demand[\\\\/]/, ''));
      const server = http.createServer((req, res) => {
        let body = '';
        req.on('data', (d) => (body += d));
        req.on('end', () => {
          bodies.push(body);
          res.writeHead(200, { 'content-type': 'text/xml' });
          res.end('<PublishResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><PublishResult><MessageId>m-1</MessageId></PublishResult><ResponseMetadata><RequestId>r-1</RequestId></ResponseMetadata></PublishResponse>');
        });
      });
      server.listen(0, '127.0.0.1', async () => {
        process.env.AWS_ENDPOINT_URL_SNS = 'http://127.0.0.1:' + server.address().port;
        const m = require(${JSON.stringify(bundle)});
        const atStart = onDemand();
        const published = await m.handler();
        server.close();
        process.stdout.write(JSON.stringify({ atStart, afterUse: onDemand(), published, bodies }));
      });`;
    const r = spawnSync(process.execPath, ['-e', probe], { env: { ...lambdaLikeEnv(), TOPIC_ARN: 'arn:aws:sns:us-east-1:123456789012:t' }, encoding: 'utf8', timeout: 30_000 });
    expect(r.stderr).toBe('');
    const out = JSON.parse(r.stdout) as { atStart: string[]; afterUse: string[]; published: boolean; bodies: string[] };
    expect(out.atStart).toEqual([]);
    expect(out.afterUse).toEqual(['sns.js']);
    expect(out.published).toBe(true);
    expect(out.bodies).toHaveLength(1);
    expect(out.bodies[0]).toContain('Action=Publish');
  });

  it('a missing on-demand file is a summary not sent, not a crash', () => {
    const bare = join(dir, 'bare');
    mkdirSync(bare);
    writeFileSync(join(bare, 'index.js'), readFileSync(bundle));
    const r = spawnSync(process.execPath, ['-e', `require(${JSON.stringify(join(bare, 'index.js'))}).handler().then((v) => process.stdout.write(String(v)))`], { env: { ...lambdaLikeEnv(), TOPIC_ARN: 'arn:aws:sns:us-east-1:123456789012:t' }, encoding: 'utf8' });
    expect(r.status).toBe(0);
    expect(r.stdout).toBe('false');
  });
});

describe('the check asset the construct synthesizes', () => {
  const assembly = join(dir, 'cdk.out');
  let asset = '';
  let nodeOptions: unknown;
  beforeAll(() => {
    // Real bundling (NodejsFunction, local esbuild, the afterBundling hook), as `npm run synth` and `npm run package` do.
    const app = new App({ outdir: assembly, context: { 'aws:cdk:enable-asset-metadata': true } });
    const stack = new Stack(app, 'Assets');
    const fn = new GuardFunction(stack, 'check', { entryFile: 'check.ts', description: 'check', timeout: Duration.minutes(1), environment: {}, logRetention: RetentionDays.ONE_DAY, metricNamespace: 'Assets' });
    const template = app.synth().getStackByName('Assets').template as { Resources: Record<string, { Type: string; Properties: { Environment?: { Variables?: Record<string, unknown> } } }> };
    asset = join(assembly, (fn.function.node.defaultChild as CfnFunction).getMetadata('aws:asset:path') as string);
    nodeOptions = Object.values(template.Resources).find((r) => r.Type === 'AWS::Lambda::Function')?.Properties.Environment?.Variables?.['NODE_OPTIONS'];
  }, 120_000);

  it('holds each on-demand module the check loads, in on-demand/ beside index.js, with its trimmed map', () => {
    const files = readdirSync(join(asset, 'on-demand')).sort();
    expect(files).toEqual(CHECK_ON_DEMAND.flatMap((n) => [`${n}.js`, `${n}.js.map`]).sort());
    const map = JSON.parse(readFileSync(join(asset, 'on-demand', 'cloudwatch.js.map'), 'utf8')) as { sources: string[] };
    expect(map.sources.every((s) => !s.includes('node_modules'))).toBe(true);
  });

  it('is byte for byte what the benchmark loads (bench/cold-load.ts bundleAsDeployed): index.js and every on-demand file', async () => {
    const bench = join(dir, 'bench-check', 'index.js');
    const { meta, onDemand } = await bundleAsDeployed(join(ROOT, 'lambda', 'handlers', 'check.ts'), bench);
    expect(onDemand.map((m) => m.name)).toEqual(CHECK_ON_DEMAND);
    expect(readFileSync(bench)).toEqual(readFileSync(join(asset, 'index.js')));
    for (const m of onDemand) expect(readFileSync(m.file)).toEqual(readFileSync(join(asset, 'on-demand', `${m.name}.js`)));
    // index.js: only the clients every check uses.
    expect(clientPackages(meta)).toEqual(['client-ec2', 'client-ssm']);
    // And the benchmark loads it with the template's NODE_OPTIONS.
    expect(lambdaLikeEnv()['NODE_OPTIONS']).toBe(nodeOptions);
  }, 60_000);

});

describe('from source (jest, tsx)', () => {
  it('the loader requires the TypeScript module by the same path', async () => {
    const sns = await loadOnDemand('on-demand/sns');
    expect(typeof sns.snsNotifier).toBe('function');
  });
});
