/**
 * Prebuilt Lambda bundles (issue 24, "a real package"). The published package ships each handler
 * already bundled under `dist/bundles/<handler>/` (built by bin/package.ts through the guard's own
 * NodejsFunction, so the bytes are what this repository deploys), and a consumer's app deploys them
 * with `Code.fromAsset`: it needs neither esbuild nor this repository's lock file. In this
 * repository (run from source, no `bundles` directory beside `lib/`) the functions keep bundling
 * from source, so a change to a handler or to the bundling options needs no extra step.
 */
import { existsSync } from 'node:fs';
import { basename, extname, join } from 'node:path';
import { Code } from 'aws-cdk-lib/aws-lambda';

/**
 * Where the package's bundles are: `dist/bundles` beside the compiled `dist/lib`. From source the
 * same path is `<repo>/bundles`, which does not exist: that is what selects bundling from source.
 */
export const SHIPPED_BUNDLES_DIR = join(__dirname, '..', 'bundles');

/** The bundle directory name of a handler entry file: `check.ts` → `check`. */
export function bundleName(entryFile: string): string {
  return basename(entryFile, extname(entryFile));
}

/**
 * The shipped bundle directory of a handler, or undefined when running from source. In the package,
 * a missing bundle is an error (an incomplete package), never a silent fall back to bundling: that
 * would need the sources and esbuild, which the package does not have.
 */
export function shippedBundle(entryFile: string, dir: string = SHIPPED_BUNDLES_DIR): string | undefined {
  if (!existsSync(dir)) return undefined;
  const bundle = join(dir, bundleName(entryFile));
  if (!existsSync(join(bundle, 'index.js'))) {
    throw new Error(`timesync-guard: the package has no prebuilt bundle for ${entryFile} (expected ${join(bundle, 'index.js')}): rebuild it with npm run package`);
  }
  return bundle;
}

/**
 * NodejsFunction props that make it deploy the shipped bundle instead of bundling (given `code`, it
 * skips esbuild and the lock file, and takes the handler as is); none from source (an empty object:
 * optional fields, so spreading it after the source-mode `handler` overrides that only in the package).
 */
export function shippedCode(entryFile: string, dir?: string): { readonly code?: Code; readonly handler?: string } {
  const bundle = shippedBundle(entryFile, dir);
  return bundle === undefined ? {} : { code: Code.fromAsset(bundle), handler: 'index.handler' };
}
