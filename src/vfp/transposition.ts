/**
 * Header transpositions (VFP's HT, domain.md §4.4): what a flow does to each of its packets, composed from
 * the actions of the layers the first packet walked, cached in the flow table (flow-table.ts, FX flags and
 * columns) and applied to every later packet by the fast path.
 *
 * A transposition is a flags word plus values: SET_SMAC / SET_DMAC (Ethernet rewrite, l2bridge and
 * delivery), SNAT / DNAT (IPv4 address and port, or ICMP query id), ENCAP (VXLAN push with a prebuilt outer
 * header template), NEXT_NODE (continue at another emulated node). Decapsulation is not cached: the engine
 * pops the outer headers when a VXLAN packet reaches a node's external port (the VNET layer, IN), before
 * the flow lookup. Composition is "last writer wins" per field: every NAT value is the final address, so
 * applying a transposition to a packet that already carries some of the final values (a pod-side capture
 * of a reply) changes only what differs.
 *
 * The byte primitives here take explicit offsets and touch only the packet bytes (and, for the VXLAN push,
 * the slot's off/caplen/wirelen): the batch's decoded columns keep describing the packet as received
 * (the verdict writer prints `flow` from them). They are the column-free twins of src/packet/rewrite.ts
 * (snat4 / dnat4 / encapVxlan update the decoded columns, which the engine must not do); checksums use the
 * same RFC 1624 helpers.
 */

import type { Batch } from '../core/batch';
import { csumReplace16, csumReplace32 } from '../packet/checksum';
import { prependVxlan, type VxlanTemplate } from '../packet/rewrite';
import { FX, NONE16, type FlowTable } from './flow-table';

/** Composition scratch of the slow path: the transposition of one flow direction being built. */
export class Transposition {
  flags = 0;
  smac = NONE16;
  dmac = NONE16;
  snatIp = 0;
  snatPort = 0;
  dnatIp = 0;
  dnatPort = 0;
  tpl = NONE16;
  outerSport = 0;
  next = 0;

  reset(): void {
    this.flags = 0;
    this.smac = NONE16;
    this.dmac = NONE16;
    this.snatIp = 0;
    this.snatPort = 0;
    this.dnatIp = 0;
    this.dnatPort = 0;
    this.tpl = NONE16;
    this.outerSport = 0;
    this.next = 0;
  }

  setSmac(mac: number): void {
    this.flags |= FX.SET_SMAC;
    this.smac = mac;
  }

  setDmac(mac: number): void {
    this.flags |= FX.SET_DMAC;
    this.dmac = mac;
  }

  snat(ip: number, port: number): void {
    this.flags |= FX.SNAT;
    this.snatIp = ip | 0;
    this.snatPort = port;
  }

  dnat(ip: number, port: number): void {
    this.flags |= FX.DNAT;
    this.dnatIp = ip | 0;
    this.dnatPort = port;
  }

  encap(tpl: number, outerSport: number): void {
    this.flags |= FX.ENCAP;
    this.tpl = tpl;
    this.outerSport = outerSport;
  }

  nextNode(node: number): void {
    this.flags |= FX.NEXT_NODE;
    this.next = node;
  }

  /** Writes this transposition into flow `f` of `ft`, with the flow's verdict, reason and node. */
  store(ft: FlowTable, f: number, verdict: number, reason: number, node: number): void {
    ft.setX(f, this.flags, verdict, reason);
    ft.setMacs(f, this.smac, this.dmac);
    ft.setNat(f, this.snatIp, this.snatPort, this.dnatIp, this.dnatPort);
    ft.setEncap(f, this.tpl, this.outerSport);
    ft.setNode(f, node, this.next);
  }
}

// ---------------------------------------------------------------------------------------------------
// byte primitives (explicit offsets; no column writes)

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
 * the same side's TCP/UDP port (or the ICMP query identifier, RFC 5508 §3.1) to `port` when `l4` >= 0,
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
    const havePort = po + 2 <= end;
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
  } else if (proto === 1 && l4 + 8 <= end) {
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
