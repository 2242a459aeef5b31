/**
 * Step "reply checks": a packet from the wire whose flow is unknown but that looks like a reply to a NATed
 * connection of this node. Decided per packet (not cached), before any layer.
 *
 * Uses:  the tracked tuple, the node's NAT pools (which connection holds a NAT port), the flow table.
 * Sets:  the verdict (uncached) when:
 *   nat-reply-mismatch    the packet reaches a NAT port of the node (or, pod view, a port a pod NATed)
 *                         that belongs to a live connection with another peer;
 *   icmp-not-transposed   an ICMP echo reply from outside the ExceptionList to a pod IP: its request left
 *                         un-NATed (VFP transposes TCP and UDP only), so nothing translates the reply back.
 * Next:  step-layers.ts.
 */

import { AK_NODE, AK_POD, AK_SOURCE_VIP, type CompiledNode } from './compile';
import { FROM_WIRE, inPrefixes } from './objects';
import type { PacketCtx } from './packet-ctx';
import { R, V } from './reasons';

export function replyChecks(k: PacketCtx): void {
  if (k.from !== FROM_WIRE) return;
  if (k.ports && k.slot >= 0 && (natPortTaken(k) || podPortTaken(k))) return k.decide(V.DROPPED, R.NAT_REPLY_MISMATCH, false);
  if (k.proto === 1 && k.icmpType === 0 && k.c.outboundNat && !k.c.profile.icmpSnat && echoReplyToPod(k)) {
    k.tr.icmpReplyToPod(k);
    k.decide(V.DROPPED, R.ICMP_NOT_TRANSPOSED, false);
  }
}

/** The destination is this node's address (or SourceVIP) at a NAT port a live connection with another peer holds. */
function natPortTaken(k: PacketCtx): boolean {
  const c = k.c;
  const node = k.node as CompiledNode;
  const e = c.addr.get(k.oDst);
  if (e < 0 || (c.addrKind[e] & (AK_NODE | AK_SOURCE_VIP)) === 0 || c.addrNode[e] !== node.id) return false;
  const ft = k.st.flows;
  const cc = k.st.snat.connectionOfPort(node.nat, k.slot, k.oDport);
  if (cc < 0 || !ft.isLive(cc) || ft.expired(cc, k.ts)) return false;
  const expected = ft.key(2 * cc + 1, 1);
  if (expected === k.oSrc) return false;
  k.tr.natPortTaken(k, cc, expected);
  return true;
}

/**
 * (pod view) The destination is a pod IP of this node at a port the pod NATed for a live connection with
 * another peer: a reply that came back through the NAT, unless the source is inside the ExceptionList (such a
 * peer reaches the pod IP directly, a new flow of its own).
 */
function podPortTaken(k: PacketCtx): boolean {
  const c = k.c;
  const node = k.node as CompiledNode;
  const e = c.addr.get(k.oDst);
  if (c.view !== 'pod' || e < 0 || (c.addrKind[e] & AK_POD) === 0 || c.addrNode[e] !== node.id || inPrefixes(node.exceptions, k.oSrc)) return false;
  const p = c.pods[c.addrPod[e]];
  const conns = k.st.snat.connectionsOf(node.nat, p.owner, k.slot);
  const clientPorts = k.st.snat.clientPortsOf(node.nat, p.owner, k.slot);
  if (conns === null || clientPorts === null) return false;
  const ft = k.st.flows;
  const port = k.oDport;
  // the pod's port of each connection (its forward key's sport) from the pool's dense array, searched by
  // TypedArray indexOf (a native loop, about twice a script loop's speed over the thousands of a pool at
  // 1M flows): the connection's record is read only for those at the reply's port, in index order as before
  for (let q = clientPorts.indexOf(port); q >= 0 && q < conns.length; q = clientPorts.indexOf(port, q + 1)) {
    const cc = conns[q];
    if (cc < 0 || !ft.isLive(cc) || ft.expired(cc, k.ts)) continue;
    if (ft.key(2 * cc, 1) === (p.ip | 0) && ft.key(2 * cc, 3) >>> 16 === k.oDport && ft.key(2 * cc, 2) !== k.oSrc) {
      k.tr.podPortTaken(k, p, cc, ft.key(2 * cc, 2));
      return true;
    }
  }
  return false;
}

/** An ICMP echo reply from outside the ExceptionList to a pod IP of this node. */
function echoReplyToPod(k: PacketCtx): boolean {
  const c = k.c;
  const node = k.node as CompiledNode;
  const e = c.addr.get(k.oDst);
  return e >= 0 && (c.addrKind[e] & AK_POD) !== 0 && c.addrNode[e] === node.id && !inPrefixes(node.exceptions, k.oSrc);
}
