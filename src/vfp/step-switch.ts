/**
 * Step "switch" (compose): after the ingress port's own layers, what the vSwitch does with the packet.
 *
 * Uses:  the tracked tuple (as the port's layers rewrote it), the node's host vNIC port (its 'lb' layers)
 *        and VNET layer, the address table.
 * Sets:  the composed forward transposition (ctx.x: DNAT/SNAT of a load balancer, MAC rewrite, VXLAN push),
 *        the verdict, reason and egress, ctx.next (another emulated node), the deciding rule.
 * Next:  step-connection.ts.
 *
 * In order:
 *   1. load balancers: VIP traffic (TCP/UDP) from any port reaches the host vNIC's 'lb' layers (pods
 *      through the ROUTE/NeedEncap steering, UNCONFIRMED domain.md §7); their rules load balance;
 *   2. a VIP no rule took: why (no endpoints, no such port, not from the host: the page's limits);
 *   3. delivery: a local pod (its port's IN layers) or the node's own address (the host vNIC);
 *   4. routing: the VNET layer with the final destination (the backend, or the VIP under PreserveDIP):
 *      a PA route (VXLAN), an L2 route (MAC rewrite), an SDN route to the host, or the default (out with
 *      the host MAC); then the page's limits on leaving (MAC spoofing, untransposed ICMP) and the return
 *      path of a pod IP that leaves un-NATed to a host outside the cluster (pod-ip-not-routable).
 */

import { AK_CLUSTER_IP, AK_EXTERNAL_VIP, AK_NODE, AK_PA, AK_POD, AK_SOURCE_VIP, EP_HOST, EP_WIRE, type CompiledNode, type CompiledPod } from './compile';
import { composeRoute, doAction, layerDefault } from './actions';
import { DIR_IN, DIR_OUT, FROM_HOST, FROM_POD, FROM_WIRE, inPrefixes, vipKey, type Port } from './objects';
import type { PacketCtx } from './packet-ctx';
import { R, V } from './reasons';
import { walkLayer, walkPort } from './step-layers';

const NODE_ADDR = AK_NODE | AK_PA | AK_SOURCE_VIP;

export function switchStep(k: PacketCtx): void {
  if (!k.lbApplied && k.ports && k.proto !== 1) {
    hostLoadBalancers(k);
    if (!k.cached) return;
    if (!k.lbApplied && k.verdict < 0) unservedVip(k);
  }
  if (k.verdict < 0 && !k.lbApplied && k.proto === 1 && k.ports) pingClusterIp(k);
  if (k.verdict < 0) deliverOrRoute(k);
}

/** The host vNIC's load-balancer layers, walked with the packet (a selected rule's action load balances). */
function hostLoadBalancers(k: PacketCtx): void {
  const node = k.node as CompiledNode;
  const layers = node.host.layers;
  for (let q = 0; q < layers.length && !k.lbApplied && k.verdict < 0; q++) {
    const layer = layers[q];
    if (layer.role !== 'lb') continue;
    k.matchPacket();
    const sel = walkLayer(k, layer, DIR_OUT, k.from, node.host, true);
    if (sel === null) {
      layerDefault(k, layer);
      continue;
    }
    k.tr.hostLb(k, layer, sel);
    doAction(k, sel, layer);
    k.tr.hostLbEnd(k);
  }
}

/** No load balancer rule took VIP traffic: the reason, when the destination is a VIP. */
function unservedVip(k: PacketCtx): void {
  const c = k.c;
  const node = k.node as CompiledNode;
  const key = vipKey(k.proto, k.dst, k.dport);
  const li = node.lbByKey.get(key);
  if (li !== undefined) {
    // a load balancer whose rule does not take traffic from the host (no LocalRoutedVIP on this build)
    const lb = node.lbs[li];
    if (k.from === FROM_HOST && (lb.kind === 'ClusterIP' || lb.kind === 'NodePort')) {
      k.tr.noHostAccess(k, lb);
      k.decide(V.DROPPED, lb.kind === 'ClusterIP' ? R.NODE_TO_SERVICE_IP : R.NODEPORT_LOCAL_ACCESS);
    }
    return;
  }
  const no = node.noLb.get(key);
  const fromHost = k.from === FROM_HOST;
  if (no !== undefined) {
    const p = c.profile;
    k.decide(V.DROPPED, fromHost && no.kind === 'ClusterIP' && !p.nodeToClusterIp ? R.NODE_TO_SERVICE_IP : fromHost && no.kind === 'NodePort' && !p.localNodePortAccess ? R.NODEPORT_LOCAL_ACCESS : no.reason);
    k.tr.noLoadBalancer(k, no);
    return;
  }
  const e = c.addr.get(k.dst);
  const kind = e >= 0 ? c.addrKind[e] : 0;
  if ((kind & AK_CLUSTER_IP) !== 0 && fromHost && !c.profile.nodeToClusterIp) k.decide(V.DROPPED, R.NODE_TO_SERVICE_IP);
  else if ((kind & (AK_CLUSTER_IP | AK_EXTERNAL_VIP)) !== 0 && (kind & (AK_POD | NODE_ADDR)) === 0) {
    k.decide(V.DROPPED, R.NO_SERVICE_PORT);
    k.tr.noServicePort(k);
  }
}

/**
 * An ICMP query (ping) to a ClusterIP: load balancers carry TCP and UDP ports only, and a ClusterIP is no
 * host's address, so nothing answers; from the host, the page's node-to-service-ip limit comes first.
 */
function pingClusterIp(k: PacketCtx): void {
  const c = k.c;
  const e = c.addr.get(k.dst);
  const kind = e >= 0 ? c.addrKind[e] : 0;
  if ((kind & AK_CLUSTER_IP) === 0 || (kind & (AK_POD | NODE_ADDR)) !== 0) return;
  k.decide(V.DROPPED, k.from === FROM_HOST && !c.profile.nodeToClusterIp ? R.NODE_TO_SERVICE_IP : R.NO_SERVICE_PORT);
  k.tr.pingClusterIp(k);
}

/** The switch looks at the destination, or at the chosen backend when PreserveDIP kept the VIP. */
function deliverOrRoute(k: PacketCtx): void {
  const c = k.c;
  const node = k.node as CompiledNode;
  const dst = k.steering ? k.steer : k.dst;
  const e = c.addr.get(dst);
  const kind = e >= 0 ? c.addrKind[e] : 0;
  const en = e >= 0 ? c.addrNode[e] : -1;
  if ((kind & AK_POD) !== 0 && en === node.id) return deliverToPod(k, c.pods[c.addrPod[e]]);
  if ((kind & NODE_ADDR) !== 0 && en === node.id) {
    k.egress = EP_HOST;
    k.decide(V.DELIVERED, 0);
    k.tr.deliverHost(k, dst, kind);
    return;
  }
  leaveNode(k, dst, kind);
}

/** A local pod: its port's IN layers, then delivery with the pod's MAC. */
function deliverToPod(k: PacketCtx, p: CompiledPod): void {
  const c = k.c;
  if (k.from === FROM_WIRE && c.mode === 'l2bridge' && !(k.node as CompiledNode).macSpoofing) return k.decide(V.DROPPED, R.MAC_SPOOFING_DISABLED);
  k.tr.podPortIn(k, p);
  walkPort(k, p.port, DIR_IN, k.from);
  if (k.verdict < 0) {
    k.x.setDmac(p.mac);
    k.egress = p.endpoint;
    k.decide(V.DELIVERED, 0);
    k.tr.deliverPod(k, p);
  }
  k.tr.close(k);
}

/** Leaving the node through the external port: the VNET layer's route for `dst`, then the page's limits. */
function leaveNode(k: PacketCtx, dst: number, kind: number): void {
  const c = k.c;
  const node = k.node as CompiledNode;
  const local = node.podSubnet !== null && ((dst & node.podSubnet.mask) >>> 0) === node.podSubnet.base;
  const remotePod = inPrefixes(c.clusterCidrs, dst) && !local;
  if (local && (kind & AK_SOURCE_VIP) === 0) {
    k.tr.unheldPodAddress(k, dst);
    return k.decide(V.DROPPED, R.NO_ROUTE);
  }
  if (k.from === FROM_HOST && c.mode === 'overlay' && c.plugin === 'flannel' && !c.profile.flannelNodeToRemotePod && remotePod) {
    k.tr.flannelNodeToRemotePod(k, dst);
    return k.decide(V.DROPPED, R.FLANNEL_NODE_TO_REMOTE_POD);
  }
  if (!route(k, node, dst, remotePod)) return;
  if (k.from === FROM_POD && c.mode === 'l2bridge' && !node.macSpoofing) return k.decide(V.DROPPED, R.MAC_SPOOFING_DISABLED);
  k.egress = EP_WIRE;
  if (k.next >= 0) {
    k.x.nextNode(k.next);
    k.decide(V.FORWARDED, 0);
  } else if (k.untransposed) {
    k.decide(c.profile.icmpUntransposedLeaves ? V.NO_RETURN : V.DROPPED, k.proto === 1 || k.proto === 58 ? R.ICMP_NOT_TRANSPOSED : R.PROTOCOL_NOT_TRANSPOSED);
  } else if (podIpUnroutable(k, dst)) {
    k.decide(V.NO_RETURN, R.POD_IP_NOT_ROUTABLE);
    k.tr.podIpNotRoutable(k, dst);
  } else k.decide(V.FORWARDED, 0);
  k.tr.leaving(k, dst);
}

/**
 * A packet that leaves with a pod IP as its source (the ExceptionList kept it from SNAT, or OutboundNAT
 * is off) for `dst`, a host outside the cluster: not a node (nodes route the pod CIDRs), not in the cluster
 * or Service CIDRs. Nothing routes the pod CIDR back to such a host (l2bridge without routes, the overlay's
 * CIDR, which only VXLAN reaches), so its reply cannot return: no-return, pod-ip-not-routable. Not a VFP
 * rule (the packet does leave; what fails is the far host's routing), so a check here. Profile
 * `underlayRoutesPodCidrs` (UNCONFIRMED for Azure UDRs, plan11 A18) turns it off.
 */
function podIpUnroutable(k: PacketCtx, dst: number): boolean {
  const c = k.c;
  if (c.profile.underlayRoutesPodCidrs || k.from !== FROM_POD) return false;
  const e = c.addr.get(k.src);
  if (e < 0 || (c.addrKind[e] & AK_POD) === 0) return false;
  if (c.nodeIps.has(dst >>> 0) || inPrefixes(c.clusterCidrs, dst)) return false;
  return c.serviceCidr === null || ((dst & c.serviceCidr.mask) >>> 0) !== c.serviceCidr.base;
}

/**
 * The port whose VNET layer routes the packet: its ingress port's (pod ports and the host vNIC share the
 * node's VNET layer); a packet from the wire that leaves again is routed by the host vNIC's.
 */
function routingPort(k: PacketCtx, node: CompiledNode): Port {
  const port = k.port!;
  return port.kind === 'external' ? node.host : port;
}

/** The VNET layer for `dst`: the selected route's action, or the layer's default. False when it decided (a drop). */
function route(k: PacketCtx, node: CompiledNode, dst: number, remotePod: boolean): boolean {
  k.matchTuple(k.proto, k.src, dst, k.sport, k.dport, k.ports);
  const sel = walkLayer(k, node.vnet, DIR_OUT, k.from, routingPort(k, node));
  // a route rule routes; a rule that only allows (or no rule) leaves the packet to the layer's default
  if (sel !== null && sel.action.kind !== 'allow' && sel.action.kind !== 'pass') {
    doAction(k, sel, node.vnet);
    return true;
  }
  layerDefault(k, node.vnet);
  if (k.verdict >= 0) return false;
  if (remotePod) {
    k.tr.noRouteToPod(k, dst);
    k.decide(V.DROPPED, R.NO_ROUTE);
    return false;
  }
  k.next = composeRoute(k, k.x, node, null, k.src, dst, k.sport, k.dport);
  return true;
}
