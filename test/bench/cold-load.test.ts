import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bundleAsDeployed, bundleNaive, clientPackages, loadOnce, startupClientPackages } from '../../bench/cold-load';
import { FUNCTION_BUNDLING, FUNCTION_NODE_OPTIONS } from '../../lib/function-bundling';

const ROOT = join(__dirname, '..', '..');

describe('bundles as deployed', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsg-cold-load-test-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('bundles ES-module-first and runs with source maps, as the construct deploys', () => {
    expect(FUNCTION_BUNDLING.mainFields).toEqual(['module', 'main']);
    expect(FUNCTION_NODE_OPTIONS).toBe('--enable-source-maps');
  });

  it('the check bundle carries in index.js only the clients every check uses (EC2, SSM); the others are on-demand files beside it (IMDSv2 readiness CloudWatch, its snapshot S3, its watch audit EventBridge and the record key Secrets Manager; the urgent path Step Functions; the findings export Security Hub; SSM coverage IAM; the CloudTrail signal CloudTrail, CloudWatch Logs and S3; the launch sources Auto Scaling)', async () => {
    const check = await bundleAsDeployed(join(ROOT, 'lambda', 'handlers', 'check.ts'), join(dir, 'check', 'index.js'));
    expect(clientPackages(check.meta)).toEqual(['client-ec2', 'client-ssm']);
    const onDemand = [...new Set(check.onDemand.flatMap((m) => clientPackages(m.metafile)))].sort();
    expect(onDemand).toEqual(['client-auto-scaling', 'client-cloudtrail', 'client-cloudwatch', 'client-cloudwatch-logs', 'client-eventbridge', 'client-iam', 'client-s3', 'client-secrets-manager', 'client-securityhub', 'client-sfn']);
    expect(onDemand).not.toContain('client-sns');
    const naive = await bundleNaive(join(dir, 'naive.js'));
    expect(clientPackages(naive)).toEqual(['client-cloudwatch', 'client-ec2', 'client-ssm']);
  });

  it('the remediate bundle carries in index.js the clients every remediation uses (EC2, SSM, the audit, the continuation key); CloudWatch, S3, SNS and the rest are on-demand files', async () => {
    const remediate = await bundleAsDeployed(join(ROOT, 'lambda', 'handlers', 'remediate.ts'), join(dir, 'remediate', 'index.js'));
    expect(clientPackages(remediate.meta)).toEqual(['client-ec2', 'client-eventbridge', 'client-secrets-manager', 'client-ssm']);
    expect([...new Set(remediate.onDemand.flatMap((m) => clientPackages(m.metafile)))]).toEqual(expect.arrayContaining(['client-cloudwatch', 'client-s3', 'client-sns']));
  });

  it('at start-up the check bundle runs only the EC2 and SSM clients; the others it carries run on first use', async () => {
    expect(await startupClientPackages(join(ROOT, 'lambda', 'handlers', 'check.ts'), join(dir, 'check-startup.js'))).toEqual(['client-ec2', 'client-ssm']);
  });

  it('at start-up the remediate bundle runs the clients every invocation uses (EC2, SSM, the audit, the continuation key), not CloudWatch, S3 or SNS', async () => {
    expect(await startupClientPackages(join(ROOT, 'lambda', 'handlers', 'remediate.ts'), join(dir, 'remediate-startup.js'))).toEqual(['client-ec2', 'client-eventbridge', 'client-secrets-manager', 'client-ssm']);
  });

  it('a measured load that required an on-demand file fails (the figure must be index.js alone)', () => {
    const eager = join(dir, 'eager', 'index.js');
    mkdirSync(join(dir, 'eager', 'on-demand'), { recursive: true });
    writeFileSync(join(dir, 'eager', 'on-demand', 'x.js'), 'module.exports = {};');
    writeFileSync(eager, "require('./on-demand/x.js'); exports.handler = async () => ({});");
    expect(() => loadOnce(eager)).toThrow(/on-demand files loaded at start-up/);
  });

  it('the bundled check handler loads in a fresh process with the deployed NODE_OPTIONS and exports handler', () => {
    const sample = loadOnce(join(dir, 'check', 'index.js'));
    expect(sample.loadMs).toBeGreaterThan(0);
    expect(sample.rssMiB).toBeGreaterThan(10);
  });
});
