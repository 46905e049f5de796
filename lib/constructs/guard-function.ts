import { join } from 'node:path';
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import { Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Architecture, Runtime } from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, type RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { METRIC_SERVICE } from '../../lambda/core/fleet/metric-names';
import { FunctionNetwork } from './function-network';
import { BUNDLE_ON_DEMAND_SCRIPT, FUNCTION_BUNDLING, FUNCTION_MEMORY_MB, FUNCTION_NODE_OPTIONS, TRIM_SOURCE_MAP_SCRIPT } from '../function-bundling';
import { shippedCode } from '../shipped-bundles';

/** Repository root: entries and the lock file are resolved from it, wherever the construct is used. */
export const PROJECT_ROOT = join(__dirname, '..', '..');

/**
 * Lambda sizing, from the benchmark (`npm run bench`, bench/README.md):
 * - memory 512 MB: the Lambda's own largest peak measured by bench/memory.ts (bundled as deployed,
 *   started with the functions' NODE_OPTIONS and the heap flags Lambda's runtime gives this memory,
 *   real SDK parsing of wire-format answers, the simulator's retained heap taken off;
 *   `memory.largestLambdaPeakMiB` in bench/results.json, the 50,000-instance check: 365 MiB) × 1.25,
 *   rounded up to 64 MB; the benchmark fails when this is more than one 64 MB step off either way;
 *   fleets up to 10,000 are measured as a 256 MB function and fit in it; the benchmark fails when a
 *   run's peak exceeds the memory it was started as (bench/README.md, "Memory and CPU"); the CPU
 *   share Lambda gives 512 MB also keeps pace with the busiest run, where 256 MB would not;
 * - check timeout 15 min: the 50,000-instance check takes a few minutes of API time (its figure is
 *   in bench/results.json); the maximum is kept so that larger fleets, or an SSM that throttles
 *   harder, still finish, and the engine stops collecting 60 s before the timeout so that every
 *   instance is still reported (not-checked ones as such);
 * - remediate timeout 15 min: 10,000 hop-limit changes need ≈ 33 min of ModifyInstanceMetadataOptions
 *   tokens; the handler returns a continuation 45 s before the timeout and the state machine loops
 *   (3 invocations in the benchmark).
 */
export { FUNCTION_MEMORY_MB };
export { CHECK_TIMEOUT, REMEDIATE_TIMEOUT } from './function-timeouts';

/** The handler's own esbuild options for its on-demand modules, as one shell-safe word (base64 JSON). */
const ON_DEMAND_OPTIONS = Buffer.from(JSON.stringify(FUNCTION_BUNDLING)).toString('base64');

/** Props of {@link GuardFunction}. */
export interface GuardFunctionProps {
  /** Handler file name under `lambda/handlers/`, e.g. `check.ts` (it exports `handler`). */
  readonly entryFile: string;
  /** Lambda description (also used in the role's description). */
  readonly description: string;
  /** Function timeout. */
  readonly timeout: Duration;
  /** Settings as environment variables (names from `ENV`); Powertools variables are added. */
  readonly environment: Record<string, string>;
  /** Retention of the function's own log group. */
  readonly logRetention: RetentionDays;
  /** Sets POWERTOOLS_METRICS_NAMESPACE. */
  readonly metricNamespace: string;
  /**
   * Reserved concurrency of the function.
   * @default - none: the function uses the account's unreserved pool (see TimeSyncGuardProps.reservedConcurrency)
   */
  readonly reservedConcurrency?: number;
}

/**
 * One Lambda of the guard: NodejsFunction bundled locally with esbuild (SDK included, so the
 * versions tested are the versions deployed), arm64, Node.js 24, optional reserved concurrency,
 * its own log group and its own role with no managed policy; in the guard's subnets when it has
 * some (FunctionNetwork).
 */
export class GuardFunction extends Construct {
  /** The function. */
  public readonly function: NodejsFunction;
  /** Its execution role (logs to its own group only; callers add the least-privilege statements). */
  public readonly role: Role;
  /** Its log group (per-instance records, EMF metrics). */
  public readonly logGroup: LogGroup;

  constructor(scope: Construct, id: string, props: GuardFunctionProps) {
    super(scope, id);
    // Retained when the stack is deleted: the per-instance records and the audit log outlive it.
    this.logGroup = new LogGroup(this, 'Logs', { retention: props.logRetention, removalPolicy: RemovalPolicy.RETAIN });
    this.role = new Role(this, 'Role', {
      assumedBy: new ServicePrincipal('lambda.amazonaws.com'),
      description: `${props.description} (timesync-guard)`,
    });
    // Logs only to its own group (instead of AWSLambdaBasicExecutionRole's logs:* on every group).
    this.logGroup.grantWrite(this.role);

    this.function = new NodejsFunction(this, 'Resource', {
      entry: join(PROJECT_ROOT, 'lambda', 'handlers', props.entryFile),
      handler: 'handler',
      // In the published package: its prebuilt bundle, and NodejsFunction does not bundle (lib/shipped-bundles.ts).
      ...shippedCode(props.entryFile),
      projectRoot: PROJECT_ROOT,
      depsLockFilePath: join(PROJECT_ROOT, 'package-lock.json'),
      runtime: Runtime.NODEJS_24_X,
      architecture: Architecture.ARM_64,
      memorySize: FUNCTION_MEMORY_MB,
      timeout: props.timeout,
      reservedConcurrentExecutions: props.reservedConcurrency,
      description: props.description,
      role: this.role,
      logGroup: this.logGroup,
      environment: {
        ...props.environment,
        POWERTOOLS_SERVICE_NAME: METRIC_SERVICE,
        POWERTOOLS_METRICS_NAMESPACE: props.metricNamespace,
        NODE_OPTIONS: FUNCTION_NODE_OPTIONS,
      },
      bundling: {
        forceDockerBundling: false,
        minify: FUNCTION_BUNDLING.minify,
        sourceMap: FUNCTION_BUNDLING.sourcemap,
        sourcesContent: FUNCTION_BUNDLING.sourcesContent,
        target: FUNCTION_BUNDLING.target,
        mainFields: [...FUNCTION_BUNDLING.mainFields],
        externalModules: [],
        format: OutputFormat.CJS,
        commandHooks: {
          beforeBundling: () => [],
          beforeInstall: () => [],
          afterBundling: (_inputDir: string, outputDir: string) => [
            `"${process.execPath}" "${TRIM_SOURCE_MAP_SCRIPT}" "${join(outputDir, 'index.js.map')}"`,
            // The modules the handler loads on first use, each in a file of its own (not parsed at start-up).
            `"${process.execPath}" "${BUNDLE_ON_DEMAND_SCRIPT}" "${outputDir}" ${ON_DEMAND_OPTIONS}`,
          ],
        },
      },
    });
    // The VPC option (docs/vpc.md): every function under a guard given subnets runs in them.
    FunctionNetwork.of(this)?.join(this.function, this.role);
  }
}
