/**
 * The rewrite primitives the VFP engine runs (src/vfp: step-flow.ts applying a flow's cached header
 * transposition, step-input.ts framing and decapsulating, step-ipv6.ts delivering, step-connection.ts and
 * step-result.ts putting the outer headers back): MAC rewrite, IPv4 SNAT / DNAT (with ICMP query
 * identifiers as ports), an Ethernet header for IP packets captured without one, VXLAN encapsulation as a
 * prepend into the slot's headroom, decapsulation as a pop; and the flow hash behind the VXLAN outer
 * source port, load balancing and sharding.
 *
 * Each primitive touches one packet, costs O(header), allocates nothing, and keeps every checksum right by
 * RFC 1624 incremental update (so a truncated capture stays consistent with the original's checksums too);
 * fields beyond the captured bytes are left alone.
 *
 * Uses: the packet bytes at explicit arena offsets (writeMac, nat4At), and for the others the slot columns
 *   off, caplen, wirelen and the decoded l3Off / ipVer (frameAsEthernet).
 * Sets: the packet bytes only; the decoded columns keep describing the packet as received (the verdict
 *   writer prints `flow` from them). Exceptions, named on each function: vxlanPrepend, popOuter and
 *   unpopOuter move the slot (off, caplen, wirelen); frameAsEthernet also moves the decoded offset columns
 *   with the bytes it puts in front.
 * Next: the caller decides (these are actions of a header transposition, not a stage).
 *
 * Not handled here: IPv6 NAT, and the header embedded in ICMP error messages (VFP does not transpose it).
 */

import type { Batch } from '../core/batch';
import { checksumOf, csumReplace16, csumReplace32, onesSum } from './checksum';
import { parseMac, toU32, type MacLike } from './addr';

// ---------------------------------------------------------------------------------------------
// MAC

/** Copies MAC `idx` of table `macs` (6 bytes each) to `a[o..o+6)` (o: an Ethernet header + 0 dst, + 6 src). */
export function writeMac(a: Uint8Array, o: number, macs: Uint8Array, idx: number): void {
  const m = idx * 6;
  a[o] = macs[m];
  a[o + 1] = macs[m + 1];
  a[o + 2] = macs[m + 2];
  a[o + 3] = macs[m + 3];
  a[o + 4] = macs[m + 4];
  a[o + 5] = macs[m + 5];
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

// ---------------------------------------------------------------------------------------------
// IPv4 NAT

/**
 * Rewrites the IPv4 source (`dst` false) or destination address of the header at `a[l3]` to `addr`, and,
 * when `l4` >= 0 and `port` >= 0, the same side's TCP/UDP port, or the identifier of an ICMP echo or
 * timestamp query or reply (RFC 5508 §3.1: NAT treats it as the port), to `port`; `port` -1 keeps the port.
 * Updates the IP header checksum and the TCP / UDP checksum (pseudo header) or ICMP checksum incrementally;
 * a UDP checksum of 0 (none) stays 0 and a computed 0 is written as ffff (RFC 768). A field that already
 * holds its new value is not written and leaves the checksums alone, so applying a transposition to a packet
 * that carries some of its final values changes only what differs.
 * `end` is the arena offset one past the captured bytes: fields beyond it are left alone. `l4` -1: no
 * L4 header to touch (a non-first fragment, or none captured).
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
    // ICMP has no pseudo header: only the identifier (the query "port") enters its checksum
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

// ---------------------------------------------------------------------------------------------
// Flow hash (outer UDP source port entropy, load balancing, sharding)

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
/**
 * The IPv6 counterpart of `nat4At`: rewrites the source (`dst` false) or destination address of the IPv6
 * header at `a[l3]` to the 16 bytes at `addr[ao..]` and, when `l4` >= 0 and `port` >= 0, the same side's
 * TCP / UDP port; the TCP / UDP checksum (its pseudo header holds both addresses, RFC 8200 §8.1) is
 * updated incrementally, word by word (RFC 1624); IPv6 has no header checksum. A UDP checksum of 0 stays 0
 * and a computed 0 is written as ffff. Fields beyond `end` are left alone.
 */
export function nat6At(a: Uint8Array, l3: number, l4: number, end: number, proto: number, dst: boolean, addr: Uint8Array, ao: number, port: number): void {
  if (l3 + 40 > end) return;
  const o = l3 + (dst ? 24 : 8);
  const tcpUdp = l4 >= 0 && (proto === 6 || proto === 17);
  const cs = tcpUdp ? l4 + (proto === 6 ? 16 : 6) : -1;
  let c = cs >= 0 && cs + 2 <= end ? (a[cs] << 8) | a[cs + 1] : -1;
  if (proto === 17 && c === 0) c = -1; // no checksum stays none
  for (let w = 0; w < 16; w += 2) {
    const old = (a[o + w] << 8) | a[o + w + 1];
    const nw = (addr[ao + w] << 8) | addr[ao + w + 1];
    if (old === nw) continue;
    a[o + w] = addr[ao + w];
    a[o + w + 1] = addr[ao + w + 1];
    if (c >= 0) c = csumReplace16(c, old, nw);
  }
  if (tcpUdp && port >= 0) {
    const po = l4 + (dst ? 2 : 0);
    if (po + 2 <= end) {
      const old = (a[po] << 8) | a[po + 1];
      if (old !== port) {
        a[po] = port >>> 8;
        a[po + 1] = port & 0xff;
        if (c >= 0) c = csumReplace16(c, old, port);
      }
    }
  }
  if (c < 0) return;
  if (proto === 17 && c === 0) c = 0xffff;
  a[cs] = c >>> 8;
  a[cs + 1] = c & 0xff;
}

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
 * The VXLAN outer UDP source port for flow hash `hash`: RFC 7348 §5, "it is recommended that the UDP
 * source port number be calculated using a hash of fields from the inner packet" and "the source port
 * [should be] within the dynamic/private port range 49152-65535".
 */
export function vxlanSourcePort(hash: number): number {
  return 49152 + (hash & 0x3fff);
}

// ---------------------------------------------------------------------------------------------
// VXLAN

/** Bytes VXLAN over IPv4 adds in front of the inner Ethernet frame: Ethernet 14 + IPv4 20 + UDP 8 + VXLAN 8. */
export const VXLAN_OUTER_LEN = 50;

/**
 * The outer headers of one VXLAN mapping (local PA -> remote PA, outer MACs, VNI, port), built once when
 * the mapping is created; `vxlanPrepend` copies `bytes` in front of a packet and patches only the lengths,
 * the IP checksum and the UDP source port.
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
 * VXLAN push of packet `i` (an Ethernet frame starting at `off[i]`): copies `tmpl.bytes` into the headroom
 * in front of it (the payload never moves), then patches the outer IPv4 total length and header checksum
 * (from the template's partial sum; identification 0), the UDP length and the UDP source port `srcPort`
 * (`vxlanSourcePort` of the inner flow's hash). The outer UDP checksum is 0: RFC 7348 §5, "UDP Checksum:
 * It SHOULD be transmitted as zero" over IPv4. The outer lengths follow the larger of wirelen and caplen:
 * a truncated capture gets the outer lengths of the real packet, and a frame given an Ethernet header by
 * `frameAsEthernet` may be longer than its original wire length.
 *
 * Sets: off -= 50, caplen += 50, wirelen = that inner length + 50; no decoded column. Returns false
 * (unchanged) when there is no room in front (each slot has HEADROOM, 128, bytes: two pushes at most).
 */
export function vxlanPrepend(b: Batch, i: number, tmpl: VxlanTemplate, srcPort: number): boolean {
  const o = b.off[i];
  if (o < VXLAN_OUTER_LEN) return false;
  const innerLen = b.wirelen[i] > b.caplen[i] ? b.wirelen[i] : b.caplen[i];
  const a = b.arena;
  const s = o - VXLAN_OUTER_LEN;
  a.set(tmpl.bytes, s);
  const ipLen = innerLen + 36;
  const udpLen = innerLen + 16;
  const ipc = checksumOf(tmpl.ipSum + ipLen);
  a[s + 16] = ipLen >>> 8;
  a[s + 17] = ipLen & 0xff;
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
 * Pops `n` bytes of outer headers of packet `i` (decapsulation: `n` is the inner frame's offset, the
 * decoded innerL2Off): off += n, caplen and wirelen -= n (wirelen not below 0); no decoded column.
 */
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
