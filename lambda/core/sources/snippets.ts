/**
 * The exact change, as text its owner pastes: CloudFormation / CDK for a template a stack owns or an
 * EKS node group's, Karpenter YAML for an EC2NodeClass, and AWS CLI for what only the API can say (a
 * pinned group, diverging versions, report mode). Names come from tags and API data: each is
 * quoted as a JSON string, never spliced raw.
 */
import type { MetadataOptionsSpec } from './types';
import type { OptionsChange } from './plan';

/** Where the change is to be made. */
export type IacTarget =
  | { readonly kind: 'cloudformation'; readonly templateName: string; readonly stack: string }
  | { readonly kind: 'eks-nodegroup'; readonly templateName: string; readonly nodegroup: string }
  | { readonly kind: 'karpenter'; readonly nodeClass: string }
  | { readonly kind: 'pinned'; readonly templateName: string; readonly templateId: string; readonly version: number; readonly groups: readonly string[] }
  | { readonly kind: 'api'; readonly templateName: string; readonly templateId: string; readonly version: number; readonly moveDefault: boolean };

const q = (s: string): string => JSON.stringify(s);

function cfnOptions(o: MetadataOptionsSpec): string[] {
  return [
    ...(o.httpEndpoint !== undefined ? [`HttpEndpoint: ${o.httpEndpoint}`] : []),
    ...(o.httpTokens !== undefined ? [`HttpTokens: ${o.httpTokens}`] : []),
    ...(o.hopLimit !== undefined ? [`HttpPutResponseHopLimit: ${o.hopLimit}`] : []),
    ...(o.httpProtocolIpv6 !== undefined ? [`HttpProtocolIpv6: ${o.httpProtocolIpv6}`] : []),
    ...(o.instanceMetadataTags !== undefined ? [`InstanceMetadataTags: ${o.instanceMetadataTags}`] : []),
  ];
}

function cdkOptions(o: MetadataOptionsSpec): string {
  const parts = [
    ...(o.httpEndpoint !== undefined ? [`httpEndpoint: ${q(o.httpEndpoint)}`] : []),
    ...(o.httpTokens !== undefined ? [`httpTokens: ${q(o.httpTokens)}`] : []),
    ...(o.hopLimit !== undefined ? [`httpPutResponseHopLimit: ${o.hopLimit}`] : []),
    ...(o.httpProtocolIpv6 !== undefined ? [`httpProtocolIpv6: ${q(o.httpProtocolIpv6)}`] : []),
    ...(o.instanceMetadataTags !== undefined ? [`instanceMetadataTags: ${q(o.instanceMetadataTags)}`] : []),
  ];
  return `metadataOptions: { ${parts.join(', ')} }`;
}

function cliOptions(o: MetadataOptionsSpec): string {
  return JSON.stringify({
    MetadataOptions: {
      ...(o.httpEndpoint !== undefined ? { HttpEndpoint: o.httpEndpoint } : {}),
      ...(o.httpTokens !== undefined ? { HttpTokens: o.httpTokens } : {}),
      ...(o.hopLimit !== undefined ? { HttpPutResponseHopLimit: o.hopLimit } : {}),
      ...(o.httpProtocolIpv6 !== undefined ? { HttpProtocolIpv6: o.httpProtocolIpv6 } : {}),
      ...(o.instanceMetadataTags !== undefined ? { InstanceMetadataTags: o.instanceMetadataTags } : {}),
    },
  });
}

/** The snippet for one target; `options` is the complete `MetadataOptions` the source should state. */
export function iacSnippet(target: IacTarget, change: OptionsChange, options: MetadataOptionsSpec): string {
  const what = [change.hopLimit ? `hop limit ${change.hopLimit.from} -> ${change.hopLimit.to}` : '', change.httpTokens ? 'HttpTokens optional -> required' : ''].filter(Boolean).join('; ');
  switch (target.kind) {
    case 'cloudformation':
      return [
        `# ${what}: in stack ${q(target.stack)}, launch template ${q(target.templateName)}`,
        '# CloudFormation (AWS::EC2::LaunchTemplate):',
        'LaunchTemplateData:',
        '  MetadataOptions:',
        ...cfnOptions(options).map((l) => `    ${l}`),
        '# CDK (ec2.CfnLaunchTemplate):',
        `launchTemplateData: { ${cdkOptions(options)} }`,
      ].join('\n');
    case 'eks-nodegroup':
      return [
        `# ${what}: EKS managed node group ${q(target.nodegroup)} launches from ${q(target.templateName)}`,
        '# CDK: the node group\'s launch template, then point the node group at its new version',
        `new ec2.CfnLaunchTemplate(this, 'NodeTemplate', { launchTemplateData: { ${cdkOptions(options)} } });`,
        "cluster.addNodegroupCapacity('Nodes', { launchTemplateSpec: { id: nodeTemplate.ref, version: nodeTemplate.attrLatestVersionNumber } });",
      ].join('\n');
    case 'karpenter':
      return [
        `# ${what}: Karpenter EC2NodeClass ${q(target.nodeClass)} (Karpenter v1 defaults the hop limit to 1)`,
        'apiVersion: karpenter.k8s.aws/v1',
        'kind: EC2NodeClass',
        'metadata:',
        `  name: ${q(target.nodeClass)}`,
        'spec:',
        '  metadataOptions:',
        '    httpEndpoint: enabled',
        ...(options.httpTokens !== undefined ? [`    httpTokens: ${options.httpTokens}`] : []),
        ...(options.hopLimit !== undefined ? [`    httpPutResponseHopLimit: ${options.hopLimit}`] : []),
      ].join('\n');
    case 'pinned':
      return [
        `# ${what}: groups ${target.groups.map(q).join(', ')} are pinned to version ${target.version} of ${q(target.templateName)}`,
        `aws ec2 create-launch-template-version --launch-template-id ${target.templateId} --source-version ${target.version} --launch-template-data '${cliOptions(options)}'`,
        ...target.groups.map((g) => `aws autoscaling update-auto-scaling-group --auto-scaling-group-name ${q(g)} --launch-template LaunchTemplateId=${target.templateId},Version=<the new version number>`),
      ].join('\n');
    case 'api':
      return [
        `# ${what}: launch template ${q(target.templateName)} version ${target.version}`,
        `aws ec2 create-launch-template-version --launch-template-id ${target.templateId} --source-version ${target.version} --launch-template-data '${cliOptions(options)}'`,
        ...(target.moveDefault ? [`aws ec2 modify-launch-template --launch-template-id ${target.templateId} --default-version <the new version number>`] : []),
      ].join('\n');
  }
}
