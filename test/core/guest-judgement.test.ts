import { guestStepStops, judgeGuestResult, maxErrorsCount, type GuestOutcome } from '../../lambda/core/remediation/guest-judgement';
import { buildSummary, summarySubject } from '../../lambda/core/remediation/summary';

const parsed = (g: GuestOutcome) => () => g;

describe('judgeGuestResult', () => {
  it.each<[string, Parameters<typeof judgeGuestResult>[0], GuestOutcome | 'throws', string, string | undefined, boolean]>([
    ['no result', undefined, { result: 'changed' }, 'failed', 'no-result', true],
    ['denied by IAM (the owner’s word)', { state: 'denied', status: 'AccessDenied' }, { result: 'changed' }, 'skipped', 'access-denied', false],
    ['changed', { state: 'success', output: 'x' }, { result: 'changed' }, 'verified', undefined, false],
    ['already compliant', { state: 'success', output: 'x' }, { result: 'already-compliant' }, 'skipped', 'already-compliant', false],
    ['skipped by the guest', { state: 'success', output: 'x' }, { result: 'skipped', reason: 'domain-member' }, 'skipped', 'domain-member', false],
    ['rolled back', { state: 'failed', output: 'x' }, { result: 'rolled-back' }, 'rolled-back', 'verification-failed', true],
    ['a dry-run answer to a real run', { state: 'success', output: 'x' }, { result: 'would-change' }, 'failed', 'unexpected-dry-run-result', true],
    ['failed with a reason', { state: 'failed', output: 'x' }, { result: 'failed', reason: 'no-daemon' }, 'failed', 'no-daemon', true],
    ['unknown result', { state: 'success', output: 'x' }, { result: 'unknown', reason: 'garbled' }, 'failed', 'unknown-result:garbled', true],
    ['a parser that throws', { state: 'success', output: 'x' }, 'throws', 'failed', 'unknown-result:unparseable-output', true],
    ['timed out without output', { state: 'timed-out' }, { result: 'changed' }, 'failed', 'invocation-timed-out', true],
    ['success with empty output', { state: 'success', output: '' }, { result: 'changed' }, 'failed', 'invocation-success', true],
  ])('%s', (_name, r, g, outcome, reason, countsAsError) => {
    const parse = g === 'throws' ? () => { throw new Error('bad'); } : parsed(g);
    const j = judgeGuestResult(r, parse);
    expect(j.outcome).toBe(outcome);
    expect(j.reason).toBe(reason);
    expect(j.countsAsError).toBe(countsAsError);
  });
});

describe('maxErrorsCount and guestStepStops', () => {
  it.each([
    ['0', 100, 0],
    ['5', 100, 5],
    ['10%', 150, 15],
    ['100%', 7, 7],
    ['1%', 50, 0],
    [' 7 ', 10, 7],
    ['garbage', 10, 0],
  ])('%s of %d planned allows %d', (m, planned, expected) => {
    expect(maxErrorsCount(m, planned)).toBe(expected);
    expect(guestStepStops(expected, m, planned)).toBe(false);
    expect(guestStepStops(expected + 1, m, planned)).toBe(true);
  });
});

describe('summary', () => {
  const input = {
    runId: 'r1', dryRun: true, phase: 'done' as const, startedAt: Date.UTC(2026, 0, 1), invocations: 2, fleetSize: 10, cap: 5, plannedInstances: 3,
    counts: { planned: 3, attempted: 0, succeeded: 0, failed: 0, rolledBack: 0, skipped: 3 }, reasons: {}, pending: { imds: 0, verifying: 0, guest: 0 },
    guestStopped: false, auditLost: 0,
  };
  it('is done with a finish time only in phase done', () => {
    expect(buildSummary(input, Date.UTC(2026, 0, 1, 1))).toMatchObject({ done: true, finishedAt: '2026-01-01T01:00:00.000Z', startedAt: '2026-01-01T00:00:00.000Z' });
    expect(buildSummary({ ...input, phase: 'guest' }, 0)).not.toHaveProperty('finishedAt');
  });
  it('says dry run in the mail subject', () => {
    expect(summarySubject(buildSummary(input, 0))).toBe('timesync-guard remediation (dry run) r1: 0 fixed, 0 failed, 0 rolled back');
  });
});
