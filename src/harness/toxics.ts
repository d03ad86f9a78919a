// Toxics of the fault proxy, modelled on Toxiproxy's: what each one takes, its defaults, its
// checks, and the CLI's one-line notation for them.
import { invalidArgType, invalidArgValue, isOptionsObject, type Caller } from '../errors.js';
import { choiceOption, integerOption, MAX_BYTES, MAX_MS, nonEmptyString, numberOption, optionKeys, refuseUnknown } from './options.js';

/** One line per toxic type: what it does. The CLI's help prints these. */
export const TOXIC_TYPES = {
  latency: 'delay every chunk (and the FIN) by latency ± jitter ms, keeping their order',
  reset_peer:
    "reset both connections (RST to client and upstream) `timeout` ms after the stream's first byte (from: 'data', as Toxiproxy) or after the toxic applies (from: 'connect'); data passes until then",
  timeout: 'drop all data of the stream; after `timeout` ms (0: never) close both connections with FIN',
  slow_close: "delay passing on the stream's FIN by `delay` ms",
  limit_data:
    'pass `bytes` more bytes of the stream (counted from when the toxic applies), then close both connections: FIN (mode close), or RST once the bytes are acknowledged (mode reset)',
  bandwidth: 'pass the stream at `rate` KB/s at most (1 KB = 1000 bytes), in pieces of at most 100 ms worth',
  slicer:
    'split the stream into writes of `average_size` ± `size_variation` bytes, `delay` microseconds apart: the peer reads it in small pieces (partial reads)',
} as const;

/** A toxic type; see {@link TOXIC_TYPES}. */
export type ToxicType = keyof typeof TOXIC_TYPES;

/**
 * Which data a toxic acts on, as in Toxiproxy: `'upstream'` is client → server, `'downstream'`
 * server → client.
 */
export type ToxicStream = 'upstream' | 'downstream';

/** Each toxic type's attributes, all resolved. */
export interface ToxicAttributes {
  /** `latency`: ms added to every chunk and the FIN; `jitter`: up to that many ms more or less, at random per chunk. Default 0 each. */
  latency: { latency: number; jitter: number };
  /**
   * `timeout`: ms before the reset (default 0); `from`: counted from the stream's first byte
   * (`'data'`, default) or from when the toxic applies (`'connect'`).
   */
  reset_peer: { timeout: number; from: 'data' | 'connect' };
  /** `timeout`: ms from when the toxic applies until both connections are closed with FIN; 0 (default): never. */
  timeout: { timeout: number };
  /** `delay`: ms the stream's FIN is held back (default 0). */
  slow_close: { delay: number };
  /**
   * `bytes`: how many more bytes pass (default 0); `mode`: then close both connections with FIN
   * (`'close'`, default), or reset them once those bytes are acknowledged (`'reset'`).
   */
  limit_data: { bytes: number; mode: 'close' | 'reset' };
  /** `rate`: KB/s (1 KB = 1000 bytes, as Toxiproxy), at least 1; required. */
  bandwidth: { rate: number };
  /**
   * `average_size`: bytes per slice, at least 1 (required); `size_variation`: up to that many bytes
   * more or less, at random per slice, less than `average_size` (default 0); `delay`: microseconds
   * between slices (default 0), as Toxiproxy (timers run in whole milliseconds: below 1000 the
   * slices still go out as separate writes, several per millisecond).
   */
  slicer: { average_size: number; size_variation: number; delay: number };
}

/**
 * A toxic to add: type, and optionally name, stream, toxicity and attributes (required for
 * `bandwidth`, its `rate`, and `slicer`, its `average_size`).
 */
export type ToxicSpec = {
  [T in ToxicType]: {
    type: T;
    /** Default `<type>_<stream>`, as Toxiproxy. A non-empty string: `''` is `ERR_INVALID_ARG_VALUE`. */
    name?: string | undefined;
    /** Default 'downstream', as Toxiproxy. */
    stream?: ToxicStream | undefined;
    /** Probability (0 to 1) that the toxic applies to a given connection; default 1. */
    toxicity?: number | undefined;
    attributes?: { [K in keyof ToxicAttributes[T]]?: ToxicAttributes[T][K] | undefined } | undefined;
  } & (T extends 'bandwidth' ? { attributes: { rate: number } } : T extends 'slicer' ? { attributes: { average_size: number } } : unknown);
}[ToxicType];

/** A toxic in force. */
export type Toxic = {
  [T in ToxicType]: { type: T; name: string; stream: ToxicStream; toxicity: number; attributes: ToxicAttributes[T] };
}[ToxicType];

const TYPES = Object.keys(TOXIC_TYPES) as ToxicType[];

// Each type's attribute names. A Map, so that only these names are known: a lookup on a plain
// object would also find what every object inherits ('__proto__', 'constructor', 'toString').
const ATTRIBUTES = new Map<string, readonly string[]>(
  Object.entries({
    latency: ['latency', 'jitter'],
    reset_peer: ['timeout', 'from'],
    timeout: ['timeout'],
    slow_close: ['delay'],
    limit_data: ['bytes', 'mode'],
    bandwidth: ['rate'],
    slicer: ['average_size', 'size_variation', 'delay'],
  } satisfies { [T in ToxicType]: ReadonlyArray<keyof ToxicAttributes[T]> }),
);

/** The fields of a toxic spec (of updateToxic()'s changes too, where some are fixed). */
export const SPEC_KEYS = optionKeys<ToxicSpec>({ type: true, name: true, stream: true, toxicity: true, attributes: true });

/** Checks a spec and fills in the defaults. */
export function resolveToxic(spec: unknown, caller: Caller): Toxic {
  if (!isOptionsObject(spec)) throw invalidArgType('toxic', 'of type object', spec, caller);
  refuseUnknown(spec, SPEC_KEYS, 'toxic', 'a field of a toxic', caller);
  const given = spec as { type?: unknown; name?: unknown; stream?: unknown; toxicity?: unknown; attributes?: unknown };
  // As Node's validators: the type first (ERR_INVALID_ARG_TYPE), then the value.
  if (typeof given.type !== 'string') throw invalidArgType('toxic.type', 'of type string', given.type, caller);
  if (!ATTRIBUTES.has(given.type)) throw invalidArgValue('toxic.type', given.type, `must be one of: ${TYPES.join(', ')}`, caller);
  const type = given.type as ToxicType;
  const stream = choiceOption(given.stream, 'toxic.stream', ['upstream', 'downstream'], 'downstream', caller);
  const name = given.name === undefined ? `${type}_${stream}` : nonEmptyString(given.name, 'toxic.name', caller);
  const toxicity = numberOption(given.toxicity, 'toxic.toxicity', 0, 1, 1, caller);
  const raw = given.attributes ?? {};
  if (!isOptionsObject(raw)) throw invalidArgType('toxic.attributes', 'of type object', raw, caller);
  return { type, name, stream, toxicity, attributes: resolveAttributes(type, ownAttributes(raw), caller) } as Toxic;
}

/**
 * The attributes given, own enumerable properties only, in an object with no prototype: nothing
 * inherited is read as an attribute, and an own `__proto__` key is an attribute name like any
 * other (refused below).
 */
function ownAttributes(raw: object): Record<string, unknown> {
  const own: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
  for (const [key, value] of Object.entries(raw)) own[key] = value;
  return own;
}

function resolveAttributes(type: ToxicType, raw: Record<string, unknown>, caller: Caller): ToxicAttributes[ToxicType] {
  refuseUnknown(raw, ATTRIBUTES.get(type)!, 'toxic.attributes', `an attribute of ${type}`, caller);
  const ms = (key: string) => integerOption(raw[key], `toxic.attributes.${key}`, 0, MAX_MS, 0, caller);
  const required = (key: string, what: string) => {
    if (raw[key] === undefined) throw invalidArgValue(`toxic.attributes.${key}`, undefined, `is required for ${type} (${what})`, caller);
  };
  switch (type) {
    case 'latency':
      return { latency: ms('latency'), jitter: ms('jitter') };
    case 'reset_peer':
      return { timeout: ms('timeout'), from: choiceOption(raw.from, 'toxic.attributes.from', ['data', 'connect'], 'data', caller) };
    case 'timeout':
      return { timeout: ms('timeout') };
    case 'slow_close':
      return { delay: ms('delay') };
    case 'limit_data':
      return {
        bytes: integerOption(raw.bytes, 'toxic.attributes.bytes', 0, MAX_BYTES, 0, caller),
        mode: choiceOption(raw.mode, 'toxic.attributes.mode', ['close', 'reset'], 'close', caller),
      };
    case 'bandwidth':
      required('rate', 'KB/s');
      return { rate: integerOption(raw.rate, 'toxic.attributes.rate', 1, MAX_BYTES, 1, caller) };
    case 'slicer': {
      required('average_size', 'bytes per slice');
      const average = integerOption(raw.average_size, 'toxic.attributes.average_size', 1, MAX_BYTES, 1, caller);
      return {
        average_size: average,
        size_variation: integerOption(raw.size_variation, 'toxic.attributes.size_variation', 0, average - 1, 0, caller),
        delay: integerOption(raw.delay, 'toxic.attributes.delay', 0, MAX_MS, 0, caller),
      };
    }
  }
}

/**
 * Parses the CLI's notation `type[/stream][:key=value,...]`, for instance `latency:latency=100`,
 * `reset_peer/upstream:timeout=500`, `limit_data:bytes=1000,mode=reset`, `bandwidth:rate=100`,
 * `slicer:average_size=10,delay=1000`. The keys `name` and
 * `toxicity` set those fields; the others are attributes (numbers where they look like numbers,
 * `1e3` included). A key may come once only. A name in parentheses at the end, as
 * {@link formatToxic} writes it (`latency/downstream:latency=100,jitter=0 (slow)`), names the toxic too.
 *
 * @param text - The toxic in CLI notation.
 * @returns The {@link Toxic}, every default filled in.
 * @throws TypeError `ERR_INVALID_ARG_VALUE` / RangeError `ERR_OUT_OF_RANGE` naming what is wrong:
 *   a key given twice (`latency=10,latency=20`), an attribute the type does not have (naming the
 *   one it may have meant), a value out of range, …
 * @example
 * ```ts
 * proxy.addToxic(parseToxic('limit_data:bytes=1000,mode=reset'));
 * ```
 */
export function parseToxic(text: string): Toxic {
  if (typeof text !== 'string') throw invalidArgType('text', 'of type string', text, parseToxic);
  return parseToxicFor(text, parseToxic);
}

/** {@link parseToxic}, its errors' stacks cut at `caller`. */
export function parseToxicFor(text: string, caller: Caller): Toxic {
  // The list is lazy and the parenthesised name anchored at the end: a name may hold parentheses.
  const match = /^([a-z_]+)(?:\/([a-z]+))?(?::(.*?))?(?:\s+\((.+)\))?$/.exec(text.trim());
  if (!match) throw invalidArgValue('toxic', text, 'must look like type[/stream][:key=value,...][ (name)]', caller);
  const [, type, stream, list = '', suffixName] = match;
  const { name: pairName, toxicity, attributes } = parseToxicPairs(list, text, caller);
  if (suffixName !== undefined && pairName !== undefined && pairName !== suffixName) {
    throw invalidArgValue('toxic', text, `names the toxic twice ('${String(pairName)}', '${suffixName}')`, caller);
  }
  const name = suffixName ?? pairName;
  const spec: Record<string, unknown> = { type, attributes };
  if (stream !== undefined) spec.stream = stream;
  if (name !== undefined) spec.name = name;
  if (toxicity !== undefined) spec.toxicity = toxicity;
  return resolveToxic(spec, caller);
}

/** A decimal number as people write one: `100`, `-1`, `0.5`, `.5`, `1e3`, `2.5E-1` (not hex, not Infinity). */
const NUMBER = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:e[+-]?\d+)?$/i;

/**
 * The `key=value,...` part of the notation, unchecked but for a key given twice: `name` and
 * `toxicity` apart, the rest as attributes (numbers where they look like numbers). For changing
 * only the keys given.
 */
export function parseToxicPairs(
  list: string,
  whole: string,
  caller: Caller,
): { name: unknown; toxicity: unknown; attributes: Record<string, unknown> } {
  // No prototype: every key, `__proto__` included, becomes an own attribute (and is checked).
  const attributes = Object.create(null) as Record<string, unknown>;
  const result: { name: unknown; toxicity: unknown; attributes: Record<string, unknown> } = { name: undefined, toxicity: undefined, attributes };
  const seen = new Set<string>();
  for (const pair of list.split(',').filter((part) => part.trim() !== '')) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw invalidArgValue('toxic', whole, `has '${pair}' where key=value was expected`, caller);
    const key = pair.slice(0, eq).trim();
    // The last would silently win: `latency=10,latency=20` is more likely a slip than a choice.
    if (seen.has(key)) throw invalidArgValue('toxic', whole, `gives the key '${key}' twice`, caller);
    seen.add(key);
    const rawValue = pair.slice(eq + 1).trim();
    const value = NUMBER.test(rawValue) ? Number(rawValue) : rawValue;
    // A name is text whatever it looks like (`name=404`).
    if (key === 'name') result.name = rawValue;
    else if (key === 'toxicity') result.toxicity = value;
    else result.attributes[key] = value;
  }
  return result;
}

/**
 * The CLI notation of a toxic, with its name in parentheses: {@link parseToxic} reads it back to
 * the same toxic. A spec (what `proxy.addToxic()` takes) is written with its defaults
 * filled in.
 *
 * @param toxic - A toxic, as `proxy.toxics` lists it, or a spec.
 * @returns The toxic in CLI notation.
 * @throws As addToxic() does: `ERR_INVALID_ARG_TYPE` for a non-object, `ERR_INVALID_ARG_VALUE` /
 *   `ERR_OUT_OF_RANGE` for a type, field or attribute it does not have or a value out of range.
 * @example
 * ```ts
 * formatToxic(parseToxic('latency:latency=100')); // 'latency/downstream:latency=100,jitter=0 (latency_downstream)'
 * ```
 */
export function formatToxic(toxic: Toxic | ToxicSpec): string {
  // Checked and completed as addToxic() does: a spec's missing stream, name and defaults would be
  // written as 'undefined' (parseToxic() cannot read that back), and null read a property of null.
  const resolved = resolveToxic(toxic, formatToxic);
  const attributes = Object.entries(resolved.attributes).map(([key, value]) => `${key}=${String(value)}`);
  if (resolved.toxicity !== 1) attributes.push(`toxicity=${resolved.toxicity}`);
  return `${resolved.type}/${resolved.stream}:${attributes.join(',')} (${resolved.name})`;
}
