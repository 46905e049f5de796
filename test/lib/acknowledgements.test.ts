/**
 * Every cdk-nag wildcard acknowledgement (AwsSolutions-IAM5) in lib/ is true for the policy it
 * covers: each `service:Action` its reason names is granted there, and each action granted on `*`
 * there is named in the `Resource::*` reason. Walked over the synthesized constructs of several
 * prop sets, so a grant added or removed later without its reason (or the reverse) fails here.
 */
import { type IConstruct } from 'constructs';
import { Stack, Validations } from 'aws-cdk-lib';
import { CfnPolicy } from 'aws-cdk-lib/aws-iam';
import { TimeSyncGuard, type TimeSyncGuardProps } from '../../lib/time-sync-guard';
import { TimeSyncGuardOrgStack } from '../../lib/time-sync-guard-org-stack';
import { testApp } from './util';

type Statement = { Effect: string; Action: string | string[]; Resource: unknown };
interface Acknowledgement {
  path: string;
  id: string;
  reason: string;
  statements: Statement[];
}

const SERVICES = 'ec2|ssm|cloudwatch|s3|events|lambda|states|logs|xray|kms|sns|sqs|secretsmanager|iam|organizations|sts';
const NAMED = new RegExp(`\\b(?:${SERVICES}):[A-Za-z*]+`, 'g');

function acknowledgements(root: IConstruct): Acknowledgement[] {
  const stack = Stack.of(root);
  const out: Acknowledgement[] = [];
  for (const c of root.node.findAll()) {
    for (const m of c.node.metadata) {
      if (m.type !== Validations.ACKNOWLEDGED_RULES_METADATA_KEY) continue;
      for (const [id, reason] of Object.entries(m.data as Record<string, string>)) {
        if (!id.includes('AwsSolutions-IAM5')) continue;
        const statements = c.node
          .findAll()
          .filter((x): x is CfnPolicy => x instanceof CfnPolicy)
          .flatMap((p) => (stack.resolve(p.policyDocument) as { Statement: Statement[] }).Statement);
        out.push({ path: c.node.path, id, reason, statements });
      }
    }
  }
  return out;
}

const actionsOf = (s: Statement): string[] => (Array.isArray(s.Action) ? s.Action : [s.Action]);

/** What is untrue in the acknowledgements under root: one line per named-but-not-granted or granted-on-*-but-unnamed action. */
function untrue(root: IConstruct): string[] {
  const acks = acknowledgements(root);
  if (acks.length === 0) return ['no IAM5 acknowledgement found'];
  const out: string[] = [];
  for (const a of acks) {
    const allowed = a.statements.filter((s) => s.Effect === 'Allow');
    const granted = new Set(allowed.flatMap(actionsOf));
    for (const n of new Set(a.reason.match(NAMED) ?? [])) if (!granted.has(n)) out.push(`${a.path} ${a.id}: names ${n}, not granted`);
    if (!a.id.endsWith('[Resource::*]')) continue;
    const onStar = allowed.filter((s) => s.Resource === '*' || (Array.isArray(s.Resource) && s.Resource.includes('*'))).flatMap(actionsOf);
    // The state machines' reasons list the X-Ray and log-delivery actions by bare name.
    for (const act of onStar) if (!a.reason.includes(act) && !a.reason.includes(act.split(':')[1]!)) out.push(`${a.path} ${a.id}: grants ${act} on *, not named`);
  }
  return out;
}

function guard(props: TimeSyncGuardProps): TimeSyncGuard {
  const stack = new Stack(testApp(), 'Ack');
  return new TimeSyncGuard(stack, 'Guard', props);
}

const CASES: [string, () => IConstruct][] = [
  ['defaults', () => guard({})],
  ['launch check with remediation on launch', () => guard({ launchCheck: true, remediateOnLaunch: true } as TimeSyncGuardProps)],
  ['account defaults set, imdsv2 enforce', () => guard({ accountDefaults: 'set', imdsv2: 'enforce' } as TimeSyncGuardProps)],
  ['imdsv2 off, remediation disabled', () => guard({ imdsv2: 'off', remediationEnabled: false } as TimeSyncGuardProps)],
  ['organization hub', () => new TimeSyncGuardOrgStack(testApp(), 'AckOrg', { organizationalUnits: ['ou-abcd-12345678'] })],
];

describe('cdk-nag acknowledgements match their grants', () => {
  it.each(CASES)('%s: every action a reason names is granted, every action on * is named', (_name, build) => {
    expect(untrue(build())).toEqual([]);
  });

  it('catches a reason that names an action its policy does not grant, and a grant on * no reason names', () => {
    const g = guard({});
    const policy = g.checkFunction.role.node.tryFindChild('DefaultPolicy')!;
    Validations.of(policy).acknowledge({ id: 'AwsSolutions-IAM5[Resource::*]', reason: 'ec2:ModifyInstanceMetadataOptions is conditioned (a reason meant for another role).' });
    expect(untrue(g)).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/CheckHandler.*names ec2:ModifyInstanceMetadataOptions, not granted/),
        expect.stringMatching(/CheckHandler.*grants ec2:DescribeInstances on \*, not named/),
      ]),
    );
  });
});
