/**
 * Loads a module of ./on-demand/ at its first use, from its own file (issue 25, "cold load").
 *
 * A bundled `import()` keeps the module's code in the handler's one file: Node reads and parses it at
 * every start-up even when the module never runs. So each on-demand module is bundled on its own
 * (bin/bundle-on-demand.js, run after the handler's bundle by the construct's afterBundling hook and
 * by the benchmark) into `on-demand/<name>.js` beside the bundle's index.js, and loaded here with a
 * `require` whose path esbuild cannot see (it leaves it as is). From source (jest, tsx) the same
 * path, relative to this file, names the TypeScript module: one code path, no flag.
 *
 * The names are string literals at the call sites (`loadOnDemand('on-demand/cloudwatch')`): the
 * bundling script reads them from the built index.js, so an asset carries exactly the modules its
 * handler can load. A module bundled on its own has its own copy of what it imports (client-factory,
 * retry, the SDK's core): none of those keeps state another copy must see.
 */
import { join } from 'node:path';
import type * as AutoScaling from './on-demand/auto-scaling';
import type * as CloudTrail from './on-demand/cloudtrail';
import type * as CloudWatch from './on-demand/cloudwatch';
import type * as EventBridge from './on-demand/eventbridge';
import type * as Iam from './on-demand/iam';
import type * as RecordKey from './on-demand/record-key';
import type * as S3 from './on-demand/s3';
import type * as SecurityHub from './on-demand/securityhub';
import type * as Sfn from './on-demand/sfn';
import type * as Sns from './on-demand/sns';

/** Each loadable module by its path under this directory; its type is the module's own (TypeScript checks every use). */
export interface OnDemandModules {
  'on-demand/auto-scaling': typeof AutoScaling;
  'on-demand/cloudtrail': typeof CloudTrail;
  'on-demand/cloudwatch': typeof CloudWatch;
  'on-demand/eventbridge': typeof EventBridge;
  'on-demand/iam': typeof Iam;
  'on-demand/record-key': typeof RecordKey;
  'on-demand/s3': typeof S3;
  'on-demand/securityhub': typeof SecurityHub;
  'on-demand/sfn': typeof Sfn;
  'on-demand/sns': typeof Sns;
}

/**
 * The module, loaded (and run) at the first call; Node's module cache makes later calls free. A
 * module that cannot be loaded rejects (callers' `onFirstUse` tries again at their next call).
 */
export async function loadOnDemand<P extends keyof OnDemandModules>(path: P): Promise<OnDemandModules[P]> {
  // A computed path: esbuild must not bundle it (that would put the module back in index.js).
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require(join(__dirname, path)) as OnDemandModules[P];
}
