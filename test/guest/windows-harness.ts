/**
 * A fake Windows for running the real guest PowerShell scripts under pwsh on Linux: a temp
 * SystemRoot whose System32/w32tm.exe and sc.exe are the stand-ins in fake-windows/, a prelude of
 * cmdlet stand-ins (fake-windows/prelude.ps1) and a JSON state file both read and write.
 * Test code only: nothing here is shipped.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { runAsync } from '../support/run-async';

export const INSTALL_PWSH = 'dotnet tool install --global PowerShell --version 7.6.9 (then add ~/.dotnet/tools to PATH)';

/** pwsh on PATH or where `dotnet tool install --global` puts it (~/.dotnet/tools). */
function findPwsh(): string | null {
  const dirs = [...(process.env.PATH ?? '').split(delimiter), join(homedir(), '.dotnet', 'tools')];
  for (const d of dirs) {
    if (d !== '' && existsSync(join(d, 'pwsh'))) return join(d, 'pwsh');
  }
  return null;
}

/** The pwsh binary, or null where it is not installed. */
export const PWSH = findPwsh();

/**
 * Registers the suite, or where pwsh is absent one skipped test whose title says how to install
 * it; with CI=true a missing pwsh is a failing test instead.
 */
export function describeWithPwsh(name: string, body: () => void): void {
  if (PWSH !== null) {
    describe(name, body);
  } else if (process.env.CI === 'true') {
    describe(name, () => {
      it('has pwsh (required in CI)', () => {
        throw new Error(`pwsh not found; install it: ${INSTALL_PWSH}`);
      });
    });
  } else {
    // Also on stderr: a run over many files lists no skipped titles, only their count.
    process.stderr.write(`SKIPPED ${name}: pwsh not found; install: ${INSTALL_PWSH}\n`);
    describe(name, () => {
      it.skip(`SKIPPED: pwsh not found; install: ${INSTALL_PWSH}`, () => undefined);
    });
  }
}

const ROOT = join(__dirname, '..', '..');
export const GUEST = join(ROOT, 'lambda', 'guest');
const FAKE = join(__dirname, 'fake-windows');

export const SVC = 'hklm:\\system\\currentcontrolset\\services\\w32time';
export const POLICY = 'hklm:\\software\\policies\\microsoft\\w32time';

type RegValue = { value: string | number | number[]; kind: 'String' | 'ExpandString' | 'DWord' | 'Binary' };

/** Where the SCM keeps a service's triggers, one subkey per trigger (\\0, \\1, ...). */
export const TRIGGERS = `${SVC}\\triggerinfo`;

/** System.Guid.ToByteArray order, as the SCM stores a trigger's subtype GUID (REG_BINARY). */
function guidBytes(g: string): number[] {
  const b = (g.replace(/-/g, '').match(/../g) ?? []).map((x) => parseInt(x, 16));
  return [b[3]!, b[2]!, b[1]!, b[0]!, b[5]!, b[4]!, b[7]!, b[6]!, ...b.slice(8)];
}

/** One TriggerInfo subkey: action 1 start / 2 stop, trigger type, subtype GUID. */
export function trigger(action: 1 | 2, type: number, guid: string): Record<string, RegValue> {
  return { Action: { value: action, kind: 'DWord' }, Type: { value: type, kind: 'DWord' }, Guid: { value: guidBytes(guid), kind: 'Binary' } };
}

/** What `sc.exe triggerinfo w32time start/networkon stop/networkoff` leaves (AWS's AMIs). */
export function networkTriggers(): Record<string, Record<string, RegValue>> {
  return { [`${TRIGGERS}\\0`]: trigger(1, 2, '4f27f2de-14e2-430b-a549-7cd48cbc8245'), [`${TRIGGERS}\\1`]: trigger(2, 2, 'cc4ba62a-162e-4648-847a-b6bdf993e335') };
}

/** Stock W32Time on a workgroup server: start when domain joined, stop when not (trigger type 3). */
export function domainJoinTriggers(): Record<string, Record<string, RegValue>> {
  return { [`${TRIGGERS}\\0`]: trigger(1, 3, '1ce20aba-9851-4421-9430-1ddeb766e809'), [`${TRIGGERS}\\1`]: trigger(2, 3, 'ddaf516e-58c2-4866-9574-c3b615d42ea1') };
}
export interface FakeState {
  registry: Record<string, Record<string, RegValue>>;
  /** stuckStarting: sc.exe start is accepted and the service stays StartPending. */
  services: Record<
    string,
    {
      status: 'Running' | 'Stopped' | 'StartPending';
      /** The SCM's live start type; set at "boot" from the registry's Start value (see {@link fakeWindows}), then only by `sc.exe config`. */
      startType?: 'auto' | 'demand' | 'disabled';
      startFails?: boolean;
      stuckStarting?: boolean;
    }
  >;
  computer: { DomainRole: number; PartOfDomain: boolean };
  world: {
    reachable?: string[];
    addresses?: Record<string, string>;
    lang?: 'en' | 'de' | 'fr' | 'ja';
    hang?: boolean;
    /** Only w32tm calls with exactly these (lower-case) arguments hang, e.g. '/resync'. */
    hangOn?: string[];
    /** /resync exits 0 without a new sample, and the Source line names the configured peer while the reference id stays the old one. */
    staleSuccess?: boolean;
    /** The /status Poll Interval value (default `2 (4s)`, as on EC2 with `,0x9`). */
    poll?: string;
    tooFar?: boolean;
    cmosLocl?: boolean;
    dc?: string;
    ageSeconds?: number;
    /** sc.exe triggerinfo argument lists (after the service name) that fail with access denied. */
    scFails?: string[];
    scQueryFails?: boolean;
    /** Get-CimInstance Win32_Service fails (the start type cannot be read). */
    serviceQueryFails?: boolean;
    /** `sc.exe config` reports success and the SCM's start type stays as it was. */
    scConfigIgnored?: boolean;
    /** What `netsh winhttp show proxy` shows (direct access when unset). */
    winhttpProxy?: string;
  };
  synced?: { peer: string; at: number };
  failWrites?: string[];
  /** Whole stand-in calls that fail with access denied, e.g. `sc.exe start w32time`, `w32tm.exe /config /update`. */
  failCalls?: string[];
  /** Value names whose writes are accepted but not stored (a value that does not read back). */
  dropWrites?: string[];
  netshCalls?: string[];
  cimFails?: boolean;
  cimCalls: string[];
  writes?: number;
  restarts?: number;
  [k: string]: unknown;
}

/** A stand-alone Windows Server 2022 as Microsoft ships it: time.windows.com, weekly poll, trigger start. */
export function stockWindows(over: Partial<FakeState> = {}): FakeState {
  return {
    registry: {
      [`${SVC}\\parameters`]: { NtpServer: { value: 'time.windows.com,0x9', kind: 'String' }, Type: { value: 'NTP', kind: 'String' } },
      // InputProvider deliberately absent: a rollback must delete what it created.
      [`${SVC}\\timeproviders\\ntpclient`]: { Enabled: { value: 1, kind: 'DWord' }, SpecialPollInterval: { value: 604800, kind: 'DWord' } },
      [`${SVC}\\config`]: { UpdateInterval: { value: 360000, kind: 'DWord' }, MaxPosPhaseCorrection: { value: 54000, kind: 'DWord' }, MaxNegPhaseCorrection: { value: 54000, kind: 'DWord' } },
      [SVC]: { Start: { value: 3, kind: 'DWord' } },
      ...domainJoinTriggers(),
      'hklm:\\software\\microsoft\\windows nt\\currentversion': { CurrentBuildNumber: { value: '20348', kind: 'String' } },
    },
    services: { w32time: { status: 'Running' } },
    computer: { DomainRole: 2, PartOfDomain: false },
    world: { reachable: ['169.254.169.123', 'fd00:ec2::123', 'time.windows.com'], addresses: { 'time.windows.com': '20.101.57.9' }, lang: 'en' },
    synced: { peer: 'time.windows.com', at: Date.now() / 1000 - 300 },
    cimCalls: [],
    ...over,
  };
}

/** A host already configured as AWS's AMIs are, synced to 169.254.169.123. */
export function amazonWindows(over: Partial<FakeState> = {}): FakeState {
  const s = stockWindows(over);
  s.registry[`${SVC}\\parameters`] = { NtpServer: { value: '169.254.169.123,0x9', kind: 'String' }, Type: { value: 'NTP', kind: 'String' } };
  s.registry[`${SVC}\\timeproviders\\ntpclient`] = {
    Enabled: { value: 1, kind: 'DWord' },
    InputProvider: { value: 1, kind: 'DWord' },
    SpecialPollInterval: { value: 900, kind: 'DWord' },
  };
  s.registry[`${SVC}\\config`]!['UpdateInterval'] = { value: 120, kind: 'DWord' };
  s.registry[SVC] = { Start: { value: 2, kind: 'DWord' } };
  for (const k of Object.keys(s.registry)) if (k.startsWith(`${TRIGGERS}\\`)) delete s.registry[k];
  Object.assign(s.registry, networkTriggers());
  s.synced = over.synced ?? { peer: '169.254.169.123', at: Date.now() / 1000 - 300 };
  return s;
}

export interface FakeWindows {
  readonly dir: string;
  readonly statePath: string;
  state(): FakeState;
  /** Runs a guest script after the prelude; `args` becomes the `$TsgArgs` hashtable. */
  run(script: string, args?: Record<string, string>, timeoutMs?: number): { stdout: string; stderr: string; code: number | null; ms: number };
  /** Runs test PowerShell code after the prelude (for probing a guest script's functions one by one). */
  runCode(code: string, timeoutMs?: number): { stdout: string; stderr: string; code: number | null; ms: number };
  cleanup(): void;
}

export function fakeWindows(initial: FakeState): FakeWindows {
  const dir = mkdtempSync(join(tmpdir(), 'tsg-win-'));
  mkdirSync(join(dir, 'System32'));
  for (const [exe, js] of [
    ['w32tm.exe', 'w32tm.js'],
    ['sc.exe', 'sc.js'],
    ['netsh.exe', 'netsh.js'],
  ]) {
    const target = join(dir, 'System32', exe!);
    copyFileSync(join(FAKE, js!), target);
    chmodSync(target, 0o755);
  }
  const statePath = join(dir, 'state.json');
  // "Boot": the SCM loads W32Time's start type from the registry's Start value once; after that only
  // sc.exe config changes it (a later registry write waits for the next boot, as on Windows).
  const booted = structuredClone(initial);
  const w32time = booted.services['w32time'];
  if (w32time !== undefined && w32time.startType === undefined) {
    const start = booted.registry[SVC]?.['Start']?.value;
    w32time.startType = start === 2 ? 'auto' : start === 4 ? 'disabled' : 'demand';
  }
  writeFileSync(statePath, JSON.stringify(booted, null, 1));
  return {
    dir,
    statePath,
    state: () => JSON.parse(readFileSync(statePath, 'utf8')) as FakeState,
    run(script, args, timeoutMs = 90_000) {
      const table = Object.entries(args ?? {})
        .map(([k, v]) => `${k} = '${v.replace(/'/g, "''")}'`)
        .join('; ');
      return this.runCode([args ? `$TsgArgs = @{ ${table} }` : '', `& '${join(GUEST, script)}'`, 'exit $LASTEXITCODE'].join('\n'), timeoutMs);
    },
    runCode(code, timeoutMs = 90_000) {
      const wrapper = join(dir, `run-${Date.now()}.ps1`);
      writeFileSync(wrapper, [`. '${join(FAKE, 'prelude.ps1')}'`, code].join('\n'));
      const t0 = Date.now();
      const r = spawnSync(PWSH!, ['-NoProfile', '-NonInteractive', '-File', wrapper], {
        encoding: 'utf8',
        timeout: timeoutMs,
        env: { ...process.env, SystemRoot: dir, TSG_FAKE_STATE: statePath, TSG_FAKE_FIXTURES: join(ROOT, 'test', 'fixtures') },
      });
      return { stdout: r.stdout, stderr: r.stderr, code: r.status, ms: Date.now() - t0 };
    },
    cleanup() {
      const pidFile = `${statePath}.hang.pid`;
      if (existsSync(pidFile)) {
        try {
          process.kill(Number(readFileSync(pidFile, 'utf8')), 'SIGKILL');
        } catch {
          // already gone: what the probe timeout promises
        }
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface BatchRun {
  stdout: string;
  code: number | null;
  ms: number;
  /** The state the run left (read right after it, before any later run). */
  after: FakeState;
}

/** A run of {@link runBatch}: on a fresh fake Windows from `state`, or with `again` on the previous case's, as it was left. */
export type BatchCase = { state: FakeState; args?: Record<string, string> } | { again: true; args?: Record<string, string> };

/**
 * Splits case indexes into `processes` groups of about equal size, keeping each `again` case in the
 * group of the case it continues (it runs on that host, in that process).
 */
function groups(cases: readonly BatchCase[], processes: number): number[][] {
  const chains: number[][] = [];
  cases.forEach((c, i) => {
    if ('again' in c) chains[chains.length - 1]!.push(i);
    else chains.push([i]);
  });
  const out: number[][] = Array.from({ length: Math.max(1, Math.min(processes, chains.length)) }, () => []);
  for (const chain of [...chains].sort((a, b) => b.length - a.length)) {
    out.reduce((min, g) => (g.length < min.length ? g : min)).push(...chain);
  }
  return out.map((g) => g.sort((a, b) => a - b));
}

/**
 * Runs a guest script once per case, each against its own fresh fake Windows, one after another in
 * a pwsh process: the script runs as `& script` as in {@link FakeWindows.run} (its `exit` ends that
 * run, not the process), so only pwsh's start-up (seconds on a loaded machine) is shared. With
 * `processes` > 1 the cases are spread over that many pwsh processes running at once: the scripts
 * mostly wait (verification polls, service waits), so a file's wall time drops with little more CPU.
 * `stderr` is every process's.
 */
export async function runBatch(
  script: string,
  cases: readonly BatchCase[],
  { timeoutMs = 280_000, processes = 1 }: { timeoutMs?: number; processes?: number } = {},
): Promise<{ runs: BatchRun[]; stderr: string }> {
  if (cases.length > 0 && 'again' in cases[0]!) throw new Error('runBatch: the first case cannot run again');
  const fresh: FakeWindows[] = [];
  const fakes = cases.map((c) => {
    if (!('again' in c)) fresh.push(fakeWindows(c.state));
    return fresh[fresh.length - 1]!;
  });
  const root = mkdtempSync(join(tmpdir(), 'tsg-win-batch-'));
  const snapshot = (i: number) => join(root, `after-${i}.json`);
  try {
    const lit = (v: string) => `'${v.replace(/'/g, "''")}'`;
    const caseLines = (i: number) => {
      const table = Object.entries(cases[i]!.args ?? {})
        .map(([k, v]) => `${k} = ${lit(v)}`)
        .join('; ');
      return [
        `$env:SystemRoot = ${lit(fakes[i]!.dir)}; $env:TSG_FAKE_STATE = ${lit(fakes[i]!.statePath)}`,
        `$TsgArgs = @{ ${table} }`,
        `Write-Host 'TSG-TEST-BEGIN ${i}'; $t0 = [Diagnostics.Stopwatch]::StartNew(); $LASTEXITCODE = $null`,
        `& ${lit(join(GUEST, script))}`,
        // The code its own process would exit with (`exit $LASTEXITCODE` in FakeWindows.run): 0 where the script set none.
        `$code = if ($null -eq $LASTEXITCODE) { 0 } else { $LASTEXITCODE }`,
        `Write-Host "TSG-TEST-END ${i} code=$code ms=$($t0.ElapsedMilliseconds)"`,
        `[System.IO.File]::Copy(${lit(fakes[i]!.statePath)}, ${lit(snapshot(i))})`,
      ];
    };
    const env = { ...process.env, TSG_FAKE_FIXTURES: join(ROOT, 'test', 'fixtures') };
    const outputs = await Promise.all(
      groups(cases, processes).map(async (g, n) => {
        const wrapper = join(root, `batch-${n}.ps1`);
        writeFileSync(wrapper, [`. ${lit(join(FAKE, 'prelude.ps1'))}`, ...g.flatMap(caseLines)].join('\n'));
        return runAsync(PWSH!, ['-NoProfile', '-NonInteractive', '-File', wrapper], { env, timeoutMs });
      }),
    );
    const stdout = outputs.map((o) => o.stdout).join('\n');
    const runs = cases.map((_c, i) => {
      const m = new RegExp(`^TSG-TEST-BEGIN ${i}\\r?\\n([\\s\\S]*?)^TSG-TEST-END ${i} code=(-?\\d*) ms=(\\d+)`, 'm').exec(stdout);
      const after = existsSync(snapshot(i)) ? (JSON.parse(readFileSync(snapshot(i), 'utf8')) as FakeState) : fakes[i]!.state();
      return { stdout: m?.[1] ?? '', code: m !== null && m[2] !== '' ? Number(m[2]) : null, ms: m !== null ? Number(m[3]) : -1, after };
    });
    return { runs, stderr: outputs.map((o) => o.stderr).join('') };
  } finally {
    for (const f of fresh) f.cleanup();
    rmSync(root, { recursive: true, force: true });
  }
}

/**
 * A test of one or more runs of a script: the first on a fresh fake Windows from `state`, each
 * further one on the same host as the run before left it (`args` per run). `check` sees every run
 * (as `read` gives it) and the state it started from.
 */
export interface BatchScenario<R> {
  name: string;
  state: FakeState;
  runs?: readonly Record<string, string>[];
  check: (runs: R[], before: FakeState) => void;
}

/**
 * Registers one test per scenario; their runs go through {@link runBatch} (`processes` pwsh
 * processes), started before the first test, each run's arguments over `args`. A run that printed
 * to stderr fails the file's first test.
 */
export function batchTests<R>(
  script: string,
  scenarios: readonly BatchScenario<R>[],
  read: (r: BatchRun) => R,
  { args = {}, processes = 1 }: { args?: Record<string, string>; processes?: number } = {},
): void {
  const cases: BatchCase[] = [];
  const at: number[] = [];
  for (const s of scenarios) {
    at.push(cases.length);
    (s.runs ?? [{}]).forEach((own, k) => cases.push(k === 0 ? { state: s.state, args: { ...args, ...own } } : { again: true, args: { ...args, ...own } }));
  }
  let runs: R[] = [];
  let stderr = '';
  beforeAll(async () => {
    const batch = await runBatch(script, cases, { processes });
    runs = batch.runs.map(read);
    stderr = batch.stderr;
  });
  it('writes nothing to stderr in any of its runs', () => {
    expect(stderr).toBe('');
  });
  it.each(scenarios.map((s, i) => [s.name, i] as const))('%s', (_name, i) => {
    const s = scenarios[i]!;
    s.check(runs.slice(at[i], at[i]! + (s.runs ?? [{}]).length), s.state);
  });
}

/** A registry value of a state, or undefined. */
export function reg(s: FakeState, key: string, name: string): string | number | number[] | undefined {
  return s.registry[key]?.[name]?.value;
}
