/**
 * Step "create the connection": the forward and reverse flows of the unified flow table (VFP's stateful
 * flow pair, domain.md §4.4), so that the connection's later packets and its replies take the fast path.
 *
 * Uses:  the decision and the composed forward transposition (ctx.x) of the slow path, the original tuple
 *        (oSrc ...), the tuple as it leaves (src ...), the ingress port.
 * Sets:  forward flow: keyed by the original tuple in the packet's scope, ctx.x, verdict, reason, egress,
 *        the deciding rule, warnings; reverse flow: keyed by the reply as it comes back to this node, the
 *        inverse NAT, sent back where the first packet came from (delivered to the pod / host, or routed out
 *        through the VNET layer like a forward packet: actions.ts composeRoute); a request that got no
 *        transposition (no-return) or was dropped makes its reverse flow drop the reply, and so does a
 *        connection from outside the ExceptionList straight to a pod (outboundnat-reply-unmatched). The pod-view alias
 *        key, the connection's flow table share (its shard key's), the rule's flow counter.
 * Next:  step-flow.ts applies the forward flow to this packet. Returns the forward flow.
 */

import { EP_EXTERNAL, EP_HOST, EP_POD0, EP_WIRE, type CompiledNode } from './compile';
import { composeRoute } from './actions';
import { FLOW_SHARES, FX, NO_SHARE, SCOPE_ENTRY, key0, key3, scopeHop, type FlowTable } from './flow-table';
import { DIR_OUT, FROM_POD } from './objects';
import type { PacketCtx } from './packet-ctx';
import { R, V, warningBit } from './reasons';
import { shardKey } from './shard-key';
import { entryNodeOf } from './step-classify';
import { walkLayer } from './step-layers';
import { popOuter, unpopOuter } from '../packet/rewrite';

export function connectionStep(k: PacketCtx): number {
  const ft = k.st.flows;
  const cn = k.conn;
  const fwd = 2 * cn;
  forwardFlow(k, ft, fwd);
  reverseFlow(k, ft, fwd + 1);
  ft.seal(cn); // both keys set: the actions are interned (flow-table.ts)
  if (k.c.view === 'pod' && (k.x.flags & (FX.SNAT | FX.DNAT)) !== 0) ft.aliasKey(cn);
  const evicted = ft.evicted;
  ft.admit(cn, packetShare(k, ft), k.ts); // may evict the share's least recently used connection
  k.tr.cached(k, ft.evicted - evicted);
  // the tracked tuple goes back to the packet's own values: the fast path's apply moves it forward
  k.src = k.oSrc;
  k.dst = k.oDst;
  k.sport = k.oSport;
  k.dport = k.oDport;
  return fwd;
}

function forwardFlow(k: PacketCtx, ft: FlowTable, fwd: number): void {
  const port = k.port!;
  const node = k.node as CompiledNode;
  const proto = k.proto;
  ft.firstPacket[k.conn] = k.b!.firstNumber + k.i;
  ft.setService(k.conn, k.fService, k.fBackend);
  k.x.store(ft, fwd, k.verdict, k.reason, node.id);
  ft.setWarn(fwd, k.fWarn);
  ft.setEndpoints(fwd, port.kind === 'external' ? EP_EXTERNAL : port.endpoint, k.egress < 0 ? 0xffff : k.egress);
  ft.setRule(fwd, k.fRule);
  if (k.from === FROM_POD && (k.oDport === 53 || k.dport === 53) && (proto === 17 || proto === 6)) ft.orXflags(fwd, FX.DNS_CHECK);
  if (k.fRule >= 0) k.st.counters.ruleFlows[k.fRule]++;
  ft.keyFlow(fwd, key0(k.scope, proto), k.oSrc, k.oDst, key3(k.oSport, k.oDport));
}

/** The reply as it comes back to this node, translated back, sent where the first packet came from. */
function reverseFlow(k: PacketCtx, ft: FlowTable, rev: number): void {
  const node = k.node as CompiledNode;
  const port = k.port!;
  const x = k.x;
  const y = k.y;
  if ((x.flags & FX.DNAT) !== 0) y.snat(k.oDst, k.oDport);
  if ((x.flags & FX.SNAT) !== 0) y.dnat(k.oSrc, k.oSport);
  let verdict: number = V.DELIVERED;
  let egress: number;
  if (port.kind === 'pod') {
    y.setDmac(k.pod!.mac);
    egress = k.pod!.endpoint;
  } else if (port.kind === 'host') egress = EP_HOST;
  else {
    egress = EP_WIRE;
    verdict = V.FORWARDED;
    const next = routeBack(k, node);
    if (next >= 0) y.nextNode(next);
  }
  let reason = 0;
  if (k.verdict === V.NO_RETURN || k.verdict === V.DROPPED) {
    verdict = V.DROPPED;
    reason = k.reason;
  } else if (replyMeetsSnat(k)) {
    if (k.c.profile.outsideReplySnat) y.snat(node.ip, k.oDport);
    else {
      verdict = V.DROPPED;
      reason = R.OUTBOUNDNAT_REPLY_UNMATCHED;
    }
  }
  y.store(ft, rev, verdict, reason, node.id);
  ft.setWarn(rev, k.fWarn & ~warningBit(R.LOCAL_POLICY_REQUIRES_DSR));
  ft.setEndpoints(rev, k.egress === EP_WIRE || k.egress < 0 ? EP_EXTERNAL : k.egress, egress);
  ft.setRule(rev, k.fRule);
  // a reply from a local pod or the host starts here; one from the wire starts where its addresses lead
  const rSrc = k.dst;
  const rDst = k.src;
  const scope = k.egress !== EP_WIRE || entryNodeOf(k, rSrc, rDst) === node.id ? SCOPE_ENTRY : scopeHop(node.id);
  ft.keyFlow(rev, key0(scope, k.proto), rSrc, rDst, key3(k.dport, k.sport));
  ft.setExpiresAt(rev, k.ts); // the forward direction's is set by the fast path's apply for this packet
}

/**
 * A connection that came in from the wire straight to a local pod (no load balancer) from a client outside
 * the ExceptionList: the pod's reply, walked through the pod port's OutboundNAT layer (SLB_NAT_LAYER, OUT),
 * meets its SNAT rule, which does not belong to this inbound connection. What VFP does then is UNCONFIRMED;
 * the reports agree the client gets no usable reply: Azure/aks-engine#2080 ("The returned outbound packets
 * from the Windows pod to the AppGW are dropped"), Azure/application-gateway-kubernetes-ingress#535,
 * Azure/AKS#1367, and aks-engine PR#901 ("include VNETCIDR in the outbound NAT exception list. Otherwise
 * VMs in different subnet won't be able to reach the windows pods"). Modelled as the reply dropped,
 * outboundnat-reply-unmatched; profile `outsideReplySnat=true` instead SNATs the reply to the node IP
 * (keeping the pod's port: which port a real node picks is UNCONFIRMED), which the client does not
 * recognise. The decision is the compiled SNAT rule's: without it the reply leaves with the pod IP.
 */
function replyMeetsSnat(k: PacketCtx): boolean {
  const c = k.c;
  // a load balancer's connection (DNAT, or DSR / preserve-destination without it) is the load balancer's to answer
  if (!c.outboundNat || k.port!.kind !== 'external' || k.egress < EP_POD0 || k.fService >= 0 || (k.x.flags & (FX.DNAT | FX.SNAT)) !== 0) return false;
  const p = c.pods[k.egress - EP_POD0];
  const layers = p.port.layers;
  for (let q = 0; q < layers.length; q++) {
    if (layers[q].role !== 'slb-nat') continue;
    k.matchTuple(k.proto, p.ip, k.oSrc, k.oDport, k.oSport, k.ports);
    const sel = walkLayer(k, layers[q], DIR_OUT, FROM_POD, p.port, true);
    return sel !== null && sel.action.kind === 'snat';
  }
  return false;
}

/** The reverse route out of the external port towards the original source: the VNET layer, as forward. */
function routeBack(k: PacketCtx, node: CompiledNode): number {
  k.matchTuple(k.proto, k.oDst, k.oSrc, k.oDport, k.oSport, k.ports);
  const sel = walkLayer(k, node.vnet, DIR_OUT, k.from, node.host, true);
  return composeRoute(k, k.y, node, sel, k.oDst, k.oSrc, k.oDport, k.oSport);
}

/**
 * The flow table share (flow-table.ts FLOW_SHARES) of the connections the packet creates: its shard key's,
 * so that a share lies within one shard of the pipeline for every worker count. The key is computed once
 * per packet, at its first new connection, from the packet as captured (the decapsulation undone for the
 * call); a packet that met a cached connection at an earlier node (whose bytes may have been rewritten
 * since) takes that connection's share, which is the same key's by the sharding contract.
 */
function packetShare(k: PacketCtx, ft: FlowTable): number {
  if (k.share >= 0) return k.share;
  const hit = k.hitConn >= 0 ? ft.shareOf[k.hitConn] : NO_SHARE;
  if (hit !== NO_SHARE) k.share = hit;
  else {
    const b = k.b!;
    if (k.decap > 0) unpopOuter(b, k.i, k.decap);
    k.share = shardKey(k.c, b, k.i) % FLOW_SHARES;
    if (k.decap > 0) popOuter(b, k.i, k.decap);
  }
  return k.share;
}
