#!/usr/bin/env node
/*
 * Test stand-in for w32tm.exe (never shipped). Its answers follow the fake Windows state file
 * ($TSG_FAKE_STATE): the registry the PowerShell prelude writes, the W32Time service status and a
 * small "world" (which peers answer, clock too far off, output language, hang). Like the real
 * service, it reads its configuration only on `/config /update` or a service (re)start.
 */
/* global require, process, setInterval */
/* eslint-disable @typescript-eslint/no-require-imports -- a plain Node script run as an executable, not a module */
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const statePath = process.env.TSG_FAKE_STATE;
const state = JSON.parse(fs.readFileSync(statePath, 'utf8'));
const args = process.argv.slice(2).join(' ').toLowerCase();
const world = state.world || {};
const save = () => fs.writeFileSync(statePath, JSON.stringify(state, null, 1));
state.w32tmCalls = (state.w32tmCalls || 0) + 1;

// failCalls: full calls (`w32tm.exe /config /update`) that fail with access denied (0x80070005).
if ((state.failCalls ?? []).includes(`w32tm.exe ${args}`)) {
  save();
  process.stdout.write('The following error occurred: Access is denied. (0x80070005)\r\n');
  process.exit(5);
}

// hang: every call hangs; hangOn: only calls with exactly these arguments (e.g. '/resync').
if (world.hang || (world.hangOn ?? []).includes(args)) {
  fs.writeFileSync(`${statePath}.hang.pid`, String(process.pid));
  setInterval(() => {}, 1000);
  return;
}

const NOT_STARTED = 'The following error occurred: The service has not been started. (0x80070426)';
const running = (state.services?.w32time?.status ?? 'Stopped') === 'Running';
function fail(text, code) {
  save();
  process.stdout.write(`${text}\r\n`);
  process.exit(code);
}
// On Windows the exit code is the HRESULT (-2147023834); Linux keeps its low 8 bits.
if (!running) fail(NOT_STARTED, 0x80070426 & 0xff);

const PARAMS = 'hklm:\\system\\currentcontrolset\\services\\w32time';
function fromRegistry() {
  const reg = state.registry ?? {};
  const get = (key, name) => reg[`${PARAMS}${key}`]?.[name]?.value;
  const a = {
    NtpServer: get('\\parameters', 'NtpServer'),
    Type: get('\\parameters', 'Type'),
    SpecialPollInterval: get('\\timeproviders\\ntpclient', 'SpecialPollInterval'),
    UpdateInterval: get('\\config', 'UpdateInterval'),
    AnnounceFlags: get('\\config', 'AnnounceFlags'),
  };
  return Object.fromEntries(Object.entries(a).filter(([, v]) => v !== undefined && v !== null));
}
// The service read its configuration when it (re)started (the prelude marks that).
if (state.reloadOnNext || state.applied === undefined) {
  state.applied = fromRegistry();
  state.reloadOnNext = false;
}
const applied = state.applied;
const peers = String(applied.NtpServer ?? '')
  .split(/\s+/)
  .filter(Boolean)
  .map((p) => p.replace(/,(0x[0-9a-f]+|\d+)$/i, ''));

function resync() {
  if (world.tooFar) {
    state.lastSyncError = 3;
    return false;
  }
  const candidates = /^nt5ds$/i.test(applied.Type ?? '') ? [world.dc ?? 'dc01.corp.example.com'] : /^ntp$/i.test(applied.Type ?? '') ? peers : [];
  const peer = candidates.find((p) => (world.reachable ?? []).includes(p));
  if (!peer) {
    state.lastSyncError = 1;
    return false;
  }
  state.synced = { peer, at: Date.now() / 1000 };
  state.lastSyncError = 0;
  return true;
}

const hex = (ip) => ip.split('.').map((n) => Number(n).toString(16).padStart(2, '0')).join('').toUpperCase();

function view() {
  if (world.cmosLocl) {
    return { leap: 0, stratum: 1, refid: '4C4F434C', refText: '"LOCL"', source: 'Local CMOS Clock', poll: '6 (64s)', state: 1, err: 0, since: 30 };
  }
  const s = state.synced;
  if (!s) return { leap: 3, stratum: 0, refid: '00000000', refText: null, source: 'Local CMOS Clock', poll: '6 (64s)', state: 0, err: state.lastSyncError ?? 1, since: 10 };
  const ip = /^\d+\.\d+\.\d+\.\d+$/.test(s.peer) ? s.peer : s.peer.includes(':') ? null : (world.addresses ?? {})[s.peer] ?? '203.0.113.7';
  const entries = String(applied.NtpServer ?? '').split(/\s+/).filter(Boolean);
  // staleSuccess: the Source line already names the newly configured peer while the reference id
  // still is the old source's (the trap a text search for 169.254.169.123 falls into).
  const entry = world.staleSuccess && entries.length > 0 ? entries[0] : entries.find((e) => e.startsWith(`${s.peer},`));
  return {
    leap: 0,
    stratum: 4,
    refid: ip ? hex(ip) : '3B2A1C0D',
    refText: ip,
    source: entry ?? s.peer,
    poll: world.poll ?? '2 (4s)',
    state: 2,
    err: state.lastSyncError ?? 0,
    since: Math.max(0, Date.now() / 1000 - s.at) + (world.ageSeconds ?? 0),
  };
}

function status(verbose) {
  const v = view();
  const lang = world.lang ?? 'en';
  const tpl = fs
    .readFileSync(path.join(process.env.TSG_FAKE_FIXTURES, `w32tm_labels_status-verbose-amazon-${lang}.txt`), 'utf8')
    .split('\n')
    .filter((l) => !l.startsWith('# source:'));
  let pos = -1;
  const out = [];
  for (const line of tpl) {
    const m = /^([^:：]+?\s*[:：]\s*)(.*)$/.exec(line);
    if (!m) {
      out.push(line);
      continue;
    }
    pos++;
    if (!verbose && pos >= 9) break;
    const [, label, value] = m;
    const num = (n) => value.replace(/^-?\d+/, String(n));
    const sec = (n) => value.replace(/^-?[\d.]+s/, `${n.toFixed(7)}s`);
    const rendered = [
      () => num(v.leap),
      () => num(v.stratum),
      () => value,
      () => value,
      () => value,
      () => (v.refText === null ? `0x${v.refid} (unspecified)` : value.replace(/0x[0-9A-F]{8}/, `0x${v.refid}`).replace(/\d+\.\d+\.\d+\.\d+|"LOCL"/, v.refText)),
      () => value,
      () => v.source,
      () => v.poll,
      () => sec(world.phaseOffset ?? 0.0001024),
      () => value,
      () => num(v.state),
      () => value,
      () => value,
      () => num(v.err),
      () => sec(v.since),
    ][pos]();
    out.push(`${label}${rendered}`);
  }
  return out.join('\r\n');
}

let code = 0;
let text = '';
if (args.startsWith('/query /status')) {
  text = status(args.includes('/verbose'));
} else if (args.startsWith('/query /source')) {
  text = view().source;
} else if (args.startsWith('/query /configuration')) {
  text = ['[Configuration]', '', ...Object.entries(applied).map(([k, v]) => `${k}: ${v} (Local)`)].join('\r\n');
} else if (args.startsWith('/config') && args.includes('/update')) {
  state.applied = fromRegistry();
} else if (args.startsWith('/resync')) {
  // staleSuccess: /resync exits 0 without a new sample.
  const ok = resync() || Boolean(world.staleSuccess);
  if (!args.includes('/nowait') && !ok) {
    code = 1;
    text = state.lastSyncError === 3 ? 'The computer did not resync because the required time change was too big.' : 'The computer did not resync because no time data was available.';
  } else text = 'Sending resync command to local computer\r\nThe command completed successfully.';
} else {
  code = 87;
  text = `The parameter is incorrect. (${args})`;
}
save();
process.stdout.write(`${text}\r\n`);
process.exit(code);
