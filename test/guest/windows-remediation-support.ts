/**
 * What the windows-remediation-*.test.ts files share: running the real remediate-windows.ps1 under
 * pwsh against a fake Windows (windows-harness.ts) and reading its result line. Test code only.
 */
import { parseRemediationOutput } from '../../lambda/core/remediation/guest-result';
import { type BatchCase, type FakeState, fakeWindows, runBatch, stockWindows, TRIGGERS } from './windows-harness';

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

/** A run of {@link remediateBatch}: {@link BatchCase} with the script's arguments over {@link TEST_ARGS}. */
export type RemediationCase = BatchCase;

/** {@link remediate} for many cases in one pwsh process (see runBatch): each run's output, result and the state it left. */
export function remediateBatch(cases: readonly RemediationCase[]) {
  const { runs, stderr } = runBatch(
    'remediate-windows.ps1',
    cases.map((c) => ({ ...c, args: { ...TEST_ARGS, ...c.args } })),
  );
  return { runs: runs.map((r) => ({ ...r, outcome: parseRemediationOutput(r.stdout) })), stderr };
}

export type Run = ReturnType<typeof remediateBatch>['runs'][number];

/**
 * A test of one or more runs: the first on a fresh fake Windows from `state`, each further one on
 * the same host as the run before left it (`args` per run). `check` sees every run and the state it started from.
 */
export interface Scenario {
  name: string;
  state: FakeState;
  runs?: readonly Record<string, string>[];
  check: (runs: Run[], before: FakeState) => void;
}

/**
 * Registers one test per scenario; all their runs go through one pwsh process (remediateBatch),
 * started before the first test. A run that printed to stderr fails its own file's first test.
 */
export function scenarioTests(scenarios: readonly Scenario[]): void {
  const cases: RemediationCase[] = [];
  const at: number[] = [];
  for (const s of scenarios) {
    const runs = s.runs ?? [{}];
    at.push(cases.length);
    runs.forEach((args, k) => cases.push(k === 0 ? { state: s.state, args } : { again: true, args }));
  }
  let runs: Run[] = [];
  let stderr = '';
  beforeAll(() => {
    ({ runs, stderr } = remediateBatch(cases));
  });
  it('writes nothing to stderr in any of its runs', () => {
    expect(stderr).toBe('');
  });
  it.each(scenarios.map((s, i) => [s.name, i] as const))('%s', (_name, i) => {
    const s = scenarios[i]!;
    s.check(runs.slice(at[i], at[i]! + (s.runs ?? [{}]).length), s.state);
  });
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
