// Every ERR_SOCKCLOSE_* code the sources can throw is one ErrorCodes names and the README's error
// table explains: ERR_SOCKCLOSE_NATIVE_STATE, thrown by the addon, was in neither.
import fs from 'node:fs';
import path from 'node:path';

import { describe, expect, it } from 'vitest';

import { root, sockclose } from '../helpers/sockclose.js';

function sourceFiles(dir: string, pattern: RegExp): string[] {
  return fs.readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((file) => pattern.test(file)).map((file) => path.join(dir, file));
}

describe('error codes', () => {
  const thrown = new Set<string>();
  for (const file of [...sourceFiles(path.join(root, 'src'), /\.ts$/), ...sourceFiles(path.join(root, 'native'), /\.(cc|h)$/)]) {
    for (const match of fs.readFileSync(file, 'utf8').matchAll(/ERR_SOCKCLOSE_[A-Z_]+/g)) thrown.add(match[0]);
  }

  it('the sources name at least the eight documented before', () => {
    expect(thrown.size).toBeGreaterThanOrEqual(9);
  });

  it('each is in ErrorCodes', () => {
    expect([...thrown].filter((code) => !Object.values(sockclose.ErrorCodes).includes(code as never)).sort()).toEqual([]);
  });

  it("each has a row in the README's error table", () => {
    const readme = fs.readFileSync(path.join(root, 'README.md'), 'utf8');
    expect([...thrown].filter((code) => !readme.includes(`| \`${code}\` |`)).sort()).toEqual([]);
  });
});

describe('frozen constants', () => {
  it('ErrorCodes cannot be changed from plain JavaScript (a changed entry would change every later error)', () => {
    expect(Object.isFrozen(sockclose.ErrorCodes)).toBe(true);
    expect(Object.isFrozen(sockclose.ChannelNames)).toBe(true);
  });
});

describe('frozen harness constants', () => {
  it('BEHAVIOR_NAMES (what the fault server and the CLI check names against) cannot be emptied', async () => {
    const { harness } = await import('../harness/load.js');
    expect(Object.isFrozen(harness.BEHAVIOR_NAMES)).toBe(true);
    expect(() => (harness.BEHAVIOR_NAMES as string[]).splice(0)).toThrow(TypeError);
    expect(harness.BEHAVIOR_NAMES).toContain('reset-on-accept');
  });
});
