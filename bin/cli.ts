/**
 * `timesync-guard` command-line entry: dispatches to one module per sub-command in bin/commands/.
 * Each module exports `run(args: string[], io: CliIo): Promise<number>` and `summary`.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CliIo } from './commands/io';

/**
 * The commands and their one-line summaries. The summaries are here, not read from the modules,
 * so `--help` loads no command (and `check`'s AWS SDK clients are never built just to print help).
 */
const COMMANDS = {
  check: 'Check every running instance in a region now (read-only; --publish to send metrics)',
  diagnose: 'Judge a collector report (FILE or - for stdin) and print the verdict as JSON',
  collector: 'Print the in-guest collector script (linux: POSIX sh, windows: PowerShell)',
  'remediation-script': 'Print the in-guest remediation script (linux|windows) that the SSM document runs',
  'org-policy': 'Print the AWS Organizations EC2 declarative policy (instance metadata defaults) matching the configured settings',
} as const;
type CommandName = keyof typeof COMMANDS;

interface CommandModule {
  readonly summary: string;
  run(args: string[], io: CliIo): Promise<number>;
}

function load(name: CommandName): CommandModule {
  // Lazy: `diagnose` must not pay for the SDK that `check` loads.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require(`./commands/${name}`) as CommandModule;
}

/** The package version (package.json is the one source). */
export function version(): string {
  return (JSON.parse(readFileSync(join(__dirname, '..', 'package.json'), 'utf8')) as { version: string }).version;
}

function usage(): string {
  const lines = Object.entries(COMMANDS).map(([c, s]) => `  ${c.padEnd(20)} ${s}`);
  return [
    'Usage: npx timesync-guard <command> [options]',
    '',
    'Commands:',
    ...lines,
    '',
    'Options: --help (also after a command), --version',
    'Example: npx timesync-guard collector linux > c.sh   (then on the instance: sudo sh c.sh > report.txt)',
    '',
  ].join('\n');
}

export async function main(argv: string[], io: CliIo = defaultIo()): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    io.out(usage());
    return name === undefined ? 2 : 0;
  }
  if (name === '--version' || name === '-V' || name === 'version') {
    io.out(`timesync-guard ${version()}`);
    return 0;
  }
  if (!Object.hasOwn(COMMANDS, name)) {
    io.err(`timesync-guard: unknown command ${JSON.stringify(name)}\n\n${usage()}`);
    return 2;
  }
  return load(name as CommandName).run(rest, io);
}

function defaultIo(): CliIo {
  return {
    out: (s) => process.stdout.write(s.endsWith('\n') ? s : `${s}\n`),
    err: (s) => process.stderr.write(s.endsWith('\n') ? s : `${s}\n`),
    readStdin: async () => {
      const chunks: Buffer[] = [];
      for await (const c of process.stdin) chunks.push(c as Buffer);
      return Buffer.concat(chunks).toString('utf8');
    },
    stdinIsTerminal: process.stdin.isTTY === true,
    env: process.env,
  };
}
