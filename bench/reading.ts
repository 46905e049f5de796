/**
 * The "Where each size stands" reading of bench/README.md, written from bench/results.json so the
 * prose can never quote a figure the last run did not produce. `npm run bench` and `npm run docs`
 * rewrite it; test/core/docs.test.ts fails when the committed text drifts from results.json.
 *
 * Only the figures are computed; the explanations are fixed text chosen by which target passed.
 */
import { LAMBDA_MB_PER_VCPU } from '../lib/function-bundling';
import { STRAGGLER_CUTOFF_DEFAULTS } from '../lambda/core/fleet/straggler';
import { CHECK_TARGET_NAMES } from './targets';

type Timeline = Readonly<Record<string, readonly [number, number]>>;
type ByAction = Readonly<Record<string, number>>;

interface CheckFigures {
  readonly simulatedSeconds: number;
  readonly simulatedSecondsLowerBound: number;
  readonly simulatedSecondsRatio: number;
  readonly apiCalls: number;
  readonly apiCallsLowerBound: number;
  readonly apiCallsRatio: number;
  readonly apiCallsByAction: ByAction;
  readonly apiCallsLowerBoundByAction: ByAction;
  readonly lowerBoundParts: Readonly<Record<string, number>>;
  readonly waitsForSsmVerdictBound: number;
  readonly collectorWaitToMeetTargets?: {
    readonly timeLimitSeconds: number;
    readonly sendsAllowed: number;
    readonly lastStartSeconds: number;
    readonly lastStartByPagesSeconds?: number;
    readonly lastStartAfterInventorySeconds?: number;
    readonly lastStartAfterInventoryClosedFormSeconds?: number;
    readonly lastStartAskingEveryIdSeconds?: number;
    readonly jointAskingEveryIdSeconds?: number;
    readonly minHungCutoffSeconds?: number;
    readonly jointSeconds?: number;
    readonly longestWaitSeconds: number;
    readonly longestWaitOverGuest: number;
  };
  readonly timeline: Timeline;
  /** The next hourly run on the same account (bench/run.ts `check-steady`). */
  readonly steadyState?: { readonly simulatedSeconds: number; readonly simulatedSecondsRatio: number; readonly apiCalls: number; readonly apiCallsRatio: number };
}
interface RemediationFigures {
  readonly simulatedSeconds: number;
  readonly simulatedSecondsLowerBound: number;
  readonly simulatedSecondsRatio: number;
  readonly lowerBoundParts: Readonly<Record<string, number>>;
  readonly checkSeconds: number;
  readonly hopLimitsLowered: number;
  readonly timeline: Timeline;
}
interface SizeFigures {
  readonly n: number;
  readonly fleet: { readonly targets: number; readonly hung: number };
  readonly check: CheckFigures;
  readonly before?: { readonly check?: { readonly simulatedSeconds: number }; readonly remediation?: { readonly simulatedSeconds: number } };
  readonly remediation?: RemediationFigures;
  readonly monthlyCost?: Readonly<Record<string, number>>;
  readonly distinctMetrics: number;
}
/** One PASS/MISS line of `npm run bench`. */
export interface Target {
  readonly n: number | 'all';
  readonly name: string;
  readonly value: string;
  readonly limit: string;
  readonly pass: boolean;
  readonly note?: string;
}
interface MemoryRun {
  readonly mode: string;
  readonly peakRssMiB: number;
  readonly lambdaPeakMiB?: number;
  readonly simulatorMiB?: number;
  /** The function memory the run was started as (Lambda's runtime heap flags for it). */
  readonly memoryMB: number;
  readonly cpuSeconds: number;
  readonly simulatedSeconds: number;
}
/** The parts of bench/results.json the reading quotes. */
export interface ReadingResults {
  readonly generatedAt: string;
  readonly model: {
    readonly latenciesMs: { readonly other: number; readonly ssmListPage: number };
    readonly runCommand: { readonly rampRoundMs: number; readonly guestMs: number; readonly metadataApplyMs: number };
    readonly alarms: { readonly count: number };
  };
  readonly sizes: readonly SizeFigures[];
  readonly targets: readonly Target[];
  readonly benchWallSeconds?: number;
  readonly memory?: { readonly configuredMemoryMB: number; readonly sizes: readonly { readonly n: number; readonly runs: readonly MemoryRun[] }[] };
}

const int = (v: number): string => Math.round(v).toLocaleString('en-US');
const s1 = (v: number): string => String(Math.round(v * 10) / 10);
/** Two decimals where a bound has them (28.15 s), so a rounded figure is never read as the bound. */
const s2 = (v: number): string => String(Math.round(v * 100) / 100);
const usd = (v: number): string => `$${v.toFixed(2)}`;

/** The bound path that decides a check's time bound, in words. */
const PATH_WORDS: Record<string, string> = {
  listingOrderPath: 'the listing order',
  deliveryPath: 'the delivery ramp',
  ssmRate: 'the SSM rate',
  describeListing: 'the EC2 listing',
};

/** Why the engine makes more calls than the bound, per action. */
const EXCESS_WORDS: Record<string, string> = {
  DescribeInstanceInformation: 'filtered calls that also carry the unmanaged ids',
  ListCommands: "the previous runs' commands, listed for the two-run rule",
  SendCommand: 'smaller last commands, so their guests start sooner under the ramp, and re-sends after instances terminated mid-run',
  CancelCommand: 'cancelling cut-off stragglers',
  ListCommandInvocations: 'sweeps of the collectors still in progress at their cutoff (one for several commands), the few second reads of a command, and the smaller commands\' pages',
  GetCommandInvocation: 'extra full-output reads',
  DescribeInstances: 'extra EC2 pages',
};

function decidingPath(c: CheckFigures): string {
  const parts = c.lowerBoundParts;
  const best = Object.keys(PATH_WORDS).reduce((a, b) => ((parts[b] ?? 0) > (parts[a] ?? 0) ? b : a));
  const w = c.collectorWaitToMeetTargets;
  // The joint bound decides when the last collector's start + the least hung cutoff (A16) is later than every any-design path.
  if (w?.jointSeconds !== undefined && w.jointSeconds > (parts[best] ?? 0) && w.lastStartAfterInventorySeconds !== undefined && w.lastStartByPagesSeconds !== undefined) {
    const why = w.lastStartAfterInventorySeconds >= w.lastStartByPagesSeconds ? 'after the inventory calls its targets need and the commands, on the one SSM bucket' : 'after its listing page';
    return `the joint bound: the last collector starts no sooner than ${s2(w.lastStartSeconds)} s, ${why}, and may be hung, held ${s1(w.minHungCutoffSeconds ?? 10)} s (A16); ${PATH_WORDS[best]} alone gives ${s1(parts[best] ?? 0)} s`;
  }
  return PATH_WORDS[best]!;
}

function excess(c: CheckFigures): string {
  const items = Object.entries(c.apiCallsByAction)
    .map(([action, calls]) => [action, calls - (c.apiCallsLowerBoundByAction[action] ?? 0)] as const)
    .filter(([, d]) => d > 0)
    .map(([action, d]) => `${action} +${int(d)} (${EXCESS_WORDS[action] ?? 'other'})`);
  return items.length ? items.join(', ') : 'none';
}

function target(results: ReadingResults, n: number | 'all', prefix: string): Target | undefined {
  return results.targets.find((t) => t.n === n && t.name.startsWith(prefix));
}
const verdict = (t: Target | undefined): string => (t ? `${t.pass ? 'PASS' : 'MISS'} on ${t.name.replace(/^check |^whole /, '')} (limit ${t.limit})` : '');

/**
 * Where the joint bound's generosity matters (the exact optimum for a design that cannot tell which
 * instances SSM manages starts its last collector later than the bound's): what such a design gets.
 */
function askingEveryId(c: CheckFigures): string {
  const w = c.collectorWaitToMeetTargets;
  if (w?.jointAskingEveryIdSeconds === undefined || w.lastStartAskingEveryIdSeconds === undefined || w.jointSeconds === undefined) return '';
  if (w.jointAskingEveryIdSeconds <= w.jointSeconds) return '';
  const closed = w.lastStartAfterInventoryClosedFormSeconds;
  return (
    `The bound's last start is the exact optimum of a lucky design whose every inventory call returns 50 targets${closed !== undefined && closed < w.lastStartSeconds ? ` (the closed form used before gave ${s2(closed)} s)` : ''};` +
    ` a design that cannot tell which instances SSM manages asks about every running instance not opted out, and with this fleet's share of targets per call and no SSM call before the first EC2 page the same optimum starts its last collector at ${s2(w.lastStartAskingEveryIdSeconds)} s, so a hung collector started last holds it to ${s2(w.jointAskingEveryIdSeconds)} s (${(c.simulatedSeconds / w.jointAskingEveryIdSeconds).toFixed(2)}× for the engine; an estimate, not a bound).`
  );
}

function checkBullet(results: ReadingResults, s: SizeFigures): string {
  const c = s.check;
  const t = c.timeline;
  const lastRead = Math.max(...['ListCommandInvocations', 'GetCommandInvocation'].map((a) => t[a]?.[1] ?? 0));
  const lines = [
    `- **${int(s.n)}: check ${s1(c.simulatedSeconds)} s, ${c.simulatedSecondsRatio}× its bound (${s2(c.simulatedSecondsLowerBound)} s, decided by ${decidingPath(c)}); ${int(c.apiCalls)} calls, ${c.apiCallsRatio}× (bound ${int(c.apiCallsLowerBound)}).**`,
    [verdict(target(results, s.n, CHECK_TARGET_NAMES.time)), verdict(target(results, s.n, CHECK_TARGET_NAMES.calls)), verdict(results.targets.find((x) => x.n === s.n && /^check time ≤ \d+ simulated s/.test(x.name)))]
      .filter(Boolean)
      .join('; ') + '.',
    s.before?.check ? `Before issue 11: ${s1(s.before.check.simulatedSeconds)} s.` : '',
    `The SendCommand calls went out between ${s1(t.SendCommand?.[0] ?? 0)} s and ${s1(t.SendCommand?.[1] ?? 0)} s, the last result was read at ${s1(lastRead)} s${t.CancelCommand ? `, and the hung collectors (${int(s.fleet.hung)} in the fleet) were cut off by ${s1(t.CancelCommand[1])} s` : ''}.`,
    `Calls over the bound: ${excess(c)}.`,
    askingEveryId(c),
    c.steadyState
      ? `The next hourly run on the same account: ${s1(c.steadyState.simulatedSeconds)} s (${c.steadyState.simulatedSecondsRatio}×) and ${int(c.steadyState.apiCalls)} calls (${c.steadyState.apiCallsRatio}×); ${verdict(target(results, s.n, 'next hourly run')).replace(/^(PASS|MISS) on .*?\(limit/, '$1 (limit')}: the first run's timed-out collectors go first and are read from one listing.`
      : '',
  ];
  const timeTarget = target(results, s.n, CHECK_TARGET_NAMES.time);
  const wait = c.collectorWaitToMeetTargets;
  if (timeTarget && !timeTarget.pass && wait) {
    // The miss is structural at this size: say what meeting both targets would take (bounds.ts, collectorWaitToMeetTargets).
    const guest = results.model.runCommand.guestMs / 1000;
    const straggler = STRAGGLER_CUTOFF_DEFAULTS;
    lines.push(
      `Within the call target a design has at most ${int(wait.sendsAllowed)} commands for ${int(s.fleet.targets)} targets, so under the ramp its last collector starts no sooner than ${s1(wait.lastStartSeconds)} s.` +
        ` To give every target a verdict by ${s1(wait.timeLimitSeconds)} s, a design that cannot tell beforehand which collector will hang may wait on an unfinished collector at most ${s1(wait.longestWaitSeconds)} s after it started: ${wait.longestWaitOverGuest.toFixed(2)}× the model's ${s1(guest)} s guest run, in which every healthy guest takes exactly that long.` +
        ` The engine leaves a collector pending (read by the next run, never counted unless unread twice) only after max(${s1(straggler.floorMs / 1000)} s, ${straggler.factor} × the run's ${Math.round(straggler.quantile * 100)}th-percentile guest time), the least hung cutoff the joint bound declares (A16); a design that waits for SSM's verdict on hung collectors is bounded by ${s1(c.waitsForSsmVerdictBound)} s here, and the engine takes ${(c.simulatedSeconds / c.waitsForSsmVerdictBound).toFixed(2)}× that.`,
    );
  }
  return lines.filter(Boolean).join(' ');
}

function remediationBullet(results: ReadingResults): string {
  const sized = results.sizes.filter((s) => s.remediation);
  const parts = sized.map((s) => {
    const r = s.remediation!;
    const t = target(results, s.n, 'whole remediation');
    return `${int(s.n)} in ${s1(r.simulatedSeconds)} s, ${r.simulatedSecondsRatio}× its bound of ${s1(r.simulatedSecondsLowerBound)} s (${t ? (t.pass ? 'PASS' : `MISS, limit ${t.limit}`) : 'no target'}${s.before?.remediation ? `; before issue 11: ${s1(s.before.remediation.simulatedSeconds)} s` : ''})`;
  });
  const detail = sized.map((s) => {
    const r = s.remediation!;
    const modify = r.timeline.ModifyInstanceMetadataOptions;
    const firstPage = r.timeline.DescribeInstances?.[0] ?? 0;
    return `at ${int(s.n)} the first ModifyInstanceMetadataOptions went out at ${s1(modify?.[0] ?? 0)} s and the last at ${s1(modify?.[1] ?? 0)} s (a change goes out as soon as the fresh check's verdict on its instance is final, not after the whole check; the bound's pacing path starts after the first EC2 page, ${s1(firstPage + 1)} s at the latest), and ${int(r.hopLimitsLowered)} hop limits were lowered`;
  });
  return `- **Remediation: ${parts.join('; ')}.** The guest waves run while the IMDS changes are paced, so the pacing of EC2's Modify bucket (5 per second after a burst of 100) decides the time; ${detail.join('; ')}.`;
}

/** The busiest run may use at most this share of what the configured memory gives. */
export const MAX_VCPU_SHARE_USED = 0.8;

/** The vCPU a function of `memoryMB` gets (Lambda: one at LAMBDA_MB_PER_VCPU, proportionally below). */
export const vcpuOf = (memoryMB: number): number => memoryMB / LAMBDA_MB_PER_VCPU;

/** The share of one vCPU a run used on average: its CPU seconds over its simulated seconds. */
export const vcpuUsed = (r: { readonly cpuSeconds: number; readonly simulatedSeconds: number }): number => (r.simulatedSeconds > 0 ? r.cpuSeconds / r.simulatedSeconds : 0);

function memoryBullet(results: ReadingResults): string {
  const mem = results.memory;
  if (!mem) return '';
  const runs = mem.sizes.flatMap((s) => s.runs.map((r) => ({ ...r, n: s.n })));
  const top = runs.reduce((a, b) => (b.peakRssMiB > a.peakRssMiB ? b : a));
  const t = target(results, 'all', 'measured peak RSS');
  // Sizing reads the Lambda's own peak (the simulator's share taken off; older files lack it: the whole peak).
  const own = (r: MemoryRun): number => r.lambdaPeakMiB ?? r.peakRssMiB;
  const topOwn = runs.reduce((a, b) => (own(b) > own(a) ? b : a));
  const sized = Math.ceil((1.25 * own(topOwn)) / 64) * 64;
  const within = Math.abs(mem.configuredMemoryMB - sized) <= 64;
  const rule = `The sizing rule (⌈1.25 × the Lambda's own peak / 64⌉ × 64; its largest, the ${int(topOwn.n)} ${topOwn.mode}, is ${own(topOwn)} MiB${topOwn.simulatorMiB !== undefined ? ` once the simulator's ${topOwn.simulatorMiB} MiB are taken off` : ''}) gives ${sized} MB; the configured ${mem.configuredMemoryMB} MB is ${within ? 'within one 64 MB step of it (PASS)' : 'more than one 64 MB step off (MISS): set FUNCTION_MEMORY_MB to it'}.`;
  // Runs are grouped by the function memory they were started as (Lambda's heap flags for it).
  const byMemory = new Map<number, typeof runs>();
  for (const r of runs.filter((x) => x !== top)) byMemory.set(r.memoryMB, [...(byMemory.get(r.memoryMB) ?? []), r]);
  const others = [...byMemory]
    .sort((a, b) => a[0] - b[0])
    .map(([mb, rs]) => `started as a ${mb} MB function: ${rs.map((r) => `${int(r.n)} ${r.mode} ${r.peakRssMiB} MiB${r.peakRssMiB <= mb ? '' : ' (over it)'}`).join(', ')}`)
    .join('; ');
  return `- **Memory, measured (see "Memory and CPU" below): largest peak ${top.peakRssMiB} MiB (the ${int(top.n)} ${top.mode}, started as a ${top.memoryMB} MB function) against ${mem.configuredMemoryMB} MB configured: ${t?.pass === false ? 'MISS' : 'PASS'}.** ${rule} Each run is started with the heap flags Lambda's Node.js runtime gives a function of its memory; ${others}. These peaks include the simulated account in the same process; GC timing moves a peak by several MiB from run to run. ${cpuSentence(runs, mem.configuredMemoryMB)}`;
}

/** Whether the memory's CPU share (Lambda: one vCPU at LAMBDA_MB_PER_VCPU) keeps pace with the busiest run. */
function cpuSentence(runs: readonly (MemoryRun & { n: number })[], configuredMB: number): string {
  const busiest = runs.reduce((a, b) => (vcpuUsed(b) > vcpuUsed(a) ? b : a));
  const small = Math.min(...runs.map((r) => r.memoryMB));
  const tooSlowSmall = runs.filter((r) => r.memoryMB === small && vcpuUsed(r) > vcpuOf(small));
  const f = (v: number): string => v.toFixed(2);
  return `CPU: the busiest run for its length is the ${int(busiest.n)} ${busiest.mode}, ${f(vcpuUsed(busiest))} vCPU on average (CPU seconds on this machine over simulated seconds); the configured ${configuredMB} MB gives ${f(vcpuOf(configuredMB))} vCPU${vcpuUsed(busiest) <= MAX_VCPU_SHARE_USED * vcpuOf(configuredMB) ? ', so the runs wait on AWS, not on CPU' : ', too little to keep pace: raise FUNCTION_MEMORY_MB'}.${
    tooSlowSmall.length > 0 ? ` A ${small} MB function (${f(vcpuOf(small))} vCPU) holds ${tooSlowSmall.map((r) => `the ${int(r.n)} ${r.mode}`).join(' and ')} in memory but not its CPU, so it would stretch it: the memory is sized for both.` : ''
  }`;
}

function costBullet(results: ReadingResults): string {
  const s = [...results.sizes].reverse().find((x) => x.monthlyCost);
  if (!s) return '';
  const c = s.monthlyCost!;
  const t = target(results, s.n, 'monthly cost');
  return `- **Monthly usage cost at ${int(s.n)}: ${usd(c.total!)}${t ? ` (${t.pass ? 'PASS' : 'MISS'}, limit ${t.limit})` : ''}.** Metrics ${usd(c.metrics!)} (${s.distinctMetrics} distinct: the hourly check's at $0.30, the nightly run's prorated), alarms ${usd(c.alarms!)} (${results.model.alarms.count} alarms counted from the synthesized stack), logs ${usd(c.logs!)} (${s1(c.logGBPerMonth ?? 0)} GB a month: one record per instance per check plus EMF), Lambda ${usd(c.lambda!)}, Step Functions, audit events and SNS ${usd((c.stepFunctions ?? 0) + (c.eventBridge ?? 0) + (c.sns ?? 0))}. Metrics and alarms do not grow with N; logs and Lambda time do. This usage model is the check and the nightly run as the benchmark drives them; it leaves out the IMDSv2 readiness refresh (its daily \`GetMetricData\`) and the metrics of the IMDSv2 and account-defaults reports, which the benchmark's handlers are not wired to, and the fixed KMS key, dashboard and secret: README's cost table adds them all, so it is the total to quote, not this line.`;
}

/** The generated "Where each size stands" text. */
export function readingOfFigures(results: ReadingResults): string {
  const bySize = [...results.sizes].sort((a, b) => b.n - a.n);
  const missed = results.targets.filter((t) => !t.pass);
  return [
    `Figures of the run of ${results.generatedAt.slice(0, 10)}${results.benchWallSeconds ? ` (${s1(results.benchWallSeconds)} s of wall time for the whole \`npm run bench\`)` : ''}; ${missed.length ? `${missed.length} target${missed.length > 1 ? 's' : ''} missed: ${missed.map((t) => `N=${t.n} ${t.name}`).join('; ')}` : 'every target met'}.`,
    '',
    ...bySize.map((s) => checkBullet(results, s)),
    remediationBullet(results),
    memoryBullet(results),
    costBullet(results),
  ]
    .filter((l, i, all) => l !== '' || (i > 0 && all[i - 1] !== ''))
    .join('\n');
}
