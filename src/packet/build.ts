/**
 * Frame builder: turns a declarative description into the bytes of one Ethernet frame (or a raw IP
 * packet), with every length and checksum right unless a field asks to be wrong on purpose.
 *
 * Used by tests (expected packets), hand-written scenarios and the trace generator's setup. Not a hot
 * path: each call allocates exactly one Uint8Array for the frame (helpers such as `dnsQuery` allocate
 * their own result).
 *
 * Layout written, outermost first:
 *
 *   Ethernet II (IEEE 802.3)      dst(6) src(6) [tpid(2) tci(2)]* ethertype(2)
 *   IPv4 (RFC 791)                20 bytes + options, DF/MF/fragment offset, header checksum
 *   IPv6 (RFC 8200)               40 bytes + extension headers (hop-by-hop, routing, fragment, dest opts)
 *   TCP (RFC 9293)                20 bytes + options, pseudo-header checksum
 *   UDP (RFC 768)                 8 bytes, pseudo-header checksum (0 = none allowed over IPv4)
 *   ICMP (RFC 792) / ICMPv6 (RFC 4443)   type, code, checksum, then id/seq (echo) or a 32-bit rest field
 */

import { MacLike, parseIpv6, parseMac, toU32 } from './addr';
import {
  IPPROTO_ICMP,
  IPPROTO_ICMPV6,
  IPPROTO_TCP,
  IPPROTO_UDP,
  l4ChecksumField,
  setIpv4HeaderChecksum,
  setL4Checksum,
} from './checksum';

const ETHERTYPE_IPV4 = 0x0800;
const ETHERTYPE_IPV6 = 0x86dd;
const ETHERTYPE_VLAN = 0x8100;
const ETHERTYPE_TEB = 0x6558; // transparent Ethernet bridging (GENEVE protocol type for Ethernet)
const VXLAN_PORT = 4789;

/** TCP flag bits (byte 13 of the TCP header). */
export const TCP = { FIN: 0x01, SYN: 0x02, RST: 0x04, PSH: 0x08, ACK: 0x10, URG: 0x20, ECE: 0x40, CWR: 0x80 } as const;

/** Bytes given as an array, or text encoded as Latin-1 (one byte per character). */
export type Payload = Uint8Array | string;

/** One 802.1Q / 802.1ad tag; the first tag in a list is the outermost. */
interface VlanTag {
  id: number;
  pcp?: number;
  dei?: boolean;
  /** 0x8100 (802.1Q, default) or 0x88a8 (802.1ad service tag). */
  tpid?: number;
}

interface EthSpec {
  src: MacLike;
  dst: MacLike;
  vlans?: VlanTag[];
  /** Overrides the EtherType after the tags (default: from the IP version). */
  etherType?: number;
}

interface Ipv4Spec {
  version: 4;
  src: string | number;
  dst: string | number;
  ttl?: number;
  /** Identification field (default 0). */
  id?: number;
  tos?: number;
  /** Don't Fragment (default false). */
  df?: boolean;
  /** More Fragments (default false). */
  mf?: boolean;
  /** Fragment offset in bytes (a multiple of 8). */
  fragOffset?: number;
  /** Options, padded with zeros (End of Option List) to a multiple of 4 bytes. */
  options?: Uint8Array;
  /** Overrides the protocol field (default: from the L4 spec). */
  protocol?: number;
  /** Writes this header checksum instead of the correct one. */
  checksum?: number;
  /** Writes this total length instead of the correct one. */
  totalLength?: number;
}

/** An IPv6 extension header: options-style (hop-by-hop 0, routing 43, destination options 60) or fragment (44). */
type Ipv6Extension =
  | { type: 0 | 43 | 60; /** Bytes after next-header and length; zero-padded (Pad1) to a multiple of 8 with them. */ data?: Uint8Array }
  | { type: 44; /** Fragment offset in bytes (a multiple of 8). */ offset: number; more?: boolean; id: number };

interface Ipv6Spec {
  version: 6;
  src: string | Uint8Array;
  dst: string | Uint8Array;
  hopLimit?: number;
  trafficClass?: number;
  flowLabel?: number;
  extensions?: Ipv6Extension[];
  /** Overrides the next header of the last header before L4 (default: from the L4 spec). */
  nextHeader?: number;
  /** Writes this payload length instead of the correct one. */
  payloadLength?: number;
}

interface TcpSpec {
  proto: 'tcp';
  sport: number;
  dport: number;
  seq?: number;
  ack?: number;
  /** Flag bits (see `TCP`) or letters: S(YN) A(CK) F(IN) R(ST) P(SH) U(RG) E(CE) C(WR); default ACK when ack is given, else 0. */
  flags?: number | string;
  window?: number;
  urgent?: number;
  /** Options, padded with zeros (End of Option List) to a multiple of 4 bytes. */
  options?: Uint8Array;
  payload?: Payload;
  /** Writes this checksum instead of the correct one. */
  checksum?: number;
}

interface UdpSpec {
  proto: 'udp';
  sport: number;
  dport: number;
  payload?: Payload;
  /** A number to write instead of the correct checksum, or 'zero' for "no checksum" (IPv4). */
  checksum?: number | 'zero';
  /** Writes this UDP length instead of the correct one. */
  length?: number;
}

/** ICMP (over IPv4) or ICMPv6 (over IPv6); defaults to an echo request (type 8 / 128). */
interface IcmpSpec {
  proto: 'icmp';
  type?: number;
  code?: number;
  /** Echo identifier (bytes 4–5). */
  id?: number;
  /** Echo sequence number (bytes 6–7). */
  seq?: number;
  /** The 32-bit field at bytes 4–7 (overrides id/seq; e.g. 0 or the MTU of an error message). */
  rest?: number;
  payload?: Payload;
  checksum?: number;
}

/** Any other protocol: the payload is written as-is after the IP header. */
interface RawL4Spec {
  proto: 'raw';
  protocol: number;
  payload?: Payload;
}

export type L4Spec = TcpSpec | UdpSpec | IcmpSpec | RawL4Spec;

export interface FrameSpec {
  /** Ethernet header (default: 02:00:00:00:00:01 -> 02:00:00:00:00:02); null builds a raw IP packet. */
  eth?: EthSpec | null;
  ip: Ipv4Spec | Ipv6Spec;
  /** Default: no L4 (an IP packet with an empty payload and protocol 59 / 255). */
  l4?: L4Spec;
}

const DEFAULT_ETH: EthSpec = { src: '02:00:00:00:00:01', dst: '02:00:00:00:00:02' };

/** Payload text to bytes (Latin-1), or the bytes themselves. */
function payloadBytes(p: Payload | undefined): Uint8Array {
  if (p === undefined) return new Uint8Array(0);
  if (typeof p !== 'string') return p;
  const out = new Uint8Array(p.length);
  for (let k = 0; k < p.length; k++) out[k] = p.charCodeAt(k) & 0xff;
  return out;
}

/** TCP flags given as a number or as letters (`'SA'`, `'FA'`, `'PA'`, `'R'`). */
export function tcpFlags(f: number | string | undefined, hasAck: boolean): number {
  if (f === undefined) return hasAck ? TCP.ACK : 0;
  if (typeof f === 'number') return f & 0xff;
  const letters: Record<string, number> = { F: TCP.FIN, S: TCP.SYN, R: TCP.RST, P: TCP.PSH, A: TCP.ACK, U: TCP.URG, E: TCP.ECE, C: TCP.CWR };
  let v = 0;
  for (const ch of f.toUpperCase()) {
    const bit = letters[ch];
    if (bit === undefined) throw new Error(`unknown TCP flag letter '${ch}' in '${f}'`);
    v |= bit;
  }
  return v;
}

function pad4(n: number): number {
  return (n + 3) & ~3;
}

function ip6Bytes(a: string | Uint8Array): Uint8Array {
  if (typeof a === 'string') return parseIpv6(a);
  if (a.length !== 16) throw new Error(`an IPv6 address has 16 bytes, got ${a.length}`);
  return a;
}

function put16(a: Uint8Array, o: number, v: number): void {
  a[o] = (v >>> 8) & 0xff;
  a[o + 1] = v & 0xff;
}

function put32(a: Uint8Array, o: number, v: number): void {
  a[o] = (v >>> 24) & 0xff;
  a[o + 1] = (v >>> 16) & 0xff;
  a[o + 2] = (v >>> 8) & 0xff;
  a[o + 3] = v & 0xff;
}

/** Length of the upper-layer header the spec describes (without payload). */
function l4HeaderLength(l4: L4Spec | undefined): number {
  if (!l4) return 0;
  switch (l4.proto) {
    case 'tcp':
      return 20 + pad4(l4.options?.length ?? 0);
    case 'udp':
    case 'icmp':
      return 8;
    case 'raw':
      return 0;
  }
}

function l4ProtoNumber(l4: L4Spec | undefined, ipVer: 4 | 6): number {
  if (!l4) return ipVer === 4 ? 255 : 59;
  switch (l4.proto) {
    case 'tcp':
      return IPPROTO_TCP;
    case 'udp':
      return IPPROTO_UDP;
    case 'icmp':
      return ipVer === 4 ? IPPROTO_ICMP : IPPROTO_ICMPV6;
    case 'raw':
      return l4.protocol;
  }
}

function extLength(e: Ipv6Extension): number {
  return e.type === 44 ? 8 : (2 + (e.data?.length ?? 0) + 7) & ~7;
}

/**
 * Builds one frame from `spec`: the Ethernet header (with VLAN tags), the IP header (IPv4 with options and
 * fragment fields, or IPv6 with extension headers), and the TCP / UDP / ICMP / raw upper layer with its
 * payload. Lengths and checksums are computed (TCP, UDP and ICMPv6 over the pseudo header) unless the
 * spec overrides them. Returns a new Uint8Array of exactly the frame's length.
 */
export function buildFrame(spec: FrameSpec): Uint8Array {
  const eth = spec.eth === undefined ? DEFAULT_ETH : spec.eth;
  const ip = spec.ip;
  const l4 = spec.l4;
  const payload = payloadBytes(l4?.payload);
  const l2len = eth ? 14 + 4 * (eth.vlans?.length ?? 0) : 0;
  let l3hl: number;
  if (ip.version === 4) l3hl = 20 + pad4(ip.options?.length ?? 0);
  else l3hl = 40 + (ip.extensions ?? []).reduce((n, e) => n + extLength(e), 0);
  const l4len = l4HeaderLength(l4) + payload.length;
  const total = l2len + l3hl + l4len;
  const a = new Uint8Array(total);

  // ---- Ethernet
  if (eth) {
    a.set(parseMac(eth.dst), 0);
    a.set(parseMac(eth.src), 6);
    let o = 12;
    for (const t of eth.vlans ?? []) {
      put16(a, o, t.tpid ?? ETHERTYPE_VLAN);
      put16(a, o + 2, ((t.pcp ?? 0) << 13) | (t.dei ? 0x1000 : 0) | (t.id & 0x0fff));
      o += 4;
    }
    put16(a, o, eth.etherType ?? (ip.version === 4 ? ETHERTYPE_IPV4 : ETHERTYPE_IPV6));
  }

  // ---- IP
  const l3 = l2len;
  const l4o = l3 + l3hl;
  const proto = l4ProtoNumber(l4, ip.version);
  if (ip.version === 4) {
    a[l3] = 0x40 | (l3hl >>> 2);
    a[l3 + 1] = ip.tos ?? 0;
    put16(a, l3 + 2, ip.totalLength ?? l3hl + l4len);
    put16(a, l3 + 4, ip.id ?? 0);
    const frag = (ip.df ? 0x4000 : 0) | (ip.mf ? 0x2000 : 0) | (((ip.fragOffset ?? 0) >>> 3) & 0x1fff);
    put16(a, l3 + 6, frag);
    a[l3 + 8] = ip.ttl ?? 64;
    a[l3 + 9] = ip.protocol ?? proto;
    put32(a, l3 + 12, toU32(ip.src));
    put32(a, l3 + 16, toU32(ip.dst));
    if (ip.options) a.set(ip.options, l3 + 20);
  } else {
    const tc = ip.trafficClass ?? 0;
    const fl = ip.flowLabel ?? 0;
    put32(a, l3, ((6 << 28) | (tc << 20) | (fl & 0xfffff)) >>> 0);
    put16(a, l3 + 4, ip.payloadLength ?? l3hl - 40 + l4len);
    a[l3 + 7] = ip.hopLimit ?? 64;
    a.set(ip6Bytes(ip.src), l3 + 8);
    a.set(ip6Bytes(ip.dst), l3 + 24);
    const exts = ip.extensions ?? [];
    const finalNh = ip.nextHeader ?? proto;
    a[l3 + 6] = exts.length ? exts[0].type : finalNh;
    let o = l3 + 40;
    for (let k = 0; k < exts.length; k++) {
      const e = exts[k];
      const len = extLength(e);
      a[o] = k + 1 < exts.length ? exts[k + 1].type : finalNh;
      if (e.type === 44) {
        put16(a, o + 2, (e.offset & ~7) | (e.more ? 1 : 0));
        put32(a, o + 4, e.id);
      } else {
        a[o + 1] = len / 8 - 1;
        if (e.data) a.set(e.data, o + 2);
      }
      o += len;
    }
  }

  // ---- L4
  if (l4) {
    const pay = l4o + l4HeaderLength(l4);
    a.set(payload, pay);
    let forced: number | undefined;
    switch (l4.proto) {
      case 'tcp': {
        put16(a, l4o, l4.sport);
        put16(a, l4o + 2, l4.dport);
        put32(a, l4o + 4, l4.seq ?? 0);
        put32(a, l4o + 8, l4.ack ?? 0);
        const hl = l4HeaderLength(l4);
        a[l4o + 12] = (hl >>> 2) << 4;
        a[l4o + 13] = tcpFlags(l4.flags, l4.ack !== undefined);
        put16(a, l4o + 14, l4.window ?? 65535);
        put16(a, l4o + 18, l4.urgent ?? 0);
        if (l4.options) a.set(l4.options, l4o + 20);
        forced = l4.checksum;
        break;
      }
      case 'udp':
        put16(a, l4o, l4.sport);
        put16(a, l4o + 2, l4.dport);
        put16(a, l4o + 4, l4.length ?? l4len);
        forced = l4.checksum === 'zero' ? 0 : l4.checksum;
        break;
      case 'icmp':
        a[l4o] = l4.type ?? (ip.version === 4 ? 8 : 128);
        a[l4o + 1] = l4.code ?? 0;
        if (l4.rest !== undefined) put32(a, l4o + 4, l4.rest);
        else {
          put16(a, l4o + 4, l4.id ?? 0);
          put16(a, l4o + 6, l4.seq ?? 0);
        }
        forced = l4.checksum;
        break;
      case 'raw':
        break;
    }
    if (l4.proto !== 'raw') {
      if (forced !== undefined) put16(a, l4o + l4ChecksumField(proto), forced);
      else setL4Checksum(a, ip.version, l3, l4o, total, proto);
    }
  }
  if (ip.version === 4) {
    if (ip.checksum !== undefined) put16(a, l3 + 10, ip.checksum);
    else setIpv4HeaderChecksum(a, l3);
  }
  return a;
}

/** The 8-byte VXLAN header (RFC 7348 §5: flags 0x08 = VNI valid, 24-bit VNI) followed by `inner`. */
function vxlanPayload(vni: number, inner: Uint8Array, flags = 0x08): Uint8Array {
  const out = new Uint8Array(8 + inner.length);
  out[0] = flags;
  out[4] = (vni >>> 16) & 0xff;
  out[5] = (vni >>> 8) & 0xff;
  out[6] = vni & 0xff;
  out.set(inner, 8);
  return out;
}

/**
 * The GENEVE header (RFC 8926 §3.4, no options) with protocol type `protocolType` (0x6558: Ethernet)
 * followed by `inner`.
 */
export function genevePayload(vni: number, inner: Uint8Array, protocolType = ETHERTYPE_TEB): Uint8Array {
  const out = new Uint8Array(8 + inner.length);
  put16(out, 2, protocolType);
  out[4] = (vni >>> 16) & 0xff;
  out[5] = (vni >>> 8) & 0xff;
  out[6] = vni & 0xff;
  out.set(inner, 8);
  return out;
}

interface VxlanFrameSpec {
  /** Outer Ethernet header (default as in `buildFrame`). */
  eth?: EthSpec | null;
  /** Outer IP header (VTEP addresses; Windows overlay uses IPv4 provider addresses). */
  ip: Ipv4Spec | Ipv6Spec;
  /** Outer UDP source port (flow-hash entropy). */
  sport: number;
  /** Outer UDP destination port (default 4789). */
  dport?: number;
  vni: number;
  /** The encapsulated Ethernet frame, as bytes or as a spec to build. */
  inner: Uint8Array | FrameSpec;
  /**
   * Compute the outer UDP checksum (default false over IPv4: RFC 7348 §5 "UDP Checksum: It SHOULD be
   * transmitted as zero"; over IPv6 it is always computed).
   */
  udpChecksum?: boolean;
}

/** Builds a VXLAN-encapsulated frame: outer Ethernet / IP / UDP (port 4789) / VXLAN (VNI) / the inner frame. */
export function buildVxlanFrame(spec: VxlanFrameSpec): Uint8Array {
  const inner = spec.inner instanceof Uint8Array ? spec.inner : buildFrame(spec.inner);
  const withSum = spec.ip.version === 6 || spec.udpChecksum === true;
  return buildFrame({
    eth: spec.eth,
    ip: spec.ip,
    l4: {
      proto: 'udp',
      sport: spec.sport,
      dport: spec.dport ?? VXLAN_PORT,
      payload: vxlanPayload(spec.vni, inner),
      checksum: withSum ? undefined : 'zero',
    },
  });
}

// ---------------------------------------------------------------------------------------------
// DNS (RFC 1035 §4.1)

/** DNS QTYPEs used in scenarios. */
export const DNS_TYPE = { A: 1, NS: 2, CNAME: 5, PTR: 12, MX: 15, TXT: 16, AAAA: 28, SRV: 33 } as const;

function encodeName(name: string): number[] {
  const out: number[] = [];
  const trimmed = name.endsWith('.') ? name.slice(0, -1) : name;
  if (trimmed !== '') {
    for (const label of trimmed.split('.')) {
      if (label.length === 0 || label.length > 63) throw new Error(`bad DNS label in '${name}'`);
      out.push(label.length);
      for (let k = 0; k < label.length; k++) out.push(label.charCodeAt(k) & 0xff);
    }
  }
  out.push(0);
  return out;
}

/**
 * A DNS query message (the UDP payload): header with `id`, RD set, one question for `name` (text, with or
 * without the trailing dot) of type `qtype` (default A) and class IN.
 */
export function dnsQuery(id: number, name: string, qtype: number = DNS_TYPE.A): Uint8Array {
  const q = encodeName(name);
  const out = new Uint8Array(12 + q.length + 4);
  put16(out, 0, id);
  put16(out, 2, 0x0100); // RD
  put16(out, 4, 1); // QDCOUNT
  out.set(q, 12);
  put16(out, 12 + q.length, qtype);
  put16(out, 14 + q.length, 1); // IN
  return out;
}

/**
 * A DNS response to `dnsQuery(id, name, qtype)`: QR, RD, RA set, response code `rcode` (0 NOERROR,
 * 3 NXDOMAIN), the question echoed, and one A record (TTL `ttl`) per IPv4 address in `answers`, each
 * naming the question by a compression pointer.
 */
export function dnsResponse(id: number, name: string, qtype: number, answers: (string | number)[], rcode = 0, ttl = 30): Uint8Array {
  const q = encodeName(name);
  const out = new Uint8Array(12 + q.length + 4 + answers.length * 16);
  put16(out, 0, id);
  put16(out, 2, 0x8180 | (rcode & 0xf));
  put16(out, 4, 1);
  put16(out, 6, answers.length);
  out.set(q, 12);
  let o = 12 + q.length;
  put16(out, o, qtype);
  put16(out, o + 2, 1);
  o += 4;
  for (const ans of answers) {
    put16(out, o, 0xc00c); // pointer to the question name
    put16(out, o + 2, DNS_TYPE.A);
    put16(out, o + 4, 1);
    put32(out, o + 6, ttl);
    put16(out, o + 10, 4);
    put32(out, o + 12, toU32(ans));
    o += 16;
  }
  return out;
}

/** A DNS message framed for TCP (RFC 1035 §4.2.2: a 2-byte length prefix). */
export function dnsOverTcp(msg: Uint8Array): Uint8Array {
  const out = new Uint8Array(2 + msg.length);
  put16(out, 0, msg.length);
  out.set(msg, 2);
  return out;
}
