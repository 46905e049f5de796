/**
 * Command-line option reading shared by the commands: `--opt value` and `--opt=value` both work,
 * and an option that sets a setting is judged by that setting's schema row (same range as the stack).
 */
import { fromString, problemWith, row, type SettingKey } from '../../lambda/core/settings';

/** A command line read left to right; `value()` takes an option's value in either spelling. */
export class ArgReader {
  private i = -1;
  private inline: string | undefined;
  /** The option name of the current argument (`--max-offset` for `--max-offset=2`), or the argument. */
  public flag = '';
  /** The current argument as given. */
  public arg = '';

  constructor(private readonly args: readonly string[]) {}

  /** Moves to the next argument; false at the end. */
  next(): boolean {
    this.i++;
    if (this.i >= this.args.length) return false;
    this.arg = this.args[this.i]!;
    const eq = this.arg.startsWith('--') ? this.arg.indexOf('=') : -1;
    [this.flag, this.inline] = eq > 0 ? [this.arg.slice(0, eq), this.arg.slice(eq + 1)] : [this.arg, undefined];
    return true;
  }

  /** The value of the current option; throws "--opt needs a value". */
  value(): string {
    const v = this.inline ?? this.args[++this.i];
    if (v === undefined || v === '' || (this.inline === undefined && v.startsWith('--'))) throw new Error(`${this.flag} needs a value`);
    return v;
  }

  /** The value of the current option as the setting `key`, within its schema range. */
  setting(key: SettingKey): unknown {
    const raw = this.value();
    const r = row(key);
    const read = fromString(r, raw);
    const problem = 'problem' in read ? `${read.problem}, got ${JSON.stringify(raw)}` : problemWith(r, read.value);
    if (problem !== undefined) throw new Error(`${this.flag}: ${problem}`);
    return (read as { value: unknown }).value;
  }
}
