/**
 * ByteSource: a synchronous, pull-based byte stream over one file descriptor (a capture file, or `-` =
 * stdin, which may be a pipe such as `tcpdump -w - | vfp-emu decode -`).
 *
 * Uses: one fixed read buffer (1 MiB by default) that is compacted and refilled; it grows only when a
 * single structure the reader must hold whole (a pcapng packet block) is larger, and the reader caps that
 * (see MAX_BUFFERED_BLOCK). Sets: `buf`/`view`/`start`/`end` (the unread window) and `offset` (the file
 * offset of `buf[start]`). Used by io/reader.ts only; packets go from `buf` into a Batch arena.
 *
 * Hostile lengths: callers compare a length field with `remaining()` (regular files: exact, from the file
 * size) before asking for it, so nothing is ever allocated from a length the input cannot hold.
 */
import * as fs from 'node:fs';

/** Default size of the read buffer. */
export const DEFAULT_BUFFER_BYTES = 1 << 20;
/** Largest pcapng block the reader accepts to hold in memory (packet, interface and section blocks). */
export const MAX_BUFFERED_BLOCK = 16 << 20;

/** Process-wide counters (for tests and diagnostics). */
export const sourceStats = {
  /** Times a read found a non-blocking stdin empty (EAGAIN) and waited. */
  eagainWaits: 0,
};

const sleepCell = new Int32Array(new SharedArrayBuffer(4));
/** Block the thread for `ms` milliseconds (used when a non-blocking stdin has no data yet). */
function sleepMs(ms: number): void {
  Atomics.wait(sleepCell, 0, 0, ms);
}

export class ByteSource {
  /** The path as the user gave it (`-` for stdin); used in error messages. */
  readonly name: string;
  /** True for a regular file: its size is known and reads are positional. */
  readonly isRegularFile: boolean;
  /** File size in bytes, or -1 when unknown (pipe, terminal, socket). */
  readonly size: number;
  /**
   * The read buffer; unread bytes are `buf[start..end)`. Replaced (never shrunk) when it must grow. A plain
   * Uint8Array, not a Buffer: its `subarray` is several times cheaper, and packets are copied out with it.
   */
  buf: Uint8Array;
  /** DataView over `buf` (replaced together with it). */
  view: DataView;
  start = 0;
  end = 0;
  /** Input offset of `buf[start]`. */
  offset = 0;
  private fd: number;
  private readonly ownsFd: boolean;
  /** Input offset of `buf[end]` (next positional read). */
  private readPos = 0;
  private eof = false;

  private constructor(name: string, fd: number, ownsFd: boolean, bufferBytes: number) {
    this.name = name;
    this.fd = fd;
    this.ownsFd = ownsFd;
    const st = fs.fstatSync(fd);
    // stdin is always read as a stream: its current position may not be 0 and it may be replaced.
    this.isRegularFile = ownsFd && st.isFile();
    this.size = this.isRegularFile ? st.size : -1;
    this.buf = new Uint8Array(Math.max(4096, bufferBytes));
    this.view = new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.byteLength);
  }

  /** Open a path (`-` = stdin, fd 0). Throws the fs error (ENOENT, EISDIR, ...) as is. */
  static open(path: string, bufferBytes = DEFAULT_BUFFER_BYTES): ByteSource {
    if (path === '-') return new ByteSource('-', 0, false, bufferBytes);
    const fd = fs.openSync(path, 'r');
    try {
      const st = fs.fstatSync(fd);
      if (st.isDirectory()) {
        const e = new Error(`EISDIR: illegal operation on a directory, read`) as NodeJS.ErrnoException;
        e.code = 'EISDIR';
        throw e;
      }
      return new ByteSource(path, fd, true, bufferBytes);
    } catch (e) {
      fs.closeSync(fd);
      throw e;
    }
  }

  /** Unread bytes in the buffer. */
  available(): number {
    return this.end - this.start;
  }

  /** Bytes left in the input from `offset` on, or +Infinity when unknown (streams). */
  remaining(): number {
    return this.isRegularFile ? this.size - this.offset : Infinity;
  }

  /** Size of the read buffer now (for tests of bounded memory). */
  bufferBytes(): number {
    return this.buf.length;
  }

  /**
   * Make at least `n` unread bytes available at `buf[start]`; false when the input ends first (then
   * `available()` tells how many there are). May compact or grow `buf`: re-read `buf`/`view`/`start` after.
   */
  ensure(n: number): boolean {
    if (this.end - this.start >= n) return true;
    return this.fill(n);
  }

  private fill(n: number): boolean {
    if (n > this.buf.length) {
      const bigger = new Uint8Array(Math.max(n, Math.min(this.buf.length * 2, MAX_BUFFERED_BLOCK)));
      bigger.set(this.buf.subarray(this.start, this.end), 0);
      this.end -= this.start;
      this.start = 0;
      this.buf = bigger;
      this.view = new DataView(bigger.buffer, bigger.byteOffset, bigger.byteLength);
    } else if (this.start !== 0) {
      // The unread tail is shorter than `n` (else we would not be here): moving it is cheap, and the
      // refill below then reads as much as the buffer holds.
      this.buf.copyWithin(0, this.start, this.end);
      this.end -= this.start;
      this.start = 0;
    }
    while (this.end - this.start < n && !this.eof) {
      const got = this.read(this.buf, this.end, this.buf.length - this.end);
      if (got === 0) this.eof = true;
      else this.end += got;
    }
    return this.end - this.start >= n;
  }

  /** Mark `n` available bytes as read. */
  consume(n: number): void {
    this.start += n;
    this.offset += n;
  }

  /** Skip `n` bytes, reading past the buffer if needed; returns how many were skipped (less at end of input). */
  skip(n: number): number {
    const a = this.end - this.start;
    if (n <= a) {
      this.consume(n);
      return n;
    }
    this.consume(a);
    this.start = this.end = 0;
    let left = n - a;
    if (this.isRegularFile) {
      const can = Math.min(left, this.size - this.readPos);
      this.readPos += can;
      this.offset += can;
      return a + can;
    }
    while (left > 0 && !this.eof) {
      const got = this.read(this.buf, 0, Math.min(left, this.buf.length));
      if (got === 0) this.eof = true;
      left -= got;
      this.offset += got;
    }
    return n - left;
  }

  /** Positional read for regular files (variant heuristics); returns the bytes read (fewer at end of file). */
  readAt(position: number, into: Uint8Array, length: number): number {
    if (!this.isRegularFile) return 0;
    let done = 0;
    while (done < length) {
      const got = fs.readSync(this.fd, into, done, length - done, position + done);
      if (got === 0) break;
      done += got;
    }
    return done;
  }

  private read(into: Uint8Array, at: number, length: number): number {
    for (;;) {
      try {
        const got = fs.readSync(this.fd, into, at, length, this.isRegularFile ? this.readPos : null);
        this.readPos += got;
        return got;
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code === 'EAGAIN' || code === 'EWOULDBLOCK') {
          sourceStats.eagainWaits++;
          sleepMs(2); // non-blocking stdin with nothing to read yet
          continue;
        }
        if (code === 'EOF') return 0; // Windows pipes report the end this way
        throw e;
      }
    }
  }

  /** Close the descriptor (never fd 0). */
  close(): void {
    if (this.ownsFd && this.fd >= 0) fs.closeSync(this.fd);
    this.fd = -1;
  }
}
