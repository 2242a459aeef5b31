/**
 * ByteSource: a synchronous, pull-based byte stream over a ByteInput: a file descriptor (a capture file,
 * or `-` = stdin, which may be a pipe such as `tcpdump -w - | vfp-emu decode -`), or bytes already in
 * memory (a file a browser page read, see `openCaptureBytes` in reader.ts).
 *
 * Uses: one fixed read buffer (1 MiB by default) that is compacted and refilled; it grows only when a
 * single structure the reader must hold whole (a pcapng packet block) is larger, and the reader caps that
 * (see MAX_BUFFERED_BLOCK). Sets: `buf`/`view`/`start`/`end` (the unread window) and `offset` (the file
 * offset of `buf[start]`). Used by io/reader.ts only; packets go from `buf` into a Batch arena.
 *
 * Hostile lengths: callers compare a length field with `remaining()` (regular files: exact, from the file
 * size) before asking for it, so nothing is ever allocated from a length the input cannot hold.
 *
 * node:fs is loaded on first use by the descriptor input only, so the in-memory path runs where there is
 * no file system (the browser page of native-free/).
 */
import type * as NodeFs from 'node:fs';

/** Default size of the read buffer. */
export const DEFAULT_BUFFER_BYTES = 1 << 20;
/** Largest pcapng block the reader accepts to hold in memory (packet, interface and section blocks). */
export const MAX_BUFFERED_BLOCK = 16 << 20;

/** Process-wide counters (for tests and diagnostics). */
export const sourceStats = {
  /** Times a read found a non-blocking stdin empty (EAGAIN) and waited. */
  eagainWaits: 0,
};

let fsModule: typeof NodeFs | null = null;
/** node:fs, required when a descriptor is first used (never on the in-memory path). */
function fs(): typeof NodeFs {
  return (fsModule ??= require('node:fs') as typeof NodeFs);
}

let sleepCell: Int32Array | null = null;
/** Block the thread for `ms` milliseconds (used when a non-blocking stdin has no data yet). */
function sleepMs(ms: number): void {
  Atomics.wait((sleepCell ??= new Int32Array(new SharedArrayBuffer(4))), 0, 0, ms);
}

/** Where a ByteSource's bytes come from. */
interface ByteInput {
  /** True when the size is known and reads may be positional (a regular file, bytes in memory). */
  readonly isRegularFile: boolean;
  /** Size in bytes, or -1 when unknown (pipe, terminal, socket). */
  readonly size: number;
  /**
   * Read up to `length` bytes into `into[at..]`, from input offset `position` (sized inputs) or from the
   * stream's current position (`null`). Returns the bytes read, 0 at the end of the input.
   */
  read(into: Uint8Array, at: number, length: number, position: number | null): number;
  close(): void;
}

/** A file descriptor: a regular file (positional reads) or a stream (stdin, a pipe). */
class FdInput implements ByteInput {
  readonly isRegularFile: boolean;
  readonly size: number;

  constructor(
    private fd: number,
    private readonly ownsFd: boolean,
  ) {
    const st = fs().fstatSync(fd);
    // stdin is always read as a stream: its current position may not be 0 and it may be replaced.
    this.isRegularFile = ownsFd && st.isFile();
    this.size = this.isRegularFile ? st.size : -1;
  }

  read(into: Uint8Array, at: number, length: number, position: number | null): number {
    for (;;) {
      try {
        return fs().readSync(this.fd, into, at, length, position);
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
    if (this.ownsFd && this.fd >= 0) fs().closeSync(this.fd);
    this.fd = -1;
  }
}

/** Bytes in memory, read in place (never modified). */
class MemoryInput implements ByteInput {
  readonly isRegularFile = true;
  readonly size: number;

  constructor(private readonly bytes: Uint8Array) {
    this.size = bytes.length;
  }

  read(into: Uint8Array, at: number, length: number, position: number | null): number {
    const from = position ?? 0;
    const n = Math.max(0, Math.min(length, this.size - from));
    into.set(this.bytes.subarray(from, from + n), at);
    return n;
  }

  close(): void {}
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
  private readonly input: ByteInput;
  /** Input offset of `buf[end]` (next positional read). */
  private readPos = 0;
  private eof = false;

  /**
   * `reserve`: bytes kept free at the front of `buf` (the unread bytes never start before it), so that a
   * reader handing out packets in place (reader.ts `inPlace`) leaves the first packet of a fill the room
   * in front that the engine's prepends need (core/batch.ts HEADROOM).
   */
  constructor(
    name: string,
    input: ByteInput,
    bufferBytes = DEFAULT_BUFFER_BYTES,
    readonly reserve = 0,
    buffer: Uint8Array | null = null,
  ) {
    this.name = name;
    this.input = input;
    this.isRegularFile = input.isRegularFile;
    this.size = input.size;
    // `buffer`: the caller's (see `open`), when it has room for the buffer asked for
    const bytes = Math.max(4096, bufferBytes) + reserve;
    this.buf = buffer !== null && buffer.length >= bytes ? buffer : new Uint8Array(bytes);
    this.view = new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.byteLength);
    this.start = this.end = reserve;
  }

  /**
   * Open a path (`-` = stdin, fd 0). Throws the fs error (ENOENT, EISDIR, ...) as is. `buffer`: the read
   * buffer to use instead of a new one (reader.ts ReaderOptions `buffer`; ignored when smaller than
   * `bufferBytes` + `reserve`), until a block larger than it needs a bigger one.
   */
  static open(path: string, bufferBytes = DEFAULT_BUFFER_BYTES, reserve = 0, buffer: Uint8Array | null = null): ByteSource {
    if (path === '-') return new ByteSource('-', new FdInput(0, false), bufferBytes, reserve, buffer);
    const fd = fs().openSync(path, 'r');
    try {
      const st = fs().fstatSync(fd);
      if (st.isDirectory()) {
        const e = new Error(`EISDIR: illegal operation on a directory, read`) as NodeJS.ErrnoException;
        e.code = 'EISDIR';
        throw e;
      }
      return new ByteSource(path, new FdInput(fd, true), bufferBytes, reserve, buffer);
    } catch (e) {
      fs().closeSync(fd);
      throw e;
    }
  }

  /**
   * Read `bytes` (not copied, never modified) as a sized input named `name` (used in error messages). The
   * read buffer is no larger than the input needs.
   */
  static fromBytes(name: string, bytes: Uint8Array, bufferBytes = DEFAULT_BUFFER_BYTES, reserve = 0): ByteSource {
    return new ByteSource(name, new MemoryInput(bytes), Math.min(bufferBytes, bytes.length), reserve);
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
    return this.buf.length - this.reserve;
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
    const r = this.reserve;
    if (n > this.buf.length - r) {
      const room = this.buf.length - r;
      const bigger = new Uint8Array(r + Math.max(n, Math.min(room * 2, MAX_BUFFERED_BLOCK)));
      bigger.set(this.buf.subarray(this.start, this.end), r);
      this.end += r - this.start;
      this.start = r;
      this.buf = bigger;
      this.view = new DataView(bigger.buffer, bigger.byteOffset, bigger.byteLength);
    } else if (this.start !== r) {
      // The unread tail is shorter than `n` (else we would not be here): moving it is cheap, and the
      // refill below then reads as much as the buffer holds.
      this.buf.copyWithin(r, this.start, this.end);
      this.end += r - this.start;
      this.start = r;
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
    this.start = this.end = this.reserve;
    let left = n - a;
    if (this.isRegularFile) {
      const can = Math.min(left, this.size - this.readPos);
      this.readPos += can;
      this.offset += can;
      return a + can;
    }
    while (left > 0 && !this.eof) {
      const got = this.read(this.buf, this.reserve, Math.min(left, this.buf.length - this.reserve));
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
      const got = this.input.read(into, done, length - done, position + done);
      if (got === 0) break;
      done += got;
    }
    return done;
  }

  private read(into: Uint8Array, at: number, length: number): number {
    const got = this.input.read(into, at, length, this.isRegularFile ? this.readPos : null);
    this.readPos += got;
    return got;
  }

  /** Close the input (a descriptor this source opened; never fd 0). */
  close(): void {
    this.input.close();
  }
}
