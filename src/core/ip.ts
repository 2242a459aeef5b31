/**
 * IPv4 / IPv6 address and CIDR helpers shared by the cluster importers (src/cluster) and the VFP
 * compiler (src/vfp). IPv4 addresses are handled as unsigned 32-bit numbers (`>>> 0`), so a prefix
 * test is one AND and one compare; IPv6 addresses as 16-byte arrays. Pure functions, no state.
 *
 * Text forms: IPv4 dotted decimal without leading zeros (`10.244.3.7`), IPv6 in RFC 5952 form
 * (`fd00::1`), CIDRs as `<address>/<length>`.
 */

/** A parsed CIDR. For IPv4, `base` and `mask` are u32 numbers; for IPv6 `bytes` holds the masked prefix. */
export interface Cidr {
  family: 4 | 6;
  /** Prefix length. */
  len: number;
  /** IPv4: network address (host bits cleared) as u32. IPv6: 0. */
  base: number;
  /** IPv4: netmask as u32 (`len` leading one bits). IPv6: 0. */
  mask: number;
  /** IPv4: the address as written (host bits kept, e.g. FLANNEL_SUBNET=10.244.4.1/24 keeps .1). IPv6: 0. */
  addr: number;
  /** IPv6: the 16 address bytes with host bits cleared; null for IPv4. */
  bytes: Uint8Array | null;
}

/** IPv4 netmask with `len` leading one bits, as u32. */
export function maskOf(len: number): number {
  return len === 0 ? 0 : (0xffffffff << (32 - len)) >>> 0;
}

/** Parses a dotted IPv4 address; returns -1 when `s` is not one (no leading zeros, each octet 0..255). */
export function tryParseIPv4(s: string): number {
  let value = 0;
  let octets = 0;
  let i = 0;
  const n = s.length;
  while (i < n) {
    let octet = 0;
    let digits = 0;
    const start = i;
    while (i < n) {
      const c = s.charCodeAt(i);
      if (c < 48 || c > 57) break;
      octet = octet * 10 + (c - 48);
      digits++;
      i++;
    }
    if (digits === 0 || digits > 3 || octet > 255 || (digits > 1 && s.charCodeAt(start) === 48)) return -1;
    value = value * 256 + octet;
    octets++;
    if (i === n) break;
    if (s.charCodeAt(i) !== 46 || octets === 4) return -1;
    i++;
    if (i === n) return -1;
  }
  return octets === 4 ? value >>> 0 : -1;
}

/** Parses a dotted IPv4 address to a u32; throws a RangeError when `s` is not one. */
export function ipv4ToU32(s: string): number {
  const v = tryParseIPv4(s);
  if (v < 0) throw new RangeError(`not an IPv4 address: ${JSON.stringify(s)}`);
  return v;
}

/** Formats a u32 as a dotted IPv4 address. */
export function u32ToIpv4(v: number): string {
  return `${(v >>> 24) & 255}.${(v >>> 16) & 255}.${(v >>> 8) & 255}.${v & 255}`;
}

/** Parses an IPv6 address (RFC 4291 text forms, including an embedded IPv4 tail) to 16 bytes, or null. */
export function parseIPv6(s: string): Uint8Array | null {
  if (s.length < 2 || s.length > 45) return null;
  const out = new Uint8Array(16);
  const dbl = s.indexOf('::');
  if (dbl >= 0 && s.indexOf('::', dbl + 1) >= 0) return null;
  const head = dbl >= 0 ? s.slice(0, dbl) : s;
  const tail = dbl >= 0 ? s.slice(dbl + 2) : '';
  const headWords = parseWords(head, dbl < 0 || tail === '');
  const tailWords = dbl >= 0 ? parseWords(tail, true) : [];
  if (!headWords || !tailWords) return null;
  const total = headWords.length + tailWords.length;
  if (dbl < 0 ? total !== 8 : total > 7) return null;
  for (let k = 0; k < headWords.length; k++) {
    out[2 * k] = headWords[k] >> 8;
    out[2 * k + 1] = headWords[k] & 255;
  }
  for (let k = 0; k < tailWords.length; k++) {
    const w = 8 - tailWords.length + k;
    out[2 * w] = tailWords[k] >> 8;
    out[2 * w + 1] = tailWords[k] & 255;
  }
  return out;
}

/** 16-bit groups of one side of `::`; an IPv4 tail is allowed only at the very end. */
function parseWords(part: string, mayEndInV4: boolean): number[] | null {
  if (part === '') return [];
  const groups = part.split(':');
  const words: number[] = [];
  for (let k = 0; k < groups.length; k++) {
    const g = groups[k];
    if (k === groups.length - 1 && mayEndInV4 && g.indexOf('.') >= 0) {
      const v4 = tryParseIPv4(g);
      if (v4 < 0) return null;
      words.push(v4 >>> 16, v4 & 0xffff);
      continue;
    }
    if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return null;
    words.push(parseInt(g, 16));
  }
  return words;
}

/** Formats 16 bytes as an RFC 5952 IPv6 address (lower case, longest zero run of 2+ groups as `::`). */
export function formatIPv6(b: Uint8Array): string {
  const w: number[] = [];
  for (let k = 0; k < 8; k++) w.push((b[2 * k] << 8) | b[2 * k + 1]);
  let bestStart = -1;
  let bestLen = 1;
  for (let k = 0; k < 8; ) {
    if (w[k] !== 0) {
      k++;
      continue;
    }
    let j = k;
    while (j < 8 && w[j] === 0) j++;
    if (j - k > bestLen) {
      bestStart = k;
      bestLen = j - k;
    }
    k = j;
  }
  const hex = (from: number, to: number) => w.slice(from, to).map((x) => x.toString(16)).join(':');
  if (bestStart < 0) return hex(0, 8);
  return `${hex(0, bestStart)}::${hex(bestStart + bestLen, 8)}`;
}

/** The address in its canonical text form (IPv4 dotted, IPv6 RFC 5952), or null when `s` is not an address. */
export function normalizeIp(s: string): string | null {
  const v4 = tryParseIPv4(s);
  if (v4 >= 0) return u32ToIpv4(v4);
  const v6 = parseIPv6(s);
  return v6 ? formatIPv6(v6) : null;
}

/** 4 for an IPv4 address, 6 for IPv6, 0 otherwise. */
export function ipFamily(s: string): 0 | 4 | 6 {
  if (tryParseIPv4(s) >= 0) return 4;
  return parseIPv6(s) ? 6 : 0;
}

/** Parses `a.b.c.d/len` or `v6/len`; returns null when it is not a CIDR. Host bits are cleared in `base`/`bytes`. */
export function tryParseCidr(s: string): Cidr | null {
  const slash = s.indexOf('/');
  if (slash < 0) return null;
  const lenText = s.slice(slash + 1);
  if (!/^[0-9]{1,3}$/.test(lenText)) return null;
  const len = Number(lenText);
  const ip = s.slice(0, slash);
  const v4 = tryParseIPv4(ip);
  if (v4 >= 0) {
    if (len > 32) return null;
    const mask = maskOf(len);
    return { family: 4, len, base: (v4 & mask) >>> 0, mask, addr: v4, bytes: null };
  }
  const v6 = parseIPv6(ip);
  if (!v6 || len > 128) return null;
  const bytes = new Uint8Array(16);
  for (let k = 0; k < 16; k++) {
    const bits = Math.max(0, Math.min(8, len - 8 * k));
    bytes[k] = v6[k] & ((0xff << (8 - bits)) & 0xff);
  }
  return { family: 6, len, base: 0, mask: 0, addr: 0, bytes };
}

/** Parses a CIDR; throws a RangeError when `s` is not one. */
export function parseCidr(s: string): Cidr {
  const c = tryParseCidr(s);
  if (!c) throw new RangeError(`not a CIDR: ${JSON.stringify(s)}`);
  return c;
}

/** Canonical text of a CIDR's network (`10.244.4.1/24` -> `10.244.4.0/24`). */
export function formatCidr(c: Cidr): string {
  return c.family === 4 ? `${u32ToIpv4(c.base)}/${c.len}` : `${formatIPv6(c.bytes as Uint8Array)}/${c.len}`;
}

/** True when `ip` (text, or an IPv4 u32) lies inside `cidr` (text or parsed). Mixed families never match. */
export function cidrContains(cidr: Cidr | string, ip: string | number): boolean {
  const c = typeof cidr === 'string' ? parseCidr(cidr) : cidr;
  if (typeof ip === 'number') return c.family === 4 && ((ip & c.mask) >>> 0) === c.base;
  if (c.family === 4) {
    const v = tryParseIPv4(ip);
    return v >= 0 && ((v & c.mask) >>> 0) === c.base;
  }
  const b = parseIPv6(ip);
  if (!b) return false;
  const prefix = c.bytes as Uint8Array;
  for (let k = 0; k < 16; k++) {
    const bits = Math.max(0, Math.min(8, c.len - 8 * k));
    if (bits === 0) break;
    if ((b[k] & ((0xff << (8 - bits)) & 0xff)) !== prefix[k]) return false;
  }
  return true;
}

/** True when two CIDRs of the same family share at least one address. */
export function cidrsOverlap(a: Cidr | string, b: Cidr | string): boolean {
  const x = typeof a === 'string' ? parseCidr(a) : a;
  const y = typeof b === 'string' ? parseCidr(b) : b;
  if (x.family !== y.family) return false;
  const shorter = x.len <= y.len ? x : y;
  const longer = shorter === x ? y : x;
  return longer.family === 4 ? cidrContains(shorter, longer.base) : cidrContains(shorter, formatCidr(longer).split('/')[0]);
}

/** The IPv4 address `n` places after the CIDR's network address (`.0 + n`). */
export function cidrHost(c: Cidr, n: number): string {
  return u32ToIpv4((c.base + n) >>> 0);
}

/** The 16 bytes of an IPv4 (as ::ffff:a.b.c.d is not used here) or IPv6 address: IPv4 gives its 4 bytes. */
export function ipBytes(ip: string): Uint8Array | null {
  const v4 = tryParseIPv4(ip);
  if (v4 >= 0) return new Uint8Array([v4 >>> 24, (v4 >>> 16) & 255, (v4 >>> 8) & 255, v4 & 255]);
  return parseIPv6(ip);
}
