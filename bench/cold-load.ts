/**
 * Cold load of the real Lambda assets against a naive handler (issue 11, item 4).
 *
 * Each handler is bundled with the options the construct deploys with (lib/function-bundling.ts);
 * the naive one (cold-load/naive-handler.ts) with NodejsFunction's defaults plus minify. Every
 * measurement is a fresh `node` process started with the functions' own NODE_OPTIONS and a
 * Lambda-like environment; it times `require(bundle)` and reads the RSS right after. Runs are
 * paired (asset, naive) in alternating order so that machine load drifts cancel out; the ratio
 * reported is the median of the per-pair ratios.
 *
 * `npx tsx bench/cold-load.ts [--pairs 11] [--no-write] [--out FILE]` measures and merges the `coldLoad` key
 * into bench/results.json and its section of bench/README.md; `npm run bench` calls
 * {@link measureColdLoad} too.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { build, type Metafile } from 'esbuild';
import { bundleOnDemand, type OnDemandBuilt } from '../bin/bundle-on-demand';
import { trimSourceMapFile } from '../bin/trim-source-map';
import { FUNCTION_BUNDLING, FUNCTION_MEMORY_MB, FUNCTION_NODE_OPTIONS } from '../lib/function-bundling';
import { mergeResults, replaceReadmeSection } from './results-file';

const ROOT = join(__dirname, '..');

/**
 * The real assets load in ≤ 0.6× the naive handler's time (issue 25; 0.7× in issue 11, which runs
 * spread 0.61–0.68 against), with ≤ 0.8× its RSS.
 */
export const COLD_LOAD_TARGETS = { timeRatio: 0.6, rssRatio: 0.8 } as const;

/** The Lambda assets (handler files under lambda/handlers/). */
export const ASSETS = ['check', 'remediate'] as const;

/** A handler bundled as the construct does: what went into its file, and the on-demand modules beside it. */
export interface DeployedBundle {
  readonly meta: Metafile;
  /** The modules bundled into `on-demand/<name>.js` beside the file (bin/bundle-on-demand.js), each with its metafile. */
  readonly onDemand: OnDemandBuilt[];
}

/**
 * Bundles one entry as the construct does (esbuild with the deployed options, then its afterBundling
 * steps: the trimmed map and the on-demand modules in `on-demand/` beside `outfile`). Give each
 * handler a directory of its own (`<dir>/index.js`), as its asset is.
 */
export async function bundleAsDeployed(entry: string, outfile: string): Promise<DeployedBundle> {
  const r = await build({
    ...FUNCTION_BUNDLING,
    mainFields: [...FUNCTION_BUNDLING.mainFields],
    entryPoints: [entry],
    bundle: true,
    outfile,
    metafile: true,
    logLevel: 'silent',
  });
  trimSourceMapFile(`${outfile}.map`);
  const onDemand = bundleOnDemand(dirname(outfile), { ...FUNCTION_BUNDLING, mainFields: [...FUNCTION_BUNDLING.mainFields] }, basename(outfile));
  return { meta: r.metafile, onDemand };
}

/** Bundles the naive handler: NodejsFunction's defaults (esbuild's CommonJS-first main fields, no source map) plus minify. */
export async function bundleNaive(outfile: string): Promise<Metafile> {
  const r = await build({
    entryPoints: [join(__dirname, 'cold-load', 'naive-handler.ts')],
    bundle: true,
    platform: 'node',
    target: FUNCTION_BUNDLING.target,
    format: 'cjs',
    minify: true,
    outfile,
    metafile: true,
    logLevel: 'silent',
  });
  return r.metafile;
}

/** The SDK client packages with code in a bundle (from its metafile; tree-shaken-away files contribute 0 bytes), with their bytes. */
export function clientPackages(meta: Metafile): string[] {
  const bytes = new Map<string, number>();
  for (const output of Object.values(meta.outputs)) {
    for (const [input, { bytesInOutput }] of Object.entries(output.inputs)) {
      const m = /node_modules\/@aws-sdk\/(client-[a-z0-9-]+)\//.exec(input);
      if (m && bytesInOutput > 0) bytes.set(m[1]!, (bytes.get(m[1]!) ?? 0) + bytesInOutput);
    }
  }
  return [...bytes.keys()].sort();
}

/**
 * The SDK client packages whose code a bundle runs when it is loaded (not merely carries). The entry
 * is bundled as deployed but not minified, every module wrapper esbuild emits (`__esm` /
 * `__commonJS`, keyed by the module's path) is made to record its path when it runs, and the bundle
 * is required in a fresh process with the Lambda-like environment: a client loaded only through
 * `import()` on first use is in the bundle but absent here.
 */
export async function startupClientPackages(entry: string, outfile: string): Promise<string[]> {
  await build({ ...FUNCTION_BUNDLING, mainFields: [...FUNCTION_BUNDLING.mainFields], minify: false, sourcemap: false, entryPoints: [entry], bundle: true, outfile, logLevel: 'silent' });
  const text = readFileSync(outfile, 'utf8');
  // Module code not inside a wrapper runs at load too: it is the entry's own scope-hoisted code, named by `// path` comments.
  const wrapped = new Set([...text.matchAll(/__(?:esm|commonJS)\(\{\s*"([^"]+)"/g)].map((m) => m[1]!));
  const hoisted = [...text.matchAll(/^\/\/ (\S+)$/gm)].map((m) => m[1]!).filter((p) => !wrapped.has(p));
  writeFileSync(outfile, text.replace(/(__(?:esm|commonJS)\(\{\s*)("[^"]+")(\(\) \{|\(exports, module\) \{)/g, (_m, head: string, path: string, open: string) => `${head}${path}${open} (globalThis.__tsgRan ??= []).push(${path});`));
  const probe = `require(${JSON.stringify(outfile)});process.stdout.write(JSON.stringify(globalThis.__tsgRan ?? []))`;
  const r = spawnSync(process.execPath, ['-e', probe], { env: { ...lambdaLikeEnv(), NODE_OPTIONS: '' }, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  if (r.status !== 0) throw new Error(`loading ${outfile} failed (exit ${r.status}): ${r.stderr.slice(-1000)}`);
  const ran = new Set<string>((JSON.parse(r.stdout) as string[]).filter((p) => typeof p === 'string'));
  const packages = new Set<string>();
  for (const path of [...ran]) {
    const m = /node_modules\/@aws-sdk\/(client-[a-z0-9-]+)\//.exec(path);
    if (m) packages.add(m[1]!);
  }
  // A hoisted (unwrapped) client module would run at load as well.
  for (const path of hoisted) {
    const m = /node_modules\/@aws-sdk\/(client-[a-z0-9-]+)\//.exec(path);
    if (m) packages.add(m[1]!);
  }
  return [...packages].sort();
}

/**
 * The V8 heap flags Lambda's Node.js runtime starts every function with, from its memory setting
 * (`/var/runtime/bootstrap` of the Node.js base images: a tenth of the memory for the young
 * generation, half of that per semi-space, the rest for the old generation). Without them a
 * process on a large machine lets garbage pile up far beyond what the same code needs in a Lambda,
 * so a measured peak would say nothing about the memory a function needs.
 */
export function lambdaRuntimeNodeArgs(memoryMB: number): string[] {
  const newSpace = Math.floor(memoryMB / 10);
  return [`--max-semi-space-size=${Math.floor(newSpace / 2)}`, `--max-old-space-size=${memoryMB - newSpace}`];
}

/** The environment of a measured process: what Lambda sets that the code reads, plus the deployed NODE_OPTIONS. */
export function lambdaLikeEnv(memoryMB: number = FUNCTION_MEMORY_MB): NodeJS.ProcessEnv {
  return {
    PATH: process.env['PATH'] ?? '',
    NODE_OPTIONS: FUNCTION_NODE_OPTIONS,
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'AKIDBENCHMARK',
    AWS_SECRET_ACCESS_KEY: 'benchmark-secret',
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_LAMBDA_FUNCTION_NAME: 'bench',
    AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(memoryMB),
    POWERTOOLS_SERVICE_NAME: 'timesync-guard',
    POWERTOOLS_METRICS_NAMESPACE: 'TimeSyncGuard',
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
  };
}

/** One load: milliseconds spent in `require(bundle)` and the process RSS right after (MiB). */
export interface LoadSample {
  readonly loadMs: number;
  readonly rssMiB: number;
}

/**
 * Loads a bundle in a fresh process (deployed NODE_OPTIONS) and reads its `handler`. Fails when the
 * load required an on-demand file: the measured load is index.js's alone, as a start-up's should be.
 */
export function loadOnce(bundle: string): LoadSample {
  const probe = `const t=process.hrtime.bigint();const m=require(${JSON.stringify(bundle)});const ms=Number(process.hrtime.bigint()-t)/1e6;if(typeof m.handler!=='function')throw new Error('no handler export');const od=Object.keys(require.cache).filter((k)=>/[\\/]on-demand[\\/]/.test(k));if(od.length)throw new Error('on-demand files loaded at start-up: '+od.join(', '));process.stdout.write(JSON.stringify({loadMs:ms,rssMiB:process.memoryUsage.rss()/1048576}))`;
  const r = spawnSync(process.execPath, ['-e', probe], { env: lambdaLikeEnv(), encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  if (r.status !== 0) throw new Error(`loading ${bundle} failed (exit ${r.status}): ${r.stderr.slice(-1000)}`);
  return JSON.parse(r.stdout) as LoadSample;
}

const median = (v: readonly number[]): number => {
  const s = [...v].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const r1 = (v: number): number => Math.round(v * 10) / 10;
const r2 = (v: number): number => Math.round(v * 100) / 100;

/** Figures of one asset against the naive handler. */
export interface AssetColdLoad {
  readonly bytes: number;
  readonly sourceMapBytes: number;
  /** The SDK clients with code in index.js. */
  readonly sdkClients: string[];
  /** The on-demand files beside it (`on-demand/<name>.js`, loaded at first use, not at start-up): names, code bytes and the SDK clients in them. */
  readonly onDemand?: { readonly modules: string[]; readonly bytes: number; readonly sdkClients: string[] };
  /** The clients whose code runs at load (the rest are loaded on first use). */
  readonly startupClients: string[];
  readonly loadMsMedian: number;
  readonly rssMiBMedian: number;
  /** Median over pairs of asset / naive. */
  readonly timeRatio: number;
  readonly rssRatio: number;
  readonly naiveLoadMsMedian: number;
  readonly naiveRssMiBMedian: number;
  readonly pass: boolean;
}

/** The `coldLoad` key of bench/results.json. */
export interface ColdLoadResult {
  readonly method: string;
  readonly nodeOptions: string;
  readonly bundling: typeof FUNCTION_BUNDLING;
  readonly pairs: number;
  readonly targets: typeof COLD_LOAD_TARGETS;
  readonly naive: { readonly bytes: number; readonly sdkClients: string[] };
  readonly assets: Record<(typeof ASSETS)[number], AssetColdLoad>;
  readonly pass: boolean;
}

/** Bundles the assets and the naive handler, then measures `pairs` alternating pairs per asset. */
export async function measureColdLoad(pairs = 11): Promise<ColdLoadResult> {
  if (pairs < 10) throw new Error('cold load needs at least 10 pairs');
  const dir = mkdtempSync(join(tmpdir(), 'tsg-cold-load-'));
  try {
    const naiveFile = join(dir, 'naive.js');
    const naiveMeta = await bundleNaive(naiveFile);
    loadOnce(naiveFile); // warm the file cache once, for both sides alike
    const assets = {} as Record<(typeof ASSETS)[number], AssetColdLoad>;
    for (const name of ASSETS) {
      // A directory per handler, as its asset: index.js and its on-demand/ files.
      const file = join(dir, name, 'index.js');
      const { meta, onDemand } = await bundleAsDeployed(join(ROOT, 'lambda', 'handlers', `${name}.ts`), file);
      loadOnce(file);
      const a: LoadSample[] = [];
      const n: LoadSample[] = [];
      for (let k = 0; k < pairs; k++) {
        if (k % 2 === 0) {
          a.push(loadOnce(file));
          n.push(loadOnce(naiveFile));
        } else {
          n.push(loadOnce(naiveFile));
          a.push(loadOnce(file));
        }
      }
      const timeRatio = r2(median(a.map((x, k) => x.loadMs / n[k]!.loadMs)));
      const rssRatio = r2(median(a.map((x, k) => x.rssMiB / n[k]!.rssMiB)));
      assets[name] = {
        bytes: statSync(file).size,
        sourceMapBytes: statSync(`${file}.map`).size,
        sdkClients: clientPackages(meta),
        onDemand: {
          modules: onDemand.map((m) => m.name),
          bytes: onDemand.reduce((sum, m) => sum + statSync(m.file).size, 0),
          sdkClients: [...new Set(onDemand.flatMap((m) => clientPackages(m.metafile)))].sort(),
        },
        startupClients: await startupClientPackages(join(ROOT, 'lambda', 'handlers', `${name}.ts`), join(dir, `${name}-startup.js`)),
        loadMsMedian: r1(median(a.map((x) => x.loadMs))),
        rssMiBMedian: r1(median(a.map((x) => x.rssMiB))),
        timeRatio,
        rssRatio,
        naiveLoadMsMedian: r1(median(n.map((x) => x.loadMs))),
        naiveRssMiBMedian: r1(median(n.map((x) => x.rssMiB))),
        pass: timeRatio <= COLD_LOAD_TARGETS.timeRatio && rssRatio <= COLD_LOAD_TARGETS.rssRatio,
      };
    }
    return {
      method: `fresh node process per load, NODE_OPTIONS=${FUNCTION_NODE_OPTIONS}, time of require(bundle) and RSS right after; ${pairs} pairs per asset in alternating order; ratios are medians of per-pair ratios`,
      nodeOptions: FUNCTION_NODE_OPTIONS,
      bundling: FUNCTION_BUNDLING,
      pairs,
      targets: COLD_LOAD_TARGETS,
      naive: { bytes: statSync(naiveFile).size, sdkClients: clientPackages(naiveMeta) },
      assets,
      pass: Object.values(assets).every((x) => x.pass),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The README lines for the figures. */
export function renderColdLoad(c: ColdLoadResult): string {
  const lines = [
    `| asset | index.js KiB (map) | SDK clients in index.js | of which run at load | on-demand files: KiB, SDK clients | require ms (naive) | RSS MiB (naive) | time ratio (≤ ${c.targets.timeRatio}) | RSS ratio (≤ ${c.targets.rssRatio}) |`,
    '|---|---|---|---|---|---|---|---|---|',
  ];
  for (const [name, a] of Object.entries(c.assets)) {
    lines.push(
      `| ${name} | ${(a.bytes / 1024).toFixed(0)} (${(a.sourceMapBytes / 1024).toFixed(0)}) | ${a.sdkClients.join(', ')} | ${(a.startupClients ?? []).join(', ')} | ${a.onDemand ? `${(a.onDemand.bytes / 1024).toFixed(0)}: ${a.onDemand.sdkClients.join(', ')}` : '–'} | ${a.loadMsMedian} (${a.naiveLoadMsMedian}) | ${a.rssMiBMedian} (${a.naiveRssMiBMedian}) | ${a.timeRatio} ${a.timeRatio <= c.targets.timeRatio ? 'PASS' : 'MISS'} | ${a.rssRatio} ${a.rssRatio <= c.targets.rssRatio ? 'PASS' : 'MISS'} |`,
    );
  }
  lines.push('', `Naive handler: ${(c.naive.bytes / 1024).toFixed(0)} KiB, ${c.naive.sdkClients.join(', ')}. ${c.method}.`);
  return lines.join('\n');
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const pairsAt = argv.indexOf('--pairs');
  const pairs = pairsAt >= 0 ? Number(argv[pairsAt + 1]) : 11;
  const result = await measureColdLoad(pairs);
  const table = renderColdLoad(result);
  process.stdout.write(`${table}\n`);
  const outAt = argv.indexOf('--out');
  if (outAt >= 0) writeFileSync(argv[outAt + 1] ?? 'cold-load.json', JSON.stringify(result));
  if (!argv.includes('--no-write')) {
    mergeResults({ coldLoad: result });
    replaceReadmeSection('cold-load', table);
    process.stdout.write('merged coldLoad into bench/results.json and bench/README.md\n');
  }
  if (!result.pass) process.exitCode = 1;
}

if (require.main === module) {
  main().catch((e: unknown) => {
    process.stderr.write(`cold-load failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exit(1);
  });
}
