/**
 * capcat: read a capture (path or `-` for stdin) with the project's reader and print one line per packet
 * (`n caplen wirelen iface linktype time_epoch sha1-of-bytes`), then `end packets=N`. On a file fault it
 * prints the error on stderr and exits 2. Used by the stdin/pipe tests; handy for debugging a capture.
 *
 *   node dist/src/io/cat-cli.js FILE|-
 */
import { createHash } from 'node:crypto';
import { Batch } from '../core/batch';
import { InputError } from '../core/errors';
import { openCapture } from './reader';
import { formatEpoch } from './timestamps';

function main(argv: string[]): number {
  const path = argv[0];
  if (path === undefined) {
    process.stderr.write('usage: cat-cli FILE|-\n');
    return 2;
  }
  const lines: string[] = [];
  try {
    const r = openCapture(path);
    const b = new Batch();
    while (r.next(b) > 0) {
      for (let i = 0; i < b.count; i++) {
        const sha = createHash('sha1').update(b.packet(i)).digest('hex');
        lines.push(`${b.firstNumber + i}\t${b.caplen[i]}\t${b.wirelen[i]}\t${b.iface[i]}\t${b.linktype[i]}\t${formatEpoch(b, i, r.interfaces[b.iface[i]])}\t${sha}`);
      }
    }
    lines.push(`end packets=${r.packetsRead}`);
    process.stdout.write(lines.join('\n') + '\n');
    r.close();
    if (r.error) throw r.error;
    return 0;
  } catch (e) {
    if (e instanceof InputError) {
      process.stderr.write(e.message + '\n');
      return 2;
    }
    throw e;
  }
}

process.exitCode = main(process.argv.slice(2));
