/**
 * capcat: read a capture (path or `-` for stdin) with the project's reader and print one line per packet
 * (`n caplen wirelen iface linktype time_epoch sha1-of-bytes`), then `end packets=N`. On a file fault it
 * prints the error on stderr and exits 2 (after printing the packets before the fault). Used by the
 * stdin/pipe tests; handy for looking at a capture.
 *
 *   node dist/src/io/cat-cli.js FILE|-
 */
import { createHash } from 'node:crypto';
import { Batch } from '../core/batch';
import { InputError } from '../core/errors';
import { openCapture } from './reader';
import { formatEpoch } from './timestamps';

/** List a capture; returns the exit status (0, or 2 on bad input). */
export function catCapture(path: string, out: (s: string) => void, err: (s: string) => void): number {
  let reader;
  try {
    reader = openCapture(path);
  } catch (e) {
    if (e instanceof InputError) {
      err(e.message + '\n');
      return 2;
    }
    throw e;
  }
  const b = new Batch();
  while (reader.next(b) > 0) {
    const lines: string[] = [];
    for (let i = 0; i < b.count; i++) {
      const sha = createHash('sha1').update(b.packet(i)).digest('hex');
      const epoch = formatEpoch(b, i, reader.interfaces[b.iface[i]]);
      lines.push(`${b.firstNumber + i}\t${b.caplen[i]}\t${b.wirelen[i]}\t${b.iface[i]}\t${b.linktype[i]}\t${epoch}\t${sha}\n`);
    }
    out(lines.join(''));
  }
  out(`end packets=${reader.packetsRead}\n`);
  reader.close();
  if (reader.error) {
    err(reader.error.message + '\n');
    return 2;
  }
  return 0;
}

if (require.main === module) {
  const path = process.argv[2];
  if (path === undefined) {
    process.stderr.write('usage: cat-cli FILE|-\n');
    process.exitCode = 2;
  } else {
    process.exitCode = catCapture(path, (s) => process.stdout.write(s), (s) => process.stderr.write(s));
  }
}
