// Picks the platform module once. Code elsewhere asks `platform()` and never tests the OS itself.
import { aix } from './aix.js';
import type { PlatformBehaviour } from './behaviour.js';
import { bsd } from './bsd.js';
import { currentPlatform } from './detect.js';
import { linux } from './linux.js';
import { windows } from './windows.js';

let chosen: PlatformBehaviour | undefined;

/** The running platform's behaviour. */
export function platform(): PlatformBehaviour {
  return (chosen ??= choose());
}

function choose(): PlatformBehaviour {
  const { name } = currentPlatform();
  switch (name) {
    case 'linux':
      return linux;
    case 'darwin':
    case 'freebsd':
    case 'dragonfly':
    case 'openbsd':
    case 'netbsd':
      return bsd(name);
    case 'aix':
    case 'os400':
      return aix(name);
    case 'win32':
      return windows;
    default:
      // An unknown Unix: the POSIX subset (linger, SO_ERROR, shutdown) through the BSD rules.
      return bsd(name);
  }
}

export type { PeekContext, PendingVerdict, PlatformBehaviour, Transport } from './behaviour.js';
export { currentPlatform, detectPlatform, libuvHasAixResetFix, type PlatformName } from './detect.js';
