/**
 * loadCluster: the `--cluster FILE...` entry point. Reads each file (a missing or unreadable file is an
 * InputError naming it), decodes it (UTF-8, or UTF-16 with a byte-order mark: what Windows PowerShell 5.1's
 * `Get-HnsNetwork | ConvertTo-Json > hns.json` writes; UTF-32 is refused naming the encoding) and imports the texts
 * as parseClusterTexts (parse.ts) does; a kubectl List in JSON is streamed instead, never held whole
 * (stream-list.ts): from a regular file, or from the copy of stdin or a FIFO made as it is read (spool.ts).
 * A file is read with a bounded loop, never more than `maxConfigBytes` + 1 bytes (limits.ts), so a device
 * or FIFO that never ends (`--cluster /dev/zero`) is refused at the cap instead of filling memory.
 * loadClusterFiles also gives each file's SHA-256 (the replay summary's fingerprint, commands/summary-merge.ts),
 * hashed from the bytes as they are read (whole, or chunk by chunk when streamed): a file is never opened again
 * for it, so stdin (`-`), a FIFO or `<(...)` is hashed as read, and a large dump is not held whole.
 * node:crypto is loaded only when a hash is taken (issue 12, start-up: loading it cost about 11 ms of CPU of
 * every run, and explain, rules and trace never read the digests): a file read whole of at most
 * LAZY_DIGEST_BYTES keeps its bytes and is hashed when its digest is first read (LazyDigest); a bigger or
 * streamed one is hashed as it is read, as before. The digest is the same SHA-256 of the same bytes.
 */

import type { Hash } from 'node:crypto';
import { accessSync, closeSync, constants as fsConstants, fstatSync, openSync, readSync, statSync } from 'node:fs';
import { InputError } from '../core/errors';
import type { Cluster } from './model';
import { DEFAULT_MAX_CONFIG_BYTES } from './limits';
import { importText } from './detect';
import { Draft } from './draft';
import { finalizeCluster } from './merge';
import { decodeClusterFile, type LoadOptions } from './parse';
import { readStream, spoolStream, withDefaultStopSignals, type Spool } from './spool';
import { fileTooLarge, importStreamedList, streamStart } from './stream-list';

export { decodeClusterFile };

export interface LoadFileOptions extends LoadOptions {
  /** Most bytes one cluster file may hold (default DEFAULT_MAX_CONFIG_BYTES, 64 MiB). */
  maxConfigBytes?: number;
  /** false: read every file whole, as before streaming (tests compare the two). */
  streamLists?: boolean;
}

const FIRST_READ = 1 << 16;

/** A new SHA-256 hash, node:crypto loaded on the first call. */
function sha256(): Hash {
  return (require('node:crypto') as typeof import('node:crypto')).createHash('sha256');
}

/** Most bytes of a file that LazyDigest keeps unhashed (1 MiB: the cluster files of a small cluster are a few KB). */
const LAZY_DIGEST_BYTES = 1 << 20;

/** Where the bytes of a file go to be hashed: a Hash, or a LazyDigest. */
interface ByteSink {
  update(bytes: Uint8Array): unknown;
}

/**
 * A SHA-256 taken when it is first read (node:crypto loaded then): a copy of the bytes given is kept until
 * then (a streamed file's chunks come in one reused buffer), at most LAZY_DIGEST_BYTES of them; past that
 * they are hashed at once.
 */
class LazyDigest implements ByteSink {
  private held: Uint8Array[] = [];
  private size = 0;
  private hash: Hash | null = null;
  private hex: string | null = null;

  update(bytes: Uint8Array): this {
    if (this.hash === null && this.size + bytes.length <= LAZY_DIGEST_BYTES) {
      this.held.push(Uint8Array.prototype.slice.call(bytes));
      this.size += bytes.length;
    } else this.real().update(bytes);
    return this;
  }

  digest(): string {
    return (this.hex ??= this.real().digest('hex'));
  }

  private real(): Hash {
    if (this.hash === null) {
      const h = sha256();
      for (const b of this.held) h.update(b);
      this.held = [];
      this.hash = h;
    }
    return this.hash;
  }
}

/** `digests[k]` reads `d`'s digest, taken on that first read (the array stays a string[] to its readers). */
function setLazyDigest(digests: string[], k: number, d: LazyDigest): void {
  Object.defineProperty(digests, k, { get: () => d.digest(), enumerable: true, configurable: true });
}

/**
 * Reads up to `max` bytes of `fd` into one buffer (sized from fstat for a regular file, doubling for a
 * stream), after the bytes `head` already read from it; throws (naming the file) at the first byte past `max`.
 */
function readBounded(file: string, fd: number, max: number, head: Uint8Array = new Uint8Array(0)): Uint8Array {
  const st = fstatSync(fd);
  let buf = Buffer.allocUnsafe(Math.max(head.length, Math.min(max, st.isFile() && st.size > 0 ? st.size : FIRST_READ) + 1));
  buf.set(head);
  let total = head.length;
  for (;;) {
    if (total > max) {
      throw fileTooLarge(file, max);
    }
    if (total === buf.length) {
      const bigger = Buffer.allocUnsafe(Math.min(max + 1, buf.length * 2));
      buf.copy(bigger, 0, 0, total);
      buf = bigger;
    }
    const n = readStream(fd, buf, total, buf.length - total);
    if (n === 0) break;
    total += n;
  }
  return buf.subarray(0, total);
}

function readError(file: string, e: unknown): never {
  const code = (e as NodeJS.ErrnoException).code;
  // A CNI config directory (/etc/cni/net.d, C:\etc\cni\net.d) given whole: say what to give instead; which
  // file a runtime uses: containerd/go-cni loadFromConfDir (libcni ConfFiles of .conf/.conflist/.json, sorted,
  // the first one by default)
  if (code === 'EISDIR') throw new InputError(file, {}, 'this is a directory, not a file: give the files in it, each with --cluster (of a CNI config directory, the runtime uses the first .conf/.conflist/.json file in name order)');
  throw new InputError(file, {}, `cannot read the file: ${code ?? (e as Error).message}`);
}

/**
 * Refuses, as loading would, a --cluster file that is missing, unreadable or a directory, without reading it
 * (a FIFO or stdin is not opened: that would wait for or take its data). For a command that makes things
 * (multi-trace replay's folders) before its threads load the cluster.
 */
export function checkClusterFile(file: string): void {
  if (file === '-') return;
  try {
    const st = statSync(file);
    if (st.isDirectory()) throw Object.assign(new Error('is a directory'), { code: 'EISDIR' });
    accessSync(file, fsConstants.R_OK);
  } catch (e) {
    readError(file, e);
  }
}

/**
 * `read(fd)` of cluster file `file` (`-`: stdin), opened from `from` (a stream's copy, spool.ts; by default
 * the file itself); a fault opening or reading it is an InputError naming `file`.
 */
function withClusterFile<T>(file: string, read: (fd: number) => T, from = file): T {
  let fd: number;
  try {
    fd = from === '-' ? 0 : openSync(from, 'r');
  } catch (e) {
    throw new InputError(file, {}, `cannot read the file: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  try {
    return read(fd);
  } catch (e) {
    if (e instanceof InputError) throw e;
    return readError(file, e);
  } finally {
    if (fd !== 0) closeSync(fd);
  }
}

/** The bytes of one cluster file (`-`: stdin), read from `from` (see withClusterFile). */
function readClusterFile(file: string, max: number, from = file): Uint8Array {
  return withClusterFile(file, (fd) => readBounded(file, fd, max), from);
}

/**
 * Whether `file` is standard input or a stream (a FIFO, `<(...)`, a device): read once, so a kubectl List
 * there is copied as it is read (spool.ts) before it is streamed.
 */
function isStream(file: string): boolean {
  if (file === '-') return true;
  const st = statSync(file, { throwIfNoEntry: false });
  return st !== undefined && !st.isFile() && !st.isDirectory();
}

/**
 * Reads stream `file` (isStream): its copy when it starts as JSON (spool.ts), else its text, read whole;
 * its bytes go into `hash` either way. SIGINT / SIGTERM end the process meanwhile (spool.ts withDefaultStopSignals).
 */
function readStreamFile(file: string, max: number, hash: Hash): { spool: Spool } | { text: string } {
  return withDefaultStopSignals(() =>
    withClusterFile(file, (fd) => {
      const r = spoolStream(file, fd, max, hash);
      return 'spool' in r ? r : { text: textOf(file, readBounded(file, fd, max, r.head), hash) };
    }),
  );
}

/** The text of a stream's copy read whole (it is no kubectl List), refused as readBounded refuses past `max`. */
function spoolText(file: string, spool: Spool, max: number, hash: ByteSink): string {
  if (spool.size > max) throw fileTooLarge(file, max);
  const bytes = Buffer.allocUnsafe(spool.size);
  for (let got = 0; got < spool.size; ) {
    const n = readSync(spool.fd, bytes, got, spool.size - got, got);
    if (n === 0) throw new InputError(file, {}, 'cannot read the file: its copy ended early');
    got += n;
  }
  return textOf(file, bytes, hash);
}

/**
 * Refuses a UTF-32 file by its byte-order mark (PowerShell's `Out-File -Encoding utf32` writes one): decoded as
 * UTF-16 or UTF-8 it would be NUL-riddled text that no importer recognises, and the user would be told only
 * that the kind of input is unknown.
 */
function refuseUtf32(file: string, bytes: Uint8Array): void {
  const le = bytes.length >= 4 && bytes[0] === 0xff && bytes[1] === 0xfe && bytes[2] === 0 && bytes[3] === 0;
  const be = bytes.length >= 4 && bytes[0] === 0 && bytes[1] === 0 && bytes[2] === 0xfe && bytes[3] === 0xff;
  if (le || be) {
    throw new InputError(file, { offset: 0 }, `the file is UTF-32 (${le ? 'little' : 'big'}-endian byte-order mark), which is not read: save it as UTF-8 or UTF-16 (in PowerShell: Out-File -Encoding utf8, or Windows PowerShell's default \`>\`)`);
  }
}

/** Binary files a user may give by mistake, by their first bytes (pcap / pcapng magic, archives). */
const BINARY_KINDS: { magic: number[]; what: string }[] = [
  { magic: [0x0a, 0x0d, 0x0d, 0x0a], what: 'a packet capture (pcapng): give it as the TRACE argument of replay, decode or explain, not with --cluster' },
  { magic: [0xd4, 0xc3, 0xb2, 0xa1], what: 'a packet capture (pcap): give it as the TRACE argument of replay, decode or explain, not with --cluster' },
  { magic: [0xa1, 0xb2, 0xc3, 0xd4], what: 'a packet capture (pcap): give it as the TRACE argument of replay, decode or explain, not with --cluster' },
  { magic: [0x4d, 0x3c, 0xb2, 0xa1], what: 'a packet capture (pcap): give it as the TRACE argument of replay, decode or explain, not with --cluster' },
  { magic: [0xa1, 0xb2, 0x3c, 0x4d], what: 'a packet capture (pcap): give it as the TRACE argument of replay, decode or explain, not with --cluster' },
  { magic: [0x50, 0x4b, 0x03, 0x04], what: 'a zip archive (collectlogs.ps1 output zipped?): unpack it and give the files in it, each with --cluster' },
  { magic: [0x1f, 0x8b], what: 'a gzip file: unpack it and give the file in it' },
];

/**
 * Refuses a binary file by its first bytes, naming what it is: decoded as text it would be refused only as
 * "cannot tell what kind of cluster input this is".
 */
function refuseBinary(file: string, bytes: Uint8Array): void {
  const kind = BINARY_KINDS.find((k) => k.magic.length <= bytes.length && k.magic.every((b, i) => bytes[i] === b));
  if (kind !== undefined) throw new InputError(file, { offset: 0 }, `this is ${kind.what}`);
}

/**
 * Whether `file` may be streamed (stream-list.ts): a regular file whose first character is `{`.
 * Checked for every file before any is imported, so read errors come first, as when all were read whole.
 */
function streamable(file: string): boolean {
  if (file === '-') return false;
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch {
    return false; // readClusterFile names the fault
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) return false;
    const head = Buffer.alloc(Math.min(st.size, 1 << 16));
    return streamStart(head.subarray(0, readSync(fd, head, 0, head.length, 0))) !== null;
  } finally {
    closeSync(fd);
  }
}

/**
 * Imports the streamable `file`, its bytes into `hash` (false: it is no kubectl List and is to be read whole;
 * `hash` is then partial). `spool`: the file is a stream, read from its copy (scanned and hashed already).
 */
function importStreamed(file: string, draft: Draft, max: number, hash: Hash, spool?: Spool): boolean {
  let fd: number | undefined;
  try {
    if (spool !== undefined) return importStreamedList(file, spool.fd, spool.size, draft, max, undefined, spool.scan);
    fd = openSync(file, 'r');
    return importStreamedList(file, fd, fstatSync(fd).size, draft, max, hash);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (typeof code === 'string' && !(e instanceof InputError)) throw new InputError(file, {}, `cannot read the file: ${code}`);
    throw e;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** The text of a file read whole (from `from`, see withClusterFile), after the checks of its bytes; its bytes go into `hash`. */
function readText(file: string, max: number, hash: ByteSink, from = file): string {
  return textOf(file, readClusterFile(file, max, from), hash);
}

/** The text of `bytes`, the whole of `file`, after their checks; they go into `hash`. */
function textOf(file: string, bytes: Uint8Array, hash: ByteSink): string {
  hash.update(bytes);
  refuseUtf32(file, bytes);
  refuseBinary(file, bytes);
  return decodeClusterFile(bytes);
}

/** The cluster the files describe, and each file's SHA-256 in hex, of the bytes read (see the module comment). */
export function loadClusterFiles(files: readonly string[], opts: LoadFileOptions = {}): { cluster: Cluster; digests: string[] } {
  const max = opts.maxConfigBytes ?? DEFAULT_MAX_CONFIG_BYTES;
  const stream = opts.streamLists !== false;
  const digests: string[] = files.map(() => '');
  const spools: (Spool | undefined)[] = [];
  try {
    const texts = files.map((file, k) => {
      const once = isStream(file); // stat only: a FIFO is opened once, to be read
      if (stream && !once && streamable(file)) return null;
      if (!(stream && once)) {
        const lazy = new LazyDigest();
        const text = readText(file, max, lazy);
        setLazyDigest(digests, k, lazy);
        return text;
      }
      const hash = sha256();
      const read = readStreamFile(file, max, hash);
      digests[k] = hash.digest('hex');
      if ('text' in read) return read.text;
      spools[k] = read.spool;
      return null;
    });
    const draft = new Draft();
    files.forEach((file, k) => {
      const text = texts[k];
      texts[k] = null;
      if (text !== null) return importText(file, text, draft);
      const streamed = new LazyDigest();
      // stream-list.ts only calls the hash's update (scanFile), which LazyDigest has
      if (importStreamed(file, draft, max, streamed as unknown as Hash, spools[k])) {
        if (spools[k] === undefined) setLazyDigest(digests, k, streamed);
        return;
      }
      const whole = new LazyDigest(); // not a kubectl List after all: read whole
      const s = spools[k];
      importText(file, s !== undefined ? spoolText(file, s, max, whole) : readText(file, max, whole), draft);
      setLazyDigest(digests, k, whole);
    });
    return { cluster: finalizeCluster(draft, opts), digests };
  } finally {
    for (const s of spools) s?.remove();
  }
}

export function loadCluster(files: readonly string[], opts: LoadFileOptions = {}): Cluster {
  return loadClusterFiles(files, opts).cluster;
}
