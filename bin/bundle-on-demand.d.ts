import type { Metafile } from 'esbuild';

/** Where the on-demand modules' sources are (lambda/aws/on-demand). */
export const ON_DEMAND_SOURCES: string;

/** The on-demand module names (`"on-demand/<name>"` literals) a bundle's text names, sorted and unique. */
export function onDemandNames(bundleText: string): string[];

/** One on-demand module built beside a bundle. */
export interface OnDemandBuilt {
  readonly name: string;
  /** `<dir>/on-demand/<name>.js` */
  readonly file: string;
  readonly metafile: Metafile;
}

/**
 * Builds `dir/on-demand/<name>.js` (+ trimmed map) for each module `dir/<main>` names, with the
 * handler's esbuild options. Throws when a named module has no source, or names another.
 * @param main the bundle's file name in `dir` (default `index.js`)
 */
export function bundleOnDemand(dir: string, options: Record<string, unknown>, main?: string): OnDemandBuilt[];
