// Picks the platform module once. Code elsewhere asks `platform()` and never tests the OS itself.
// Only the running platform's module is loaded (require('sockclose') loads no other: issue 11).
import type * as Aix from './aix.js';
import type { PlatformBehaviour } from './behaviour.js';
import type * as Bsd from './bsd.js';
import * as detect from './detect.js';
import type * as Linux from './linux.js';
import type * as Windows from './windows.js';

let chosen: PlatformBehaviour | undefined;

/** The running platform's behaviour. */
export function platform(): PlatformBehaviour {
  return (chosen ??= choose());
}

function choose(): PlatformBehaviour {
  const { name } = detect.currentPlatform();
  switch (name) {
    case 'linux':
      return (require('./linux.js') as typeof Linux).linux;
    case 'darwin':
    case 'freebsd':
    case 'dragonfly':
    case 'openbsd':
    case 'netbsd':
      return (require('./bsd.js') as typeof Bsd).bsd(name);
    case 'aix':
    case 'os400':
      return (require('./aix.js') as typeof Aix).aix(name);
    case 'win32':
      return (require('./windows.js') as typeof Windows).windows;
    default:
      // An unknown Unix: the POSIX subset (linger, SO_ERROR, shutdown) through the BSD rules.
      return (require('./bsd.js') as typeof Bsd).bsd(name);
  }
}

export type { PeekContext, PendingVerdict, PlatformBehaviour, Transport } from './behaviour.js';
export type { PlatformName } from './detect.js';
// Plain data properties, not `export { … } from`: tsc turns those into accessors redefined over
// `exports.x = void 0`, which sends this module's exports object into dictionary mode, and then
// every `platform()` call from another module paid a generic property load (~110 instructions
// under callgrind; test/core/fast-exports.test.ts keeps every module's exports fast).
export const currentPlatform = detect.currentPlatform;
export const detectPlatform = detect.detectPlatform;
export const libuvHasAixResetFix = detect.libuvHasAixResetFix;
