/**
 * The EC2 query protocol, server side, driven by the SDK's own schemas (`@aws-sdk/client-ec2`
 * exports `<Operation>Request$` / `<Operation>Result$`): a form-encoded request body becomes the
 * operation's input object, an output object becomes the XML body EC2 sends. Names come from the
 * model's `ec2QueryName` / `xmlName` traits, so a field the model does not have is not sent — and
 * the round-trip tests (test/bench/wire.test.ts) then see it missing on the client side.
 */
import * as ec2Model from '@aws-sdk/client-ec2';

// Smithy schema arrays: struct [3, ns, name, traits, memberNames, memberSchemas], list [1, ns, name, traits, member],
// map [2, …]; a member is a schema or [schema, memberTraits]; a schema may be a thunk; primitives are numbers
// (1 numeric, 2 boolean, 4–7 timestamps; | 64 = list of that primitive).
type Schema = unknown;
type Traits = Record<string, unknown>;

const EC2_XMLNS = 'http://ec2.amazonaws.com/doc/2016-11-15/';

function member(m: unknown): { schema: Schema; traits: Traits } {
  if (Array.isArray(m) && m.length === 2 && (typeof m[0] === 'function' || typeof m[0] === 'number') && m[1] !== null && typeof m[1] === 'object' && !Array.isArray(m[1])) {
    return { schema: deref(m[0]), traits: m[1] as Traits };
  }
  return { schema: deref(m), traits: {} };
}

function deref(s: unknown): Schema {
  return typeof s === 'function' ? (s as () => Schema)() : s;
}

const ucfirst = (s: string): string => s.charAt(0).toUpperCase() + s.slice(1);
const lcfirst = (s: string): string => s.charAt(0).toLowerCase() + s.slice(1);
const kind = (s: Schema): 'struct' | 'list' | 'map' | 'primitive' => (Array.isArray(s) ? (s[0] === 3 ? 'struct' : s[0] === 1 ? 'list' : s[0] === 2 ? 'map' : 'primitive') : 'primitive');

/** The schema of an operation's input or output (`DescribeInstancesRequest$`), or a clear error. */
export function ec2Schema(name: string): Schema {
  const s = (ec2Model as unknown as Record<string, Schema>)[`${name}$`];
  if (!Array.isArray(s)) throw new Error(`@aws-sdk/client-ec2 has no schema ${name}$`);
  return s;
}

type Tree = string | { [k: string]: Tree };

/** `a.1.B=x&a.1.C.1=y` → nested objects (list indexes stay keys). */
export function parseForm(body: string): Record<string, Tree> {
  const root: Record<string, Tree> = {};
  for (const [key, value] of new URLSearchParams(body)) {
    const parts = key.split('.');
    let node = root as Record<string, Tree>;
    parts.forEach((p, k) => {
      if (k === parts.length - 1) node[p] = value;
      else node = (node[p] ??= {}) as Record<string, Tree>;
    });
  }
  return root;
}

function fromTree(schema: Schema, node: Tree): unknown {
  if (typeof schema === 'number' && schema & 64) return listFrom(schema & ~64, node);
  switch (kind(schema)) {
    case 'struct': {
      const s = schema as unknown[];
      const names = s[4] as string[];
      const members = s[5] as unknown[];
      const out: Record<string, unknown> = {};
      if (typeof node !== 'object') throw new Error(`expected a structure for ${String(s[2])}`);
      names.forEach((name, i) => {
        const { schema: ms, traits } = member(members[i]);
        const key = (traits['ec2QueryName'] as string | undefined) ?? (traits['xmlName'] ? ucfirst(traits['xmlName'] as string) : ucfirst(name));
        if (node[key] !== undefined) out[name] = fromTree(ms, node[key]!);
      });
      return out;
    }
    case 'list':
      return listFrom(member((schema as unknown[])[4]).schema, node);
    case 'map':
      throw new Error('maps are not used by the simulated EC2 operations');
    default: {
      if (typeof node !== 'string') throw new Error('expected a value');
      if (schema === 1) return Number(node);
      if (schema === 2) return node === 'true';
      return node;
    }
  }
}

function listFrom(itemSchema: Schema, node: Tree): unknown[] {
  if (typeof node !== 'object') throw new Error('expected a list');
  return Object.keys(node)
    .map(Number)
    .sort((a, b) => a - b)
    .map((k) => fromTree(itemSchema, node[String(k)]!));
}

/** A form-encoded EC2 request → `{ action, input }` (input shaped like the SDK's `…CommandInput`). */
export function parseEc2Request(body: string): { action: string; input: Record<string, unknown> } {
  const tree = parseForm(body);
  const action = tree['Action'];
  if (typeof action !== 'string') throw new Error('EC2 request without Action');
  return { action, input: fromTree(ec2Schema(`${action}Request`), tree) as Record<string, unknown> };
}

const escapeXml = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

function toXml(schema: Schema, value: unknown): string {
  if (value === undefined || value === null) return '';
  if (typeof schema === 'number' && schema & 64) return (value as unknown[]).map((v) => `<item>${toXml(schema & ~64, v)}</item>`).join('');
  switch (kind(schema)) {
    case 'struct': {
      const s = schema as unknown[];
      const names = s[4] as string[];
      const members = s[5] as unknown[];
      const v = value as Record<string, unknown>;
      let out = '';
      names.forEach((name, i) => {
        if (v[name] === undefined || v[name] === null) return;
        const { schema: ms, traits } = member(members[i]);
        const tag = (traits['xmlName'] as string | undefined) ?? lcfirst(name);
        out += `<${tag}>${toXml(ms, v[name])}</${tag}>`;
      });
      return out;
    }
    case 'list': {
      const { schema: item, traits } = member((schema as unknown[])[4]);
      const tag = (traits['xmlName'] as string | undefined) ?? 'item';
      return (value as unknown[]).map((v) => `<${tag}>${toXml(item, v)}</${tag}>`).join('');
    }
    case 'map':
      throw new Error('maps are not used by the simulated EC2 operations');
    default:
      return escapeXml(value instanceof Date ? value.toISOString() : String(value));
  }
}

/** An operation's output object → the XML body EC2 answers with. */
export function ec2ResponseXml(action: string, output: unknown, requestId: string): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n<${action}Response xmlns="${EC2_XMLNS}"><requestId>${requestId}</requestId>${toXml(ec2Schema(`${action}Result`), output)}</${action}Response>`;
}

/** EC2's error body. */
export function ec2ErrorXml(code: string, message: string, requestId: string): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error><Code>${escapeXml(code)}</Code><Message>${escapeXml(message)}</Message></Error></Errors><RequestID>${requestId}</RequestID></Response>`;
}
