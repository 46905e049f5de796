/**
 * Every construct prop carries TSDoc with `@default` — including the props derived from the settings
 * schema, whose documentation is the TSDoc on their schema row. Read with the TypeScript compiler, as
 * an IDE shows it to a user, so a row without its TSDoc (or with a `@default` that is not the row's
 * default) fails here.
 */
import { join } from 'node:path';
import * as ts from 'typescript';
import { rows, type SettingRow } from '../../lambda/core/settings';

const file = join(__dirname, '..', '..', 'lib', 'time-sync-guard-props.ts');
const program = ts.createProgram([file], { strict: true, target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.CommonJS, skipLibCheck: true, noEmit: true });
const checker = program.getTypeChecker();
const source = program.getSourceFile(file)!;
const decl = source.statements.find((s): s is ts.InterfaceDeclaration => ts.isInterfaceDeclaration(s) && s.name.text === 'TimeSyncGuardProps')!;
const props = checker.getTypeAtLocation(decl.name).getProperties();
const docOf = (p: ts.Symbol) => ({
  // A renamed prop's summary is its @deprecated text (which names the replacement).
  summary: (ts.displayPartsToString(p.getDocumentationComment(checker)) || p.getJsDocTags(checker).filter((t) => t.name === 'deprecated').map((t) => ts.displayPartsToString(t.text)).join(' ')).trim(),
  defaults: p.getJsDocTags(checker).filter((t) => t.name === 'default').map((t) => ts.displayPartsToString(t.text).trim()),
});

/** How a row's default is written in TSDoc. */
function written(row: SettingRow): string | undefined {
  if (!('default' in row) || row.default === undefined) return undefined;
  return typeof row.default === 'string' ? `'${row.default}'` : String(row.default);
}

describe('TimeSyncGuardProps documentation', () => {
  it('has the props it should, derived ones included', () => {
    expect(props.length).toBeGreaterThanOrEqual(40);
    expect(props.map((p) => p.name)).toEqual(expect.arrayContaining(['dryRun', 'alarmEmails', 'hopLimitScope', 'timeZone', 'logRetention']));
  });

  it.each(props.map((p) => [p.name, p] as const))('documents %s with a summary and one @default', (_name, p) => {
    const d = docOf(p);
    expect(d.summary.length).toBeGreaterThan(10);
    expect(d.defaults).toHaveLength(1);
  });

  /** Props whose declaration is their schema row (the rest carry a CDK type and say its default in CDK terms). */
  const derived = props.filter((p) => p.declarations?.some((d) => d.getSourceFile().fileName.endsWith('settings/schema.ts')));

  it('derives most props from the schema rows', () => {
    expect(derived.length).toBeGreaterThanOrEqual(30);
  });

  it.each(rows().filter((r) => written(r) !== undefined && derived.some((p) => p.name === r.key)).map((r) => [r.key, r] as const))(
    "states %s's schema default as its @default",
    (key, row) => {
      expect(docOf(props.find((p) => p.name === key)!).defaults[0]).toBe(written(row));
    },
  );
});
