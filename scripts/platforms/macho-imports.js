// Reads what a 64-bit Mach-O file imports: the dylibs it loads and, for each undefined external
// symbol in its symbol table, where dyld will look for it. Under the two-level namespace every
// import carries a library ordinal (mach-o/loader.h, nlist.h: GET_LIBRARY_ORDINAL(n_desc)):
// 1..n = the n-th LC_LOAD_*DYLIB, 0xfe = DYNAMIC_LOOKUP_ORDINAL (what `-undefined dynamic_lookup`
// gives a symbol no linked library exported: resolved in the loading process, here Node).
// Written from the documented file format, so that the check needs no LLVM tools.
'use strict';

const MH_MAGIC_64 = 0xfeedfacf;
const MH_TWOLEVEL = 0x80;
const LC_SYMTAB = 0x2;
const LC_REQ_DYLD = 0x80000000;
const DYLIB_COMMANDS = new Set([0xc, 0x18 | LC_REQ_DYLD, 0x1f | LC_REQ_DYLD, 0x20, 0x23 | LC_REQ_DYLD]);
const N_STAB = 0xe0;
const N_TYPE = 0x0e;
const N_UNDF = 0x0;
const N_EXT = 0x01;
const DYNAMIC_LOOKUP_ORDINAL = 0xfe;
const CPU = { 0x01000007: 'x86_64', 0x0100000c: 'arm64' };
const FILETYPE = { 1: 'object', 2: 'execute', 6: 'dylib', 8: 'bundle' };

function cString(buffer, offset) {
  const end = buffer.indexOf(0, offset);
  return buffer.toString('latin1', offset, end < 0 ? buffer.length : end);
}

/**
 * @param {Buffer} buffer a thin (single-architecture) 64-bit little-endian Mach-O file
 * @returns {{arch, filetype, twoLevel, dylibs: string[], imports: Array<{name, from}>}} `from` is
 *   a dylib path, or 'dynamic_lookup', or a description of an ordinal that means something else
 */
function machoImports(buffer) {
  if (buffer.length < 32 || buffer.readUInt32LE(0) !== MH_MAGIC_64) {
    throw new Error('not a 64-bit little-endian Mach-O file');
  }
  const cputype = buffer.readUInt32LE(4);
  const filetype = buffer.readUInt32LE(12);
  const ncmds = buffer.readUInt32LE(16);
  const flags = buffer.readUInt32LE(24);
  const dylibs = [];
  let symtab = null;
  let offset = 32;
  for (let i = 0; i < ncmds; i++) {
    const cmd = buffer.readUInt32LE(offset);
    const size = buffer.readUInt32LE(offset + 4);
    if (size < 8 || offset + size > buffer.length) throw new Error(`load command ${i} overruns the file`);
    if (DYLIB_COMMANDS.has(cmd)) dylibs.push(cString(buffer, offset + buffer.readUInt32LE(offset + 8)));
    if (cmd === LC_SYMTAB) {
      symtab = {
        symoff: buffer.readUInt32LE(offset + 8),
        nsyms: buffer.readUInt32LE(offset + 12),
        stroff: buffer.readUInt32LE(offset + 16),
      };
    }
    offset += size;
  }
  if (!symtab) throw new Error('no LC_SYMTAB: cannot list imports');
  const imports = [];
  for (let i = 0; i < symtab.nsyms; i++) {
    const entry = symtab.symoff + i * 16; // struct nlist_64
    const type = buffer[entry + 4];
    if ((type & N_STAB) !== 0 || (type & N_TYPE) !== N_UNDF || (type & N_EXT) === 0) continue;
    const ordinal = (buffer.readUInt16LE(entry + 6) >> 8) & 0xff;
    const name = cString(buffer, symtab.stroff + buffer.readUInt32LE(entry));
    let from;
    if (ordinal === DYNAMIC_LOOKUP_ORDINAL) from = 'dynamic_lookup';
    else if (ordinal >= 1 && ordinal <= dylibs.length) from = dylibs[ordinal - 1];
    else from = `library ordinal ${ordinal}`;
    imports.push({ name, from });
  }
  return {
    arch: CPU[cputype] ?? `cputype 0x${cputype.toString(16)}`,
    filetype: FILETYPE[filetype] ?? `filetype ${filetype}`,
    twoLevel: (flags & MH_TWOLEVEL) !== 0,
    dylibs,
    imports,
  };
}

module.exports = { machoImports };
