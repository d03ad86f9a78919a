// Validates the options of the lingering close and fills in the defaults (Apache's and nginx's).
import type net from 'node:net';

import { invalidArgType, invalidArgValue, isOptionsObject, outOfRange, type Caller } from '../errors.js';
import { optionKeys, refuseUnknown } from '../option-keys.js';
import type { EnableLingeringCloseOptions, LingerReport, LingeringCloseCallOptions } from './types.js';

const CALL_KEYS = optionKeys<LingeringCloseCallOptions>({ idleTimeout: true, maxTimeout: true, onTimeout: true, maxDrainBytes: true, signal: true });
const ENABLE_KEYS = optionKeys<EnableLingeringCloseOptions>({
  idleTimeout: true,
  maxTimeout: true,
  onTimeout: true,
  maxDrainBytes: true,
  maxLingering: true,
  shortLingerAbove: true,
  shortLingerTimeout: true,
  signal: true,
  onReport: true,
  mode: true,
});

/** Refuses an option `lingeringClose()` does not have (a misspelt bound would keep its default). */
export function refuseUnknownCallOptions(options: unknown, caller: Caller): void {
  if (isOptionsObject(options)) refuseUnknown(options, CALL_KEYS, 'options', 'an option of lingeringClose()', caller);
}

/** Refuses an option `enableLingeringClose()` does not have. */
export function refuseUnknownEnableOptions(options: unknown, caller: Caller): void {
  if (isOptionsObject(options)) refuseUnknown(options, ENABLE_KEYS, 'options', 'an option of enableLingeringClose()', caller);
}


/** One linger's settings, validated. */
export interface LingerSettings {
  readonly idleTimeout: number;
  readonly maxTimeout: number;
  readonly onTimeout: 'reset' | 'close';
  readonly maxDrainBytes: number;
}

/** The bounds of a pool of lingering sockets (a server's, or the thread's for direct calls). */
export interface PoolLimits {
  readonly maxLingering: number;
  readonly shortLingerAbove: number;
  readonly shortLingerTimeout: number;
}

const DEFAULT_SETTINGS: LingerSettings = Object.freeze({
  idleTimeout: 2_000,
  maxTimeout: 30_000,
  onTimeout: 'reset',
  maxDrainBytes: 64 * 1024 * 1024,
});

const DEFAULT_MAX_LINGERING = 1024;
const DEFAULT_SHORT_LINGER_TIMEOUT = 2_000;
// setTimeout() cannot wait longer than this (a bigger value fires at once, with a warning).
const MAX_TIMER_MS = 2 ** 31 - 1;

export function defaultLimits(maxLingering = DEFAULT_MAX_LINGERING): PoolLimits {
  return Object.freeze({
    maxLingering,
    shortLingerAbove: Math.floor((maxLingering * 3) / 4),
    shortLingerTimeout: DEFAULT_SHORT_LINGER_TIMEOUT,
  });
}

function checkObject(options: unknown, caller: Caller): asserts options is Record<string, unknown> {
  if (!isOptionsObject(options)) throw invalidArgType('options', 'of type object', options, caller);
}

function integerOption(
  options: Record<string, unknown>,
  key: string,
  min: number,
  max: number,
  fallback: number,
  caller: Caller,
): number {
  const value = options[key];
  if (value === undefined) return fallback;
  if (typeof value !== 'number') throw invalidArgType(`options.${key}`, 'of type number', value, caller);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw outOfRange(`options.${key}`, `an integer >= ${min} and <= ${max}`, value, caller);
  }
  return value;
}

/** The settings for one linger, from the caller's options over `base`. */
export function lingerSettings(options: unknown, caller: Caller, base: LingerSettings = DEFAULT_SETTINGS): LingerSettings {
  checkObject(options, caller);
  const idleTimeout = integerOption(options, 'idleTimeout', 1, MAX_TIMER_MS, base.idleTimeout, caller);
  const maxTimeout = integerOption(options, 'maxTimeout', 1, MAX_TIMER_MS, base.maxTimeout, caller);
  const maxDrainBytes = integerOption(options, 'maxDrainBytes', 0, Number.MAX_SAFE_INTEGER, base.maxDrainBytes, caller);
  const onTimeout = options.onTimeout ?? base.onTimeout;
  if (onTimeout !== 'reset' && onTimeout !== 'close') {
    throw invalidArgValue('options.onTimeout', onTimeout, "must be 'reset' or 'close'", caller);
  }
  return Object.freeze({ idleTimeout, maxTimeout, onTimeout, maxDrainBytes });
}

/**
 * lingeringClose()'s own bounds, read once and checked at the call, before whether the close can
 * happen here (a bad value is the caller's error, with or without the native binary); the server's
 * settings, if it has any, fill in the rest later: {@link lingerSettings} of the copy returned.
 */
export function givenLingerSettings(options: unknown, caller: Caller): Record<string, unknown> {
  checkObject(options, caller);
  const { idleTimeout, maxTimeout, maxDrainBytes, onTimeout } = options;
  const given = { idleTimeout, maxTimeout, maxDrainBytes, onTimeout };
  lingerSettings(given, caller);
  return given;
}

/** A server's bounds, from {@link EnableLingeringCloseOptions}. */
export function poolLimits(options: EnableLingeringCloseOptions, caller: Caller): PoolLimits {
  const record = options as Record<string, unknown>;
  const maxLingering = integerOption(record, 'maxLingering', 0, 1_000_000, DEFAULT_MAX_LINGERING, caller);
  const defaults = defaultLimits(maxLingering);
  const shortLingerAbove = integerOption(record, 'shortLingerAbove', 0, maxLingering, defaults.shortLingerAbove, caller);
  const shortLingerTimeout = integerOption(record, 'shortLingerTimeout', 1, MAX_TIMER_MS, defaults.shortLingerTimeout, caller);
  return Object.freeze({ maxLingering, shortLingerAbove, shortLingerTimeout });
}

/** `options.signal`, checked as Node checks one (anything with a boolean `aborted`). */
export function abortSignalOption(options: unknown, caller: Caller): AbortSignal | undefined {
  const signal = options !== null && typeof options === 'object' ? (options as { signal?: unknown }).signal : undefined;
  if (signal === undefined) return undefined;
  // What the close will use of it, checked before anything changes: an object with only an
  // `aborted` flag got as far as enabling the server (or ending the socket), then failed without a
  // code at addEventListener. A signal from another realm or a conforming polyfill passes.
  const candidate = signal as { aborted?: unknown; addEventListener?: unknown; removeEventListener?: unknown } | null;
  if (
    candidate === null ||
    typeof candidate !== 'object' ||
    typeof candidate.aborted !== 'boolean' ||
    typeof candidate.addEventListener !== 'function' ||
    typeof candidate.removeEventListener !== 'function'
  ) {
    throw invalidArgType('options.signal', 'an instance of AbortSignal', signal, caller);
  }
  return signal as AbortSignal;
}

/** `options.mode`, checked: which connections linger. */
export function lingerMode(options: EnableLingeringCloseOptions, caller: Caller): 'always' | 'as-needed' {
  const value = (options as Record<string, unknown>).mode ?? 'always';
  if (value !== 'always' && value !== 'as-needed') throw invalidArgValue('options.mode', value, "must be 'always' or 'as-needed'", caller);
  return value;
}

/** The report callback, checked. */
export function reportCallback(options: EnableLingeringCloseOptions, caller: Caller): ((report: LingerReport, socket: net.Socket) => void) | null {
  const value = (options as Record<string, unknown>).onReport;
  if (value === undefined) return null;
  if (typeof value !== 'function') throw invalidArgType('options.onReport', 'of type function', value, caller);
  return value as (report: LingerReport, socket: net.Socket) => void;
}
