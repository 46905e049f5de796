/**
 * One measured run for bench/memory.ts, bundled like a Lambda asset and run in a fresh `node` with
 * the functions' NODE_OPTIONS: the real handler, the real SDK clients, wire-format answers from the
 * simulated account (`transport: 'wire'`). Prints one JSON line after the run. The simulated
 * account lives in the same process, so the peak is an upper bound of the Lambda's own. The line
 * also carries the run's full figures and bounds (`figures`), which `npm run bench` reports.
 * Usage: `node memory-entry.js check|remediation N`.
 */
import './env';
import { benchCheck, benchRemediation } from './drive';
import { checkFigures, remediationFigures } from './figures';

async function main(): Promise<void> {
  const [mode, nText] = process.argv.slice(2);
  const n = Number(nText);
  if ((mode !== 'check' && mode !== 'remediation') || !Number.isInteger(n) || n < 1) throw new Error('usage: memory-entry.js check|remediation N');
  const loadedRssMiB = process.memoryUsage.rss() / 2 ** 20;
  const cpu0 = process.cpuUsage();
  const run = mode === 'check' ? await benchCheck(n, {}, {}, {}, 'wire') : await benchRemediation(n, {}, 'wire');
  const measure = run.measure;
  const cpu = process.cpuUsage(cpu0);
  // The kernel's high-water mark of the process (every byte ever resident, not a sample), taken
  // before the bounds below rebuild a fleet.
  const peakRssMiB = process.resourceUsage().maxRSS / 1024;
  // The run's full figures and bounds (what worker.ts gives for a mocked run), so that one process per
  // (mode, N) serves both the engine's figures and the memory and CPU ones.
  const wire = (run.world.clients as { wire?: { stats: unknown } }).wire?.stats;
  // The only reference to the world from here on, so that dropping it frees the simulator.
  let held: typeof run.world | undefined = run.world;
  (run as { world?: unknown }).world = undefined;
  const simulatorMiB = simulatorRetainedMiB(() => {
    // Emptied as well as dropped: whatever still points at the account (a client's handler, the
    // clock) must not keep its state counted as the Lambda's.
    const account = held?.account;
    account?.restore();
    account?.commands.clear();
    account?.byId.clear();
    account?.modified.clear();
    if (account) account.notifications.length = 0;
    if (held) held.fleet.length = 0;
    held = undefined;
  });
  const figures = mode === 'check' ? checkFigures(n, run.measure as Parameters<typeof checkFigures>[1]) : remediationFigures(n, run.measure as Parameters<typeof remediationFigures>[1]);
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
 * The simulator's share of the heap at the end of the run, when it is largest (the account only
 * gathers: commands, invocations, outputs, the wire transport's EC2 model): the heap a full GC
 * keeps with the world (fleet, account, clients) minus what it keeps once the world is dropped
 * (`--expose-gc`, given by bench/memory.ts only for this). The engine's own objects are garbage by
 * then (the handler returned), so the difference is the simulator's. Taken off the whole peak, it
 * gives the Lambda's own; where the peak came before the account grew to this, that leans low by
 * at most the account's growth after the peak. 0 without `gc`.
 */
function simulatorRetainedMiB(drop: () => void): number {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) return 0;
  gc();
  const withWorld = process.memoryUsage().heapUsed;
  drop();
  gc();
  return Math.max(0, withWorld - process.memoryUsage().heapUsed) / 2 ** 20;
}

main().catch((e: unknown) => {
  process.stderr.write(`memory run failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});
