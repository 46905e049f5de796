/**
 * The hourly fleet check, independent of Lambda: inventory → collector through Run Command on the
 * reachable guests → diagnose → evaluate → aggregate. All waiting goes through `deps.clock`, all AWS
 * access through the two ports, so the same engine serves the handler, the CLI, the tests and the
 * benchmark. A single instance failing is data (a check state), never an exception.
 */
import { aggregate, type FleetSummary } from '../core/fleet/aggregate';
import { diagnose as realDiagnose } from '../core/diagnosis/diagnose';
import { type CollectionOutcome, evaluateInstance, preCollectionOutcome } from '../core/fleet/evaluate-instance';
import { type AccountDefaultsReport, countContainerHosts, evaluateMetadataDefaults } from '../core/fleet/metadata-defaults';
import { REPORT_END, REPORT_MAGIC } from '../core/diagnosis/report';
import type { StragglerCutoffOptions } from '../core/fleet/straggler';
import type { CheckSettings, Settings } from '../core/settings';
import type { InstanceEvaluation, InstanceRecord, Platform, Thresholds, Verdict } from '../core/types';
import type { Clock, EngineLogger, InstanceInventory, InvocationResult, MetadataDefaultsPort, RunCommandPort, RunCommandStats, RunSession, RunSessionRequest } from './ports';
import { nodeReportCodec } from './report-codec';
import { type Imdsv2CheckPorts, type Imdsv2CheckResult, runImdsv2Checks } from './imdsv2';
import { CHECK_COMMAND_COMMENT, isLate, previousWindowOf, resolvePending } from './pending';
import { type CoverageDeps, startCoverage } from './coverage';
import type { CoverageReport } from '../core/fleet/coverage';

import type { LaunchSourcesPort } from './source-ports';
import { runSourcesCheck, type SourcesCheckResult } from './sources-check';

/** The pure diagnosis seam: report text in, verdict out (never throws). */
export type DiagnoseFn = (report: string, thresholds: Thresholds) => Verdict;

export type { EngineLogger };

/** What `runCheck` needs from the world. */
export interface CheckDeps {
  readonly inventory: InstanceInventory;
  readonly runCommand: RunCommandPort;
  readonly clock: Clock;
  /** @default - the real `diagnose` of lambda/core/diagnosis/diagnose.ts, opening compressed reports with node:zlib */
  readonly diagnose?: DiagnoseFn;
  /** @default - silent */
  readonly logger?: EngineLogger;
  /**
   * The account's instance metadata defaults, read once per run beside the inventory.
   * @default - not read (no `accountDefaults` in the run)
   */
  readonly metadataDefaults?: MetadataDefaultsPort;
  /** IMDSv2 readiness (and the rollback watch): docs/imdsv2.md. @default - not assessed */
  readonly imdsv2?: Imdsv2CheckPorts;
  /** SSM coverage with its causes (docs/coverage.md). @default - not assessed */
  readonly coverage?: CoverageDeps;
  /** Launch templates, groups and AMIs (docs/launch-templates.md). @default - no attribution */
  readonly launchSources?: LaunchSourcesPort;
}

/** SSM's own documents the CLI uses before anything is deployed. */
export const AWS_RUN_SHELL_SCRIPT = 'AWS-RunShellScript';
export const AWS_RUN_POWERSHELL_SCRIPT = 'AWS-RunPowerShellScript';

/**
 * How a script reaches the guests:
 * - `document`: one SSM document that handles both platforms (the stack's, with platform preconditions);
 * - `scripts`: the script text sent through AWS-RunShellScript / AWS-RunPowerShellScript (the CLI).
 */
export type DocumentStrategy =
  | {
      readonly kind: 'document';
      readonly documentName: string;
      /** The document's pinned SHA-256 (see `RunDocumentRequest.documentHash`); without it nothing is sent. */
      readonly documentHash: string | undefined;
      readonly parameters?: Readonly<Record<string, readonly string[]>>;
    }
  | { readonly kind: 'scripts'; readonly linux: string; readonly windows: string; readonly executionTimeoutSeconds?: number };

/** Options of one check run. */
export interface CheckOptions {
  /** Run the collector in the guests. @default true */
  readonly guest?: boolean;
  /** @default - `{ kind: 'document', documentName: settings.collectorDocument, documentHash: settings.collectorDocumentHash }` */
  readonly collector?: DocumentStrategy;
  /**
   * Absolute clock time after which the run stops waiting for guests.
   * @default - start + settings.commandTimeoutSeconds × 1000 + 60 s
   */
  readonly deadline?: number;
  /**
   * Restricts the run to these instances (the launch check): records of any other id are neither
   * collected nor evaluated, whichever inventory is used; an id the inventory does not return is
   * simply absent from `evaluations` (the caller decides whether it is gone or not yet visible).
   * @default - every instance the inventory returns
   */
  readonly instanceIds?: readonly string[];
  /**
   * The straggler cutoff of the collector run (lambda/core/fleet/straggler.ts).
   * @default - STRAGGLER_CUTOFF_DEFAULTS
   */
  readonly stragglerCutoff?: StragglerCutoffOptions;
  /**
   * Hands each instance's evaluation out as soon as it is final, while the run goes on (the
   * remediation plans from it). @default - evaluations only in the returned run
   */
  readonly stream?: CheckStream;
}

/** An evaluation that is final, with the inventory record it was made from. */
export interface StreamedEvaluation {
  readonly evaluation: InstanceEvaluation;
  readonly record: InstanceRecord;
}

/**
 * What a running check hands out: the listing's progress and each evaluation once it cannot change
 * (not collected: at listing time; collected: once its command's result is read back whole). Every
 * streamed evaluation is the one the returned run holds for that instance; an instance whose result
 * only `finish()` gives (send failures, the deadline) is only in the returned run. Nothing is handed
 * out once the collector run has a run-level error. Callbacks must not block.
 */
export interface CheckStream {
  /** The number of instances listed so far, in all (scope or not): it only grows. */
  listed?(count: number): void;
  evaluated(items: readonly StreamedEvaluation[]): void;
}

/** Timings of one run (clock ms). */
export interface CheckTimings {
  readonly inventoryMs: number;
  readonly collectMs: number;
  readonly evaluateMs: number;
}

/** The outcome of one check run. */
export interface CheckRun {
  readonly startedAt: number;
  readonly finishedAt: number;
  readonly durationMs: number;
  /** False when the run itself failed (e.g. SendCommand denied): its metrics must not pass for a healthy heartbeat. */
  readonly completed: boolean;
  /** Run-level errors (not about one instance). */
  readonly errors: readonly string[];
  /** One evaluation per running instance, inventory order. */
  readonly evaluations: readonly InstanceEvaluation[];
  readonly summary: FleetSummary;
  readonly timings: CheckTimings;
  /** API call counters of the Run Command part (summed over platforms). */
  readonly commandStats: RunCommandStats;
  /** The account metadata defaults judged against this fleet (only when `deps.metadataDefaults` is given). */
  readonly accountDefaults?: AccountDefaultsReport;
  /** IMDSv2 readiness and rollback watch; absent when not assessed (no ports, or `imdsv2: off`). */
  readonly imdsv2?: Imdsv2CheckResult;
  /** SSM coverage and why the rest is not reached; absent when not assessed (no port). */
  readonly coverage?: CoverageReport;
  /** Attribution and the launch sources' judgement; absent without the port or with `launchTemplates: off`. */
  readonly sources?: SourcesCheckResult;
}

/** What a {@link DocumentRun} returns. */
export interface CollectResult {
  readonly results: Map<string, InvocationResult>;
  readonly errors: readonly string[];
  readonly stats: RunCommandStats;
}

/** Settings the Run Command part reads. */
export type CommandSettings = Pick<Settings, 'remediationMaxConcurrency' | 'remediationMaxErrors' | 'commandTimeoutSeconds'>;

/** Options of {@link openDocumentRun}. */
export interface RunOnInstancesOptions {
  readonly deadline?: number;
  /** A complete output contains this marker (else the GetCommandInvocation fallback runs). */
  readonly endMarker?: string;
  /** With `endMarker`: only outputs containing this text are refetched for a missing end. */
  readonly startMarker?: string;
  readonly comment?: string;
  /** Stop waiting for stragglers (read-only documents only, see RunDocumentRequest). @default - no cutoff */
  readonly stragglerCutoff?: StragglerCutoffOptions;
  /** Final results as they come (see RunDocumentRequest). @default - results only from `finish()` */
  readonly onResults?: (results: readonly InvocationResult[]) => void;
  /** The run's first late collector (see RunDocumentRequest). @default - nothing is called */
  readonly onLate?: () => void;
  /** Instances to start first (see RunDocumentRequest). @default - in the order they are added */
  readonly startFirst?: () => ReadonlySet<string> | undefined;
}

function emptyStats(): RunCommandStats {
  return { sendCommand: 0, listCommands: 0, listCommandInvocationsPages: 0, getCommandInvocation: 0, cancelCommand: 0, throttled: 0, polls: 0 };
}

function addStats(a: RunCommandStats, b: RunCommandStats): void {
  for (const k of Object.keys(a) as (keyof RunCommandStats)[]) a[k] = (a[k] ?? 0) + (b[k] ?? 0);
}

/** A document run fed with targets over time (see {@link openDocumentRun}). */
export interface DocumentRun {
  /** Adds targets; they are sent at once, in batches of 50. */
  add(instances: readonly Pick<InstanceRecord, 'instanceId' | 'platform'>[]): void;
  /** Sends the rest and waits: one result per added instance. */
  finish(): Promise<CollectResult>;
}

/**
 * Opens a document run whose targets arrive page by page (the check feeds it from the inventory, so
 * the guests already work while SSM is still listing). One session per document.
 */
export function openDocumentRun(
  runCommand: RunCommandPort,
  strategy: DocumentStrategy,
  settings: CommandSettings,
  options: RunOnInstancesOptions = {},
): DocumentRun {
  const common = {
    maxConcurrency: settings.remediationMaxConcurrency,
    maxErrors: settings.remediationMaxErrors,
    timeoutSeconds: settings.commandTimeoutSeconds,
    ...(options.deadline !== undefined ? { deadline: options.deadline } : {}),
    ...(options.endMarker !== undefined ? { endMarker: options.endMarker } : {}),
    ...(options.startMarker !== undefined ? { startMarker: options.startMarker } : {}),
    ...(options.comment !== undefined ? { comment: options.comment } : {}),
    ...(options.stragglerCutoff !== undefined ? { stragglerCutoff: options.stragglerCutoff } : {}),
    ...(options.onResults !== undefined ? { onResults: options.onResults } : {}),
    ...(options.onLate !== undefined ? { onLate: options.onLate } : {}),
    ...(options.startFirst !== undefined ? { startFirst: options.startFirst } : {}),
  };
  const requestFor = (platform: Platform): RunSessionRequest => {
    if (strategy.kind === 'document') {
      return { ...common, documentName: strategy.documentName, documentHash: strategy.documentHash, ...(strategy.parameters ? { parameters: strategy.parameters } : {}) };
    }
    const executionTimeout = [String(strategy.executionTimeoutSeconds ?? 120)];
    return platform === 'windows'
      ? { ...common, documentName: AWS_RUN_POWERSHELL_SCRIPT, documentHash: undefined, parameters: { commands: [strategy.windows], executionTimeout } }
      : { ...common, documentName: AWS_RUN_SHELL_SCRIPT, documentHash: undefined, parameters: { commands: [strategy.linux], executionTimeout } };
  };
  // One run per document: both platforms share the stack document; scripts need one per platform.
  const keyOf = (platform: Platform): string => (strategy.kind === 'document' ? 'all' : platform);
  const sessions = new Map<string, RunSession>();
  return {
    add(instances) {
      for (const i of instances) {
        const key = keyOf(i.platform);
        let session = sessions.get(key);
        if (!session) {
          session = runCommand.startSession(requestFor(i.platform));
          sessions.set(key, session);
        }
        session.add([i.instanceId]);
      }
    },
    async finish() {
      const outs = await Promise.all([...sessions.values()].map((session) => session.finish()));
      const results = new Map<string, InvocationResult>();
      const errors: string[] = [];
      const stats = emptyStats();
      for (const out of outs) {
        for (const [id, r] of out.results) results.set(id, r);
        errors.push(...out.errors);
        addStats(stats, out.stats);
      }
      return { results, errors, stats };
    },
  };
}

/**
 * Turns one invocation result into a collection outcome. A Failed collector that still printed a
 * report is diagnosed (its report says why it failed); nothing else that went wrong is ever "checked".
 */
export function outcomeOf(result: InvocationResult | undefined, diagnose: DiagnoseFn, thresholds: Thresholds): CollectionOutcome {
  if (!result) return { kind: 'not-checked', checkState: 'gone', code: 'instance-gone', detail: 'no result for this instance' };
  const detail = [result.status, result.detail].filter(Boolean).join(': ') || undefined;
  const d = detail !== undefined ? { detail } : {};
  switch (result.state) {
    case 'success':
    case 'failed': {
      const output = result.output ?? '';
      if (output.includes(REPORT_MAGIC)) {
        const verdict = diagnose(output, thresholds);
        return { kind: 'report', verdict, ...(result.state === 'failed' ? { detail: `collector Failed (rc ${result.responseCode ?? '?'}) but printed a report` } : {}) };
      }
      return result.state === 'success'
        ? { kind: 'not-checked', checkState: 'output-unreadable', code: 'output-unreadable', detail: output === '' ? 'empty output' : 'output is not a collector report' }
        : { kind: 'not-checked', checkState: 'command-failed', code: 'command-failed', ...d };
    }
    case 'timed-out':
      return { kind: 'not-checked', checkState: 'timed-out', code: 'command-timed-out', ...d };
    case 'pending':
      // Left running past the straggler cutoff: not judged, not counted; the next run reads its result (./pending.ts).
      return { kind: 'not-checked', checkState: 'pending', code: 'check-pending', ...d };
    case 'undeliverable':
      return { kind: 'not-checked', checkState: 'undeliverable', code: 'command-undeliverable', ...d };
    case 'cancelled':
      return { kind: 'not-checked', checkState: 'command-failed', code: 'command-cancelled', ...d };
    case 'send-failed':
      return { kind: 'not-checked', checkState: 'command-failed', code: 'command-not-sent', ...d };
    case 'no-invocation':
      // At the deadline the instance may just be slow; after a terminal command it has vanished.
      return result.atDeadline
        ? { kind: 'not-checked', checkState: 'timed-out', code: 'command-timed-out', ...d }
        : { kind: 'not-checked', checkState: 'gone', code: 'instance-gone', ...d };
    case 'terminated':
    case 'gone':
      return { kind: 'not-checked', checkState: 'gone', code: 'instance-gone', ...d };
    default:
      return { kind: 'not-checked', checkState: 'command-failed', code: 'command-failed', ...d };
  }
}

/** The outcome of an instance the collector is not sent to (opted out, not reachable, or no guest part), else undefined. */
function outcomeWithoutCollector(record: InstanceRecord, guest: boolean): CollectionOutcome | undefined {
  const pre = preCollectionOutcome(record);
  if (pre === 'opted-out') return { kind: 'not-requested' };
  if (pre) return pre;
  return guest ? undefined : { kind: 'not-requested' };
}

/**
 * The collector runs on every target of a command at once. It is read-only and ends in seconds, so
 * holding some targets back (SSM's MaxConcurrency) protects nothing and only delays the fleet
 * check behind its slowest guest; `remediationMaxConcurrency` keeps governing the remediation document.
 */
export const COLLECTOR_MAX_CONCURRENCY = '100%';

/** Nor does one guest's failure stop the others from being checked: every instance gets its record. */
export const COLLECTOR_MAX_ERRORS = '100%';

/**
 * Runs one fleet check. Throws only when the inventory cannot be read (nothing to report);
 * any later run-level failure returns `completed: false` with `errors`.
 */
export async function runCheck(deps: CheckDeps, settings: CheckSettings, options: CheckOptions = {}): Promise<CheckRun> {
  const { clock } = deps;
  const diagnose = deps.diagnose ?? ((report: string, t: Thresholds) => realDiagnose(report, t, nodeReportCodec));
  const thresholds: Thresholds = { maxOffsetSeconds: settings.maxOffsetSeconds, maxClockErrorBoundSeconds: settings.maxClockErrorBoundSeconds };
  const startedAt = clock.now();
  const guest = options.guest ?? true;
  const strategy: DocumentStrategy = options.collector ?? { kind: 'document', documentName: settings.collectorDocument, documentHash: settings.collectorDocumentHash };
  const stream = options.stream;
  // Evaluations already handed out (reused below, so each instance is judged once) and the
  // collector targets whose results are still awaited, for the stream.
  const streamed = new Map<string, InstanceEvaluation>();
  const awaited = new Map<string, InstanceRecord>();
  const handOut = (items: StreamedEvaluation[]): void => {
    for (const i of items) streamed.set(i.record.instanceId, i.evaluation);
    if (items.length > 0) stream?.evaluated(items);
  };
  const onResults = (results: readonly InvocationResult[]): void => {
    const items: StreamedEvaluation[] = [];
    for (const res of results) {
      const record = awaited.get(res.instanceId);
      // A late collector is judged at the end, with the previous run's result (./pending.ts).
      if (!record || isLate(res)) continue;
      awaited.delete(res.instanceId);
      items.push({ record, evaluation: evaluateInstance(record, outcomeOf(res, diagnose, thresholds), settings) });
    }
    handOut(items);
  };
  // The previous runs' commands are listed as soon as a collector is late (the listing's pages are
  // sequential), while this run still waits on its last guests: resolvePending then only reads.
  const window = previousWindowOf(strategy, startedAt);
  const prefetch = window && deps.runCommand.previousResults && deps.runCommand.prefetchPrevious ? () => deps.runCommand.prefetchPrevious?.(window) : undefined;
  // Collectors SSM timed out in that window (hung guests) go first: one that hung before likely
  // hangs again, and its straggler cutoff then runs out while the rest of the fleet is checked,
  // not after the run's last command. The same listing spares the two-run rule a read per instance.
  // Not for a check of a few named instances (launch checks): there it would cost more than it saves.
  const timedOut = window && !options.instanceIds && deps.runCommand.previousResults ? deps.runCommand.recentTimedOut?.(window) : undefined;
  let hungBefore: ReadonlySet<string> | undefined;
  void timedOut?.then((ids) => void (hungBefore = ids));
  const startFirst = timedOut ? () => hungBefore : undefined;
  const run = openDocumentRun(deps.runCommand, strategy, { ...settings, remediationMaxConcurrency: COLLECTOR_MAX_CONCURRENCY, remediationMaxErrors: COLLECTOR_MAX_ERRORS }, {
    deadline: options.deadline ?? startedAt + settings.commandTimeoutSeconds * 1000 + 60_000,
    endMarker: REPORT_END,
    startMarker: REPORT_MAGIC,
    comment: CHECK_COMMAND_COMMENT,
    // The collector only reads: a guest still running when the rest of the run is done is left running, `pending`.
    stragglerCutoff: options.stragglerCutoff ?? {},
    ...(stream ? { onResults } : {}),
    ...(prefetch ? { onLate: prefetch } : {}),
    ...(startFirst ? { startFirst } : {}),
  });
  // One call, in parallel with the inventory; a failed read is data (`unknown`), never a failed run.
  const defaultsRead = deps.metadataDefaults?.read();
  const only = options.instanceIds ? new Set(options.instanceIds) : undefined;
  const wanted = (r: InstanceRecord): boolean => !only || only.has(r.instanceId);
  let listedCount = 0;
  const addTargets = (batch: readonly InstanceRecord[]): void => {
    if (guest) run.add(batch.filter((r) => wanted(r) && preCollectionOutcome(r) === undefined));
    if (!stream) return;
    listedCount += batch.length;
    stream.listed?.(listedCount);
    // What is not collected is final at listing time; the rest waits for its collector.
    const items: StreamedEvaluation[] = [];
    for (const record of batch) {
      if (!wanted(record) || streamed.has(record.instanceId)) continue;
      const outcome = outcomeWithoutCollector(record, guest);
      if (outcome) items.push({ record, evaluation: evaluateInstance(record, outcome, settings) });
      else awaited.set(record.instanceId, record);
    }
    handOut(items);
  };
  // Streaming inventory: the collector goes out page by page while SSM is still listing.
  const listed = deps.inventory.streamInstances
    ? await deps.inventory.streamInstances(addTargets)
    : await deps.inventory.listInstances().then((all) => (addTargets(all), all));
  const records = only ? listed.filter(wanted) : listed;
  const inventoryDone = clock.now();
  // Beside the guests' wait, off the critical path: one S3 read on most runs, a refresh once a day.
  const imdsv2 = deps.imdsv2 && settings.imdsv2 !== 'off' ? runImdsv2Checks(deps.imdsv2, records, settings, clock, deps.logger) : undefined;
  const coverage = startCoverage(deps.coverage, records, clock, deps.logger);
  const collected = await run.finish();
  // Collectors still running at the straggler cutoff: how each one's previous run ended decides
  // whether it is read (that result), pending (not counted) or unread twice (counted).
  const resolved = await resolvePending(deps.runCommand, strategy, collected.results, { startedAt, clock, diagnose, thresholds, ...(options.deadline !== undefined ? { deadline: options.deadline } : {}), ...(deps.logger ? { logger: deps.logger } : {}) });
  const imdsv2Result = await imdsv2;
  const coverageReport = await coverage;
  const collectDone = clock.now();

  const evaluations: InstanceEvaluation[] = [];
  for (const r of records) {
    const handed = streamed.get(r.instanceId);
    let outcome = handed ? undefined : outcomeWithoutCollector(r, guest);
    if (!handed && !outcome) outcome = resolved.get(r.instanceId) ?? outcomeOf(collected.results.get(r.instanceId), diagnose, thresholds);
    // Bounded memory at fleet scale: drop the raw output once it is judged.
    collected.results.delete(r.instanceId);
    evaluations.push(handed ?? evaluateInstance(r, outcome as CollectionOutcome, settings));
  }
  streamed.clear();
  // IMDS options at their source, once per run (O(groups + templates), never per instance).
  const sources = deps.launchSources && settings.launchTemplates !== 'off' ? await runSourcesCheck(deps.launchSources, records, evaluations, settings, await defaultsRead) : undefined;
  if (sources) evaluations.splice(0, evaluations.length, ...sources.evaluations);
  const summary = aggregate(evaluations, thresholds);
  const accountDefaults = defaultsRead && evaluateMetadataDefaults(await defaultsRead, countContainerHosts(evaluations), settings.hopLimitTarget);
  const finishedAt = clock.now();
  if (collected.errors.length > 0) deps.logger?.error('check run errors', { errors: collected.errors });
  return {
    startedAt,
    finishedAt,
    durationMs: finishedAt - startedAt,
    completed: collected.errors.length === 0,
    errors: collected.errors,
    evaluations,
    summary,
    timings: { inventoryMs: inventoryDone - startedAt, collectMs: collectDone - inventoryDone, evaluateMs: finishedAt - collectDone },
    commandStats: collected.stats,
    ...(accountDefaults ? { accountDefaults } : {}),
    ...(imdsv2Result ? { imdsv2: imdsv2Result } : {}),
    ...(coverageReport ? { coverage: coverageReport } : {}),
    ...(sources ? { sources: sources.result } : {}),
  };
}
