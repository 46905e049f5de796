/**
 * The sizes that have hard AWS limits, measured on a synthesized template with every intrinsic
 * resolved to a long but realistic value (the longest partition and region names, CloudFormation's
 * generated physical names `<stack>-<logical id>-<12 characters>`), so that the figures are what
 * AWS would count after deploy, not what the template happens to spell:
 * - an SSM document's Content: 64 KB (65,536 bytes; SSM's document size quota);
 * - a role's inline policies together: 10,240 characters, whitespace not counted (IAM quota
 *   "Role policy size"), the role's own `Policies` and every `AWS::IAM::Policy` attached to it;
 * - a function's environment variables together: 4 KB (4,096 bytes; Lambda quota), measured as the
 *   JSON of the variables (keys, values and their quoting: an over-estimate);
 * - a state machine's definition: 1 MB (1,048,576 bytes: Step Functions' maximum request size,
 *   which bounds the definition CreateStateMachine / UpdateStateMachine can carry).
 */
type Json = Record<string, unknown>;
type Resource = { Type: string; Properties?: Json };

export const LIMITS = { documentBytes: 65_536, rolePolicyChars: 10_240, environmentBytes: 4_096, definitionBytes: 1_048_576 } as const;

const PSEUDO: Record<string, string> = {
  'AWS::Partition': 'aws-us-gov',
  'AWS::Region': 'ap-southeast-2',
  'AWS::AccountId': '123456789012',
  'AWS::URLSuffix': 'amazonaws.com.cn',
  'AWS::StackName': 'TimeSyncGuard',
  'AWS::StackId': 'arn:aws-us-gov:cloudformation:ap-southeast-2:123456789012:stack/TimeSyncGuard/12345678-1234-1234-1234-123456789012',
};

/** Resolves Ref, Fn::GetAtt, Fn::Join, Fn::Sub and Fn::Select to long realistic strings. */
export function longResolver(resources: Record<string, Resource>, stackName = 'TimeSyncGuard'): (v: unknown) => unknown {
  const name = (id: string) => `${stackName}-${id.slice(0, 64)}-ABCDEFGHIJKL`;
  const arn = (id: string) => {
    const type = resources[id]?.Type ?? 'AWS::Unknown::Thing';
    const service = type.split('::')[1]!.toLowerCase();
    return `arn:${PSEUDO['AWS::Partition']}:${service}:${PSEUDO['AWS::Region']}:${PSEUDO['AWS::AccountId']}:${type.split('::')[2]!.toLowerCase()}/${name(id)}-AbCdEf`;
  };
  const resolve = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(resolve);
    if (!v || typeof v !== 'object') return v;
    const o = v as Json;
    if ('Ref' in o) return PSEUDO[String(o.Ref)] ?? (resources[String(o.Ref)]?.Type === 'AWS::SQS::Queue' ? `https://sqs.${PSEUDO['AWS::Region']}.${PSEUDO['AWS::URLSuffix']}/${PSEUDO['AWS::AccountId']}/${name(String(o.Ref))}` : name(String(o.Ref)));
    if ('Fn::GetAtt' in o) {
      const [id, attribute] = o['Fn::GetAtt'] as string[];
      return /Arn$/.test(attribute!) ? arn(id!) : name(id!);
    }
    if ('Fn::Join' in o) {
      const [sep, parts] = o['Fn::Join'] as [string, unknown];
      const list = resolve(parts);
      return (Array.isArray(list) ? list : String(list).split(',')).map(String).join(sep);
    }
    if ('Fn::Sub' in o) {
      const [text, vars] = (Array.isArray(o['Fn::Sub']) ? o['Fn::Sub'] : [o['Fn::Sub'], {}]) as [string, Json];
      return text.replace(/\$\{([^}]+)\}/g, (_m, k: string) => String(k in vars ? resolve(vars[k]) : (PSEUDO[k] ?? name(k))));
    }
    if ('Fn::Select' in o) {
      const [i, list] = o['Fn::Select'] as [number, unknown];
      const l = resolve(list);
      return Array.isArray(l) ? l[Number(i)] : l;
    }
    return Object.fromEntries(Object.entries(o).map(([k, x]) => [k, resolve(x)]));
  };
  return resolve;
}

/** IAM counts a policy's characters without whitespace (outside strings it has none once minified). */
function policyChars(doc: unknown): number {
  return JSON.stringify(doc).length;
}

export interface Sizes {
  readonly documents: Record<string, number>;
  readonly rolePolicies: Record<string, number>;
  readonly environments: Record<string, number>;
  readonly definitions: Record<string, number>;
}

/** Every limited size of a template, by logical id. */
export function measure(template: { Resources: Record<string, Resource> }, stackName?: string): Sizes {
  const resources = template.Resources;
  const resolve = longResolver(resources, stackName);
  const of = (type: string) => Object.entries(resources).filter(([, r]) => r.Type === type);
  const documents: Record<string, number> = {};
  for (const [id, r] of of('AWS::SSM::Document')) {
    const c = r.Properties!.Content;
    documents[id] = Buffer.byteLength(typeof c === 'string' ? c : JSON.stringify(resolve(c)), 'utf8');
  }
  const rolePolicies: Record<string, number> = {};
  for (const [id, r] of of('AWS::IAM::Role')) {
    let chars = 0;
    for (const p of (r.Properties!.Policies ?? []) as { PolicyName: unknown; PolicyDocument: unknown }[]) chars += policyChars(resolve(p.PolicyDocument));
    for (const [, p] of of('AWS::IAM::Policy')) {
      const roles = (p.Properties!.Roles ?? []) as unknown[];
      if (roles.some((x) => (x as Json)?.Ref === id)) chars += policyChars(resolve(p.Properties!.PolicyDocument));
    }
    rolePolicies[id] = chars;
  }
  const environments: Record<string, number> = {};
  for (const [id, r] of of('AWS::Lambda::Function')) {
    const vars = (r.Properties!.Environment as { Variables?: Json } | undefined)?.Variables ?? {};
    environments[id] = Buffer.byteLength(JSON.stringify(resolve(vars)), 'utf8');
  }
  const definitions: Record<string, number> = {};
  for (const [id, r] of of('AWS::StepFunctions::StateMachine')) {
    const d = r.Properties!.DefinitionString ?? r.Properties!.Definition;
    const text = resolve(d);
    definitions[id] = Buffer.byteLength(typeof text === 'string' ? text : JSON.stringify(text), 'utf8');
  }
  return { documents, rolePolicies, environments, definitions };
}

/** Each size above `share` of its limit, as `kind id: size / limit`. */
export function overShare(s: Sizes, share: number): string[] {
  const out: string[] = [];
  const check = (kind: string, sizes: Record<string, number>, limit: number) => {
    for (const [id, n] of Object.entries(sizes)) if (n > share * limit) out.push(`${kind} ${id}: ${n} / ${limit}`);
  };
  check('document', s.documents, LIMITS.documentBytes);
  check('role policies', s.rolePolicies, LIMITS.rolePolicyChars);
  check('environment', s.environments, LIMITS.environmentBytes);
  check('definition', s.definitions, LIMITS.definitionBytes);
  return out;
}
