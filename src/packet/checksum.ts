/**
 * Internet checksums (RFC 1071) and their incremental update (RFC 1624).
 *
 * Used by the decoder (verification), the frame builder and trace generator (computation), and the
 * rewrite primitives of the VFP stages (incremental update after NAT, MAC and length changes).
 *
 * Vocabulary:
 * - a *sum* is an unfolded one's-complement partial sum: a plain non-negative integer, the total of
 *   16-bit big-endian words. Sums of disjoint ranges can be added; `foldSum` reduces one to 16 bits.
 * - a *checksum* is the 16-bit value written in a header: `~foldSum(sum) & 0xffff`.
 *
 * Sums are plain JS numbers (exact up to 2^53), so a whole 256 KiB packet can be summed without
 * intermediate folding.
 *
 * RFC 768 (UDP): "If the computed checksum is zero, it is transmitted as all ones (the equivalent in
 * one's complement arithmetic). An all zero transmitted checksum value means that the transmitter
 * generated no checksum". That rule applies to UDP over IPv4; over IPv6 a zero UDP checksum is invalid
 * (RFC 8200 §8.1), except where a tunnel protocol allows it (RFC 6935), which callers decide.
 */

/** IP protocol numbers used here. */
export const IPPROTO_ICMP = 1;
export const IPPROTO_TCP = 6;
export const IPPROTO_UDP = 17;
export const IPPROTO_ICMPV6 = 58;

/**
 * One's-complement partial sum of the bytes `a[start..end)` read as big-endian 16-bit words, added to
 * `init`. An odd trailing byte is padded with a zero byte on the right (RFC 1071). `start` must be the
 * position of a word boundary of the checksummed data (callers sum ranges that start at even offsets
 * relative to the header they belong to).
 */
export function onesSum(a: Uint8Array, start: number, end: number, init = 0): number {
  let s = init;
  let k = start;
  const even = end - ((end - start) & 1);
  // Unrolled by 4 words: the loop body is the whole cost of checksumming payloads.
  const end8 = start + ((even - start) & ~7);
  for (; k < end8; k += 8) {
    s += ((a[k] << 8) | a[k + 1]) + ((a[k + 2] << 8) | a[k + 3]) + ((a[k + 4] << 8) | a[k + 5]) + ((a[k + 6] << 8) | a[k + 7]);
  }
  for (; k < even; k += 2) s += (a[k] << 8) | a[k + 1];
  if (even !== end) s += a[even] << 8;
  return s;
}

/** Folds a partial sum (any non-negative integer below 2^53) to 16 bits with end-around carry. */
export function foldSum(s: number): number {
  // `s & 0xffff` is exact for numbers above 2^32 too: ToInt32 reduces modulo 2^32, a multiple of 2^16.
  while (s > 0xffff) s = (s & 0xffff) + Math.floor(s / 65536);
  return s;
}

/** The checksum for partial sum `s`: the one's complement of its folded value, 16 bits. */
export function checksumOf(s: number): number {
  return ~foldSum(s) & 0xffff;
}

/** Internet checksum of `a[start..end)` (plus an `init` partial sum, e.g. a pseudo header). */
export function internetChecksum(a: Uint8Array, start: number, end: number, init = 0): number {
  return checksumOf(onesSum(a, start, end, init));
}

// ---------------------------------------------------------------------------------------------
// IPv4 header

/**
 * Computes the IPv4 header checksum of the header at `a[l3]` (length from its IHL), treating the
 * checksum field (bytes 10–11) as zero. Does not write it; see `setIpv4HeaderChecksum`.
 */
export function ipv4HeaderChecksum(a: Uint8Array, l3: number): number {
  const hl = (a[l3] & 0x0f) << 2;
  return checksumOf(onesSum(a, l3 + 12, l3 + hl, onesSum(a, l3, l3 + 10)));
}

/** Computes and writes the IPv4 header checksum of the header at `a[l3]`; returns it. */
export function setIpv4HeaderChecksum(a: Uint8Array, l3: number): number {
  const c = ipv4HeaderChecksum(a, l3);
  a[l3 + 10] = c >>> 8;
  a[l3 + 11] = c & 0xff;
  return c;
}

/** True when the IPv4 header at `a[l3]` carries a correct checksum (the header sums to 0xffff). */
export function verifyIpv4HeaderChecksum(a: Uint8Array, l3: number): boolean {
  const hl = (a[l3] & 0x0f) << 2;
  return foldSum(onesSum(a, l3, l3 + hl)) === 0xffff;
}

// ---------------------------------------------------------------------------------------------
// Pseudo headers

/**
 * Partial sum of the IPv4 pseudo header (RFC 793 §3.1, RFC 768) of the IPv4 header at `a[l3]`:
 * source and destination address, protocol `proto`, and upper-layer length `l4len`.
 */
export function pseudoSum4(a: Uint8Array, l3: number, proto: number, l4len: number): number {
  return onesSum(a, l3 + 12, l3 + 20, proto + l4len);
}

/**
 * Partial sum of the IPv6 pseudo header (RFC 8200 §8.1) of the IPv6 header at `a[l3]`: source and
 * destination address (the final destination: callers with a routing header pass `dstOff`),
 * upper-layer packet length `l4len` and next header `nextHeader`.
 */
export function pseudoSum6(a: Uint8Array, l3: number, nextHeader: number, l4len: number, dstOff = l3 + 24): number {
  const s = onesSum(a, l3 + 8, l3 + 24, nextHeader + (l4len >>> 16) + (l4len & 0xffff));
  return onesSum(a, dstOff, dstOff + 16, s);
}

/** Offset of the checksum field inside the upper-layer header of protocol `proto`, or -1 if it has none we handle. */
export function l4ChecksumField(proto: number): number {
  switch (proto) {
    case IPPROTO_TCP:
      return 16;
    case IPPROTO_UDP:
      return 6;
    case IPPROTO_ICMP:
    case IPPROTO_ICMPV6:
      return 2;
    default:
      return -1;
  }
}

/**
 * Computes the checksum of the upper-layer packet `a[l4..end)` of protocol `proto` (TCP, UDP, ICMP or
 * ICMPv6) carried in the IP packet whose header is at `a[l3]` (`ipVer` 4 or 6), treating the checksum
 * field as zero. TCP, UDP and ICMPv6 include the pseudo header; ICMP (v4) does not. For UDP a computed
 * 0 is returned as 0xffff (RFC 768). Does not write it; see `setL4Checksum`.
 */
export function l4Checksum(a: Uint8Array, ipVer: number, l3: number, l4: number, end: number, proto: number): number {
  const field = l4 + l4ChecksumField(proto);
  let s: number;
  if (proto === IPPROTO_ICMP) s = 0;
  else if (ipVer === 4) s = pseudoSum4(a, l3, proto, end - l4);
  else s = pseudoSum6(a, l3, proto, end - l4);
  s = onesSum(a, l4, field, s);
  s = onesSum(a, field + 2, end, s);
  const c = checksumOf(s);
  return c === 0 && proto === IPPROTO_UDP ? 0xffff : c;
}

/** Computes and writes the upper-layer checksum (see `l4Checksum`); returns it. */
export function setL4Checksum(a: Uint8Array, ipVer: number, l3: number, l4: number, end: number, proto: number): number {
  const c = l4Checksum(a, ipVer, l3, l4, end, proto);
  const field = l4 + l4ChecksumField(proto);
  a[field] = c >>> 8;
  a[field + 1] = c & 0xff;
  return c;
}

/**
 * True when the upper-layer packet `a[l4..end)` carries a correct checksum. A UDP checksum of 0 over
 * IPv4 means "none" and verifies; over IPv6 it fails (RFC 8200 §8.1: "IPv6 receivers MUST discard UDP
 * packets containing a zero checksum") unless `allowZeroUdp6` (tunnels, RFC 6935).
 */
export function verifyL4Checksum(
  a: Uint8Array,
  ipVer: number,
  l3: number,
  l4: number,
  end: number,
  proto: number,
  allowZeroUdp6 = false,
): boolean {
  if (proto === IPPROTO_UDP && a[l4 + 6] === 0 && a[l4 + 7] === 0) return ipVer === 4 || allowZeroUdp6;
  let s: number;
  if (proto === IPPROTO_ICMP) s = 0;
  else if (ipVer === 4) s = pseudoSum4(a, l3, proto, end - l4);
  else s = pseudoSum6(a, l3, proto, end - l4);
  return foldSum(onesSum(a, l4, end, s)) === 0xffff;
}

// ---------------------------------------------------------------------------------------------
// Incremental update (RFC 1624, eqn. 3: HC' = ~(~HC + ~m + m'))

/**
 * The checksum `csum` after a 16-bit word of the covered data changed from `oldVal` to `newVal`.
 * Gives the same value a full recomputation would give (RFC 1624 §3 shows why eqn. 3, not eqn. 2).
 * For a UDP checksum: do not call it when the checksum is 0 (none), and send a result of 0 as 0xffff.
 */
export function csumReplace16(csum: number, oldVal: number, newVal: number): number {
  let s = (~csum & 0xffff) + (~oldVal & 0xffff) + (newVal & 0xffff);
  s = (s & 0xffff) + (s >>> 16);
  s = (s & 0xffff) + (s >>> 16);
  return ~s & 0xffff;
}

/** As `csumReplace16`, for a 32-bit field (an IPv4 address, a TCP sequence number) changing from `oldVal` to `newVal`. */
export function csumReplace32(csum: number, oldVal: number, newVal: number): number {
  let s = (~csum & 0xffff) + (~oldVal & 0xffff) + ((~oldVal >>> 16) & 0xffff) + (newVal & 0xffff) + (newVal >>> 16);
  s = (s & 0xffff) + (s >>> 16);
  s = (s & 0xffff) + (s >>> 16);
  return ~s & 0xffff;
}
