// The pieces of `npm run check:platforms` that decide what passes, tested without zig (the check
// itself, with its audit self-test, is CI step 65): the Node-API allow-list read from the local
// headers, and the Mach-O import reader, given a file built here byte by byte.
import { createRequire } from 'node:module';
import path from 'node:path';

import { describe, expect, it } from 'vitest';

import { root } from '../helpers/sockclose.js';

const require = createRequire(import.meta.url);
const { nodeApiFunctions } = require(path.join(root, 'scripts', 'platforms', 'node-api-symbols.js')) as {
  nodeApiFunctions(include: string, version: number): Set<string>;
};
const { machoImports } = require(path.join(root, 'scripts', 'platforms', 'macho-imports.js')) as {
  machoImports(buffer: Buffer): { arch: string; filetype: string; twoLevel: boolean; dylibs: string[]; imports: Array<{ name: string; from: string }> };
};
const { nodeHeadersDir } = require(path.join(root, 'scripts', 'node-gyp.js')) as { nodeHeadersDir(): string | null };

describe('the Node-API allow-list', () => {
  // The running Node's headers, else the system's (the version matrix's Node binaries have none).
  const include = nodeHeadersDir() ?? path.resolve(path.dirname(process.execPath), '..', 'include', 'node');
  const v8 = nodeApiFunctions(include, 8);

  it('holds what NAPI_VERSION 8 declares, attributes and all', () => {
    expect(v8.has('napi_create_object')).toBe(true); // 1
    expect(v8.has('napi_get_uv_event_loop')).toBe(true); // 2
    expect(v8.has('napi_set_instance_data')).toBe(true); // 6
    expect(v8.has('napi_object_freeze')).toBe(true); // 8
    expect(v8.has('napi_fatal_error')).toBe(true); // declared NAPI_NO_RETURN
  });

  it('leaves out what later versions add, and what is only a type', () => {
    expect(v8.has('node_api_symbol_for')).toBe(false); // 9
    expect(nodeApiFunctions(include, 9).has('node_api_symbol_for')).toBe(true);
    expect(nodeApiFunctions(include, 5).has('napi_object_freeze')).toBe(false);
    expect(v8.has('napi_finalize')).toBe(false); // a function-pointer type
  });
});

/** A 64-bit Mach-O bundle with two dylibs and the given undefined symbols (name, library ordinal). */
function machO(symbols: Array<[string, number]>, { flags = 0x80, cputype = 0x0100000c } = {}): Buffer {
  const dylibs = ['/usr/lib/libSystem.B.dylib', '/usr/lib/libc++.1.dylib'];
  const dylibCommands = dylibs.map((name) => {
    const size = Math.ceil((24 + name.length + 1) / 8) * 8;
    const command = Buffer.alloc(size);
    command.writeUInt32LE(0xc, 0); // LC_LOAD_DYLIB
    command.writeUInt32LE(size, 4);
    command.writeUInt32LE(24, 8); // name offset
    command.write(name, 24, 'latin1');
    return command;
  });
  const symtab = Buffer.alloc(24);
  const commands = Buffer.concat([...dylibCommands, symtab]);
  const header = Buffer.alloc(32);
  header.writeUInt32LE(0xfeedfacf, 0);
  header.writeUInt32LE(cputype, 4);
  header.writeUInt32LE(8, 12); // MH_BUNDLE
  header.writeUInt32LE(dylibs.length + 1, 16);
  header.writeUInt32LE(commands.length, 20);
  header.writeUInt32LE(flags, 24);

  const all: Array<[string, number, number]> = [
    ['_defined_here', 0x0f, 0], // N_SECT | N_EXT: an export, not an import
    ['_a_stab', 0x24, 0], // N_FUN debugging entry
    ...symbols.map(([name, ordinal]): [string, number, number] => [name, 0x01, ordinal]),
  ];
  let strings = '\0';
  const nlist = Buffer.alloc(16 * all.length);
  all.forEach(([name, type, ordinal], i) => {
    nlist.writeUInt32LE(strings.length, i * 16);
    nlist[i * 16 + 4] = type;
    nlist.writeUInt16LE(ordinal << 8, i * 16 + 6);
    strings += `${name}\0`;
  });
  const symoff = header.length + commands.length;
  const symtabAt = header.length + dylibCommands.reduce((sum, c) => sum + c.length, 0);
  const file = Buffer.concat([header, commands, nlist, Buffer.from(strings, 'latin1')]);
  file.writeUInt32LE(0x2, symtabAt); // LC_SYMTAB
  file.writeUInt32LE(24, symtabAt + 4);
  file.writeUInt32LE(symoff, symtabAt + 8);
  file.writeUInt32LE(all.length, symtabAt + 12);
  file.writeUInt32LE(symoff + nlist.length, symtabAt + 16);
  file.writeUInt32LE(strings.length, symtabAt + 20);
  return file;
}

describe('the Mach-O import reader', () => {
  it('names where each import comes from, by library ordinal', () => {
    const image = machoImports(
      machO([
        ['_memcpy', 1],
        ['__Znwm', 2],
        ['_napi_create_object', 0xfe],
        ['_weird', 7],
      ]),
    );
    expect(image).toMatchObject({ arch: 'arm64', filetype: 'bundle', twoLevel: true });
    expect(image.dylibs).toEqual(['/usr/lib/libSystem.B.dylib', '/usr/lib/libc++.1.dylib']);
    expect(image.imports).toEqual([
      { name: '_memcpy', from: '/usr/lib/libSystem.B.dylib' },
      { name: '__Znwm', from: '/usr/lib/libc++.1.dylib' },
      { name: '_napi_create_object', from: 'dynamic_lookup' },
      { name: '_weird', from: 'library ordinal 7' },
    ]);
  });

  it('reports a flat namespace, where ordinals mean nothing', () => {
    expect(machoImports(machO([['_x', 0xfe]], { flags: 0 })).twoLevel).toBe(false);
  });

  it('refuses what is not a 64-bit Mach-O file', () => {
    expect(() => machoImports(Buffer.from('\x7fELF\x02\x01\x01\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0', 'latin1'))).toThrow(
      /not a 64-bit little-endian Mach-O/,
    );
  });
});
