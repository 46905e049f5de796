/**
 * Doc generation depends on the benchmark (bin/docs.ts reads its figures), never the other way:
 * the benchmark refreshes the generated docs by running bin/docs.ts as a process
 * (bench/generated-docs.ts), so no module of bench/ imports bin/.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

function tsFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? tsFiles(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : []));
}

describe('bench/ and bin/docs.ts', () => {
  it('no benchmark module imports bin/ (bin/docs.ts imports bench/: one direction only)', () => {
    const root = join(__dirname, '..', '..');
    const offenders = tsFiles(join(root, 'bench')).filter((f) => /from\s+'(\.\.\/)+bin\//.test(readFileSync(f, 'utf8')));
    expect(offenders).toEqual([]);
    expect(readFileSync(join(root, 'bin', 'docs.ts'), 'utf8')).toMatch(/from '\.\.\/bench\//);
  });
});
