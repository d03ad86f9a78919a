// Command-line parsing on node:util parseArgs, with every mistake turned into a UsageError (exit
// code 2) whose message names the flag and what was wrong.
import { parseArgs, type ParseArgsConfig } from 'node:util';

/** A mistake on the command line: printed with a pointer to --help, exit code 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

type Options = NonNullable<ParseArgsConfig['options']>;

/** Parsed flags and positionals. */
export interface Parsed {
  values: Record<string, string | boolean | string[] | boolean[] | undefined>;
  positionals: string[];
}

/** parseArgs in strict mode; its errors become UsageErrors in plain words. */
export function parse(args: string[], options: Options, allowPositionals: boolean): Parsed {
  try {
    const { values, positionals } = parseArgs({ args, options, strict: true, allowPositionals });
    return { values: values as Parsed['values'], positionals };
  } catch (error) {
    const { code, message } = error as { code?: string; message: string };
    if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE' && message.includes('ambiguous')) throw new UsageError(dashedValue(args, message, options));
    // Node's advice on positionals that start with '-' does not apply: probe's host:port never does.
    if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') throw new UsageError(lowerFirst(message.split('. To specify')[0]!));
    if (typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS')) throw new UsageError(lowerFirst(message.split('\n')[0]!));
    throw error;
  }
}

/**
 * parseArgs calls `--send -4` "ambiguous" (is -4 a value or a flag?). A value that names one of
 * the command's options is a missing value; a negative number is never accepted; any other value
 * that starts with a dash (`--send-text -PING`, free text) must be attached with '='.
 */
function dashedValue(args: string[], message: string, options: Options): string {
  // Node names the option as '-s, --send' (or '--send'); say it as the user spelled it.
  const names = (/Option '([^']+)'/.exec(message)?.[1] ?? '').split(', ').map((name) => name.split(' ')[0]!);
  const spelled = args.find((arg) => names.includes(arg)) ?? names.at(-1) ?? 'an option';
  const next = args[args.indexOf(spelled) + 1];
  if (next === undefined || isOption(next, options)) return `${spelled} needs a value${next === undefined ? '' : `, not the option '${next}'`}`;
  const long = names.find((name) => name.startsWith('--')) ?? spelled;
  if (/^-\d/.test(next) && !FREE_TEXT.has(long)) return `${spelled} takes no negative number (got ${next})`;
  return `${spelled} '${next}': a value that starts with '-' is written ${long}=${next}`;
}

// Flags whose value is any text, a leading dash included: never "a negative number".
const FREE_TEXT = new Set(['--send-text']);

/** Whether `arg` names one of `options` (`--name`, `--name=value`, `-s`). */
function isOption(arg: string, options: Options): boolean {
  if (arg.startsWith('--')) return Object.hasOwn(options, arg.slice(2).split('=')[0]!);
  return Object.values(options).some((option) => option.short !== undefined && arg === `-${option.short}`);
}

/** A non-negative integer flag (digits only, `_` allowed as a separator), or `fallback` when absent. */
export function integerFlag(value: unknown, flag: string, min: number, max: number, fallback: number): number;
export function integerFlag(value: unknown, flag: string, min: number, max: number, fallback?: undefined): number | undefined;
export function integerFlag(value: unknown, flag: string, min: number, max: number, fallback?: number): number | undefined {
  if (value === undefined) return fallback;
  const text = String(value);
  if (!/^\d[\d_]*$/.test(text)) throw new UsageError(`--${flag} must be a whole number, not '${text}'`);
  const number = Number(text.replaceAll('_', ''));
  if (number < min) throw new UsageError(`--${flag} must be at least ${min}, not ${text}`);
  if (number > max) throw new UsageError(`--${flag} must be at most ${max}, not ${text}`);
  return number;
}

/** One of `choices`, or `fallback` when absent. */
export function choiceFlag<C extends string>(value: unknown, flag: string, choices: readonly C[], fallback: C): C;
export function choiceFlag<C extends string>(value: unknown, flag: string, choices: readonly C[], fallback?: undefined): C | undefined;
export function choiceFlag<C extends string>(value: unknown, flag: string, choices: readonly C[], fallback?: C): C | undefined {
  if (value === undefined) return fallback;
  if (!(choices as readonly unknown[]).includes(value)) {
    throw new UsageError(`--${flag} must be one of: ${choices.join(', ')} (not '${String(value)}')`);
  }
  return value as C;
}

function lowerFirst(text: string): string {
  return text.charAt(0).toLowerCase() + text.slice(1);
}
