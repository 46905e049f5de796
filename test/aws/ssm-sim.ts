/**
 * A small simulated SSM account behind aws-sdk-client-mock: SendCommand creates commands that finish
 * after a few polls, ListCommands / ListCommandInvocations (Details, paged) / GetCommandInvocation
 * answer from per-instance scripts of what happened. Tests describe instances, not call sequences.
 */
import {
  AccessDeniedException,
  type CommandInvocation,
  GetCommandInvocationCommand,
  ListCommandInvocationsCommand,
  ListCommandsCommand,
  SendCommandCommand,
  type ServiceInputTypes,
  type ServiceOutputTypes,
  type SSMClientResolvedConfig,
} from '@aws-sdk/client-ssm';
import type { AwsStub } from 'aws-sdk-client-mock';
import { GET_OUTPUT_CAP } from '../../bench/sim/ssm';
import { DETAILS_OUTPUT_LIMIT, type RunDocumentRequest } from '../../lambda/aws/run-command';

/** The stub type `mockClient(SSMClient)` returns. */
export type SsmStub = AwsStub<ServiceInputTypes, ServiceOutputTypes, SSMClientResolvedConfig>;

/** What happens on one instance when a command reaches it. */
export interface SimInstance {
  /** Invocation Status. @default 'Success' */
  status?: string;
  statusDetails?: string;
  /** Full stdout; the Details listing returns at most 2,500 characters of it. */
  output?: string;
  responseCode?: number;
  /** SendCommand rejects any batch containing this id (InvalidInstanceId). */
  gone?: boolean;
  /** IAM denies SendCommand on this instance (e.g. the opt-out Deny): any batch containing it is refused. */
  denied?: boolean;
  /** The command ends without an invocation for this instance. */
  noInvocation?: boolean;
  /** The invocation never finishes (stays InProgress). */
  hang?: boolean;
}

export interface SimOptions {
  /** ListCommands polls before a command is terminal. @default 1 */
  pollsUntilDone?: number;
  /** InvalidInstanceId names the bad ids in its message, as SSM does (`Instances [[i-…]] not in a valid state…`). */
  namedInvalid?: boolean;
  /**
   * How IAM's AccessDeniedException reads: `named` (IAM's real text, naming the first denied instance
   * ARN), `generic` (no resource named), or `document` (the document ARN is the denied resource).
   * @default 'named'
   */
  deniedMessage?: 'named' | 'generic' | 'document';
  /** Throw these errors (in order) from the named operation before answering normally. */
  failures?: Partial<Record<'SendCommand' | 'ListCommands' | 'ListCommandInvocations' | 'GetCommandInvocation', Error[]>>;
}

export interface Sim {
  instances: Map<string, SimInstance>;
  commands: Map<string, { ids: string[]; polls: number; documentName?: string; parameters?: Record<string, string[]> }>;
}

const CALLER = 'arn:aws:sts::111122223333:assumed-role/TimeSyncGuard-RemediateHandlerRole-AbC123/TimeSyncGuard-RemediateHandler-XyZ';

/**
 * IAM's AccessDeniedException as the SSM client builds it (its own exception class, `$fault`,
 * `$metadata`), with IAM's message format.
 */
export function accessDenied(resource?: string, why = 'with an explicit deny in an identity-based policy'): AccessDeniedException {
  const message = `User: ${CALLER} is not authorized to perform: ssm:SendCommand${resource ? ` on resource: ${resource}` : ''} ${why}`;
  // The deserializer passes the body's `Message` and the base class's `message` (see run-command-wire.test.ts).
  return new AccessDeniedException({
    $metadata: { httpStatusCode: 400, requestId: 'a1b2c3d4-5678-90ab-cdef-EXAMPLE11111', attempts: 1, totalRetryDelay: 0 },
    Message: message,
    message,
  });
}

/** `n` distinct instance ids. */
export function ids(n: number, prefix = 'i-0'): string[] {
  return Array.from({ length: n }, (_, k) => `${prefix}${String(k).padStart(16, '0')}`);
}

/** A collector run request over these instances. */
export function request(instanceIds: string[], extra: Partial<RunDocumentRequest> = {}): RunDocumentRequest {
  return {
    instanceIds,
    documentName: 'TimeSyncGuard-Collect',
    maxConcurrency: '50%',
    maxErrors: '100%',
    timeoutSeconds: 600,
    endMarker: 'TSG-END',
    ...extra,
  };
}

/** The ARN IAM names for an instance in SendCommand denials. */
export const instanceArn = (id: string): string => `arn:aws:ec2:eu-west-1:111122223333:instance/${id}`;

/** An AWS-style service error (name + $metadata), as the SDK would throw. */
export function awsError(name: string, httpStatusCode = 400, message = name): Error {
  return Object.assign(new Error(message), { name, $metadata: { httpStatusCode } });
}


export function simulateSsm(mock: SsmStub, instances: Map<string, SimInstance>, options: SimOptions = {}): Sim {
  const sim: Sim = { instances, commands: new Map() };
  const failures = { ...options.failures };
  const maybeFail = (op: keyof NonNullable<SimOptions['failures']>): void => {
    const list = failures[op];
    if (list && list.length > 0) throw list.shift();
  };
  let seq = 0;
  const invocationOf = (commandId: string, id: string, done: boolean): CommandInvocation | undefined => {
    const i = instances.get(id) ?? {};
    if (i.noInvocation) return undefined;
    const status = !done || i.hang ? 'InProgress' : i.status ?? 'Success';
    const full = i.output ?? '';
    return {
      CommandId: commandId,
      InstanceId: id,
      Status: status as CommandInvocation['Status'],
      StatusDetails: !done || i.hang ? 'InProgress' : i.statusDetails ?? status,
      CommandPlugins: [
        {
          Name: 'aws:runShellScript',
          Status: status as NonNullable<CommandInvocation['CommandPlugins']>[number]['Status'],
          Output: status === 'InProgress' ? '' : full.slice(0, DETAILS_OUTPUT_LIMIT),
          ResponseCode: i.responseCode ?? (status === 'Success' ? 0 : status === 'InProgress' ? -1 : 1),
        },
      ],
    };
  };

  mock.on(SendCommandCommand).callsFake((input: { InstanceIds?: string[]; DocumentName?: string; Parameters?: Record<string, string[]> }) => {
    maybeFail('SendCommand');
    const ids = input.InstanceIds ?? [];
    if (ids.length > 50) throw awsError('ValidationException');
    // IAM decides before SSM looks at the instances' state.
    const denied = ids.filter((id) => instances.get(id)?.denied);
    if (denied.length > 0) {
      const how = options.deniedMessage ?? 'named';
      if (how === 'document') throw accessDenied(`arn:aws:ssm:eu-west-1:111122223333:document/${input.DocumentName}`, 'because no identity-based policy allows the ssm:SendCommand action');
      throw accessDenied(how === 'named' ? instanceArn(denied[0]!) : undefined);
    }
    const bad = ids.filter((id) => instances.get(id)?.gone);
    if (bad.length > 0) {
      throw awsError('InvalidInstanceId', 400, options.namedInvalid ? `Instances [[${bad.join(', ')}]] not in a valid state for account 111122223333` : 'InvalidInstanceId');
    }
    const commandId = `cmd-${++seq}`;
    sim.commands.set(commandId, { ids: [...ids], polls: 0, documentName: input.DocumentName, parameters: input.Parameters });
    return { Command: { CommandId: commandId, Status: 'Pending' } };
  });
  const statusOf = (commandId: string): string => {
    const c = sim.commands.get(commandId)!;
    if (c.polls < (options.pollsUntilDone ?? 1)) return 'InProgress';
    if (c.ids.some((id) => instances.get(id)?.hang)) return 'InProgress';
    return 'Success';
  };
  mock.on(ListCommandsCommand).callsFake((input: { CommandId?: string; NextToken?: string; MaxResults?: number }) => {
    maybeFail('ListCommands');
    if (input.CommandId) {
      const c = sim.commands.get(input.CommandId);
      if (!c) return { Commands: [] };
      c.polls++;
      return { Commands: [{ CommandId: input.CommandId, Status: statusOf(input.CommandId) }] };
    }
    const all = [...sim.commands.keys()];
    const start = Number(input.NextToken ?? 0);
    const size = input.MaxResults ?? 50;
    const page = all.slice(start, start + size);
    for (const id of page) sim.commands.get(id)!.polls++;
    return {
      Commands: page.map((id) => ({ CommandId: id, Status: statusOf(id) })),
      ...(start + size < all.length ? { NextToken: String(start + size) } : {}),
    };
  });
  mock.on(ListCommandInvocationsCommand).callsFake((input: { CommandId?: string; NextToken?: string; MaxResults?: number; Details?: boolean }) => {
    maybeFail('ListCommandInvocations');
    const c = sim.commands.get(input.CommandId ?? '');
    if (!c) return { CommandInvocations: [] };
    const done = statusOf(input.CommandId!) === 'Success' || c.polls >= (options.pollsUntilDone ?? 1);
    const all = c.ids.map((id) => invocationOf(input.CommandId!, id, done)).filter((x): x is CommandInvocation => x !== undefined);
    const start = Number(input.NextToken ?? 0);
    const size = input.MaxResults ?? 50;
    const page = all.slice(start, start + size).map((inv) => (input.Details ? inv : { ...inv, CommandPlugins: [] }));
    return { CommandInvocations: page, ...(start + size < all.length ? { NextToken: String(start + size) } : {}) };
  });
  mock.on(GetCommandInvocationCommand).callsFake((input: { CommandId?: string; InstanceId?: string }) => {
    maybeFail('GetCommandInvocation');
    const i = instances.get(input.InstanceId ?? '') ?? {};
    return {
      CommandId: input.CommandId,
      InstanceId: input.InstanceId,
      Status: i.status ?? 'Success',
      StandardOutputContent: (i.output ?? '').slice(0, GET_OUTPUT_CAP),
    };
  });
  return sim;
}
