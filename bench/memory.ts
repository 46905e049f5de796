/**
 * Measured peak memory and CPU of the check and the remediation per fleet size (issue 11, item 3).
 *
 * bench/memory-entry.ts is bundled with the deployed esbuild options (lib/function-bundling.ts) and
 * run in a fresh `node` per (mode, N) with the functions' own NODE_OPTIONS. Inside, the real handler
 * drives the real SDK clients; the wire adapter answers from the simulated account in each
 * service's wire format, so request serialization and response parsing (EC2 XML, SSM JSON) are in
 * the CPU and memory figures. Peak RSS is the kernel's high-water mark (`resourceUsage().maxRSS`).
 * It includes the simulated account (fleet, commands, the EC2 model used to write XML), so it is an
 * upper bound of the Lambda's own.
 *
 * `npx tsx bench/memory.ts [--n 1000,10000,50000] [--no-write]` merges the `memory` key into
 * bench/results.json and exits 1 when a measured peak exceeds the configured Lambda memory.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build, type Plugin } from 'esbuild';
import { COLLECTOR_STEP_TIMEOUT_SECONDS } from '../lib/constructs/guest-documents';
import { FUNCTION_MEMORY_MB } from '../lib/constructs/guard-function';
import { FUNCTION_BUNDLING } from '../lib/function-bundling';
import { lambdaLikeEnv } from './cold-load';
import { mergeResults, replaceReadmeSection } from './results-file';

/** Sizes the benchmark reports (issue 11). */
export const MEMORY_SIZES = [1000, 10_000, 50_000] as const;

/**
 * The simulator reads one constant from the CDK construct module; the measured bundle gets that
 * constant alone, so that aws-cdk-lib (never in a Lambda) is not in the measured process.
 */
const noCdk: Plugin = {
  name: 'no-cdk',
  setup(b) {
    b.onResolve({ filter: /constructs\/guest-documents$/ }, () => ({ path: 'guest-documents', namespace: 'tsg-stub' }));
    b.onLoad({ filter: /.*/, namespace: 'tsg-stub' }, () => ({ contents: `export const COLLECTOR_STEP_TIMEOUT_SECONDS = ${COLLECTOR_STEP_TIMEOUT_SECONDS};`, loader: 'js' }));
  },
};

/** One measured run. */
export interface MemoryRun {
  readonly mode: 'check' | 'remediation';
  readonly n: number;
  readonly completed: boolean;
  readonly simulatedSeconds: number;
  readonly cpuSeconds: number;
  readonly loadedRssMiB: number;
  readonly peakRssMiB: number;
  readonly apiCalls: number;
  readonly wire?: { requestBytes: number; responseBytes: number; requests: number };
}

/** Bundles the entry as deployed, runs every (mode, N) in its own process, returns the `memory` key. */
export async function measureMemory(sizes: readonly number[] = MEMORY_SIZES, limitMB: number = FUNCTION_MEMORY_MB): Promise<Record<string, unknown>> {
  const dir = mkdtempSync(join(tmpdir(), 'tsg-memory-'));
  try {
    const bundle = join(dir, 'memory-entry.js');
    await build({ ...FUNCTION_BUNDLING, mainFields: [...FUNCTION_BUNDLING.mainFields], entryPoints: [join(__dirname, 'memory-entry.ts')], bundle: true, outfile: bundle, plugins: [noCdk], logLevel: 'silent' });
    const perN: Record<string, unknown>[] = [];
    for (const n of sizes) {
      const runs: MemoryRun[] = [];
      for (const mode of ['check', 'remediation'] as const) {
        process.stderr.write(`memory: ${mode} N=${n}…\n`);
        const r = spawnSync(process.execPath, [bundle, mode, String(n)], { env: lambdaLikeEnv(), encoding: 'utf8', maxBuffer: 64 * 2 ** 20 });
        if (r.status !== 0) throw new Error(`memory run ${mode} ${n} failed (exit ${r.status}): ${r.stderr.slice(-2000)}`);
        const line = r.stdout.trim().split('\n').pop() ?? '';
        runs.push(JSON.parse(line) as MemoryRun);
      }
      const peak = Math.max(...runs.map((x) => x.peakRssMiB));
      perN.push({
        n,
        peakRssMiB: round1(peak),
        peakRssMB: round1((peak * 2 ** 20) / 1e6),
        cpuSeconds: Object.fromEntries(runs.map((x) => [x.mode, round2(x.cpuSeconds)])),
        runs: runs.map((x) => ({ ...x, peakRssMiB: round1(x.peakRssMiB), loadedRssMiB: round1(x.loadedRssMiB), cpuSeconds: round2(x.cpuSeconds) })),
      });
    }
    const largest = Math.max(...perN.map((x) => x['peakRssMiB'] as number));
    return {
      method:
        'bench/memory-entry.ts bundled with lib/function-bundling.ts, one fresh node per run with the functions\' NODE_OPTIONS; real handler + real SDK clients; answers in wire format (EC2 query/XML, SSM and EventBridge JSON 1.1, SNS query); peak = kernel maxRSS, simulator included (upper bound)',
      configuredMemoryMB: limitMB,
      sizes: perN,
      largestPeakRssMiB: largest,
      // Lambda's "MB" memory setting is MiB (128 MB = 134,217,728 bytes), so MiB compare directly.
      withinConfiguredMemory: largest <= limitMB,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const round1 = (v: number): number => Math.round(v * 10) / 10;
const round2 = (v: number): number => Math.round(v * 100) / 100;

/** README rows. */
export function renderMemory(m: Record<string, unknown>): string {
  const lines = ['| N | peak RSS MiB (check / remediation) | CPU s (check / remediation) | wire bytes in (check) |', '|---|---|---|---|'];
  for (const s of m['sizes'] as { n: number; runs: MemoryRun[] }[]) {
    const [c, r] = s.runs;
    lines.push(`| ${s.n.toLocaleString('en-US')} | ${c!.peakRssMiB} / ${r!.peakRssMiB} | ${c!.cpuSeconds} / ${r!.cpuSeconds} | ${c!.wire ? (c!.wire.responseBytes / 2 ** 20).toFixed(1) + ' MiB' : '-'} |`);
  }
  lines.push('', `Configured Lambda memory: ${String(m['configuredMemoryMB'])} MB; largest measured peak ${String(m['largestPeakRssMiB'])} MiB: ${m['withinConfiguredMemory'] ? 'PASS' : 'FAIL'}.`);
  return lines.join('\n');
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const at = argv.indexOf('--n');
  const sizes = at >= 0 ? (argv[at + 1] ?? '').split(',').map(Number).filter((x) => Number.isInteger(x) && x > 0) : [...MEMORY_SIZES];
  const m = await measureMemory(sizes);
  const table = renderMemory(m);
  process.stdout.write(`${table}\n`);
  if (!argv.includes('--no-write')) {
    mergeResults({ memory: m });
    replaceReadmeSection('memory', table);
  }
  if (!m['withinConfiguredMemory']) {
    process.stderr.write(`memory: a measured peak exceeds the configured ${FUNCTION_MEMORY_MB} MB\n`);
    process.exitCode = 1;
  }
}

if (require.main === module) {
  main().catch((e: unknown) => {
    process.stderr.write(`memory failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exit(1);
  });
}
