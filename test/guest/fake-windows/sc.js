#!/usr/bin/env node
/*
 * Test stand-in for sc.exe (never shipped): `start|stop w32time`, `config w32time start= <type>`,
 * `qtriggerinfo w32time` and `triggerinfo w32time start/networkon stop/networkoff | delete` over the
 * fake Windows state file ($TSG_FAKE_STATE). Like the SCM, it keeps the triggers in the registry
 * subkeys Services\W32Time\TriggerInfo\<n> (Action, Type, Guid as REG_BINARY in
 * System.Guid.ToByteArray order), and the start type live in services.w32time.startType: loaded
 * from the registry's Start value at "boot" (when the harness creates the state), changed only by
 * `config`, which writes the registry copy too. A registry write to Start alone does not change
 * what `start` does, as on Windows.
 * state.failCalls: full calls (`sc.exe start w32time`) that fail with access denied.
 */
/* global require, process */
/* eslint-disable @typescript-eslint/no-require-imports -- a plain Node script run as an executable, not a module */
'use strict';
const fs = require('node:fs');

const statePath = process.env.TSG_FAKE_STATE;
const state = JSON.parse(fs.readFileSync(statePath, 'utf8'));
const args = process.argv.slice(2).map((a) => a.toLowerCase());
const world = state.world || {};
const TRIGGERS = 'hklm:\\system\\currentcontrolset\\services\\w32time\\triggerinfo';
state.scCalls = [...(state.scCalls ?? []), args.join(' ')];
const SVC_KEY = 'hklm:\\system\\currentcontrolset\\services\\w32time';
const START_VALUES = { auto: 2, demand: 3, disabled: 4 };

function done(text, code) {
  fs.writeFileSync(statePath, JSON.stringify(state, null, 1));
  process.stdout.write(`${text}\r\n`);
  process.exit(code);
}

function guidBytes(g) {
  const h = g.replace(/-/g, '');
  const b = h.match(/../g).map((x) => parseInt(x, 16));
  return [b[3], b[2], b[1], b[0], b[5], b[4], b[7], b[6], ...b.slice(8)];
}

function clear() {
  for (const k of Object.keys(state.registry)) if (k === TRIGGERS || k.startsWith(`${TRIGGERS}\\`)) delete state.registry[k];
}

const keys = () =>
  Object.keys(state.registry)
    .filter((k) => k.startsWith(`${TRIGGERS}\\`))
    .sort();

if ((state.failCalls ?? []).includes(`sc.exe ${args.join(' ')}`)) done('[SC] OpenService FAILED 5:\r\n\r\nAccess is denied.', 5);
if (args[1] !== 'w32time') done(`[SC] OpenService FAILED 1060:\r\n\r\nThe specified service does not exist as an installed service.`, 1060);
// start/stop: like the SCM, sc.exe exits with the Win32 error code (Linux keeps its low 8 bits). W32Time reads its registry
// configuration when it starts (w32tm.js reloads on reloadOnNext).
const svc = state.services?.w32time;
if (args[0] === 'start') {
  if (!svc) done('[SC] StartService: OpenService FAILED 1060', 1060);
  if (svc.status === 'Running') done('[SC] StartService FAILED 1056:\r\n\r\nAn instance of the service is already running.', 1056);
  if (svc.startType === 'disabled') done('[SC] StartService FAILED 1058:\r\n\r\nThe service cannot be started, either because it is disabled or because it has no enabled devices associated with it.', 1058);
  if (svc.startFails) done('[SC] StartService FAILED 1053:\r\n\r\nThe service did not respond to the start or control request in a timely fashion.', 1053);
  // stuckStarting: the SCM accepts the request and the service never leaves START_PENDING.
  if (svc.stuckStarting) {
    svc.status = 'StartPending';
    done('SERVICE_NAME: w32time\r\n        STATE              : 2  START_PENDING', 0);
  }
  svc.status = 'Running';
  state.reloadOnNext = true;
  state.restarts = (state.restarts ?? 0) + 1;
  done('SERVICE_NAME: w32time\r\n        STATE              : 2  START_PENDING', 0);
}
if (args[0] === 'stop') {
  if (!svc) done('[SC] OpenService FAILED 1060', 1060);
  if (svc.status === 'StartPending') done('[SC] ControlService FAILED 1061:\r\n\r\nThe service cannot accept control messages at this time.', 1061);
  if (svc.status !== 'Running') done('[SC] ControlService FAILED 1062:\r\n\r\nThe service has not been started.', 1062);
  svc.status = 'Stopped';
  done('SERVICE_NAME: w32time\r\n        STATE              : 3  STOP_PENDING', 0);
}
if (args[0] === 'config') {
  // `config w32time start= auto`: sc.exe takes the option name with its `=` and the value as two words.
  const type = args[2] === 'start=' ? args[3] : undefined;
  if (!svc || !(type in START_VALUES)) done('DESCRIPTION:\r\n        Modifies a service entry in the registry and Service Database.', 1639);
  state.writes = (state.writes ?? 0) + 1;
  // scConfigIgnored: sc.exe reports success and the SCM's start type stays as it was.
  if (!world.scConfigIgnored) {
    svc.startType = type;
    state.registry[SVC_KEY] = { ...(state.registry[SVC_KEY] ?? {}), Start: { value: START_VALUES[type], kind: 'DWord' } };
  }
  done('[SC] ChangeServiceConfig SUCCESS', 0);
}
if (args[0] === 'qtriggerinfo') {
  if (world.scQueryFails) done('[SC] OpenSCManager FAILED 5:\r\n\r\nAccess is denied.', 5);
  const lines = keys().map((k) => {
    const v = state.registry[k];
    return `        ${v.Action?.value === 1 ? 'START SERVICE' : 'STOP SERVICE'}\r\n          TYPE ${v.Type?.value} : ${JSON.stringify(v.Guid?.value)}`;
  });
  done(`[SC] QueryServiceConfig2 SUCCESS\r\n\r\nSERVICE_NAME: w32time\r\n\r\n${lines.join('\r\n')}`, 0);
}
if (args[0] === 'triggerinfo') {
  if ((world.scFails ?? []).includes(args.slice(2).join(' '))) done('[SC] ChangeServiceConfig2 FAILED 5:\r\n\r\nAccess is denied.', 5);
  state.writes = (state.writes ?? 0) + 1;
  if (args[2] === 'delete') {
    clear();
    done('[SC] ChangeServiceConfig2 SUCCESS', 0);
  }
  if (args.slice(2).join(' ') === 'start/networkon stop/networkoff') {
    clear();
    const entry = (action, guid) => ({ Action: { value: action, kind: 'DWord' }, Type: { value: 2, kind: 'DWord' }, Guid: { value: guidBytes(guid), kind: 'Binary' } });
    state.registry[`${TRIGGERS}\\0`] = entry(1, '4f27f2de-14e2-430b-a549-7cd48cbc8245');
    state.registry[`${TRIGGERS}\\1`] = entry(2, 'cc4ba62a-162e-4648-847a-b6bdf993e335');
    done('[SC] ChangeServiceConfig2 SUCCESS', 0);
  }
}
done(`DESCRIPTION:\r\n        Unsupported by the stand-in: ${args.join(' ')}`, 87);
