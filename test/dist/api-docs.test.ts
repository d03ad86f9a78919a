// The API reference generator reads declaration files itself (TypeScript 7 has no JavaScript API
// for typedoc): its statement splitter and doc-comment parser, on the shapes tsc writes.
import { createRequire } from 'node:module';
import path from 'node:path';

import { describe, expect, it } from 'vitest';

import { root } from '../helpers/sockclose.js';

const require = createRequire(import.meta.url);

interface ParsedDoc {
  summary: string;
  params: { name: string; description: string }[];
  returns: string;
  throws: string[];
  examples: string[];
}
const docs = require(path.join(root, 'scripts/dist/api-docs.js')) as {
  statements(source: string): { doc: string | null; text: string }[];
  parseDoc(comment: string | null): ParsedDoc;
  render(manifest?: unknown): Record<string, string>;
};

describe('api-docs', () => {
  it('splits declarations, keeping each one with its own doc comment', () => {
    const source = [
      "export { a, type B } from './a.js';",
      '/** Options. */',
      'export interface Options {',
      '    /** Seconds; a brace in a string: "}" */',
      "    seconds?: number | '}';",
      '}',
      '// a line comment, then an undocumented declaration',
      'type Hidden = { x: string };',
      '/** Resets. */',
      'export declare function reset(target: { fd: number }): void;',
    ].join('\n');
    const list = docs.statements(source);
    expect(list.map((statement) => statement.text.split('\n')[0])).toEqual([
      "export { a, type B } from './a.js';",
      'export interface Options {',
      'type Hidden = { x: string };',
      'export declare function reset(target: { fd: number }): void;',
    ]);
    expect(list.map((statement) => statement.doc)).toEqual([null, '/** Options. */', null, '/** Resets. */']);
  });

  it('reads summary, params, returns, throws and fenced examples (a "@" inside the fence stays code)', () => {
    const doc = docs.parseDoc(
      [
        '/**',
        ' * Sets SO_LINGER.',
        ' *',
        ' * @param target - A socket.',
        ' * @param seconds - `false`, or 0 to 65535.',
        ' * @returns Nothing.',
        ' * @throws `ERR_SOCKCLOSE_CLOSED` if destroyed.',
        ' * @example',
        ' * ```ts',
        " * // @ts-check: still the example's code",
        ' * setLinger(socket, 0);',
        ' * ```',
        ' */',
      ].join('\n'),
    );
    expect(doc.summary).toBe('Sets SO_LINGER.');
    expect(doc.params).toEqual([
      { name: 'target', description: 'A socket.' },
      { name: 'seconds', description: '`false`, or 0 to 65535.' },
    ]);
    expect(doc.returns).toBe('Nothing.');
    expect(doc.throws).toEqual(['`ERR_SOCKCLOSE_CLOSED` if destroyed.']);
    expect(doc.examples).toEqual(["```ts\n// @ts-check: still the example's code\nsetLinger(socket, 0);\n```"]);
  });

  it('documents every export of the built package, each with its doc comment', () => {
    const pages = docs.render();
    const index = pages['index.md']!;
    for (const name of ['hardReset', 'peekSocketError', 'takeSocketError', 'inspectSocket', 'setLinger', 'getLinger', 'shutdownWrite', 'socketFd', 'closeWouldReset', 'capabilities', 'ErrorCodes', 'SocketInspection']) {
      expect(index).toContain(`### ${name}\n`);
    }
    // Every export's section has a summary right after its signature: no undocumented export.
    const sections = index.split('\n### ').slice(1);
    const summaryAfterSignature = (section: string) => {
      const afterCode = section.split('```').slice(2).join('```').trim();
      return afterCode !== '' && !/^(\||\*\*|#)/.test(afterCode);
    };
    const undocumented = sections.filter((section) => !summaryAfterSignature(section)).map((section) => section.split('\n')[0]);
    expect(undocumented).toEqual([]);
  });
});
