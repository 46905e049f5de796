import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CfnStackSet, Fn, Stage } from 'aws-cdk-lib';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { Asset } from 'aws-cdk-lib/aws-s3-assets';
import { Construct } from 'constructs';
import { imdsv2UndoRoleName } from '../../lambda/core/fleet/hub';
import { EC2_STATE_CHANGE } from '../../lambda/core/fleet/launch';
import { DEFAULTS } from '../../lambda/core/settings';
import { findingsExportStatements } from '../findings-export-grants';
import { launchTemplateStatements } from '../launch-template-grants';
import { checkStatements, remediateInstanceStatements } from '../guard-common';
import { imdsv2InstanceStatements, metadataDefaultsStatements } from '../time-sync-guard';
import { collectorDocumentContent, type PinnedDocumentContent, pinnedContent, remediationDocumentContent } from './guest-documents';

/** CloudFormation's limit on an inline `TemplateBody` (bytes); a `TemplateURL` template may be 1 MB. */
export const TEMPLATE_BODY_LIMIT_BYTES = 51_200;
/** CloudFormation's limit on a template read from S3 (`TemplateURL`). */
export const TEMPLATE_URL_LIMIT_BYTES = 1_000_000;

/** Who deploys the StackSets: the delegated administrator (the hub) or the management account itself. */
export type StackSetCallAs = 'DELEGATED_ADMIN' | 'SELF';

/** What the spoke templates are built from (plain values: the templates are constants of the synth). */
export interface SpokeTemplateOptions {
  /** Name of the role in every member account. */
  readonly spokeRoleName: string;
  /** Opt-out tag key of the Denies. */
  readonly optOutTagKey: string;
  /** The hop limit the raise must reach at least. */
  readonly hopLimitTarget: number;
  /** Whether the role may also enable a disabled metadata endpoint. */
  readonly enableMetadataEndpoint: boolean;
  /**
   * The organization id (`o-…`): adds `aws:PrincipalOrgID` to the trust.
   * @default - the trust names the hub account and the hub role ARNs only
   */
  readonly organizationId?: string;
  /**
   * The role may import the account's findings into its own Security Hub (lib/findings-export-grants.ts).
   * @default true
   */
  readonly securityHub?: boolean;
  /**
   * The role may put the account's instances' Systems Manager Compliance items.
   * @default true
   */
  readonly ssmCompliance?: boolean;
  /**
   * The account metadata defaults: read on every run; raised (never lowered) by the nightly run with `set`.
   * @default 'report'
   */
  readonly accountDefaults?: string;
  /**
   * IMDSv2 readiness (`report`: GetMetricData) and, with `enforce`, the nightly enforcement's tag and
   * switch; `off`: none of it, and a Deny on ever making tokens optional stays.
   * @default 'report'
   */
  readonly imdsv2?: string;
  /**
   * With `imdsv2=enforce`: a second role in every member account, `<spokeRoleName>-Imdsv2Undo`,
   * holding only the single-account check role's undo statements and trusted by the hub's item
   * role only (template parameter `HubItemRoleArn`); the spoke role that enforces keeps its Deny on
   * ever making tokens optional. Ignored unless `imdsv2` is `enforce`, as in one account.
   * @default false
   */
  readonly imdsv2AutoUndo?: boolean;
  /**
   * The launch check: the role template adds the role EventBridge uses in each member account to
   * forward EC2 `running` events to the hub's launch bus (PutEvents on that bus only); the documents
   * template adds the rule, in every covered region.
   * @default false
   */
  readonly launchCheck?: boolean;
  /**
   * The IMDS options at their source (docs/launch-templates.md), from the single-account builder:
   * `report` reads the groups, templates and AMIs; `fix` also creates versions and moves `$Default`
   * on templates without the `aws:cloudformation:stack-name` tag; every delete is denied, `off` included.
   * @default 'report'
   */
  readonly launchTemplates?: 'off' | 'report' | 'fix';
}

/** Name of the role that forwards a member account's launch events to the hub (one per account). */
export function launchForwarderRoleName(spokeRoleName: string): string {
  return `${spokeRoleName}-LaunchEvents`;
}

/** The one event the member accounts forward: EC2's own `running` state change (PutEvents cannot forge an `aws.*` source). */
export const LAUNCH_EVENT_PATTERN = { source: ['aws.ec2'], 'detail-type': [EC2_STATE_CHANGE], detail: { state: ['running'] } } as const;

/** The SSM documents in every member account: fixed names, the hub Lambdas' defaults. */
export const SPOKE_DOCUMENT_NAMES = { collector: DEFAULTS.collectorDocument, remediation: DEFAULTS.remediationDocument, windowsRemediation: DEFAULTS.windowsRemediationDocument } as const;

/**
 * The spoke documents' Content strings and their pins, computed once: the documents StackSet
 * deploys these strings and the hub Lambdas send (and compare) these hashes, so a member account's
 * same-name document with any other content runs nothing.
 */
export interface SpokeDocuments {
  readonly collector: PinnedDocumentContent;
  /** The Linux remediation document. */
  readonly remediation: PinnedDocumentContent;
  readonly windowsRemediation: PinnedDocumentContent;
}

/** The spoke documents of this build (the remediation document's DryRun default is false: the hub always sends it). */
export function spokeDocuments(): SpokeDocuments {
  return {
    collector: pinnedContent(collectorDocumentContent()),
    remediation: pinnedContent(remediationDocumentContent('linux')),
    windowsRemediation: pinnedContent(remediationDocumentContent('windows')),
  };
}

/** Statements whose grant is limited to the regions the documents StackSet deploys to. */
const REGION_BOUND_SIDS = new Set(['RunDocumentsOnInstances', 'ReadPinnedDocuments']);

type Json = Record<string, unknown>;

/** A string that names `${AWS::…}` pseudo parameters or template parameters becomes an `Fn::Sub` of the inner template. */
function substituted(v: unknown): unknown {
  if (typeof v === 'string') return /\$\{[A-Za-z:]+\}/.test(v) ? { 'Fn::Sub': v } : v;
  if (Array.isArray(v)) return v.map(substituted);
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, substituted(x)]));
  return v;
}

/**
 * The spoke role's template: only an IAM role, nothing else (no Lambda, no asset), so one inline
 * template serves every member account. Its statements are the single-account check and remediate
 * statements (lib/guard-common.ts) on the member account; running a document (and reading the
 * documents' hash, which the hub compares before it sends anything) is allowed only in the regions
 * the documents StackSet deploys to (`Regions`, `aws:RequestedRegion`): in any other region a
 * same-name document is not the StackSet's, and the role cannot send it. The trust admits the hub
 * account's item-function role only (`aws:PrincipalArn`), and the organization when given.
 */
export function spokeRoleTemplate(o: SpokeTemplateOptions): Json {
  const instances = 'arn:${AWS::Partition}:ec2:*:${AWS::AccountId}:instance/*';
  const document = (name: string) => `arn:\${AWS::Partition}:ssm:*:\${AWS::AccountId}:document/${name}`;
  const documents = Object.values(SPOKE_DOCUMENT_NAMES).map(document);
  const statements = [
    ...checkStatements(instances, documents, o.optOutTagKey),
    new PolicyStatement({ sid: 'ReadPinnedDocuments', actions: ['ssm:DescribeDocument'], resources: documents }),
    ...remediateInstanceStatements(instances, o),
    // The same builders as the single-account check and remediate roles: one spoke role serves both
    // runs, so it holds their union, except the undo of an enforcement: that is the undo role's
    // alone (below), so the role that enforces never may undo, as in one account.
    ...metadataDefaultsStatements({ write: (o.accountDefaults ?? DEFAULTS.accountDefaults) === 'set', hopLimitTarget: o.hopLimitTarget, allowTokensRequired: o.imdsv2 === 'enforce' }),
    // The check reads the sources, the remediation fixes them: the one role gets the remediate role's set.
    ...launchTemplateStatements({ mode: o.launchTemplates ?? DEFAULTS.launchTemplates, write: true, templates: 'arn:${AWS::Partition}:ec2:*:${AWS::AccountId}:launch-template/*', optOutTagKey: o.optOutTagKey }),
    ...((o.imdsv2 ?? DEFAULTS.imdsv2) === 'off'
      ? []
      : imdsv2InstanceStatements(instances, { enforce: o.imdsv2 === 'enforce', undo: false, hopLimitTarget: o.hopLimitTarget, optOutTagKey: o.optOutTagKey })),
    // Findings land in the member account itself (Security Hub aggregates them cross-account from there).
    ...findingsExportStatements({ partition: '${AWS::Partition}', region: '*', account: '${AWS::AccountId}', securityHub: o.securityHub ?? true, ssmCompliance: o.ssmCompliance ?? true }),
  ].map((s) => {
    const json = s.toStatementJson() as Json;
    if (!REGION_BOUND_SIDS.has(json.Sid as string)) return json;
    const condition = (json.Condition ?? {}) as Record<string, Json>;
    return { ...json, Condition: { ...condition, StringEquals: { ...condition.StringEquals, 'aws:RequestedRegion': { Ref: 'Regions' } } } };
  });
  const undo = spokeHasUndoRole(o);
  return {
    AWSTemplateFormatVersion: '2010-09-09',
    Description: 'timesync-guard spoke: the role the organization hub assumes to check and fix this account (no code, no other resource)',
    Parameters: {
      HubAccountId: { Type: 'String', AllowedPattern: '^\\d{12}$', Description: 'The hub (delegated administrator) account' },
      HubRoleArns: { Type: 'CommaDelimitedList', Description: 'ARNs of the hub roles allowed to assume this role' },
      Regions: { Type: 'CommaDelimitedList', Description: 'The regions the documents StackSet deploys to: the only ones where the role may run or read them' },
      ...(undo ? { HubItemRoleArn: { Type: 'String', Description: "ARN of the hub's item-function role: the only principal allowed to assume the IMDSv2 undo role" } } : {}),
      ...(o.launchCheck ? { HubLaunchBusArn: { Type: 'String', Description: "The hub's launch event bus (the only target the forwarder role may put events on)" } } : {}),
    },
    Resources: {
      SpokeRole: hubOnlyRole({
        roleName: o.spokeRoleName,
        description: 'timesync-guard spoke: assumed by the organization hub only',
        principals: { Ref: 'HubRoleArns' },
        organizationId: o.organizationId,
        policyName: 'timesync-guard',
        statements,
      }),
      ...(undo ? { Imdsv2UndoRole: imdsv2UndoRole(o, instances) } : {}),
      ...(o.launchCheck
        ? {
            LaunchForwarderRole: {
              Type: 'AWS::IAM::Role',
              Properties: {
                RoleName: launchForwarderRoleName(o.spokeRoleName),
                Description: "timesync-guard spoke: EventBridge forwards this account's EC2 running events to the hub's launch bus",
                MaxSessionDuration: 3600,
                AssumeRolePolicyDocument: {
                  Version: '2012-10-17',
                  Statement: [
                    { Effect: 'Allow', Principal: { Service: 'events.amazonaws.com' }, Action: 'sts:AssumeRole', Condition: { StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } } } },
                  ],
                },
                Policies: [
                  {
                    PolicyName: 'forward-launch-events',
                    PolicyDocument: { Version: '2012-10-17', Statement: [{ Sid: 'HubLaunchBusOnly', Effect: 'Allow', Action: 'events:PutEvents', Resource: { Ref: 'HubLaunchBusArn' } }] },
                  },
                ],
              },
            },
          }
        : {}),
    },
    Outputs: { SpokeRoleArn: { Value: { 'Fn::GetAtt': ['SpokeRole', 'Arn'] } } },
  };
}

/** Whether the role template holds the IMDSv2 undo role: the opt-in undo of an enforcement, as in one account. */
export function spokeHasUndoRole(o: Pick<SpokeTemplateOptions, 'imdsv2' | 'imdsv2AutoUndo'>): boolean {
  return o.imdsv2 === 'enforce' && o.imdsv2AutoUndo === true;
}

/**
 * The member account's IMDSv2 undo role: exactly the statements the single-account check role gets
 * for the opt-in undo (`imdsv2InstanceStatements` with `undo` and without `enforce`: HttpTokens=optional
 * alone, only where the enforcement tag is, the tag rewritten only where it is), trusted by the hub's
 * item-function role only (not the launch check's), which enters it only for the hourly check's rollback.
 */
function imdsv2UndoRole(o: SpokeTemplateOptions, instances: string): Json {
  const statements = imdsv2InstanceStatements(instances, { enforce: false, undo: true, hopLimitTarget: o.hopLimitTarget, optOutTagKey: o.optOutTagKey }).map((s) => s.toStatementJson() as Json);
  return hubOnlyRole({
    roleName: imdsv2UndoRoleName(o.spokeRoleName),
    description: "timesync-guard spoke: the IMDSv2 undo (imdsv2AutoUndo), assumed by the organization hub's item function only",
    principals: { Ref: 'HubItemRoleArn' },
    organizationId: o.organizationId,
    policyName: 'timesync-guard-imdsv2-undo',
    statements,
  });
}

/** A member-account role only the named hub roles may assume (within the organization, when its id is known). */
function hubOnlyRole(r: { roleName: string; description: string; principals: Json; organizationId?: string; policyName: string; statements: Json[] }): Json {
  return {
    Type: 'AWS::IAM::Role',
    Properties: {
      RoleName: r.roleName,
      Description: r.description,
      MaxSessionDuration: 3600,
      AssumeRolePolicyDocument: {
        Version: '2012-10-17',
        Statement: [
          {
            Sid: 'HubItemFunctionOnly',
            Effect: 'Allow',
            Principal: { AWS: { 'Fn::Sub': 'arn:${AWS::Partition}:iam::${HubAccountId}:root' } },
            Action: 'sts:AssumeRole',
            Condition: {
              ArnEquals: { 'aws:PrincipalArn': r.principals },
              ...(r.organizationId ? { StringEquals: { 'aws:PrincipalOrgID': r.organizationId } } : {}),
            },
          },
        ],
      },
      Policies: [{ PolicyName: r.policyName, PolicyDocument: { Version: '2012-10-17', Statement: substituted(r.statements) } }],
    },
  };
}

/**
 * The guest documents' template: the collector and the remediation document under their fixed
 * names, in every covered region. `UpdateMethod: NewVersion` updates a named document in place (a
 * replacement would collide with its own name) and makes the new version the default one.
 */
export function spokeDocumentsTemplate(documents: SpokeDocuments = spokeDocuments(), launch?: { readonly spokeRoleName: string }): Json {
  // Content is the exact string the hub's pin is the SHA-256 of (see documentText): CloudFormation
  // passes a string Content to SSM unchanged.
  const doc = (name: string, content: string) => ({
    Type: 'AWS::SSM::Document',
    Properties: { Name: name, DocumentType: 'Command', DocumentFormat: 'JSON', UpdateMethod: 'NewVersion', Content: content },
  });
  return {
    AWSTemplateFormatVersion: '2010-09-09',
    Description: 'timesync-guard spoke: the collector and the Linux and Windows remediation SSM Command documents (no code, no other resource)',
    ...(launch ? { Parameters: { HubLaunchBusArn: { Type: 'String', Description: "The hub's launch event bus" } } } : {}),
    Resources: {
      Collector: doc(SPOKE_DOCUMENT_NAMES.collector, documents.collector.text),
      Remediation: doc(SPOKE_DOCUMENT_NAMES.remediation, documents.remediation.text),
      WindowsRemediation: doc(SPOKE_DOCUMENT_NAMES.windowsRemediation, documents.windowsRemediation.text),
      ...(launch
        ? {
            // Launch check: this region's EC2 running events, to the hub (its bus admits only the organization; the hub checks the account).
            LaunchForwarder: {
              Type: 'AWS::Events::Rule',
              Properties: {
                Description: "timesync-guard: forward this account's EC2 running events to the organization hub's launch check",
                EventPattern: LAUNCH_EVENT_PATTERN,
                State: 'ENABLED',
                Targets: [{ Id: 'hub', Arn: { Ref: 'HubLaunchBusArn' }, RoleArn: { 'Fn::Sub': `arn:\${AWS::Partition}:iam::\${AWS::AccountId}:role/${launchForwarderRoleName(launch.spokeRoleName)}` } }],
              },
            },
          }
        : {}),
    },
  };
}

/** Props of {@link OrgSpoke}. */
export interface OrgSpokeProps extends SpokeTemplateOptions {
  /** The hub account id (usually `Aws.ACCOUNT_ID` of the hub stack). */
  readonly hubAccountId: string;
  /** ARNs of the hub roles the spoke trusts (the item function's role). */
  readonly hubRoleArns: string[];
  /** OU (or root) ids whose accounts get the spoke, now and when they join later. May be a list token. */
  readonly organizationalUnits: string[];
  /** Regions the documents are deployed to (the regions the hub checks), and the only ones the role may send them in. */
  readonly regions: string[];
  /**
   * The documents to deploy, with the pins the hub sends.
   * @default - spokeDocuments()
   */
  readonly documents?: SpokeDocuments;
  /** The one region the role is deployed in (IAM is global: one instance per account). */
  readonly roleRegion: string;
  /** Who calls the StackSet APIs. */
  readonly callAs: StackSetCallAs;
  /**
   * ARN of the hub's item-function role, the only one trusted by the IMDSv2 undo role (with `imdsv2AutoUndo`).
   * @default - no undo role
   */
  readonly hubItemRoleArn?: string;
  /**
   * ARN of the hub's launch event bus (with `launchCheck`).
   * @default - no launch forwarding
   */
  readonly hubLaunchBusArn?: string;
}

/**
 * The spoke: two service-managed StackSets with automatic deployment (new accounts of the OUs get
 * them, removed accounts lose them), neither carrying any code. The role template is inline; the
 * documents' template (the guest scripts, ≈ 80 KB) is above the 51,200-byte inline limit, so it is
 * a file asset read by CloudFormation from the hub's asset bucket (`TemplateURL`, ≤ 1 MB) when the
 * StackSet is created or updated: member accounts never read that bucket.
 */
export class OrgSpoke extends Construct {
  /** The StackSet of the spoke role (one region per account). */
  public readonly roleStackSet: CfnStackSet;
  /** The StackSet of the three SSM documents (every covered region). */
  public readonly documentsStackSet: CfnStackSet;
  /** The role template as deployed (TemplateBody). */
  public readonly roleTemplateBody: string;
  /** The documents deployed to every covered region, and their pins. */
  public readonly documents: SpokeDocuments;

  constructor(scope: Construct, id: string, props: OrgSpokeProps) {
    super(scope, id);
    const undo = spokeHasUndoRole(props);
    if (undo && props.hubItemRoleArn === undefined) throw new Error('OrgSpoke: imdsv2AutoUndo with imdsv2=enforce needs hubItemRoleArn (the only principal the undo role trusts)');
    this.roleTemplateBody = JSON.stringify(spokeRoleTemplate(props));
    if (this.roleTemplateBody.length > TEMPLATE_BODY_LIMIT_BYTES) {
      throw new Error(`OrgSpoke: the spoke role template is ${this.roleTemplateBody.length} bytes, above CloudFormation's ${TEMPLATE_BODY_LIMIT_BYTES}-byte TemplateBody limit`);
    }
    const common = {
      permissionModel: 'SERVICE_MANAGED',
      autoDeployment: { enabled: true, retainStacksOnAccountRemoval: false },
      callAs: props.callAs,
      // One account that fails (an SCP, a name clash) must not stop the others: it shows in the
      // StackSet's instance list and, at run time, as that account's `access-denied`.
      operationPreferences: { failureTolerancePercentage: 100, maxConcurrentPercentage: 25, regionConcurrencyType: 'PARALLEL' },
      managedExecution: { Active: true },
    } as const;
    this.roleStackSet = new CfnStackSet(this, 'RoleStackSet', {
      ...common,
      stackSetName: `${props.spokeRoleName}-Role`,
      description: 'timesync-guard spoke role (assumed by the organization hub)',
      capabilities: ['CAPABILITY_NAMED_IAM'],
      templateBody: this.roleTemplateBody,
      parameters: [
        { parameterKey: 'HubAccountId', parameterValue: props.hubAccountId },
        { parameterKey: 'HubRoleArns', parameterValue: Fn.join(',', props.hubRoleArns) },
        // The same list the documents StackSet deploys to, so the grant and the documents agree.
        { parameterKey: 'Regions', parameterValue: Fn.join(',', props.regions) },
        ...(undo ? [{ parameterKey: 'HubItemRoleArn', parameterValue: props.hubItemRoleArn! }] : []),
        ...(props.launchCheck && props.hubLaunchBusArn ? [{ parameterKey: 'HubLaunchBusArn', parameterValue: props.hubLaunchBusArn }] : []),
      ],
      stackInstancesGroup: [{ deploymentTargets: { organizationalUnitIds: props.organizationalUnits }, regions: [props.roleRegion] }],
    });

    this.documents = props.documents ?? spokeDocuments();
    const launch = props.launchCheck && props.hubLaunchBusArn ? { spokeRoleName: props.spokeRoleName } : undefined;
    const body = JSON.stringify(spokeDocumentsTemplate(this.documents, launch));
    if (body.length > TEMPLATE_URL_LIMIT_BYTES) throw new Error(`OrgSpoke: the documents template is ${body.length} bytes, above CloudFormation's 1 MB TemplateURL limit`);
    // Written into the cloud assembly (not a temporary folder): with asset staging disabled the asset
    // points at this very file, which must outlive the synth.
    const dir = join(Stage.of(this)?.outdir ?? '.', 'timesync-guard-spoke');
    mkdirSync(dir, { recursive: true });
    const file = join(dir, `${this.node.addr}.documents.template.json`);
    writeFileSync(file, body);
    const template = new Asset(this, 'DocumentsTemplate', { path: file });
    this.documentsStackSet = new CfnStackSet(this, 'DocumentsStackSet', {
      ...common,
      stackSetName: `${props.spokeRoleName}-Documents`,
      description: 'timesync-guard spoke SSM documents (collector, Linux and Windows remediation)',
      templateUrl: template.httpUrl,
      ...(launch ? { parameters: [{ parameterKey: 'HubLaunchBusArn', parameterValue: props.hubLaunchBusArn! }] } : {}),
      stackInstancesGroup: [{ deploymentTargets: { organizationalUnitIds: props.organizationalUnits }, regions: props.regions }],
    });
    // The launch rule names the forwarder role of the role StackSet.
    if (launch) this.documentsStackSet.node.addDependency(this.roleStackSet);
  }
}
