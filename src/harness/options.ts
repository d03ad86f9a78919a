// Argument checks shared by the harness's public functions, with Node's error shapes (the core's
// constructors), and the one parser of "host:port" addresses the API and the CLI both accept.
import { constants as bufferConstants } from 'node:buffer';
import net from 'node:net';

import { invalidArgType, invalidArgValue, isOptionsObject, outOfRange, type Caller } from '../errors.js';
import { optionKeys, refuseUnknown } from '../option-keys.js';

export { optionKeys, refuseUnknown };

/** A TCP endpoint. */
export interface Endpoint {
  /** Host name or IP address (IPv6 without brackets). */
  host: string;
  /** TCP port. */
  port: number;
}

/**
 * What the harness accepts for an address: `'host:port'`, `'[::1]:port'`, a port, or an object:
 * `{ host, port }`, or what `server.address()` returns (`address` for `host`; `family` is ignored).
 * Not both `host` and `address`: they name the same thing (`ERR_INVALID_ARG_VALUE`).
 */
export type AddressInput =
  | string
  | number
  | { host?: string | undefined; address?: undefined; family?: string | undefined; port?: number | undefined }
  | { address: string; host?: undefined; family?: string | undefined; port?: number | undefined };

/**
 * An address to connect to: `'host:port'`, a port (on 127.0.0.1), `{ host?, port }` or
 * `server.address()`'s `{ address, family?, port }` (a port is required; not both `host` and
 * `address`).
 */
export type ConnectAddressInput =
  | string
  | number
  | { host?: string | undefined; address?: undefined; family?: string | undefined; port: number }
  | { address: string; host?: undefined; family?: string | undefined; port: number };

/** Throws unless `value` is a plain object (or undefined, then returns `{}`). */
export function optionsObject<T extends object>(value: T | undefined, name: string, caller: Caller): Partial<T> {
  if (value === undefined) return {};
  if (!isOptionsObject(value)) throw invalidArgType(name, 'of type object', value, caller);
  return value;
}

/**
 * Throws for a key of `given` that cannot change here (set, not undefined): a change that would
 * be ignored is refused instead, so a caller never believes it took effect.
 */
export function refuseFixed(given: object, fixed: readonly string[], name: string, caller: Caller): void {
  for (const key of fixed) {
    const value = (given as Record<string, unknown>)[key];
    if (value !== undefined) throw invalidArgValue(`${name}.${key}`, value, 'cannot be changed here', caller);
  }
}

/** An integer option in [min, max], or its default. */
export function integerOption(value: unknown, name: string, min: number, max: number, fallback: number, caller: Caller): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number') throw invalidArgType(name, 'of type number', value, caller);
  if (!Number.isInteger(value) || value < min || value > max) throw outOfRange(name, `an integer >= ${min} and <= ${max}`, value, caller);
  return value;
}

/** A number option in [min, max] (fractions allowed), or its default. */
export function numberOption(value: unknown, name: string, min: number, max: number, fallback: number, caller: Caller): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number') throw invalidArgType(name, 'of type number', value, caller);
  if (!(value >= min && value <= max)) throw outOfRange(name, `>= ${min} and <= ${max}`, value, caller);
  return value;
}

/** A boolean option, or its default. */
export function booleanOption(value: unknown, name: string, fallback: boolean, caller: Caller): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') throw invalidArgType(name, 'of type boolean', value, caller);
  return value;
}

/**
 * A non-empty string, as Node checks one: a non-string is the wrong type
 * (`ERR_INVALID_ARG_TYPE`), an empty string the right type with a bad value (`ERR_INVALID_ARG_VALUE`).
 */
export function nonEmptyString(value: unknown, name: string, caller: Caller): string {
  if (typeof value !== 'string') throw invalidArgType(name, 'of type string', value, caller);
  if (value === '') throw invalidArgValue(name, value, 'must be a non-empty string', caller);
  return value;
}

/** One of `choices`, or its default. */
export function choiceOption<C extends string>(value: unknown, name: string, choices: readonly C[], fallback: C, caller: Caller): C {
  if (value === undefined) return fallback;
  if (typeof value !== 'string') throw invalidArgType(name, 'of type string', value, caller);
  if (!(choices as readonly string[]).includes(value)) throw invalidArgValue(name, value, `must be one of: ${choices.join(', ')}`, caller);
  return value as C;
}

/** Milliseconds: an integer from 0 to 24 days (the largest delay a Node timer keeps exactly). */
export const MAX_MS = 2 ** 31 - 1;

/** Bytes: up to 2^40, far beyond anything a loopback test sends, and exact in a double. */
export const MAX_BYTES = 2 ** 40;

/** Bytes of one Buffer made up front (a probe's `send`): what one Buffer can hold (4 GiB on Node 20). */
export const MAX_BUFFER = Math.min(MAX_BYTES, bufferConstants.MAX_LENGTH);

/** Bytes of a response body: one Buffer, less room for an HTTP head. Larger would fail at each connection. */
export const MAX_PAYLOAD = MAX_BUFFER - 4096;

// `address` and `family` as well: what `server.address()` returns (net.AddressInfo) is an address.
const ADDRESS_KEYS = optionKeys<Endpoint & Partial<net.AddressInfo>>({ host: true, port: true, address: true, family: true });

/**
 * Parses an address. `'host:port'`, `'[v6]:port'` and `':port'` / a bare port (then `defaultHost`)
 * are accepted, and objects `{ host, port }` or `server.address()`'s `{ address, family, port }`;
 * port 0 means "any free port" where `allowZero` says so (listening addresses).
 */
export function parseAddress(value: unknown, name: string, defaultHost: string, allowZero: boolean, caller: Caller): Endpoint {
  const minPort = allowZero ? 0 : 1;
  if (typeof value === 'number') return { host: defaultHost, port: integerOption(value, name, minPort, 65535, 0, caller) };
  if (isOptionsObject(value)) {
    refuseUnknown(value, ADDRESS_KEYS, name, 'a field of an address', caller);
    const { host: named, address, port } = value as { host?: unknown; address?: unknown; port?: unknown };
    if (named !== undefined && address !== undefined) throw invalidArgValue(`${name}.address`, address, "cannot be given with 'host' (they name the same thing)", caller);
    // Only an absent host is defaulted: null is a bad type, as Node says.
    const host = named !== undefined ? named : address !== undefined ? address : defaultHost;
    const hostName = named !== undefined || address === undefined ? `${name}.host` : `${name}.address`;
    const checkedHost = nonEmptyString(host, hostName, caller);
    if (port === undefined && !allowZero) throw invalidArgValue(`${name}.port`, port, 'is required', caller);
    return { host: unbracket(checkedHost), port: integerOption(port, `${name}.port`, minPort, 65535, 0, caller) };
  }
  if (typeof value !== 'string') throw invalidArgType(name, 'of type string, number or object', value, caller);
  const match = /^(?:\[([^\]]+)\]|([^:]*)):(\d{1,5})$/.exec(value) ?? /^()()(\d{1,5})$/.exec(value);
  if (!match) throw invalidArgValue(name, value, "must look like 'host:port', '[::1]:port' or 'port'", caller);
  const host = match[1] || match[2] || defaultHost;
  const port = Number(match[3]);
  if (port < minPort || port > 65535) throw outOfRange(`${name} port`, `an integer >= ${minPort} and <= 65535`, port, caller);
  return { host, port };
}

/** 'host:port' with IPv6 hosts bracketed, as people and URLs write it. */
export function formatAddress({ host, port }: Endpoint): string {
  return net.isIPv6(host) ? `[${host}]:${port}` : `${host}:${port}`;
}

/**
 * Where a connect to `address` arrives: an unspecified address (`0.0.0.0`, `::`, which say where a
 * server listens) as the loopback a connect to it reaches on Linux, macOS and the BSDs, and which
 * every platform accepts (Windows refuses a connect to the unspecified address itself).
 */
export function connectAddress(address: string): string {
  return address === '0.0.0.0' ? '127.0.0.1' : address === '::' ? '::1' : address;
}

/** A host without the brackets an IPv6 address carries in 'host:port' form. */
export function unbracket(host: string): string {
  return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
}
