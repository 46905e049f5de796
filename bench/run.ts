/**
 * `npm run bench`: the fleet-scale benchmark. For each N (default 1,000 and 10,000) it runs the
 * real check and remediation engines against the simulated account (one process per measurement,
 * see worker.ts), the polling peer, bundles the two Lambdas once, prices a month, prints a table
 * with PASS/MISS per target, writes bench/results.json and refreshes the figures in bench/README.md.
 *
 * Options: `--n 1000,10000`, `--ssm-rate RATE[,BURST]` (the simulated SSM request rate, A1),
 * `--no-bundle`, `--no-write` (print only). Only a default run (default sizes and model) rewrites
 * results.json and the README figures.
 */
import './env';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';
import { measureColdLoad } from './cold-load';
import { measureMemory } from './memory';
import { countAlarms, metricsMonthlyUSD, monthlyCost, PRICES, sfnTransitions, type MonthlyCost } from './cost';
import { DEFAULT_LATENCIES, DEFAULT_RUN_COMMAND_MODEL, SSM_BUCKET_ENV, ssmBucketFromEnv } from './sim/account';
import { perInstanceMetricsShape } from './peers';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const ROOT = join(__dirname, '..');
const LAMBDA_LIMIT_S = 900;
/** "Within one night": the remediation schedule's window (A13: 8 hours). */
const NIGHT_S = 8 * 3600;

interface Args {
  sizes: number[];
  bundle: boolean;
  write: boolean;
}

/** Whether results.json / README may be rewritten: only by a run with the default model. */
let defaultModel = true;

function parseArgs(argv: string[]): Args {
  const a: Args = { sizes: [1000, 10_000], bundle: true, write: true };
  for (let i = 0; i < argv.length; i++) {
    const v = argv[i];
    if (v === '--n') a.sizes = (argv[++i] ?? '').split(',').map(Number).filter((x) => Number.isInteger(x) && x > 0);
    else if (v === '--no-bundle') a.bundle = false;
    else if (v === '--no-write') a.write = false;
    else if (v === '--ssm-rate') {
      process.env[SSM_BUCKET_ENV] = argv[++i] ?? '';
      ssmBucketFromEnv(); // validates
      defaultModel = false;
    } else throw new Error(`unknown option ${v} (use --n 1000,10000 --ssm-rate RATE[,BURST] --no-bundle --no-write)`);
  }
  if (a.sizes.length === 0) throw new Error('--n needs at least one positive integer');
  return a;
}

/** Runs worker.ts in a fresh Node process (tsx loader) and returns its JSON (one key per mode). */
function worker(modes: string, n: number, dir: string): Record<string, Json> {
  const out = join(dir, `${modes.replace(/,/g, '-')}-${n}.json`);
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(__dirname, 'worker.ts'), modes, String(n), out], {
    cwd: ROOT,
    stdio: ['ignore', 'ignore', 'pipe'],
    encoding: 'utf8',
    env: process.env,
  });
  if (r.status !== 0) throw new Error(`worker ${modes} ${n} failed (exit ${r.status}): ${r.stderr.slice(-2000)}`);
  return JSON.parse(readFileSync(out, 'utf8')) as Record<string, Json>;
}

/** Bundles a handler as the stack does (NodejsFunction: minify, CJS, node target, all deps inside). */
async function bundleFigures(): Promise<Record<string, BundleFigures>> {
  const dir = mkdtempSync(join(tmpdir(), 'tsg-bench-bundle-'));
  const figures: Record<string, BundleFigures> = {};
  try {
    const baseline = median(Array.from({ length: 3 }, () => timeNode('0')));
    for (const name of ['check', 'remediate']) {
      const outfile = join(dir, `${name}.js`);
      await build({
        entryPoints: [join(ROOT, 'lambda', 'handlers', `${name}.ts`)],
        bundle: true,
        minify: true,
        platform: 'node',
        target: 'node22',
        format: 'cjs',
        sourcemap: true,
        sourcesContent: false,
        outfile,
        logLevel: 'silent',
      });
      const load = median(Array.from({ length: 3 }, () => timeNode(`require(${JSON.stringify(outfile)})`)));
      // RSS of a Node process with the bundle loaded: the Lambda's starting point before any work.
      const rss = spawnSync(process.execPath, ['-e', `require(${JSON.stringify(outfile)}); process.stdout.write(String(process.memoryUsage.rss()))`], {
        env: { ...process.env, NODE_OPTIONS: '' },
        encoding: 'utf8',
      });
      figures[name] = {
        bytes: statSync(outfile).size,
        sourceMapBytes: statSync(`${outfile}.map`).size,
        coldLoadMs: Math.max(0, Math.round(load - baseline)),
        loadedRssMB: r1(Number(rss.stdout) / 2 ** 20),
      };
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return figures;
}

/** One bundled Lambda. */
interface BundleFigures {
  bytes: number;
  sourceMapBytes: number;
  /** `node -e "require(bundle)"` minus a bare `node -e 0`, median of 3. */
  coldLoadMs: number;
  /** RSS of a Node process right after loading the bundle. */
  loadedRssMB: number;
}

function timeNode(code: string): number {
  const t = process.hrtime.bigint();
  const r = spawnSync(process.execPath, ['-e', code], { env: { ...process.env, NODE_OPTIONS: '' }, stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`node -e failed: ${r.stderr.slice(-500)}`);
  return Number(process.hrtime.bigint() - t) / 1e6;
}

function median(v: number[]): number {
  const s = [...v].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

const r1 = (v: number): number => Math.round(v * 10) / 10;
const r2 = (v: number): number => Math.round(v * 100) / 100;


interface Target {
  readonly n: number | 'all';
  readonly name: string;
  readonly value: string;
  readonly limit: string;
  readonly pass: boolean;
  readonly note?: string;
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const wall0 = Date.now();
  const dir = mkdtempSync(join(tmpdir(), 'tsg-bench-'));
  const alarms = await countAlarms(ROOT);
  const perN: Json[] = [];
  try {
    for (const n of args.sizes) {
      process.stderr.write(`bench: N=${n}…`);
      // The largest size gets the remediation in a process of its own, so both memory figures are its own;
      // smaller sizes share one process (their memory figure is then an upper bound).
      const own = n === Math.max(...args.sizes);
      const a = worker(own ? 'check,polling' : 'check,remediation,polling', n, dir);
      const b = own ? worker('remediation', n, dir) : a;
      process.stderr.write(' done\n');
      perN.push(assemble(n, a['check']!, b['remediation']!, a['polling']!, alarms.count));
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const bundles = args.bundle ? await bundleFigures() : undefined;
  if (bundles) {
    // The Lambda's peak ≈ its loaded bundle + what the run added. The run's growth is measured in the
    // benchmark process, so it also holds the simulator's growth (server-side state): an upper bound.
    for (const s of perN) {
      const c = s['check'] as Json;
      const r = s['remediation'] as Json;
      const est = Math.max(bundles['check']!.loadedRssMB + c['peakRssMB'] - c['startRssMB'], bundles['remediate']!.loadedRssMB + r['peakRssMB'] - r['startRssMB']);
      s['peakMemoryMB'] = r1(est);
      s['peakMemoryBasis'] = 'loaded bundle RSS + RSS growth of the run in the benchmark process (engine + simulator)';
    }
  }
  const targets = evaluateTargets(perN);
  // Measured in processes of their own with the deployed bundling and NODE_OPTIONS (cold-load.ts, memory.ts).
  const coldLoad = args.bundle ? await measureColdLoad() : undefined;
  const memory = args.bundle ? await measureMemory(args.sizes) : undefined;
  if (coldLoad) for (const [name, a] of Object.entries(coldLoad.assets)) targets.push({ n: 'all', name: `cold load ${name} ≤ 0.7× naive time, ≤ 0.8× RSS`, value: `${a.timeRatio}× / ${a.rssRatio}×`, limit: '0.7× / 0.8×', pass: a.pass });
  if (memory) targets.push({ n: 'all', name: 'measured peak RSS ≤ configured Lambda memory', value: `${String(memory['largestPeakRssMiB'])} MiB`, limit: `${String(memory['configuredMemoryMB'])} MB`, pass: memory['withinConfiguredMemory'] === true });
  const results = {
    generatedAt: new Date().toISOString(),
    node: process.version,
    model: {
      ssmBucket: ssmBucketFromEnv(),
      latenciesMs: DEFAULT_LATENCIES,
      runCommand: DEFAULT_RUN_COMMAND_MODEL,
      alarms,
      prices: PRICES,
    },
    sizes: perN,
    bundles,
    coldLoad,
    memory,
    targets,
    benchWallSeconds: r1((Date.now() - wall0) / 1000),
  };
  const table = render(perN, targets, bundles);
  process.stdout.write(table + `\nbench wall time: ${results.benchWallSeconds} s\n`);
  if (memory && memory['withinConfiguredMemory'] !== true) {
    process.stderr.write(`bench: a measured peak (${String(memory['largestPeakRssMiB'])} MiB) exceeds the configured Lambda memory\n`);
    process.exitCode = 1;
  }
  if (args.write && defaultModel && args.sizes.join(',') === '1000,10000') {
    writeFileSync(join(__dirname, 'results.json'), JSON.stringify(results, null, 2) + '\n');
    updateReadme(table);
    process.stdout.write('wrote bench/results.json and the figures in bench/README.md\n');
  }
}

function assemble(n: number, c: Json, r: Json, p: Json, alarms: number): Json {
  const checkMetrics = (c['distinctMetrics'] as string[]).length;
  const night = r['nextNight'] as Json;
  const remMetrics = (night['distinctMetrics'] as string[]).length;
  const hourlyCheck = { seconds: c['simulatedSeconds'], logBytes: c['logBytes'], invocations: 1 };
  const nightly = {
    seconds: night['simulatedSeconds'],
    logBytes: night['logBytes'],
    invocations: night['invocations'],
    auditEvents: night['auditEvents'],
    sfnTransitions: sfnTransitions(night['invocations']),
    snsPublishes: 1,
  };
  const ours: MonthlyCost = monthlyCost({ hourlyCheck, nightlyRemediation: nightly, checkMetrics, remediationMetrics: remMetrics, alarms });
  const pollingCost = monthlyCost({
    hourlyCheck: { ...hourlyCheck, seconds: p['simulatedSeconds'], invocations: Math.ceil(p['simulatedSeconds'] / LAMBDA_LIMIT_S) },
    nightlyRemediation: nightly,
    checkMetrics,
    remediationMetrics: remMetrics,
    alarms,
  });
  const pim = perInstanceMetricsShape(n);
  const perInstanceCost = monthlyCost({ hourlyCheck, nightlyRemediation: nightly, checkMetrics: pim.metrics, remediationMetrics: remMetrics, alarms: alarms + pim.alarms });
  const cb = c['callBounds'] as Json;
  const tb = c['timeBound'] as Json;
  const rtb = r['timeBound'] as Json;
  const peakRss = Math.max(c['peakRssMB'], r['peakRssMB']);
  return {
    n,
    fleet: c['shape'],
    check: {
      apiCalls: c['apiCallsTotal'],
      apiCallsLowerBound: cb['total'],
      apiCallsRatio: r2(c['apiCallsTotal'] / cb['total']),
      apiCallsByAction: c['apiCalls'],
      apiCallsLowerBoundByAction: cb,
      throttledByAction: c['throttled'],
      errorsByAction: c['errors'],
      simulatedSeconds: r1(c['simulatedSeconds']),
      simulatedSecondsLowerBound: r1(tb['seconds']),
      simulatedSecondsRatio: r2(c['simulatedSeconds'] / tb['seconds']),
      listThenRunBound: r1(tb['listThenRun']),
      listThenRunRatio: r2(c['simulatedSeconds'] / tb['listThenRun']),
      lowerBoundParts: tb,
      timeline: c['timeline'],
      lastInvocationEndSeconds: r1(c['lastInvocationEndSeconds']),
      cpuSeconds: r2(c['cpuSeconds']),
      peakRssMB: r1(c['peakRssMB']),
      peakHeapUsedMB: r1(c['peakHeapUsedMB']),
      startRssMB: r1(c['startRssMB']),
      logBytes: c['logBytes'],
      byCheckState: c['byCheckState'],
      counts: c['counts'],
    },
    remediation: {
      simulatedSeconds: r1(r['simulatedSeconds']),
      simulatedSecondsLowerBound: r1(rtb['seconds']),
      simulatedSecondsRatio: r2(r['simulatedSeconds'] / rtb['seconds']),
      checkThenActBound: r1(rtb['checkThenAct']),
      checkThenActRatio: r2(r['simulatedSeconds'] / rtb['checkThenAct']),
      lowerBoundParts: rtb,
      hopLimitChanges: r['hopLimitChangesNeeded'],
      hopLimitsAppliedSeconds: r1(r['hopLimitsAppliedSeconds']),
      hopLimitTargetSeconds: r1(1.1 * Math.max(0, (n - 100) / 5)),
      checkSeconds: r1(r['checkSeconds']),
      invocations: r['invocations'],
      maxContinuationChars: r['maxContinuationChars'],
      apiCalls: r['apiCallsTotal'],
      apiCallsByAction: r['apiCalls'],
      throttledByAction: r['throttled'],
      modifyCalls: r['modifyCalls'],
      instancesModified: r['instancesModified'],
      hopLimitsLowered: r['lowered'],
      auditEvents: r['auditEvents'],
      cpuSeconds: r2(r['cpuSeconds']),
      peakRssMB: r1(r['peakRssMB']),
      peakHeapUsedMB: r1(r['peakHeapUsedMB']),
      startRssMB: r1(r['startRssMB']),
      summaryCounts: (r['summary'] as Json)['counts'],
      nextNight: { ...night, distinctMetrics: remMetrics },
    },
    cpuSeconds: r2(c['cpuSeconds'] + r['cpuSeconds']),
    peakMemoryMB: r1(peakRss),
    peakMemoryBasis: 'RSS of the benchmark process (engine + simulator + tsx)',
    benchmarkProcessPeakRssMB: r1(peakRss),
    peakHeapUsedMB: r1(Math.max(c['peakHeapUsedMB'], r['peakHeapUsedMB'])),
    distinctMetrics: checkMetrics + remMetrics,
    distinctMetricNames: { check: c['distinctMetrics'], remediation: night['distinctMetrics'] },
    monthlyCostUSD: ours.total,
    monthlyCost: ours,
    peers: {
      perInstancePolling: {
        apiCalls: p['apiCallsTotal'],
        apiCallsByAction: p['apiCalls'],
        throttled: p['throttled'],
        simulatedSeconds: r1(p['simulatedSeconds']),
        pollsPerInstance: r2(p['pollsPerInstance']),
        exceedsLambdaTimeout: p['exceedsLambdaTimeout'],
        monthlyCostUSD: pollingCost.total,
        monthlyCost: pollingCost,
      },
      perInstanceMetrics: {
        apiCalls: c['apiCallsTotal'] + pim.putMetricDataCallsPerCheck,
        simulatedSeconds: r1(c['simulatedSeconds']),
        metrics: pim.metrics,
        alarms: alarms + pim.alarms,
        metricsUSD: r2(metricsMonthlyUSD(pim.metrics)),
        monthlyCostUSD: perInstanceCost.total,
        monthlyCost: perInstanceCost,
      },
    },
  };
}

function evaluateTargets(perN: Json[]): Target[] {
  const t: Target[] = [];
  for (const s of perN) {
    const n = s['n'] as number;
    const c = s['check'] as Json;
    const r = s['remediation'] as Json;
    t.push({ n, name: 'check API calls ≤ 1.1 × bound', value: `${c['apiCalls']} (${c['apiCallsRatio']}×)`, limit: `${r1(1.1 * c['apiCallsLowerBound'])}`, pass: c['apiCalls'] <= 1.1 * c['apiCallsLowerBound'] });
    t.push({
      n,
      name: 'check time ≤ 1.25 × bound',
      value: `${c['simulatedSeconds']} s (${c['simulatedSecondsRatio']}×)`,
      limit: `${r1(1.25 * c['simulatedSecondsLowerBound'])} s`,
      pass: c['simulatedSeconds'] <= 1.25 * c['simulatedSecondsLowerBound'],
      note: `${c['listThenRunRatio']}× the list-then-run bound of ${c['listThenRunBound']} s`,
    });
    t.push({ n, name: 'check time far inside the Lambda limit (≤ 50 %)', value: `${c['simulatedSeconds']} s`, limit: `${LAMBDA_LIMIT_S / 2} s`, pass: c['simulatedSeconds'] <= LAMBDA_LIMIT_S / 2 });
    if (n >= 10_000) {
      t.push({
        n,
        name: 'hop limits applied ≤ 1.1 × (N − 100)/5 s',
        value: `${r['hopLimitsAppliedSeconds']} s`,
        limit: `${r['hopLimitTargetSeconds']} s`,
        pass: r['hopLimitsAppliedSeconds'] <= r['hopLimitTargetSeconds'],
        note: 'from the run start (check included) to EC2 applying the last change',
      });
      t.push({ n, name: 'whole remediation within one night (8 h)', value: `${r['simulatedSeconds']} s`, limit: `${NIGHT_S} s`, pass: r['simulatedSeconds'] <= NIGHT_S && r['hopLimitsLowered'] === 0 });
      t.push({ n, name: 'peak memory ≤ 256 MB', value: `${s['peakMemoryMB']} MB (heap ${s['peakHeapUsedMB']} MB)`, limit: '256 MB', pass: s['peakMemoryMB'] <= 256, note: s['peakMemoryBasis'] });
      t.push({ n, name: 'monthly cost ≤ $6', value: `$${s['monthlyCostUSD']}`, limit: '$6', pass: s['monthlyCostUSD'] <= 6 });
    }
  }
  const sets = perN.map((s) => JSON.stringify((s['distinctMetricNames'] as Json)));
  t.push({ n: 'all', name: 'distinct metrics the same at every N', value: perN.map((s) => s['distinctMetrics']).join(' / '), limit: 'equal', pass: sets.every((x) => x === sets[0]) });
  return t;
}

function pad(s: string, w: number): string {
  return s.length >= w ? s : s + ' '.repeat(w - s.length);
}

function render(perN: Json[], targets: Target[], bundles?: Record<string, BundleFigures>): string {
  const lines: string[] = [];
  const row = (cells: string[], widths: number[]) => lines.push('| ' + cells.map((c, i) => pad(c, widths[i]!)).join(' | ') + ' |');
  const head = ['figure', ...perN.map((s) => `N = ${(s['n'] as number).toLocaleString('en-US')}`)];
  const w = [44, ...perN.map(() => 34)];
  row(head, w);
  lines.push('|' + w.map((x) => '-'.repeat(x + 2)).join('|') + '|');
  const f = (label: string, get: (s: Json) => string) => row([label, ...perN.map(get)], w);
  const actions = ['DescribeInstances', 'DescribeInstanceInformation', 'SendCommand', 'ListCommands', 'ListCommandInvocations', 'GetCommandInvocation'];
  for (const a of actions) {
    f(`check ${a} (bound)`, (s) => `${s['check']['apiCallsByAction'][a] ?? 0} (${s['check']['apiCallsLowerBoundByAction'][a]})${s['check']['throttledByAction'][a] ? `, ${s['check']['throttledByAction'][a]} throttled` : ''}`);
  }
  f('check API calls, total (bound, ratio)', (s) => `${s['check']['apiCalls']} (${s['check']['apiCallsLowerBound']}, ${s['check']['apiCallsRatio']}×)`);
  f('check simulated s (bound, ratio)', (s) => `${s['check']['simulatedSeconds']} (${s['check']['simulatedSecondsLowerBound']}, ${s['check']['simulatedSecondsRatio']}×)`);
  f('  list-then-run bound (ratio)', (s) => `${s['check']['listThenRunBound']} (${s['check']['listThenRunRatio']}×)`);
  f('  inventory / sends / last guest done, s', (s) => {
    const tl = s['check']['timeline'] as Record<string, [number, number]>;
    return `${tl['DescribeInstanceInformation']?.[1] ?? '-'} / ${tl['SendCommand']?.[0] ?? '-'}–${tl['SendCommand']?.[1] ?? '-'} / ${s['check']['lastInvocationEndSeconds']}`;
  });
  f('remediation simulated s (bound, ratio)', (s) => `${s['remediation']['simulatedSeconds']} (${s['remediation']['simulatedSecondsLowerBound']}, ${s['remediation']['simulatedSecondsRatio']}×)`);
  f('  check-then-act bound (ratio)', (s) => `${s['remediation']['checkThenActBound']} (${s['remediation']['checkThenActRatio']}×)`);
  f('  hop limits applied s (1.1×(N−100)/5)', (s) => `${s['remediation']['hopLimitsAppliedSeconds']} (${s['remediation']['hopLimitTargetSeconds']})`);
  f('  changes, Modify calls, lowered', (s) => `${s['remediation']['hopLimitChanges']}, ${s['remediation']['modifyCalls']}, ${s['remediation']['hopLimitsLowered']}`);
  f('  Lambda invocations, audit events', (s) => `${s['remediation']['invocations']}, ${s['remediation']['auditEvents']}`);
  f('  next night: s, calls, events', (s) => `${r1(s['remediation']['nextNight']['simulatedSeconds'])}, ${s['remediation']['nextNight']['apiCallsTotal']}, ${s['remediation']['nextNight']['auditEvents']}`);
  f('CPU s (check + remediation)', (s) => `${s['check']['cpuSeconds']} + ${s['remediation']['cpuSeconds']}`);
  f('peak memory MB: Lambda est. (bench RSS)', (s) => `${s['peakMemoryMB']} (${s['benchmarkProcessPeakRssMB']})`);
  f('distinct metrics (check + nightly)', (s) => `${s['distinctMetrics']}`);
  f('log bytes per check', (s) => `${s['check']['logBytes']}`);
  f('monthly $: metrics/alarms/logs/Lambda/other', (s) => {
    const m = s['monthlyCost'] as MonthlyCost;
    return `${m.metrics}/${m.alarms}/${m.logs}/${m.lambda}/${r2(m.stepFunctions + m.eventBridge + m.sns)}`;
  });
  f('monthly cost USD', (s) => `$${s['monthlyCostUSD']}`);
  f('peer: per-instance polling calls, s', (s) => `${s['peers']['perInstancePolling']['apiCalls']}, ${s['peers']['perInstancePolling']['simulatedSeconds']} s`);
  f('peer: per-instance polling $/month', (s) => `$${s['peers']['perInstancePolling']['monthlyCostUSD']}`);
  f('peer: per-instance metrics (metrics, alarms)', (s) => `${s['peers']['perInstanceMetrics']['metrics']}, ${s['peers']['perInstanceMetrics']['alarms']}`);
  f('peer: per-instance metrics $/month', (s) => `$${s['peers']['perInstanceMetrics']['monthlyCostUSD']}`);
  lines.push('');
  if (bundles) {
    for (const [name, b] of Object.entries(bundles)) {
      lines.push(`bundle ${name}: ${(b.bytes / 1024).toFixed(0)} KiB (+ ${(b.sourceMapBytes / 1024).toFixed(0)} KiB source map), cold load ${b.coldLoadMs} ms (node -e "require(bundle)" minus bare node), RSS after load ${b.loadedRssMB} MB`);
    }
    lines.push('');
  }
  lines.push('targets:');
  for (const t of targets) lines.push(`  ${t.pass ? 'PASS' : 'MISS'}  N=${t.n}: ${t.name}: ${t.value} (limit ${t.limit})${t.note ? ` — ${t.note}` : ''}`);
  return lines.join('\n');
}

function updateReadme(table: string): void {
  const path = join(__dirname, 'README.md');
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return;
  }
  const start = '<!-- figures:start -->';
  const end = '<!-- figures:end -->';
  const a = text.indexOf(start);
  const b = text.indexOf(end);
  if (a < 0 || b < a) return;
  const block = `${start}\n\`\`\`\n${table}\n\`\`\`\n(${new Date().toISOString().slice(0, 10)}, \`npm run bench\` on ${process.platform}/${process.arch}, Node ${process.version})\n${end}`;
  writeFileSync(path, text.slice(0, a) + block + text.slice(b + end.length));
}

main().catch((e: unknown) => {
  process.stderr.write(`bench failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});
