/** What a CLI command may touch, injected so tests drive commands without a process. */
export interface CliIo {
  out(text: string): void;
  err(text: string): void;
  readStdin(): Promise<string>;
  /** stdin is a terminal: nobody is piping a report in, so waiting on it would hang silently. */
  readonly stdinIsTerminal?: boolean;
  readonly env: Readonly<Record<string, string | undefined>>;
}
