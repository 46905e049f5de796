/**
 * The SDK client factory (./client-factory.ts, re-exported) and the CLI's client set. A Lambda
 * bundle that imports only {@link createClient} carries none of the set's clients.
 */
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { EC2Client } from '@aws-sdk/client-ec2';
import { SSMClient } from '@aws-sdk/client-ssm';
import { type ClientOptions, createClient, lazy } from './client-factory';

export * from './client-factory';

/** The clients the CLI's check needs. */
export interface AwsClients {
  readonly ec2: EC2Client;
  readonly ssm: SSMClient;
  readonly cloudwatch: CloudWatchClient;
}

/**
 * The CLI's client set, each client built on first access (only `--publish` needs CloudWatch). A
 * Lambda bundle that imports only {@link createClient} from this module carries none of these:
 * the SDK packages are side-effect free, so esbuild drops what the handler does not use.
 */
export function createClients(options: ClientOptions = {}): AwsClients {
  const ec2 = lazy(() => createClient(EC2Client, 'ec2', options));
  const ssm = lazy(() => createClient(SSMClient, 'ssm', options));
  const cloudwatch = lazy(() => createClient(CloudWatchClient, 'cloudwatch', options));
  return {
    get ec2() {
      return ec2();
    },
    get ssm() {
      return ssm();
    },
    get cloudwatch() {
      return cloudwatch();
    },
  };
}
