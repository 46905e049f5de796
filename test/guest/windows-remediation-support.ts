/**
 * What the windows-remediation-*.test.ts files share: running the real remediate-windows.ps1 under
 * pwsh against a fake Windows (windows-harness.ts) and reading its result line. Test code only.
 */
import { parseRemediationOutput } from '../../lambda/core/remediation/guest-result';
import { type BatchRun, type BatchScenario, batchTests, type FakeState, fakeWindows, stockWindows, TRIGGERS } from './windows-harness';

/**
 * Test values of the script's waits: verification 4 s, a pending service start/stop 3 s (the
 * documents pass the production 30 s). Shortened by parameter: the same code waits, for less.
 */
export const TEST_ARGS = { VerifySeconds: '4', ServiceWaitSeconds: '3' } as const;

/** The TriggerInfo subkeys of a state. */
export function triggers(s: FakeState) {
  return Object.fromEntries(Object.entries(s.registry).filter(([k]) => k.startsWith(`${TRIGGERS}\\`)));
}

/** A stock host without any service trigger. */
export function noTriggers(over: Partial<FakeState> = {}): FakeState {
  const s = stockWindows(over);
  for (const k of Object.keys(triggers(s))) delete s.registry[k];
  return s;
}

/** One run of the script on a fresh fake Windows: its output, parsed result and the state it left. */
export function remediate(state: FakeState, args: Record<string, string> = {}) {
  const w = fakeWindows(state);
  try {
    const r = w.run('remediate-windows.ps1', { ...TEST_ARGS, ...args });
    return { ...r, outcome: parseRemediationOutput(r.stdout), after: w.state() };
  } finally {
    w.cleanup();
  }
}

/** Runs the fix (`check` sees the first run), then again: the second run is already-compliant and writes nothing. */
export function fixThenRerun(state: FakeState, check: (stdout: string, after: FakeState) => void, args: Record<string, string> = {}): FakeState {
  const w = fakeWindows(state);
  try {
    const first = w.run('remediate-windows.ps1', { ...TEST_ARGS, VerifySeconds: '10', ...args });
    expect(parseRemediationOutput(first.stdout)).toMatchObject({ result: 'changed', action: 'set-amazon-time-sync' });
    expect(first.code).toBe(0);
    const s = w.state();
    check(first.stdout, s);
    const second = w.run('remediate-windows.ps1', { ...TEST_ARGS, VerifySeconds: '10', ...args });
    expect(parseRemediationOutput(second.stdout)).toMatchObject({ result: 'already-compliant' });
    expect(w.state().registry).toEqual(s.registry);
    expect(w.state().writes).toBe(s.writes);
    return w.state();
  } finally {
    w.cleanup();
  }
}

/** A batched run of the script: {@link BatchRun} with its parsed result line. */
export type Run = BatchRun & { outcome: ReturnType<typeof parseRemediationOutput> };

/** A {@link BatchScenario} of remediate-windows.ps1. */
export type Scenario = BatchScenario<Run>;

/**
 * One test per scenario of remediate-windows.ps1 (see batchTests), run with {@link TEST_ARGS} under
 * each run's own arguments; `check` sees each run's parsed result line too.
 */
export function scenarioTests(scenarios: readonly Scenario[], processes = 1): void {
  batchTests('remediate-windows.ps1', scenarios, (r) => ({ ...r, outcome: parseRemediationOutput(r.stdout) }), { args: TEST_ARGS, processes });
}

/** The checks of {@link fixThenRerun} for a scenario with two runs: changed, then already-compliant with nothing written. */
export function expectFixedThenCompliant(runs: Run[]): FakeState {
  const [first, second] = runs;
  expect(first!.outcome).toMatchObject({ result: 'changed', action: 'set-amazon-time-sync' });
  expect(first!.code).toBe(0);
  expect(second!.outcome).toMatchObject({ result: 'already-compliant' });
  expect(second!.after.registry).toEqual(first!.after.registry);
  expect(second!.after.writes).toBe(first!.after.writes);
  return first!.after;
}
