/**
 * Decoder: header offsets and fields of every packet of a batch, into the batch's decoded columns.
 *
 * Uses:  the reader columns of a Batch (off, caplen, wirelen, linktype) and the packet bytes in `arena`.
 * Sets:  flags, malformed, l2Off, l3Off, l4Off, payOff, ethType, vlan, ipVer, proto, src4, dst4, sport,
 *        dport, tcpFlags, icmpType, icmpCode, icmpInnerOff, vni, inner*, dnsOff, dnsQtype
 *        (see core/batch.ts; offsets are relative to `off[i]`, -1 when absent).
 * Next:  classify / VFP read the columns; `decode --format` (decode/format.ts) prints them.
 *        l2Off is the Ethernet header only (-1 behind SLL, NULL and raw IP link types); ethType is the
 *        EtherType of the L3 header whatever the link type (0x0800 / 0x86dd also for raw IP and NULL).
 *
 * Layers (one plain function each, called in header order, decoding in place):
 *   link:  Ethernet (1), Linux SLL (113), SLL2 (276), raw IP (101, and the DLT_RAW values 12 and 14),
 *          IPv4 (228), IPv6 (229), BSD loopback NULL (0) and LOOP (108); any other link type sets
 *          PF.UNSUPPORTED_LINKTYPE and nothing else.
 *   L2:    802.1Q / 802.1ad / 0x9100 tags, stacked (vlan = outermost tag's VID).
 *   L3:    IPv4 (options, fragments), IPv6 with hop-by-hop (0), routing (43), fragment (44) and
 *          destination options (60) headers skipped; `proto` is the protocol after them.
 *   L4:    TCP, UDP, ICMP, ICMPv6 (error messages 3,4,5,11,12 / 1,2,3,4: icmpInnerOff = quoted IP header).
 *   above: VXLAN (UDP 4789 + DecodeOptions.vxlanPorts), GENEVE (6081; Ethernet, IPv4 or IPv6 payload)
 *          with the inner Ethernet/IP/ports into the inner* columns; DNS on port 53 (UDP, or TCP when the
 *          segment holds the whole message): first question name offset and QTYPE.
 *
 * Nesting levels: level 0 is the packet as captured, level 1 the payload of its first tunnel (inner*
 * columns). Deeper tunnels (GENEVE in VXLAN, ...) are walked only to find a DNS question.
 * "Outermost" columns that can only come from one header (icmpType, dnsOff) take the first found.
 *
 * Truncation (the capture ended before a header we need) sets PF.TRUNCATED and stops; it is never
 * an exception. A header that contradicts a length or version field sets PF.MALFORMED and a reason
 * (decode/errors.ts); fields read before the fault stay. When a header does not fit, it is MALFORMED if
 * an enclosing length field (IP total length, IPv6 payload length, UDP length) ends before it, else
 * TRUNCATED. Problems inside a DNS message only mean "no PF.DNS": the packet itself is fine.
 *
 * Hot-path rules (style.md): no allocation and no closure per packet; dense Uint8Array tables map
 * link type, EtherType and UDP port to a layer id; each header is bounds-checked once and its fields are
 * read as `(a[o] << 8) | a[o + 1]`. The packet being decoded lives in module-level variables, so
 * decodeBatch is not re-entrant (JS is single-threaded; each worker has its own module instance).
 */

import { Batch, PF } from '../core/batch';
import { verifyIpv4HeaderChecksum, verifyL4Checksum } from '../packet/checksum';
import { MAL, malformedReason } from './errors';

export interface DecodeOptions {
  /** UDP ports carrying VXLAN besides 4789 (e.g. 8472, the Linux/flannel default). */
  readonly vxlanPorts?: readonly number[];
  /**
   * Verify the outermost IPv4 header checksum and TCP/UDP/ICMP/ICMPv6 checksum (when the whole segment
   * was captured and is not a fragment); a wrong one sets PF.BAD_CHECKSUM. Off by default: captures taken
   * on the sending host often carry checksum-offload placeholders.
   */
  readonly verifyChecksums?: boolean;
}

// ---- dispatch tables -------------------------------------------------------------------------

// Layer ids are `const enum`s: tsc writes the numbers in place, so the hot path loads no binding.

/** Link-layer decoders. */
const enum Link {
  None = 0,
  Ethernet,
  Sll,
  Sll2,
  Raw,
  Ipv4,
  Ipv6,
  Null,
}

/** LINKTYPE_* -> link layer decoder id. */
const LINK = new Uint8Array(65536);
LINK[1] = Link.Ethernet;
LINK[113] = Link.Sll;
LINK[276] = Link.Sll2;
LINK[101] = Link.Raw;
LINK[12] = Link.Raw; // DLT_RAW as most BSDs and Linux write it into pcap files
LINK[14] = Link.Raw; // DLT_RAW on OpenBSD
LINK[228] = Link.Ipv4;
LINK[229] = Link.Ipv6;
LINK[0] = Link.Null;
LINK[108] = Link.Null; // LOOP: as NULL, with the family in network byte order (handled by the same test)

/** What an EtherType leads to. */
const enum Ether {
  None = 0,
  Ip4,
  Ip6,
  Vlan,
}

/** EtherType -> layer id. */
const ETHER = new Uint8Array(65536);
ETHER[0x0800] = Ether.Ip4;
ETHER[0x86dd] = Ether.Ip6;
ETHER[0x8100] = Ether.Vlan; // 802.1Q
ETHER[0x88a8] = Ether.Vlan; // 802.1ad service tag
ETHER[0x9100] = Ether.Vlan; // pre-standard QinQ

/** What a UDP port leads to. */
const enum UdpApp {
  None = 0,
  Dns,
  Vxlan,
  Geneve,
}

/** Ports that are the same whatever the options. */
function baseUdpTable(): Uint8Array {
  const t = new Uint8Array(65536);
  t[53] = UdpApp.Dns;
  t[4789] = UdpApp.Vxlan;
  t[6081] = UdpApp.Geneve;
  return t;
}

const DEFAULT_UDP = baseUdpTable();
let udpTable = DEFAULT_UDP;
let udpTableKey = '';

/** The UDP port table for these options, rebuilt only when the port list changes. */
function udpTableFor(opts: DecodeOptions): Uint8Array {
  const ports = opts.vxlanPorts;
  if (ports === undefined || ports.length === 0) return DEFAULT_UDP;
  const key = ports.join(',');
  if (key !== udpTableKey) {
    const t = baseUdpTable();
    for (const p of ports) {
      if (!Number.isInteger(p) || p < 1 || p > 65535) throw new RangeError(`vxlan port ${p} is not in 1..65535`);
      t[p] = UdpApp.Vxlan;
    }
    udpTable = t;
    udpTableKey = key;
  }
  return udpTable;
}

/** Deepest tunnel level walked (0 = outer packet). Level 1 fills the inner* columns; 2..MAX only DNS. */
const MAX_LEVEL = 3;
/** Most compression pointers followed in one DNS name. */
const MAX_DNS_HOPS = 32;

// ---- state of the packet being decoded ---------------------------------------------------------
// `var`, not `let`: every layer function reads these, and V8 checks a module-level `let` for its
// temporal dead zone on each access from another function (measured: about 10% of decode time).
/* eslint-disable no-var */

var B: Batch;
var A: Uint8Array;
var I = 0;
/** Arena offset of the packet's first byte (offsets in columns are relative to it). */
var BASE = 0;
/** Arena offset one past the packet's length on the wire (`off + max(wirelen, caplen)`). */
var WIRE = 0;
var FL = 0;
var MCODE = 0;
var MX = 0;
var MY = 0;
var UDP: Uint8Array = DEFAULT_UDP;
var VERIFY = false;
/* eslint-enable no-var */

function setMalformed(code: number, x: number, y: number): void {
  FL |= PF.MALFORMED;
  if (MCODE === 0) {
    MCODE = code;
    MX = x;
    MY = y;
  }
}

/**
 * True when `n` bytes from `p` were captured. Otherwise sets MALFORMED (`code`) when an enclosing
 * length field (`rep` before the end of the frame) ends before them, else TRUNCATED; returns false.
 */
function need(p: number, n: number, cap: number, rep: number, code: number): boolean {
  if (p + n <= cap) return true;
  if (p + n > rep && rep < WIRE) setMalformed(code, n, rep > p ? rep - p : 0);
  else FL |= PF.TRUNCATED;
  return false;
}

// ---- entry points ------------------------------------------------------------------------------

/** Decodes packets 0..count-1 of `b` into its decoded columns (each packet's columns reset first). */
export function decodeBatch(b: Batch, opts: DecodeOptions = {}): void {
  B = b;
  A = b.arena;
  UDP = udpTableFor(opts);
  VERIFY = opts.verifyChecksums === true;
  const n = b.count;
  resetColumns(b, 0, n);
  for (let i = 0; i < n; i++) decodePacket(i);
}

/**
 * Decodes packets [from, to) of `b` only (each packet's columns reset first); the other packets' columns
 * are not touched. For pipelines that split a batch between threads (src/pipeline).
 */
export function decodeRange(b: Batch, from: number, to: number, opts: DecodeOptions = {}): void {
  B = b;
  A = b.arena;
  UDP = udpTableFor(opts);
  VERIFY = opts.verifyChecksums === true;
  resetColumns(b, from, to);
  for (let i = from; i < to; i++) decodePacket(i);
}

/**
 * Decodes packets `idx[0..n)` of `b` only (each packet's columns reset first, element by element); the
 * other packets' columns are not touched. For pipelines that split a batch by shard (src/pipeline).
 */
export function decodePackets(b: Batch, idx: Uint32Array, n: number, opts: DecodeOptions = {}): void {
  B = b;
  A = b.arena;
  UDP = udpTableFor(opts);
  VERIFY = opts.verifyChecksums === true;
  for (let k = 0; k < n; k++) {
    const i = idx[k];
    resetPacket(b, i);
    decodePacket(i);
  }
}

/** resetColumns for one packet, by stores (no call per column); keep the two in step. */
function resetPacket(b: Batch, i: number): void {
  b.l2Off[i] = -1;
  b.l3Off[i] = -1;
  b.l4Off[i] = -1;
  b.payOff[i] = -1;
  b.ethType[i] = 0;
  b.vlan[i] = 0;
  b.ipVer[i] = 0;
  b.proto[i] = 0;
  b.src4[i] = 0;
  b.dst4[i] = 0;
  b.sport[i] = 0;
  b.dport[i] = 0;
  b.tcpFlags[i] = 0;
  b.icmpType[i] = 0;
  b.icmpCode[i] = 0;
  b.icmpInnerOff[i] = -1;
  b.vni[i] = 0;
  b.innerL2Off[i] = -1;
  b.innerL3Off[i] = -1;
  b.innerL4Off[i] = -1;
  b.innerIpVer[i] = 0;
  b.innerProto[i] = 0;
  b.innerSrc4[i] = 0;
  b.innerDst4[i] = 0;
  b.innerSport[i] = 0;
  b.innerDport[i] = 0;
  b.dnsOff[i] = -1;
  b.dnsQtype[i] = 0;
}

/** Resets the decoded columns of packets [from, to): offsets -1, everything else 0 (typed-array fills). */
function resetColumns(b: Batch, from: number, to: number): void {
  b.l2Off.fill(-1, from, to);
  b.l3Off.fill(-1, from, to);
  b.l4Off.fill(-1, from, to);
  b.payOff.fill(-1, from, to);
  b.ethType.fill(0, from, to);
  b.vlan.fill(0, from, to);
  b.ipVer.fill(0, from, to);
  b.proto.fill(0, from, to);
  b.src4.fill(0, from, to);
  b.dst4.fill(0, from, to);
  b.sport.fill(0, from, to);
  b.dport.fill(0, from, to);
  b.tcpFlags.fill(0, from, to);
  b.icmpType.fill(0, from, to);
  b.icmpCode.fill(0, from, to);
  b.icmpInnerOff.fill(-1, from, to);
  b.vni.fill(0, from, to);
  b.innerL2Off.fill(-1, from, to);
  b.innerL3Off.fill(-1, from, to);
  b.innerL4Off.fill(-1, from, to);
  b.innerIpVer.fill(0, from, to);
  b.innerProto.fill(0, from, to);
  b.innerSrc4.fill(0, from, to);
  b.innerDst4.fill(0, from, to);
  b.innerSport.fill(0, from, to);
  b.innerDport.fill(0, from, to);
  b.dnsOff.fill(-1, from, to);
  b.dnsQtype.fill(0, from, to);
}

/**
 * The sentence for packet `i`'s malformed reason, with its numbers ("ip4 header length 12 < 20"), or ''
 * when the packet is not malformed. Cold path: decodes that one packet again to recover the numbers.
 */
export function malformedMessage(b: Batch, i: number, opts: DecodeOptions = {}): string {
  B = b;
  A = b.arena;
  UDP = udpTableFor(opts);
  VERIFY = opts.verifyChecksums === true;
  resetColumns(b, i, i + 1);
  decodePacket(i);
  const r = malformedReason(MCODE);
  return r === undefined ? '' : r.describe(MX, MY);
}

/** Decodes packet `i`, whose decoded columns were reset. */
function decodePacket(i: number): void {
  const b = B;
  const a = A;
  I = i;
  FL = 0;
  MCODE = 0;
  MX = 0;
  MY = 0;
  const base = b.off[i];
  const caplen = b.caplen[i];
  const wirelen = b.wirelen[i];
  const cap = base + caplen;
  BASE = base;
  WIRE = base + (wirelen > caplen ? wirelen : caplen);

  switch (LINK[b.linktype[i]]) {
    case Link.Ethernet:
      decodeEthernet(base, cap, WIRE, 0);
      break;
    case Link.Sll:
      // cooked v1: packet type(2) ARPHRD(2) address length(2) address(8) protocol(2)
      if (base + 16 > cap) FL |= PF.TRUNCATED;
      else decodeEtherType((a[base + 14] << 8) | a[base + 15], base + 16, cap, WIRE, 0);
      break;
    case Link.Sll2:
      // cooked v2: protocol(2) reserved(2) ifindex(4) ARPHRD(2) packet type(1) address length(1) address(8)
      if (base + 20 > cap) FL |= PF.TRUNCATED;
      else decodeEtherType((a[base] << 8) | a[base + 1], base + 20, cap, WIRE, 0);
      break;
    case Link.Raw:
      decodeRawIp(base, cap);
      break;
    case Link.Ipv4:
      b.ethType[i] = 0x0800;
      decodeIp4(base, cap, WIRE, 0);
      break;
    case Link.Ipv6:
      b.ethType[i] = 0x86dd;
      decodeIp6(base, cap, WIRE, 0);
      break;
    case Link.Null:
      decodeNull(base, cap);
      break;
    default:
      FL |= PF.UNSUPPORTED_LINKTYPE;
  }
  b.flags[i] = FL;
  b.malformed[i] = MCODE;
}

// ---- link layers -------------------------------------------------------------------------------

function decodeRawIp(p: number, cap: number): void {
  if (p >= cap) {
    FL |= PF.TRUNCATED;
    return;
  }
  const v = A[p] >> 4;
  if (v === 4) {
    B.ethType[I] = 0x0800;
    decodeIp4(p, cap, WIRE, 0);
  } else if (v === 6) {
    B.ethType[I] = 0x86dd;
    decodeIp6(p, cap, WIRE, 0);
  } else setMalformed(MAL.IP_VERSION_UNKNOWN, v, 0);
}

/**
 * BSD loopback: a 4-byte address family in the byte order of the host that wrote the file (LOOP: network
 * order). AF_INET is 2 everywhere; AF_INET6 is 24 (NetBSD/OpenBSD), 28 (FreeBSD) or 30 (macOS), or 10 (Linux).
 * A header that holds no family but the EtherType 0x0800 / 0x86dd in one of its halves is taken as that.
 */
function decodeNull(p: number, cap: number): void {
  const a = A;
  if (p + 4 > cap) {
    FL |= PF.TRUNCATED;
    return;
  }
  let af = -1;
  if (a[p + 1] === 0 && a[p + 2] === 0 && a[p + 3] === 0) af = a[p];
  else if (a[p] === 0 && a[p + 1] === 0 && a[p + 2] === 0) af = a[p + 3];
  else {
    // Some writers put an EtherType in one half instead of a family (as tshark also accepts).
    const lo = (a[p + 2] << 8) | a[p + 3];
    const hi = (a[p] << 8) | a[p + 1];
    const t = lo === 0x0800 || lo === 0x86dd ? lo : hi === 0x0800 || hi === 0x86dd ? hi : 0;
    if (t === 0x0800) af = 2;
    else if (t === 0x86dd) af = 10;
  }
  if (af === 2) {
    B.ethType[I] = 0x0800;
    decodeIp4(p + 4, cap, WIRE, 0);
  } else if (af === 24 || af === 28 || af === 30 || af === 10) {
    B.ethType[I] = 0x86dd;
    decodeIp6(p + 4, cap, WIRE, 0);
  }
}

/** Ethernet II header at `p` (level 0: the frame; level 1+: the payload of a tunnel). */
function decodeEthernet(p: number, cap: number, rep: number, level: number): void {
  if (!need(p, 14, cap, rep, MAL.ETH_HEADER_SHORT)) return;
  if (level === 0) B.l2Off[I] = p - BASE;
  else if (level === 1) B.innerL2Off[I] = p - BASE;
  const a = A;
  decodeEtherType((a[p + 12] << 8) | a[p + 13], p + 14, cap, rep, level);
}

/** What follows an EtherType field: VLAN tags (any number), then the L3 header at `p`. */
function decodeEtherType(t: number, p: number, cap: number, rep: number, level: number): void {
  const a = A;
  while (ETHER[t] === Ether.Vlan) {
    if (p + 4 > cap) {
      FL |= PF.TRUNCATED;
      return;
    }
    if (level === 0 && (FL & PF.HAS_VLAN) === 0) {
      B.vlan[I] = ((a[p] << 8) | a[p + 1]) & 0x0fff;
      FL |= PF.HAS_VLAN;
    }
    t = (a[p + 2] << 8) | a[p + 3];
    p += 4;
  }
  if (level === 0) B.ethType[I] = t >= 0x0600 ? t : 0; // below 0x0600 it is an 802.3 length (LLC follows)
  const k = ETHER[t];
  if (k === Ether.Ip4) decodeIp4(p, cap, rep, level);
  else if (k === Ether.Ip6) decodeIp6(p, cap, rep, level);
}

// ---- IP ----------------------------------------------------------------------------------------

function decodeIp4(p: number, cap: number, rep: number, level: number): void {
  const a = A;
  if (p < cap && a[p] >> 4 !== 4) {
    setMalformed(MAL.IP_VERSION_MISMATCH, a[p] >> 4, 4);
    return;
  }
  if (!need(p, 20, cap, rep, MAL.IP4_HEADER_SHORT)) return;
  const hl = (a[p] & 0x0f) << 2;
  if (hl < 20) {
    setMalformed(MAL.IP4_HEADER_LENGTH, hl, 0);
    return;
  }
  const total = (a[p + 2] << 8) | a[p + 3];
  let end: number;
  if (total === 0) {
    end = rep; // TSO / GSO / BIG TCP: the length is the frame's
  } else if (total < hl) {
    setMalformed(MAL.IP4_TOTAL_LENGTH_SHORT, total, hl);
    return;
  } else {
    end = p + total;
    if (end > rep) {
      setMalformed(MAL.IP4_TOTAL_LENGTH_LONG, total, rep - p);
      end = rep;
    }
  }
  const proto = a[p + 9];
  const src = ((a[p + 12] << 24) | (a[p + 13] << 16) | (a[p + 14] << 8) | a[p + 15]) >>> 0;
  const dst = ((a[p + 16] << 24) | (a[p + 17] << 16) | (a[p + 18] << 8) | a[p + 19]) >>> 0;
  const frag = ((a[p + 6] << 8) | a[p + 7]) & 0x3fff; // MF bit and fragment offset
  const b = B;
  const i = I;
  if (level === 0) {
    b.l3Off[i] = p - BASE;
    b.ipVer[i] = 4;
    b.proto[i] = proto;
    b.src4[i] = src;
    b.dst4[i] = dst;
    if (frag !== 0) {
      FL |= PF.FRAGMENT;
      if ((frag & 0x1fff) !== 0) FL |= PF.NONFIRST_FRAGMENT;
    }
  } else if (level === 1) {
    b.innerL3Off[i] = p - BASE;
    b.innerIpVer[i] = 4;
    b.innerProto[i] = proto;
    b.innerSrc4[i] = src;
    b.innerDst4[i] = dst;
  }
  if ((frag & 0x1fff) !== 0) return; // a non-first fragment has no L4 header
  if (p + hl > cap) {
    FL |= PF.TRUNCATED; // options cut by the capture
    return;
  }
  const capEnd = end < cap ? end : cap;
  if (VERIFY && level === 0) {
    if (!verifyIpv4HeaderChecksum(a, p)) FL |= PF.BAD_CHECKSUM;
    if (frag === 0 && end <= cap && end > p + hl) verifyL4(4, p, p + hl, end, proto);
  }
  decodeL4(proto, p + hl, capEnd, end, level, 4, frag !== 0);
}

function decodeIp6(p: number, cap: number, rep: number, level: number): void {
  const a = A;
  if (p < cap && a[p] >> 4 !== 6) {
    setMalformed(MAL.IP_VERSION_MISMATCH, a[p] >> 4, 6);
    return;
  }
  if (!need(p, 40, cap, rep, MAL.IP6_HEADER_SHORT)) return;
  const plen = (a[p + 4] << 8) | a[p + 5];
  let nh = a[p + 6];
  let end: number;
  if (plen === 0 && nh === 0) {
    end = rep; // jumbogram (RFC 2675): the length is in a hop-by-hop option; take the frame's
  } else {
    end = p + 40 + plen;
    if (end > rep) {
      setMalformed(MAL.IP6_PAYLOAD_LENGTH_LONG, plen, rep - p - 40 > 0 ? rep - p - 40 : 0);
      end = rep;
    }
  }
  const b = B;
  const i = I;
  if (level === 0) {
    b.l3Off[i] = p - BASE;
    b.ipVer[i] = 6;
  } else if (level === 1) {
    b.innerL3Off[i] = p - BASE;
    b.innerIpVer[i] = 6;
  }
  const capEnd = end < cap ? end : cap;
  let q = p + 40;
  let firstFragment = false;
  let routed = false; // a routing header: the checksum's pseudo header uses its final address, not checked here
  for (;;) {
    if (nh === 0 || nh === 43 || nh === 60) {
      if (nh === 43) routed = true;
      if (!need(q, 8, capEnd, end, MAL.IP6_EXT_HEADER_SHORT)) break;
      const len = (a[q + 1] + 1) << 3;
      if (q + len > end) {
        setMalformed(MAL.IP6_EXT_HEADER_LONG, len, end - q);
        break;
      }
      if (q + len > capEnd) {
        FL |= PF.TRUNCATED;
        break;
      }
      nh = a[q];
      q += len;
    } else if (nh === 44) {
      if (!need(q, 8, capEnd, end, MAL.IP6_EXT_HEADER_SHORT)) break;
      const offset = ((a[q + 2] << 8) | a[q + 3]) & 0xfff8;
      const more = a[q + 3] & 1;
      nh = a[q];
      q += 8;
      if (offset !== 0 || more !== 0) {
        if (level === 0) {
          FL |= PF.FRAGMENT;
          if (offset !== 0) FL |= PF.NONFIRST_FRAGMENT;
        }
        if (offset !== 0) {
          setIp6Proto(level, nh);
          return; // a non-first fragment has no L4 header
        }
        firstFragment = true;
      }
    } else {
      setIp6Proto(level, nh);
      if (VERIFY && level === 0 && !routed && (FL & PF.FRAGMENT) === 0 && end <= cap && end > q) verifyL4(6, p, q, end, nh);
      decodeL4(nh, q, capEnd, end, level, 6, firstFragment);
      return;
    }
  }
  // the extension header chain was cut: `proto` is the type of the header we could not read
  setIp6Proto(level, nh);
}

function setIp6Proto(level: number, nh: number): void {
  if (level === 0) B.proto[I] = nh;
  else if (level === 1) B.innerProto[I] = nh;
}

function verifyL4(ipVer: number, l3: number, l4: number, end: number, proto: number): void {
  if (proto === 6 || proto === 17 || (proto === 1 && ipVer === 4) || (proto === 58 && ipVer === 6)) {
    const min = proto === 6 ? 20 : proto === 17 ? 8 : 4;
    if (end - l4 >= min && !verifyL4Checksum(A, ipVer, l3, l4, end, proto)) FL |= PF.BAD_CHECKSUM;
  }
}

// ---- L4 ----------------------------------------------------------------------------------------

/** The upper-layer header at `p`; `fragment`: the IP packet is a first fragment (its payload is a part only). */
function decodeL4(proto: number, p: number, cap: number, rep: number, level: number, ipVer: number, fragment: boolean): void {
  switch (proto) {
    case 6:
      decodeTcp(p, cap, rep, level);
      break;
    case 17:
      decodeUdp(p, cap, rep, level, ipVer, fragment);
      break;
    case 1:
      if (ipVer === 4) decodeIcmp(p, cap, rep, level, 4);
      break;
    case 58:
      if (ipVer === 6) decodeIcmp(p, cap, rep, level, 6);
      break;
  }
}

function setPorts(p: number, level: number): void {
  const a = A;
  const b = B;
  const i = I;
  const sport = (a[p] << 8) | a[p + 1];
  const dport = (a[p + 2] << 8) | a[p + 3];
  if (level === 0) {
    b.l4Off[i] = p - BASE;
    b.sport[i] = sport;
    b.dport[i] = dport;
    FL |= PF.HAS_PORTS;
  } else if (level === 1) {
    b.innerL4Off[i] = p - BASE;
    b.innerSport[i] = sport;
    b.innerDport[i] = dport;
    FL |= PF.INNER_PORTS;
  }
}

function decodeTcp(p: number, cap: number, rep: number, level: number): void {
  const a = A;
  // The ports are useful even when the rest of the header was cut (a small snaplen): read them first.
  if (!need(p, 4, cap, rep, MAL.TCP_HEADER_SHORT)) return;
  setPorts(p, level);
  if (!need(p, 20, cap, rep, MAL.TCP_HEADER_SHORT)) return;
  const hl = (a[p + 12] >> 4) << 2;
  if (level === 0) B.tcpFlags[I] = a[p + 13];
  if (hl < 20) {
    setMalformed(MAL.TCP_DATA_OFFSET_SHORT, hl, 0);
    return;
  }
  if (p + hl > rep) {
    setMalformed(MAL.TCP_HEADER_LONG, hl, rep - p);
    return;
  }
  if (p + hl > cap) {
    FL |= PF.TRUNCATED;
    return;
  }
  const pay = p + hl;
  if (level === 0) B.payOff[I] = pay - BASE;
  if ((FL & PF.DNS) === 0 && (((a[p] << 8) | a[p + 1]) === 53 || ((a[p + 2] << 8) | a[p + 3]) === 53)) {
    // DNS over TCP: a 2-byte length, then the message; only when this segment holds all of it
    if (pay + 2 > rep) return;
    const len = (a[pay] << 8) | a[pay + 1];
    const msg = pay + 2;
    if (len < 12 || msg + len > rep) return;
    if (pay + 2 > cap) {
      FL |= PF.TRUNCATED;
      return;
    }
    decodeDns(msg, msg + len < cap ? msg + len : cap, msg + len);
  }
}

function decodeUdp(p: number, cap: number, rep: number, level: number, ipVer: number, fragment: boolean): void {
  const a = A;
  if (!need(p, 4, cap, rep, MAL.UDP_HEADER_SHORT)) return;
  setPorts(p, level);
  if (!need(p, 8, cap, rep, MAL.UDP_HEADER_SHORT)) return;
  const ulen = (a[p + 4] << 8) | a[p + 5];
  let end: number;
  if (ulen >= 8) {
    end = p + ulen;
    if (end > rep) {
      // in a first fragment the UDP length counts the whole datagram: the rest comes in later fragments
      if (!fragment) setMalformed(MAL.UDP_LENGTH_LONG, ulen, rep - p);
      end = rep;
    }
  } else if (ulen === 0 && ipVer === 6 && rep - p > 65535) {
    end = rep; // jumbogram UDP (RFC 2675): length 0, the IPv6 payload gives it
  } else {
    setMalformed(MAL.UDP_LENGTH_SHORT, ulen, 0);
    return;
  }
  const pay = p + 8;
  if (level === 0) B.payOff[I] = pay - BASE;
  if (level >= MAX_LEVEL) return;
  const sport = (a[p] << 8) | a[p + 1];
  const dport = (a[p + 2] << 8) | a[p + 3];
  // as tshark does: the lower port decides first
  const lo = sport < dport ? sport : dport;
  const hi = sport < dport ? dport : sport;
  let k = UDP[lo];
  if (k === UdpApp.None) k = UDP[hi];
  if (k === UdpApp.None) return;
  const capEnd = end < cap ? end : cap;
  if (k === UdpApp.Dns) decodeDns(pay, capEnd, end);
  else if (k === UdpApp.Vxlan) decodeVxlan(pay, capEnd, end, level);
  else decodeGeneve(pay, capEnd, end, level);
}

/** ICMP (v4) or ICMPv6 header at `p`; only the outermost one found fills the icmp* columns. */
function decodeIcmp(p: number, cap: number, rep: number, level: number, ipVer: number): void {
  const a = A;
  const b = B;
  const i = I;
  if (!need(p, 4, cap, rep, MAL.ICMP_HEADER_SHORT)) return;
  if (level === 0) b.l4Off[i] = p - BASE;
  if ((FL & PF.HAS_ICMP) !== 0) return;
  const type = a[p];
  b.icmpType[i] = type;
  b.icmpCode[i] = a[p + 1];
  FL |= PF.HAS_ICMP;
  if (!need(p, 8, cap, rep, MAL.ICMP_HEADER_SHORT)) return;
  if (level === 0) b.payOff[i] = p + 8 - BASE;
  const isError = ipVer === 4 ? type === 3 || type === 4 || type === 5 || type === 11 || type === 12 : type >= 1 && type <= 4;
  if (!isError) return;
  // the quoted header: it must be there whole and carry the same IP version
  const q = p + 8;
  const hl = ipVer === 4 ? 20 : 40;
  if (q + hl <= cap && a[q] >> 4 === ipVer) {
    b.icmpInnerOff[i] = q - BASE;
    FL |= PF.ICMP_ERROR;
  }
}

// ---- tunnels -----------------------------------------------------------------------------------

/** VXLAN (RFC 7348): flags(1) reserved(3) VNI(3) reserved(1), then an Ethernet frame. */
function decodeVxlan(p: number, cap: number, rep: number, level: number): void {
  if (!need(p, 8, cap, rep, MAL.VXLAN_HEADER_SHORT)) return;
  const a = A;
  if (level === 0) {
    B.vni[I] = (a[p + 4] << 16) | (a[p + 5] << 8) | a[p + 6];
    FL |= PF.TUNNEL;
  }
  decodeEthernet(p + 8, cap, rep, level + 1);
}

/**
 * GENEVE (RFC 8926): ver(2) optlen(6, 4-byte words) flags(8) protocol type(16) VNI(24) reserved(8),
 * options, then the payload of that protocol type: 0x6558 Ethernet, or an EtherType (IPv4, IPv6).
 */
function decodeGeneve(p: number, cap: number, rep: number, level: number): void {
  if (!need(p, 8, cap, rep, MAL.GENEVE_HEADER_SHORT)) return;
  const a = A;
  const ver = a[p] >> 6;
  if (ver !== 0) {
    setMalformed(MAL.GENEVE_VERSION, ver, 0);
    return;
  }
  const optLen = (a[p] & 0x3f) << 2;
  const ptype = (a[p + 2] << 8) | a[p + 3];
  if (level === 0) {
    B.vni[I] = (a[p + 4] << 16) | (a[p + 5] << 8) | a[p + 6];
    FL |= PF.TUNNEL | PF.GENEVE;
  }
  const q = p + 8 + optLen;
  if (q > rep) {
    setMalformed(MAL.GENEVE_OPTIONS_LONG, optLen, rep - p - 8);
    return;
  }
  if (q > cap) {
    FL |= PF.TRUNCATED;
    return;
  }
  if (ptype === 0x6558) decodeEthernet(q, cap, rep, level + 1);
  else decodeEtherType(ptype, q, cap, rep, level + 1);
}

// ---- DNS ---------------------------------------------------------------------------------------

/**
 * The first question of the DNS message at `msg` (header 12 bytes, then QNAME, QTYPE, QCLASS).
 * Sets PF.DNS, dnsOff (the QNAME) and dnsQtype only when the name is well formed (labels up to 63
 * bytes, 255 in all, compression pointers only backwards into the message, at most MAX_DNS_HOPS) and
 * QTYPE was captured. A message cut by the capture sets PF.TRUNCATED; a bad one is just not DNS.
 */
function decodeDns(msg: number, cap: number, rep: number): void {
  if ((FL & PF.DNS) !== 0) return;
  const a = A;
  if (msg + 12 > rep) return;
  if (msg + 12 > cap) {
    FL |= PF.TRUNCATED;
    return;
  }
  if (((a[msg + 4] << 8) | a[msg + 5]) === 0) return; // QDCOUNT 0
  const name = msg + 12;
  let q = name;
  let after = -1; // position after the QNAME in the question itself
  let total = 0;
  let hops = 0;
  for (;;) {
    if (q >= cap) {
      if (q < rep) FL |= PF.TRUNCATED;
      return;
    }
    const len = a[q];
    if (len === 0) {
      if (after < 0) after = q + 1;
      break;
    }
    if ((len & 0xc0) === 0xc0) {
      if (q + 1 >= cap) {
        if (q + 1 < rep) FL |= PF.TRUNCATED;
        return;
      }
      const target = msg + (((len & 0x3f) << 8) | a[q + 1]);
      if (after < 0) after = q + 2;
      if (target < name || target >= q || ++hops > MAX_DNS_HOPS) return;
      q = target;
      continue;
    }
    if ((len & 0xc0) !== 0) return; // 0x40 / 0x80 label types: obsolete or reserved
    total += len + 1;
    if (total > 255) return;
    q += len + 1;
  }
  if (after + 4 > rep) return;
  if (after + 4 > cap) {
    FL |= PF.TRUNCATED;
    return;
  }
  B.dnsOff[I] = name - BASE;
  B.dnsQtype[I] = (a[after] << 8) | a[after + 1];
  FL |= PF.DNS;
}
