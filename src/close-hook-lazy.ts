// The close hook (src/close-hook.ts), loaded on first use rather than with require('sockclose')
// (issue 11): the per-call functions that may need it (an emulated linger, hardReset() of a
// socket) load it only when they do. This module imports it as a type only.
import type * as CloseHook from './close-hook.js';

let closeHookModule: typeof CloseHook | undefined;

/** The close hook module, loaded on the first call. */
export function closeHook(): typeof CloseHook {
  return (closeHookModule ??= require('./close-hook.js') as typeof CloseHook);
}
