/**
 * A kubectl List given on standard input (`--cluster -`) or through a FIFO (`<(kubectl get ... -o json)`) is
 * streamed as a regular file is (issue 12 leftovers; stream-list.ts): never held whole, with the same errors.
 *
 * The streamed reader reads a List twice (a validating scan that finds the `items` elements, then each
 * element alone, once the envelope after them says it is a List: kubectl prints `kind` after `items`), and a
 * pipe can be read once: so the stream is copied, as it arrives, into a temporary file (a folder of its own
 * under os.tmpdir(), readable by its owner only, unlinked as soon as it is open, closed when the cluster is loaded), scanned by json-scan.ts
 * and hashed (the summary fingerprint, load.ts) in the same pass; the second pass reads the copy. Memory
 * stays one chunk and one element, whatever the stream's size; the disk holds the copy meanwhile.
 *
 * What is streamed is decided from the first 64 KiB (read only as far as the first character), as for a file (stream-list.ts streamStart): a first
 * character `{` (after a UTF-8 byte-order mark and blanks). Anything else (YAML, UTF-16, PowerShell output,
 * a capture given by mistake, `/dev/zero`) is read whole as before, bounded by --max-config-bytes.
 * Once the scan finds the text is no JSON, the copy goes on only to --max-config-bytes + 1 bytes (so a stream
 * that never ends, `yes '{'`, stops there): the copy then answers exactly as the file would (under the cap:
 * the whole-text reader's error; over it: the scan's byte offset, line and column). A stream that stays
 * valid JSON is copied while it stays within the caps a file has (Copy.checkCaps, checked after each read, and
 * no read takes more than may pass a cap, or 64 KiB): no element of `items` longer than --max-config-bytes
 * (refused as soon as it passes the cap, at the element's offset, with the file reader's words; its end unread)
 * and no more than --max-config-bytes outside the elements (the List's own fields, the separators and blanks
 * between elements: refused at the cap as the whole read refuses a file). So a List of any size is read, and
 * `{"a":"` followed by bytes for ever stops at the cap. Differences from a file, since a stream is read once
 * and refused as it comes: a cap passed is refused before a syntax error later in the stream; an oversized
 * element is refused before the envelope (after `items` in kubectl's output) says whether the text is a List;
 * the blanks between elements count toward the cap (kubectl prints about ten bytes per element).
 * The copy has no name on disk while it is read (Copy); SIGINT / SIGTERM end the process during the read
 * (withDefaultStopSignals).
 */

import type { Hash } from 'node:crypto';
import { closeSync, mkdtempSync, openSync, readSync, rmdirSync, rmSync, unlinkSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { JsonScanError, ListScan } from './json-scan';
import { fileTooLarge, itemTooLong, streamStart } from './stream-list';
import { isMainThread } from 'node:worker_threads';

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

/**
 * The stream's first bytes, read until what streamStart tells is decided (4 bytes and a character that is
 * no blank after the byte-order mark), HEAD bytes, or its end: a writer that sends a List's start and waits is
 * not waited for until it sends 64 KiB.
 */
function readHead(fd: number): Buffer {
  const head = Buffer.allocUnsafe(HEAD);
  let got = 0;
  while (got < HEAD && !decided(head, got)) {
    const n = readStream(fd, head, got, HEAD - got);
    if (n === 0) break;
    got += n;
  }
  return head.subarray(0, got);
}

/** Whether the first `got` bytes of `head` decide streamStart (a longer head gives the same answer). */
function decided(head: Buffer, got: number): boolean {
  if (got < 4) return false;
  for (let i = head[0] === 0xef && head[1] === 0xbb && head[2] === 0xbf ? 3 : 0; i < got; i++) {
    const c = head[i];
    if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) return true;
  }
  return false;
}

/** A stream copied to a temporary file: its open descriptor, size, and the scan of it (or the scan's first error). */
export interface Spool {
  /** Open for reading (positional reads only); the file has no name left (see Copy). */
  fd: number;
  size: number;
  scan: ListScan | JsonScanError;
  /** Closes the copy (its bytes are freed) and removes its folder if still there. */
  remove(): void;
}

/**
 * The copy under way: the temporary file, the scan, the bytes so far. The file is unlinked as soon as it is
 * open (read and write), and its folder removed: nothing is left on disk however the process ends (a kill,
 * a crash); the kernel frees the bytes when the descriptor closes. Where unlinking an open file fails
 * (Windows without FILE_SHARE_DELETE), remove() deletes them at the end as before.
 */
class Copy {
  readonly dir = mkdtempSync(path.join(tmpdir(), 'vfp-emu-cluster-'));
  readonly fd = openSync(path.join(this.dir, 'stream.json'), 'wx+', 0o600);
  readonly scan = new ListScan();
  error: JsonScanError | null = null;
  size = 0;
  /** Elements of `items` whose length was checked, and the bytes they hold. */
  private checked = 0;
  private inside = 0;
  /** Bytes outside the elements (envelope, separators, blanks, the mark) and of the element still open. */
  private outside = 0;
  private open = 0;

  constructor(
    readonly file: string,
    readonly max: number,
    readonly bom: number,
    readonly hash: Hash,
  ) {
    try {
      unlinkSync(path.join(this.dir, 'stream.json'));
      rmdirSync(this.dir);
    } catch {
      // remove() does it
    }
  }

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
    if (this.error === null) this.checkCaps();
  }

  /**
   * Refuses, as soon as a chunk shows it, an element of `items` longer than --max-config-bytes (the
   * streamed file reader's refusal at the element's offset: stream-list.ts forEachItem; one still open is
   * said to be longer than the cap, its end unread) or more than --max-config-bytes outside the elements
   * (the whole-file reader's refusal, load.ts readBounded: a text that is no List is read whole).
   */
  private checkCaps(): void {
    const { starts, ends } = this.scan;
    const max = this.max;
    for (; this.checked < ends.length; this.checked++) {
      const k = this.checked;
      const len = ends[k] - starts[k];
      if (len > max) throw itemTooLong(this.file, k, starts[k] - this.bom, max, len);
      this.inside += len;
    }
    const k = starts.length - 1;
    this.open = starts.length > ends.length ? this.size - starts[k] : 0;
    if (this.open > max) throw itemTooLong(this.file, k, starts[k] - this.bom, max);
    this.outside = this.size - this.inside - this.open;
    if (this.outside > max) throw fileTooLarge(this.file, max);
  }

  /** How many bytes the next read takes: no more than may pass a cap (at least 64 KiB: a pipe's buffer). */
  nextRead(): number {
    if (this.error !== null) return Math.min(CHUNK, this.max + 1 - this.size);
    return Math.min(CHUNK, Math.max(HEAD, this.max + 1 - Math.max(this.outside, this.open)));
  }

  remove(): void {
    try {
      closeSync(this.fd);
    } catch {
      // closed already
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/**
 * Reads stream `fd`, cluster file `file` (see the module comment): null, with `head` its first bytes, when it
 * is to be read whole; else its copy, every byte read hashed into `hash`. `max` is --max-config-bytes.
 */
export function spoolStream(file: string, fd: number, max: number, hash: Hash): { spool: Spool } | { head: Buffer } {
  const head = readHead(fd);
  const start = streamStart(head);
  if (start === null) return { head };
  const copy = new Copy(file, max, start.bom, hash);
  try {
    copy.add(head);
    const buf = Buffer.allocUnsafe(CHUNK);
    // after a scan error, only as far as the whole-text reader would read (max + 1 bytes)
    for (let n = head.length; n > 0 && (copy.error === null || copy.size <= max); ) {
      n = readStream(fd, buf, 0, copy.nextRead());
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
  }
  return { spool: { fd: copy.fd, size: copy.size, scan: copy.error ?? copy.scan, remove: () => copy.remove() } };
}

/**
 * Runs `read` (the read of a stream: stdin, a FIFO) with SIGINT and SIGTERM at their default action, the
 * listeners of the run (pipeline/stop.ts) taken off meanwhile and put back after. The read is synchronous
 * (loadClusterFiles is), so a listener could only run once the whole stream is read, and a stream may not end
 * (a writer that keeps the pipe open): this way a stop signal ends the process at once, while it waits for data
 * too, and the shell reports 130 / 143 (killed by the signal). Nothing is left behind: the copy has no name
 * (Copy), and nothing is written before the cluster is loaded. Only on the main thread (a worker gets no signals).
 */
export function withDefaultStopSignals<T>(read: () => T): T {
  if (!isMainThread) return read();
  const saved = STOP_SIGNALS.map((sig) => process.listeners(sig));
  for (const sig of STOP_SIGNALS) process.removeAllListeners(sig);
  try {
    return read();
  } finally {
    STOP_SIGNALS.forEach((sig, i) => {
      for (const l of saved[i]) process.on(sig, l);
    });
  }
}

const STOP_SIGNALS = ['SIGINT', 'SIGTERM'] as const;
