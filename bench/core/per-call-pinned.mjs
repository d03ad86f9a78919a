// The per-call section in a process of its own, pinned to one CPU by run.mjs (see pin.mjs):
//   node per-call-pinned.mjs DIR SEED ROUNDS   -> the result as JSON on stdout, progress on stderr
import { perCall } from './per-call.mjs';

const [dir, seed, rounds] = process.argv.slice(2);
const result = await perCall({ dir, seed: Number(seed), rounds: Number(rounds), log: (line) => console.error(line) });
process.stdout.write(JSON.stringify(result));
process.exit(0);
