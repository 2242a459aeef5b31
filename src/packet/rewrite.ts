/**
 * In-place rewrite primitives for the hot path: MAC rewrite, IPv4 SNAT / DNAT (with ICMP query ids as
 * ports), VXLAN encapsulation as a prepend into the slot's headroom, and decapsulation.
 *
 * Two sets live here for now: the byte primitives the VFP engine runs (writeMac, nat4At, frameAsEthernet,
 * vxlanPrepend, popOuter, unpopOuter: explicit offsets, packet bytes only, see "engine primitives" below)
 * and a column-updating set (setSrcMac ... decapVxlan) that nothing on the product path calls.
 *
 * Each primitive touches one packet of a Batch, costs O(header), allocates nothing, and keeps every
 * checksum right by RFC 1624 incremental update (so a truncated capture stays consistent with the
 * original's checksums too).
 *
 * Uses (batch columns, offsets relative to `off[i]`, as src/decode fills them):
 *   off, caplen, wirelen, flags (PF), l2Off, l3Off, l4Off, ipVer, proto, icmpType, and for decap
 *   the inner* columns and vni.
 * Sets: the packet bytes, and the columns that describe what was changed, so that the batch stays what
 *   the decoder would produce for the rewritten packet: src4/sport (snat4), dst4/dport (dnat4); for
 *   encap/decap the offsets, addresses, ports, flags and the inner* / vni columns (see each function).
 * Next: the caller decides (these are actions of a header transposition, not a stage).
 *
 * Not handled here: IPv6 NAT, and the header embedded in ICMP error messages (reverse NAT of ICMP
 * errors); a packet these do not apply to is left unchanged and the function returns false.
 */

import { Batch, PF } from '../core/batch';
import { csumReplace16, csumReplace32, checksumOf, onesSum } from './checksum';
import { parseMac, toU32, type MacLike } from './addr';

/** Bytes VXLAN over IPv4 adds in front of the inner Ethernet frame: Ethernet 14 + IPv4 20 + UDP 8 + VXLAN 8. */
export const VXLAN_OUTER_LEN = 50;

const ICMP_ECHO_REPLY = 0;
const ICMP_ECHO_REQUEST = 8;
const ICMP_TIMESTAMP = 13;
const ICMP_TIMESTAMP_REPLY = 14;

/**
 * Packet flags that only the outermost headers can set (src/decode): encapsulation clears them (new outer
 * headers), decapsulation recomputes them from the inner headers. HAS_ICMP, ICMP_ERROR and DNS are not
 * among them: the decoder takes those from the first ICMP header / DNS question it finds, inner included.
 */
const OUTER_ONLY_FLAGS = PF.FRAGMENT | PF.NONFIRST_FRAGMENT | PF.HAS_VLAN | PF.HAS_PORTS | PF.TUNNEL | PF.INNER_PORTS | PF.GENEVE;

/** True for ICMP (v4) query messages whose identifier NAT treats as the port (RFC 5508 §3.1). */
function isIcmpQuery(type: number): boolean {
  return type === ICMP_ECHO_REQUEST || type === ICMP_ECHO_REPLY || type === ICMP_TIMESTAMP || type === ICMP_TIMESTAMP_REPLY;
}

// ---------------------------------------------------------------------------------------------
// MAC

/**
 * Sets the Ethernet source MAC of packet `i` to the MAC whose first two bytes are `hi16` and last four
 * `lo32` (see addr.ts `macHi`/`macLo`). Returns false (and changes nothing) when the packet has no
 * Ethernet header (`l2Off` -1) or is too short for one.
 */
export function setSrcMac(b: Batch, i: number, hi16: number, lo32: number): boolean {
  const l2 = b.l2Off[i];
  if (l2 < 0 || l2 + 14 > b.caplen[i]) return false;
  const a = b.arena;
  const o = b.off[i] + l2 + 6;
  a[o] = hi16 >>> 8;
  a[o + 1] = hi16 & 0xff;
  a[o + 2] = lo32 >>> 24;
  a[o + 3] = (lo32 >>> 16) & 0xff;
  a[o + 4] = (lo32 >>> 8) & 0xff;
  a[o + 5] = lo32 & 0xff;
  return true;
}

/** As `setSrcMac`, for the destination MAC. */
export function setDstMac(b: Batch, i: number, hi16: number, lo32: number): boolean {
  const l2 = b.l2Off[i];
  if (l2 < 0 || l2 + 14 > b.caplen[i]) return false;
  const a = b.arena;
  const o = b.off[i] + l2;
  a[o] = hi16 >>> 8;
  a[o + 1] = hi16 & 0xff;
  a[o + 2] = lo32 >>> 24;
  a[o + 3] = (lo32 >>> 16) & 0xff;
  a[o + 4] = (lo32 >>> 8) & 0xff;
  a[o + 5] = lo32 & 0xff;
  return true;
}

/** Sets the source MAC from 6 bytes at `table[at]` (a MAC table indexed by endpoint). See `setSrcMac`. */
export function setSrcMacFrom(b: Batch, i: number, table: Uint8Array, at: number): boolean {
  const l2 = b.l2Off[i];
  if (l2 < 0 || l2 + 14 > b.caplen[i]) return false;
  const a = b.arena;
  const o = b.off[i] + l2 + 6;
  for (let k = 0; k < 6; k++) a[o + k] = table[at + k];
  return true;
}

/** Sets the destination MAC from 6 bytes at `table[at]`. See `setSrcMac`. */
export function setDstMacFrom(b: Batch, i: number, table: Uint8Array, at: number): boolean {
  const l2 = b.l2Off[i];
  if (l2 < 0 || l2 + 14 > b.caplen[i]) return false;
  const a = b.arena;
  const o = b.off[i] + l2;
  for (let k = 0; k < 6; k++) a[o + k] = table[at + k];
  return true;
}

// ---------------------------------------------------------------------------------------------
// IPv4 NAT

/**
 * Rewrites one IPv4 address (at `addrAt` = 12 source / 16 destination of the IP header) and, when
 * `newPort` >= 0, the port on the same side (`portAt` 0 source / 2 destination of the TCP/UDP header,
 * or the ICMP query identifier), updating the IP header checksum and the TCP / UDP / ICMP checksum
 * incrementally. Returns false when the packet is not IPv4 or its IP header is not all captured.
 */
function nat4(b: Batch, i: number, addrAt: number, portAt: number, newAddr: number, newPort: number): boolean {
  const l3rel = b.l3Off[i];
  if (b.ipVer[i] !== 4 || l3rel < 0) return false;
  const a = b.arena;
  const base = b.off[i];
  const end = base + b.caplen[i];
  const l3 = base + l3rel;
  if (l3 + 20 > end) return false;
  const ao = l3 + addrAt;
  const oldAddr = ((a[ao] << 24) | (a[ao + 1] << 16) | (a[ao + 2] << 8) | a[ao + 3]) >>> 0;
  newAddr >>>= 0;
  a[ao] = newAddr >>> 24;
  a[ao + 1] = (newAddr >>> 16) & 0xff;
  a[ao + 2] = (newAddr >>> 8) & 0xff;
  a[ao + 3] = newAddr & 0xff;
  const ipc = csumReplace32((a[l3 + 10] << 8) | a[l3 + 11], oldAddr, newAddr);
  a[l3 + 10] = ipc >>> 8;
  a[l3 + 11] = ipc & 0xff;

  const l4rel = b.l4Off[i];
  if (l4rel < 0 || (b.flags[i] & PF.NONFIRST_FRAGMENT) !== 0) return true;
  const l4 = base + l4rel;
  const proto = b.proto[i];
  if (proto === 6 || proto === 17) {
    const cs = l4 + (proto === 6 ? 16 : 6);
    const po = l4 + portAt;
    const havePort = newPort >= 0 && po + 2 <= end;
    const oldPort = havePort ? (a[po] << 8) | a[po + 1] : 0;
    if (havePort) {
      a[po] = newPort >>> 8;
      a[po + 1] = newPort & 0xff;
    }
    if (cs + 2 > end) return true; // checksum not captured: nothing to keep consistent
    let c = (a[cs] << 8) | a[cs + 1];
    if (proto === 17 && c === 0) return true; // UDP over IPv4 without checksum stays without (RFC 768)
    c = csumReplace32(c, oldAddr, newAddr);
    if (havePort) c = csumReplace16(c, oldPort, newPort);
    if (proto === 17 && c === 0) c = 0xffff; // RFC 768: a computed 0 is transmitted as all ones
    a[cs] = c >>> 8;
    a[cs + 1] = c & 0xff;
  } else if (proto === 1 && newPort >= 0 && l4 + 8 <= end && isIcmpQuery(a[l4])) {
    // ICMP has no pseudo header: only the identifier (the query "port") enters its checksum.
    const po = l4 + 4;
    const oldId = (a[po] << 8) | a[po + 1];
    a[po] = newPort >>> 8;
    a[po + 1] = newPort & 0xff;
    const c = csumReplace16((a[l4 + 2] << 8) | a[l4 + 3], oldId, newPort);
    a[l4 + 2] = c >>> 8;
    a[l4 + 3] = c & 0xff;
  }
  return true;
}

/**
 * Source NAT of IPv4 packet `i`: the source address becomes `newSrc` (unsigned 32-bit) and, when
 * `newSport` >= 0, the TCP/UDP source port (or, for an ICMP echo/timestamp query or reply, the
 * identifier) becomes `newSport`. IP, TCP, UDP and ICMP checksums are updated incrementally; a UDP
 * checksum of 0 (none) stays 0. Non-first fragments get the address only. Sets `src4[i]` and, for
 * TCP/UDP, `sport[i]`. Returns false (unchanged) when the packet is not IPv4.
 */
export function snat4(b: Batch, i: number, newSrc: number, newSport: number): boolean {
  if (!nat4(b, i, 12, 0, newSrc, newSport)) return false;
  b.src4[i] = newSrc >>> 0;
  if (newSport >= 0 && (b.flags[i] & PF.HAS_PORTS) !== 0) b.sport[i] = newSport;
  return true;
}

/**
 * Destination NAT of IPv4 packet `i`: as `snat4` for the destination address and the TCP/UDP
 * destination port (for ICMP queries and replies, the identifier). Sets `dst4[i]` and, for TCP/UDP,
 * `dport[i]`.
 */
export function dnat4(b: Batch, i: number, newDst: number, newDport: number): boolean {
  if (!nat4(b, i, 16, 2, newDst, newDport)) return false;
  b.dst4[i] = newDst >>> 0;
  if (newDport >= 0 && (b.flags[i] & PF.HAS_PORTS) !== 0) b.dport[i] = newDport;
  return true;
}

// ---------------------------------------------------------------------------------------------
// Flow hash (outer UDP source port entropy, sharding)

function mix(h: number, k: number): number {
  k = Math.imul(k, 0xcc9e2d51);
  k = (k << 15) | (k >>> 17);
  k = Math.imul(k, 0x1b873593);
  h ^= k;
  h = (h << 13) | (h >>> 19);
  return (Math.imul(h, 5) + 0xe6546b64) | 0;
}

function fmix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/**
 * A deterministic 32-bit hash of an IPv4 5-tuple (MurmurHash3 mixing), the same on every run and
 * platform. Directional: the two directions of a connection hash differently (see `flowHash4Symmetric`).
 * `seed` re-mixes it for another use (VPP re-mixes the one flow hash per level to avoid polarisation).
 */
export function flowHash4(proto: number, src: number, dst: number, sport: number, dport: number, seed = 0): number {
  let h = seed | 0;
  h = mix(h, src | 0);
  h = mix(h, dst | 0);
  h = mix(h, ((sport & 0xffff) << 16) | (dport & 0xffff));
  h = mix(h, proto & 0xff);
  return fmix(h ^ 13);
}

/** As `flowHash4`, but the same for both directions of a connection (for sharding by connection). */
export function flowHash4Symmetric(proto: number, src: number, dst: number, sport: number, dport: number, seed = 0): number {
  const s = src >>> 0;
  const d = dst >>> 0;
  if (s < d || (s === d && sport <= dport)) return flowHash4(proto, s, d, sport, dport, seed);
  return flowHash4(proto, d, s, dport, sport, seed);
}

/**
 * The flow hash of packet `i` from its decoded columns (IPv4 addresses and ports; for IPv6 the 32 address
 * bytes are folded in). Packets without ports hash with ports 0 (ICMP: the query identifier is not used).
 */
export function packetFlowHash(b: Batch, i: number, seed = 0): number {
  const ports = (b.flags[i] & PF.HAS_PORTS) !== 0;
  const sp = ports ? b.sport[i] : 0;
  const dp = ports ? b.dport[i] : 0;
  if (b.ipVer[i] === 6) {
    const a = b.arena;
    const o = b.off[i] + b.l3Off[i] + 8;
    let h = seed | 0;
    for (let k = 0; k < 32; k += 4) h = mix(h, (a[o + k] << 24) | (a[o + k + 1] << 16) | (a[o + k + 2] << 8) | a[o + k + 3]);
    h = mix(h, (sp << 16) | dp);
    h = mix(h, b.proto[i]);
    return fmix(h ^ 37);
  }
  return flowHash4(b.proto[i], b.src4[i], b.dst4[i], sp, dp, seed);
}

/**
 * The VXLAN outer UDP source port for flow hash `hash`: RFC 7348 §5, "it is recommended that the UDP
 * source port number be calculated using a hash of fields from the inner packet" and "the source port
 * [should be] within the dynamic/private port range 49152-65535".
 */
export function vxlanSourcePort(hash: number): number {
  return 49152 + (hash & 0x3fff);
}

// ---------------------------------------------------------------------------------------------
// VXLAN

/**
 * The outer headers of one VXLAN mapping (local PA -> remote PA, outer MACs, VNI, port), built once when
 * the mapping is created; `encapVxlan` copies `bytes` in front of a packet and patches only the lengths,
 * the IP identification and checksum and the UDP source port.
 */
export interface VxlanTemplate {
  /** Ethernet (14) + IPv4 (20) + UDP (8) + VXLAN (8), with total length, id, IP checksum, UDP source port and length 0. */
  readonly bytes: Uint8Array;
  /** Partial one's-complement sum of the template's IPv4 header (the zeroed fields contribute nothing). */
  readonly ipSum: number;
  readonly srcIp: number;
  readonly dstIp: number;
  readonly dstPort: number;
  readonly vni: number;
}

export interface VxlanTemplateSpec {
  /** Outer source MAC (the local host's NIC). */
  srcMac: MacLike;
  /** Outer destination MAC (the next hop towards the remote PA). */
  dstMac: MacLike;
  /** Local provider address. */
  srcIp: string | number;
  /** Remote provider address. */
  dstIp: string | number;
  vni: number;
  /** UDP destination port (default 4789). */
  dstPort?: number;
  /** Outer TTL (default 64). */
  ttl?: number;
  /** Outer DSCP/ECN byte (default 0). */
  tos?: number;
  /** Set Don't Fragment on the outer header (default false). */
  df?: boolean;
}

/** Builds the outer-header template of a VXLAN mapping (not a hot path; allocates the 50 template bytes). */
export function makeVxlanTemplate(spec: VxlanTemplateSpec): VxlanTemplate {
  const t = new Uint8Array(VXLAN_OUTER_LEN);
  t.set(parseMac(spec.dstMac), 0);
  t.set(parseMac(spec.srcMac), 6);
  t[12] = 0x08; // IPv4
  t[14] = 0x45;
  t[15] = spec.tos ?? 0;
  if (spec.df) t[20] = 0x40;
  t[22] = spec.ttl ?? 64;
  t[23] = 17; // UDP
  const src = toU32(spec.srcIp);
  const dst = toU32(spec.dstIp);
  for (let k = 0; k < 4; k++) {
    t[26 + k] = (src >>> (24 - 8 * k)) & 0xff;
    t[30 + k] = (dst >>> (24 - 8 * k)) & 0xff;
  }
  const port = spec.dstPort ?? 4789;
  t[36] = port >>> 8;
  t[37] = port & 0xff;
  t[42] = 0x08; // VXLAN flags: VNI valid
  t[46] = (spec.vni >>> 16) & 0xff;
  t[47] = (spec.vni >>> 8) & 0xff;
  t[48] = spec.vni & 0xff;
  return { bytes: t, ipSum: onesSum(t, 14, 34), srcIp: src, dstIp: dst, dstPort: port, vni: spec.vni & 0xffffff };
}

/**
 * The byte part of a VXLAN push, shared by `encapVxlan` (which also updates the decoded columns) and the
 * VFP engine (which keeps the columns as received): copies `tmpl.bytes` into the headroom in front of
 * packet `i`, patches the outer IPv4 total length, identification `ipId` and header checksum (from the
 * template's partial sum), the UDP length and source port (UDP checksum 0, RFC 7348 §5), for an inner
 * frame of `innerLen` bytes. Sets off -= 50, caplen += 50, wirelen = innerLen + 50. Returns false
 * (unchanged) when there is no room in front.
 */
export function prependVxlan(b: Batch, i: number, tmpl: VxlanTemplate, srcPort: number, innerLen: number, ipId = 0): boolean {
  const o = b.off[i];
  if (o < VXLAN_OUTER_LEN) return false;
  const a = b.arena;
  const s = o - VXLAN_OUTER_LEN;
  a.set(tmpl.bytes, s);
  const ipLen = innerLen + 36;
  const udpLen = innerLen + 16;
  const ipc = checksumOf(tmpl.ipSum + ipLen + (ipId & 0xffff));
  a[s + 16] = ipLen >>> 8;
  a[s + 17] = ipLen & 0xff;
  a[s + 18] = (ipId >>> 8) & 0xff;
  a[s + 19] = ipId & 0xff;
  a[s + 24] = ipc >>> 8;
  a[s + 25] = ipc & 0xff;
  a[s + 34] = srcPort >>> 8;
  a[s + 35] = srcPort & 0xff;
  a[s + 38] = udpLen >>> 8;
  a[s + 39] = udpLen & 0xff;
  b.off[i] = s;
  b.caplen[i] += VXLAN_OUTER_LEN;
  b.wirelen[i] = innerLen + VXLAN_OUTER_LEN;
  return true;
}

/**
 * VXLAN-encapsulates Ethernet packet `i` in place: writes `tmpl.bytes` into the headroom in front of it
 * (the payload never moves), then patches the outer IPv4 total length, identification `ipId` and header
 * checksum (from the template's partial sum), the UDP length and the UDP source port `srcPort` (use
 * `vxlanSourcePort(packetFlowHash(b, i))` before the call). The outer UDP checksum is 0: RFC 7348 §5,
 * "UDP Checksum: It SHOULD be transmitted as zero" over IPv4. Lengths follow `wirelen` (the inner frame as
 * it was on the wire), so a truncated capture gets the outer lengths of the real packet.
 *
 * Sets: off -= 50, caplen += 50, wirelen += 50; the inner* columns from the packet's former outer columns
 * (innerL2Off, innerL3Off, innerL4Off, innerIpVer, innerProto, innerSrc4, innerDst4, innerSport,
 * innerDport, INNER_PORTS); the outer columns as the decoder would set them for the new packet (l2Off 0,
 * l3Off 14, l4Off 34, payOff 42, ethType 0x0800, vlan 0, ipVer 4, proto 17, src4, dst4, sport, dport, vni,
 * tcpFlags 0, flags TUNNEL | HAS_PORTS); icmp*, dnsOff and dnsQtype keep describing the (now inner) ICMP
 * header or DNS question, with their offsets moved by 50, as the decoder reports them; TRUNCATED,
 * MALFORMED and BAD_CHECKSUM are kept.
 * Returns false (unchanged) when the packet has no Ethernet header or there is no room in front of it.
 * Each packet slot has HEADROOM (128) bytes, so a packet can be encapsulated twice at most.
 */
export function encapVxlan(b: Batch, i: number, tmpl: VxlanTemplate, srcPort: number, ipId = 0): boolean {
  if (b.l2Off[i] !== 0 || !prependVxlan(b, i, tmpl, srcPort, b.wirelen[i], ipId)) return false;

  const f = b.flags[i];
  b.innerL2Off[i] = VXLAN_OUTER_LEN;
  const l3 = b.l3Off[i];
  const l4 = b.l4Off[i];
  b.innerL3Off[i] = l3 < 0 ? -1 : l3 + VXLAN_OUTER_LEN;
  b.innerL4Off[i] = l4 < 0 ? -1 : l4 + VXLAN_OUTER_LEN;
  b.innerIpVer[i] = b.ipVer[i];
  b.innerProto[i] = b.proto[i];
  b.innerSrc4[i] = b.src4[i];
  b.innerDst4[i] = b.dst4[i];
  b.innerSport[i] = b.sport[i];
  b.innerDport[i] = b.dport[i];
  b.flags[i] = (f & ~OUTER_ONLY_FLAGS) | PF.TUNNEL | PF.HAS_PORTS | ((f & PF.HAS_PORTS) !== 0 ? PF.INNER_PORTS : 0);
  b.l2Off[i] = 0;
  b.l3Off[i] = 14;
  b.l4Off[i] = 34;
  b.payOff[i] = 42;
  b.ethType[i] = 0x0800;
  b.vlan[i] = 0;
  b.ipVer[i] = 4;
  b.proto[i] = 17;
  b.src4[i] = tmpl.srcIp;
  b.dst4[i] = tmpl.dstIp;
  b.sport[i] = srcPort;
  b.dport[i] = tmpl.dstPort;
  b.tcpFlags[i] = 0;
  if (b.icmpInnerOff[i] >= 0) b.icmpInnerOff[i] += VXLAN_OUTER_LEN;
  if (b.dnsOff[i] >= 0) b.dnsOff[i] += VXLAN_OUTER_LEN;
  b.vni[i] = tmpl.vni;
  return true;
}

/**
 * Removes the outer headers of VXLAN packet `i` (decoded as a tunnel by src/decode: PF.TUNNEL, not
 * GENEVE) by advancing `off` past them; returns the VNI, or -1 (unchanged) when the packet is not a
 * well-formed VXLAN packet whose inner Ethernet header is captured. The UDP port is not checked here:
 * the caller compares it (and the VNI) with the network's (vni-mismatch).
 *
 * Sets: off += outer length, caplen and wirelen -= it; the columns as the decoder would set them for the
 * inner frame: l2Off 0, l3Off, l4Off, ipVer, proto, src4, dst4, sport, dport and HAS_PORTS from the inner*
 * columns; ethType, vlan / HAS_VLAN, FRAGMENT / NONFIRST_FRAGMENT (IPv4), tcpFlags and payOff read from
 * the inner headers; icmp*, dnsOff (offsets moved back) kept; the inner* columns and vni cleared.
 */
export function decapVxlan(b: Batch, i: number): number {
  const f = b.flags[i];
  if ((f & PF.TUNNEL) === 0 || (f & PF.GENEVE) !== 0 || b.proto[i] !== 17) return -1;
  const l4 = b.l4Off[i];
  const outer = l4 + 16;
  if (l4 < 0 || b.innerL2Off[i] !== outer || outer + 14 > b.caplen[i]) return -1;
  const a = b.arena;
  const base = b.off[i];
  if ((a[base + l4 + 8] & 0x08) === 0) return -1; // RFC 7348: "The I flag MUST be set to 1 for a valid VXLAN Network ID"
  const vni = ((a[base + l4 + 12] << 16) | (a[base + l4 + 13] << 8) | a[base + l4 + 14]) >>> 0;

  const nb = base + outer;
  b.off[i] = nb;
  b.caplen[i] -= outer;
  b.wirelen[i] = b.wirelen[i] > outer ? b.wirelen[i] - outer : 0;
  const end = nb + b.caplen[i];
  const il3 = b.innerL3Off[i];
  const il4 = b.innerL4Off[i];
  const l3n = il3 < 0 ? -1 : il3 - outer;
  let l4n = il4 < 0 ? -1 : il4 - outer;
  const proto = b.innerProto[i];
  const ipVer = b.innerIpVer[i];
  if (l4n < 0 && ipVer === 4 && l3n >= 0 && nb + l3n + 20 <= end && (((a[nb + l3n + 6] << 8) | a[nb + l3n + 7]) & 0x1fff) === 0) {
    // The decoder records innerL4Off for TCP/UDP only; an inner ICMP header follows the IPv4 header.
    l4n = l3n + ((a[nb + l3n] & 0x0f) << 2);
  }
  let nf = (f & ~OUTER_ONLY_FLAGS) | ((f & PF.INNER_PORTS) !== 0 ? PF.HAS_PORTS : 0);

  b.l2Off[i] = 0;
  b.l3Off[i] = l3n;
  b.l4Off[i] = l4n;
  b.ipVer[i] = ipVer;
  b.proto[i] = proto;
  b.src4[i] = b.innerSrc4[i];
  b.dst4[i] = b.innerDst4[i];
  b.sport[i] = b.innerSport[i];
  b.dport[i] = b.innerDport[i];
  b.vni[i] = 0;
  b.tcpFlags[i] = 0;
  b.payOff[i] = -1;
  if (b.icmpInnerOff[i] >= 0) b.icmpInnerOff[i] -= outer;
  if (b.dnsOff[i] >= 0) b.dnsOff[i] -= outer;
  b.innerL2Off[i] = -1;
  b.innerL3Off[i] = -1;
  b.innerL4Off[i] = -1;
  b.innerIpVer[i] = 0;
  b.innerProto[i] = 0;
  b.innerSrc4[i] = 0;
  b.innerDst4[i] = 0;
  b.innerSport[i] = 0;
  b.innerDport[i] = 0;

  // Inner Ethernet: the outermost VLAN tag and the EtherType after the tags.
  const t = (a[nb + 12] << 8) | a[nb + 13];
  b.vlan[i] = 0;
  if ((t === 0x8100 || t === 0x88a8 || t === 0x9100) && nb + 18 <= end) {
    b.vlan[i] = ((a[nb + 14] << 8) | a[nb + 15]) & 0x0fff;
    nf |= PF.HAS_VLAN;
  }
  b.ethType[i] = l3n >= 2 ? (a[nb + l3n - 2] << 8) | a[nb + l3n - 1] : 0;
  if (ipVer === 4 && l3n >= 0 && nb + l3n + 8 <= end) {
    const frag = ((a[nb + l3n + 6] << 8) | a[nb + l3n + 7]) & 0x3fff;
    if (frag !== 0) nf |= PF.FRAGMENT | ((frag & 0x1fff) !== 0 ? PF.NONFIRST_FRAGMENT : 0);
  }
  if (l4n >= 0) {
    const p = nb + l4n;
    if (proto === 6 && p + 14 <= end) {
      b.tcpFlags[i] = a[p + 13];
      b.payOff[i] = l4n + ((a[p + 12] >>> 4) << 2);
    } else if ((proto === 17 || proto === 1 || proto === 58) && p + 8 <= end) {
      b.payOff[i] = l4n + 8;
    }
  }
  b.flags[i] = nf;
  return vni;
}

// ---------------------------------------------------------------------------------------------------
// engine primitives (explicit offsets; no column writes)

/** Copies MAC `idx` of table `macs` (6 bytes each) to `a[o..o+6)`. */
export function writeMac(a: Uint8Array, o: number, macs: Uint8Array, idx: number): void {
  const m = idx * 6;
  a[o] = macs[m];
  a[o + 1] = macs[m + 1];
  a[o + 2] = macs[m + 2];
  a[o + 3] = macs[m + 3];
  a[o + 4] = macs[m + 4];
  a[o + 5] = macs[m + 5];
}

/**
 * Rewrites the IPv4 source (`dst` false) or destination address of the header at `a[l3]` to `addr`, and
 * the same side's TCP/UDP port (or the ICMP query identifier, RFC 5508 §3.1) to `port` when `l4` >= 0
 * and `port` >= 0 (-1 keeps the port),
 * with incremental checksum updates (IP header, TCP/UDP pseudo header; a UDP checksum of 0 stays 0).
 * `end` is the arena offset one past the captured bytes: fields beyond it are left alone.
 */
export function nat4At(a: Uint8Array, l3: number, l4: number, end: number, proto: number, dst: boolean, addr: number, port: number): void {
  if (l3 + 20 > end) return;
  const ao = l3 + (dst ? 16 : 12);
  const old = ((a[ao] << 24) | (a[ao + 1] << 16) | (a[ao + 2] << 8) | a[ao + 3]) >>> 0;
  addr >>>= 0;
  if (old !== addr) {
    a[ao] = addr >>> 24;
    a[ao + 1] = (addr >>> 16) & 0xff;
    a[ao + 2] = (addr >>> 8) & 0xff;
    a[ao + 3] = addr & 0xff;
    const c = csumReplace32((a[l3 + 10] << 8) | a[l3 + 11], old, addr);
    a[l3 + 10] = c >>> 8;
    a[l3 + 11] = c & 0xff;
  }
  if (l4 < 0) return;
  if (proto === 6 || proto === 17) {
    const po = l4 + (dst ? 2 : 0);
    const cs = l4 + (proto === 6 ? 16 : 6);
    const havePort = port >= 0 && po + 2 <= end;
    const oldPort = havePort ? (a[po] << 8) | a[po + 1] : 0;
    if (havePort && oldPort !== port) {
      a[po] = port >>> 8;
      a[po + 1] = port & 0xff;
    }
    if (cs + 2 > end) return;
    let c = (a[cs] << 8) | a[cs + 1];
    if (proto === 17 && c === 0) return; // RFC 768: no checksum stays none
    if (old !== addr) c = csumReplace32(c, old, addr);
    if (havePort && oldPort !== port) c = csumReplace16(c, oldPort, port);
    if (proto === 17 && c === 0) c = 0xffff;
    a[cs] = c >>> 8;
    a[cs + 1] = c & 0xff;
  } else if (proto === 1 && port >= 0 && l4 + 8 <= end) {
    const t = a[l4];
    if (t !== 0 && t !== 8 && t !== 13 && t !== 14) return; // only queries carry an identifier
    const oldId = (a[l4 + 4] << 8) | a[l4 + 5];
    if (oldId === port) return;
    a[l4 + 4] = port >>> 8;
    a[l4 + 5] = port & 0xff;
    const c = csumReplace16((a[l4 + 2] << 8) | a[l4 + 3], oldId, port);
    a[l4 + 2] = c >>> 8;
    a[l4 + 3] = c & 0xff;
  }
}

/** Bytes of the Ethernet header `frameAsEthernet` gives a packet captured without one. */
export const ETHERNET_HEADER_LEN = 14;

/**
 * Gives IP packet `i`, captured without an Ethernet header (Linux cooked SLL / SLL2 from `tcpdump -i any`,
 * raw IP, BSD loopback), one in place of its link header, as every frame on the Hyper-V switch has:
 * addresses 00:00:00:00:00:00 until a MAC rewrite sets them, the EtherType of its IP version. off, caplen
 * and wirelen move by the difference of the header lengths, the link type becomes Ethernet (1) and, unlike
 * the other primitives here, the decoded offset columns move with the bytes (l2Off 0), so the MAC rewrites,
 * the VXLAN push and the writers see the frame the node would see. False (unchanged) without room in front.
 */
export function frameAsEthernet(b: Batch, i: number): boolean {
  const l3 = b.l3Off[i];
  const delta = ETHERNET_HEADER_LEN - l3;
  const off = b.off[i] - delta;
  if (l3 < 0 || off < 0) return false;
  const a = b.arena;
  a.fill(0, off, off + 12);
  const etherType = b.ipVer[i] === 6 ? 0x86dd : 0x0800;
  a[off + 12] = etherType >>> 8;
  a[off + 13] = etherType & 0xff;
  b.off[i] = off;
  b.caplen[i] += delta;
  if (b.wirelen[i] > 0) b.wirelen[i] += delta;
  b.linktype[i] = 1;
  b.l2Off[i] = 0;
  b.l3Off[i] = ETHERNET_HEADER_LEN;
  b.ethType[i] = etherType;
  b.vlan[i] = 0;
  if (b.l4Off[i] >= 0) b.l4Off[i] += delta;
  if (b.payOff[i] >= 0) b.payOff[i] += delta;
  if (b.icmpInnerOff[i] >= 0) b.icmpInnerOff[i] += delta;
  if (b.innerL2Off[i] >= 0) b.innerL2Off[i] += delta;
  if (b.innerL3Off[i] >= 0) b.innerL3Off[i] += delta;
  if (b.innerL4Off[i] >= 0) b.innerL4Off[i] += delta;
  if (b.dnsOff[i] >= 0) b.dnsOff[i] += delta;
  return true;
}

/**
 * VXLAN push of packet `i` (an Ethernet frame starting at `off[i]`) with no decoded column touched: the
 * outer lengths follow the larger of wirelen and caplen (a frame given an Ethernet header by
 * `frameAsEthernet` may be longer than its original wire length). Returns false when there is no room.
 */
export function vxlanPrepend(b: Batch, i: number, tmpl: VxlanTemplate, srcPort: number): boolean {
  return prependVxlan(b, i, tmpl, srcPort, b.wirelen[i] > b.caplen[i] ? b.wirelen[i] : b.caplen[i]);
}

/** Pops `n` bytes of outer headers of packet `i` (decapsulation): off += n, caplen and wirelen -= n. */
export function popOuter(b: Batch, i: number, n: number): void {
  b.off[i] += n;
  b.caplen[i] -= n;
  b.wirelen[i] = b.wirelen[i] > n ? b.wirelen[i] - n : 0;
}

/** Undoes `popOuter(b, i, n)` (the bytes are still in front of the packet). */
export function unpopOuter(b: Batch, i: number, n: number): void {
  b.off[i] -= n;
  b.caplen[i] += n;
  b.wirelen[i] += n;
}
