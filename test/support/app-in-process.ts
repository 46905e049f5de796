/**
 * bin/app.ts run once per context in ONE Node.js process (`node -r tsx/cjs`), for the configuration
 * mistakes: each run of the app is mostly the load of aws-cdk-lib, which this pays once instead of
 * once a mistake. Each run requires a fresh bin/app.ts (the libraries stay loaded) with the context
 * in CDK_CONTEXT_JSON, as cdk passes it; what it writes to stderr and the code it gives
 * process.exit are recorded, an error it lets escape is reported as Node.js would (its stack, code 1).
 *
 * Only for runs that stop before synthesis (CDK_OUTDIR is unset, so a run that builds an app
 * writes nothing). The files that use it keep one spawned `node bin/app.ts` per behaviour, and
 * check that its result is the in-process one. Test code only.
 */
import { join } from 'node:path';
import { type Ran, runAsync } from './run-async';

const ROOT = join(__dirname, '..', '..');
const APP = join(ROOT, 'bin', 'app.ts');

class Exited extends Error {
  constructor(readonly code: number | null) {
    super(`process.exit(${code})`);
  }
}

/** Runs bin/app.ts with each context (bundling skipped, as the tests' spawned apps) in one process. */
export async function appRunsInOneProcess(contexts: readonly Record<string, unknown>[]): Promise<Ran[]> {
  const env = { ...process.env };
  delete env.CDK_OUTDIR;
  delete env.TSG_DEBUG;
  const r = await runAsync(process.execPath, ['-r', 'tsx/cjs', __filename, JSON.stringify(contexts)], { cwd: ROOT, env, timeoutMs: 280_000 });
  if (r.code !== 0) throw new Error(`app-in-process exited ${r.code}: ${r.stderr}`);
  return JSON.parse(r.stdout) as Ran[];
}

function runOnce(context: Record<string, unknown>): Ran {
  process.env.CDK_CONTEXT_JSON = JSON.stringify({ ...context, 'aws:cdk:bundling-stacks': [] });
  delete require.cache[require.resolve(APP)];
  let stderr = '';
  const write = process.stderr.write;
  const exit = process.exit;
  process.stderr.write = ((chunk: string | Uint8Array) => {
    stderr += String(chunk);
    return true;
  }) as typeof process.stderr.write;
  process.exit = ((code?: number) => {
    throw new Exited(code ?? 0);
  }) as typeof process.exit;
  try {
    // A fresh module each run: an import would run the app once.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    require(APP);
    return { code: 0, stdout: '', stderr };
  } catch (e) {
    if (e instanceof Exited) return { code: e.code, stdout: '', stderr };
    // As Node.js reports an uncaught error: its stack on stderr, exit code 1.
    return { code: 1, stdout: '', stderr: stderr + `${e instanceof Error ? e.stack : String(e)}\n` };
  } finally {
    process.stderr.write = write;
    process.exit = exit;
  }
}

if (require.main === module) {
  const contexts = JSON.parse(process.argv[2] ?? '[]') as Record<string, unknown>[];
  process.stdout.write(JSON.stringify(contexts.map(runOnce)));
}
