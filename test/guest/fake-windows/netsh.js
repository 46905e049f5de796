#!/usr/bin/env node
/*
 * Test stand-in for netsh.exe (never shipped): `winhttp show proxy` prints the WinHTTP proxy of the
 * fake Windows state ($TSG_FAKE_STATE, world.winhttpProxy; direct access when unset) and records
 * every call, so a test can see that nothing but that read ran.
 */
/* global require, process */
/* eslint-disable @typescript-eslint/no-require-imports -- a plain Node script run as an executable, not a module */
'use strict';
const fs = require('node:fs');

const statePath = process.env.TSG_FAKE_STATE;
const state = JSON.parse(fs.readFileSync(statePath, 'utf8'));
const args = process.argv.slice(2).map((a) => a.toLowerCase());
state.netshCalls = [...(state.netshCalls ?? []), args.join(' ')];
fs.writeFileSync(statePath, JSON.stringify(state, null, 1));
if (args.join(' ') !== 'winhttp show proxy') {
  process.stdout.write('The following command was not found.\r\n');
  process.exit(1);
}
const p = (state.world || {}).winhttpProxy;
const body = p
  ? `    Proxy Server(s) :  ${p}\r\n    Bypass List     :  (none)\r\n`
  : '    Direct access (no proxy server).\r\n';
process.stdout.write(`\r\nCurrent WinHTTP proxy settings:\r\n\r\n${body}\r\n`);
