/**
 * cdk-nag AwsSolutions on an in-process synth with bundling skipped: an app with the checks as a
 * validation plugin, and its unacknowledged findings as `rule at path` (or the synth error itself,
 * so a broken synth never reads as "no findings"). Registers its own temporary outdir per test.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';

interface ValidationReport {
  pluginReports: Array<{ violations: Array<{ ruleName: string; violatingConstructs: Array<{ constructPath: string }> }> }>;
}

/** Call at the top of a test file: `const nag = useNag();` then `nag.app()` and `nag.findings(app)`. */
export function useNag(prefix = 'tsg-nag-'): { app(): App; findings(app: App): string[] } {
  let outdir = '';
  beforeEach(() => {
    outdir = mkdtempSync(join(tmpdir(), prefix));
  });
  afterEach(() => rmSync(outdir, { recursive: true, force: true }));
  return {
    app(): App {
      const app = new App({ outdir, context: { 'aws:cdk:bundling-stacks': [] } });
      Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
      return app;
    },
    findings(app: App): string[] {
      try {
        app.synth();
        return [];
      } catch (e) {
        const report = JSON.parse(readFileSync(join(outdir, 'validation-report.json'), 'utf8')) as ValidationReport;
        const found = report.pluginReports.flatMap((r) => r.violations.flatMap((v) => v.violatingConstructs.map((c) => `${v.ruleName} at ${c.constructPath}`)));
        return found.length > 0 ? found : [String(e)];
      }
    },
  };
}
