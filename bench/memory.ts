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
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build, type Plugin } from 'esbuild';
import { bundleOnDemand } from '../bin/bundle-on-demand';
import { trimSourceMapFile } from '../bin/trim-source-map';
import { COLLECTOR_STEP_TIMEOUT_SECONDS } from '../lib/constructs/guest-documents';
import { FUNCTION_BUNDLING, FUNCTION_MEMORY_MB, LAMBDA_MB_PER_VCPU } from '../lib/function-bundling';
import { lambdaLikeEnv, lambdaRuntimeNodeArgs } from './cold-load';
import { mergeResults, replaceReadmeSection } from './results-file';
import { vcpuOf, vcpuUsed } from './reading';

/** Sizes the benchmark reports (issue 11). */
export const MEMORY_SIZES = [1000, 10_000, 50_000] as const;

/** Issue 5's target: an account of up to 10,000 instances is checked and remediated in a 256 MB function. */
export const MEMORY_TARGET_MB = 256;
/** The largest fleet the 256 MB target covers. */
export const MEMORY_TARGET_MAX_N = 10_000;

/**
 * The function memory a run of N instances is measured in: the 256 MB target up to 10,000
 * instances (the run must fit in it), the configured memory above (the run must fit in what is
 * deployed). Never more than the configured memory.
 */
export function measuredMemoryMB(n: number, configuredMB: number = FUNCTION_MEMORY_MB): number {
  return n <= MEMORY_TARGET_MAX_N ? Math.min(MEMORY_TARGET_MB, configuredMB) : configuredMB;
}

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
  /** The simulated account's retained heap (memory-entry.ts), in the same process. @default 0 */
  readonly simulatorMiB?: number;
  /** The Lambda's own peak: peakRssMiB − simulatorMiB (at least the loaded RSS). @default peakRssMiB */
  readonly lambdaPeakMiB?: number;
  /** The function memory the process was started for (Lambda's runtime heap flags for it, `lambdaRuntimeNodeArgs`). */
  readonly memoryMB: number;
  readonly apiCalls: number;
  readonly wire?: { requestBytes: number; responseBytes: number; requests: number };
}

/** Bundles bench/memory-entry.ts with the deployed esbuild options into `dir`; returns the file. */
export async function bundleMemoryEntry(dir: string): Promise<string> {
  const bundle = join(dir, 'memory-entry.js');
  await build({ ...FUNCTION_BUNDLING, mainFields: [...FUNCTION_BUNDLING.mainFields], entryPoints: [join(__dirname, 'memory-entry.ts')], bundle: true, outfile: bundle, plugins: [noCdk], logLevel: 'silent' });
  // As deployed (lib/function-bundling.ts TRIM_SOURCE_MAP_SCRIPT): the map's size is part of the RSS measured.
  trimSourceMapFile(`${bundle}.map`);
  // As deployed: what the handlers load on first use is in files of its own beside the bundle.
  bundleOnDemand(dir, { ...FUNCTION_BUNDLING, mainFields: [...FUNCTION_BUNDLING.mainFields] }, 'memory-entry.js');
  return bundle;
}

/** One measured run and the run's full figures (memory-entry.ts prints both on one line). */
export interface MeasuredRun {
  readonly run: MemoryRun;
  readonly figures: Record<string, unknown>;
}

/**
 * Runs one (mode, N) in a fresh `node` started as Lambda starts a function of `memoryMB`: the
 * runtime's heap flags for that memory and the functions' NODE_OPTIONS (async, so several can run at once).
 */
export function runMeasured(bundle: string, mode: MemoryRun['mode'], n: number, memoryMB: number = measuredMemoryMB(n)): Promise<MeasuredRun> {
  return new Promise((resolve, reject) => {
    // --expose-gc only lets the entry measure the simulator's share before the run (a full GC then).
    const child = spawn(process.execPath, [...lambdaRuntimeNodeArgs(memoryMB), '--expose-gc', bundle, mode, String(n)], { env: lambdaLikeEnv(memoryMB), stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    let err = '';
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => (err = (err + d.toString('utf8')).slice(-4000)));
    child.on('error', reject);
    child.on('close', (status) => {
      if (status !== 0) return reject(new Error(`memory run ${mode} ${n} failed (exit ${status}): ${err.slice(-2000)}`));
      try {
        const line = Buffer.concat(out).toString('utf8').trim().split('\n').pop() ?? '';
        const { figures, ...run } = JSON.parse(line) as Omit<MemoryRun, 'memoryMB'> & { figures: Record<string, unknown> };
        resolve({ run: { ...run, memoryMB }, figures });
      } catch (e) {
        reject(e instanceof Error ? e : new Error(String(e)));
      }
    });
  });
}

/** Lambda memory is set in steps of this many MB by the sizing rule (any MB from 128 is allowed; the rule rounds to it). */
export const MEMORY_STEP_MB = 64;
/** Headroom of the sizing rule over the largest measured peak. */
export const MEMORY_HEADROOM = 1.25;

/** The sizing rule: ⌈1.25 × peak / 64⌉ × 64 MB, the peak in MiB (Lambda's "MB" are MiB). */
export function sizedMemoryMB(peakMiB: number): number {
  return Math.max(128, Math.ceil((MEMORY_HEADROOM * peakMiB) / MEMORY_STEP_MB) * MEMORY_STEP_MB);
}

/** Whether the configured memory is within one 64 MB step of what the rule gives, either way. */
export function memorySizedByRule(configuredMB: number, peakMiB: number): boolean {
  return Math.abs(configuredMB - sizedMemoryMB(peakMiB)) <= MEMORY_STEP_MB;
}

const lambdaPeak = (x: MemoryRun): number => x.lambdaPeakMiB ?? x.peakRssMiB;

/** The `memory` key of results.json from the measured runs (check first, then remediation, per N). */
export function memoryKey(runs: readonly MemoryRun[], limitMB: number = FUNCTION_MEMORY_MB): Record<string, unknown> {
  const sizes = [...new Set(runs.map((x) => x.n))].sort((a, b) => a - b);
  const perN = sizes.map((n) => {
    const mine = runs.filter((x) => x.n === n).sort((a, b) => (a.mode < b.mode ? -1 : a.mode > b.mode ? 1 : 0));
    const peak = Math.max(...mine.map((x) => x.peakRssMiB));
    return {
      n,
      peakRssMiB: round1(peak),
      peakRssMB: round1((peak * 2 ** 20) / 1e6),
      cpuSeconds: Object.fromEntries(mine.map((x) => [x.mode, round2(x.cpuSeconds)])),
      lambdaPeakMiB: round1(Math.max(...mine.map(lambdaPeak))),
      runs: mine.map((x) => ({
        ...x,
        peakRssMiB: round1(x.peakRssMiB),
        loadedRssMiB: round1(x.loadedRssMiB),
        cpuSeconds: round2(x.cpuSeconds),
        ...(x.simulatorMiB !== undefined ? { simulatorMiB: round1(x.simulatorMiB) } : {}),
        ...(x.lambdaPeakMiB !== undefined ? { lambdaPeakMiB: round1(x.lambdaPeakMiB) } : {}),
      })),
    };
  });
  const largest = Math.max(...perN.map((x) => x.peakRssMiB));
  // Sizing reads the Lambda's own peak (without the simulator's share), the largest over every run.
  const largestLambda = round1(Math.max(...runs.map(lambdaPeak)));
  return {
    method:
      'bench/memory-entry.ts bundled with lib/function-bundling.ts, one fresh node per run started as Lambda starts a function of the run\'s memoryMB (the runtime\'s heap flags, the functions\' NODE_OPTIONS); real handler + real SDK clients; answers in wire format (EC2 query/XML, SSM and EventBridge JSON 1.1, SNS query); peak = kernel maxRSS, simulator included (upper bound)',
    configuredMemoryMB: limitMB,
    sizes: perN,
    largestPeakRssMiB: largest,
    largestLambdaPeakMiB: largestLambda,
    sizedMemoryMB: sizedMemoryMB(largestLambda),
    sizedByRule: memorySizedByRule(limitMB, largestLambda),
    // Every run must fit in the memory it was started for, and that memory in what is deployed.
    // Lambda's "MB" memory setting is MiB (128 MB = 134,217,728 bytes), so MiB compare directly.
    withinConfiguredMemory: runs.every((x) => x.peakRssMiB <= x.memoryMB && x.memoryMB <= limitMB),
  };
}

/**
 * Bundles the entry as deployed, runs every (mode, N) in its own process, returns the `memory` key.
 * The remediation runs only up to `remediationMaxN` (its targets are set at 1,000 and 10,000).
 */
export async function measureMemory(sizes: readonly number[] = MEMORY_SIZES, limitMB: number = FUNCTION_MEMORY_MB, remediationMaxN = 10_000): Promise<Record<string, unknown>> {
  const dir = mkdtempSync(join(tmpdir(), 'tsg-memory-'));
  try {
    const bundle = await bundleMemoryEntry(dir);
    const runs: MemoryRun[] = [];
    for (const n of sizes) {
      for (const mode of ['check', 'remediation'] as const) {
        if (mode === 'remediation' && n > remediationMaxN) continue;
        process.stderr.write(`memory: ${mode} N=${n}…\n`);
        runs.push((await runMeasured(bundle, mode, n, measuredMemoryMB(n, limitMB))).run);
      }
    }
    return memoryKey(runs, limitMB);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const round1 = (v: number): number => Math.round(v * 10) / 10;
const round2 = (v: number): number => Math.round(v * 100) / 100;

const vcpu = (mb: number): string => vcpuOf(mb).toFixed(2);

/** README rows. */
export function renderMemory(m: Record<string, unknown>): string {
  const lines = [
    '| N | function memory MB | peak RSS MiB (check / remediation) | simulator share MiB (check / remediation) | Lambda peak MiB (check / remediation) | CPU s (check / remediation) | vCPU used: CPU s ÷ simulated s (check / remediation) | wire bytes in (check) |',
    '|---|---|---|---|---|---|---|---|',
  ];
  const share = (x?: MemoryRun): string => (x && x.simulatedSeconds > 0 ? vcpuUsed(x).toFixed(3) : '–');
  for (const s of m['sizes'] as { n: number; runs: MemoryRun[] }[]) {
    const c = s.runs.find((x) => x.mode === 'check');
    const r = s.runs.find((x) => x.mode === 'remediation');
    lines.push(
      `| ${s.n.toLocaleString('en-US')} | ${c?.memoryMB ?? r?.memoryMB ?? '–'} | ${c?.peakRssMiB ?? '–'} / ${r?.peakRssMiB ?? 'not run'} | ${c?.simulatorMiB ?? '–'} / ${r?.simulatorMiB ?? '–'} | ${c?.lambdaPeakMiB ?? '–'} / ${r?.lambdaPeakMiB ?? 'not run'} | ${c?.cpuSeconds ?? '–'} / ${r?.cpuSeconds ?? '–'} | ${share(c)} / ${share(r)} | ${c?.wire ? (c.wire.responseBytes / 2 ** 20).toFixed(1) + ' MiB' : '-'} |`,
    );
  }
  lines.push(
    '',
    `Configured Lambda memory: ${String(m['configuredMemoryMB'])} MB; largest measured peak ${String(m['largestPeakRssMiB'])} MiB with the simulator, ${String(m['largestLambdaPeakMiB'] ?? '–')} MiB the Lambda's own; every run within the memory it ran in: ${m['withinConfiguredMemory'] ? 'PASS' : 'FAIL'}.`,
    `Sizing rule ⌈${MEMORY_HEADROOM} × ${String(m['largestLambdaPeakMiB'] ?? '–')} / ${MEMORY_STEP_MB}⌉ × ${MEMORY_STEP_MB} = ${String(m['sizedMemoryMB'] ?? '–')} MB; configured within one ${MEMORY_STEP_MB} MB step of it: ${m['sizedByRule'] ? 'PASS' : 'FAIL'}.`,
    `Lambda gives a function CPU in proportion to its memory, one vCPU at ${LAMBDA_MB_PER_VCPU.toLocaleString('en-US')} MB: ${String(m['configuredMemoryMB'])} MB is ${vcpu(Number(m['configuredMemoryMB']))} vCPU, ${MEMORY_TARGET_MB} MB ${vcpu(MEMORY_TARGET_MB)}.`);
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
  if (!m['sizedByRule']) {
    process.stderr.write(`memory: the configured ${FUNCTION_MEMORY_MB} MB is more than one ${MEMORY_STEP_MB} MB step from the sizing rule's ${String(m['sizedMemoryMB'])} MB\n`);
    process.exitCode = 1;
  }
}

if (require.main === module) {
  main().catch((e: unknown) => {
    process.stderr.write(`memory failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exit(1);
  });
}
