/**
 * Test helpers over the one simulated account (bench/sim): a healthy instance that prints a given
 * report, an installed account on a test's VirtualClock with no latency, ids, requests and
 * AWS-shaped errors.
 */
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { EC2Client } from '@aws-sdk/client-ec2';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { SNSClient } from '@aws-sdk/client-sns';
import { AccessDeniedException, SSMClient } from '@aws-sdk/client-ssm';
import { NO_LATENCY, SimAccount, type SimAccountOptions } from '../../bench/sim/account';
import { generateFleet, simInstance, type SimInstance } from '../../bench/sim/fleet';
import { SIM_CALLER, SIM_DOCUMENT_HASHES } from '../../bench/sim/ssm';
import { VirtualClock } from '../../lambda/aws/clock';
import type { RunDocumentRequest } from '../../lambda/aws/run-command';
import { chronyReport } from '../engine/reports';

/** A healthy Linux instance whose collector prints {@link chronyReport} (unless `overrides.script` says otherwise). */
export function member(id: string, overrides: Partial<SimInstance> = {}): SimInstance {
  return simInstance(id, { script: { output: chronyReport() }, ...overrides });
}

/**
 * `n` instances of the benchmark's fleet made managed, Online, healthy Linux guests (none opted out,
 * none vanishing), for tests of Run Command timing on the simulated account; `tweak` changes single
 * ones (run time, hang).
 */
export function healthyLinuxFleet(n: number, tweak: (x: SimInstance, k: number) => SimInstance = (x) => x): SimInstance[] {
  return generateFleet(n, { vanishing: 0 }).map((x, k) =>
    tweak({ ...x, platform: 'linux', ssm: 'Online', optedOut: false, guest: 'normal', scenario: 'chrony-amazon', hopLimit: 2, httpEndpoint: 'enabled' }, k),
  );
}

/** The simulated account over `fleet`, installed, on its own VirtualClock (or `clock`) with no latency. */
export function simulate(fleet: SimInstance[], options: SimAccountOptions & { clock?: VirtualClock } = {}): SimTestAccount {
  const { clock = new VirtualClock(), ...rest } = options;
  return new SimAccount(fleet, clock, { latencies: NO_LATENCY, ...rest }).install() as SimTestAccount;
}

/** An installed account with its clock and the mocks the assertions read. */
export type SimTestAccount = SimAccount & { clock: VirtualClock };
type Stub = ReturnType<SimAccount['stub']>;

/**
 * One simulated account per test: `simulate(fleet)` installs it (restored after each test);
 * `ec2`, `ssm`, `cloudwatch`, `events`, `sns` are its mocks for aws-sdk-client-mock-jest's matchers.
 */
export function useSimAccount(): {
  simulate(fleet: SimInstance[], options?: SimAccountOptions & { clock?: VirtualClock }): SimTestAccount;
  readonly account: SimTestAccount;
  readonly ec2: Stub;
  readonly ssm: Stub;
  readonly cloudwatch: Stub;
  readonly events: Stub;
  readonly sns: Stub;
} {
  let current: SimTestAccount | undefined;
  afterEach(() => {
    current?.restore();
    current = undefined;
  });
  const installed = (): SimTestAccount => {
    if (!current) throw new Error('simulate(fleet) first');
    return current;
  };
  return {
    simulate(fleet, options) {
      current?.restore();
      current = simulate(fleet, options);
      return current;
    },
    get account() {
      return installed();
    },
    get ec2() {
      return installed().stub(EC2Client);
    },
    get ssm() {
      return installed().stub(SSMClient);
    },
    get cloudwatch() {
      return installed().stub(CloudWatchClient);
    },
    get events() {
      return installed().stub(EventBridgeClient);
    },
    get sns() {
      return installed().stub(SNSClient);
    },
  };
}

/** The k-th instance id (sorted as k is). */
export function idOf(k: number): string {
  return `i-0${k.toString(16).padStart(16, '0')}`;
}

/** `n` distinct instance ids. */
export function ids(n: number, prefix = 'i-0'): string[] {
  return Array.from({ length: n }, (_, k) => `${prefix}${String(k).padStart(16, '0')}`);
}

/** A collector run request over these instances. */
export function request(instanceIds: string[], extra: Partial<RunDocumentRequest> = {}): RunDocumentRequest {
  return { instanceIds, documentName: 'TimeSyncGuard-Collect', documentHash: SIM_DOCUMENT_HASHES['TimeSyncGuard-Collect'], maxConcurrency: '50%', maxErrors: '100%', timeoutSeconds: 600, endMarker: 'TSG-END', ...extra };
}

/** The ARN IAM names for an instance in SendCommand denials. */
export const instanceArn = (id: string): string => `arn:aws:ec2:eu-west-1:111122223333:instance/${id}`;

/** An AWS-style service error (name + $metadata), as the SDK would throw. */
export function awsError(name: string, httpStatusCode = 400, message = name): Error {
  return Object.assign(new Error(message), { name, $metadata: { httpStatusCode } });
}

/**
 * IAM's AccessDeniedException for ssm:SendCommand as the SSM client builds it (its own exception
 * class, `$fault`, `$metadata`), with IAM's message format.
 */
export function accessDenied(resource?: string, why = 'with an explicit deny in an identity-based policy'): AccessDeniedException {
  const message = `User: ${SIM_CALLER} is not authorized to perform: ssm:SendCommand${resource ? ` on resource: ${resource}` : ''} ${why}`;
  // The deserializer passes the body's `Message` and the base class's `message` (see run-command-wire.test.ts).
  return new AccessDeniedException({
    $metadata: { httpStatusCode: 400, requestId: 'a1b2c3d4-5678-90ab-cdef-EXAMPLE11111', attempts: 1, totalRetryDelay: 0 },
    Message: message,
    message,
  });
}
