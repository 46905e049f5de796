/**
 * bin/app.ts as cdk runs it (context in CDK_CONTEXT_JSON, bundling skipped): `organization=true`
 * builds the hub with its StackSets instead of the single-account stack, and the organization keys
 * without it stop synth with one line.
 */
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runAsync } from '../support/run-async';
import { OU } from './util';

const root = join(__dirname, '..', '..');
const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

/** Runs bin/app.ts as cdk does, into its own output directory; the templates it wrote and their directory. */
async function app(context: Record<string, unknown>) {
  const outdir = mkdtempSync(join(tmpdir(), 'tsg-org-app-'));
  dirs.push(outdir);
  const r = await runAsync(process.execPath, ['-r', 'tsx/cjs', 'bin/app.ts'], {
    cwd: root,
    env: { ...process.env, CDK_OUTDIR: outdir, CDK_CONTEXT_JSON: JSON.stringify({ ...context, 'aws:cdk:bundling-stacks': [] }) },
    timeoutMs: 280_000,
  });
  return { code: r.code, stderr: r.stderr, outdir, templates: r.code === 0 ? readdirSync(outdir).filter((f) => f.endsWith('.template.json')) : [] };
}

// The file's four apps (each mostly loading and synthesizing the CDK) run at once, started before the first test.
type App = Awaited<ReturnType<typeof app>>;
let hub: App, single: App, keyWithoutFlag: App, badOu: App;
beforeAll(async () => {
  [hub, single, keyWithoutFlag, badOu] = await Promise.all([
    app({ organization: 'true', organizationalUnits: OU, regions: 'eu-west-1,us-east-1', dryRun: 'true' }),
    app({ dryRun: 'true' }),
    app({ organizationalUnits: OU }),
    app({ organization: 'true', organizationalUnits: 'ou-x' }),
  ]);
}, 300_000);

describe('bin/app.ts organization mode', () => {
  it('synthesizes TimeSyncGuardOrg with its two StackSets, and no single-account stack, with organization=true', () => {
    const r = hub;
    expect(r.stderr).not.toMatch(/Error/);
    expect(r.templates).toEqual(['TimeSyncGuardOrg.template.json']);
    const t = JSON.parse(readFileSync(join(r.outdir, r.templates[0]!), 'utf8')) as { Resources: Record<string, { Type: string; Properties: Record<string, unknown> }> };
    const sets = Object.values(t.Resources).filter((x) => x.Type === 'AWS::CloudFormation::StackSet');
    expect(sets.map((s) => [s.Properties.PermissionModel, (s.Properties.AutoDeployment as { Enabled: boolean }).Enabled])).toEqual([
      ['SERVICE_MANAGED', true],
      ['SERVICE_MANAGED', true],
    ]);
  });

  it('keeps building the single-account stack when the flag is absent', () => {
    expect(single.templates).toEqual(['TimeSyncGuard.template.json']);
  });

  it('stops synth with one line when an organization key is given without organization=true', () => {
    const r = keyWithoutFlag;
    expect(r.code).toBe(1);
    expect(r.stderr.trim()).toBe('timesync-guard: organizationalUnits: applies only to the organization hub: add -c organization=true (docs/organization.md)');
  });

  it('names the organization key at fault', () => {
    const r = badOu;
    expect(r.code).toBe(1);
    expect(r.stderr.trim()).toBe('timesync-guard: organizationalUnits: must be OU or root ids (ou-…, r-…), got "ou-x"');
  });
});
