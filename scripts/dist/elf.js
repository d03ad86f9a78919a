// Reads a binary's header ourselves instead of trusting `file` or a folder name: the format (a
// "linux" prebuild that is really Mach-O is a known failure of other addons), the ELF class,
// byte order, type and machine, and whether a symbol table or debug sections survived --strip.
'use strict';
const fs = require('node:fs');

/** e_machine values (from the System V ABI / elf.h) for the architectures Node ships. */
const EM = { EM_386: 3, EM_PPC: 20, EM_PPC64: 21, EM_S390: 22, EM_ARM: 40, EM_X86_64: 62, EM_AARCH64: 183, EM_RISCV: 243 };

/** The e_machine a Linux binary for `process.arch`-style `arch` must carry. */
const MACHINE_FOR_ARCH = { ia32: EM.EM_386, x64: EM.EM_X86_64, arm: EM.EM_ARM, arm64: EM.EM_AARCH64, ppc64: EM.EM_PPC64, s390x: EM.EM_S390, riscv64: EM.EM_RISCV };

const MACHINE_NAMES = Object.fromEntries(Object.entries(EM).map(([name, value]) => [value, name]));
const ET_DYN = 3;

/**
 * Describes the binary at `file`: `{ format, bits, littleEndian, type, machine, machineName,
 * sharedObject, sections, stripped }`. `format` is 'ELF', 'Mach-O', 'PE' or 'unknown'; the other
 * fields are set for ELF only.
 */
function describeBinary(file) {
  const buffer = fs.readFileSync(file);
  if (buffer.length >= 4 && buffer.readUInt32BE(0) === 0x7f454c46) return describeElf(buffer);
  const magic = buffer.length >= 4 ? buffer.readUInt32BE(0) : 0;
  if ([0xfeedface, 0xfeedfacf, 0xcefaedfe, 0xcffaedfe, 0xcafebabe].includes(magic)) return { format: 'Mach-O' };
  if (buffer.length >= 2 && buffer.toString('latin1', 0, 2) === 'MZ') return { format: 'PE' };
  return { format: 'unknown' };
}

function describeElf(buffer) {
  const bits = buffer[4] === 2 ? 64 : buffer[4] === 1 ? 32 : null;
  const littleEndian = buffer[5] === 1;
  if (bits === null || (buffer[5] !== 1 && buffer[5] !== 2)) return { format: 'ELF', bits, littleEndian, machine: null };
  const u16 = (offset) => (littleEndian ? buffer.readUInt16LE(offset) : buffer.readUInt16BE(offset));
  const u32 = (offset) => (littleEndian ? buffer.readUInt32LE(offset) : buffer.readUInt32BE(offset));
  const word = (offset) => (bits === 64 ? Number(littleEndian ? buffer.readBigUInt64LE(offset) : buffer.readBigUInt64BE(offset)) : u32(offset));

  const type = u16(16);
  const machine = u16(18);
  // Section headers: e_shoff, e_shentsize, e_shnum, e_shstrndx sit at class-dependent offsets.
  const shoff = word(bits === 64 ? 0x28 : 0x20);
  const shentsize = u16(bits === 64 ? 0x3a : 0x2e);
  const shnum = u16(bits === 64 ? 0x3c : 0x30);
  const shstrndx = u16(bits === 64 ? 0x3e : 0x32);
  const sections = [];
  if (shoff > 0 && shnum > 0 && shstrndx < shnum && shoff + shnum * shentsize <= buffer.length) {
    const header = (index) => shoff + index * shentsize;
    const nameOffset = (index) => u32(header(index));
    const sectionOffset = (index) => word(header(index) + (bits === 64 ? 0x18 : 0x10));
    const names = sectionOffset(shstrndx);
    for (let index = 0; index < shnum; index++) {
      const start = names + nameOffset(index);
      const end = buffer.indexOf(0, start);
      if (start < buffer.length && end > start) sections.push(buffer.toString('latin1', start, end));
    }
  }
  const stripped = !sections.includes('.symtab') && !sections.some((name) => name.startsWith('.debug'));
  return {
    format: 'ELF',
    bits,
    littleEndian,
    type,
    sharedObject: type === ET_DYN,
    machine,
    machineName: MACHINE_NAMES[machine] ?? `unknown (${machine})`,
    sections,
    stripped,
  };
}

/**
 * Problems with `file` as a stripped Linux shared object for `arch` (an empty list when it is one).
 * `expectStripped`: also require that no symbol table or debug section is left.
 */
function checkLinuxBinary(file, arch, { expectStripped = true } = {}) {
  const expected = MACHINE_FOR_ARCH[arch];
  if (expected === undefined) return [`no known ELF machine for arch ${arch}`];
  const info = describeBinary(file);
  const problems = [];
  if (info.format !== 'ELF') return [`${file} is ${info.format}, not ELF`];
  if (info.machine !== expected) {
    problems.push(`${file}: e_machine ${info.machine} (${info.machineName}), expected ${expected} (${MACHINE_NAMES[expected]}) for ${arch}`);
  }
  if (!info.littleEndian && ['x64', 'arm64', 'ia32', 'arm', 'riscv64'].includes(arch)) problems.push(`${file}: big-endian ELF for ${arch}`);
  if (info.bits !== (['ia32', 'arm'].includes(arch) ? 32 : 64)) problems.push(`${file}: ELF class ${info.bits}-bit for ${arch}`);
  if (!info.sharedObject) problems.push(`${file}: ELF type ${info.type}, expected ET_DYN (a shared object)`);
  if (expectStripped && !info.stripped) problems.push(`${file}: not stripped (has .symtab or .debug_* sections)`);
  return problems;
}

module.exports = { EM, MACHINE_FOR_ARCH, checkLinuxBinary, describeBinary };
