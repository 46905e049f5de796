import { EC2Client } from '@aws-sdk/client-ec2';
import { createLaunchSourcesPort, toGroup, toSpec } from '../../lambda/aws/launch-sources';
import { DiscreteEventClock } from '../../bench/sim/virtual-clock';
import { SimAwsError } from '../../bench/sim/primitives';

describe('launch sources adapter', () => {
  it('reads every template reference of a group, MixedInstancesPolicy overrides included', () => {
    const g = toGroup({
      AutoScalingGroupName: 'mixed',
      MixedInstancesPolicy: {
        LaunchTemplate: {
          LaunchTemplateSpecification: { LaunchTemplateId: 'lt-0123456789abcdef0', Version: '$Latest' },
          Overrides: [{ InstanceType: 'm7g.large', LaunchTemplateSpecification: { LaunchTemplateName: 'arm', Version: '3' } }, { InstanceType: 'm7i.large' }],
        },
      },
      Instances: [{ InstanceId: 'i-1' } as never],
    } as never);
    expect(g.references).toEqual([
      { templateId: 'lt-0123456789abcdef0', version: '$Latest', place: 'mixed-instances' },
      { templateName: 'arm', version: '3', place: 'override' },
    ]);
    expect(g.instanceIds).toEqual(['i-1']);
  });

  it('drops MetadataOptions values it does not know instead of guessing', () => {
    expect(toSpec({ HttpTokens: 'sometimes' as never, HttpPutResponseHopLimit: 99, HttpEndpoint: 'enabled' })).toEqual({ httpEndpoint: 'enabled' });
  });

  it('turns a denied or failed write into data, never an exception', async () => {
    const clock = new DiscreteEventClock();
    const ec2 = { send: async () => Promise.reject(new SimAwsError('UnauthorizedOperation', 'explicit deny')) } as unknown as EC2Client;
    const port = createLaunchSourcesPort({ ec2, clock, autoScaling: async () => Promise.reject(new Error('module load failed')) });
    await expect(clock.run(() => port.createVersion({ templateId: 'lt-0123456789abcdef0', sourceVersion: 1, metadataOptions: { hopLimit: 2 }, description: 'x' }))).resolves.toMatchObject({ outcome: 'denied' });
    await expect(clock.run(() => port.listGroups())).resolves.toMatchObject({ ok: false });
  });
});
