// formatToxic() checks its argument as parseToxic() does: a non-object is ERR_INVALID_ARG_TYPE
// (not a bare TypeError from reading a property of null), and a toxic spec with defaults left out
// (what addToxic() takes) is written with them filled in, so that parseToxic() reads it back.
import { describe, expect, it } from 'vitest';

import { harness } from './load.js';

const { formatToxic, parseToxic } = harness;

describe('formatToxic(): its argument', () => {
  it('a non-object is ERR_INVALID_ARG_TYPE, a bad toxic ERR_INVALID_ARG_VALUE, as addToxic() says them', () => {
    for (const value of [null, undefined, 5, 'latency']) {
      expect(() => formatToxic(value as never), String(value)).toThrow(expect.objectContaining({ name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE' }));
    }
    expect(() => formatToxic({ type: 'nope' } as never)).toThrow(expect.objectContaining({ name: 'TypeError', code: 'ERR_INVALID_ARG_VALUE' }));
  });

  it('a spec with its defaults left out is written with them, and reads back to the same toxic', () => {
    const text = formatToxic({ type: 'latency', attributes: { latency: 100 } } as never);
    expect(text).toBe('latency/downstream:latency=100,jitter=0 (latency_downstream)');
    expect(parseToxic(text)).toEqual(parseToxic('latency:latency=100'));
  });
});
