/**
 * The shard key of a packet (pipeline sharding, issue 4; the flow table's shares): see `shardKey`.
 */

import { PF, type Batch } from '../core/batch';
import { flowHash4Symmetric } from '../packet/rewrite';
import { AK_EXTERNAL_VIP, AK_NODE, AK_PA, AK_POD, AK_SOURCE_VIP, EP_POD0, type CompiledDataplane } from './compile';
import { inPrefixes } from './objects';
import { ownerOfPort } from './snat';

/** shardKey of everything that may use a node's host NAT block (all nodes: one key). */
export const HOSTS_KEY = 1_000_000;

/**
 * The shard key of packet `i` (after decodeBatch): a stateless function of the packet that is the same
 * for every packet of a connection - both directions, every node it crosses, pod view or wire view - and
 * for every connection that draws on the same NAT port pool. It names the connection's *owner*, in this
 * order (on the inner packet of VXLAN addressed to an emulated node):
 *  1. NAT ports on the wire: a SourceVIP at a port of that node's NAT blocks belongs to the block's owner;
 *     a node address at a port of a pod's block is that pod's NAT port when it talks to an address
 *     outside the node's OutboundNAT exceptions (OutboundNAT) or, where the SourceVIP is the node IP
 *     (l2bridge), to a load-balancer backend ip:port: the pod. Else it is the host's own port (rule 3).
 *  2. A pod and its own node's address (a pod reaching its node's NodePort, the node reaching its pod):
 *     the pod (the node's load balancer draws on the pod's block for a local client).
 *  3. Any other node address or externalIP / LoadBalancer VIP (NodePort and VIP clients, node to node,
 *     node to the world): HOSTS_KEY, one key for all hosts, because every node's host block serves
 *     those clients and a packet does not say which node's it is.
 *  4. Pods: the pod; between two pods, the client: the other side of a load-balancer backend (ip:port of
 *     some Service), else the side with the higher (ephemeral) port, ties to the lower endpoint id.
 *  5. Anything else touches no state: 2_000_000 + a symmetric hash of the tuple.
 * Keys below 1_000_000 are pod endpoint ids. Issue 4: send every packet with the same key to the same
 * DataplaneState, in trace order (any function of the key, e.g. modulo the worker count, keeps the outputs
 * byte-identical). Known limits (a port alone cannot tell a NAT port from the host's own ephemeral port):
 * on l2bridge, a host connection to a load-balancer backend whose ephemeral port lies in a pod's block is
 * keyed by that pod in one direction only; a pod reaching another emulated node's address outside the
 * OutboundNAT exceptions uses its own NAT block from the hosts' shard.
 */
export function shardKey(c: CompiledDataplane, b: Batch, i: number): number {
  const ver = b.ipVer[i];
  if (ver === 6) {
    const o = b.off[i] + b.l3Off[i];
    const s = c.ip6.get(b.arena, o + 8);
    const d = c.ip6.get(b.arena, o + 24);
    return s >= 0 && (d < 0 || s <= d) ? EP_POD0 + s : d >= 0 ? EP_POD0 + d : 0;
  }
  if (ver !== 4) return 0;
  const flags = b.flags[i];
  let src = b.src4[i];
  let dst = b.dst4[i];
  let proto = b.proto[i];
  let sport = (flags & PF.HAS_PORTS) !== 0 ? b.sport[i] : 0;
  let dport = (flags & PF.HAS_PORTS) !== 0 ? b.dport[i] : 0;
  let l4 = b.l4Off[i];
  if ((flags & PF.TUNNEL) !== 0 && b.innerIpVer[i] === 4 && c.mode === 'overlay') {
    const e = c.addr.get(dst);
    if (e >= 0 && (c.addrKind[e] & (AK_PA | AK_NODE)) !== 0) {
      src = b.innerSrc4[i];
      dst = b.innerDst4[i];
      proto = b.innerProto[i];
      const ip = (flags & PF.INNER_PORTS) !== 0;
      sport = ip ? b.innerSport[i] : 0;
      dport = ip ? b.innerDport[i] : 0;
      l4 = b.innerL4Off[i];
    }
  }
  if (proto === 1 && l4 >= 0 && l4 + 8 <= b.caplen[i]) {
    const a = b.arena;
    const o = b.off[i] + l4;
    const t = a[o];
    if (t === 0 || t === 8 || t === 13 || t === 14) sport = dport = (a[o + 4] << 8) | a[o + 5];
  }
  const es = c.addr.get(src);
  const ed = c.addr.get(dst);
  const ks = es >= 0 ? c.addrKind[es] : 0;
  const kd = ed >= 0 ? c.addrKind[ed] : 0;
  // 1. NAT ports
  const nd = natOwnerKey(c, ed, kd, dport, src, sport);
  if (nd >= 0) return nd;
  const ns = natOwnerKey(c, es, ks, sport, dst, dport);
  if (ns >= 0) return ns;
  const sp = (ks & AK_POD) !== 0 ? EP_POD0 + c.addrPod[es] : -1;
  const dp = (kd & AK_POD) !== 0 ? EP_POD0 + c.addrPod[ed] : -1;
  const NODEISH = AK_NODE | AK_PA | AK_SOURCE_VIP;
  // 2. a pod and its own node
  if (sp >= 0 && (kd & NODEISH) !== 0 && c.addrNode[ed] === c.addrNode[es]) return sp;
  if (dp >= 0 && (ks & NODEISH) !== 0 && c.addrNode[es] === c.addrNode[ed]) return dp;
  // 3. other node addresses and external VIPs
  if (((ks | kd) & (NODEISH | AK_EXTERNAL_VIP)) !== 0) return HOSTS_KEY;
  // 4. pods
  if (sp >= 0 && dp >= 0) {
    if (c.backendKeys.has(src, sport)) return dp;
    if (c.backendKeys.has(dst, dport)) return sp;
    if (sport !== dport) return sport > dport ? sp : dp;
    return sp < dp ? sp : dp;
  }
  if (sp >= 0) return sp;
  if (dp >= 0) return dp;
  // 5. stateless
  return 2_000_000 + (flowHash4Symmetric(proto, src, dst, sport, dport) & 0xfffff);
}

/**
 * shardKey rule 1 for one side of a packet (address entry `e`, kinds `k`, port `port`; `peer`:`peerPort`
 * the other side): the owner key of a NAT port, or -1 when the side is not one.
 */
function natOwnerKey(c: CompiledDataplane, e: number, k: number, port: number, peer: number, peerPort: number): number {
  if (e < 0 || (k & (AK_NODE | AK_SOURCE_VIP)) === 0) return -1;
  const node = c.nodes[c.addrNode[e]];
  const owner = ownerOfPort(node.nat, port);
  if (owner < 0) return -1;
  const sourceVipOnly = (k & (AK_NODE | AK_SOURCE_VIP)) === AK_SOURCE_VIP;
  if (sourceVipOnly) return owner > 0 ? node.pods[owner - 1].endpoint : HOSTS_KEY;
  // a node address: a pod's OutboundNAT port only towards the outside of the exceptions
  if (owner > 0 && !inPrefixes(node.exceptions, peer)) return node.pods[owner - 1].endpoint;
  if (owner > 0 && node.sourceVip === node.ip && c.backendKeys.has(peer, peerPort)) return node.pods[owner - 1].endpoint;
  return -1;
}
