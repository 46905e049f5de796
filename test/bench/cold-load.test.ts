import { mkdtempSync, rmSync } from 'node:fs';
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

  it('the check bundle carries only the clients the check uses (IMDSv2 readiness adds CloudWatch, its snapshot S3, its watch audit EventBridge and the record key Secrets Manager; the urgent path Step Functions; the findings export Security Hub; SSM coverage IAM; the CloudTrail signal CloudTrail and CloudWatch Logs; the launch sources Auto Scaling)', async () => {
    const check = await bundleAsDeployed(join(ROOT, 'lambda', 'handlers', 'check.ts'), join(dir, 'check.js'));
    expect(clientPackages(check)).toEqual(['client-auto-scaling', 'client-cloudtrail', 'client-cloudwatch', 'client-cloudwatch-logs', 'client-ec2', 'client-eventbridge', 'client-iam', 'client-s3', 'client-secrets-manager', 'client-securityhub', 'client-sfn', 'client-ssm']);
    expect(clientPackages(check)).not.toContain('client-sns');
    const naive = await bundleNaive(join(dir, 'naive.js'));
    expect(clientPackages(naive)).toEqual(['client-cloudwatch', 'client-ec2', 'client-ssm']);
  });

  it('at start-up the check bundle runs only the EC2 and SSM clients; the others it carries run on first use', async () => {
    expect(await startupClientPackages(join(ROOT, 'lambda', 'handlers', 'check.ts'), join(dir, 'check-startup.js'))).toEqual(['client-ec2', 'client-ssm']);
  });

  it('at start-up the remediate bundle runs the clients every invocation uses (EC2, SSM, the audit, the continuation key), not CloudWatch, S3 or SNS', async () => {
    expect(await startupClientPackages(join(ROOT, 'lambda', 'handlers', 'remediate.ts'), join(dir, 'remediate-startup.js'))).toEqual(['client-ec2', 'client-eventbridge', 'client-secrets-manager', 'client-ssm']);
  });

  it('the bundled check handler loads in a fresh process with the deployed NODE_OPTIONS and exports handler', () => {
    const sample = loadOnce(join(dir, 'check.js'));
    expect(sample.loadMs).toBeGreaterThan(0);
    expect(sample.rssMiB).toBeGreaterThan(10);
  });
});
