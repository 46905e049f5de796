/**
 * `timesync-guard org-policy`: prints the AWS Organizations EC2 declarative policy
 * (`ec2_attributes.instance_metadata_defaults`) whose account defaults match this app's settings,
 * for an administrator to attach to a root, OU or account. Defaults apply to new launches only.
 *
 * Settings come from the app's CDK context (cdk.json `context`, judged by the same settings schema
 * as `cdk synth` judges it), then `TSG_*` variables, then the options. No AWS call is made.
 *
 * Exit codes: 0 printed; 2 usage or configuration error.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { DEFAULTS, ENV, fromString, problemWith, row, type SettingKey, SettingsError } from '../../lambda/core/settings';
import { ArgReader } from './args';
import type { CliIo } from './io';

export const summary = 'Print the AWS Organizations EC2 declarative policy (instance metadata defaults) matching the configured settings';

const USAGE = `Usage: npx timesync-guard org-policy [--context FILE] [--hop-limit-target N] [--tokens required|optional|no_preference] [--exception-message TEXT]

Prints the EC2 declarative policy JSON (ec2_attributes.instance_metadata_defaults) that sets the
account defaults of every account it is attached to, to match this app's settings:
  http_put_response_hop_limit  hopLimitTarget (default ${DEFAULTS.hopLimitTarget})
  http_tokens                  required when imdsv2 is 'enforce', else no_preference
  http_endpoint                enabled when enableMetadataEndpoint is true, else no_preference
  instance_metadata_tags       no_preference (this product never changes it)
Defaults apply to NEW launches only; running instances keep their own options.

  --context FILE           the app's cdk.json (default: ./cdk.json when present); TSG_* variables override it
  --hop-limit-target N     override hopLimitTarget (2-64)
  --tokens VALUE           override http_tokens: required, optional or no_preference
  --exception-message TEXT add ec2_attributes.exception_message (shown to whoever is refused)

Attach it with AWS Organizations (policy type DECLARATIVE_POLICY_EC2). Exit codes: 0 printed, 2 usage error.`;

/** What the policy is built from. */
export interface OrgPolicyInput {
  readonly hopLimitTarget: number;
  readonly httpTokens: 'required' | 'optional' | 'no_preference';
  readonly httpEndpoint: 'enabled' | 'no_preference';
  readonly exceptionMessage?: string;
}

/** The declarative policy document (each attribute an `@@assign`, as AWS Organizations' syntax requires). */
export function declarativePolicy(input: OrgPolicyInput): Record<string, unknown> {
  return {
    ec2_attributes: {
      instance_metadata_defaults: {
        http_tokens: { '@@assign': input.httpTokens },
        // AWS's syntax examples assign the hop limit as a string.
        http_put_response_hop_limit: { '@@assign': String(input.hopLimitTarget) },
        http_endpoint: { '@@assign': input.httpEndpoint },
        instance_metadata_tags: { '@@assign': 'no_preference' },
      },
      ...(input.exceptionMessage !== undefined ? { exception_message: { '@@assign': input.exceptionMessage } } : {}),
    },
  };
}

const TOKENS = ['required', 'optional', 'no_preference'] as const;
/** The IMDSv2 gate's setting (h/v2gate); read here by name so this command needs nothing else from it. */
const IMDSV2_MODES = ['off', 'report', 'enforce'] as const;

type Raw = Record<string, unknown>;

function readContext(file: string): Raw {
  const json = JSON.parse(readFileSync(file, 'utf8')) as { context?: Raw };
  return json.context ?? {};
}

/** One setting from context then environment, judged by its schema row. */
function setting(key: SettingKey, context: Raw, env: CliIo['env']): unknown {
  const r = row(key);
  const envName = (ENV as Record<string, string>)[key];
  const raw = envName !== undefined && env[envName] !== undefined ? env[envName] : context[key];
  if (raw === undefined || raw === null) return undefined;
  const read = fromString(r, String(raw));
  const problem = 'problem' in read ? read.problem : problemWith(r, read.value);
  if (problem !== undefined) throw new SettingsError(key, `${problem}, got ${JSON.stringify(raw)}`);
  return (read as { value: unknown }).value;
}

/** `imdsv2` from context / TSG_IMDSV2, or undefined (the setting may not exist in this build). */
function imdsv2Mode(context: Raw, env: CliIo['env']): string | undefined {
  const raw = env.TSG_IMDSV2 ?? context.imdsv2;
  if (raw === undefined || raw === null) return undefined;
  if (!(IMDSV2_MODES as readonly string[]).includes(String(raw))) throw new SettingsError('imdsv2', `expected one of ${IMDSV2_MODES.join(', ')}, got ${JSON.stringify(raw)}`, 'imdsv2');
  return String(raw);
}

/** Builds the command; `cwd` is injectable for tests. */
export function createRun(deps: { readonly cwd: () => string }): (args: string[], io: CliIo) => Promise<number> {
  return async (args, io) => {
    let contextFile: string | undefined;
    let hop: number | undefined;
    let tokens: OrgPolicyInput['httpTokens'] | undefined;
    let exceptionMessage: string | undefined;
    try {
      const r = new ArgReader(args);
      while (r.next()) {
        switch (r.flag) {
          case '--context': contextFile = r.value(); break;
          case '--hop-limit-target': hop = r.setting('hopLimitTarget') as number; break;
          case '--tokens': {
            const v = r.value();
            if (!(TOKENS as readonly string[]).includes(v)) throw new Error(`--tokens: expected one of ${TOKENS.join(', ')}, got ${JSON.stringify(v)}`);
            tokens = v as OrgPolicyInput['httpTokens'];
            break;
          }
          case '--exception-message': exceptionMessage = r.value(); break;
          case '--help': case '-h': io.out(USAGE); return 0;
          default: throw new Error(`unknown option ${JSON.stringify(r.arg)}`);
        }
      }
    } catch (e) {
      io.err(`timesync-guard org-policy: ${(e as Error).message}\n\n${USAGE}`);
      return 2;
    }
    let input: OrgPolicyInput;
    try {
      const file = contextFile !== undefined ? resolve(deps.cwd(), contextFile) : join(deps.cwd(), 'cdk.json');
      if (contextFile !== undefined && !existsSync(file)) throw new SettingsError('--context', `no such file ${file}`, `no such file ${file}`);
      const context = existsSync(file) ? readContext(file) : {};
      const endpoint = setting('enableMetadataEndpoint', context, io.env) ?? DEFAULTS.enableMetadataEndpoint;
      input = {
        hopLimitTarget: hop ?? ((setting('hopLimitTarget', context, io.env) as number | undefined) ?? DEFAULTS.hopLimitTarget),
        httpTokens: tokens ?? (imdsv2Mode(context, io.env) === 'enforce' ? 'required' : 'no_preference'),
        httpEndpoint: endpoint === true ? 'enabled' : 'no_preference',
        ...(exceptionMessage !== undefined ? { exceptionMessage } : {}),
      };
    } catch (e) {
      const msg = e instanceof SettingsError ? `${e.setting}: ${e.problem}` : e instanceof SyntaxError ? `the context file is not JSON: ${e.message}` : String((e as Error).message ?? e);
      io.err(`timesync-guard org-policy: ${msg}`);
      return 2;
    }
    io.out(JSON.stringify(declarativePolicy(input), null, 2));
    return 0;
  };
}

/** The CLI entry (`bin/cli.ts` loads it). */
export const run = createRun({ cwd: () => process.cwd() });
