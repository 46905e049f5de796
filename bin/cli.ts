/**
 * `timesync-guard` command-line entry: dispatches to one module per sub-command in bin/commands/.
 * Each module exports `run(args: string[], io: CliIo): Promise<number>` and `summary`.
 */
import type { CliIo } from './commands/io';

const COMMANDS = ['check', 'diagnose', 'collector', 'remediation-script'] as const;
type CommandName = (typeof COMMANDS)[number];

interface CommandModule {
  readonly summary: string;
  run(args: string[], io: CliIo): Promise<number>;
}

function load(name: CommandName): CommandModule {
  // Lazy: `diagnose` must not pay for the SDK that `check` loads.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require(`./commands/${name}`) as CommandModule;
}

function usage(): string {
  const lines = COMMANDS.map((c) => `  ${c.padEnd(20)} ${load(c).summary}`);
  return ['Usage: timesync-guard <command> [options]', '', 'Commands:', ...lines, ''].join('\n');
}

export async function main(argv: string[], io: CliIo = defaultIo()): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    io.out(usage());
    return name === undefined ? 2 : 0;
  }
  if (!(COMMANDS as readonly string[]).includes(name)) {
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
    env: process.env,
  };
}
