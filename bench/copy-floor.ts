/**
 * The I/O floor of a replay in Node, for bench/e2e.ts: reads a capture file in 1 MiB chunks and writes
 * `bytes` bytes to an output file (spread over the chunks as a replay spreads its output over the input),
 * with no processing at all. No `vfp-emu replay` that reads that input and writes that much output can
 * run faster than this on the same machine.
 *
 *   node dist/bench/copy-floor.js INPUT OUTPUT BYTES
 */
import * as fs from 'node:fs';

const [input, output, bytesArg] = process.argv.slice(2);
const total = Number(bytesArg);
if (!input || !output || !(total >= 0)) {
  console.error('usage: copy-floor INPUT OUTPUT BYTES');
  process.exit(2);
}
const size = fs.statSync(input).size;
const chunk = 1 << 20;
const buf = Buffer.allocUnsafe(chunk * 4);
const inFd = fs.openSync(input, 'r');
const outFd = fs.openSync(output, 'w');
let read = 0;
let written = 0;
for (;;) {
  const n = fs.readSync(inFd, buf, 0, chunk, null);
  if (n === 0) break;
  read += n;
  // the output owed so far, in proportion to the input read
  const owed = Math.min(total, Math.round((total * read) / size)) - written;
  for (let left = owed; left > 0; ) {
    const k = Math.min(left, buf.length);
    left -= fs.writeSync(outFd, buf, 0, k);
  }
  written += owed;
}
fs.closeSync(inFd);
fs.closeSync(outFd);
