/**
 * A measured run joined with the bounds it is judged by (bounds.ts), for the fleet of the same N
 * (the generator is deterministic, so the fleet is rebuilt rather than passed around). Used by both
 * ways of running a measurement: worker.ts (mocked clients) and memory-entry.ts (real clients, wire
 * format, the deployed bundling).
 */
import { checkCallBounds, checkTimeBound, collectorWaitToMeetTargets, defaultTimeModel, fleetShape, modifyPacingSeconds, remediationTimeBound } from './bounds';
import type { CheckMeasure, RemediationMeasure } from './drive';
import { generateFleet } from './sim/fleet';

/** A check's figures with its call and time bounds. */
export function checkFigures(n: number, measure: CheckMeasure): Record<string, unknown> {
  const shape = fleetShape(generateFleet(n));
  const { targetPages: _pages, ...shapeCounts } = shape;
  // The bounds before issue 25 counted this project's report size (a GetCommandInvocation per cut output): shown beside the new.
  const old = { ...defaultTimeModel(), terms: { reportSizeTerm: true } };
  return {
    shape: shapeCounts,
    ...measure,
    callBounds: checkCallBounds(shape),
    timeBound: checkTimeBound(shape),
    collectorWait: collectorWaitToMeetTargets(shape),
    oldBounds: { calls: checkCallBounds(shape, old.terms).total, seconds: checkTimeBound(shape, old).seconds },
  };
}

/** A remediation's figures with its time bound. */
export function remediationFigures(n: number, measure: RemediationMeasure): Record<string, unknown> {
  const shape = fleetShape(generateFleet(n, { allHopLimitOne: true }));
  const { targetPages: _pages, ...shapeCounts } = shape;
  return {
    shape: shapeCounts,
    ...measure,
    timeBound: remediationTimeBound(shape, measure.hopLimitChangesNeeded),
    pacingSeconds: modifyPacingSeconds(measure.hopLimitChangesNeeded),
  };
}
