/**
 * The engines' SDK clients over the wire adapter. The SDK's own retries are off (`maxAttempts: 1`)
 * so that, as with the mocks, every throttle reaches the engines' retry layer on the virtual clock
 * (SDK backoff would sleep on the real clock) and is counted as a request.
 */
import { EC2Client } from '@aws-sdk/client-ec2';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { SecurityHubClient } from '@aws-sdk/client-securityhub';
import { SNSClient } from '@aws-sdk/client-sns';
import { SSMClient } from '@aws-sdk/client-ssm';
import { SimWireHandler, type WireBackend } from './handler';

/** One client per service, all answered by `backend` through a {@link SimWireHandler}. */
export function wireClients(backend: WireBackend): { ec2: EC2Client; ssm: SSMClient; eventbridge: EventBridgeClient; sns: SNSClient; securityhub: SecurityHubClient; wire: SimWireHandler } {
  const wire = new SimWireHandler(backend);
  const config = { region: 'us-east-1', requestHandler: wire, maxAttempts: 1, retryMode: 'standard' };
  return { ec2: new EC2Client(config), ssm: new SSMClient(config), eventbridge: new EventBridgeClient(config), sns: new SNSClient(config), securityhub: new SecurityHubClient(config), wire };
}
