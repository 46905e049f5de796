/**
 * One measurement in its own process, so that its peak memory is its own: `check`, `remediation`
 * (the full run and the next, steady-state night) or `polling` (the peer design), for one fleet
 * size. Started by bench/run.ts; by hand: `npx tsx bench/worker.ts check 1000 out.json`.
 */
import './env';
import { writeFileSync } from 'node:fs';
import { checkCallBounds, checkTimeBound, fleetShape, modifyPacingSeconds, remediationTimeBound } from './bounds';
import { benchCheck, benchRemediation } from './drive';
import { pollingPeer } from './peers';
import { generateFleet } from './sim/fleet';

async function main(): Promise<void> {
  const [mode, nText, out] = process.argv.slice(2);
  const n = Number(nText);
  if (!Number.isInteger(n) || n < 1 || !out || !['check', 'remediation', 'polling'].includes(mode ?? '')) {
    throw new Error('usage: worker.ts check|remediation|polling N OUT.json');
  }
  let result: unknown;
  if (mode === 'check') {
    const shape = fleetShape(generateFleet(n));
    const { measure, world } = await benchCheck(n);
    world.account.restore();
    result = { shape, ...measure, callBounds: checkCallBounds(shape), timeBound: checkTimeBound(shape) };
  } else if (mode === 'remediation') {
    const shape = fleetShape(generateFleet(n, { allHopLimitOne: true }));
    const { measure, world } = await benchRemediation(n);
    world.account.restore();
    result = {
      shape,
      ...measure,
      timeBound: remediationTimeBound(shape, measure.hopLimitChangesNeeded),
      pacingSeconds: modifyPacingSeconds(measure.hopLimitChangesNeeded),
    };
  } else {
    result = await pollingPeer(n);
  }
  writeFileSync(out, JSON.stringify(result));
}

main().catch((e: unknown) => {
  process.stderr.write(`bench worker failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});
