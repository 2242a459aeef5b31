/**
 * One validating pass over a JSON text given as bytes, chunk by chunk, that holds nothing but a bracket stack:
 * the first pass of the streamed kubectl List (stream-list.ts, issue 12 "a 500 MB dump streams").
 * It checks the whole RFC 8259 grammar (structure, string escapes and control characters, number and literal
 * tokens), so after it a piece of the text cut at an element boundary is known to parse, and it records:
 * - the byte range of every element of the top-level object's `items` list,
 * - where that list opens and closes (the rest is the List's small envelope: apiVersion, kind, metadata),
 * - which elements hold a string of more than MAX_STRING_CHARS bytes or nest more than MAX_NESTING levels:
 *   only those need limits.ts's checkValueLimits walk (no other can cross a limit).
 * The first error stops the scan as a JsonScanError with its byte offset (the first offset where the text
 * stops being JSON, as source.ts's whole-text scan finds it) and a short reason.
 * Per byte it does a few comparisons and writes nothing; numbers and literals are checked as tokens.
 */

import { MAX_NESTING, MAX_STRING_CHARS } from './limits';

const OBJ = 1;
const ARR = 2;
// Grammar states between tokens
const VALUE = 0; // a value must come (after `:` or `,` in a list, or at the start)
const VALUE_OR_CLOSE = 1; // after `[`
const KEY = 2; // after `,` in an object
const KEY_OR_CLOSE = 3; // after `{`
const COLON = 4;
const AFTER = 5; // after a value: `,` or the closing bracket
const DONE = 6; // after the root value: whitespace only

const TOKEN = /^(?:-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?|true|false|null)/;
const ITEMS_KEY = [0x69, 0x74, 0x65, 0x6d, 0x73]; // items

export class JsonScanError extends Error {
  constructor(
    readonly offset: number,
    readonly detail: string,
  ) {
    super(detail);
  }
}

function isTokenByte(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || c === 0x2e || c === 0x2b || c === 0x2d;
}

export class ListScan {
  /** Byte ranges [start, end) of the `items` elements. */
  readonly starts: number[] = [];
  readonly ends: number[] = [];
  /** Elements that may cross a limit (a string longer than MAX_STRING_CHARS bytes, or nesting past MAX_NESTING). */
  readonly flagged = new Set<number>();
  /** Offsets of the `items` list's `[` and `]` (-1 when the root has no `items` list). */
  itemsOpen = -1;
  itemsClose = -1;
  /** The root object has `items` more than once (JSON.parse keeps the last). */
  duplicateItems = false;
  /** The envelope (outside `items`) may cross a limit. */
  envelopeFlagged = false;
  /** First bracket that opens more than MAX_NESTING levels (a syntax error after it is reported here, as source.ts does). */
  tooDeepAt = -1;

  private stack = new Uint8Array(64);
  private depth = 0;
  private state = VALUE;
  private inItems = false;
  private itemsKey = false;
  private inString = false;
  private stringIsKey = false;
  private stringStart = 0;
  /** Bytes of a root-level key, compared with `items` (null when not collecting). */
  private keyBytes: number[] | null = null;
  /** 0: none; 1: after a backslash; 2..5: hex digits of \u still to come, plus one. */
  private esc = 0;
  private token = '';
  private tokenStart = -1;

  /** Scans the next bytes of the text; `base` is the offset of `buf[0]` in the text. */
  feed(buf: Uint8Array, base: number): void {
    const n = buf.length;
    let i = 0;
    while (i < n) {
      let c: number;
      if (this.inString) {
        if (this.esc === 0 && this.keyBytes === null) {
          // plain bytes in a tight loop
          c = buf[i];
          while (c !== 0x22 && c !== 0x5c && c >= 0x20) {
            if (++i === n) return;
            c = buf[i];
          }
          if (c === 0x22) {
            this.endString(base + i);
            i++;
            continue;
          }
        }
        i = this.stringBytes(buf, i, base);
        continue;
      }
      c = buf[i];
      if (this.tokenStart >= 0) {
        if (isTokenByte(c)) {
          this.token += String.fromCharCode(c);
          i++;
          continue;
        }
        this.endToken();
      }
      // blanks (most bytes of an indented dump) in a tight loop
      while (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) {
        if (++i === n) return;
        c = buf[i];
      }
      if (!this.common(c, base + i)) this.structural(c, base + i);
      i++;
    }
  }

  /**
   * The most frequent bytes between tokens (a string inside an item, `:`, `,` inside an item), handled
   * without the general dispatch; false for any other case.
   */
  private common(c: number, at: number): boolean {
    const st = this.state;
    if (this.depth > 2) {
      if (c === 0x22 && st <= KEY_OR_CLOSE) {
        this.inString = true;
        this.stringIsKey = st >= KEY;
        this.stringStart = at;
        return true;
      }
      if (c === 0x3a && st === COLON) {
        this.state = VALUE;
        return true;
      }
      if (c === 0x2c && st === AFTER) {
        this.state = this.stack[this.depth - 1] === OBJ ? KEY : VALUE;
        return true;
      }
    }
    return false;
  }

  /** The end of the text at offset `end`. */
  finish(end: number): void {
    if (this.inString) throw new JsonScanError(end, 'Unterminated string in JSON');
    if (this.tokenStart >= 0) this.endToken();
    if (this.state !== DONE) this.fail(end, 'Unexpected end of JSON input');
  }

  private fail(at: number, detail: string): never {
    throw new JsonScanError(this.tooDeepAt >= 0 && this.tooDeepAt < at ? this.tooDeepAt : at, this.tooDeepAt >= 0 && this.tooDeepAt < at ? `lists and objects nest more than ${MAX_NESTING} levels deep (the limit)` : detail);
  }

  /** Inside a string from `buf[i]`; returns the index after the bytes consumed. */
  private stringBytes(buf: Uint8Array, i: number, base: number): number {
    const n = buf.length;
    while (i < n) {
      const c = buf[i];
      if (this.esc !== 0) {
        this.escapeByte(c, base + i);
      } else if (c === 0x22) {
        this.endString(base + i);
        return i + 1;
      } else if (c === 0x5c) {
        this.esc = 1;
      } else if (c < 0x20) {
        this.fail(base + i, 'Bad control character in string literal');
      }
      if (this.keyBytes !== null) this.keyBytes.push(c);
      i++;
    }
    return i;
  }

  private escapeByte(c: number, at: number): void {
    if (this.esc === 1) {
      if (c === 0x75) this.esc = 5;
      else if (c === 0x22 || c === 0x5c || c === 0x2f || c === 0x62 || c === 0x66 || c === 0x6e || c === 0x72 || c === 0x74) this.esc = 0;
      else this.fail(at, 'Bad escaped character');
      return;
    }
    const hex = (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66);
    if (!hex) this.fail(at - (6 - this.esc), 'Bad Unicode escape');
    this.esc = this.esc === 2 ? 0 : this.esc - 1;
  }

  private endString(at: number): void {
    this.inString = false;
    if (at + 1 - this.stringStart > MAX_STRING_CHARS) this.flagLimit();
    if (this.stringIsKey) {
      const k = this.keyBytes;
      this.keyBytes = null;
      if (k !== null) {
        const plain = k.length === ITEMS_KEY.length && ITEMS_KEY.every((b, j) => k[j] === b);
        this.itemsKey = plain || (k.includes(0x5c) && JSON.parse(`"${Buffer.from(k).toString('utf8')}"`) === 'items');
      }
      this.state = COLON;
      return;
    }
    this.valueEnd(at + 1);
  }

  private flagLimit(): void {
    if (this.inItems && this.depth >= 2) this.flagged.add(this.starts.length - 1);
    else this.envelopeFlagged = true;
  }

  private endToken(): void {
    const m = TOKEN.exec(this.token);
    const len = m ? m[0].length : 0;
    const at = this.tokenStart;
    if (len < this.token.length) this.fail(at + len, len === 0 ? `Unexpected token '${this.token[0]}'` : `Unexpected token '${this.token[len]}'`);
    this.tokenStart = -1;
    this.token = '';
    this.valueEnd(at + len);
  }

  private valueStart(at: number): void {
    if (this.inItems && this.depth === 2) this.starts.push(at);
  }

  private valueEnd(end: number): void {
    if (this.inItems && this.depth === 2) this.ends.push(end);
    this.state = this.depth === 0 ? DONE : AFTER;
  }

  private push(kind: number, at: number): void {
    if (this.depth === this.stack.length) {
      const bigger = new Uint8Array(this.stack.length * 2);
      bigger.set(this.stack);
      this.stack = bigger;
    }
    this.stack[this.depth++] = kind;
    if (this.depth > MAX_NESTING) {
      if (this.tooDeepAt < 0) this.tooDeepAt = at;
      this.flagLimit();
    }
  }

  /** One byte outside strings and tokens. */
  private structural(c: number, at: number): void {
    if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) return;
    switch (this.state) {
      case VALUE:
      case VALUE_OR_CLOSE:
        if (c === 0x5d && this.state === VALUE_OR_CLOSE) return this.close(c, at);
        return this.startValue(c, at);
      case KEY:
      case KEY_OR_CLOSE:
        if (c === 0x7d && this.state === KEY_OR_CLOSE) return this.close(c, at);
        if (c !== 0x22) this.fail(at, 'Expected double-quoted property name');
        this.inString = true;
        this.stringIsKey = true;
        this.stringStart = at;
        this.keyBytes = this.depth === 1 ? [] : null;
        return;
      case COLON:
        if (c !== 0x3a) this.fail(at, "Expected ':' after property name");
        this.state = VALUE;
        return;
      case AFTER:
        return this.afterValue(c, at);
      default:
        this.fail(at, 'Unexpected non-whitespace character after JSON');
    }
  }

  private afterValue(c: number, at: number): void {
    const top = this.stack[this.depth - 1];
    if (c === 0x2c) {
      this.state = top === OBJ ? KEY : VALUE;
      return;
    }
    if ((c === 0x7d && top === OBJ) || (c === 0x5d && top === ARR)) return this.close(c, at);
    this.fail(at, top === OBJ ? "Expected ',' or '}' after property value" : "Expected ',' or ']' after array element");
  }

  private startValue(c: number, at: number): void {
    const itemsList = c === 0x5b && this.depth === 1 && this.itemsKey;
    this.itemsKey = false;
    this.valueStart(at);
    if (c === 0x7b || c === 0x5b) {
      if (itemsList) {
        if (this.itemsOpen >= 0) this.duplicateItems = true;
        else {
          this.itemsOpen = at;
          this.inItems = true;
        }
      }
      this.push(c === 0x7b ? OBJ : ARR, at);
      this.state = c === 0x7b ? KEY_OR_CLOSE : VALUE_OR_CLOSE;
      return;
    }
    if (c === 0x22) {
      this.inString = true;
      this.stringIsKey = false;
      this.stringStart = at;
      return;
    }
    if (c === 0x2d || (c >= 0x30 && c <= 0x39) || c === 0x74 || c === 0x66 || c === 0x6e) {
      this.tokenStart = at;
      this.token = String.fromCharCode(c);
      return;
    }
    this.fail(at, c < 0x20 || c >= 0x7f ? `Unexpected character (byte 0x${c.toString(16).padStart(2, '0')})` : `Unexpected token '${String.fromCharCode(c)}'`);
  }

  private close(_c: number, at: number): void {
    this.depth--;
    if (this.inItems && this.depth === 1) {
      this.inItems = false;
      this.itemsClose = at;
    }
    this.valueEnd(at + 1);
  }
}
