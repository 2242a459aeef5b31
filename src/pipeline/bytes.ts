/**
 * Byte writing for the output encoders (verdict-encoder.ts, out-trace-encoder.ts): text and numbers written
 * straight into a Uint8Array, no string built per packet. Fixed texts (keys, names) are encoded once as a
 * `Text` and copied four bytes at a time (little-endian words through a DataView); numbers are written two
 * digits at a time (`ByteWriter`) or four at a time from tables of the digits of 0..9999 (`putUint`).
 *
 * Two ways to write: `ByteWriter` holds the output array, a DataView over it and the position; the `put*`
 * functions and the address text caches (`Ipv4Texts`, `MacTexts`) take the DataView and the position and
 * return the position after what they wrote, so that a hot loop keeps the position in a local. Callers
 * reserve room first (the encoders know a bound per packet), so nothing here checks for space; each write
 * may store up to 25 bytes of padding past its end (overwritten by what comes next): reserve that too.
 */

const encoder = new TextEncoder();

/** UTF-8 bytes of `s` (setup time only). */
export function utf8(s: string): Uint8Array {
  return encoder.encode(s);
}

/** The little-endian 32-bit words of `bytes` (its length a multiple of 4). */
function wordsOf(bytes: Uint8Array): Uint32Array {
  const w = new Uint32Array(bytes.length >>> 2);
  for (let k = 0; k < w.length; k++) w[k] = bytes[4 * k] | (bytes[4 * k + 1] << 8) | (bytes[4 * k + 2] << 16) | (bytes[4 * k + 3] << 24);
  return w;
}

/** A fixed text as bytes, with a DataView and its little-endian words for word copies. */
export class Text {
  readonly bytes: Uint8Array;
  readonly view: DataView;
  /** The bytes (and padding) as little-endian words: what `text` and `putText` copy. */
  readonly words: Uint32Array;
  readonly length: number;

  constructor(s: string | Uint8Array) {
    const src = typeof s === 'string' ? utf8(s) : s;
    // padded to a multiple of 4 so that the last word can be read whole
    this.bytes = new Uint8Array((src.length + 3) & ~3);
    this.bytes.set(src);
    this.view = new DataView(this.bytes.buffer);
    this.words = wordsOf(this.bytes);
    this.length = src.length;
  }
}

/** Two ASCII digits per number 0..99. */
const DIGITS2 = new Uint8Array(200);
for (let k = 0; k < 100; k++) {
  DIGITS2[2 * k] = 48 + Math.floor(k / 10);
  DIGITS2[2 * k + 1] = 48 + (k % 10);
}
const HEX = utf8('0123456789abcdef');

/** Number of decimal digits of a non-negative integer below 2^53. */
function digitCount(n: number): number {
  if (n < 1e8) return n < 1e4 ? (n < 100 ? (n < 10 ? 1 : 2) : n < 1000 ? 3 : 4) : n < 1e6 ? (n < 1e5 ? 5 : 6) : n < 1e7 ? 7 : 8;
  let d = 9;
  for (let t = 1e9; t <= n && d < 16; t *= 10) d++;
  return d;
}

/** The four digits, zero-padded, of each number 0..9999, as a little-endian word. */
const PAD4 = new Uint32Array(10000);
/** The digits of each number 0..9999 (as `String(n)`), as a little-endian word, and their count. */
const DIGITS4 = new Uint32Array(10000);
const DIGITS4_LEN = new Uint8Array(10000);
// built at load time by every command that writes: no array per entry (issue 12, start-up: this loop took
// about 10 ms of the lesson's start-up when it made one); the unpadded digits are the padded word shifted
for (let n = 0; n < 10000; n++) {
  const d = n < 10 ? 1 : n < 100 ? 2 : n < 1000 ? 3 : 4;
  const p = (48 + ((n / 1000) | 0)) | ((48 + (((n / 100) | 0) % 10)) << 8) | ((48 + (((n / 10) | 0) % 10)) << 16) | ((48 + (n % 10)) << 24);
  PAD4[n] = p;
  DIGITS4[n] = p >>> (8 * (4 - d));
  DIGITS4_LEN[n] = d;
}

/** Copies a fixed text to `v` at `p` (up to 3 bytes of its padding past it); returns the position after it. */
export function putText(v: DataView, p: number, t: Text): number {
  const w = t.words;
  for (let k = 0; k < w.length; k++) v.setUint32(p + 4 * k, w[k], true);
  return p + t.length;
}

/** Bytes from which `putTextTo` copies a text with one `set` rather than word by word. */
const SET_FROM = 40;

/**
 * `putText` for texts that may be long (cached heads, tails, comment fields): `out` is the array `v` views
 * (same offset). A text of SET_FROM bytes or more is copied with one `Uint8Array.set` from its bytes (a
 * memcpy after a fixed cost of about 15 ns), a shorter one word by word (about 2 ns a word, in a loop):
 * measured on 120-byte texts, 27 ns with `set` against 67 word by word; they cost the same near 40 bytes.
 * Writes up to 3 bytes of the text's padding past it, as `putText`.
 */
export function putTextTo(out: Uint8Array, v: DataView, p: number, t: Text): number {
  if (t.length < SET_FROM) return putText(v, p, t);
  out.set(t.bytes, p);
  return p + t.length;
}

/** Decimal digits of `n`, 0..99999 (up to 3 bytes past them); returns the position after them. */
export function putSmall(v: DataView, p: number, n: number): number {
  if (n < 10000) {
    v.setUint32(p, DIGITS4[n], true);
    return p + DIGITS4_LEN[n];
  }
  const r = n % 10000;
  v.setUint8(p, 48 + (n - r) / 10000);
  v.setUint32(p + 1, PAD4[r], true);
  return p + 5;
}

/** Lowercase hex digits of `n` (0..0xffff, no leading zeros, as `n.toString(16)`); returns the position after them. */
function putHex16(v: DataView, p: number, n: number): number {
  let shift = 12;
  while (shift > 0 && n >>> shift === 0) shift -= 4;
  for (; shift >= 0; shift -= 4) {
    const d = (n >>> shift) & 15;
    v.setUint8(p++, d < 10 ? 48 + d : 87 + d);
  }
  return p;
}

/**
 * The IPv6 address at `a[o]` as decode/format.ts `ipv6Text` prints it (RFC 5952: the longest run of zero
 * words of at least 2 as `::`, the first on a tie; `::a.b.c.d` and `::ffff:a.b.c.d`), written without a
 * string (up to 3 bytes past it); returns the position after it.
 */
export function putIpv6(v: DataView, p: number, a: Uint8Array, o: number): number {
  let bestBase = -1;
  let bestLen = 0;
  let curBase = -1;
  let curLen = 0;
  for (let k = 0; k < 8; k++) {
    if ((a[o + 2 * k] | a[o + 2 * k + 1]) !== 0) curBase = -1;
    else {
      if (curBase < 0) curBase = k;
      curLen = curBase === k ? 1 : curLen + 1;
      if (curLen > bestLen) {
        bestBase = curBase;
        bestLen = curLen;
      }
    }
  }
  if (bestLen < 2) bestBase = -1;
  const w5 = (a[o + 10] << 8) | a[o + 11];
  for (let k = 0; k < 8; k++) {
    if (bestBase >= 0 && k >= bestBase && k < bestBase + bestLen) {
      if (k === bestBase) v.setUint8(p++, 58);
      continue;
    }
    if (k !== 0) v.setUint8(p++, 58);
    if (k === 6 && bestBase === 0 && (bestLen === 6 || (bestLen === 5 && w5 === 0xffff))) {
      for (let q = 12; q < 16; q++) {
        if (q !== 12) v.setUint8(p++, 46);
        p = putSmall(v, p, a[o + q]);
      }
      return p;
    }
    p = putHex16(v, p, (a[o + 2 * k] << 8) | a[o + 2 * k + 1]);
  }
  if (bestBase >= 0 && bestBase + bestLen === 8) v.setUint8(p++, 58);
  return p;
}

/** Decimal digits of a non-negative integer below 2^53 (as `String(n)` prints it); returns the position after them. */
export function putUint(v: DataView, p: number, n: number): number {
  if (n < 100000) return putSmall(v, p, n);
  const r = n % 10000;
  const q = (n - r) / 10000;
  const at = q < 100000 ? putSmall(v, p, q) : putUint(v, p, q);
  v.setUint32(at, PAD4[r], true);
  return at + 4;
}

/** Dotted text of an IPv4 address `a` into `t[o..]`; returns its length (7 to 15). */
function ipv4Bytes(a: number, t: Uint8Array, o: number): number {
  let p = o;
  for (let k = 24; k >= 0; k -= 8) {
    const x = (a >>> k) & 255;
    if (x >= 100) t[p++] = 48 + Math.floor(x / 100);
    if (x >= 10) t[p++] = 48 + (Math.floor(x / 10) % 10);
    t[p++] = 48 + (x % 10);
    if (k !== 0) t[p++] = 46;
  }
  return p - o;
}

/** Stores the eight words `w[o..o+8)` little-endian at `v[p..p+32)` (a cached text, see Ipv4Texts). */
function putWords8(v: DataView, p: number, w: Uint32Array, o: number): void {
  v.setUint32(p, w[o], true);
  v.setUint32(p + 4, w[o + 1], true);
  v.setUint32(p + 8, w[o + 2], true);
  v.setUint32(p + 12, w[o + 3], true);
  v.setUint32(p + 16, w[o + 4], true);
  v.setUint32(p + 20, w[o + 5], true);
  v.setUint32(p + 24, w[o + 6], true);
  v.setUint32(p + 28, w[o + 7], true);
}

/** The text a cache miss of Ipv4Texts / MacTexts is built in (no array per miss: misses are per packet in big traces). */
const FILL_SCRATCH = new Uint8Array(32);

/** Writes `t` (its length a multiple of 4) as little-endian words into `w` from `w[at]`. */
function storeWords(w: Uint32Array, at: number, t: Uint8Array): void {
  for (let k = 0; 4 * k < t.length; k++) w[at + k] = t[4 * k] | (t[4 * k + 1] << 8) | (t[4 * k + 2] << 16) | (t[4 * k + 3] << 24);
}

/**
 * Dotted IPv4 texts, each followed by a fixed `suffix` (at most 16 bytes, such as `","sport":`), cached:
 * a direct-mapped table of `2^bits` addresses (the last one seen per slot), each text kept as eight words.
 * The addresses of a trace repeat (pods, Service VIPs, nodes), so most writes are eight word stores.
 */
export class Ipv4Texts {
  private readonly keys: Uint32Array;
  /** Text length per slot; 0: empty. */
  private readonly lens: Uint8Array;
  private readonly words: Uint32Array;
  private readonly suffix: Uint8Array;
  private readonly shift: number;

  constructor(suffix = '', bits = 12) {
    this.suffix = utf8(suffix);
    if (this.suffix.length > 16) throw new RangeError(`Ipv4Texts suffix longer than 16 bytes: ${suffix}`);
    this.keys = new Uint32Array(1 << bits);
    this.lens = new Uint8Array(1 << bits);
    this.words = new Uint32Array(8 << bits);
    this.shift = 32 - bits;
  }

  /** Writes the dotted text of the unsigned 32-bit address `a` and the suffix (32 bytes stored); returns the position after them. */
  put(v: DataView, p: number, a: number): number {
    const s = Math.imul(a, 0x9e3779b1) >>> this.shift;
    let len = this.lens[s];
    if (len === 0 || this.keys[s] !== a) len = this.fill(s, a);
    const w = this.words;
    const o = 8 * s;
    putWords8(v, p, w, o);
    return p + len;
  }

  private fill(s: number, a: number): number {
    const t = FILL_SCRATCH;
    t.fill(0);
    const n = ipv4Bytes(a >>> 0, t, 0);
    t.set(this.suffix, n);
    storeWords(this.words, 8 * s, t);
    this.keys[s] = a;
    this.lens[s] = n + this.suffix.length;
    return this.lens[s];
  }
}

/**
 * Lower-case `aa:bb:cc:dd:ee:ff` MAC texts, each followed by a fixed `suffix` (at most 15 bytes), cached
 * like `Ipv4Texts` (key: the first two bytes and the last four), each text kept as eight words.
 */
export class MacTexts {
  private readonly hi: Int32Array;
  private readonly lo: Int32Array;
  private readonly used: Uint8Array;
  private readonly words: Uint32Array;
  private readonly suffix: Uint8Array;
  private readonly length: number;
  private readonly shift: number;

  constructor(suffix = '', bits = 10) {
    this.suffix = utf8(suffix);
    if (this.suffix.length > 15) throw new RangeError(`MacTexts suffix longer than 15 bytes: ${suffix}`);
    this.length = 17 + this.suffix.length;
    this.hi = new Int32Array(1 << bits);
    this.lo = new Int32Array(1 << bits);
    this.used = new Uint8Array(1 << bits);
    this.words = new Uint32Array(8 << bits);
    this.shift = 32 - bits;
  }

  /** Writes the text of the 6 bytes at `a[o]` and the suffix (32 bytes stored); returns the position after them. */
  put(v: DataView, p: number, a: Uint8Array, o: number): number {
    const hi = (a[o] << 8) | a[o + 1];
    const lo = (a[o + 2] << 24) | (a[o + 3] << 16) | (a[o + 4] << 8) | a[o + 5];
    const s = Math.imul(lo ^ Math.imul(hi, 0x85ebca6b), 0x9e3779b1) >>> this.shift;
    if (this.used[s] === 0 || this.lo[s] !== lo || this.hi[s] !== hi) this.fill(s, a, o, hi, lo);
    const w = this.words;
    const k = 8 * s;
    putWords8(v, p, w, k);
    return p + this.length;
  }

  private fill(s: number, a: Uint8Array, o: number, hi: number, lo: number): void {
    const t = FILL_SCRATCH;
    t.fill(0);
    for (let k = 0; k < 6; k++) {
      const x = a[o + k];
      t[3 * k] = HEX[x >>> 4];
      t[3 * k + 1] = HEX[x & 15];
      if (k !== 5) t[3 * k + 2] = 58;
    }
    t.set(this.suffix, 17);
    storeWords(this.words, 8 * s, t);
    this.hi[s] = hi;
    this.lo[s] = lo;
    this.used[s] = 1;
  }
}

export class ByteWriter {
  out: Uint8Array = new Uint8Array(0);
  view: DataView = new DataView(new ArrayBuffer(0));
  p = 0;

  /** Writes into `out` from position `p` (the DataView is made again only when `out` changes). */
  reset(out: Uint8Array, p: number): void {
    if (out !== this.out) {
      this.out = out;
      this.view = new DataView(out.buffer, out.byteOffset, out.byteLength);
    }
    this.p = p;
  }

  /** Copies a fixed text. Writes up to 3 bytes past it (zeros or the text's padding): reserve room. */
  text(t: Text): void {
    this.p = putText(this.view, this.p, t);
  }

  /** One ASCII byte. */
  byte(c: number): void {
    this.out[this.p++] = c;
  }

  /** Decimal digits of a non-negative integer below 2^53 (as `String(n)` prints it). */
  uint(n: number): void {
    const out = this.out;
    const p = this.p;
    if (n < 10) {
      out[p] = 48 + n;
      this.p = p + 1;
      return;
    }
    const d = digitCount(n);
    let e = p + d;
    let q = n;
    while (q >= 100) {
      const r = q % 100;
      q = (q - r) / 100;
      e -= 2;
      out[e] = DIGITS2[2 * r];
      out[e + 1] = DIGITS2[2 * r + 1];
    }
    if (q >= 10) {
      out[e - 2] = DIGITS2[2 * q];
      out[e - 1] = DIGITS2[2 * q + 1];
    } else out[e - 1] = 48 + q;
    this.p = p + d;
  }

  /** Dotted IPv4 text of an unsigned 32-bit address (as core/ip.ts u32ToIpv4). */
  ipv4(v: number): void {
    this.uint((v >>> 24) & 255);
    this.out[this.p++] = 46;
    this.uint((v >>> 16) & 255);
    this.out[this.p++] = 46;
    this.uint((v >>> 8) & 255);
    this.out[this.p++] = 46;
    this.uint(v & 255);
  }

  /** Lower-case `aa:bb:cc:dd:ee:ff` of the 6 bytes at `a[o]` (as packet/addr.ts formatMac). */
  mac(a: Uint8Array, o: number): void {
    const out = this.out;
    let p = this.p;
    for (let k = 0; k < 6; k++) {
      if (k !== 0) out[p++] = 58;
      const x = a[o + k];
      out[p] = HEX[x >>> 4];
      out[p + 1] = HEX[x & 15];
      p += 2;
    }
    this.p = p;
  }

  /** ASCII text (code units < 128; cold paths such as IPv6 text). */
  ascii(s: string): void {
    const out = this.out;
    const p = this.p;
    for (let k = 0; k < s.length; k++) out[p + k] = s.charCodeAt(k);
    this.p = p + s.length;
  }
}

/** Little-endian 32-bit store (setup-time blocks). */
export function putU32le(out: Uint8Array, p: number, v: number): void {
  out[p] = v & 255;
  out[p + 1] = (v >>> 8) & 255;
  out[p + 2] = (v >>> 16) & 255;
  out[p + 3] = (v >>> 24) & 255;
}

/** Little-endian 16-bit store (setup-time blocks). */
export function putU16le(out: Uint8Array, p: number, v: number): void {
  out[p] = v & 255;
  out[p + 1] = (v >>> 8) & 255;
}

/** Copies `src` to `out[p..]` (setup-time blocks); returns the position after it. */
export function putBytes(out: Uint8Array, p: number, src: Uint8Array): number {
  out.set(src, p);
  return p + src.length;
}
