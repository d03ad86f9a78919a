// What the numbers were measured on: printed with every run, so a table is never read without it.
import fs from 'node:fs';
import os from 'node:os';

import { gccVersion } from './build-c.mjs';

export function machine(sockclose) {
  const cpus = os.cpus();
  return {
    date: new Date().toISOString(),
    cpu: `${cpus[0]?.model ?? 'unknown'} × ${cpus.length}`,
    kernel: `${os.type()} ${os.release()} ${os.arch()}`,
    memory: `${Math.round(os.totalmem() / 2 ** 30)} GiB`,
    node: process.version,
    v8: process.versions.v8,
    uv: process.versions.uv,
    gcc: gccVersion(),
    binary: sockclose.capabilities().binary,
    loadAverage: os.loadavg().map((value) => value.toFixed(2)).join(' '),
    mitigations: spectre(),
  };
}

// Syscall cost depends heavily on the CPU's speculative-execution mitigations (on these AMD VMs,
// "Safe RET" alone makes every syscall several hundred ns): name the ones in force.
function spectre() {
  const dir = '/sys/devices/system/cpu/vulnerabilities';
  try {
    const active = fs
      .readdirSync(dir)
      .filter((name) => fs.readFileSync(`${dir}/${name}`, 'utf8').startsWith('Mitigation'))
      .map((name) => `${name}: ${fs.readFileSync(`${dir}/${name}`, 'utf8').trim().replace(/^Mitigation: /, '').split(';')[0]}`);
    return active.join('; ') || 'none';
  } catch {
    return 'unknown';
  }
}
