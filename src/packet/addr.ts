/**
 * Address conversions between the forms users write (dotted IPv4, RFC 4291 IPv6 text, `aa:bb:cc:dd:ee:ff`
 * or `AA-BB-CC-DD-EE-FF` MACs) and the forms packets and batch columns hold (unsigned 32-bit IPv4
 * numbers, 16-byte IPv6 arrays, 6-byte MACs). Not for the hot path: parsing allocates. Throws a plain
 * Error on bad text; callers that read user files wrap it in an InputError naming the field. IP text
 * parsing itself is core/ip.ts.
 */

import { ipv4ToU32, parseIPv6 } from '../core/ip';

/** IPv4 text <-> number conversions live in core/ip.ts; re-exported for packet code. */
export { ipv4ToU32, u32ToIpv4 } from '../core/ip';

/** Accepts an IPv4 address as text or as a 32-bit number; returns the number. */
export function toU32(addr: string | number): number {
  return typeof addr === 'number' ? addr >>> 0 : ipv4ToU32(addr);
}

/** Parses IPv6 text (with `::` and an optional trailing dotted IPv4) into 16 bytes; throws on bad text. */
export function parseIpv6(text: string): Uint8Array {
  const b = parseIPv6(text);
  if (b === null) throw new RangeError(`not an IPv6 address: '${text}'`);
  return b;
}

/** A MAC address as text (`aa:bb:cc:dd:ee:ff` or with `-`), 6 bytes, or an array of 6 numbers. */
export type MacLike = string | Uint8Array | readonly number[];

/** Parses a MAC to 6 bytes (copies when given bytes). */
export function parseMac(mac: MacLike): Uint8Array {
  if (typeof mac !== 'string') {
    if (mac.length !== 6) throw new Error(`a MAC address has 6 bytes, got ${mac.length}`);
    return Uint8Array.from(mac);
  }
  const parts = mac.split(/[:-]/);
  if (parts.length !== 6 || !parts.every((p) => /^[0-9a-fA-F]{2}$/.test(p))) throw new Error(`not a MAC address: '${mac}'`);
  return Uint8Array.from(parts.map((p) => parseInt(p, 16)));
}

/** Formats 6 bytes at `a[o]` as lower-case `aa:bb:cc:dd:ee:ff`. */
export function formatMac(a: Uint8Array, o = 0): string {
  let s = '';
  for (let k = 0; k < 6; k++) s += (k ? ':' : '') + a[o + k].toString(16).padStart(2, '0');
  return s;
}
