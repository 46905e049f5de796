/**
 * Measurements for one fleet size in a fresh process, so that peak memory is not inherited from a
 * bigger run: any of `check`, `check-steady` (the next hourly check on the same account), `remediation` (the full run and the next, steady-state night) and
 * `polling` (the peer design), in that order, or `findings-export` (bench/findings-export.ts). RSS never shrinks, so a measurement's memory figure
 * is only its own when it comes first in its process. Started by bench/run.ts; by hand:
 * `npx tsx bench/worker.ts check,polling 1000 out.json`.
 */
import './env';
import { writeFileSync } from 'node:fs';
import { benchCheck, benchRemediation } from './drive';
import { checkFigures, remediationFigures } from './figures';
import { findingsExportSize, WIRE_MAX_N } from './findings-export';
import { pollingPeer } from './peers';

async function main(): Promise<void> {
  const [modesText, nText, out] = process.argv.slice(2);
  const n = Number(nText);
  const modes = (modesText ?? '').split(',');
  if (!Number.isInteger(n) || n < 1 || !out || modes.some((m) => !['check', 'check-steady', 'remediation', 'polling', 'findings-export'].includes(m))) {
    throw new Error('usage: worker.ts check,check-steady,remediation,polling|findings-export N OUT.json');
  }
  const all: Record<string, unknown> = {};
  for (const mode of modes) all[mode] = await measureOne(mode, n);
  writeFileSync(out, JSON.stringify(all));
}

async function measureOne(mode: string, n: number): Promise<unknown> {
  if (mode === 'check') {
    const { measure, world } = await benchCheck(n);
    world.account.restore();
    return checkFigures(n, measure);
  }
  if (mode === 'check-steady') {
    // The next hourly run on the same account (bench/drive.ts benchCheck, hourlyBefore 1).
    const { measure, world } = await benchCheck(n, {}, {}, {}, 'mock', 1);
    world.account.restore();
    const f = checkFigures(n, measure);
    return { simulatedSeconds: f['simulatedSeconds'], apiCallsTotal: f['apiCallsTotal'], apiCalls: f['apiCalls'], throttled: f['throttled'], byCheckState: f['byCheckState'], timeline: f['timeline'] };
  }
  if (mode === 'remediation') {
    const { measure, world } = await benchRemediation(n);
    world.account.restore();
    return remediationFigures(n, measure);
  }
  if (mode === 'findings-export') return findingsExportSize(n, n > WIRE_MAX_N ? 'mock' : 'wire');
  return pollingPeer(n);
}

main().catch((e: unknown) => {
  process.stderr.write(`bench worker failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});
