import { measureMemory } from '../../bench/memory';

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
    expect(m['withinConfiguredMemory']).toBe(false); // 64 MB is far below any measured peak
  }, 180_000);
});
