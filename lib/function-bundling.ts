/**
 * How the guard's Lambdas are bundled and started, as plain data: the construct
 * (`constructs/guard-function.ts`) maps it onto NodejsFunction, and the benchmark (bench/cold-load.ts,
 * bench/memory.ts) builds and runs the same bundles from it, so what is measured cannot drift from
 * what is deployed. No aws-cdk-lib import: a benchmark process loads this without the CDK.
 */
import { join } from 'node:path';

/** esbuild options of every guard function (NodejsFunction passes these to the local esbuild). */
export const FUNCTION_BUNDLING = {
  platform: 'node',
  /** The runtime's Node.js major (Runtime.NODEJS_24_X). */
  target: 'node24',
  format: 'cjs',
  minify: true,
  sourcemap: true,
  sourcesContent: false,
  /**
   * ES-module builds first: the SDK's `dist-es` tree-shakes (only the commands and schemas a handler
   * uses stay), where its CommonJS build pulls each client whole. bench/README.md "Cold load" has
   * the measured effect.
   */
  mainFields: ['module', 'main'],
} as const;

/**
 * The script that keeps a bundle's source map to the project's own code (bin/trim-source-map.js),
 * run on every bundle after esbuild: by the construct (NodejsFunction's afterBundling hook) and by
 * the benchmark, so the measured bundle is the deployed one. Node parses the whole map at load with
 * --enable-source-maps; the SDK's share of it cost about a fifth of the check bundle's load time.
 */
export const TRIM_SOURCE_MAP_SCRIPT = join(__dirname, '..', 'bin', 'trim-source-map.js');

/**
 * The script that bundles, beside a handler's index.js, the on-demand modules it loads on first use
 * (bin/bundle-on-demand.js: `on-demand/<name>.js`, lambda/aws/on-demand-loader.ts), run after esbuild
 * by the construct and by the benchmark: code in index.js is parsed at every start-up, run or not.
 */
export const BUNDLE_ON_DEMAND_SCRIPT = join(__dirname, '..', 'bin', 'bundle-on-demand.js');

/** NODE_OPTIONS of every guard function: readable stack traces of our own code in the logs (costs load time and RSS, measured with it). */
export const FUNCTION_NODE_OPTIONS = '--enable-source-maps';

/**
 * Memory of every guard function, in MB. Sized from the benchmark's measured peaks (see
 * constructs/guard-function.ts); here, CDK-free, so the benchmark's cost model and memory check
 * read the same number the construct deploys.
 */
export const FUNCTION_MEMORY_MB = 512;

/**
 * Lambda gives a function CPU in proportion to its memory: one vCPU's worth at this many MB (Lambda
 * developer guide, "Configuring Lambda function memory"). The benchmark compares it with the CPU its
 * runs use per simulated second.
 */
export const LAMBDA_MB_PER_VCPU = 1769;
