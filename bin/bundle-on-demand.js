#!/usr/bin/env node
// Bundles the on-demand modules a handler's bundle can load, each into a file of its own beside it:
// `node bin/bundle-on-demand.js BUNDLE_DIR [OPTIONS_BASE64]`.
//
// Why (issue 25, "cold load"): code in index.js is read and parsed at every start-up, whether it runs
// or not. The modules of lambda/aws/on-demand/ (SDK clients used only on the daily readiness refresh,
// on the urgent path, on failure paths) are loaded by lambda/aws/on-demand-loader.ts with a require
// esbuild leaves alone; this script writes what it requires: BUNDLE_DIR/on-demand/<name>.js (+ map,
// trimmed as the main map is). Which ones: the `"on-demand/<name>"` literals in the built index.js,
// so a bundle carries the modules its handler names, and a name without a module fails the build.
//
// Run by the construct's afterBundling hook (the options are the handler's own, base64 JSON so no
// shell quoting can bend them) and by the benchmark; plain CommonJS, like trim-source-map.js, so
// neither needs a TypeScript loader. The esbuild is the repository's own (node_modules), the one
// NodejsFunction bundles the handler with.
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const { trimSourceMapFile } = require('./trim-source-map');

/** Where the on-demand modules' sources are. */
const ON_DEMAND_SOURCES = path.join(__dirname, '..', 'lambda', 'aws', 'on-demand');

/** The on-demand module names a bundle's text names (sorted, unique). */
function onDemandNames(bundleText) {
  const names = new Set();
  for (const m of bundleText.matchAll(/["'`]on-demand\/([a-z0-9-]+)["'`]/g)) names.add(m[1]);
  return [...names].sort();
}

/**
 * Builds `dir/on-demand/<name>.js` for each module `dir/index.js` (or `main`) names, with the
 * handler's esbuild options; returns each one's name, file and esbuild metafile. Throws when a named module has no source, or when a
 * built module names another (its loader would look in the wrong directory).
 */
function bundleOnDemand(dir, options, main = 'index.js') {
  const text = fs.readFileSync(path.join(dir, main), 'utf8');
  const names = onDemandNames(text);
  if (names.length === 0) return [];
  const esbuild = require('esbuild');
  return names.map((name) => {
    const entry = path.join(ON_DEMAND_SOURCES, `${name}.ts`);
    if (!fs.existsSync(entry)) throw new Error(`${path.join(dir, main)} loads on-demand/${name}, which has no source (${entry})`);
    const outfile = path.join(dir, 'on-demand', `${name}.js`);
    const { metafile } = esbuild.buildSync({ ...options, entryPoints: [entry], bundle: true, outfile, metafile: true, logLevel: 'warning' });
    if (onDemandNames(fs.readFileSync(outfile, 'utf8')).length > 0) throw new Error(`on-demand/${name} loads another on-demand module: load it from the handler's code instead`);
    if (options.sourcemap) trimSourceMapFile(`${outfile}.map`);
    return { name, file: outfile, metafile };
  });
}

module.exports = { bundleOnDemand, onDemandNames, ON_DEMAND_SOURCES };

if (require.main === module) {
  const [dir, encoded] = process.argv.slice(2);
  if (!dir) {
    console.error('usage: bundle-on-demand.js BUNDLE_DIR [OPTIONS_BASE64]');
    process.exit(2);
  }
  const options = encoded ? JSON.parse(Buffer.from(encoded, 'base64').toString('utf8')) : {};
  try {
    bundleOnDemand(dir, options);
  } catch (err) {
    console.error(`bundle-on-demand: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  }
}
