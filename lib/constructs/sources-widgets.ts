import * as cw from 'aws-cdk-lib/aws-cloudwatch';
import { SOURCE_METRICS } from '../../lambda/core/sources/report';

/**
 * The dashboard's row for IMDS options at their source (docs/launch-templates.md): the fleet-level
 * counts of the last check and where to find the per-instance layer and the exact changes.
 */
export function sourcesWidgets(max: (name: string) => cw.Metric): cw.IWidget[] {
  return [
    new cw.SingleValueWidget({
      title: 'Launch sources that launch non-compliant instances (last check)',
      metrics: [
        max(SOURCE_METRICS.templatesLaunchingNonCompliant).with({ label: 'launch templates / node classes' }),
        max(SOURCE_METRICS.groupsLaunchingNonCompliant).with({ label: 'Auto Scaling groups' }),
        max(SOURCE_METRICS.groupsNotRead).with({ label: 'groups not readable' }),
      ],
      width: 12,
      height: 4,
    }),
    new cw.TextWidget({
      markdown:
        "**Which layer decided each instance's IMDS options**: the `instance` log records, field `imdsSource` (`launch-template`, `ami`, `account-default`, `ec2-default`, `modified`, `karpenter`, `eks-nodegroup`, `unknown`), e.g. `stats count(*) by imdsSource`. The exact change per template, node group or node class: the `launch-source` records (`snippet`). [docs/launch-templates.md]",
      width: 12,
      height: 4,
    }),
  ];
}
