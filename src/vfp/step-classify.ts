/**
 * Step "classify": where a packet enters the emulated cluster.
 *
 * Uses:  the compiled address table (compile.ts addr / addrKind / addrNode / addrPod), the destination MAC
 *        of the frame (for a VIP that several nodes answer).
 * Sets:  eNode, ePort, eFrom (FROM_*), eIngress (EP_*) of the PacketCtx.
 * Next:  the slow path (step-flow.ts) walks ePort's layers.
 *
 * The source decides first (a local pod: its port; a node address: the host vNIC), then the destination
 * (a local pod, a node address or an externalIP / LoadBalancer ingress VIP: the external port; for a VIP
 * the node whose MAC the frame is addressed to, else the first Windows node). False when neither leads to
 * an emulated node.
 */

import { AK_EXTERNAL_VIP, AK_NODE, AK_PA, AK_POD, AK_SOURCE_VIP, EP_EXTERNAL, EP_HOST } from './compile';
import { FROM_HOST, FROM_POD, FROM_WIRE } from './objects';
import type { PacketCtx } from './packet-ctx';

/** Classifies a packet with addresses `src` > `dst`; `byMac`: look at the frame's destination MAC for VIPs. */
export function classify(k: PacketCtx, src: number, dst: number, byMac: boolean): boolean {
  const c = k.c;
  let e = c.addr.get(src);
  if (e >= 0) {
    const kind = c.addrKind[e];
    if ((kind & AK_POD) !== 0) {
      const pod = c.pods[c.addrPod[e]];
      return entered(k, pod.node, pod.port, FROM_POD, pod.endpoint);
    }
    if ((kind & (AK_NODE | AK_SOURCE_VIP | AK_PA)) !== 0) {
      const node = c.nodes[c.addrNode[e]];
      return entered(k, node.id, node.host, FROM_HOST, EP_HOST);
    }
  }
  e = c.addr.get(dst);
  if (e < 0) return false;
  const kind = c.addrKind[e];
  let nodeId = -1;
  if ((kind & (AK_POD | AK_NODE | AK_PA | AK_SOURCE_VIP)) !== 0) nodeId = c.addrNode[e];
  else if ((kind & AK_EXTERNAL_VIP) !== 0 && c.nodes.length > 0) nodeId = byMac ? nodeByDstMac(k) : 0;
  if (nodeId < 0) return false;
  return entered(k, nodeId, c.nodes[nodeId].ext, FROM_WIRE, EP_EXTERNAL);
}

function entered(k: PacketCtx, node: number, port: PacketCtx['ePort'], from: number, ingress: number): boolean {
  k.eNode = node;
  k.ePort = port;
  k.eFrom = from;
  k.eIngress = ingress;
  return true;
}

/** The emulated node a packet with these addresses enters first, -1 for none (no MAC: VIPs go to node 0). */
export function entryNodeOf(k: PacketCtx, src: number, dst: number): number {
  return classify(k, src, dst, false) ? k.eNode : -1;
}

/** The node whose MAC the packet is addressed to, else 0. */
function nodeByDstMac(k: PacketCtx): number {
  const b = k.b!;
  const l2 = b.l2Off[k.i];
  if (l2 < 0) return 0;
  const a = b.arena;
  const o = b.off[k.i] + l2;
  const macs = k.c.macs;
  for (const n of k.c.nodes) {
    const m = n.mac * 6;
    if (a[o] === macs[m] && a[o + 1] === macs[m + 1] && a[o + 2] === macs[m + 2] && a[o + 3] === macs[m + 3] && a[o + 4] === macs[m + 4] && a[o + 5] === macs[m + 5]) return n.id;
  }
  return 0;
}
