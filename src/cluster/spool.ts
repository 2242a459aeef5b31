/**
 * A kubectl List given on standard input (`--cluster -`) or through a FIFO (`<(kubectl get ... -o json)`) is
 * streamed as a regular file is (issue 12 leftovers; stream-list.ts): never held whole, with the same errors.
 *
 * The streamed reader reads a List twice (a validating scan that finds the `items` elements, then each
 * element alone, once the envelope after them says it is a List: kubectl prints `kind` after `items`), and a
 * pipe can be read once: so the stream is copied, as it arrives, into a temporary file (a folder of its own
 * under os.tmpdir(), readable by its owner only, removed when the cluster is loaded), scanned by json-scan.ts
 * and hashed (the summary fingerprint, load.ts) in the same pass; the second pass reads the copy. Memory
 * stays one chunk and one element, whatever the stream's size; the disk holds the copy meanwhile.
 *
 * What is streamed is decided from the first 64 KiB, as for a file (stream-list.ts streamStart): a first
 * character `{` (after a UTF-8 byte-order mark and blanks). Anything else (YAML, UTF-16, PowerShell output,
 * a capture given by mistake, `/dev/zero`) is read whole as before, bounded by --max-config-bytes.
 * Once the scan finds the text is no JSON, the copy goes on only to --max-config-bytes + 1 bytes (so a stream
 * that never ends, `yes '{'`, stops there): the copy then answers exactly as the file would (under the cap:
 * the whole-text reader's error; over it: the scan's byte offset, line and column). A stream that stays
 * valid JSON is copied until it ends.
 */

import type { Hash } from 'node:crypto';
import { closeSync, mkdtempSync, openSync, readSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { JsonScanError, ListScan } from './json-scan';
import { streamStart } from './stream-list';

const CHUNK = 4 << 20;
const HEAD = 1 << 16;

/** Sleeps `ms` milliseconds on this thread (a non-blocking stdin that has no data yet). */
function pause(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** One read of a stream (its current position), waiting while a non-blocking one has no data yet: 0 at its end. */
export function readStream(fd: number, buf: Uint8Array, off: number, len: number): number {
  for (;;) {
    try {
      return readSync(fd, buf, off, len, null);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EAGAIN') throw e;
      pause(5);
    }
  }
}

/** The stream's first HEAD bytes (fewer at its end). */
function readHead(fd: number): Buffer {
  const head = Buffer.allocUnsafe(HEAD);
  let got = 0;
  while (got < HEAD) {
    const n = readStream(fd, head, got, HEAD - got);
    if (n === 0) break;
    got += n;
  }
  return head.subarray(0, got);
}

/** A stream copied to a temporary file: its path, size, and the scan of it (or the scan's first error). */
export interface Spool {
  path: string;
  size: number;
  scan: ListScan | JsonScanError;
  /** Removes the copy and its folder. */
  remove(): void;
}

/** The copy under way: the temporary file, the scan, the bytes so far. */
class Copy {
  readonly dir = mkdtempSync(path.join(tmpdir(), 'vfp-emu-cluster-'));
  readonly path = path.join(this.dir, 'stream.json');
  readonly fd = openSync(this.path, 'wx', 0o600);
  readonly scan = new ListScan();
  error: JsonScanError | null = null;
  size = 0;

  constructor(
    readonly bom: number,
    readonly hash: Hash,
  ) {}

  /** Appends `bytes` to the copy, the hash and the scan (the byte-order mark is hashed, not scanned). */
  add(bytes: Uint8Array): void {
    let off = 0;
    while (off < bytes.length) off += writeSync(this.fd, bytes, off, bytes.length - off);
    this.hash.update(bytes);
    const from = Math.max(0, this.bom - this.size);
    if (this.error === null && from < bytes.length) {
      try {
        this.scan.feed(bytes.subarray(from), this.size + from);
      } catch (e) {
        if (!(e instanceof JsonScanError)) throw e;
        this.error = e;
      }
    }
    this.size += bytes.length;
  }

  remove(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/**
 * Reads stream `fd` (see the module comment): null, with `head` its first bytes, when it is to be read whole;
 * else its copy, every byte read hashed into `hash`. `max` is --max-config-bytes.
 */
export function spoolStream(fd: number, max: number, hash: Hash): { spool: Spool } | { head: Buffer } {
  const head = readHead(fd);
  const start = streamStart(head);
  if (start === null) return { head };
  const copy = new Copy(start.bom, hash);
  try {
    copy.add(head);
    const buf = Buffer.allocUnsafe(CHUNK);
    // after a scan error, only as far as the whole-text reader would read (max + 1 bytes)
    for (let n = head.length; n > 0 && (copy.error === null || copy.size <= max); ) {
      n = readStream(fd, buf, 0, copy.error === null ? CHUNK : Math.min(CHUNK, max + 1 - copy.size));
      if (n > 0) copy.add(buf.subarray(0, n));
    }
    if (copy.error === null) {
      try {
        copy.scan.finish(copy.size);
      } catch (e) {
        if (!(e instanceof JsonScanError)) throw e;
        copy.error = e;
      }
    }
  } catch (e) {
    copy.remove();
    throw e;
  } finally {
    closeSync(copy.fd);
  }
  return { spool: { path: copy.path, size: copy.size, scan: copy.error ?? copy.scan, remove: () => copy.remove() } };
}
