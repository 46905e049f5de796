/**
 * One measured run for bench/memory.ts, bundled like a Lambda asset and run in a fresh `node` with
 * the functions' NODE_OPTIONS: the real handler, the real SDK clients, wire-format answers from the
 * simulated account (`transport: 'wire'`). Prints one JSON line after the run. The simulated
 * account lives in the same process, so the peak is an upper bound of the Lambda's own. The line
 * also carries the run's full figures and bounds (`figures`), which `npm run bench` reports.
 * Usage: `node memory-entry.js check|remediation N`.
 */
import './env';
import { benchCheck, benchRemediation, createWorld } from './drive';
import { checkFigures, remediationFigures } from './figures';

async function main(): Promise<void> {
  const [mode, nText] = process.argv.slice(2);
  const n = Number(nText);
  if ((mode !== 'check' && mode !== 'remediation') || !Number.isInteger(n) || n < 1) throw new Error('usage: memory-entry.js check|remediation N');
  const loadedRssMiB = process.memoryUsage.rss() / 2 ** 20;
  const simulatorMiB = simulatorRetainedMiB(mode, n);
  const cpu0 = process.cpuUsage();
  const run = mode === 'check' ? await benchCheck(n, {}, {}, {}, 'wire') : await benchRemediation(n, {}, 'wire');
  const { measure, world } = run;
  const cpu = process.cpuUsage(cpu0);
  // The kernel's high-water mark of the process (every byte ever resident, not a sample), taken
  // before the bounds below rebuild a fleet.
  const peakRssMiB = process.resourceUsage().maxRSS / 1024;
  // The run's full figures and bounds (what worker.ts gives for a mocked run), so that one process per
  // (mode, N) serves both the engine's figures and the memory and CPU ones.
  const figures = mode === 'check' ? checkFigures(n, run.measure as Parameters<typeof checkFigures>[1]) : remediationFigures(n, run.measure as Parameters<typeof remediationFigures>[1]);
  const wire = (world.clients as { wire?: { stats: unknown } }).wire?.stats;
  process.stdout.write(
    `${JSON.stringify({
      mode,
      n,
      completed: 'completed' in measure ? measure.completed : (measure as { done?: boolean }).done,
      simulatedSeconds: measure.simulatedSeconds,
      cpuSeconds: (cpu.user + cpu.system) / 1e6,
      loadedRssMiB,
      peakRssMiB,
      simulatorMiB,
      // The Lambda's own view: the process's peak without the simulated account's share.
      lambdaPeakMiB: Math.max(loadedRssMiB, peakRssMiB - simulatorMiB),
      sampledPeakHeapUsedMiB: measure.peakHeapUsedMB,
      apiCalls: measure.apiCallsTotal,
      wire,
      figures,
    })}\n`,
  );
}

/**
 * The simulator's share of the heap: what building the run's world (the same deterministic fleet,
 * its indexes, the simulated account and the wire transport's EC2 model) retains, measured after a
 * full GC with and without it (`--expose-gc`, given by bench/memory.ts). The world is then dropped
 * and the run builds its own, identical one. Measured before the run, so what the account gathers
 * during it (commands, invocations, outputs) is not subtracted: the Lambda's peak derived from it
 * still leans high. 0 without `gc`.
 */
function simulatorRetainedMiB(mode: string, n: number): number {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) return 0;
  gc();
  const before = process.memoryUsage().heapUsed;
  let world: ReturnType<typeof createWorld> | undefined = createWorld(n, mode === 'remediation' ? { allHopLimitOne: true } : {}, {}, 'wire');
  gc();
  const held = process.memoryUsage().heapUsed - before;
  world.account.restore();
  world = undefined;
  gc();
  return Math.max(0, held) / 2 ** 20;
}

main().catch((e: unknown) => {
  process.stderr.write(`memory run failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});
