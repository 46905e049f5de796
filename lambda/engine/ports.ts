/**
 * Every interface the engines talk to the world through. Free of `@aws-sdk/*` (a lint rule says so):
 * the adapters in `lambda/aws/` implement these, tests and the benchmark substitute them, and the
 * engines never see an SDK type or error. What an adapter learns that the engine must act on
 * (throttled, gone, denied) comes back as data, never as an SDK exception to classify.
 */
import type { DefaultsChange, MetadataDefaultsReading } from '../core/fleet/metadata-defaults';
import type { RemediationAction } from '../core/remediation/plan';
import type { TokenBucketState } from '../core/util/token-bucket';
import type { ImdsOptions, InstanceRecord } from '../core/types';
import type { StragglerCutoffOptions } from '../core/fleet/straggler';
import type { AsffFinding } from '../core/findings-export/asff';
import type { ComplianceItem } from '../core/findings-export/compliance';

// ---- time ----------------------------------------------------------------------------------------

/** The only source of time for the engines and adapters. */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  /** Resolves after `ms` milliseconds of this clock's time (immediately when `ms` <= 0). */
  sleep(ms: number): Promise<void>;
}

// ---- logging -------------------------------------------------------------------------------------

/** The subset of a Powertools Logger the engines use. */
export interface EngineLogger {
  info(message: string, ...extra: Record<string, unknown>[]): void;
  warn(message: string, ...extra: Record<string, unknown>[]): void;
  error(message: string, ...extra: Record<string, unknown>[]): void;
}

/** The subset of a Powertools Metrics the engines use (EMF: stored, then flushed once). */
export interface MetricSink {
  addMetric(name: string, unit: 'Count', value: number): void;
  publishStoredMetrics(): void;
}

// ---- inventory -----------------------------------------------------------------------------------

/** Where the engines get the fleet from; the check and remediation engines depend only on this. */
export interface InstanceInventory {
  /** Every running instance, each exactly once, joined with SSM status. */
  listInstances(): Promise<InstanceRecord[]>;
  /**
   * Optional: the same listing, handing over records as soon as each is complete (once SSM has
   * answered for the slice of the EC2 page that holds it), so the caller can start
   * work while the listing goes on. `onRecords` must not block. Resolves to the full list, as
   * `listInstances` does; every record is handed over exactly once.
   */
  streamInstances?(onRecords: (records: InstanceRecord[]) => void): Promise<InstanceRecord[]>;
}

// ---- Run Command ---------------------------------------------------------------------------------

/** One document run over a set of instances. */
export interface RunDocumentRequest {
  readonly instanceIds: readonly string[];
  readonly documentName: string;
  /**
   * SHA-256 (64 lower-case hex digits) of the content the document must have: sent as
   * `DocumentHash` with `DocumentHashType: Sha256` on every SendCommand, so SSM runs the document
   * only if its default version is exactly that content (else `InvalidDocument`: nothing runs).
   * Required, never optional: every path decides. `undefined` is accepted only for AWS-owned
   * documents (`AWS-…`, a prefix SSM reserves to AWS, whose content AWS updates); for any other
   * document the run sends nothing and says why.
   */
  readonly documentHash: string | undefined;
  readonly parameters?: Readonly<Record<string, readonly string[]>>;
  /** SendCommand Comment (truncated to 100 characters). */
  readonly comment?: string;
  /** SSM MaxConcurrency (number or percent). */
  readonly maxConcurrency: string;
  /** SSM MaxErrors (number or percent). */
  readonly maxErrors: string;
  /** SSM delivery timeout, seconds (30 – 2,592,000). */
  readonly timeoutSeconds: number;
  /**
   * Absolute time (clock ms) after which waiting stops: commands still running are listed as they
   * are and unfinished instances become `timed-out` / `no-invocation`.
   * @default - start + timeoutSeconds × 1000 + 60 s
   */
  readonly deadline?: number;
  /**
   * A complete output contains this text (the report's end marker); an output without it, or at the
   * Details limit, is fetched again with GetCommandInvocation.
   * @default - only the length rule applies
   */
  readonly endMarker?: string;
  /**
   * With `endMarker`: the missing-end rule applies only to outputs that contain this text (the
   * report's first line), so a short shell error is not refetched for nothing.
   * @default - every output without the end marker is refetched
   */
  readonly startMarker?: string;
  /**
   * Stop waiting for stragglers: once most targets finished, an invocation still running after
   * the cutoff (see lambda/core/fleet/straggler.ts) becomes `pending` and is left running. Only for
   * read-only documents (the collector): a document that changes a guest must end on its own.
   * @default - no cutoff: wait for SSM's verdict (the document's timeout) or the deadline
   */
  readonly stragglerCutoff?: StragglerCutoffOptions;
  /**
   * Receives results as soon as they are final (the command's invocations listed, cut outputs
   * fetched again; `pending` results are not final and are not handed out), each instance at most once, and only while the run has no
   * run-level error; `finish()` still returns every result. Must not block or throw.
   * @default - results only from `finish()`
   */
  readonly onResults?: (results: readonly InvocationResult[]) => void;
  /**
   * Called once, when the run first leaves a collector `pending` at the straggler cutoff (or reads
   * one SSM ended at its timeout, or first finds one running longer than any that finished): the caller may start what it will need for late collectors (the
   * previous runs' commands, {@link RunCommandPort.prefetchPrevious}) while the run still waits.
   * Must not block or throw. @default - nothing is called
   */
  readonly onLate?: () => void;
  /**
   * Instances to start first, as far as known when they are added (asked at each `add`): each goes
   * to the front of its command, and its command to the front of the queue, so its guest starts in
   * the ramp's first wave soon after it is added. Only an order: an id never added is never sent.
   * @default - targets are sent in the order they are added
   */
  readonly startFirst?: () => ReadonlySet<string> | undefined;
}

/** Where one instance's invocation ended. Anything but `success` is not a clean run. */
export type InvocationState =
  | 'success'
  | 'failed'
  | 'timed-out'
  | 'undeliverable'
  | 'cancelled'
  | 'terminated'
  /** SendCommand rejected the id (InvalidInstanceId): stopped, terminated or no longer managed. */
  | 'gone'
  /** IAM denied SendCommand on this instance (e.g. the opt-out Deny): isolated, the rest of its batch ran. */
  | 'denied'
  /** The command ended (or the deadline hit) with no invocation for this instance. */
  | 'no-invocation'
  /**
   * Still running (or not started) at the straggler cutoff while the run had finished: left
   * running (not cancelled) and not judged by this run; the next run reads its result.
   */
  | 'pending'
  /** SendCommand failed for a reason not attributable to this instance (see `detail`). */
  | 'send-failed';

/** One instance's result. */
export interface InvocationResult {
  readonly instanceId: string;
  readonly state: InvocationState;
  readonly commandId?: string;
  /** SSM invocation Status / StatusDetails, or the error name for `gone` / `send-failed`. */
  readonly status?: string;
  readonly detail?: string;
  /** Standard output (all plugins that produced any, joined by newlines). */
  readonly output?: string;
  readonly responseCode?: number;
  /** True when the output came from the GetCommandInvocation fallback. */
  readonly refetched?: boolean;
  /** True when waiting stopped at the deadline with this instance unfinished (alive but slow, not gone). */
  readonly atDeadline?: boolean;
  /** When the guest finished (ms, its last plugin's end as SSM reports it), if it did. */
  readonly finishedAt?: number;
}

/** API call counters of one run (the cost model and the benchmark read them). */
export interface RunCommandStats {
  sendCommand: number;
  listCommands: number;
  listCommandInvocationsPages: number;
  getCommandInvocation: number;
  /** CancelCommand calls (stragglers); absent from ports that never cancel. */
  cancelCommand?: number;
  throttled: number;
  polls: number;
}

/** The outcome of a document run. */
export interface RunDocumentResult {
  /** Exactly one entry per requested instance id. */
  readonly results: Map<string, InvocationResult>;
  readonly commandIds: readonly string[];
  /** Errors that are not about an instance (access denied, missing document…): the run is broken. */
  readonly errors: readonly string[];
  readonly stats: RunCommandStats;
}

/** A document run whose targets are added over time. */
export type RunSessionRequest = Omit<RunDocumentRequest, 'instanceIds'>;

/** An open document run. */
export interface RunSession {
  /** Adds targets; full batches of 50 are sent in the background at once. Duplicates are ignored. */
  add(instanceIds: readonly string[]): void;
  /** Sends what is buffered, waits for every command (or the deadline), one result per added id. */
  finish(): Promise<RunDocumentResult>;
}

/**
 * What the engines need from Run Command: one path, a session whose targets may arrive over time
 * (all at once is the special case, see `runDocument` in ./run-document.ts). Never throws for an
 * instance's failure: that is a result.
 */
export interface RunCommandPort {
  startSession(request: RunSessionRequest): RunSession;
  /**
   * The latest invocation of the document on each instance among the commands sent in
   * [after, before): how an earlier run's `pending` collector ended. An instance with no such
   * invocation is absent. Throws when SSM cannot be read (the caller then treats nothing as read).
   * @default - not available: pending stays pending
   */
  previousResults?(request: PreviousResultsRequest): Promise<Map<string, InvocationResult>>;
  /**
   * Starts listing the commands of a look-back window now, so that a later `previousResults` for
   * the same window only reads the invocations (the listing is paged and sequential: one page per
   * 50 commands). Never throws; a failed listing is seen by `previousResults`.
   * @default - not available: `previousResults` lists the window itself
   */
  prefetchPrevious?(window: PreviousWindow): void;
  /**
   * The instances whose collector SSM ended `TimedOut` in a look-back window (a hung guest, or one
   * never delivered), from one listing that a later `previousResults` of the same window reuses.
   * The check starts them first: a collector that hung before likely hangs again, and its straggler
   * cutoff then runs out while the rest of the fleet is checked. Never rejects (empty on failure).
   * @default - not available: every target is sent in listing order
   */
  recentTimedOut?(window: PreviousWindow): Promise<ReadonlySet<string>>;
}

/** The commands a {@link PreviousResultsRequest} looks among. */
export type PreviousWindow = Omit<PreviousResultsRequest, 'instanceIds'>;

/** What {@link RunCommandPort.previousResults} looks for. */
export interface PreviousResultsRequest {
  readonly documentName: string;
  /** Only commands with exactly this comment (the engine's own). @default - any comment */
  readonly comment?: string;
  readonly instanceIds: readonly string[];
  /** Commands requested at or after this moment (ms)… */
  readonly after: number;
  /** …and before this one (ms): the current run's own commands are not previous. */
  readonly before: number;
}

// ---- IMDS ----------------------------------------------------------------------------------------

/** One change request: only the options that change are present. */
export interface ImdsModifyRequest {
  readonly instanceId: string;
  /** New hop limit; the caller guarantees it is higher than the current one. */
  readonly hopLimit?: number;
  /** Set `HttpEndpoint: 'enabled'`. */
  readonly enableEndpoint?: boolean;
  /** Set `HttpTokens` (IMDSv2 enforcement and its tag-gated undo: docs/imdsv2.md). */
  readonly httpTokens?: 'required' | 'optional';
  /**
   * Further metadata options by parameter (rows of lambda/contracts/metadata-options.ts beyond the
   * three above), each the row's desired value. A parameter the table has no row for is never sent.
   */
  readonly options?: Readonly<Record<string, string | number>>;
}

export type ImdsModifyResult =
  | { readonly outcome: 'requested'; readonly state?: string; readonly attempts: number }
  /** The instance no longer exists (terminated between check and change). */
  | { readonly outcome: 'gone'; readonly error: string; readonly attempts: number }
  /** Still throttled after every attempt: not done, not failed — the engine queues it again. */
  | { readonly outcome: 'throttled'; readonly error: string; readonly attempts: number }
  | { readonly outcome: 'failed'; readonly error: string; readonly attempts: number };

/** Fresh IMDS options plus the opt-out as read in the same DescribeInstances (tags included). */
export interface FreshImdsOptions extends ImdsOptions {
  /** The instance carries the opt-out tag now (only when the port knows the tag key). */
  readonly optedOut?: boolean;
}

/**
 * A fresh read: the instances found (an id absent from the map no longer exists), or `throttled`
 * when EC2 kept throttling past the retries (nothing read: look again later). Any other error is
 * run-level and thrown.
 */
export type ImdsDescribeResult =
  | { readonly outcome: 'described'; readonly instances: Map<string, FreshImdsOptions> }
  | { readonly outcome: 'throttled'; readonly error: string };

/** What the remediation engine needs from EC2 for IMDS changes. */
export interface ImdsPort {
  /** Fresh IMDS options for these ids. */
  describe(ids: readonly string[]): Promise<ImdsDescribeResult>;
  /** One paced, retried ModifyInstanceMetadataOptions. Never throws. */
  modify(request: ImdsModifyRequest): Promise<ImdsModifyResult>;
  /** Milliseconds the next modify would wait for a token (for deadline planning). */
  modifyWaitMs(): number;
  /** The modify bucket's state, to carry across a continuation. */
  bucketState(): TokenBucketState;
}

// ---- audit and notification ----------------------------------------------------------------------

/** The outcome of one action, as recorded. */
export type AuditOutcome = 'planned' | 'applied' | 'verified' | 'rolled-back' | 'failed' | 'skipped';

/** `detail` of a `TimeSync Guard Remediation Action` event. */
export interface AuditActionDetail {
  readonly runId: string;
  readonly instanceId: string;
  /** A remediation action, or an IMDSv2 one (`require-imdsv2`, `rollback-imdsv2`: docs/imdsv2.md). */
  readonly action: RemediationAction | 'require-imdsv2' | 'rollback-imdsv2';
  readonly outcome: AuditOutcome;
  /** Why (skipped, failed, rolled back): a short kebab-case token, e.g. `opted-out`, `cap-reached`, `not-applied`. */
  readonly reason?: string;
  readonly before?: unknown;
  readonly after?: unknown;
  readonly dryRun: boolean;
  /** ISO-8601 time of the action. */
  readonly at: string;
}

/** `detail` of a `TimeSync Guard Continuation Refused` event. */
export interface ContinuationRefusedDetail {
  /** `forged` (signature missing or wrong), `expired`, or `malformed`. */
  readonly reason: string;
  readonly message: string;
  /** Length and SHA-256 prefix of the refused text (the text itself is not recorded). */
  readonly continuationChars: number;
  readonly continuationSha256: string;
  /** ISO-8601 time of the refusal. */
  readonly at: string;
}

/** Where audit records go. */
export interface AuditSink {
  /** Sends action events; resolves when sent (or given up on: counted in `failedEntries`). */
  actions(details: readonly AuditActionDetail[]): Promise<void>;
  /** Sends the run summary event. */
  summary(detail: Record<string, unknown>): Promise<void>;
  /** Sends the event of a refused continuation. */
  refused(detail: ContinuationRefusedDetail): Promise<void>;
  /** Sends an account-defaults action event (optional: sinks that predate it simply lack it). */
  accountDefaults?(detail: Record<string, unknown>): Promise<void>;
  /** Entries EventBridge did not accept after every retry. */
  failedEntries(): number;
}

// ---- account metadata defaults -------------------------------------------------------------------

/** The outcome of one ModifyInstanceMetadataDefaults. */
export type DefaultsModifyResult =
  | { readonly outcome: 'requested'; readonly attempts: number }
  /** Still throttled after every attempt: not done (the next night tries again). */
  | { readonly outcome: 'throttled'; readonly error: string; readonly attempts: number }
  | { readonly outcome: 'failed'; readonly error: string; readonly attempts: number };

/** The account's instance metadata defaults in this region (lambda/aws/metadata-defaults.ts). */
export interface MetadataDefaultsPort {
  /** Never throws: an error is `{ status: 'unknown' }`. */
  read(): Promise<MetadataDefaultsReading>;
  /** Sends exactly the change (nothing else is ever in the request). Never throws. */
  modify(change: DefaultsChange): Promise<DefaultsModifyResult>;
}

/** Sends a run summary to people. */
export interface Notifier {
  /** Never throws: a summary that could not be sent is reported as `false` (the caller logs it). */
  publish(subject: string, summary: Record<string, unknown>): Promise<boolean>;
}

// ---- findings export: Security Hub and SSM Compliance (lambda/engine/findings-export.ts) ---------

/** A finding Security Hub did not accept (BatchImportFindings `FailedFindings`). */
export interface FailedImport {
  readonly id: string;
  readonly code: string;
  readonly message: string;
}

/** The outcome of one BatchImportFindings call (≤ 100 findings). */
export type ImportBatchResult =
  | { readonly outcome: 'imported'; readonly failed: readonly FailedImport[] }
  /** Security Hub is not enabled in the account-region (InvalidAccessException): nothing can be imported. */
  | { readonly outcome: 'not-subscribed'; readonly error: string }
  /** The whole call failed (denied, still throttled after the retries, …). */
  | { readonly outcome: 'failed'; readonly error: string };

/** What the export needs from Security Hub. */
export interface SecurityHubPort {
  /** One paced, retried BatchImportFindings of at most 100 findings. Never throws. */
  importFindings(findings: readonly AsffFinding[]): Promise<ImportBatchResult>;
}

/** One PutComplianceItems request (COMPLETE upload of `Custom:TimeSyncGuard`). */
export interface CompliancePutRequest {
  readonly instanceId: string;
  readonly items: readonly ComplianceItem[];
  readonly itemContentHash: string;
  readonly executionId: string;
  readonly executionTime: number;
}

export type CompliancePutResult =
  | { readonly outcome: 'put' }
  /** Not an SSM managed node (InvalidResourceId): nothing to put. */
  | { readonly outcome: 'not-managed'; readonly error: string }
  | { readonly outcome: 'failed'; readonly error: string };

/** What the export needs from Systems Manager Compliance. */
export interface CompliancePort {
  /** One paced, retried PutComplianceItems. Never throws. */
  put(request: CompliancePutRequest): Promise<CompliancePutResult>;
}

/** Text in, text out: where the export remembers what it last exported (see lambda/aws/readiness-cache.ts). */
export interface ExportStateStore {
  /** The stored text, or undefined when there is none yet. Throws on any other failure. */
  read(): Promise<string | undefined>;
  write(text: string): Promise<void>;
}
