/**
 * The CLI as a new user first runs it, through the real entry point and the real SDK: no region
 * says where a region comes from, and no 9-line notice about future SDK releases drowns the answer
 * while the installed SDK supports this Node (package.json `engines` and the README say the same).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runAsync } from '../support/run-async';
// eslint-disable-next-line @typescript-eslint/no-require-imports
const nodeSupport = require('../../bin/node-support') as {
  BOUNDING_PACKAGES: string[];
  minimumMajor(range: string): number | undefined;
  supportedNodeMajor(): number;
  quietSdkNodeNotice(env: Record<string, string | undefined>, nodeVersion: string): boolean;
};

const root = join(__dirname, '..', '..');
const VARIABLE = 'AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED';

/** A shell with no region anywhere: no variable, no config file; static fake keys so no credential source is probed. */
function cleanEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const k of Object.keys(env)) if (k.startsWith('AWS_')) delete env[k];
  return { ...env, AWS_CONFIG_FILE: '/nonexistent/config', AWS_SHARED_CREDENTIALS_FILE: '/nonexistent/credentials', AWS_EC2_METADATA_DISABLED: 'true', AWS_ACCESS_KEY_ID: 'AKIATESTTESTTESTTEST', AWS_SECRET_ACCESS_KEY: 'not-real' };
}

describe('timesync-guard check without a region', () => {
  it.each([
    [[] as string[], 'aws configure set region eu-west-1  (the default profile in ~/.aws/config)'],
    [['--profile', 'audit'], 'aws configure set region eu-west-1 --profile audit  (the profile audit in ~/.aws/config)'],
  ])('%p: names --region, AWS_REGION and the profile, exits 2, and prints no SDK Node notice', async (args, profileLine) => {
    const r = await runAsync(process.execPath, ['bin/timesync-guard.js', 'check', ...args], { cwd: root, env: cleanEnv(), timeoutMs: 60_000 });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('no AWS region');
    expect(r.stderr).toContain('--region eu-west-1');
    expect(r.stderr).toContain('AWS_REGION=eu-west-1');
    expect(r.stderr).toContain(profileLine);
    expect(r.stderr).not.toContain('Region is missing');
    expect(r.stderr).not.toContain('NodeVersionSupportWarning');
    expect(r.stderr.trim().split('\n')).toHaveLength(4);
  }, 70_000);
});

describe("the SDK's Node-version notice", () => {
  const supported = nodeSupport.supportedNodeMajor();

  it('reads the oldest Node every bounding package supports from their engines', () => {
    expect(nodeSupport.BOUNDING_PACKAGES).toEqual(expect.arrayContaining(['@aws-sdk/core', 'aws-cdk-lib']));
    expect(nodeSupport.minimumMajor('>= 20.0.0')).toBe(20);
    expect(nodeSupport.minimumMajor('^20')).toBeUndefined();
    expect(supported).toBeGreaterThanOrEqual(20);
  });

  it('is silenced on a Node the installed packages support, and only there', () => {
    const env: Record<string, string | undefined> = {};
    expect(nodeSupport.quietSdkNodeNotice(env, `${supported}.0.0`)).toBe(true);
    expect(env[VARIABLE]).toBe('true');
    const old: Record<string, string | undefined> = {};
    expect(nodeSupport.quietSdkNodeNotice(old, `${supported - 1}.9.0`)).toBe(false);
    expect(old[VARIABLE]).toBeUndefined();
  });

  it("leaves the user's own setting alone", () => {
    const env: Record<string, string | undefined> = { [VARIABLE]: 'false' };
    expect(nodeSupport.quietSdkNodeNotice(env, '99.0.0')).toBe(false);
    expect(env[VARIABLE]).toBe('false');
  });

  it('package.json engines and the README state the Node the installed packages support', () => {
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { engines: { node: string } };
    expect(pkg.engines.node).toBe(`>=${supported}`);
    expect(readFileSync(join(root, 'README.md'), 'utf8')).toContain(`Node.js ≥ ${supported}`);
  });
});
