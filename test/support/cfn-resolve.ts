/**
 * CloudFormation intrinsics of a synthesized template resolved to concrete values in one account
 * and region, for the IAM tests that feed @cloud-copilot/iam-simulate.
 */
export const ACCOUNT = '111122223333';
export const REGION = 'eu-west-1';
type Json = Record<string, unknown>;

/** Ref / Fn::GetAtt / Fn::Join resolved to concrete ARNs for the resource types this file needs. */
export function resolver(resources: Record<string, Json>) {
  const arnOf = (id: string): string => {
    const type = String(resources[id]?.Type);
    if (type === 'AWS::IAM::Role') return `arn:aws:iam::${ACCOUNT}:role/${id}`;
    if (type === 'AWS::SQS::Queue') return `arn:aws:sqs:${REGION}:${ACCOUNT}:${id}`;
    if (type === 'AWS::Events::Rule') return `arn:aws:events:${REGION}:${ACCOUNT}:rule/${id}`;
    if (type === 'AWS::StepFunctions::StateMachine') return `arn:aws:states:${REGION}:${ACCOUNT}:stateMachine:${id}`;
    if (type === 'AWS::Lambda::Function') return `arn:aws:lambda:${REGION}:${ACCOUNT}:function:${id}`;
    return `arn:aws:${type.split('::')[1]!.toLowerCase()}:${REGION}:${ACCOUNT}:${id}`;
  };
  const pseudo: Record<string, string> = { 'AWS::Partition': 'aws', 'AWS::Region': REGION, 'AWS::AccountId': ACCOUNT, 'AWS::URLSuffix': 'amazonaws.com' };
  const resolve = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(resolve);
    if (v && typeof v === 'object') {
      const o = v as Json;
      if ('Ref' in o) {
        const id = String(o.Ref);
        if (pseudo[id]) return pseudo[id];
        const type = String(resources[id]?.Type);
        if (type === 'AWS::StepFunctions::StateMachine') return arnOf(id);
        if (type === 'AWS::SQS::Queue') return `https://sqs.${REGION}.amazonaws.com/${ACCOUNT}/${id}`;
        return id;
      }
      if ('Fn::GetAtt' in o) {
        const [id, attribute] = o['Fn::GetAtt'] as string[];
        // A state machine's Name is its logical id here, as its ARN's last part.
        if (attribute === 'Name' && String(resources[id!]?.Type) === 'AWS::StepFunctions::StateMachine') return id;
        return arnOf(id!);
      }
      if ('Fn::Join' in o) {
        const [sep, parts] = o['Fn::Join'] as [string, unknown[]];
        return parts.map(resolve).join(sep);
      }
      return Object.fromEntries(Object.entries(o).map(([k, x]) => [k, resolve(x)]));
    }
    return v;
  };
  return { resolve, arnOf };
}

