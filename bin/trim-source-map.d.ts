/** A version-3 source map, as esbuild writes it. */
export interface RawSourceMap {
  readonly version: number;
  readonly sources: readonly string[];
  readonly names?: readonly string[];
  readonly mappings: string;
  readonly sourcesContent?: readonly (string | null)[];
  readonly [key: string]: unknown;
}

/** A copy of `map` with only the mappings whose source `keep` accepts (default: not under node_modules). */
export function trimSourceMap(map: RawSourceMap, keep?: (source: string) => boolean): RawSourceMap;

/** Trims a map file in place; the sizes before and after, in bytes. */
export function trimSourceMapFile(file: string): { before: number; after: number };

/** Whether a source path is the project's own code (not under node_modules). */
export function isFirstParty(source: string): boolean;
