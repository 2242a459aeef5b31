/**
 * The reply of `vfp-emu trace` (issue 13, "Ask about a flow"): the packet the far end answers a request
 * with, built from the request as it arrived there (after the node's NAT, DNAT, encapsulation), written in
 * the packet-line notation of traces/*\/scenario.yaml (src/scenario/packet-line.ts) so that the same parser
 * builds its bytes and the user reads what was assumed:
 *   - addresses, ports and MAC addresses swapped (the far end answers the address the packet came from, to
 *     the MAC it came from); a VXLAN packet's outer header too, the inner packet answered inside it;
 *   - TCP SYN -> SYN-ACK (seq 5000, ack = seq + 1), SYN-ACK -> ACK, FIN -> FIN-ACK, other segments -> ACK, a
 *     RST gets no answer; UDP (and DNS) -> a UDP datagram back; ICMP echo -> echo reply (same id and
 *     sequence), other ICMP types get no answer;
 *   - where it starts: a packet delivered to a pod or the host is answered from that port (the engine finds
 *     the port by the source address); a packet that left through the external port (forwarded, or
 *     no-return) is answered in from the wire, at the node it left (the addresses lead there).
 * The bytes read are the request's after the engine rewrote them in place (engine.ts: the batch holds each
 * packet as it leaves or as it is delivered).
 *
 * IPv6 (a dual-stack l2bridge network): the same answers (TCP, UDP, ICMPv6 echo request 128 -> echo reply
 * 129, which the packet-line parser picks by the address family), the addresses read from the bytes (the
 * batch holds no IPv6 address column) and written as the packet lines write them (`[addr]:port`, RFC 5952).
 * The engine keeps no state for IPv6 (step-ipv6.ts: bridged / routed by address, the IPv6 load balancer's
 * reverse NAT recomputed from its hash, lb6.ts), so the reply is judged by that stateless model alone: the
 * trace says so among what it assumed. IPv6 inside VXLAN gets no reply walk (overlay networks carry no IPv6:
 * the request is dropped ipv6-overlay-unsupported before).
 */

import { Batch, PF } from '../core/batch';
import { formatIPv6, u32ToIpv4 } from '../core/ip';
import { decodeBatch, type DecodeOptions } from '../decode/decoder';
import { EP_HOST, EP_POD0, type CompiledDataplane } from './compile';
import { V } from './reasons';
import type { Results } from './results';

/** What the far end answers: the reply's packet line and where it comes from, or why there is none. */
export type ReplyPlan =
  | { line: string; from: string; how: string; arrives: boolean }
  | { line: null; why: string; /** True: nothing answers such a packet; false: the reply is not built (IPv6 inside VXLAN, not IP) or the request did not arrive. */ answered: boolean };

interface L4Tuple {
  proto: number;
  /** Addresses as the packet lines write them (IPv4 dotted, IPv6 RFC 5952). */
  src: string;
  dst: string;
  v6: boolean;
  sport: number;
  dport: number;
  tcpFlags: number;
  seq: number;
  icmpType: number;
  icmpId: number;
  icmpSeq: number;
  smac: string;
  dmac: string;
}

const be16 = (a: Uint8Array, o: number): number => (a[o] << 8) | a[o + 1];
const be32 = (a: Uint8Array, o: number): number => ((a[o] << 24) | (a[o + 1] << 16) | (a[o + 2] << 8) | a[o + 3]) >>> 0;

function macAt(a: Uint8Array, o: number): string {
  let s = '';
  for (let k = 0; k < 6; k++) s += (k ? ':' : '') + a[o + k].toString(16).padStart(2, '0');
  return s;
}

/** The IPv4 source and destination at `l3`, or IPv6 (version 6) ones, as text. */
function addrsAt(a: Uint8Array, l3: number, v6: boolean): [string, string] {
  if (v6) return [formatIPv6(a.subarray(l3 + 8, l3 + 24)), formatIPv6(a.subarray(l3 + 24, l3 + 40))];
  return [u32ToIpv4(be32(a, l3 + 12)), u32ToIpv4(be32(a, l3 + 16))];
}

/**
 * The tuple whose Ethernet, IP and L4 headers start at `l2`, `l3`, `l4` of `a` (l2 < 0: no Ethernet);
 * `proto` the upper-layer protocol (the decoder's: after IPv6 extension headers).
 */
function tupleAt(a: Uint8Array, l2: number, l3: number, l4: number, proto: number): L4Tuple {
  const v6 = a[l3] >> 4 === 6;
  const [src, dst] = addrsAt(a, l3, v6);
  const t: L4Tuple = { proto, src, dst, v6, sport: 0, dport: 0, tcpFlags: 0, seq: 0, icmpType: -1, icmpId: 0, icmpSeq: 0, smac: '', dmac: '' };
  if (l2 >= 0) [t.dmac, t.smac] = [macAt(a, l2), macAt(a, l2 + 6)];
  if (l4 < 0) return t;
  if (proto === 6 || proto === 17) [t.sport, t.dport] = [be16(a, l4), be16(a, l4 + 2)];
  if (proto === 6) [t.seq, t.tcpFlags] = [be32(a, l4 + 4), a[l4 + 13]];
  if (proto === 1 || proto === 58) [t.icmpType, t.icmpId, t.icmpSeq] = [a[l4], be16(a, l4 + 4), be16(a, l4 + 6)];
  return t;
}

/** An end as the packet lines write it: `10.0.0.1:80`, `[fd00::1]:80`. */
function endText(ip: string, port: number, v6: boolean): string {
  return v6 ? `[${ip}]:${port}` : `${ip}:${port}`;
}

const SYN = 0x02;
const ACK = 0x10;
const FIN = 0x01;
const RST = 0x04;

/** The answer to `t` as a packet line (without MACs), or null when nothing answers it (the reason). */
function answerLine(t: L4Tuple): { line: string } | { why: string } {
  const [s, d] = [t.src, t.dst];
  const back = `${endText(d, t.dport, t.v6)} > ${endText(s, t.sport, t.v6)}`;
  if (t.proto === 17) return { line: `udp ${back}` };
  if (t.proto === 1 || t.proto === 58) {
    const [echo, icmp] = t.proto === 58 ? [128, 'ICMPv6'] : [8, 'ICMP'];
    if (t.icmpType !== echo) return { why: `an ${icmp} message of type ${t.icmpType} is not answered (only an echo request, type ${echo}, gets a reply)` };
    return { line: `icmp ${d} > ${s} type=echo-reply id=${t.icmpId} seq=${t.icmpSeq}` };
  }
  if (t.proto !== 6) return { why: `protocol ${t.proto}: only TCP, UDP and ICMP echo get a reply walk` };
  if ((t.tcpFlags & RST) !== 0) return { why: 'a TCP RST is not answered' };
  const ack = (t.seq + ((t.tcpFlags & (SYN | FIN)) !== 0 ? 1 : 0)) >>> 0;
  const flags = (t.tcpFlags & SYN) !== 0 ? ((t.tcpFlags & ACK) !== 0 ? 'A' : 'SA') : (t.tcpFlags & FIN) !== 0 ? 'FA' : 'A';
  return { line: `tcp ${back} ${flags} seq=5000 ack=${ack}` };
}

/** ` smac=.. dmac=..`: the request's MACs swapped (none when it had no Ethernet header). */
function macsSwapped(t: L4Tuple): string {
  return t.smac === '' ? '' : ` smac=${t.dmac} dmac=${t.smac}`;
}

/** The request's packet at the end of its walk (row 0 of `b`), decoded again from its rewritten bytes. */
function finalPacket(b: Batch, decode: DecodeOptions): Batch {
  const d = new Batch({ capacity: 1, arenaBytes: 1 << 19 });
  d.reset(1);
  const i = d.alloc(b.caplen[0]);
  d.arena.set(b.packet(0), d.off[i]);
  d.wirelen[i] = b.caplen[0];
  d.linktype[i] = b.linktype[0];
  decodeBatch(d, decode);
  return d;
}

/**
 * The far end's answer to the request walked as row 0 of `b` / `r` (module comment), or why there is none.
 * `arrives` is false when the request was no-return: the reply is built (to show what the node would do if
 * the network carried it back) but does not reach the node.
 */
export function planReply(c: CompiledDataplane, b: Batch, r: Results, decode: DecodeOptions): ReplyPlan {
  const v = r.verdict[0];
  if (v === V.DROPPED) return { line: null, why: 'the request is dropped, so nothing answers it', answered: false };
  if (v === V.IGNORED) return { line: null, why: 'the request touches no emulated Windows node (or cannot be judged): no reply is walked', answered: false };
  const d = finalPacket(b, decode);
  if ((d.ipVer[0] !== 4 && d.ipVer[0] !== 6) || d.l3Off[0] < 0) return { line: null, why: 'the request is not IP: no reply is walked', answered: false };
  if (r.encap[0] === 1 && d.innerIpVer[0] === 6) return { line: null, why: 'IPv6 inside VXLAN gets no reply walk (overlay networks carry no IPv6)', answered: false };
  const a = d.arena;
  const base = d.off[0];
  const rel = (o: number): number => (o < 0 ? -1 : base + o);
  const outer = tupleAt(a, rel(d.l2Off[0]), base + d.l3Off[0], rel(d.l4Off[0]), d.proto[0]);
  const node = c.nodes[r.node[0]]?.name ?? '-';
  const eg = r.egress[0];
  const encap = r.encap[0] === 1 && d.innerL3Off[0] >= 0 && d.innerIpVer[0] === 4;
  const t = encap ? tupleAt(a, rel(d.innerL2Off[0]), base + d.innerL3Off[0], rel(d.innerL4Off[0]), d.innerProto[0]) : outer;
  const ans = answerLine(t);
  if ('why' in ans) return { line: null, why: ans.why, answered: true };
  let line = ans.line + macsSwapped(t);
  if (encap) line = `vxlan ${outer.dst}:${outer.sport} > ${outer.src}:${outer.dport} vni=${r.vni[0]}${macsSwapped(outer)} | ${line}`;
  if (eg >= EP_POD0 || eg === EP_HOST) {
    const who = eg === EP_HOST ? `the host of ${node}` : `${c.pods[eg - EP_POD0]?.name ?? '?'} (on ${node})`;
    return { line, from: who, how: `${who} answers from its port`, arrives: true };
  }
  const far = t.dst;
  const how = `${far} answers; its reply comes in from the wire at ${node}, the node the request left${encap ? ' (VXLAN, as the request left)' : ''}`;
  return { line, from: far, how, arrives: v !== V.NO_RETURN };
}

interface Ends {
  /** Addresses as text (IPv4 dotted, IPv6 RFC 5952). */
  src: string;
  dst: string;
  v6: boolean;
  sport: number;
  dport: number;
  proto: number;
}

/**
 * The tuples of row 0 of `b` as its bytes hold them: the outer one, and for VXLAN also the inner one (a node
 * that does not decapsulate it judges the outer one). The request is given as sent (its frame decoded again,
 * trace.ts), the reply as it ends its walk (rewritten, then decoded again by `finalPacket`).
 */
function endsOf(b: Batch): Ends[] {
  const a = b.arena;
  const base = b.off[0];
  const end = (l3: number, l4: number, proto: number, ports: boolean): Ends => {
    const v6 = a[base + l3] >> 4 === 6;
    const [src, dst] = addrsAt(a, base + l3, v6);
    const p = ports && l4 >= 0;
    return { src, dst, v6, proto, sport: p ? be16(a, base + l4) : 0, dport: p ? be16(a, base + l4 + 2) : 0 };
  };
  const out: Ends[] = [end(b.l3Off[0], b.l4Off[0], b.proto[0], (b.flags[0] & PF.HAS_PORTS) !== 0)];
  if ((b.flags[0] & PF.TUNNEL) !== 0 && b.innerL3Off[0] >= 0 && (b.innerIpVer[0] === 4 || b.innerIpVer[0] === 6)) {
    out.push(end(b.innerL3Off[0], b.innerL4Off[0], b.innerProto[0], (b.flags[0] & PF.INNER_PORTS) !== 0));
  }
  return out;
}

/** `got` is the answer to `want`: addresses swapped, and ports for TCP and UDP. */
function answers(got: Ends, want: Ends): boolean {
  const ports = want.proto === 6 || want.proto === 17;
  return got.proto === want.proto && got.src === want.dst && got.dst === want.src && (!ports || (got.sport === want.dport && got.dport === want.sport));
}

/**
 * Whether the reply, as it ends its walk (row 0 of `rb`, rewritten), is addressed back to the request's
 * sender from the address it sent to (ports too for TCP and UDP), at the outer or, for VXLAN, the inner
 * level; null when it is, else the reply's (innermost) tuple in words. `req`: the request as it was sent
 * (IPv4 or IPv6; its bytes are read, not its decoded columns).
 */
export function replyMismatch(req: Batch, rb: Batch, decode: DecodeOptions): string | null {
  const d = finalPacket(rb, decode);
  if ((d.ipVer[0] !== 4 && d.ipVer[0] !== 6) || (req.ipVer[0] !== 4 && req.ipVer[0] !== 6)) return null;
  const got = endsOf(d);
  const want = endsOf(req);
  if (got.some((g) => want.some((w) => answers(g, w)))) return null;
  const g = got[got.length - 1];
  const ports = g.proto === 6 || g.proto === 17;
  return ports ? `${endText(g.src, g.sport, g.v6)} > ${endText(g.dst, g.dport, g.v6)}` : `${g.src} > ${g.dst}`;
}
