/**
 * IAM of the fix at the source (docs/launch-templates.md), derived from `launchTemplates`:
 * - `report` / `fix`: read the sources (Auto Scaling groups, launch templates and versions, AMIs:
 *   none of these Describe actions supports resource-level permissions);
 * - `fix` only: `ec2:CreateLaunchTemplateVersion` and `ec2:ModifyLaunchTemplate` on launch templates
 *   that carry no `aws:cloudformation:stack-name` tag, with explicit Denies (they stand even if the
 *   Allow is widened) on templates that carry it and on opted-out templates;
 * - always: an explicit Deny of every launch-template delete. What the code must never do, IAM refuses.
 */
import { Effect, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { CLOUDFORMATION_STACK_TAG } from '../lambda/core/sources/types';
import { optOutConditions } from './guard-common';

export const LAUNCH_TEMPLATE_WRITE_ACTIONS = ['ec2:CreateLaunchTemplateVersion', 'ec2:ModifyLaunchTemplate'] as const;
export const LAUNCH_TEMPLATE_DELETE_ACTIONS = ['ec2:DeleteLaunchTemplate', 'ec2:DeleteLaunchTemplateVersions'] as const;

/** The statements of one role; `templates` is the `launch-template/*` ARN of the stack's account and region. */
export function launchTemplateStatements(o: { readonly mode: 'off' | 'report' | 'fix'; readonly write: boolean; readonly templates: string; readonly optOutTagKey: string }): PolicyStatement[] {
  // Both deletes act on launch-template resources only: the Deny covers every one of them.
  const neverDelete = new PolicyStatement({ sid: 'NeverDeleteLaunchTemplates', effect: Effect.DENY, actions: [...LAUNCH_TEMPLATE_DELETE_ACTIONS], resources: [o.templates] });
  if (o.mode === 'off') return [neverDelete];
  const read = new PolicyStatement({
    sid: 'ReadLaunchSources',
    actions: ['autoscaling:DescribeAutoScalingGroups', 'ec2:DescribeLaunchTemplates', 'ec2:DescribeLaunchTemplateVersions', 'ec2:DescribeImages'],
    resources: ['*'],
  });
  if (o.mode !== 'fix' || !o.write) return [read, neverDelete];
  const stackTag = `aws:ResourceTag/${CLOUDFORMATION_STACK_TAG}`;
  return [
    read,
    new PolicyStatement({ sid: 'NewLaunchTemplateVersions', actions: [...LAUNCH_TEMPLATE_WRITE_ACTIONS], resources: [o.templates], conditions: { Null: { [stackTag]: 'true' } } }),
    new PolicyStatement({ sid: 'NeverTouchCloudFormationTemplates', effect: Effect.DENY, actions: [...LAUNCH_TEMPLATE_WRITE_ACTIONS], resources: [o.templates], conditions: { Null: { [stackTag]: 'false' } } }),
    new PolicyStatement({ sid: 'NeverTouchOptedOutTemplates', effect: Effect.DENY, actions: [...LAUNCH_TEMPLATE_WRITE_ACTIONS], resources: [o.templates], conditions: optOutConditions(`aws:ResourceTag/${o.optOutTagKey}`) }),
    neverDelete,
  ];
}
