/** lib/shipped-bundles.ts: the package deploys its prebuilt bundles; this repository bundles from source. */
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AssetCode } from 'aws-cdk-lib/aws-lambda';
import { bundleName, SHIPPED_BUNDLES_DIR, shippedCode } from '../../lib/shipped-bundles';

const dir = mkdtempSync(join(tmpdir(), 'tsg-bundles-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
mkdirSync(join(dir, 'check'));
writeFileSync(join(dir, 'check', 'index.js'), 'exports.handler = async () => ({});\n');

describe('shipped bundles', () => {
  it('are absent from source, so this repository bundles each handler from source', () => {
    expect(existsSync(SHIPPED_BUNDLES_DIR)).toBe(false);
    expect(shippedCode('check.ts')).toEqual({});
  });

  it('in the package, make NodejsFunction deploy the bundle as is (asset code, handler index.handler)', () => {
    const props = shippedCode('check.ts', dir);
    expect(props.code).toBeInstanceOf(AssetCode);
    expect((props.code as AssetCode).path).toBe(join(dir, 'check'));
    expect(props.handler).toBe('index.handler');
  });

  it('in the package, refuse a handler with no bundle instead of falling back to bundling', () => {
    expect(() => shippedCode('launch.ts', dir)).toThrow(`timesync-guard: the package has no prebuilt bundle for launch.ts (expected ${join(dir, 'launch', 'index.js')}): rebuild it with npm run package`);
  });

  it('are named after the handler file', () => {
    expect(bundleName('hub-item.ts')).toBe('hub-item');
  });
});
