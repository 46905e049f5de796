/**
 * The construct's jsii surface (bin/jsii.ts, docs/library.md "jsii"): generated from the settings
 * rows, it compiles under jsii (the compiler of the Python/Java/.NET/Go bindings) with no error,
 * and API.md is what jsii-docgen renders from it now (a new setting or TSDoc change: `npm run jsii`).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildSurface, surfaceSource } from '../../bin/jsii';
import { propName, rows } from '../../lambda/core/settings';

describe('jsii surface', () => {
  it('has one prop per construct prop of the settings schema, plus alarmTopic and the VPC objects', () => {
    const source = surfaceSource();
    const props = [...source.matchAll(/^ {2}readonly (\w+)\?: /gm)].map((m) => m[1]);
    const expected = rows().flatMap((r) => propName(r.key) ?? []);
    expect(props.sort()).toEqual([...expected, 'alarmTopic', 'vpc', 'vpcSubnets', 'securityGroups'].sort());
    // jsii has no string-literal unions: enum rows are strings, validated by their row at construction.
    expect(source).toMatch(/readonly imdsv2\?: string;/);
  });

  it('compiles under jsii, and API.md is its jsii-docgen rendering (else run npm run jsii)', () => {
    const api = buildSurface();
    expect(api).toContain('### TimeSyncGuard ');
    expect(api === readFileSync(join(__dirname, '..', '..', 'API.md'), 'utf8')).toBe(true);
  }, 240_000);
});
