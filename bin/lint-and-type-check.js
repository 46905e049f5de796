#!/usr/bin/env node
/**
 * `npm run build` (tsc --noEmit) and `npm run lint` (eslint .) in one process, as CI runs them: both
 * build the same TypeScript program from tsconfig.json (eslint.config.mjs's typed rules through
 * typescript-eslint's project service), and on the 2-core CI machines the second build is a minute
 * of CPU taken from the tests running alongside. Here the program is built once: its diagnostics are
 * tsc's, and ESLint (the repository's own config) gets it through `parserOptions.programs`.
 * Exit 1 on any type error or lint error, as either command would.
 */
'use strict';
const { join } = require('node:path');
const ts = require('typescript');

const ROOT = join(__dirname, '..');

async function main() {
  const configPath = join(ROOT, 'tsconfig.json');
  const read = ts.readConfigFile(configPath, ts.sys.readFile);
  if (read.error) throw new Error(ts.flattenDiagnosticMessageText(read.error.messageText, '\n'));
  const parsed = ts.parseJsonConfigFileContent(read.config, ts.sys, ROOT, undefined, configPath);
  const program = ts.createProgram({ rootNames: parsed.fileNames, options: parsed.options, projectReferences: parsed.projectReferences });
  const diagnostics = [...parsed.errors, ...ts.getPreEmitDiagnostics(program)];
  const host = { getCanonicalFileName: (f) => f, getCurrentDirectory: () => ROOT, getNewLine: () => '\n' };
  const format = process.stdout.isTTY ? ts.formatDiagnosticsWithColorAndContext : ts.formatDiagnostics;
  if (diagnostics.length > 0) process.stdout.write(format(diagnostics, host));
  process.stdout.write(`type-check: ${diagnostics.length} error(s) in ${parsed.fileNames.length} files\n`);

  const { ESLint } = require('eslint');
  const eslint = new ESLint({
    cwd: ROOT,
    // The config's own rules and files; only where the typed rules get their program from changes.
    overrideConfig: { files: ['**/*.ts'], languageOptions: { parserOptions: { projectService: false, programs: [program] } } },
  });
  const results = await eslint.lintFiles(['.']);
  const formatter = await eslint.loadFormatter('stylish');
  const text = await formatter.format(results);
  if (text) process.stdout.write(text);
  const lintErrors = results.reduce((n, r) => n + r.errorCount + r.fatalErrorCount, 0);
  process.stdout.write(`lint: ${lintErrors} error(s) in ${results.length} files\n`);
  return diagnostics.length === 0 && lintErrors === 0 ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (err) => {
    process.stderr.write(`${err.stack ?? err}\n`);
    process.exit(1);
  },
);
