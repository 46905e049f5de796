import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../../bin/cli';
import type { CliIo } from '../../bin/commands/io';
import { createRun, declarativePolicy, summary } from '../../bin/commands/org-policy';

const dir = mkdtempSync(join(tmpdir(), 'tsg-org-policy-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function io(env: Record<string, string> = {}) {
  const out: string[] = [];
  const err: string[] = [];
  const cli: CliIo = { out: (s) => out.push(s), err: (s) => err.push(s), readStdin: async () => '', env };
  return { cli, out, err };
}

/** A project folder with this cdk.json context (or none). */
function project(context?: Record<string, unknown>): string {
  const d = mkdtempSync(join(dir, 'app-'));
  if (context) writeFileSync(join(d, 'cdk.json'), JSON.stringify({ app: 'npx tsx bin/app.ts', context }));
  return d;
}

const run = (cwd: string, args: string[] = [], env: Record<string, string> = {}) => {
  const t = io(env);
  return createRun({ cwd: () => cwd })(args, t.cli).then((code) => ({ code, ...t, policy: t.out.length ? (JSON.parse(t.out.join('')) as Record<string, any>) : undefined })); // eslint-disable-line @typescript-eslint/no-explicit-any
};
const imd = (p: Record<string, any> | undefined) => p?.ec2_attributes?.instance_metadata_defaults; // eslint-disable-line @typescript-eslint/no-explicit-any

describe('timesync-guard org-policy', () => {
  it('prints the declarative policy of the defaults: hop limit 2, everything else no_preference', async () => {
    const r = await run(project());
    expect(r.code).toBe(0);
    expect(r.policy).toEqual({
      ec2_attributes: {
        instance_metadata_defaults: {
          http_tokens: { '@@assign': 'no_preference' },
          http_put_response_hop_limit: { '@@assign': '2' },
          http_endpoint: { '@@assign': 'no_preference' },
          instance_metadata_tags: { '@@assign': 'no_preference' },
        },
      },
    });
    expect(r.err).toEqual([]);
  });

  it('follows the app context: hopLimitTarget, enableMetadataEndpoint, imdsv2 enforce → tokens required', async () => {
    const r = await run(project({ hopLimitTarget: 3, enableMetadataEndpoint: true, imdsv2: 'enforce', '@aws-cdk/core:newStyleStackSynthesis': true }));
    expect(r.code).toBe(0);
    expect(imd(r.policy)).toEqual({
      http_tokens: { '@@assign': 'required' },
      http_put_response_hop_limit: { '@@assign': '3' },
      http_endpoint: { '@@assign': 'enabled' },
      instance_metadata_tags: { '@@assign': 'no_preference' },
    });
  });

  it('lets TSG_* variables override the context, and options override both', async () => {
    const cwd = project({ hopLimitTarget: 3, imdsv2: 'report' });
    expect(imd((await run(cwd, [], { TSG_HOP_LIMIT_TARGET: '4', TSG_IMDSV2: 'enforce' })).policy)).toMatchObject({
      http_put_response_hop_limit: { '@@assign': '4' },
      http_tokens: { '@@assign': 'required' },
    });
    const r = await run(cwd, ['--hop-limit-target=5', '--tokens', 'optional', '--exception-message', 'Ask cloud-platform@example.com'], { TSG_HOP_LIMIT_TARGET: '4' });
    expect(imd(r.policy)).toMatchObject({ http_put_response_hop_limit: { '@@assign': '5' }, http_tokens: { '@@assign': 'optional' } });
    expect(r.policy!.ec2_attributes.exception_message).toEqual({ '@@assign': 'Ask cloud-platform@example.com' });
  });

  it('reads another context file with --context', async () => {
    const f = join(dir, 'other.json');
    writeFileSync(f, JSON.stringify({ context: { hopLimitTarget: 6 } }));
    expect(imd((await run(project(), ['--context', f])).policy).http_put_response_hop_limit).toEqual({ '@@assign': '6' });
  });

  it.each`
    name                               | context                       | args                              | message
    ${'a hop limit below 2'}           | ${{ hopLimitTarget: 1 }}      | ${[]}                             | ${/hopLimitTarget/}
    ${'a bad imdsv2 value'}            | ${{ imdsv2: 'yes' }}          | ${[]}                             | ${/imdsv2: expected one of off, report, enforce/}
    ${'a bad --tokens'}                | ${{}}                         | ${['--tokens', 'maybe']}          | ${/--tokens: expected one of required, optional, no_preference/}
    ${'a --hop-limit-target over 64'}  | ${{}}                         | ${['--hop-limit-target', '65']}   | ${/--hop-limit-target/}
    ${'an unknown option'}             | ${{}}                         | ${['--region', 'x']}              | ${/unknown option "--region"/}
    ${'a missing --context file'}      | ${{}}                         | ${['--context', 'nope.json']}     | ${/no such file/}
  `('refuses $name with exit 2 and prints nothing on stdout', async ({ context, args, message }) => {
    const r = await run(project(context), args);
    expect(r.code).toBe(2);
    expect(r.out).toEqual([]);
    expect(r.err.join('\n')).toMatch(message);
  });

  it('refuses a context file that is not JSON', async () => {
    const d = project();
    writeFileSync(join(d, 'cdk.json'), '{ not json');
    const r = await run(d);
    expect(r.code).toBe(2);
    expect(r.err.join('')).toMatch(/not JSON/);
  });

  it('prints its usage on --help, naming the four attributes', async () => {
    const t = io();
    expect(await createRun({ cwd: () => project() })(['--help'], t.cli)).toBe(0);
    for (const a of ['http_tokens', 'http_put_response_hop_limit', 'http_endpoint', 'instance_metadata_tags', 'NEW launches only']) expect(t.out.join('')).toContain(a);
  });

  it('is registered in the dispatcher with the summary its module exports', async () => {
    const t = io();
    expect(await main(['--help'], t.cli)).toBe(0);
    expect(t.out.join('')).toContain(`${'org-policy'.padEnd(20)} ${summary}`);
    const p = io();
    expect(await main(['org-policy', '--help'], p.cli)).toBe(0);
    expect(p.out.join('')).toContain('Usage: npx timesync-guard org-policy');
  });

  it('omits exception_message unless asked', () => {
    expect(declarativePolicy({ hopLimitTarget: 2, httpTokens: 'no_preference', httpEndpoint: 'no_preference' }).ec2_attributes).not.toHaveProperty('exception_message');
  });
});
