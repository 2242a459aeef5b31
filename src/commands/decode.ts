/**
 * `vfp-emu decode TRACE [--format tsv|jsonl] [--vxlan-port P]...`: one line per packet with its decoded
 * fields (columns: DESIGN.md CONTRACT; text forms: decode/format.ts).
 *
 * Uses:  io/reader.ts (openCapture: pcap or pcapng, `-` for stdin) into one reused Batch,
 *        decode/decoder.ts, decode/format.ts.
 * Sets:  writes the rows to `out` (default: core/stdout.ts writeStdout) in chunks of CHUNK characters;
 *        the writes are synchronous, so a slow reader of stdout holds us back and memory stays flat.
 * Exit:  0 done; 2 bad input: every packet read before the fault is written first, then the reader's
 *        message (it names the file and the byte offset; control and bidi characters in it, from the file
 *        name, shown as escapes by core/safe-text.ts safeMessage) goes to `err`. A closed stdout ends the run
 *        (StdoutClosed, thrown by `out`, reaches the CLI, which ends quietly with status 0); any other
 *        write failure is thrown as `out` threw it (the CLI: exit 2 naming stdout and the errno).
 *
 * `node dist/src/commands/decode.js TRACE --format tsv` runs as `vfp-emu decode` (through the CLI).
 */

import { Batch } from '../core/batch';
import { InputError, UsageError } from '../core/errors';
import { safeMessage } from '../core/safe-text';
import { decodeBatch, DecodeOptions } from '../decode/decoder';
import { formatJsonRow, formatTsvRow, TSV_HEADER } from '../decode/format';
import { openCapture } from '../io/reader';
import { writeStdout } from '../core/stdout';

interface DecodeArgs {
  trace: string;
  format: 'tsv' | 'jsonl';
  /** UDP ports that carry VXLAN besides 4789. */
  vxlanPorts: number[];
  /**
   * A record whose caplen exceeds its interface's snaplen is bad input (exit 2), as issue 2 asks; false
   * accepts it as tshark and tcpdump do (`--lenient-snaplen`). Default true.
   */
  strictSnaplen?: boolean;
}

/** Rows are handed to `out` in chunks of about this many characters. */
const CHUNK = 1 << 18;

/**
 * Decodes `args.trace` and writes one row per packet to `out`; resolves to the exit status (0, or 2 when
 * the input is bad, after writing every packet read before the fault and the message to `err`).
 * Throws UsageError for a bad format or port (the CLI prints it and exits 2), and what `out` throws.
 */
export async function runDecode(
  args: DecodeArgs,
  out: (text: string) => void = writeStdout,
  err: (text: string) => void = (text) => process.stderr.write(text),
): Promise<number> {
  if (args.format !== 'tsv' && args.format !== 'jsonl') throw new UsageError(`--format takes tsv or jsonl, not '${String(args.format)}'`);
  for (const p of args.vxlanPorts) {
    if (!Number.isInteger(p) || p < 1 || p > 65535) throw new UsageError(`--vxlan-port takes a UDP port 1..65535, not '${String(p)}'`);
  }
  const opts: DecodeOptions = { vxlanPorts: args.vxlanPorts };
  const tsv = args.format === 'tsv';
  let reader;
  try {
    reader = openCapture(args.trace, { strictSnaplen: args.strictSnaplen ?? true });
  } catch (e) {
    if (e instanceof InputError) {
      err(`vfp-emu: ${safeMessage(e.message)}\n`);
      return 2;
    }
    throw e;
  }
  const batch = new Batch();
  let buf = tsv ? TSV_HEADER : '';
  try {
    for (;;) {
      const n = reader.next(batch);
      if (n === 0) break;
      decodeBatch(batch, opts);
      const first = batch.firstNumber;
      for (let i = 0; i < batch.count; i++) {
        buf += tsv ? formatTsvRow(batch, i, first + i) : formatJsonRow(batch, i, first + i, opts);
        if (buf.length >= CHUNK) {
          out(buf);
          buf = '';
        }
      }
    }
    if (buf.length > 0) out(buf);
  } finally {
    reader.close();
  }
  if (reader.error !== null) {
    err(`vfp-emu: ${safeMessage(reader.error.message)}\n`);
    return 2;
  }
  return 0;
}

if (require.main === module) {
  // `node decode.js ARGS` runs as `vfp-emu decode ARGS`: the CLI's stdout handling and exit statuses.
  void import('../cli').then((cli) => cli.runAsMain(['decode', ...process.argv.slice(2)]));
}
