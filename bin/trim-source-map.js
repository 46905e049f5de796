#!/usr/bin/env node
// Keeps a Lambda bundle's source map to the project's own code: `node bin/trim-source-map.js FILE.map`.
//
// Why: the functions run with --enable-source-maps (readable stack traces of our code in the logs),
// and Node parses the whole map when it loads the bundle. Nine tenths of a guard bundle's map is the
// SDK and Powertools (minified third-party code whose frames say little), and parsing it cost about a
// fifth of the check bundle's load time (bench/README.md "Cold load"). What is dropped maps nowhere
// (a column-only segment ends the previous mapping), so a third-party frame shows the bundle's own
// position, never a wrong line of ours.
//
// Plain CommonJS so NodejsFunction's afterBundling hook and the benchmark run it without a TypeScript
// loader; the types are in trim-source-map.d.ts.
'use strict';
const fs = require('node:fs');

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const B64_VALUE = new Map([...B64].map((c, i) => [c, i]));

/** Decodes one Base64 VLQ segment into its numbers; undefined when it is not valid VLQ. */
function decodeSegment(text) {
  const out = [];
  let value = 0;
  let shift = 0;
  for (const c of text) {
    const digit = B64_VALUE.get(c);
    if (digit === undefined) return undefined;
    value += (digit & 31) * 2 ** shift;
    if (digit & 32) {
      shift += 5;
      if (shift > 35) return undefined;
    } else {
      out.push(value % 2 === 1 ? -Math.floor(value / 2) : Math.floor(value / 2));
      value = 0;
      shift = 0;
    }
  }
  return shift === 0 ? out : undefined;
}

/** Encodes one number as Base64 VLQ. */
function encodeNumber(n) {
  let v = n < 0 ? -n * 2 + 1 : n * 2;
  let s = '';
  do {
    let digit = v % 32;
    v = Math.floor(v / 32);
    if (v > 0) digit |= 32;
    s += B64[digit];
  } while (v > 0);
  return s;
}

/** Whether a source path is the project's own code (not a dependency's). */
function isFirstParty(source) {
  return typeof source === 'string' && !/(^|[\\/])node_modules[\\/]/.test(source);
}

/**
 * A copy of a version-3 source map with only the mappings whose source `keep` accepts; `sources`,
 * `names` and the indices into them are renumbered, `sourcesContent` dropped. Throws on a map it
 * cannot read rather than writing a wrong one.
 */
function trimSourceMap(map, keep = isFirstParty) {
  if (!map || map.version !== 3 || typeof map.mappings !== 'string' || !Array.isArray(map.sources)) {
    throw new Error('not a version 3 source map');
  }
  const names = Array.isArray(map.names) ? map.names : [];
  const sourceIndex = new Map();
  const sources = [];
  map.sources.forEach((s, i) => {
    if (keep(s)) {
      sourceIndex.set(i, sources.length);
      sources.push(s);
    }
  });
  const nameIndex = new Map();
  const keptNames = [];
  // The four running values of the input and of the output (VLQ fields are deltas across lines).
  let src = 0, line = 0, col = 0, name = 0;
  let oSrc = 0, oLine = 0, oCol = 0, oName = 0;
  const lines = map.mappings.split(';').map((text, row) => {
    let gen = 0;
    let oGen = 0;
    let mapped = false;
    const segments = [];
    for (const seg of text === '' ? [] : text.split(',')) {
      const v = decodeSegment(seg);
      if (!v || (v.length !== 1 && v.length !== 4 && v.length !== 5)) throw new Error(`bad segment "${seg}" on generated line ${row + 1}`);
      gen += v[0];
      let kept = false;
      if (v.length >= 4) {
        src += v[1];
        line += v[2];
        col += v[3];
        if (v.length === 5) name += v[4];
        kept = sourceIndex.has(src);
      }
      if (kept) {
        const s = sourceIndex.get(src);
        let out = encodeNumber(gen - oGen) + encodeNumber(s - oSrc) + encodeNumber(line - oLine) + encodeNumber(col - oCol);
        oGen = gen;
        oSrc = s;
        oLine = line;
        oCol = col;
        if (v.length === 5) {
          if (!nameIndex.has(name)) {
            nameIndex.set(name, keptNames.length);
            keptNames.push(names[name]);
          }
          const n = nameIndex.get(name);
          out += encodeNumber(n - oName);
          oName = n;
        }
        segments.push(out);
        mapped = true;
      } else if (mapped) {
        // Ends the kept mapping before it: this stretch of generated code maps to nothing.
        segments.push(encodeNumber(gen - oGen));
        oGen = gen;
        mapped = false;
      }
    }
    return segments.join(',');
  });
  const { sourcesContent: _dropped, ...rest } = map;
  return { ...rest, sources, names: keptNames, mappings: lines.join(';') };
}

/** Trims a map file in place; returns the sizes before and after (bytes). */
function trimSourceMapFile(file) {
  const before = fs.readFileSync(file, 'utf8');
  const after = JSON.stringify(trimSourceMap(JSON.parse(before)));
  fs.writeFileSync(file, after);
  return { before: Buffer.byteLength(before), after: Buffer.byteLength(after) };
}

module.exports = { trimSourceMap, trimSourceMapFile, isFirstParty };

if (require.main === module) {
  const files = process.argv.slice(2);
  if (files.length === 0) {
    console.error('usage: trim-source-map.js FILE.map...');
    process.exit(2);
  }
  for (const f of files) trimSourceMapFile(f);
}
