/**
 * The fresh check streaming into the plan and the IMDS side (start.ts `PlanStream`): each instance is
 * planned, audited and its IMDS change started as its verdict arrives, within the caps, first come
 * first served; everything else keeps its safety rules.
 */
import { VirtualClock } from '../../../lambda/aws/clock';
import { parseRemediationOutput } from '../../../lambda/core/remediation/guest-result';
import type { Settings } from '../../../lambda/core/settings';
import type { CheckState, InstanceEvaluation, Verdict } from '../../../lambda/core/types';
import type { FreshImdsOptions, ImdsDescribeResult, ImdsModifyRequest, ImdsModifyResult } from '../../../lambda/engine/ports';
import { decodeContinuation, RemediationRunError, runRemediation } from '../../../lambda/engine/remediate';
import type { FreshCheckStream, RemediationCheckResult, RemediationDeps } from '../../../lambda/engine/remediation/types';
import { brief, id, MemoryAudit, MemoryImds, settings, TableRunCommand } from './support';
import { imdsStages } from '../../../lambda/engine/remediation/imds-phase';
import { RUN_PHASES } from '../../../lambda/engine/remediation/phases';

const KEY = Buffer.from('stream-test-key-0123456789abcdef0123456789abcdef');

/** An instance at hop limit 1 as the check judged it: checked (with `verdict`), or not checked at all. */
function ev(instanceId: string, o: { checkState?: CheckState; verdict?: Partial<Verdict> } = {}): InstanceEvaluation {
  const checkState = o.checkState ?? 'checked';
  const verdict: Verdict | undefined =
    checkState === 'checked'
      ? { platform: 'linux', daemon: 'chrony', timeSource: 'amazon-ipv4', synchronized: true, offsetSeconds: 0, clockErrorBoundSeconds: 0.001, containers: true, status: 'ok', findings: [], ...o.verdict }
      : undefined;
  return {
    instanceId,
    platform: 'linux',
    status: verdict?.status === 'ok' ? 'at-risk' : 'unknown',
    checkState,
    findings: [],
    imds: { hopLimit: 1, httpEndpoint: 'enabled', httpTokens: 'required', state: 'applied' },
    hasInstanceProfile: true,
    ...(verdict ? { verdict } : {}),
  };
}

/** EC2 in memory that logs each call, takes `modifyMs` per Modify and counts describes. */
class LoggedImds extends MemoryImds {
  describes = 0;
  constructor(
    ids: readonly string[],
    private readonly clock: VirtualClock,
    private readonly log: string[],
    private readonly modifyMs = 0,
  ) {
    super(new Map<string, FreshImdsOptions>(ids.map((i) => [i, { hopLimit: 1, httpEndpoint: 'enabled', state: 'applied' }])));
  }
  override async describe(ids: readonly string[]): Promise<ImdsDescribeResult> {
    this.describes++;
    return super.describe(ids);
  }
  override async modify(r: ImdsModifyRequest): Promise<ImdsModifyResult> {
    this.log.push(`modify:${r.instanceId}`);
    if (this.modifyMs > 0) await this.clock.sleep(this.modifyMs);
    return super.modify(r);
  }
}

/** A clock, the call log and an EC2 of `ids` at hop limit 1 (each Modify taking `modifyMs`): every test's world. */
function world(ids: readonly string[], modifyMs = 0): { clock: VirtualClock; log: string[]; imds: LoggedImds } {
  const clock = new VirtualClock();
  const log: string[] = [];
  return { clock, log, imds: new LoggedImds(ids, clock, log, modifyMs) };
}

/** One streamed arrival: an evaluation, not IPv6-only. */
const arrival = (evaluation: InstanceEvaluation): { evaluation: InstanceEvaluation; ipv6Only: boolean } => ({ evaluation, ipv6Only: false });

function runDeps(clock: VirtualClock, imds: MemoryImds, check: RemediationDeps['check'], over: Partial<RemediationDeps> = {}) {
  const audit = new MemoryAudit();
  const runCommand = new TableRunCommand(() => ({ state: 'success', output: 'TSG-REMEDIATE v1 result=changed daemon=chrony action=configured reason=none' }));
  const deps: RemediationDeps = {
    clock,
    check,
    imds: () => imds,
    runCommand,
    parseOutput: parseRemediationOutput,
    audit,
    continuationKey: async () => KEY,
    newRunId: () => 'run-s',
    actionPhases: [],
    ...over,
  };
  return { deps, audit, runCommand };
}

const hopAll = (over: Partial<Settings> = {}): Settings => settings({ hopLimitScope: 'all', fixTimeSync: false, dryRun: false, ...over });

/** Waits on the clock until `done()` (at most `steps` seconds): the rest of the check still running. */
async function checkGoesOn(clock: VirtualClock, done: () => boolean, steps = 60): Promise<void> {
  for (let k = 0; k < steps && !done(); k++) await clock.sleep(1_000);
}

describe('remediation while the fresh check streams', () => {
  it('sends the first Modify before the check completes', async () => {
    const { clock, log, imds } = world([id(1), id(2)]);
    const check = async (stream?: FreshCheckStream): Promise<RemediationCheckResult> => {
      stream?.listed(2);
      stream?.evaluated([arrival(ev(id(1)))]);
      await checkGoesOn(clock, () => log.length > 0);
      log.push('check-complete');
      return { evaluations: [ev(id(1)), ev(id(2))], fleetSize: 2 };
    };
    const { deps, audit } = runDeps(clock, imds, check);
    const out = await runRemediation(deps, hopAll(), {}, { deadline: clock.now() + 600_000 });
    expect(out.done).toBe(true);
    expect(log).toEqual([`modify:${id(1)}`, 'check-complete', `modify:${id(2)}`]);
    // Planned before applied, each once, and both verified.
    const one = brief(audit).filter((b) => b.startsWith(id(1)));
    expect(one).toEqual([`${id(1)}:raise-hop-limit:planned`, `${id(1)}:raise-hop-limit:applied`, `${id(1)}:raise-hop-limit:verified`]);
    expect(out.summary).toMatchObject({ plannedInstances: 2 });
    expect(brief(audit).filter((b) => b.endsWith(':verified'))).toHaveLength(2);
  });

  it('applies the caps first come, first served: later arrivals and the end of the check get cap-reached', async () => {
    const { clock, log, imds } = world([id(1), id(2), id(3), id(4)]);
    const check = async (stream?: FreshCheckStream): Promise<RemediationCheckResult> => {
      stream?.listed(4);
      // Out of id order: the first two to arrive take the two places.
      stream?.evaluated([arrival(ev(id(3)))]);
      stream?.evaluated([arrival(ev(id(1)))]);
      stream?.evaluated([arrival(ev(id(2)))]);
      await checkGoesOn(clock, () => log.length >= 2);
      return { evaluations: [1, 2, 3, 4].map((k) => ev(id(k))), fleetSize: 4 };
    };
    const { deps, audit } = runDeps(clock, imds, check);
    await runRemediation(deps, hopAll({ maxChangesPerRun: 2 }), {}, { deadline: clock.now() + 600_000 });
    expect(imds.modified.map((m) => m.instanceId)).toEqual([id(3), id(1)]);
    expect(brief(audit)).toEqual(
      expect.arrayContaining([`${id(2)}:raise-hop-limit:skipped:cap-reached`, `${id(4)}:raise-hop-limit:skipped:cap-reached`]),
    );
    expect(brief(audit).filter((b) => b.endsWith(':planned'))).toEqual([`${id(3)}:raise-hop-limit:planned`, `${id(1)}:raise-hop-limit:planned`]);
  });

  it('holds back an arrival the percent cap has no room for yet, and admits it when the listing makes room', async () => {
    const { clock, log, imds } = world([id(1), id(2)]);
    const check = async (stream?: FreshCheckStream): Promise<RemediationCheckResult> => {
      // 50 % of 1 instance seen is 0: no room until the listing has seen 2.
      stream?.listed(1);
      stream?.evaluated([arrival(ev(id(2)))]);
      await clock.sleep(5_000);
      log.push('listed-2');
      stream?.listed(2);
      await checkGoesOn(clock, () => log.length >= 2);
      return { evaluations: [ev(id(1)), ev(id(2))], fleetSize: 2 };
    };
    const { deps, audit } = runDeps(clock, imds, check);
    await runRemediation(deps, hopAll({ maxChangesPercent: 50 }), {}, { deadline: clock.now() + 600_000 });
    expect(log).toEqual(['listed-2', `modify:${id(2)}`]);
    expect(brief(audit)).toContain(`${id(1)}:raise-hop-limit:skipped:cap-reached`);
  });

  it('never acts on an unknown verdict or an unchecked guest that streamed in', async () => {
    const { clock, imds } = world([id(1), id(2), id(3)]);
    const unknown = ev(id(1), { verdict: { status: 'unknown', timeSource: 'unknown', synchronized: null, containers: null } });
    const unread = ev(id(2), { verdict: { status: 'at-risk', timeSource: 'other', containers: null, findings: [{ code: 'report-truncated', message: 'cut' }] } });
    const unchecked = ev(id(3), { checkState: 'unmanaged' });
    const check = async (stream?: FreshCheckStream): Promise<RemediationCheckResult> => {
      stream?.listed(3);
      stream?.evaluated([unknown, unread, unchecked].map(arrival));
      await clock.sleep(10_000);
      return { evaluations: [unknown, unread, unchecked], fleetSize: 3 };
    };
    const { deps, audit, runCommand } = runDeps(clock, imds, check);
    // Hop limits only where containers are known to run; guest fixes on.
    await runRemediation(deps, settings({ hopLimitScope: 'containers', fixTimeSync: true, fixNoProxy: true, dryRun: false }), {}, { deadline: clock.now() + 600_000 });
    expect(imds.modified).toEqual([]);
    expect(runCommand.requests).toEqual([]);
    expect(brief(audit).filter((b) => /:(planned|applied)$/.test(b))).toEqual([]);
    expect(brief(audit)).toEqual(expect.arrayContaining([`${id(3)}:raise-hop-limit:skipped:not-checked`, `${id(3)}:enable-amazon-time-sync:skipped:not-checked`]));
  });

  it('streams nothing to EC2 in a dry run: the check gets no stream and the plan is made at its end', async () => {
    const { clock, log, imds } = world([id(1), id(2)]);
    const check = jest.fn(async (stream?: FreshCheckStream): Promise<RemediationCheckResult> => {
      stream?.listed(2);
      stream?.evaluated([arrival(ev(id(1)))]);
      await clock.sleep(10_000);
      return { evaluations: [ev(id(1)), ev(id(2))], fleetSize: 2 };
    });
    const { deps, audit } = runDeps(clock, imds, check);
    const out = await runRemediation(deps, hopAll({ dryRun: true }), {}, { deadline: clock.now() + 600_000 });
    expect(check).toHaveBeenCalledWith(undefined);
    expect([imds.modified, imds.describes, log]).toEqual([[], 0, []]);
    expect(out.done).toBe(true);
    expect(brief(audit)).toEqual([
      `${id(1)}:raise-hop-limit:planned`,
      `${id(2)}:raise-hop-limit:planned`,
      `${id(1)}:raise-hop-limit:skipped:dry-run`,
      `${id(2)}:raise-hop-limit:skipped:dry-run`,
    ]);
  });

  it('resumes a run whose first invocation stopped in the middle of the streamed changes: nothing redone, nothing lost', async () => {
    const ids = Array.from({ length: 30 }, (_, k) => id(k));
    const { clock, imds } = world(ids, 1_000);
    const check = async (stream?: FreshCheckStream): Promise<RemediationCheckResult> => {
      stream?.listed(ids.length);
      // A third streams in at once; the check goes on for 5 s and the rest are planned at its end.
      stream?.evaluated(ids.slice(0, 10).map((i) => (arrival(ev(i)))));
      await clock.sleep(5_000);
      return { evaluations: ids.map((i) => ev(i)), fleetSize: ids.length };
    };
    const { deps, audit } = runDeps(clock, imds, check);
    const first = await runRemediation(deps, hopAll(), {}, { deadline: clock.now() + 25_000 });
    expect(first.done).toBe(false);
    const carried = decodeContinuation(first.continuation!, KEY, clock.now(), RUN_PHASES);
    const madeFirst = imds.modified.length;
    expect(madeFirst).toBeGreaterThan(10);
    expect(imdsStages(carried).pending.length + madeFirst).toBe(ids.length);
    let second = await runRemediation(deps, hopAll(), { continuation: first.continuation! }, { deadline: clock.now() + 600_000 });
    for (let k = 0; k < 5 && !second.done; k++) {
      second = await runRemediation(deps, hopAll(), { continuation: second.continuation! }, { deadline: clock.now() + 600_000 });
    }
    expect(second.done).toBe(true);
    const modified = imds.modified.map((m) => m.instanceId);
    expect([...modified].sort()).toEqual(ids);
    const count = (outcome: string): number => brief(audit).filter((b) => b.endsWith(`:raise-hop-limit:${outcome}`)).length;
    expect([count('planned'), count('applied'), count('verified')]).toEqual([30, 30, 30]);
  });

  it('after streaming, a check that fails as a whole stops the run: queued work skipped check-failed, what was made verified', async () => {
    const { clock, log, imds } = world([id(1), id(2), id(3)], 1_000);
    const check = async (stream?: FreshCheckStream): Promise<RemediationCheckResult> => {
      stream?.listed(3);
      stream?.evaluated([id(1), id(2), id(3)].map((i) => (arrival(ev(i)))));
      await checkGoesOn(clock, () => log.length > 0);
      throw new RemediationRunError('the fleet check before remediation failed: SendCommand denied');
    };
    const { deps, audit } = runDeps(clock, imds, check);
    await expect(runRemediation(deps, hopAll(), {}, { deadline: clock.now() + 600_000 })).rejects.toThrow(RemediationRunError);
    expect(imds.modified.map((m) => m.instanceId)).toEqual([id(1)]);
    expect(brief(audit).filter((b) => !b.endsWith(':planned'))).toEqual([
      `${id(1)}:raise-hop-limit:applied`,
      `${id(2)}:raise-hop-limit:skipped:check-failed`,
      `${id(3)}:raise-hop-limit:skipped:check-failed`,
      `${id(1)}:raise-hop-limit:verified`,
    ]);
  });

  it('a check that fails after guest work streamed in drops that work too, skipped check-failed, and never sends the document', async () => {
    const { clock, log, imds } = world([id(1)]);
    const offSource = ev(id(1), { verdict: { status: 'at-risk', timeSource: 'other' } });
    const check = async (stream?: FreshCheckStream): Promise<RemediationCheckResult> => {
      stream?.listed(1);
      stream?.evaluated([arrival(offSource)]);
      await checkGoesOn(clock, () => log.length > 0);
      throw new RemediationRunError('the fleet check before remediation failed: SendCommand denied');
    };
    const { deps, audit, runCommand } = runDeps(clock, imds, check);
    await expect(runRemediation(deps, hopAll({ fixTimeSync: true }), {}, { deadline: clock.now() + 600_000 })).rejects.toThrow(RemediationRunError);
    expect(runCommand.requests).toEqual([]);
    expect(brief(audit)).toContain(`${id(1)}:enable-amazon-time-sync:skipped:check-failed`);
  });

  it('queues guest work that streamed in for the guest side, which runs once the check is done', async () => {
    const { clock, log, imds } = world([id(1)]);
    const offSource = ev(id(1), { verdict: { status: 'at-risk', timeSource: 'other' } });
    const check = async (stream?: FreshCheckStream): Promise<RemediationCheckResult> => {
      stream?.listed(1);
      stream?.evaluated([{ evaluation: offSource, ipv6Only: true }]);
      await checkGoesOn(clock, () => log.length > 0);
      return { evaluations: [offSource], fleetSize: 1 };
    };
    const { deps, runCommand } = runDeps(clock, imds, check);
    const out = await runRemediation(deps, hopAll({ fixTimeSync: true }), {}, { deadline: clock.now() + 600_000 });
    expect(out.done).toBe(true);
    expect(runCommand.requests.map((r) => r.instanceIds)).toEqual([[id(1)]]);
    expect(out.summary).toMatchObject({ plannedInstances: 1 });
  });
});
