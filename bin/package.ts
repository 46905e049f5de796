/**
 * `npm run package` (and `npm pack`, through `prepack`): builds the library into dist/ — the compiled
 * JS and .d.ts of lib/index.ts and what it imports (tsconfig.package.json), the guest scripts the
 * SSM documents read at synth time, and every Lambda handler prebuilt under dist/bundles/<handler>/.
 *
 * The bundles come from the guard's own GuardFunction (NodejsFunction with the repository's
 * bundling options) synthesized here from source, then copied out of the cloud assembly: whatever
 * bundling this repository deploys is, byte for byte, what the package ships (docs/library.md).
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Duration, Stack } from 'aws-cdk-lib';
import type { CfnFunction } from 'aws-cdk-lib/aws-lambda';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { GUEST_SCRIPTS } from '../lambda/guest/scripts';
import { GuardFunction } from '../lib/constructs/guard-function';
import { bundleName, SHIPPED_BUNDLES_DIR } from '../lib/shipped-bundles';

const ROOT = join(__dirname, '..');
const DIST = join(ROOT, 'dist');
const HANDLERS = join(ROOT, 'lambda', 'handlers');

/** Handler files that are Lambda entries (export `handler`); helpers beside them are not bundled on their own. */
export function handlerEntries(dir = HANDLERS): string[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.ts') && /^export (const|async function|function) handler\b/m.test(readFileSync(join(dir, f), 'utf8')))
    .sort();
}

/** Bundles each entry as the guard deploys it and copies the asset (index.js + its source map) to `out/<handler>/`. */
function bundleHandlers(out: string): void {
  if (existsSync(SHIPPED_BUNDLES_DIR)) throw new Error(`${SHIPPED_BUNDLES_DIR} exists: remove it (from source the guard must bundle, not reuse it)`);
  const assembly = mkdtempSync(join(tmpdir(), 'tsg-package-'));
  try {
    const app = new App({ outdir: assembly, context: { 'aws:cdk:enable-asset-metadata': true } });
    const stack = new Stack(app, 'Bundles');
    const fns = handlerEntries().map((entryFile) => ({
      entryFile,
      fn: new GuardFunction(stack, bundleName(entryFile), {
        entryFile,
        description: entryFile,
        timeout: Duration.minutes(1),
        environment: {},
        logRetention: RetentionDays.ONE_DAY,
        metricNamespace: 'Bundles',
      }),
    }));
    app.synth();
    for (const { entryFile, fn } of fns) {
      const asset = (fn.function.node.defaultChild as CfnFunction).getMetadata('aws:asset:path') as string | undefined;
      if (asset === undefined) throw new Error(`no bundled asset for ${entryFile}`);
      cpSync(join(assembly, asset), join(out, bundleName(entryFile)), { recursive: true });
    }
  } finally {
    rmSync(assembly, { recursive: true, force: true });
  }
}

function main(): void {
  rmSync(DIST, { recursive: true, force: true });
  execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', join(ROOT, 'tsconfig.package.json')], { stdio: 'inherit' });
  // The compiled lambda/guest/scripts.js reads these beside itself.
  const guest = join(DIST, 'lambda', 'guest');
  mkdirSync(guest, { recursive: true });
  for (const f of Object.values(GUEST_SCRIPTS)) copyFileSync(join(ROOT, 'lambda', 'guest', f), join(guest, f));
  bundleHandlers(join(DIST, 'bundles'));
  process.stdout.write(`timesync-guard: packaged into ${DIST} (bundles: ${readdirSync(join(DIST, 'bundles')).join(', ')})\n`);
}

if (require.main === module) main();
