/**
 * Byte writing for the output encoders (verdict-encoder.ts, out-trace-encoder.ts): text and numbers written
 * straight into a Uint8Array, no string built per packet. Fixed texts (keys, names) are encoded once as a
 * `Text` and copied four bytes at a time through DataViews; numbers are written two digits at a time.
 *
 * `ByteWriter` holds the output array, a little-endian DataView over it and the position. Callers reserve
 * room first (the encoders know a bound per packet), so nothing here checks for space.
 */

const encoder = new TextEncoder();

/** UTF-8 bytes of `s` (setup time only). */
export function utf8(s: string): Uint8Array {
  return encoder.encode(s);
}

/** A fixed text as bytes, with a DataView for word copies. */
export class Text {
  readonly bytes: Uint8Array;
  readonly view: DataView;
  readonly length: number;

  constructor(s: string | Uint8Array) {
    const src = typeof s === 'string' ? utf8(s) : s;
    // padded to a multiple of 4 so that the last word can be read whole
    this.bytes = new Uint8Array((src.length + 3) & ~3);
    this.bytes.set(src);
    this.view = new DataView(this.bytes.buffer);
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
    const v = this.view;
    const src = t.view;
    const p = this.p;
    const n = t.length;
    for (let k = 0; k < n; k += 4) v.setUint32(p + k, src.getUint32(k, true), true);
    this.p = p + n;
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
