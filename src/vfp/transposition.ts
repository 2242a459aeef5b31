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
 * This file holds the composition (the Transposition scratch and its store into the flow table); the
 * byte primitives that apply a stored transposition to a packet (writeMac, nat4At, vxlanPrepend) are
 * src/packet/rewrite.ts's, the one set of rewrite primitives.
 */

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
