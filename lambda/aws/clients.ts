/**
 * SDK clients, one per service, created once per Lambda container (module scope) and reused across
 * invocations. `retryMode: 'adaptive'` adds the SDK's client-side rate limiter for short bursts;
 * sustained throttling is absorbed above it by `retry.ts`. Region comes from the environment
 * (AWS_REGION in Lambda); the CLI builds its own set with {@link createClients}.
 */
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { EC2Client, type EC2ClientConfig } from '@aws-sdk/client-ec2';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { SSMClient } from '@aws-sdk/client-ssm';

/** The clients the engines need. */
export interface AwsClients {
  readonly ec2: EC2Client;
  readonly ssm: SSMClient;
  readonly cloudwatch: CloudWatchClient;
  readonly eventbridge: EventBridgeClient;
}

/** Options for a client set built outside Lambda (the CLI). */
export interface ClientOptions {
  /** @default - the SDK's region chain (AWS_REGION, profile) */
  readonly region?: string;
  /** @default - the SDK's default credential chain */
  readonly credentials?: EC2ClientConfig['credentials'];
}

/** Builds one client per service with adaptive retries. */
export function createClients(options: ClientOptions = {}): AwsClients {
  const config = {
    retryMode: 'adaptive' as const,
    maxAttempts: 3,
    ...(options.region ? { region: options.region } : {}),
    ...(options.credentials ? { credentials: options.credentials } : {}),
  };
  return {
    ec2: new EC2Client(config),
    ssm: new SSMClient(config),
    cloudwatch: new CloudWatchClient(config),
    eventbridge: new EventBridgeClient(config),
  };
}

/** The Lambda containers' clients (region from AWS_REGION, resolved lazily at the first call). */
export const clients: AwsClients = createClients();
