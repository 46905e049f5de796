/**
 * Doc generation depends on the benchmark (bin/docs.ts reads its figures), never the other way:
 * the benchmark refreshes the generated docs by running bin/docs.ts as a process
 * (bench/generated-docs.ts). A benchmark module may import a bin/ module only when that module
 * imports nothing of bench/ (bin/trim-source-map.js, the bundling step the benchmark repeats so that
 * it measures the deployed bundles), so no import cycle can form.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

function tsFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? tsFiles(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : []));
}

/** The bin/ modules a file imports, as files. */
function binImports(file: string): string[] {
  return [...readFileSync(file, 'utf8').matchAll(/from\s+'((?:\.\.\/)+bin\/[^']+)'/g)].map((m) => {
    const base = resolve(join(file, '..'), m[1]!);
    return ['.ts', '.js', ''].map((ext) => base + ext).find((f) => existsSync(f)) ?? base;
  });
}

describe('bench/ and bin/docs.ts', () => {
  const root = join(__dirname, '..', '..');

  it('no benchmark module imports a bin/ module that imports bench/ (bin/docs.ts imports bench/: one direction only)', () => {
    const offenders = tsFiles(join(root, 'bench')).flatMap((f) =>
      binImports(f)
        .filter((bin) => !existsSync(bin) || /(from\s+|require\()'(\.\.\/)+bench\//.test(readFileSync(bin, 'utf8')))
        .map((bin) => `${f} → ${bin}`),
    );
    expect(offenders).toEqual([]);
    expect(readFileSync(join(root, 'bin', 'docs.ts'), 'utf8')).toMatch(/from '\.\.\/bench\//);
  });

  it('bin/docs.ts is never imported by the benchmark', () => {
    const importers = tsFiles(join(root, 'bench')).filter((f) => binImports(f).some((b) => b.endsWith(join('bin', 'docs.ts'))));
    expect(importers).toEqual([]);
  });
});
