/**
 * Lower bounds: the fewest API calls and the least time ANY engine could need for the same fleet
 * under the same AWS limits and the same simulated account. Every term comes from an AWS limit
 * (page sizes, id caps, token buckets) or from the simulation's model (latencies A2–A5, the
 * delivery ramp A6, the guest run time A7, what the modelled guests print A10), never from a
 * constant of the engine being judged (its poll interval, its document's step timeout, its batch
 * sizes, its rate limiter). Derivations in bench/README.md.
 */
import { DEFAULT_LATENCIES, DEFAULT_RUN_COMMAND_MODEL, ssmBucketFromEnv, EC2_BUCKETS, type BucketSpec, type Latencies, type RunCommandModel } from './sim/account';
import { plainCollectorReport, type SimInstance } from './sim/fleet';
import { DETAILS_OUTPUT_CAP } from './sim/account';
import { CHECK_TARGET_RATIOS } from './targets';

/** AWS page sizes and id caps the bounds use (aws-limits.md). */
export const AWS_LIMITS = {
  /** DescribeInstances MaxResults. */
  describeInstancesPage: 1000,
  /** DescribeInstanceInformation MaxResults (also the most results one filtered call returns). */
  instanceInformationPage: 50,
  /** SendCommand InstanceIds. */
  idsPerSendCommand: 50,
  /** ListCommandInvocations MaxResults. */
  invocationsPerPage: 50,
} as const;

/** Where one collector target sits in the listings, and what its guest does. */
export interface TargetPosition {
  /** Its DescribeInstances page (1,000 per page, instance-id order), 0-based. */
  readonly describePage: number;
  /** Its page in the unfiltered DescribeInstanceInformation listing (50 managed nodes per page, id order), 0-based. */
  readonly diiPage: number;
  /** Its script never finishes (A10: 0.3 % of collectors). */
  readonly hung: boolean;
  /** Its output is longer than the 2,500-character Details cap (one GetCommandInvocation). */
  readonly cut?: boolean;
}

/** What the bounds need to know about the fleet. */
export interface FleetShape {
  /** Running instances at the start of the run. */
  readonly n: number;
  /** SSM managed nodes (Online + ConnectionLost). */
  readonly managed: number;
  /** Online, not opted out, still there when the batch is sent: the collector's targets. */
  readonly targets: number;
  /**
   * Targets whose plain (unsealed) report is longer than the Details cap: one GetCommandInvocation
   * each in the old bounds' report-size term only.
   */
  readonly cutOutputs: number;
  /** Targets whose script hangs. */
  readonly hung: number;
  /** Each target's position, in instance-id order (both APIs list in that order). */
  readonly targetPages?: readonly TargetPosition[];
  /**
   * Running instances without an Online SSM ping (unmanaged, ConnectionLost, Inactive): the ones
   * whose cause the coverage report must name (issue 26). @default 0
   */
  readonly notOnline?: number;
  /** Distinct instance profiles among {@link notOnline} (each one's role must be judged once). @default 0 */
  readonly notOnlineProfiles?: number;
  /**
   * Running instances not opted out: the ones a design that cannot tell which instances SSM manages
   * must ask about (only {@link CollectorWaitToMeetTargets.lastStartAskingEveryIdSeconds} reads it).
   */
  readonly asked?: number;
}

/** Counts the shape of a generated fleet. */
export function fleetShape(fleet: readonly SimInstance[]): FleetShape {
  let managed = 0;
  let targets = 0;
  let cut = 0;
  let hung = 0;
  const targetPages: TargetPosition[] = [];
  const sorted = [...fleet].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  let notOnline = 0;
  let asked = 0;
  const profiles = new Set<string>();
  sorted.forEach((x, k) => {
    if (!x.optedOut) asked++;
    if (x.ssm !== 'Online') {
      notOnline++;
      // The simulated account names a profile as bench/sim/ec2.ts does.
      if (x.hasProfile) profiles.add(x.profileName ?? `app-${Number.parseInt(x.id.slice(-6), 16) % 7}`);
    }
    if (x.ssm !== 'unmanaged') managed++;
    if (x.ssm !== 'Online' || x.optedOut) return;
    // Vanishing instances are targets too: SendCommand must at least try them.
    targets++;
    const isHung = x.guest === 'times-out';
    // Only the old figures' report-size term reads this: the plain report (as before issue 25's sealed
    // envelope) over the Details cap. The model-only bounds do not depend on any report's size.
    const isCut = !isHung && x.guest !== 'garbled' && x.vanishAfterMs === undefined && plainCollectorReport(x, 1_767_225_600).length > DETAILS_OUTPUT_CAP;
    if (isHung) hung++;
    if (isCut) cut++;
    targetPages.push({ describePage: Math.floor(k / AWS_LIMITS.describeInstancesPage), diiPage: Math.floor((managed - 1) / AWS_LIMITS.instanceInformationPage), hung: isHung, cut: isCut });
  });
  return { n: fleet.length, managed, targets, cutOutputs: cut, hung, targetPages, notOnline, notOnlineProfiles: profiles.size, asked };
}

/**
 * The least time (ms) a design may let a collector run before it declares it hung, as a multiple of
 * the model's guest run (A7): 2 × 5 s = 10 s. A model assumption (bench/README "A16"): a design that
 * gave up sooner would report healthy guests barely slower than the model's as unread. It enters
 * only the joint bound ({@link collectorWaitToMeetTargets}).
 */
export const MIN_HUNG_CUTOFF_GUEST_RUNS = 2;

/**
 * Which terms a bound counts. The default is the model alone; `reportSizeTerm` adds the terms that
 * exist only because of this project's own report size (a GetCommandInvocation per output over the
 * 2,500-character Details cap): the bounds before issue 25, kept to show the old figures beside the new.
 */
export interface BoundTerms {
  /** @default false */
  readonly reportSizeTerm?: boolean;
}

/** Per-action minimum calls of one check. */
export interface CheckCallBounds {
  readonly DescribeInstances: number;
  readonly DescribeInstanceInformation: number;
  readonly SendCommand: number;
  /** 0: completion can be learnt without polling (EventBridge "EC2 Command Status-change Notification"). */
  readonly ListCommands: number;
  readonly ListCommandInvocations: number;
  /** 0 in the model-only bound: a report that fits `Details` needs none (with `reportSizeTerm`: the cut outputs). */
  readonly GetCommandInvocation: number;
  /**
   * What the default deployment's other two reports need whatever the design (issues 26 and 21):
   * with any instance not Online, the region's Default Host Management setting (1), its route tables
   * and VPC endpoints (1 page each), and per distinct instance profile among them the profile and one
   * judgement of its role's permissions (2); the Auto Scaling groups (1 page) for the launch sources.
   */
  readonly CoverageAndSources: number;
  readonly total: number;
}

/** SSM calls among the call bounds (the ones the SSM bucket paces). */
export function ssmCalls(c: CheckCallBounds): number {
  return c.DescribeInstanceInformation + c.SendCommand + c.ListCommands + c.ListCommandInvocations + c.GetCommandInvocation;
}

/** The call bounds of one check: the fewest calls any design needs. */
export function checkCallBounds(s: FleetShape, terms: BoundTerms = {}): CheckCallBounds {
  const sends = Math.ceil(s.targets / AWS_LIMITS.idsPerSendCommand);
  const b = {
    // One listing of every running instance; MaxResults is at most 1,000.
    DescribeInstances: Math.max(1, Math.ceil(s.n / AWS_LIMITS.describeInstancesPage)),
    // Every managed node must be seen to tell Online from ConnectionLost from unmanaged; 50 per page.
    DescribeInstanceInformation: Math.max(1, Math.ceil(s.managed / AWS_LIMITS.instanceInformationPage)),
    SendCommand: sends,
    ListCommands: 0,
    // Every target's invocation must be read; a Details page holds 50 (with or without a CommandId).
    ListCommandInvocations: Math.ceil(s.targets / AWS_LIMITS.invocationsPerPage),
    // A report that fits the 2,500 Details characters needs no GetCommandInvocation: how long the
    // report is, is this implementation's choice, not the model's (counted only for the old figures).
    GetCommandInvocation: terms.reportSizeTerm ? s.cutOutputs : 0,
    // The old figures (reportSizeTerm) are the bounds before these reports existed.
    CoverageAndSources: terms.reportSizeTerm ? 0 : ((s.notOnline ?? 0) > 0 ? 3 + 2 * (s.notOnlineProfiles ?? 0) : 0) + 1,
  };
  return { ...b, total: Object.values(b).reduce((a, c) => a + c, 0) };
}

/** Parameters of the time bounds (the simulator's model). */
export interface TimeModel {
  readonly latencies: Latencies;
  readonly runCommand: RunCommandModel;
  readonly ssmBucket: BucketSpec;
  /**
   * How long a hung script costs the bound. A design cannot tell a hung script from a healthy one
   * before a healthy one would have finished (A7's guest time), and need not wait longer: that is
   * the default. The engine waits for SSM's own TimedOut verdict, which comes at its document's
   * step timeout; the bound for designs that wait for it is computed with that value instead
   * (`waitsForSsmVerdict`).
   * @default runCommand.guestMs
   */
  readonly hungMs?: number;
  /** @default - the model alone (no report-size term) */
  readonly terms?: BoundTerms;
}

/** The simulator's model, with the SSM bucket of this process (A1 or `--ssm-rate`). */
export function defaultTimeModel(): TimeModel {
  return { latencies: DEFAULT_LATENCIES, runCommand: DEFAULT_RUN_COMMAND_MODEL, ssmBucket: ssmBucketFromEnv() };
}

/** The check's time bounds and their parts (seconds). */
export interface CheckTimeBound {
  /** The lower bound for any design: the max of the paths below. */
  readonly seconds: number;
  /**
   * Listing order: max over targets of the earliest moment its listings can have arrived (its
   * DescribeInstances page, then one filtered DescribeInstanceInformation call; or its page of the
   * unfiltered SSM listing if sooner) + one SendCommand + its script + one Details page (+ one
   * GetCommandInvocation if its output is cut).
   */
  readonly listingOrderPath: number;
  /**
   * Delivery: for each DescribeInstances page p, the targets listed on p or later cannot be sent
   * before p's listings arrive; with the SSM bucket full at that moment and SSM's delivery ramp
   * (A6), no choice of command sizes starts all of them sooner than `deliveryRampSeconds` later.
   * + one SendCommand latency + the guest time + one Details page. Max over p.
   */
  readonly deliveryPath: number;
  /** The ramp-and-bucket part of the delivery path at the page that decides it. */
  readonly deliveryRampSeconds: number;
  /** Every SSM call of the call bound through the SSM bucket, + the last call's latency. */
  readonly ssmRate: number;
  /** The SSM calls of the call bound. */
  readonly ssmCalls: number;
  /** The last DescribeInstances page's arrival (pages are sequential). */
  readonly describeListing: number;
  /** The same bound for a design that waits for SSM's TimedOut verdict on a hung script (A8: step timeout). */
  readonly waitsForSsmVerdict: number;
}

const sec = (ms: number): number => Math.round(ms) / 1000;

/** Latency of a DescribeInstances page of `items` instances (A2). */
function describePageMs(lat: Latencies, items: number): number {
  return lat.describeInstancesBase + lat.describeInstancesPerItem * Math.max(0, Math.min(AWS_LIMITS.describeInstancesPage, items));
}

/** Arrival (ms from the start) of each DescribeInstances page: sequential, each needs the last token. */
export function describeArrivals(n: number, lat: Latencies = DEFAULT_LATENCIES): number[] {
  const out: number[] = [];
  let acc = 0;
  for (let left = n; left > 0 || out.length === 0; left -= AWS_LIMITS.describeInstancesPage) out.push((acc += describePageMs(lat, left)));
  return out;
}

/**
 * Invocations one command can have started within `x` ms of its delivery start under the ramp of A6
 * (wave w opens at w rounds and admits 2^(w+1) − 1 in total), at most the 50 ids of one SendCommand.
 */
export function rampCapacity(x: number, m: RunCommandModel = DEFAULT_RUN_COMMAND_MODEL): number {
  if (x < 0) return 0;
  const waves = Math.floor(x / m.rampRoundMs);
  return waves >= 6 ? AWS_LIMITS.idsPerSendCommand : Math.min(AWS_LIMITS.idsPerSendCommand, 2 ** (waves + 1) - 1);
}

/**
 * The least time after a moment t0 by which `count` targets can all have started, for any choice
 * of command sizes: SendCommand j (1-based, in time order) goes out no sooner than t0 + (j − burst)/rate
 * (the bucket at most full at t0), and a command sent at τ starts at most rampCapacity(F − τ) targets
 * by t0 + F. Binary search on F (whole ms). With `maxSends`, no more than that many commands may carry
 * them (Infinity when they cannot hold `count` ids at all).
 */
export function deliveryRampMs(count: number, bucket: BucketSpec, m: RunCommandModel = DEFAULT_RUN_COMMAND_MODEL, maxSends = Number.POSITIVE_INFINITY): number {
  if (count <= 0) return 0;
  if (maxSends * AWS_LIMITS.idsPerSendCommand < count) return Number.POSITIVE_INFINITY;
  const sendAt = (j: number): number => Math.max(0, ((j - bucket.capacity) / bucket.refillPerSecond) * 1000);
  const startedBy = (f: number): number => {
    let total = 0;
    for (let j = 1; total < count && j <= maxSends; j++) {
      const t = sendAt(j);
      if (t > f) break;
      total += rampCapacity(f - t, m);
    }
    return total;
  };
  // Send times and ramp rounds fall on whole milliseconds, so the least F is one too: search the integers.
  let lo = -1;
  let hi = Math.ceil(sendAt(Math.min(count, maxSends)) + 6 * m.rampRoundMs);
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (startedBy(mid) >= count) hi = mid;
    else lo = mid;
  }
  return hi;
}

/**
 * The bound before {@link deliveryAfterInventoryMs} was exact, kept because it alone counts a limit
 * on the commands (and to show the old figure beside the new). A time (from t = 0, the SSM bucket
 * full) before which `count` targets cannot all have started
 * when each must first have been returned by a DescribeInstanceInformation call on the same bucket
 * (A1): SendCommand refuses an id SSM does not manage, and on an account with no earlier run only
 * that call says which instances are managed and Online, at most 50 a call. Whatever the design,
 * with J commands the last one goes out after ⌈count/50⌉ such calls and J SendCommand calls, so it
 * takes token J + ⌈count/50⌉ or later; the one k places before it is followed by k commands and at
 * most k more inventory calls (the later commands' ≤ 50k targets), so it takes token
 * J + ⌈count/50⌉ − k − min(k, ⌈count/50⌉) or later. Generous everywhere else: no EC2 call, no call
 * of any other report, inventory calls that return only targets. A command sent at τ starts at most
 * rampCapacity(F − τ) targets by F (A6). Least F over every J from ⌈count/50⌉ to `maxSends`
 * (whole ms, binary search); Infinity when `maxSends` commands cannot hold `count` ids.
 */
export function closedFormAfterInventoryMs(count: number, bucket: BucketSpec, m: RunCommandModel = DEFAULT_RUN_COMMAND_MODEL, maxSends = Number.POSITIVE_INFINITY): number {
  if (count <= 0) return 0;
  const per = AWS_LIMITS.idsPerSendCommand;
  const minSends = Math.ceil(count / per);
  if (maxSends < minSends) return Number.POSITIVE_INFINITY;
  const inventory = Math.ceil(count / per);
  const tokenAt = (i: number): number => Math.max(0, ((i - bucket.capacity) / bucket.refillPerSecond) * 1000);
  // More commands than this only push the last one later without starting anything sooner.
  const lastJ = Math.min(maxSends, minSends + Math.ceil((6 * m.rampRoundMs * bucket.refillPerSecond) / 1000) + 1);
  let best = Number.POSITIVE_INFINITY;
  for (let j = minSends; j <= lastJ; j++) {
    const last = j + inventory;
    const sendAt = (k: number): number => tokenAt(last - k - Math.min(k, inventory));
    const startedBy = (f: number): number => {
      let total = 0;
      for (let k = 0; k < j && total < count; k++) total += rampCapacity(f - sendAt(k), m);
      return total;
    };
    let lo = -1;
    let hi = Math.ceil(sendAt(0) + 6 * m.rampRoundMs);
    if (startedBy(hi) < count) continue;
    while (hi - lo > 1) {
      const mid = Math.floor((lo + hi) / 2);
      if (startedBy(mid) >= count) hi = mid;
      else lo = mid;
    }
    best = Math.min(best, hi);
  }
  return best;
}


/** What the inventory calls of {@link deliveryAfterInventoryMs} may know, and from when. */
export interface InventoryCalls {
  /**
   * Targets known after the first `calls` inventory calls (non-decreasing). @default 50 × calls: every
   * call returns 50 targets, the most one DescribeInstanceInformation page holds
   */
  readonly revealed?: (calls: number) => number;
  /**
   * When the first SSM call can go out (ms), the bucket full then; after it, the ids every call asks
   * about are taken to be known. @default 0
   */
  readonly startMs?: number;
}

/**
 * The least time F (from t = 0) by which `count` targets can all have started, when each must first
 * have been returned by a DescribeInstanceInformation call on the same bucket as the commands (A1):
 * SendCommand refuses an id SSM does not manage, and on an account with no earlier run only that
 * call says which instances are managed and Online. The exact optimum over every order of calls:
 * token i (1-based) of the bucket comes at (i − burst)/rate; each is an inventory call, a command or
 * unused; a command sent at τ starts at most rampCapacity(F − τ) targets by F (A6) and only targets
 * already returned. For a fixed F the best play keeps, per count of inventory calls made, the most
 * targets started (more started never hurts later), so one pass over the tokens decides whether F is
 * reachable; F is found by binary search (whole ms). Generous by default: every inventory call returns
 * 50 targets, its answer is known at once, no EC2 call comes first, no call of another report, and
 * the commands are not limited in number (the call target's limit is {@link closedFormAfterInventoryMs}'s:
 * {@link collectorWaitToMeetTargets} takes the later of the two, both hold). The closed form charged
 * the last k commands at most k inventory calls, one each; under the ramp those commands carry few
 * targets, so nearly every inventory call has to come before them: 15.9 s at 10,000, here 18.05 s.
 */
export function deliveryAfterInventoryMs(count: number, bucket: BucketSpec, m: RunCommandModel = DEFAULT_RUN_COMMAND_MODEL, calls: InventoryCalls = {}): number {
  if (count <= 0) return 0;
  const per = AWS_LIMITS.idsPerSendCommand;
  const revealed = calls.revealed ?? ((k: number) => per * k);
  const startMs = calls.startMs ?? 0;
  let invMax = 0;
  while (revealed(invMax) < count) {
    invMax++;
    if (invMax > 10 * count) return Number.POSITIVE_INFINITY;
  }
  const tokenAt = (i: number): number => startMs + Math.max(0, ((i - bucket.capacity) / bucket.refillPerSecond) * 1000);
  const known = Float64Array.from({ length: invMax + 1 }, (_x, k) => revealed(k));
  const reachable = (f: number): boolean => {
    // best[k]: the most targets started by F after the tokens so far, with k inventory calls made (−1: unreachable).
    const best = new Float64Array(invMax + 1).fill(-1);
    best[0] = 0;
    for (let i = 1; ; i++) {
      const t = tokenAt(i);
      if (t > f) return false;
      const c = rampCapacity(f - t, m);
      // Only the first i inventory calls can have been made by token i.
      for (let k = i < invMax ? i : invMax; k >= 0; k--) {
        let v = best[k]!;
        if (c > 0 && v >= 0) {
          const sent = v + c < known[k]! ? v + c : known[k]!;
          if (sent > v) v = sent;
        }
        if (k > 0) {
          const before = best[k - 1]!;
          if (before > v) v = before;
        }
        best[k] = v;
        if (v >= count) return true;
      }
    }
  };
  let lo = -1;
  // Every inventory call first, then full commands: reachable.
  let hi = Math.ceil(tokenAt(invMax + Math.ceil(count / per)) + 6 * m.rampRoundMs);
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (reachable(mid)) hi = mid;
    else lo = mid;
  }
  return hi;
}

/** Lower bounds of a check's duration. */
export function checkTimeBound(s: FleetShape, m: TimeModel = defaultTimeModel()): CheckTimeBound {
  const strict = checkTimeBoundWith(s, m, m.hungMs ?? m.runCommand.guestMs);
  const waiting = checkTimeBoundWith(s, m, m.runCommand.defaultExecutionTimeoutMs);
  return { ...strict, waitsForSsmVerdict: waiting.seconds };
}

/** When each target can first be known, and the targets in instance-id order. */
function listings(s: FleetShape, lat: Latencies) {
  const arrivals = describeArrivals(s.n, lat);
  const describeListing = arrivals[arrivals.length - 1]!;
  // When a target's listings can have arrived: its EC2 page + one filtered SSM call, or its unfiltered SSM page.
  const knownAt = (t: TargetPosition): number => Math.min((arrivals[t.describePage] ?? describeListing) + lat.ssmListPage, Math.max(arrivals[t.describePage] ?? describeListing, (t.diiPage + 1) * lat.ssmListPage));
  const positions: readonly TargetPosition[] =
    s.targetPages ??
    // Without positions: every target on the first page, one hung and one cut if there are any (still a valid bound).
    Array.from({ length: Math.min(s.targets, 2) }, (_, k) => ({ describePage: 0, diiPage: 0, hung: k === 0 && s.hung > 0, cut: k === 1 && s.cutOutputs > 0 }));
  return { describeListing, knownAt, positions };
}

/**
 * For each DescribeInstances page p (last first): how many targets are listed on p or later, and
 * the earliest moment any of them can be known. None of them can be sent before that moment.
 */
function laterTargetsByPage(positions: readonly TargetPosition[], knownAt: (t: TargetPosition) => number): { later: number; earliest: number }[] {
  const byPage = new Map<number, { count: number; earliest: number }>();
  for (const t of positions) {
    const e = byPage.get(t.describePage) ?? { count: 0, earliest: Number.POSITIVE_INFINITY };
    e.count++;
    e.earliest = Math.min(e.earliest, knownAt(t));
    byPage.set(t.describePage, e);
  }
  let later = 0;
  let earliest = Number.POSITIVE_INFINITY;
  return [...byPage.keys()]
    .sort((a, b) => b - a)
    .map((p) => {
      const e = byPage.get(p)!;
      later += e.count;
      earliest = Math.min(earliest, e.earliest);
      return { later, earliest };
    });
}

function checkTimeBoundWith(s: FleetShape, m: TimeModel, hungMs: number): Omit<CheckTimeBound, 'waitsForSsmVerdict'> {
  const lat = m.latencies;
  const reportSizeTerm = m.terms?.reportSizeTerm === true;
  const calls = checkCallBounds(s, m.terms);
  const { describeListing, knownAt, positions } = listings(s, lat);
  const read = lat.ssmListPage; // one Details page reads a finished invocation

  let listingOrderPath = 0;
  for (const t of positions) {
    const run = t.hung ? hungMs : m.runCommand.guestMs;
    listingOrderPath = Math.max(listingOrderPath, knownAt(t) + lat.other + run + read + (reportSizeTerm && t.cut ? lat.other : 0));
  }

  // Delivery path: targets on page p or later, all known no sooner than the earliest of them.
  let deliveryPath = 0;
  let deliveryRamp = 0;
  for (const { later, earliest } of laterTargetsByPage(positions, knownAt)) {
    const ramp = deliveryRampMs(later, m.ssmBucket, m.runCommand);
    const path = earliest + ramp + lat.other + m.runCommand.guestMs + read;
    if (path > deliveryPath) {
      deliveryPath = path;
      deliveryRamp = ramp;
    }
  }

  const ssm = ssmCalls(calls);
  // The last call reads a result: at least the shorter of the two read latencies after it leaves.
  const ssmRate = Math.max(0, ((ssm - m.ssmBucket.capacity) / m.ssmBucket.refillPerSecond) * 1000) + Math.min(lat.other, lat.ssmListPage);
  return {
    seconds: sec(Math.max(listingOrderPath, deliveryPath, ssmRate, describeListing)),
    listingOrderPath: sec(listingOrderPath),
    deliveryPath: sec(deliveryPath),
    deliveryRampSeconds: sec(deliveryRamp),
    ssmRate: sec(ssmRate),
    ssmCalls: ssm,
    describeListing: sec(describeListing),
  };
}

/** What meeting both check targets at once asks of a design's wait on a running collector. */
export interface CollectorWaitToMeetTargets {
  /** The time target (s) on the any-design bound: `CHECK_TARGET_RATIOS.time` × its seconds. */
  readonly timeLimitSeconds: number;
  /**
   * The most SendCommand calls a design within the call target can make: ⌈T/50⌉ plus every call
   * the target allows beyond the call bound (each extra command costs at least its SendCommand;
   * the reads it would also need are not charged, so this is generous).
   */
  readonly sendsAllowed: number;
  /**
   * The earliest moment (s) by which every collector can have started with at most that many
   * commands: the later of the two below.
   */
  readonly lastStartSeconds: number;
  /** From the listings alone: each page's later targets sent from when the earliest of them is known, the bucket full then. */
  readonly lastStartByPagesSeconds: number;
  /**
   * From the SSM bucket alone: every command after the inventory calls its targets need (one per 50
   * targets at best, on the same bucket), from t = 0: the later of the exact optimum with any number
   * of commands ({@link deliveryAfterInventoryMs}) and the closed form within `sendsAllowed`
   * ({@link closedFormAfterInventoryMs}).
   */
  readonly lastStartAfterInventorySeconds: number;
  /** The closed form alone (s): the bound's figure before issue 25's last stop, kept beside the new. */
  readonly lastStartAfterInventoryClosedFormSeconds: number;
  /**
   * Not a bound: the same exact optimum for a design that cannot tell which instances SSM manages
   * before it asks (EC2's view of an instance says nothing about it, A10), so it asks about every
   * running instance not opted out, each call returning the fleet's share of targets (targets ÷
   * those instances × 50), with no SSM call before the first EC2 page. Still generous: answers known
   * at once, every later id known from that page on, any number of commands. Undefined without
   * {@link FleetShape.asked}.
   */
  readonly lastStartAskingEveryIdSeconds?: number;
  /** The joint bound with that last start (s): what such a design's check takes at best when a hung collector starts last. */
  readonly jointAskingEveryIdSeconds?: number;
  /** Whether the healthy guests alone fit: last start + the guest's run + one Details page ≤ the time limit. */
  readonly healthyFit: boolean;
  /**
   * The longest (s) a design may wait on a collector after it started and still give every target
   * a verdict by the time limit, if it cannot tell beforehand which collector will hang (the last
   * one started may be the hung one): time limit − last start. Generous: its verdict needs no read.
   */
  readonly longestWaitSeconds: number;
  /** That wait over the modelled guest run time (A7). */
  readonly longestWaitOverGuest: number;
  /** The declared least hung cutoff (s): MIN_HUNG_CUTOFF_GUEST_RUNS × the guest run (A16). */
  readonly minHungCutoffSeconds: number;
  /**
   * The joint bound (s): within the call target, and no collector declared hung sooner than the
   * least cutoff after it started. max(the any-design bound with hung scripts held for the cutoff,
   * last start + the cutoff when the fleet has a hung collector (generous: no read after it),
   * last start + guest run + one Details page).
   */
  readonly jointSeconds: number;
}

/**
 * How long any design that keeps both check targets may wait on a collector that has not
 * finished, and the joint bound that follows from a declared least hung cutoff: the bound the
 * time target judges. Where the wait is below that cutoff (1,000), meeting the any-design target
 * would mean giving up collectors that are merely slower than the model's guest; elsewhere the two
 * bounds agree (the SSM rate decides both).
 */
export function collectorWaitToMeetTargets(s: FleetShape, m: TimeModel = defaultTimeModel()): CollectorWaitToMeetTargets {
  const lat = m.latencies;
  const calls = checkCallBounds(s, m.terms);
  const anyDesign = checkTimeBound(s, m).seconds;
  const timeLimitMs = CHECK_TARGET_RATIOS.time * anyDesign * 1000;
  const sendsAllowed = calls.SendCommand + Math.max(0, Math.floor(CHECK_TARGET_RATIOS.calls * calls.total) - calls.total);
  const { knownAt, positions } = listings(s, lat);
  let lastStart = 0;
  for (const { later, earliest } of laterTargetsByPage(positions, knownAt)) {
    lastStart = Math.max(lastStart, earliest + deliveryRampMs(later, m.ssmBucket, m.runCommand, sendsAllowed) + lat.other);
  }
  // The inventory calls every target needs before its command share the bucket with the commands.
  const closedForm = closedFormAfterInventoryMs(s.targets, m.ssmBucket, m.runCommand, sendsAllowed) + lat.other;
  const afterInventory = Math.max(deliveryAfterInventoryMs(s.targets, m.ssmBucket, m.runCommand) + lat.other, closedForm);
  const byPages = lastStart;
  lastStart = Math.max(lastStart, afterInventory);
  const wait = timeLimitMs - lastStart;
  const cutoffMs = MIN_HUNG_CUTOFF_GUEST_RUNS * m.runCommand.guestMs;
  const heldForCutoff = checkTimeBoundWith(s, m, cutoffMs).seconds * 1000;
  const joint = Math.max(heldForCutoff, lastStart + (s.hung > 0 ? cutoffMs : 0), lastStart + m.runCommand.guestMs + lat.ssmListPage);
  let askingEveryId: number | undefined;
  if (s.asked !== undefined && s.asked >= s.targets && s.targets > 0) {
    const share = s.targets / s.asked;
    const revealed = (k: number): number => Math.floor(AWS_LIMITS.instanceInformationPage * k * share);
    askingEveryId = deliveryAfterInventoryMs(s.targets, m.ssmBucket, m.runCommand, { revealed, startMs: describePageMs(lat, s.n) }) + lat.other;
  }
  return {
    timeLimitSeconds: sec(timeLimitMs),
    sendsAllowed,
    lastStartSeconds: sec(lastStart),
    lastStartByPagesSeconds: sec(byPages),
    lastStartAfterInventorySeconds: sec(afterInventory),
    lastStartAfterInventoryClosedFormSeconds: sec(closedForm),
    ...(askingEveryId === undefined
      ? {}
      : { lastStartAskingEveryIdSeconds: sec(askingEveryId), jointAskingEveryIdSeconds: sec(Math.max(joint, askingEveryId + (s.hung > 0 ? cutoffMs : 0))) }),
    healthyFit: lastStart + m.runCommand.guestMs + lat.ssmListPage <= timeLimitMs,
    longestWaitSeconds: sec(wait),
    longestWaitOverGuest: Math.round((wait / m.runCommand.guestMs) * 100) / 100,
    minHungCutoffSeconds: sec(cutoffMs),
    jointSeconds: sec(joint),
  };
}

/**
 * ModifyInstanceMetadataOptions has no batch form and its own bucket (100 burst, 5/s): M changes
 * need at least (M − 100)/5 s after the first.
 */
export function modifyPacingSeconds(changes: number, bucket: BucketSpec = EC2_BUCKETS.modifyInstanceMetadataOptions): number {
  return Math.max(0, (changes - bucket.capacity) / bucket.refillPerSecond);
}

/** Remediation bounds (seconds). */
export interface RemediationTimeBound {
  /** max(pacing path, guest path): the lower bound for any design. */
  readonly seconds: number;
  /** First DescribeInstances page + one Modify + (K − 100)/5 s + the apply delay. */
  readonly pacingPath: number;
  /** The check bound (a guest is only fixed after it was checked) + one SendCommand + the script + one Details page. */
  readonly guestPath: number;
  readonly pacing: number;
  /** The check's bound inside it. */
  readonly check: number;
}

/**
 * Remediation bound. IMDS changes need only EC2 data, so they can start after the first describe
 * page; the guest step needs the guest checked first. Both must finish.
 */
export function remediationTimeBound(s: FleetShape, changes: number, m: TimeModel = defaultTimeModel()): RemediationTimeBound {
  const check = checkTimeBound(s, m);
  const pacing = modifyPacingSeconds(changes);
  const firstPage = describePageMs(m.latencies, s.n) / 1000;
  const pacingPath = changes > 0 ? firstPage + m.latencies.other / 1000 + pacing + m.runCommand.metadataApplyMs / 1000 : 0;
  const guestPath = check.seconds + (m.latencies.other + m.runCommand.guestMs + m.latencies.ssmListPage) / 1000;
  const r = (v: number) => Math.round(v * 1000) / 1000;
  return { seconds: r(Math.max(pacingPath, guestPath)), pacingPath: r(pacingPath), guestPath: r(guestPath), pacing: r(pacing), check: check.seconds };
}
