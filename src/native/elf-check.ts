// A look at an ELF binary before the dynamic loader maps it. glibc's dlopen() of a truncated file
// maps segments past its end and the process dies of SIGBUS at the first touch (an interrupted
// build or a full disk leaves such a file); a binary for another machine gets a misleading "No such
// file or directory". Both become a reason for JavaScript-only mode instead.
import fs from 'node:fs';

// e_machine of each Node architecture (elf.h).
const MACHINES: Readonly<Record<string, number>> = {
  x64: 62, // EM_X86_64
  arm64: 183, // EM_AARCH64
  ia32: 3, // EM_386
  arm: 40, // EM_ARM
  ppc64: 21, // EM_PPC64
  s390x: 22, // EM_S390
  riscv64: 243, // EM_RISCV
  loong64: 258, // EM_LOONGARCH
  mips: 8, // EM_MIPS
  mipsel: 8,
};
const NAMES: Readonly<Record<number, string>> = Object.fromEntries(
  Object.entries(MACHINES).map(([arch, machine]) => [machine, arch === 'mipsel' ? 'mips' : arch]),
);
const PT_LOAD = 1;
// Enough for the ELF header and the program headers of any addon (a few dozen entries).
const HEAD_BYTES = 8192;

/**
 * Why `file` cannot be loaded here, or null when nothing is wrong that this can see (also for a
 * file that is not ELF: Mach-O, XCOFF, or no binary at all, which the loader reports itself).
 */
export function elfProblem(file: string, arch: string = process.arch): string | null {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch {
    return null; // the loader says why (missing file, no permission)
  }
  try {
    const size = fs.fstatSync(fd).size;
    const head = Buffer.alloc(Math.min(HEAD_BYTES, size));
    fs.readSync(fd, head, 0, head.length, 0);
    if (head.length < 4 || head.readUInt32BE(0) !== 0x7f454c46) return null;
    if (head.length < 64) return `truncated: ${size} bytes, shorter than an ELF header`;
    const wide = head[4] === 2; // ELFCLASS64
    const little = head[5] === 1; // ELFDATA2LSB
    const u16 = (at: number) => (little ? head.readUInt16LE(at) : head.readUInt16BE(at));
    const u32 = (at: number) => (little ? head.readUInt32LE(at) : head.readUInt32BE(at));
    const word = (at: number) => (wide ? Number(little ? head.readBigUInt64LE(at) : head.readBigUInt64BE(at)) : u32(at));

    const machine = u16(18);
    const expected = MACHINES[arch];
    if (expected !== undefined && machine !== expected) {
      return `built for ${NAMES[machine] ?? `ELF machine ${machine}`}, this process is ${arch}`;
    }
    const phoff = word(wide ? 32 : 28);
    const shoff = word(wide ? 40 : 32);
    const phentsize = u16(wide ? 54 : 42);
    const phnum = u16(wide ? 56 : 44);
    const shentsize = u16(wide ? 58 : 46);
    const shnum = u16(wide ? 60 : 48);
    let needed = Math.max(phoff + phnum * phentsize, shnum > 0 ? shoff + shnum * shentsize : 0);
    // Each loadable segment's bytes in the file: what dlopen() maps and touches.
    for (let i = 0; i < phnum && phoff + (i + 1) * phentsize <= head.length; i++) {
      const at = phoff + i * phentsize;
      if (u32(at) !== PT_LOAD) continue;
      const offset = word(at + (wide ? 8 : 4));
      const fileSize = word(at + (wide ? 32 : 16));
      needed = Math.max(needed, offset + fileSize);
    }
    return size < needed ? `truncated: ${size} bytes, its ELF headers need ${needed}` : null;
  } catch {
    return null;
  } finally {
    fs.closeSync(fd);
  }
}
