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
    if (typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS')) throw new UsageError(lowerFirst(message.split('\n')[0]!));
    throw error;
  }
}

/** A non-negative integer flag (digits only, `_` allowed as a separator), or `fallback` when absent. */
export function integerFlag(value: unknown, flag: string, min: number, max: number, fallback: number): number;
export function integerFlag(value: unknown, flag: string, min: number, max: number, fallback?: undefined): number | undefined;
export function integerFlag(value: unknown, flag: string, min: number, max: number, fallback?: number): number | undefined {
  if (value === undefined) return fallback;
  const text = String(value);
  if (!/^\d[\d_]*$/.test(text)) throw new UsageError(`--${flag} must be a whole number, not '${text}'`);
  const number = Number(text.replaceAll('_', ''));
  if (number < min || number > max) throw new UsageError(`--${flag} must be between ${min} and ${max}, not ${text}`);
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
