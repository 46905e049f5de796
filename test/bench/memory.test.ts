import { FUNCTION_MEMORY_MB } from '../../lib/function-bundling';
import { lambdaLikeEnv, lambdaRuntimeNodeArgs } from '../../bench/cold-load';
import { measuredMemoryMB, measureMemory, memoryKey, memorySizedByRule, sizedMemoryMB } from '../../bench/memory';

/** One small end-to-end run of the memory benchmark: bundled entry, deployed NODE_OPTIONS, wire-format answers. */
describe('memory benchmark', () => {
  it('measures peak RSS and CPU of both handlers through the real SDK clients, and fails a peak over the configured memory', async () => {
    const m = await measureMemory([200], 64);
    const [size] = m['sizes'] as { n: number; peakRssMiB: number; runs: { mode: string; completed: boolean; peakRssMiB: number; loadedRssMiB: number; cpuSeconds: number; wire: { responseBytes: number; requests: number } }[] }[];
    expect(size!.n).toBe(200);
    for (const run of size!.runs) {
      expect(run.completed).toBe(true);
      expect(run.peakRssMiB).toBeGreaterThan(run.loadedRssMiB);
      expect(run.cpuSeconds).toBeGreaterThan(0);
      // Real wire traffic went through the adapter (XML and JSON bodies), not mocked sends.
      expect(run.wire.requests).toBeGreaterThan(5);
      expect(run.wire.responseBytes).toBeGreaterThan(50_000);
    }
    expect(size!.runs.map((r) => r.mode)).toEqual(['check', 'remediation']);
    // The simulator's share is measured in the same process and taken off: the Lambda's own peak is lower, never below the loaded code.
    for (const run of size!.runs as unknown as { simulatorMiB: number; lambdaPeakMiB: number; peakRssMiB: number; loadedRssMiB: number }[]) {
      expect(run.simulatorMiB).toBeGreaterThan(0);
      expect(run.lambdaPeakMiB).toBeCloseTo(Math.max(run.loadedRssMiB, run.peakRssMiB - run.simulatorMiB), 0);
    }
    expect(m['withinConfiguredMemory']).toBe(false); // 64 MB is far below any measured peak
    expect(m['sizedByRule']).toBe(false); // and far more than one 64 MB step below what the rule gives
  }, 180_000);
});

describe('the function memory a run is measured in', () => {
  it('starts a process with the heap flags Lambda\'s Node.js runtime gives a function of that memory', () => {
    // /var/runtime/bootstrap: new space = memory / 10, semi-space = half of it, old space = the rest.
    expect(lambdaRuntimeNodeArgs(256)).toEqual(['--max-semi-space-size=12', '--max-old-space-size=231']);
    expect(lambdaRuntimeNodeArgs(576)).toEqual(['--max-semi-space-size=28', '--max-old-space-size=519']);
    expect(lambdaLikeEnv(256)['AWS_LAMBDA_FUNCTION_MEMORY_SIZE']).toBe('256');
    expect(lambdaLikeEnv()['AWS_LAMBDA_FUNCTION_MEMORY_SIZE']).toBe(String(FUNCTION_MEMORY_MB));
  });

  it('measures fleets up to 10,000 in a 256 MB function (the target) and larger ones in the configured memory', () => {
    expect(measuredMemoryMB(1000)).toBe(256);
    expect(measuredMemoryMB(10_000)).toBe(256);
    expect(measuredMemoryMB(50_000)).toBe(FUNCTION_MEMORY_MB);
    // Never more than what is deployed.
    expect(measuredMemoryMB(1000, 128)).toBe(128);
  });

  it('fails a run whose peak is over the memory it ran in, even when the configured memory is larger', () => {
    const run = { mode: 'check' as const, n: 10_000, completed: true, simulatedSeconds: 1, cpuSeconds: 1, loadedRssMiB: 90, apiCalls: 1 };
    expect(memoryKey([{ ...run, peakRssMiB: 250, memoryMB: 256 }], 576)['withinConfiguredMemory']).toBe(true);
    expect(memoryKey([{ ...run, peakRssMiB: 260, memoryMB: 256 }], 576)['withinConfiguredMemory']).toBe(false);
    expect(memoryKey([{ ...run, peakRssMiB: 500, memoryMB: 576 }], 512)['withinConfiguredMemory']).toBe(false);
  });
});

describe('the sizing rule', () => {
  it('sizes memory at ⌈1.25 × the Lambda\'s own peak / 64⌉ × 64 MB: 512 MB for a 400 MiB peak, 576 for 420', () => {
    expect(sizedMemoryMB(400)).toBe(512);
    expect(sizedMemoryMB(420)).toBe(576);
    expect(sizedMemoryMB(10)).toBe(128);
  });

  it('fails a configured memory more than one 64 MB step off either way', () => {
    expect(memorySizedByRule(512, 400)).toBe(true);
    expect(memorySizedByRule(576, 400)).toBe(true);
    expect(memorySizedByRule(448, 400)).toBe(true);
    expect(memorySizedByRule(640, 400)).toBe(false);
    expect(memorySizedByRule(384, 400)).toBe(false);
  });

  it('sizes on the Lambda\'s own peak (simulator share taken off), and says when the configured memory is off', () => {
    const run = { mode: 'check' as const, n: 50_000, completed: true, simulatedSeconds: 1, cpuSeconds: 1, loadedRssMiB: 90, apiCalls: 1, memoryMB: 576 };
    const m = memoryKey([{ ...run, peakRssMiB: 390, simulatorMiB: 60, lambdaPeakMiB: 330 }], 576);
    expect(m['largestLambdaPeakMiB']).toBe(330);
    expect(m['sizedMemoryMB']).toBe(448);
    expect(m['sizedByRule']).toBe(false);
    expect(memoryKey([{ ...run, peakRssMiB: 390, simulatorMiB: 60, lambdaPeakMiB: 330 }], 448)['sizedByRule']).toBe(true);
  });
});
