/**
 * A kubectl List in a JSON file, read without holding the file (issue 12: "a 500 MB dump streams; nothing kept
 * per pod that no decision reads"). Node cannot make a string of more than about 512 MB, and JSON.parse of
 * a whole dump holds the text, the whole tree (every managedFields, annotation, condition and container
 * status) and the model at once; this reads it in two passes over the file's bytes:
 *   1. json-scan.ts validates the whole text as JSON in 4 MiB reads, holding only a bracket stack, and
 *      records where each element of the root object's `items` list starts and ends;
 *   2. the envelope (the root without the elements: apiVersion, kind, metadata) is parsed and must be a
 *      kubectl List as detect.ts tells it (else the file is read whole as before); then each element is
 *      decoded and JSON.parse'd on its own, imported (kubectl.ts keeps the facts the decisions read, each
 *      with its file and field path) and dropped: at any time one element's tree is held, never the file's.
 * JSON.parse per element (V8's parser, in C++) rather than building the values in the scanner: the scanner
 * only has to say where elements end, and a JavaScript value builder would be slower than JSON.parse.
 * No dependency is added (a streaming JSON package would parse in JavaScript too, and hand back the same trees).
 *
 * The threshold rule: every regular file whose first character (after a UTF-8 byte-order mark and blanks)
 * is `{` goes this way; a file that turns out to be no kubectl List (no `items`, `items` twice, another kind)
 * or whose first pass finds an error is read whole as before, so one path reads every List whatever its
 * size and the error for bad JSON is the whole-text reader's when the file is under --max-config-bytes.
 * Standard input and FIFOs are copied to a temporary file as they are read, and streamed from there (spool.ts);
 * UTF-16 and YAML are read whole.
 * --max-config-bytes bounds what is held at once: here each element and the envelope, not the file
 * (a List larger than the cap is read; an element larger than it is refused at its offset).
 *
 * Errors keep their form: bad JSON in a file over the cap is refused at its byte offset with line and column;
 * a bad field at `items[k]...` with line and column (the element's text is located, json-locate.ts, and the
 * line counted in the file, on the error path only). Precedence is the whole-text reader's: a syntax error
 * anywhere before any limit error (limits.ts), a limit error before any field error.
 */

import type { Hash } from 'node:crypto';
import { readSync } from 'node:fs';
import { InputError } from '../core/errors';
import { importListItem, kubectlListKind } from './detect';
import type { Draft } from './draft';
import { jsonLocate } from './json-locate';
import { JsonScanError, ListScan } from './json-scan';
import { checkValueLimits } from './limits';
import { SourceDoc, type PathSeg } from './source';

const CHUNK = 4 << 20;

/** Reads `len` bytes at `pos` of `fd` (a regular file: a short read is its end). */
function readAt(fd: number, pos: number, len: number, into?: Buffer): Buffer {
  const buf: Buffer = into && into.length >= len ? into : Buffer.allocUnsafe(len);
  let got = 0;
  while (got < len) {
    const n = readSync(fd, buf, got, len - got, pos + got);
    if (n === 0) break;
    got += n;
  }
  return buf.subarray(0, got);
}

/**
 * The refusal of element `k` of `items`, at byte offset `offset` (after the byte-order mark), longer than `max`
 * bytes: `len` bytes long, or (a stream, spool.ts, refused before the element ends) more than `max`.
 */
export function itemTooLong(file: string, k: number, offset: number, max: number, len?: number): InputError {
  const tail = 'the most one object may hold (--max-config-bytes N raises it)';
  return new InputError(file, { offset }, len !== undefined ? `items[${k}] is ${len} bytes long, more than ${max} bytes, ${tail}` : `items[${k}] is more than ${max} bytes long, ${tail}; it was not read further`);
}

/** The refusal of a file read whole (load.ts readBounded) at its byte `max` + 1. */
export function fileTooLarge(file: string, max: number): InputError {
  return new InputError(file, { offset: max }, `the file is larger than ${max} bytes, the most a cluster input may hold (--max-config-bytes N raises it); it was not read further`);
}

/** The byte-order mark's length and the offset of the first `{`, when a file's first bytes (after a UTF-8 BOM and blanks) are `{` and no UTF-16; else null. */
export function streamStart(head: Uint8Array): { bom: number; at: number } | null {
  const bom = head.length >= 3 && head[0] === 0xef && head[1] === 0xbb && head[2] === 0xbf ? 3 : 0;
  if (head.subarray(0, 4).includes(0)) return null;
  let i = bom;
  while (i < head.length && (head[i] === 0x20 || head[i] === 0x0a || head[i] === 0x0d || head[i] === 0x09)) i++;
  return i < head.length && head[i] === 0x7b ? { bom, at: i } : null;
}

/** The file and its first pass, with what the second pass and the error positions need. */
class ListFile {
  /** Set when the import is over and `fd` may be closed (or reused): positions are then unknown. */
  done = false;

  constructor(
    readonly file: string,
    readonly fd: number,
    readonly size: number,
    readonly bom: number,
    readonly scan: ListScan,
  ) {}

  /** Line and column (1-based, in characters as source.ts counts them) of byte `abs`: counted in the file (error path only). */
  position(abs: number): { line: number; col: number } {
    if (this.done) throw new Error('the file is closed'); // SourceDoc.position answers null
    let line = 1;
    let lineStart = this.bom;
    const buf = Buffer.allocUnsafe(Math.min(CHUNK, Math.max(1, abs)));
    for (let pos = 0; pos < abs; pos += buf.length) {
      const got = readAt(this.fd, pos, Math.min(buf.length, abs - pos), buf);
      for (let nl = got.indexOf(10); nl >= 0; nl = got.indexOf(10, nl + 1)) {
        line++;
        lineStart = pos + nl + 1;
      }
      if (got.length === 0) break;
    }
    // UTF-16 units from the line start: every byte but a continuation byte, and two for a 4-byte sequence
    let col = 1;
    for (let pos = lineStart; pos < abs; pos += buf.length) {
      const got = readAt(this.fd, pos, Math.min(buf.length, abs - pos), buf);
      for (const b of got) col += (b & 0xc0) === 0x80 ? 0 : b >= 0xf0 ? 2 : 1;
      if (got.length === 0) break;
    }
    return { line, col };
  }

  /** A locator for a document whose text is `text`, where character `k` is at byte `abs(k)` of the file. */
  locator(text: string, abs: (bytes: number, k: number) => number): (path: PathSeg[]) => { line: number; col: number } | null {
    return (path) => {
      const k = jsonLocate(text, path);
      return k === null ? null : this.position(abs(Buffer.byteLength(text.slice(0, k)), k));
    };
  }

  /** The root object without the `items` elements (`"items": []`), as a document. */
  envelope(max: number): SourceDoc | null {
    const { itemsOpen, itemsClose } = this.scan;
    const headLen = itemsOpen + 1 - this.bom;
    if (headLen + (this.size - itemsClose) > max) return null;
    const head = readAt(this.fd, this.bom, headLen).toString('utf8');
    const text = head + readAt(this.fd, itemsClose, this.size - itemsClose).toString('utf8');
    const value: unknown = JSON.parse(text);
    if (this.scan.envelopeFlagged) checkValueLimits(this.file, value);
    return new SourceDoc(this.file, value, [], this.locator(text, (bytes, k) => (k < head.length ? this.bom + bytes : itemsClose + bytes - Buffer.byteLength(head))));
  }

  /** Element `k` of `items` as a document (its bytes in `window` from `at`). */
  item(k: number, window: Buffer, at: number): SourceDoc {
    const start = this.scan.starts[k];
    const text = window.toString('utf8', at, at + this.scan.ends[k] - start);
    const value: unknown = JSON.parse(text);
    if (this.scan.flagged.has(k)) checkValueLimits(this.file, value, ['items', k], 2);
    return new SourceDoc(this.file, value, ['items', k], this.locator(text, (bytes) => start + bytes));
  }

  /** Calls `each` with every element's document, in order, reading the file in windows of CHUNK bytes or more. */
  forEachItem(max: number, each: (doc: SourceDoc, k: number) => void, from = 0, only?: Set<number>): void {
    const { starts, ends } = this.scan;
    let store: Buffer = Buffer.allocUnsafe(0);
    let window = store;
    let base = 0;
    for (let k = from; k < starts.length; k++) {
      if (only && !only.has(k)) continue;
      const len = ends[k] - starts[k];
      if (len > max) throw itemTooLong(this.file, k, starts[k] - this.bom, max, len);
      if (starts[k] < base || ends[k] > base + window.length) {
        base = starts[k];
        if (store.length < Math.max(CHUNK, len)) store = Buffer.allocUnsafe(Math.max(CHUNK, len));
        window = readAt(this.fd, base, store.length, store);
      }
      each(this.item(k, window, starts[k] - base), k);
    }
  }

  /** The error for the first pass's JsonScanError. */
  syntaxError(e: JsonScanError): InputError {
    const pos = this.position(e.offset);
    const detail = /^lists and objects nest/.test(e.detail) ? e.detail : `not valid JSON: ${e.detail}`;
    return new InputError(this.file, { offset: e.offset - this.bom }, `${detail} (line ${pos.line}, column ${pos.col})`);
  }
}

/**
 * First pass over the whole file (after a byte-order mark of `bom` bytes); a JsonScanError stops it. Every
 * byte read, the mark's too, goes into `hash` (the file's digest, load.ts), so the file is hashed in this pass.
 */
function scanFile(fd: number, size: number, bom: number, hash?: Hash): ListScan {
  const scan = new ListScan();
  const buf = Buffer.allocUnsafe(Math.min(CHUNK, Math.max(1, size)));
  if (bom > 0) hash?.update(readAt(fd, 0, bom));
  let pos = bom;
  for (;;) {
    const got = readAt(fd, pos, buf.length, buf);
    if (got.length === 0) break;
    hash?.update(got);
    scan.feed(got, pos);
    pos += got.length;
  }
  scan.finish(pos);
  return scan;
}

/** The first pass (scanFile), or its error. */
function scanOrError(fd: number, size: number, bom: number, hash?: Hash): ListScan | JsonScanError {
  try {
    return scanFile(fd, size, bom, hash);
  } catch (e) {
    if (!(e instanceof JsonScanError)) throw e;
    return e;
  }
}

/**
 * Imports the kubectl List in regular file `fd` into `draft` as the module comment says, its bytes into `hash`;
 * returns false (nothing imported, nothing recorded) when the file is to be read whole instead. `scanned`:
 * the first pass already made (or its error) as the file was written (spool.ts: a copy of stdin or a FIFO,
 * hashed then): it is not made again, and `hash` is not fed.
 */
export function importStreamedList(file: string, fd: number, size: number, draft: Draft, max: number, hash?: Hash, scanned?: ListScan | JsonScanError): boolean {
  const start = streamStart(readAt(fd, 0, Math.min(size, 1 << 16)));
  if (start === null) return false;
  const scan = scanned ?? scanOrError(fd, size, start.bom, hash);
  if (scan instanceof JsonScanError) {
    // the whole-text reader says it in its words, unless the file is too big for it
    if (size <= max) return false;
    throw new ListFile(file, fd, size, start.bom, new ListScan()).syntaxError(scan);
  }
  if (scan.itemsOpen < 0 || scan.duplicateItems) return false;
  const list = new ListFile(file, fd, size, start.bom, scan);
  const envelope = list.envelope(max);
  const listKind = envelope === null ? null : kubectlListKind(envelope);
  if (listKind === null) return false;
  // limits before fields, as the whole-text reader checks the whole value before importing
  if (scan.flagged.size > 0) list.forEachItem(max, () => undefined, 0, scan.flagged);
  draft.sources.push(file);
  try {
    list.forEachItem(max, (doc) => importListItem(doc, listKind, draft));
  } finally {
    list.done = true;
  }
  return true;
}
