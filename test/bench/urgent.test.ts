/**
 * The urgent path's benchmark figures (bench/urgent.ts): a simulated day of hourly checks with the
 * real check and remediate handlers. Its invariants are the promise: every host found
 * urgent fixed within one hour of the check that found it, nothing else changed by day, a host
 * pushed back every hour taken once and left to the night. Checked on a fresh, smaller day and on
 * the figures written to bench/results.json (when that file has them).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { benchUrgent, type UrgentFigures } from '../../bench/urgent';

function expectInvariants(f: Pick<UrgentFigures, 'hosts' | 'fixedWithinOneHour' | 'medianDetectToFixSeconds' | 'nonUrgentChanged'>): void {
  expect(f.hosts).toBeGreaterThan(0);
  expect(f.fixedWithinOneHour).toBe(f.hosts);
  expect(f.medianDetectToFixSeconds).toBeGreaterThan(0);
  expect(f.medianDetectToFixSeconds).toBeLessThanOrEqual(3600);
  expect(f.nonUrgentChanged).toBe(0);
}

describe('urgent path over a simulated day (bench/urgent.ts)', () => {
  let f: UrgentFigures;
  beforeAll(async () => {
    f = await benchUrgent(150, 6, 5);
  }, 120_000);

  it('fixes every host found urgent within one hour of the check that found it, and changes nothing else by day', () => {
    expectInvariants(f);
    expect(f.driftedFound).toBe(f.drifted);
  });

  it('takes the host whose clock is pushed back every hour once, reports it after, and leaves it to the night', () => {
    expect(f.repeatHost.urgentRuns).toBe(1);
    expect(f.repeatHost.repeatsReported).toBeGreaterThanOrEqual(20);
    expect(f.repeatHost.fixedByNextNight).toBe(true);
  });

  it('never overlaps a run (the check waits; the overlap guard skips nothing) and tells each urgent run what the day spent', () => {
    expect(f.skippedOverlap).toBe(0);
    expect(f.urgentExecutions).toBeGreaterThan(0);
    expect(f.urgentExecutions).toBeLessThanOrEqual(24);
    expect(f.maxCapSpent).toBeGreaterThan(0);
  });
});

describe('the urgent figures in bench/results.json', () => {
  const all = JSON.parse(readFileSync(join(__dirname, '../../bench/results.json'), 'utf8')) as { urgent?: UrgentFigures };
  (all.urgent ? it : it.skip)('hold the same invariants', () => {
    expectInvariants(all.urgent!);
  });
});
