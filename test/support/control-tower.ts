/**
 * The Control Tower proactive controls as cdklabs ships them for cfn-guard
 * (@cdklabs/cdk-validator-cfnguard: the rules and the cfn-guard binary, run offline), applied to
 * synthesized templates. One cfn-guard process per call, whatever the number of templates.
 */
import { mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CfnGuardValidator } from '@cdklabs/cdk-validator-cfnguard';
import type { App } from 'aws-cdk-lib';

export const CT_RULES_DIR = join(require.resolve('@cdklabs/cdk-validator-cfnguard/package.json'), '..', 'rules', 'control-tower', 'cfn-guard');

/**
 * The controls the templates do not meet, each documented in docs/control-tower.md: S3 Object Lock
 * (PR.9), event notifications (PR.4) and server access logging (PR.2) on the two small state
 * buckets, and Lambda in a VPC (CT.LAMBDA.PR.3) unless a VPC is given.
 */
export const DOCUMENTED_EXCEPTIONS = ['ct-s3-pr-2', 'ct-s3-pr-4', 'ct-s3-pr-9'] as const;
export const LAMBDA_IN_VPC = 'ct-lambda-pr-3';

/** Every violation as `rule: template/logicalId`, sorted; [] when the templates pass. */
export function controlTowerViolations(templatePaths: readonly string[], disabledRules: readonly string[]): string[] {
  const report = new CfnGuardValidator({ disabledRules: [...disabledRules] }).validate({ templatePaths: [...templatePaths] } as Parameters<CfnGuardValidator['validate']>[0]);
  const out = report.violations.flatMap((v) => v.violatingResources.map((r) => `${v.ruleName}: ${r.templatePath.split('/').pop()}/${r.resourceLogicalId}`));
  if (!report.success && out.length === 0) out.push('cfn-guard reported a failure without a violation');
  return [...new Set(out)].sort();
}

/** The template files of the given stacks of a synthesized app. */
export function templatePaths(app: App, stackNames: readonly string[]): string[] {
  const asm = app.synth();
  return stackNames.map((n) => asm.getStackByName(n).templateFullPath);
}

/** Writes a template object to a temporary file (for templates that are not stacks: the StackSets'). */
export function templateFile(name: string, template: unknown): string {
  const dir = mkdtempSync(join(tmpdir(), 'tsg-ct-'));
  const file = join(dir, `${name}.json`);
  writeFileSync(file, JSON.stringify(template));
  return file;
}

/** The resource types some Control Tower rule reports on (each rule file's "Reports on:" header). */
export function typesWithControls(): Set<string> {
  const types = new Set<string>();
  const walk = (dir: string): void => {
    for (const f of readdirSync(dir)) {
      const p = join(dir, f);
      if (statSync(p).isDirectory()) walk(p);
      else for (const m of readFileSync(p, 'utf8').matchAll(/^#\s*Reports on:\s*\n#\s*(.+)$/gm)) for (const t of m[1]!.split(',')) types.add(t.trim());
    }
  };
  walk(CT_RULES_DIR);
  return types;
}
