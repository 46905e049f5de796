/**
 * Lower bounds: the fewest API calls and the least time any engine could need for the same fleet
 * under the same limits and the same simulation assumptions. Derivations in bench/README.md.
 */
import { DEFAULT_LATENCIES, DEFAULT_RUN_COMMAND_MODEL, deliveryMakespanMs, ssmBucketFromEnv, EC2_BUCKETS, percentOrCount, type BucketSpec, type Latencies, type RunCommandModel } from './sim/account';
import { collectorReport, type SimInstance } from './sim/fleet';
import { DETAILS_OUTPUT_CAP } from './sim/account';

/** What the bounds need to know about the fleet. */
export interface FleetShape {
  /** Running instances at the start of the run. */
  readonly n: number;
  /** SSM managed nodes (Online + ConnectionLost). */
  readonly managed: number;
  /** Online, not opted out, still there when the batch is sent: the collector's targets. */
  readonly targets: number;
  /** Targets whose output is longer than the Details cap (one GetCommandInvocation each). */
  readonly cutOutputs: number;
  /** Targets whose script hangs until the step timeout. */
  readonly hung: number;
  /**
   * Where each target appears in the API's listing order (by instance id): its DescribeInstances
   * page (1,000 per page) and DescribeInstanceInformation page (50 per page), 0-based, and whether
   * its script hangs. No design can target an instance before the pages that list it have arrived.
   */
  readonly targetPages?: readonly { readonly describePage: number; readonly diiPage: number; readonly hung: boolean }[];
}

/** Counts the shape of a generated fleet. */
export function fleetShape(fleet: readonly SimInstance[]): FleetShape {
  let managed = 0;
  let targets = 0;
  let cut = 0;
  let hung = 0;
  const targetPages: { describePage: number; diiPage: number; hung: boolean }[] = [];
  const sorted = [...fleet].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  sorted.forEach((x, k) => {
    if (x.ssm !== 'unmanaged') managed++;
    if (x.ssm !== 'Online' || x.optedOut) return;
    targetPages.push({ describePage: Math.floor(k / 1000), diiPage: Math.floor((managed - 1) / 50), hung: x.guest === 'times-out' });
    // Vanishing instances are targets too: SendCommand must at least try them.
    targets++;
    if (x.guest === 'times-out') hung++;
    else if (x.guest !== 'garbled' && x.vanishAfterMs === undefined && collectorReport(x, 1_767_225_600).length > DETAILS_OUTPUT_CAP) cut++;
  });
  return { n: fleet.length, managed, targets, cutOutputs: cut, hung, targetPages };
}

/** Per-action minimum calls of one check. */
export interface CheckCallBounds {
  readonly DescribeInstances: number;
  readonly DescribeInstanceInformation: number;
  readonly SendCommand: number;
  /** One completion poll covering every command (50 commands per ListCommands page). */
  readonly ListCommands: number;
  readonly ListCommandInvocations: number;
  readonly GetCommandInvocation: number;
  readonly total: number;
}

/** The call bounds of one check. */
export function checkCallBounds(s: FleetShape): CheckCallBounds {
  const sends = Math.ceil(s.targets / 50);
  const b = {
    DescribeInstances: Math.max(1, Math.ceil(s.n / 1000)),
    DescribeInstanceInformation: Math.max(1, Math.ceil(s.managed / 50)),
    SendCommand: sends,
    ListCommands: Math.ceil(sends / 50),
    // One Details page per command: a command targets ≤ 50 instances, a page holds 50 invocations.
    ListCommandInvocations: sends,
    GetCommandInvocation: s.cutOutputs,
  };
  return { ...b, total: Object.values(b).reduce((a, c) => a + c, 0) };
}

/** Parameters of the time bounds (the simulator's defaults). */
export interface TimeModel {
  readonly latencies: Latencies;
  readonly runCommand: RunCommandModel;
  readonly ssmBucket: BucketSpec;
  /** MaxConcurrency setting (number or percent). */
  readonly maxConcurrency: string;
}

/** The simulator's defaults, with the SSM bucket of this process (A1 or `--ssm-rate`). */
export function defaultTimeModel(): TimeModel {
  return { latencies: DEFAULT_LATENCIES, runCommand: DEFAULT_RUN_COMMAND_MODEL, ssmBucket: ssmBucketFromEnv(), maxConcurrency: '50%' };
}

/** The check's time bounds and their parts (seconds). */
export interface CheckTimeBound {
  /** The lower bound for any design: max of the three constraints below. */
  readonly seconds: number;
  /** The inventory's last page (which may reveal a target) + one send + a 1-instance run + tail. */
  readonly afterInventory: number;
  /**
   * max over targets of: the arrival of the pages that list it + one send + its script's run
   * (5 s, or the collector step timeout for a hung one) + tail. Without page positions: the first pages.
   */
  readonly listingOrderPath: number;
  /** All SSM calls of the call bound through the SSM bucket. */
  readonly ssmRate: number;
  /**
   * The bound of a list-then-run design (every page listed before the first SendCommand):
   * inventory + Run Command + tail. It is a lower bound only for such designs; a design that
   * sends while it still lists can go below it.
   */
  readonly listThenRun: number;
  /** max(DescribeInstances pages, DescribeInstanceInformation pages), which can run side by side. */
  readonly inventory: number;
  /** From the first SendCommand to the last invocation's end (SSM rate, ramp, guest time, hung scripts). */
  readonly runCommand: number;
  /** One Details page and, if any output was cut, one GetCommandInvocation after the last invocation ends. */
  readonly tail: number;
}

/** Lower bounds of a check's duration. */
export function checkTimeBound(s: FleetShape, m: TimeModel = defaultTimeModel()): CheckTimeBound {
  const lat = m.latencies;
  const calls = checkCallBounds(s);
  // Describe pages are sequential (each needs the previous token); so are the SSM listing pages.
  const pageMs = (items: number) => lat.describeInstancesBase + lat.describeInstancesPerItem * Math.max(0, Math.min(1000, items));
  let describe = 0;
  for (let left = s.n; left > 0 || describe === 0; left -= 1000) describe += pageMs(left);
  const dii = calls.DescribeInstanceInformation * lat.ssmListPage;
  const inventory = Math.max(describe, dii);
  const firstPages = Math.max(pageMs(s.n), lat.ssmListPage);
  const tail = s.targets > 0 ? lat.ssmListPage + (s.cutOutputs > 0 ? lat.other : 0) : 0;
  let runCommand = 0;
  if (s.targets > 0) {
    const full = Math.min(50, s.targets);
    const last = s.targets - 50 * (calls.SendCommand - 1);
    const mcOf = (b: number) => Math.max(1, percentOrCount(m.maxConcurrency, b, 50));
    // Sends beyond the SSM burst go out at the refill rate (the DII pages before them only lower the burst).
    const lastSendAt = Math.max(0, (calls.SendCommand - m.ssmBucket.capacity) / m.ssmBucket.refillPerSecond) * 1000;
    runCommand =
      lat.other +
      Math.max(
        deliveryMakespanMs(full, mcOf(full), m.runCommand),
        lastSendAt + deliveryMakespanMs(last, mcOf(last), m.runCommand),
        // A hung script holds its invocation until the document's step timeout.
        s.hung > 0 ? m.runCommand.defaultExecutionTimeoutMs : 0,
      );
  }
  const listThenRun = inventory + runCommand + tail;
  const afterInventory = s.targets > 0 ? inventory + lat.other + m.runCommand.guestMs + tail : inventory;
  let listingOrderPath = s.hung > 0 ? firstPages + lat.other + m.runCommand.defaultExecutionTimeoutMs + tail : 0;
  if (s.targetPages) {
    // Arrival of DescribeInstances page p: the sum of the latencies of pages 0..p.
    const describeArrival: number[] = [];
    let acc = 0;
    for (let p = 0, left = s.n; left > 0; p++, left -= 1000) describeArrival[p] = acc += pageMs(left);
    listingOrderPath = 0;
    for (const t of s.targetPages) {
      const known = Math.max(describeArrival[t.describePage] ?? describe, (t.diiPage + 1) * lat.ssmListPage);
      const run = t.hung ? m.runCommand.defaultExecutionTimeoutMs : m.runCommand.guestMs;
      listingOrderPath = Math.max(listingOrderPath, known + lat.other + run + tail);
    }
  }
  const ssmCalls = calls.DescribeInstanceInformation + calls.SendCommand + calls.ListCommands + calls.ListCommandInvocations + calls.GetCommandInvocation;
  const ssmRate = Math.max(0, (ssmCalls - m.ssmBucket.capacity) / m.ssmBucket.refillPerSecond) * 1000 + lat.other;
  const sec = (ms: number) => Math.round(ms) / 1000;
  return {
    seconds: sec(Math.max(afterInventory, listingOrderPath, ssmRate)),
    afterInventory: sec(afterInventory),
    listingOrderPath: sec(listingOrderPath),
    ssmRate: sec(ssmRate),
    listThenRun: sec(listThenRun),
    inventory: sec(inventory),
    runCommand: sec(runCommand),
    tail: sec(tail),
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
  /** The check (a guest is only fixed after it was checked) + one remediation script run + tail. */
  readonly guestPath: number;
  readonly pacing: number;
  /** A check-then-act design: the list-then-run check bound, then the pacing. */
  readonly checkThenAct: number;
}

/**
 * Remediation bound. IMDS changes need only EC2 data, so they can start after the first describe
 * page; the guest step needs the guest checked first. Both must finish.
 */
export function remediationTimeBound(s: FleetShape, changes: number, m: TimeModel = defaultTimeModel()): RemediationTimeBound {
  const check = checkTimeBound(s, m);
  const pacing = modifyPacingSeconds(changes);
  const firstPage = (m.latencies.describeInstancesBase + m.latencies.describeInstancesPerItem * Math.min(1000, s.n)) / 1000;
  const pacingPath = changes > 0 ? firstPage + m.latencies.other / 1000 + pacing + m.runCommand.metadataApplyMs / 1000 : 0;
  const guestPath = check.seconds + (m.latencies.other + m.runCommand.guestMs + m.latencies.ssmListPage) / 1000;
  const r = (v: number) => Math.round(v * 1000) / 1000;
  return { seconds: r(Math.max(pacingPath, guestPath)), pacingPath: r(pacingPath), guestPath: r(guestPath), pacing: r(pacing), checkThenAct: r(check.listThenRun + pacing) };
}
