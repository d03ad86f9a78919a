// Typed events for the harness's emitters, without @types/node's generic EventEmitter<T> (it needs
// @types/node 20.11 or later): the listener methods are declared again over an events map.
import type { EventEmitter } from 'node:events';

/**
 * The events every Node EventEmitter emits by itself: `'newListener'` before a listener is added,
 * `'removeListener'` after one is removed.
 */
export interface EmitterOwnEvents {
  /** Before a listener is added: the event's name and the listener. */
  newListener: [eventName: string | symbol, listener: (...args: any[]) => void];
  /** After a listener is removed: the event's name and the listener. */
  removeListener: [eventName: string | symbol, listener: (...args: any[]) => void];
}

/**
 * An EventEmitter whose events are the keys of `Events`, each with its listener's arguments as a
 * tuple. Other event names do not compile: the emitter never emits them.
 */
export interface TypedEmitter<Events extends Record<keyof Events, unknown[]>> extends EventEmitter {
  /** Adds `listener` for `event` (see Node's `emitter.on()`). */
  on<E extends keyof Events & (string | symbol)>(event: E, listener: (...args: Events[E]) => void): this;
  /** Adds a one-time `listener` for `event` (see Node's `emitter.once()`). */
  once<E extends keyof Events & (string | symbol)>(event: E, listener: (...args: Events[E]) => void): this;
  /** The same as `on()`. */
  addListener<E extends keyof Events & (string | symbol)>(event: E, listener: (...args: Events[E]) => void): this;
  /** Adds `listener` for `event` before the others (see Node's `emitter.prependListener()`). */
  prependListener<E extends keyof Events & (string | symbol)>(event: E, listener: (...args: Events[E]) => void): this;
  /** Adds a one-time `listener` for `event` before the others. */
  prependOnceListener<E extends keyof Events & (string | symbol)>(event: E, listener: (...args: Events[E]) => void): this;
  /** Removes `listener` from `event` (see Node's `emitter.off()`). */
  off<E extends keyof Events & (string | symbol)>(event: E, listener: (...args: Events[E]) => void): this;
  /** The same as `off()`. */
  removeListener<E extends keyof Events & (string | symbol)>(event: E, listener: (...args: Events[E]) => void): this;
  /** Calls `event`'s listeners with `args`; returns whether it had any (see Node's `emitter.emit()`). */
  emit<E extends keyof Events & (string | symbol)>(event: E, ...args: Events[E]): boolean;
}
