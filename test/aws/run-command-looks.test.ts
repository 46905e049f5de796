/**
 * How a collector run (one with a straggler cutoff) reads its commands back, on the simulated
 * account (bench/sim: the delivery ramp, 5 s guests, SSM's request bucket): each command is listed
 * once when it is expected to have finished (no ListCommands polls), a hung collector is left
 * pending 10 s after its own start (not after its command's send + the longest ramp), and when the
 * sends queue behind SSM's rate the last commands are cut smaller so their guests start sooner.
 */
import { SSMClient } from '@aws-sdk/client-ssm';
import { SimAccount } from '../../bench/sim/account';
import type { SimInstance } from '../../bench/sim/fleet';
import { DiscreteEventClock } from '../../bench/sim/virtual-clock';
import { healthyLinuxFleet, request } from '../support/sim';
import { SsmRunCommand, type RunDocumentResult } from '../../lambda/aws/run-command';
import { TAIL_EXTRA_COMMANDS_SHARE } from '../../lambda/aws/run-command-session';

let account: SimAccount | undefined;
afterEach(() => {
  account?.restore();
  account = undefined;
});


interface Collected {
  readonly out: RunDocumentResult;
  readonly seconds: number;
  /** Each command's size in send order, and the last moment (s from the start) a guest of the run started. */
  readonly sizes: number[];
  readonly lastStartSeconds: number;
}

async function collect(fleet: SimInstance[], o: { cutoff?: boolean; bucket?: { capacity: number; refillPerSecond: number } } = {}): Promise<Collected> {
  const clock = new DiscreteEventClock();
  account = new SimAccount(fleet, clock, o.bucket ? { ssmBucket: o.bucket } : {}).install();
  const rc = new SsmRunCommand({ ssm: new SSMClient({ region: 'us-east-1' }), clock, ...(o.bucket ? { rateLimit: o.bucket } : {}) });
  const t0 = clock.now();
  const out = await clock.run(() =>
    rc.runDocument(
      request(fleet.map((x) => x.id), { maxConcurrency: '100%', startMarker: 'TSG-REPORT', ...(o.cutoff === false ? {} : { stragglerCutoff: {} }) }),
    ),
  );
  const commands = [...account.commands.values()].sort((a, b) => a.requestedAt - b.requestedAt);
  const starts = commands.flatMap((c) => [...c.invocations.values()].map((i) => i.startAt));
  return { out, seconds: (clock.now() - t0) / 1000, sizes: commands.map((c) => c.instanceIds.length), lastStartSeconds: (Math.max(...starts) - t0) / 1000 };
}

describe('completion looks', () => {
  it('lists each command of a collector run once, when it is expected to have finished, with no ListCommands poll', async () => {
    const { out } = await collect(healthyLinuxFleet(200));
    expect([...out.results.values()].every((r) => r.state === 'success')).toBe(true);
    expect(out.stats.sendCommand).toBe(4);
    // The first look comes at the first poll's time (10 s after the first send), before any run time is
    // known: the first command's last wave may still be running then, and is looked at once more.
    expect(out.stats.listCommandInvocationsPages).toBeLessThanOrEqual(5);
    expect(out.stats.listCommands).toBe(0);
    expect(out.stats.polls).toBe(0);
  });

  it('a run without a straggler cutoff (remediation) still polls ListCommands before reading', async () => {
    const { out } = await collect(healthyLinuxFleet(200), { cutoff: false });
    expect([...out.results.values()].every((r) => r.state === 'success')).toBe(true);
    expect(out.stats.listCommands).toBeGreaterThan(0);
  });

  it("leaves a hung collector pending 10 s after its own start: a first-wave guest is not held for its command's last wave", async () => {
    // The first target of the first command starts in the ramp's first wave (≈ 0.1 s after the send);
    // timed from the send + the longest ramp, it would be looked at ≈ 15 s.
    const fleet = healthyLinuxFleet(100, (x, k) => (k === 0 ? { ...x, guest: 'times-out' } : x));
    const { out, seconds } = await collect(fleet);
    const hung = out.results.get(fleet[0]!.id)!;
    expect(hung.state).toBe('pending');
    expect(hung.detail).toMatch(/past the straggler cutoff \(10 s\)/);
    expect([...out.results.values()].filter((r) => r.state === 'success')).toHaveLength(99);
    expect(seconds).toBeLessThan(12);
  });

  it('a slow healthy guest still running at its command\'s look is read when it ends (within the cutoff), not left pending', async () => {
    const fleet = healthyLinuxFleet(100, (x, k) => (k === 45 ? { ...x, guestMs: 8_000 } : x));
    const { out } = await collect(fleet);
    expect(out.results.get(fleet[45]!.id)!.state).toBe('success');
    expect([...out.results.values()].every((r) => r.state === 'success')).toBe(true);
  });
});

describe('the tail of a collector run', () => {
  // SSM's bucket at 5 calls a second: 100 commands queue for ≈ 20 s.
  const bucket = { capacity: 5, refillPerSecond: 5 };

  it('cuts its last commands smaller when the sends queue behind the SSM rate, so its last guest starts sooner', async () => {
    const fleet = healthyLinuxFleet(5_000);
    const cut = await collect(fleet, { bucket });
    const plain = await collect(fleet, { bucket, cutoff: false });
    expect(plain.sizes.every((s) => s === 50)).toBe(true);
    expect(cut.sizes.reduce((a, b) => a + b, 0)).toBe(5_000);
    expect(cut.sizes.length).toBeGreaterThan(100);
    expect(cut.sizes.length).toBeLessThanOrEqual(100 + Math.floor(TAIL_EXTRA_COMMANDS_SHARE * 100));
    expect(cut.sizes[cut.sizes.length - 1]).toBeLessThan(50);
    expect(cut.lastStartSeconds).toBeLessThan(plain.lastStartSeconds);
    expect([...cut.out.results.values()].every((r) => r.state === 'success')).toBe(true);
  });

  it('keeps plain 50-target commands when the sends do not queue (nothing to gain)', async () => {
    const { sizes } = await collect(healthyLinuxFleet(1_000));
    expect(sizes.every((s) => s === 50)).toBe(true);
  });
});
