/**
 * Simulated SSM: the managed-node listing (DescribeInstanceInformation) and Run Command
 * (SendCommand, ListCommands, ListCommandInvocations, GetCommandInvocation, CancelCommand) over
 * virtual time: delivery ramp, MaxConcurrency / MaxErrors, guest execution, the 2,500-character
 * `Details` cap, 50 ids per SendCommand, one request bucket for every SSM action (A1).
 * Registered in account.ts's SERVICES.
 */
import { createHash } from 'node:crypto';
import {
  AccessDeniedException,
  CancelCommandCommand,
  DescribeDocumentCommand,
  DescribeInstanceInformationCommand,
  GetCommandInvocationCommand,
  InvalidCommandId,
  InvalidFilterKey,
  InvalidInstanceId,
  InvalidPluginName,
  InvocationDoesNotExist,
  ListCommandInvocationsCommand,
  ListCommandsCommand,
  SendCommandCommand,
  SSMClient,
  type CancelCommandCommandInput,
  type DescribeDocumentCommandInput,
  type DescribeInstanceInformationCommandInput,
  type GetCommandInvocationCommandInput,
  type ListCommandInvocationsCommandInput,
  type ListCommandsCommandInput,
  type SendCommandCommandInput,
} from '@aws-sdk/client-ssm';
import { DETAILS_OUTPUT_LIMIT, STDERR_SEPARATOR } from '../../lambda/aws/run-command';
import type { DocumentKind, SimAccount, SimAccountOptions, SimService } from './account';
import { collectorReport, remediationOutput, type InvocationScript, type SimInstance } from './fleet';
import { DEFAULT_RUN_COMMAND_MODEL, indexedPage, pageAfter, percentOrCount, SimAwsError, ssmMeta, type BucketSpec, type RunCommandModel } from './primitives';
import { COMPLIANCE_ACTIONS } from './securityhub';
import { SSM_SERVICE_SETTING_ACTIONS } from './coverage';

/** Options of the simulated SSM (part of SimAccountOptions); the defaults are what the benchmark measures. */
export interface SimSsmOptions {
  /**
   * How SendCommand's InvalidInstanceId reads: `named` lists the bad ids (`Instances [[i-…]] not in
   * a valid state…`, as SSM writes it), `generic` names none (the adapter must then bisect). @default 'named'
   */
  readonly invalidInstanceMessage?: 'named' | 'generic';
  /**
   * ListCommandInvocations returns at most this many invocations a page even when MaxResults asks
   * for more (AWS may return fewer; tests of paging over a few instances). @default MaxResults
   */
  readonly invocationPageSize?: number;
  /**
   * Documents with the deployed two-step layout (lib/constructs/guest-documents.ts: a `linux` and a
   * `windows` step, each with a platformType precondition): every invocation lists both plugins,
   * the other platform's as skipped, and GetCommandInvocation requires PluginName. @default none: one
   * `aws:runShellScript` / `aws:runPowerShellScript` plugin
   */
  readonly platformStepDocuments?: readonly string[];
  /**
   * The SHA-256 SSM holds for a document's default version (what DescribeDocument's `Hash` says and
   * what SendCommand's `DocumentHash` must equal, else `InvalidDocument` and nothing runs). A test
   * gives another value to stand for a same-name document with other content. @default
   * {@link simDocumentHash} of each document of the account
   */
  readonly documentHashes?: Readonly<Record<string, string>>;
}

/**
 * The SHA-256 the simulator holds for a document of the account that no test overrode: a stand-in
 * content per name (the simulator holds no real content).
 */
export function simDocumentHash(name: string): string {
  return createHash('sha256').update(`{"simulated":"${name}"}`).digest('hex');
}

/** The hashes of the simulated account's default documents (TimeSyncGuard-Collect, TimeSyncGuard-Remediate[-Windows]). */
export const SIM_DOCUMENT_HASHES: Readonly<Record<string, string>> = {
  'TimeSyncGuard-Collect': simDocumentHash('TimeSyncGuard-Collect'),
  'TimeSyncGuard-Remediate': simDocumentHash('TimeSyncGuard-Remediate'),
  'TimeSyncGuard-Remediate-Windows': simDocumentHash('TimeSyncGuard-Remediate-Windows'),
};

/** The settings that pin the default documents, as the construct sets them (a test's or benchmark's env). */
export const SIM_DOCUMENT_PINS = {
  TSG_COLLECTOR_DOCUMENT_HASH: SIM_DOCUMENT_HASHES['TimeSyncGuard-Collect']!,
  TSG_REMEDIATION_DOCUMENT_HASH: SIM_DOCUMENT_HASHES['TimeSyncGuard-Remediate']!,
  TSG_WINDOWS_REMEDIATION_DOCUMENT_HASH: SIM_DOCUMENT_HASHES['TimeSyncGuard-Remediate-Windows']!,
} as const;

/** The hash SSM holds for `name`, for a document of the account (AWS's own are not modelled). */
function storedHash(acct: SimAccount, name: string): string | undefined {
  return acct.options.documentHashes?.[name] ?? (acct.documents[name] ? simDocumentHash(name) : undefined);
}

/** A1: SSM publishes no API rate; one shared bucket of 20 requests/s with a burst of 40. */
export const DEFAULT_SSM_BUCKET: BucketSpec = { capacity: 40, refillPerSecond: 20 };

/**
 * Environment variable that sets the SSM bucket of a benchmark run: `RATE` or `RATE,BURST` (run.ts
 * --ssm-rate sets it for its workers). Not `TSG_`-prefixed: the product's settings parser owns that
 * prefix and knows nothing of the benchmark.
 */
export const SSM_BUCKET_ENV = 'BENCH_SSM_BUCKET';

/** The SSM bucket of this process: from {@link SSM_BUCKET_ENV} when set (burst defaults to 2 × rate), else A1. */
export function ssmBucketFromEnv(env: Readonly<Record<string, string | undefined>> = process.env): BucketSpec {
  const raw = env[SSM_BUCKET_ENV];
  if (!raw) return DEFAULT_SSM_BUCKET;
  const [rate, burst] = raw.split(',').map(Number);
  if (!(rate! > 0) || (burst !== undefined && !(burst > 0))) throw new Error(`${SSM_BUCKET_ENV}=${raw}: expected RATE or RATE,BURST (positive numbers)`);
  return { refillPerSecond: rate!, capacity: burst ?? 2 * rate! };
}

/**
 * Milliseconds from a command's delivery start until its last invocation ends, for `count`
 * invocations of `guestMs` each under the ramp and MaxConcurrency `mc`: the same rules as
 * SendCommand below (wave w opens at w × round and admits 2^(w+1) − 1 in total; a new
 * invocation takes the slot of the earliest one to finish). Used for the lower bounds.
 */
export function deliveryMakespanMs(count: number, mc: number, model: RunCommandModel = DEFAULT_RUN_COMMAND_MODEL): number {
  const inFlight: number[] = [];
  let last = 0;
  for (let k = 0; k < count; k++) {
    const rampStart = Math.floor(Math.log2(k + 1)) * model.rampRoundMs;
    let slotFree = 0;
    if (inFlight.length >= Math.max(1, mc)) {
      inFlight.sort((a, b) => a - b);
      slotFree = inFlight.shift()!;
    }
    const end = Math.max(rampStart, slotFree) + model.guestMs;
    inFlight.push(end);
    last = Math.max(last, end);
  }
  return last;
}

/** SSM `Details` output cap of ListCommandInvocations: lambda/aws/run-command.ts's, the one definition. */
export const DETAILS_OUTPUT_CAP = DETAILS_OUTPUT_LIMIT;
/** GetCommandInvocation's StandardOutputContent cap. */
export const GET_OUTPUT_CAP = 24_000;

export type InvStatus = 'Pending' | 'InProgress' | 'Success' | 'Failed' | 'TimedOut' | 'Cancelled';

export interface Invocation {
  readonly instanceId: string;
  /** Virtual ms of start / end; end = when the status becomes terminal. */
  readonly startAt: number;
  endAt: number;
  terminal: InvStatus;
  terminalDetails: string;
  readonly responseCode: number;
  readonly output: string;
  /** What the step wrote to stderr (a test's {@link InvocationScript.stderr}). */
  readonly stderr?: string;
  /** The stdout Details shows when it differs from `output` ({@link InvocationScript.detailsOutput}). */
  readonly detailsOutput?: string;
}

export interface SimCommand {
  readonly commandId: string;
  readonly documentName: string;
  /** The DocumentHash the command named (checked against the document's), if any. */
  readonly documentHash?: string;
  readonly parameters: Record<string, string[]>;
  readonly requestedAt: number;
  readonly instanceIds: readonly string[];
  readonly maxConcurrency: string;
  readonly maxErrors: string;
  readonly timeoutSeconds: number;
  /** SendCommand's Comment, echoed by ListCommands as SSM does. */
  readonly comment?: string;
  readonly invocations: Map<string, Invocation>;
  cancelledAt?: number;
  /** CancelCommand named these instances: only their invocations are cancelled. */
  cancelledIds?: Set<string>;
}


function describeInstanceInformation(acct: SimAccount, i: DescribeInstanceInformationCommandInput): { result: object; latency: number } {
  const size = i.MaxResults ?? 10;
  if (size < 5 || size > 50) {
    throw Object.assign(new SimAwsError('ValidationException', `1 validation error detected: Value '${size}' at 'maxResults' failed to satisfy constraint: Member must have value less than or equal to 50`));
  }
  let ping: string[] | undefined;
  let platforms: string[] | undefined;
  let ids: string[] | undefined;
  for (const f of i.Filters ?? []) {
    if (f.Key === 'PingStatus') ping = f.Values;
    else if (f.Key === 'PlatformTypes') platforms = f.Values;
    else if (f.Key === 'InstanceIds') ids = f.Values;
    else if (f.Key === 'ResourceType') continue;
    else throw new InvalidFilterKey({ message: `The filter key ${f.Key} is not valid (not modelled by the simulator)`, ...ssmMeta });
  }
  for (const f of i.InstanceInformationFilterList ?? []) {
    if (f.key === 'PingStatus') ping = f.valueSet;
    else if (f.key === 'PlatformTypes') platforms = f.valueSet;
    else if (f.key === 'InstanceIds') ids = f.valueSet;
    else throw new InvalidFilterKey({ message: `The filter key ${f.key} is not valid (not modelled by the simulator)`, ...ssmMeta });
  }
  const keep = (id: string): { x: SimInstance; status: string } | undefined => {
    const x = acct.byId.get(id);
    if (!x || x.ssm === 'unmanaged') return undefined;
    const status = x.ssm === 'Online' && !acct.isGone(x) ? 'Online' : x.ssm === 'Inactive' ? 'Inactive' : 'ConnectionLost';
    if (ping && !ping.includes(status)) return undefined;
    if (platforms && !platforms.includes(x.platform === 'windows' ? 'Windows' : 'Linux')) return undefined;
    return { x, status };
  };
  // An InstanceIds filter walks only the ids asked for; otherwise the managed-node index from the token on.
  const p = ids ? indexedPage([...new Set(ids)].sort(), i.NextToken, size, keep) : indexedPage(acct.sortedManaged, i.NextToken, size, keep);
  return {
    result: {
      InstanceInformationList: p.page.map(({ x, status }) => ({
        InstanceId: x.id,
        PingStatus: status,
        LastPingDateTime: new Date(acct.clock.now() - (status === 'Online' ? 60_000 : 3_600_000)),
        AgentVersion: x.agentVersion ?? '3.3.1142.0',
        IsLatestVersion: false,
        PlatformType: x.platform === 'windows' ? 'Windows' : 'Linux',
        PlatformName: x.platform === 'windows' ? 'Microsoft Windows Server 2022 Datacenter' : 'Amazon Linux',
        PlatformVersion: x.platform === 'windows' ? '10.0.20348' : '2023',
        ResourceType: 'EC2Instance',
        ComputerName: `${x.name}.ec2.internal`,
        IPAddress: x.ipv6Only ? undefined : '10.0.0.1',
      })),
      ...(p.next ? { NextToken: p.next } : {}),
    },
    latency: acct.lat.ssmListPage,
  };
}

// ---------------------------------------------------------------------------- Run Command

function kindOf(acct: SimAccount, doc: string, params: Record<string, string[]>): DocumentKind {
  const k = acct.documents[doc];
  if (k) return k;
  if (doc === 'AWS-RunShellScript' || doc === 'AWS-RunPowerShellScript') {
    return (params['commands'] ?? []).join('\n').includes('TSG-REMEDIATE') ? 'remediate' : 'collect';
  }
  throw new SimAwsError('InvalidDocument', `Document ${doc} does not exist in your account`);
}

function sendCommand(acct: SimAccount, i: SendCommandCommandInput): { result: object; latency: number } {
  if (i.Targets?.length) throw new SimAwsError('ValidationException', 'the simulator models SendCommand by InstanceIds only');
  const ids = i.InstanceIds ?? [];
  if (ids.length === 0) throw new SimAwsError('ValidationException', 'InstanceIds or Targets must be specified');
  if (ids.length > 50) {
    throw new SimAwsError('ValidationException', `1 validation error detected: Value '[${ids.slice(0, 3).join(', ')}, …]' at 'instanceIds' failed to satisfy constraint: Member must have length less than or equal to 50`);
  }
  if (!i.DocumentName) throw new SimAwsError('ValidationException', 'DocumentName must be specified');
  // IAM decides before SSM looks at the instances' state.
  const denied = ids.filter((id) => acct.byId.get(id)?.script?.denied);
  if (denied.length) throw accessDenied(acct, i.DocumentName, denied[0]!);
  const invalid = ids.filter((id) => {
    const x = acct.byId.get(id);
    return !x || x.ssm === 'unmanaged' || x.ssm === 'Inactive' || x.script?.gone || acct.isGone(x);
  });
  if (invalid.length) {
    const named = acct.options.invalidInstanceMessage !== 'generic';
    throw new InvalidInstanceId({ message: named ? `Instances [[${invalid.join(', ')}]] not in a valid state for account 111122223333` : 'Instances not in a valid state for account 111122223333', ...ssmMeta });
  }
  const params = (i.Parameters ?? {}) as Record<string, string[]>;
  const kind = kindOf(acct, i.DocumentName, params);
  if (i.DocumentHash !== undefined) {
    if (i.DocumentHashType !== 'Sha256') throw new SimAwsError('ValidationException', 'the simulator models DocumentHashType Sha256 only');
    const held = storedHash(acct, i.DocumentName);
    if (held === undefined) throw new SimAwsError('ValidationException', `the simulator holds no hash for ${i.DocumentName}`);
    // As SSM words it: the command is refused whole, nothing is delivered.
    if (i.DocumentHash !== held) throw new SimAwsError('InvalidDocument', `document hash ${i.DocumentHash} does not match Sha256.`);
  }
  const dryRun = (params['DryRun']?.[0] ?? 'false').toLowerCase() === 'true';
  const timeoutSeconds = i.TimeoutSeconds ?? 3600;
  const execTimeoutMs = params['executionTimeout']?.[0] ? Number(params['executionTimeout'][0]) * 1000 : acct.rc.defaultExecutionTimeoutMs;
  const maxConcurrency = i.MaxConcurrency ?? '50';
  const maxErrors = i.MaxErrors ?? '0';
  const mc = Math.max(1, percentOrCount(maxConcurrency, ids.length, 50));
  const me = percentOrCount(maxErrors, ids.length, 0);
  const t0 = acct.clock.now() + acct.lat.other;
  const invocations = new Map<string, Invocation>();
  const inFlight: number[] = [];
  let failures = 0;
  let stopAt = Number.POSITIVE_INFINITY;
  ids.forEach((id, k) => {
    const x = acct.byId.get(id)!;
    // Ramp: wave w opens at t0 + w × round and admits up to 2^(w+1) − 1 invocations in total.
    const wave = Math.floor(Math.log2(k + 1));
    const rampStart = t0 + wave * acct.rc.rampRoundMs;
    // Concurrency: a new invocation waits for the earliest of the in-flight ones to finish.
    let slotFree = t0;
    if (inFlight.length >= mc) {
      inFlight.sort((a, b) => a - b);
      slotFree = inFlight.shift()!;
    }
    const startAt = Math.max(rampStart, slotFree);
    if (startAt > stopAt) {
      invocations.set(id, { instanceId: id, startAt: stopAt, endAt: stopAt, terminal: 'Cancelled', terminalDetails: 'Terminated', responseCode: -1, output: '' });
      return;
    }
    let inv: Invocation;
    const vanishAt = acct.terminationTime(x);
    const script = x.script;
    if (script?.noInvocation) return;
    if (script && (script.hang || script.status || script.output !== undefined || script.guestMs !== undefined)) {
      inv = scripted(x, script, startAt, acct.rc.guestMs);
    } else if (x.ssm === 'ConnectionLost') {
      inv = { instanceId: id, startAt, endAt: t0 + timeoutSeconds * 1000, terminal: 'TimedOut', terminalDetails: 'DeliveryTimedOut', responseCode: -1, output: '' };
    } else if (vanishAt <= startAt + (x.guestMs ?? acct.rc.guestMs)) {
      inv = { instanceId: id, startAt, endAt: Math.max(startAt, vanishAt), terminal: 'Failed', terminalDetails: 'Undeliverable', responseCode: -1, output: '' };
    } else if (x.guest === 'times-out') {
      inv = { instanceId: id, startAt, endAt: startAt + execTimeoutMs, terminal: 'TimedOut', terminalDetails: 'ExecutionTimedOut', responseCode: -1, output: '' };
    } else if (kind === 'collect') {
      const endAt = startAt + (x.guestMs ?? acct.rc.guestMs);
      const report = collectorReport(x, Math.floor(endAt / 1000));
      const fails = x.guest === 'fails';
      inv = { instanceId: id, startAt, endAt, terminal: fails ? 'Failed' : 'Success', terminalDetails: fails ? 'Failed' : 'Success', responseCode: fails ? 1 : 0, output: report };
    } else {
      const endAt = startAt + acct.rc.guestMs;
      const r = x.guest === 'garbled' ? { output: 'sh: 1: cannot create /tmp/x: Read-only file system\n', exitCode: 2 } : remediationOutput(x, dryRun);
      inv = { instanceId: id, startAt, endAt, terminal: r.exitCode === 0 ? 'Success' : 'Failed', terminalDetails: r.exitCode === 0 ? 'Success' : 'Failed', responseCode: r.exitCode, output: r.output };
    }
    if (inv.terminal !== 'Success' && inv.terminalDetails !== 'Undeliverable') {
      failures++;
      if (failures > me && inv.endAt < stopAt) stopAt = inv.endAt;
    }
    invocations.set(id, inv);
    inFlight.push(inv.endAt);
  });
  const commandId = `${(++acct.commandSeq).toString(16).padStart(8, '0')}-0000-4000-8000-${acct.commandSeq.toString(16).padStart(12, '0')}`;
  const cmd: SimCommand = {
    commandId,
    documentName: i.DocumentName,
    ...(i.DocumentHash !== undefined ? { documentHash: i.DocumentHash } : {}),
    parameters: params,
    requestedAt: acct.clock.now(),
    instanceIds: [...ids],
    maxConcurrency,
    maxErrors,
    timeoutSeconds,
    ...(i.Comment !== undefined ? { comment: i.Comment } : {}),
    invocations,
  };
  acct.commands.set(commandId, cmd);
  return { result: { Command: commandView(acct, cmd) }, latency: acct.lat.other };
}

/** The invocation a test scripted for this instance (see {@link InvocationScript}). */
function scripted(x: SimInstance, script: InvocationScript, startAt: number, guestMs: number): Invocation {
  const endAt = script.hang ? Number.POSITIVE_INFINITY : startAt + (script.guestMs ?? guestMs);
  const status = script.status ?? (x.guest === 'fails' ? 'Failed' : 'Success');
  return {
    instanceId: x.id,
    startAt,
    endAt,
    terminal: status,
    terminalDetails: script.statusDetails ?? status,
    responseCode: script.responseCode ?? (status === 'Success' ? 0 : 1),
    output: script.output ?? (x.guest === 'normal' ? collectorReport(x, Math.floor(endAt / 1000)) : ''),
    ...(script.stderr !== undefined ? { stderr: script.stderr } : {}),
    ...(script.detailsOutput !== undefined ? { detailsOutput: script.detailsOutput } : {}),
  };
}

/** SSM's Output of a plugin in ListCommandInvocations' Details: stdout, then stderr behind its separator line, cut at the cap. */
function detailsText(inv: Invocation): string {
  const stdout = inv.detailsOutput ?? inv.output;
  return (inv.stderr ? `${stdout}\n${STDERR_SEPARATOR}\n${inv.stderr}` : stdout).slice(0, DETAILS_OUTPUT_CAP);
}

/** The steps of a document with the two-step layout, the one that ran on this instance first; undefined for a one-step document. */
function platformSteps(acct: SimAccount, cmd: SimCommand, instanceId: string): { ran: string; skipped: string } | undefined {
  if (!acct.options.platformStepDocuments?.includes(cmd.documentName)) return undefined;
  const windows = acct.byId.get(instanceId)?.platform === 'windows';
  return windows ? { ran: 'windows', skipped: 'linux' } : { ran: 'linux', skipped: 'windows' };
}

/** SSM's Output of a step whose platform precondition did not hold. */
function skippedStepText(step: string): string {
  return `Step execution skipped due to unsatisfied preconditions: '"StringEquals" : [platformType, ${step === 'windows' ? 'Windows' : 'Linux'}]'. Step name: ${step}`;
}

/**
 * IAM's AccessDeniedException for ssm:SendCommand, as the SSM client builds it, naming the first
 * denied instance (or, with `deniedResource: 'document'`, the document; `'none'`: no resource).
 */
function accessDenied(acct: SimAccount, documentName: string, instanceId: string): AccessDeniedException {
  const resource = acct.deniedResource === 'document' ? `arn:aws:ssm:eu-west-1:111122223333:document/${documentName}` : acct.deniedResource === 'none' ? undefined : `arn:aws:ec2:eu-west-1:111122223333:instance/${instanceId}`;
  const why = acct.deniedResource === 'document' ? 'because no identity-based policy allows the ssm:SendCommand action' : 'with an explicit deny in an identity-based policy';
  const message = `User: ${SIM_CALLER} is not authorized to perform: ssm:SendCommand${resource ? ` on resource: ${resource}` : ''} ${why}`;
  return new AccessDeniedException({ message, Message: message, ...ssmMeta });
}

/** The role the simulated Lambdas run as (IAM names it in denials). */
export const SIM_CALLER = 'arn:aws:sts::111122223333:assumed-role/TimeSyncGuard-RemediateHandlerRole-AbC123/TimeSyncGuard-RemediateHandler-XyZ';

function invStatus(acct: SimAccount, inv: Invocation, cmd: SimCommand): { status: InvStatus; details: string } {
  const t = acct.clock.now();
  if (cmd.cancelledAt !== undefined && cmd.cancelledAt < inv.endAt && t >= cmd.cancelledAt && (!cmd.cancelledIds || cmd.cancelledIds.has(inv.instanceId))) return { status: 'Cancelled', details: 'Cancelled' };
  if (t >= inv.endAt) return { status: inv.terminal, details: inv.terminalDetails };
  if (t >= inv.startAt) return { status: 'InProgress', details: 'InProgress' };
  return { status: 'Pending', details: 'Pending' };
}

function commandView(acct: SimAccount, cmd: SimCommand): object {
  let done = 0;
  let errors = 0;
  let timedOut = 0;
  let started = 0;
  let cancelled = 0;
  for (const inv of cmd.invocations.values()) {
    const s = invStatus(acct, inv, cmd).status;
    if (s !== 'Pending') started++;
    if (s === 'Success' || s === 'Failed' || s === 'TimedOut' || s === 'Cancelled') done++;
    if (s === 'Failed' || s === 'TimedOut') errors++;
    if (s === 'TimedOut') timedOut++;
    if (s === 'Cancelled') cancelled++;
  }
  const n = cmd.invocations.size;
  const status = done < n ? (started === 0 ? 'Pending' : 'InProgress') : cancelled > 0 && cmd.cancelledAt !== undefined ? 'Cancelled' : errors > 0 ? (timedOut === errors ? 'TimedOut' : 'Failed') : 'Success';
  return {
    CommandId: cmd.commandId,
    DocumentName: cmd.documentName,
    ...(cmd.comment !== undefined ? { Comment: cmd.comment } : {}),
    Parameters: cmd.parameters,
    InstanceIds: cmd.instanceIds,
    RequestedDateTime: new Date(cmd.requestedAt),
    Status: status,
    StatusDetails: status,
    MaxConcurrency: cmd.maxConcurrency,
    MaxErrors: cmd.maxErrors,
    TimeoutSeconds: cmd.timeoutSeconds,
    TargetCount: n,
    CompletedCount: done,
    ErrorCount: errors,
    DeliveryTimedOutCount: [...cmd.invocations.values()].filter((v) => v.terminalDetails === 'DeliveryTimedOut' && acct.clock.now() >= v.endAt).length,
  };
}

function command(acct: SimAccount, id: string | undefined): SimCommand {
  const c = id ? acct.commands.get(id) : undefined;
  if (!c) throw new InvalidCommandId({ message: `Command ${id} not found`, ...ssmMeta });
  return c;
}

function listCommands(acct: SimAccount, i: ListCommandsCommandInput): { result: object; latency: number } {
  const size = i.MaxResults ?? 50;
  if (size < 1 || size > 50) throw new SimAwsError('ValidationException', `Value '${size}' at 'maxResults' failed to satisfy constraint: Member must have value less than or equal to 50`);
  let cmds: SimCommand[];
  if (i.CommandId) cmds = [command(acct, i.CommandId)];
  else cmds = [...acct.commands.values()];
  for (const f of i.Filters ?? []) {
    const v = f.value ?? '';
    if (f.key === 'InvokedAfter') cmds = cmds.filter((c) => c.requestedAt >= Date.parse(v));
    else if (f.key === 'InvokedBefore') cmds = cmds.filter((c) => c.requestedAt <= Date.parse(v));
    else if (f.key === 'DocumentName') cmds = cmds.filter((c) => c.documentName === v);
    else if (f.key === 'Status') cmds = cmds.filter((c) => (commandView(acct, c) as { Status: string }).Status === v);
    else throw new SimAwsError('InvalidFilterKey', `filter ${f.key} not modelled by the simulator`);
  }
  const p = pageAfter(cmds, (c) => c.commandId, i.NextToken, size);
  return { result: { Commands: p.page.map((c) => commandView(acct, c)), ...(p.next ? { NextToken: p.next } : {}) }, latency: acct.lat.ssmListPage };
}

/**
 * ListCommandInvocations' Filters as SSM applies them (all must hold): Status (the invocation's),
 * DocumentName, InvokedAfter / InvokedBefore (the command's request time). ExecutionStage is
 * ListCommands' only and, like any other key or an unreadable time, is refused.
 */
function invocationFilter(acct: SimAccount, filters: readonly { key?: string; value?: string }[]): (cmd: SimCommand, inv: Invocation) => boolean {
  if (filters.length > 5) throw new SimAwsError('ValidationException', 'Member must have length less than or equal to 5');
  const tests = filters.map(({ key, value }): ((cmd: SimCommand, inv: Invocation) => boolean) => {
    const v = value ?? '';
    switch (key) {
      case 'Status':
        return (cmd, inv) => invStatus(acct, inv, cmd).status === v;
      case 'DocumentName':
        return (cmd) => cmd.documentName === v;
      case 'InvokedAfter':
      case 'InvokedBefore': {
        const at = Date.parse(v);
        if (!Number.isFinite(at)) throw new SimAwsError('InvalidFilterValue', `${key}: ${v} is not a timestamp`);
        return key === 'InvokedAfter' ? (cmd) => cmd.requestedAt >= at : (cmd) => cmd.requestedAt <= at;
      }
      default:
        throw new SimAwsError('InvalidFilterKey', `${String(key)} is not a filter key of ListCommandInvocations`);
    }
  });
  return (cmd, inv) => tests.every((t) => t(cmd, inv));
}

function listCommandInvocations(acct: SimAccount, i: ListCommandInvocationsCommandInput): { result: object; latency: number } {
  const asked = i.MaxResults ?? 50;
  if (asked < 1 || asked > 50) throw new SimAwsError('ValidationException', `Value '${asked}' at 'maxResults' failed to satisfy constraint: Member must have value less than or equal to 50`);
  const size = Math.min(asked, acct.options.invocationPageSize ?? asked);
  const cmds = i.CommandId ? [command(acct, i.CommandId)] : [...acct.commands.values()];
  const keep = invocationFilter(acct, i.Filters ?? []);
  const rows: { cmd: SimCommand; inv: Invocation; key: string }[] = [];
  for (const cmd of cmds) {
    for (const inv of cmd.invocations.values()) {
      if (i.InstanceId && inv.instanceId !== i.InstanceId) continue;
      if (!keep(cmd, inv)) continue;
      rows.push({ cmd, inv, key: `${cmd.commandId}/${inv.instanceId}` });
    }
  }
  rows.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  const p = pageAfter(rows, (r) => r.key, i.NextToken, size);
  const plugin = (cmd: SimCommand) => (cmd.documentName.includes('PowerShell') ? 'aws:runPowerShellScript' : 'aws:runShellScript');
  return {
    result: {
      CommandInvocations: p.page.map(({ cmd, inv }) => {
        const { status, details } = invStatus(acct, inv, cmd);
        const terminal = status !== 'Pending' && status !== 'InProgress';
        const steps = i.Details ? platformSteps(acct, cmd, inv.instanceId) : undefined;
        const ran = {
          Name: steps?.ran ?? plugin(cmd),
          Status: status,
          StatusDetails: details,
          ResponseCode: terminal ? inv.responseCode : -1,
          ...(status !== 'Pending' ? { ResponseStartDateTime: new Date(inv.startAt) } : {}),
          ...(terminal ? { ResponseFinishDateTime: new Date(inv.endAt) } : {}),
          // The Details cap: only the first 2,500 characters of stdout (and stderr after it).
          Output: terminal ? detailsText(inv) : '',
        };
        const skipped = steps && {
          Name: steps.skipped,
          Status: terminal ? 'Success' : status,
          StatusDetails: terminal ? 'Success' : details,
          ResponseCode: terminal ? 0 : -1,
          Output: terminal ? skippedStepText(steps.skipped) : '',
        };
        return {
          CommandId: cmd.commandId,
          InstanceId: inv.instanceId,
          DocumentName: cmd.documentName,
          ...(cmd.comment !== undefined ? { Comment: cmd.comment } : {}),
          RequestedDateTime: new Date(cmd.requestedAt),
          Status: status,
          StatusDetails: details,
          // In the document's order: the linux step first.
          ...(i.Details ? { CommandPlugins: !skipped ? [ran] : steps.ran === 'linux' ? [ran, skipped] : [skipped, ran] } : {}),
        };
      }),
      ...(p.next ? { NextToken: p.next } : {}),
    },
    latency: acct.lat.ssmListPage,
  };
}

function getCommandInvocation(acct: SimAccount, i: GetCommandInvocationCommandInput): { result: object; latency: number } {
  const cmd = acct.commands.get(i.CommandId ?? '');
  const inv = cmd?.invocations.get(i.InstanceId ?? '');
  if (!cmd || !inv) throw new InvocationDoesNotExist({ message: 'An error occurred (InvocationDoesNotExist)', ...ssmMeta });
  const steps = platformSteps(acct, cmd, inv.instanceId);
  const plugins = steps ? [steps.ran, steps.skipped] : [cmd.documentName.includes('PowerShell') ? 'aws:runPowerShellScript' : 'aws:runShellScript'];
  // A document of several steps needs the step named (GetCommandInvocation's API reference).
  if (steps && i.PluginName === undefined) throw new InvalidPluginName({ message: `Document ${cmd.documentName} has several steps: name one (PluginName)`, ...ssmMeta });
  if (i.PluginName !== undefined && !plugins.includes(i.PluginName)) throw new InvalidPluginName({ message: `Plugin ${i.PluginName} is not in document ${cmd.documentName}`, ...ssmMeta });
  if (steps && i.PluginName === steps.skipped) {
    return { result: { CommandId: cmd.commandId, InstanceId: inv.instanceId, DocumentName: cmd.documentName, PluginName: steps.skipped, Status: 'Success', StatusDetails: 'Success', ResponseCode: 0, StandardOutputContent: skippedStepText(steps.skipped), StandardErrorContent: '' }, latency: acct.lat.other };
  }
  const { status, details } = invStatus(acct, inv, cmd);
  const terminal = status !== 'Pending' && status !== 'InProgress';
  return {
    result: {
      CommandId: cmd.commandId,
      InstanceId: inv.instanceId,
      DocumentName: cmd.documentName,
      Status: status,
      StatusDetails: details,
      ResponseCode: terminal ? inv.responseCode : -1,
      StandardOutputContent: terminal ? inv.output.slice(0, GET_OUTPUT_CAP) : '',
      StandardErrorContent: terminal ? (inv.stderr ?? '').slice(0, GET_OUTPUT_CAP) : '',
      ...(status !== 'Pending' ? { ExecutionStartDateTime: new Date(inv.startAt).toISOString() } : {}),
      ...(terminal ? { ExecutionEndDateTime: new Date(inv.endAt).toISOString() } : {}),
    },
    latency: acct.lat.other,
  };
}

function cancelCommand(acct: SimAccount, i: CancelCommandCommandInput): { result: object; latency: number } {
  const cmd = command(acct, i.CommandId);
  if (cmd.cancelledAt === undefined) {
    cmd.cancelledAt = acct.clock.now();
    if (i.InstanceIds?.length) cmd.cancelledIds = new Set(i.InstanceIds);
  }
  return { result: {}, latency: acct.lat.other };
}

/** DescribeDocument of the default version: its name, hash and status (what the organization hub compares). */
function describeDocument(acct: SimAccount, i: DescribeDocumentCommandInput): { result: object; latency: number } {
  const name = i.Name ?? '';
  const held = storedHash(acct, name);
  if (held === undefined) throw new SimAwsError('InvalidDocument', 'The specified document does not exist.');
  return {
    result: { Document: { Name: name, Hash: held, HashType: 'Sha256', DocumentType: 'Command', DocumentFormat: 'JSON', Status: 'Active', DocumentVersion: '1', DefaultVersion: '1', LatestVersion: '1' } },
    latency: acct.lat.other,
  };
}

/** SSM: inventory and Run Command, all drawing from one bucket; an empty bucket gives `ThrottlingException`. */
export const SSM_SERVICE: SimService = {
  name: 'ssm',
  client: SSMClient,
  buckets: (options: SimAccountOptions) => ({ requests: options.ssmBucket ?? ssmBucketFromEnv() }),
  throttled: () => new SimAwsError('ThrottlingException', 'Rate exceeded'),
  actions: {
    ...COMPLIANCE_ACTIONS,
    ...SSM_SERVICE_SETTING_ACTIONS,
    DescribeInstanceInformation: { command: DescribeInstanceInformationCommand, answer: describeInstanceInformation, bucket: () => 'requests' },
    SendCommand: { command: SendCommandCommand, answer: sendCommand, bucket: () => 'requests' },
    DescribeDocument: { command: DescribeDocumentCommand, answer: describeDocument, bucket: () => 'requests' },
    ListCommands: { command: ListCommandsCommand, answer: listCommands, bucket: () => 'requests' },
    ListCommandInvocations: { command: ListCommandInvocationsCommand, answer: listCommandInvocations, bucket: () => 'requests' },
    GetCommandInvocation: { command: GetCommandInvocationCommand, answer: getCommandInvocation, bucket: () => 'requests' },
    CancelCommand: { command: CancelCommandCommand, answer: cancelCommand, bucket: () => 'requests' },
  },
};
