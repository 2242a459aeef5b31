/**
 * Byte writers for the output encoders (verdict-encoder.ts, out-trace-encoder.ts): text and numbers
 * written straight into a Uint8Array at a position, which they return advanced. No string is built per
 * packet; names and fixed texts are encoded once (`utf8`) and copied with `putBytes`.
 *
 * Callers reserve room first (the encoders know a bound per packet), so these do no bounds checks.
 */

const encoder = new TextEncoder();

/** UTF-8 bytes of `s` (setup time only). */
export function utf8(s: string): Uint8Array {
  return encoder.encode(s);
}

/** Copies `src` to `out[p..]`. Short arrays are copied by hand (cheaper than `set` below ~16 bytes). */
export function putBytes(out: Uint8Array, p: number, src: Uint8Array): number {
  const n = src.length;
  if (n < 16) {
    for (let k = 0; k < n; k++) out[p + k] = src[k];
  } else out.set(src, p);
  return p + n;
}

/** ASCII text (code units < 128; cold paths such as IPv6 text). */
export function putAscii(out: Uint8Array, p: number, s: string): number {
  for (let k = 0; k < s.length; k++) out[p + k] = s.charCodeAt(k);
  return p + s.length;
}

/** Decimal digits of a non-negative integer below 2^53 (as `String(n)` prints it). */
export function putUint(out: Uint8Array, p: number, n: number): number {
  if (n < 10) {
    out[p] = 48 + n;
    return p + 1;
  }
  if (n < 100) {
    out[p] = 48 + ((n / 10) | 0);
    out[p + 1] = 48 + (n % 10);
    return p + 2;
  }
  let digits = 3;
  for (let t = 1000; t <= n && digits < 16; t *= 10) digits++;
  if (n >= 1e16) digits = String(n).length;
  let q = n;
  for (let k = digits - 1; k >= 0; k--) {
    const d = q % 10;
    out[p + k] = 48 + d;
    q = (q - d) / 10;
  }
  return p + digits;
}

/** Dotted IPv4 text of an unsigned 32-bit address (as core/ip.ts u32ToIpv4). */
export function putIpv4(out: Uint8Array, p: number, v: number): number {
  p = putUint(out, p, (v >>> 24) & 255);
  out[p++] = 46;
  p = putUint(out, p, (v >>> 16) & 255);
  out[p++] = 46;
  p = putUint(out, p, (v >>> 8) & 255);
  out[p++] = 46;
  return putUint(out, p, v & 255);
}

const HEX = utf8('0123456789abcdef');

/** Lower-case `aa:bb:cc:dd:ee:ff` of the 6 bytes at `a[o]` (as packet/addr.ts formatMac). */
export function putMac(out: Uint8Array, p: number, a: Uint8Array, o: number): number {
  for (let k = 0; k < 6; k++) {
    if (k !== 0) out[p++] = 58;
    const x = a[o + k];
    out[p] = HEX[x >>> 4];
    out[p + 1] = HEX[x & 15];
    p += 2;
  }
  return p;
}

/** Little-endian 32-bit store. */
export function putU32le(out: Uint8Array, p: number, v: number): void {
  out[p] = v & 255;
  out[p + 1] = (v >>> 8) & 255;
  out[p + 2] = (v >>> 16) & 255;
  out[p + 3] = (v >>> 24) & 255;
}

/** Little-endian 16-bit store. */
export function putU16le(out: Uint8Array, p: number, v: number): void {
  out[p] = v & 255;
  out[p + 1] = (v >>> 8) & 255;
}
