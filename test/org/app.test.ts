/**
 * bin/app.ts as cdk runs it (context in CDK_CONTEXT_JSON, bundling skipped): `organization=true`
 * builds the hub with its StackSets instead of the single-account stack, and the organization keys
 * without it stop synth with one line.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OU } from './util';

const root = join(__dirname, '..', '..');
let outdir: string;
beforeEach(() => {
  outdir = mkdtempSync(join(tmpdir(), 'tsg-org-app-'));
});
afterEach(() => rmSync(outdir, { recursive: true, force: true }));

function app(context: Record<string, unknown>) {
  const r = spawnSync(process.execPath, ['-r', 'tsx/cjs', 'bin/app.ts'], {
    cwd: root,
    encoding: 'utf8',
    env: { ...process.env, CDK_OUTDIR: outdir, CDK_CONTEXT_JSON: JSON.stringify({ ...context, 'aws:cdk:bundling-stacks': [] }) },
  });
  return { code: r.status, stderr: r.stderr, templates: r.status === 0 ? readdirSync(outdir).filter((f) => f.endsWith('.template.json')) : [] };
}

describe('bin/app.ts organization mode', () => {
  it('synthesizes TimeSyncGuardOrg with its two StackSets, and no single-account stack, with organization=true', () => {
    const r = app({ organization: 'true', organizationalUnits: OU, regions: 'eu-west-1,us-east-1', dryRun: 'true' });
    expect(r.stderr).not.toMatch(/Error/);
    expect(r.templates).toEqual(['TimeSyncGuardOrg.template.json']);
    const t = JSON.parse(readFileSync(join(outdir, r.templates[0]!), 'utf8')) as { Resources: Record<string, { Type: string; Properties: Record<string, unknown> }> };
    const sets = Object.values(t.Resources).filter((x) => x.Type === 'AWS::CloudFormation::StackSet');
    expect(sets.map((s) => [s.Properties.PermissionModel, (s.Properties.AutoDeployment as { Enabled: boolean }).Enabled])).toEqual([
      ['SERVICE_MANAGED', true],
      ['SERVICE_MANAGED', true],
    ]);
  }, 180_000);

  it('keeps building the single-account stack when the flag is absent', () => {
    expect(app({ dryRun: 'true' }).templates).toEqual(['TimeSyncGuard.template.json']);
  }, 180_000);

  it('stops synth with one line when an organization key is given without organization=true', () => {
    const r = app({ organizationalUnits: OU });
    expect(r.code).toBe(1);
    expect(r.stderr.trim()).toBe('timesync-guard: organizationalUnits: applies only to the organization hub: add -c organization=true (docs/organization.md)');
  }, 180_000);

  it('names the organization key at fault', () => {
    const r = app({ organization: 'true', organizationalUnits: 'ou-x' });
    expect(r.code).toBe(1);
    expect(r.stderr.trim()).toBe('timesync-guard: organizationalUnits: must be OU or root ids (ou-…, r-…), got "ou-x"');
  }, 180_000);
});
