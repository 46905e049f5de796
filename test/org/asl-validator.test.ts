/**
 * Both stacks' state machine definitions, as synthesized, checked by asl-validator (the Amazon
 * States Language schema plus its transition, terminal-state, ARN and path checks) with every
 * intrinsic resolved to a concrete ARN, as Step Functions receives them.
 */
import validator from 'asl-validator';
import type { Template } from 'aws-cdk-lib/assertions';
import { stackTemplate } from '../lib/util';
import { OU, orgTemplate } from './util';

/** The definition with Ref / Fn::GetAtt resolved for one account and region. */
function definitionOf(template: Template): Record<string, unknown> {
  const [sm] = Object.values(template.findResources('AWS::StepFunctions::StateMachine'));
  const resolve = (v: unknown): string => {
    if (typeof v === 'string') return v;
    const o = v as Record<string, unknown>;
    if ('Fn::Join' in o) {
      const [sep, parts] = o['Fn::Join'] as [string, unknown[]];
      return parts.map(resolve).join(sep);
    }
    if ('Ref' in o) return ({ 'AWS::Partition': 'aws', 'AWS::Region': 'eu-west-1', 'AWS::AccountId': '111122223333' } as Record<string, string>)[o.Ref as string] ?? String(o.Ref);
    if ('Fn::GetAtt' in o) return `arn:aws:lambda:eu-west-1:111122223333:function:${(o['Fn::GetAtt'] as string[])[0]}`;
    throw new Error(`unexpected intrinsic ${JSON.stringify(o)}`);
  };
  return JSON.parse(resolve(sm!.Properties.DefinitionString)) as Record<string, unknown>;
}

function validate(definition: Record<string, unknown>): string[] {
  const { isValid, errors } = validator(definition);
  return isValid ? [] : errors.map((e) => `${e['Error code']}: ${e.Message}`);
}

describe('state machine definitions (asl-validator)', () => {
  it('accepts the single-account remediation state machine', () => {
    expect(validate(definitionOf(stackTemplate().template))).toEqual([]);
  });

  it('accepts the organization hub state machine (overlap guard, distributed Map reading from and writing to S3, item loop)', () => {
    const definition = definitionOf(orgTemplate({ organizationalUnits: [OU] }).template) as { States: Record<string, Record<string, unknown>> };
    expect(JSON.stringify(definition)).toContain('"Mode":"DISTRIBUTED"');
    const map = definition.States.AccountRegions!;
    expect(map.ItemReader).toEqual({
      Resource: 'arn:aws:states:::s3:getObject',
      ReaderConfig: { InputType: 'JSON' },
      Parameters: { Bucket: expect.any(String), 'Key.$': '$.listing.itemsKey' },
    });
    expect(map.ResultWriter).toEqual({ Resource: 'arn:aws:states:::s3:putObject', Parameters: { Bucket: (map.ItemReader as { Parameters: { Bucket: string } }).Parameters.Bucket, Prefix: 'runs' } });
    // Nothing of the organization's size in the state: no ItemsPath, no inline results.
    expect(map.ItemsPath).toBeUndefined();
    expect(definition.States.OverlapGuard!.Type).toBe('Choice');
    expect(validate(definition)).toEqual([]);
  });

  it('the check can fail: a loop pointing at a missing state and a Map without a processor are refused', () => {
    const definition = definitionOf(orgTemplate({ organizationalUnits: [OU] }).template) as { States: Record<string, Record<string, unknown>> };
    const broken = structuredClone(definition);
    broken.States.ListTargets!.Next = 'Nowhere';
    expect(validate(broken).join('\n')).toMatch(/Nowhere/);
    const noProcessor = structuredClone(definition);
    delete noProcessor.States.AccountRegions!.ItemProcessor;
    expect(validate(noProcessor)).not.toEqual([]);
  });
});
