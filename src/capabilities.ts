import { bindingFile, binding, skippedBinary, unavailableReason } from './native/binding.js';
import { currentPlatform, libuvHasAixResetFix, type PlatformName } from './platform/detect.js';
import { platform } from './platform/index.js';

/** What sockclose can do in this process. */
export interface Capabilities {
  /** The platform as sockclose names it (`'os400'` is IBM i). */
  platform: PlatformName;
  /** Whether the native binary is loaded. Without it only the JavaScript paths work. */
  native: boolean;
  /** Why the native binary is not loaded, or null. */
  reason: string | null;
  /** The binary's path, or null. */
  binary: string | null;
  /**
   * A local build (`build/Release`) that could not be used here, as `<file>: <why>` (cut short,
   * stale, for another machine), when the prebuild was loaded in its place; otherwise null.
   */
  skipped: string | null;
  /** Whether peekSocketError() can work here (Linux, AIX, IBM i, with the binary). */
  peekSocketError: boolean;
  /** Whether this Node's libuv has the AIX / IBM i reset-socket fix (libuv >= 1.44.2). */
  libuvAixResetFix: boolean;
}

/**
 * Reports what this install can do: whether the native binary loaded (and if not, why), and which
 * platform-dependent functions work. Loads the binary on first call; never throws.
 *
 * @example
 * ```ts
 * const { native, reason } = capabilities();
 * if (!native) console.warn('sockclose in JavaScript-only mode:', reason);
 * ```
 */
export function capabilities(): Capabilities {
  const native = binding() !== null;
  return {
    platform: currentPlatform().name,
    native,
    reason: unavailableReason(),
    binary: native ? bindingFile() : null,
    skipped: skippedBinary(),
    peekSocketError: native && platform().peekFields !== 0,
    libuvAixResetFix: libuvHasAixResetFix(),
  };
}
