/**
 * The naive handler the cold-load comparison measures against (issue 11): what a straightforward
 * Lambda of this kind looks like — EC2, SSM and CloudWatch clients and Powertools Logger/Metrics
 * built at module scope, bundled with NodejsFunction's defaults (CommonJS-first main fields) plus
 * minify. It is never deployed; bench/cold-load.ts bundles and loads it.
 */
import { CloudWatchClient, PutMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import { DescribeInstancesCommand, EC2Client } from '@aws-sdk/client-ec2';
import { DescribeInstanceInformationCommand, SendCommandCommand, SSMClient } from '@aws-sdk/client-ssm';
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';

const ec2 = new EC2Client({});
const ssm = new SSMClient({});
const cloudwatch = new CloudWatchClient({});
const logger = new Logger({ serviceName: 'naive' });
const metrics = new Metrics({ serviceName: 'naive', namespace: 'Naive' });

export const handler = async (): Promise<number> => {
  const instances = await ec2.send(new DescribeInstancesCommand({}));
  const managed = await ssm.send(new DescribeInstanceInformationCommand({}));
  await ssm.send(new SendCommandCommand({ DocumentName: 'AWS-RunShellScript', InstanceIds: [], Parameters: { commands: ['true'] } }));
  await cloudwatch.send(new PutMetricDataCommand({ Namespace: 'Naive', MetricData: [] }));
  logger.info('done', { reservations: instances.Reservations?.length ?? 0, managed: managed.InstanceInformationList?.length ?? 0 });
  metrics.publishStoredMetrics();
  return 0;
};
