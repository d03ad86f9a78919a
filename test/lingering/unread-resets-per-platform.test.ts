// A linger a bound ends with a plain close reports the input it left unread as a reset only on a
// kernel that resets then: each platform's unreadInputResets (which the lingerer's start flag and
// the overload and flush-stage reports follow) must agree with its closeWouldReset() rule, which
// the close audit uses. The BSDs and macOS discard unread input and send FIN: no reset to report.
import { createRequire } from 'node:module';
import path from 'node:path';

import { describe, expect, it } from 'vitest';

import { root } from '../helpers/sockclose.js';

const require = createRequire(import.meta.url);
const lib = path.join(root, 'lib');
const layout = require(path.join(lib, 'native', 'layout.js')) as typeof import('../../lib/native/layout.js');
const { linux } = require(path.join(lib, 'platform', 'linux.js')) as typeof import('../../lib/platform/linux.js');
const { bsd } = require(path.join(lib, 'platform', 'bsd.js')) as typeof import('../../lib/platform/bsd.js');
const { aix } = require(path.join(lib, 'platform', 'aix.js')) as typeof import('../../lib/platform/aix.js');
const { Slot, State } = layout;

describe('unread input at a plain close', () => {
  const rules = { linux, darwin: bsd('darwin'), freebsd: bsd('freebsd'), openbsd: bsd('openbsd'), aix: aix('aix'), os400: aix('os400') };
  for (const [name, rule] of Object.entries(rules)) {
    it(`${name}: reported as a reset exactly where closeWouldReset() says such a close resets, on TCP and AF_UNIX`, () => {
      // An established connection, SO_LINGER off, 3 bytes unread: the close a bound makes.
      const facts = new Float64Array(layout.SLOT_NAMES.length).fill(-1);
      Object.assign(facts, { [Slot.lingerEnabled]: 0, [Slot.lingerSeconds]: 0, [Slot.unread]: 3, [Slot.state]: State.ESTABLISHED });
      for (const transport of ['tcp', 'unix'] as const) {
        expect(typeof rule.unreadInputResets[transport], `${name} ${transport}`).toBe('boolean');
        expect(rule.unreadInputResets[transport], `${name} ${transport}`).toBe(rule.closeWouldReset(facts, transport));
      }
    });
  }
  it('the BSDs and macOS send FIN there, Linux resets (AF_UNIX: ECONNRESET at the peer)', () => {
    expect(bsd('darwin').unreadInputResets).toEqual({ tcp: false, unix: false });
    expect(linux.unreadInputResets).toEqual({ tcp: true, unix: true });
  });
});
