/**
 * Step "IPv6": l2bridge bridges and routes IPv6 (dual stack) statelessly, with the MAC rewrite, and runs
 * the IPv6 ClusterIP load balancers of kube-proxy's IPv6 proxier (lb6.ts); overlay networks do not carry
 * IPv6 (the page: IPv4 only; kube-proxy runs no IPv6 proxier there).
 *
 * Uses:  the IPv6 addresses and TCP/UDP ports of the packet, the compiled IPv6 pod addresses (compile.ts
 *        ip6), the node's IPv6 LB rules (its host port's SLB_GROUP_LB_IPv6_OUT: the group, so a rule taken
 *        out of it is gone for the engine too) and LBs (node.v6).
 * Sets:  the DNAT to the chosen backend (a pod's packet to a VIP and port) or its reverse (a backend's
 *        reply to the client pod), in the bytes with the TCP/UDP checksum; the service and backend; the
 *        MAC rewrite; the verdict (delivered to a pod, forwarded, or dropped: ipv6-overlay-unsupported,
 *        mac-spoofing-disabled, no-endpoints / no-local-endpoint / lb-too-many-destinations (a VIP with no
 *        LB), no-service-port (a VIP without that port)), ignored (no-emulated-node, truncated).
 * Next:  step-result.ts.
 *
 * Nothing is kept per connection: the reverse is recomputed from the LB's stateless hash (lb6.ts says
 * why and the cost); no object is made per packet.
 */

import { PF } from '../core/batch';
import { nat6At, writeMac } from '../packet/rewrite';
import { EP_EXTERNAL, EP_WIRE, type CompiledNode } from './compile';
import { chooseBackend6, fold6, type NoLb6, type NodeLb6 } from './lb6';
import { DIR_OUT, type Rule } from './objects';
import type { PacketCtx } from './packet-ctx';
import { R, V } from './reasons';
import { finish, stop } from './step-result';

export function ipv6Step(k: PacketCtx): void {
  const c = k.c;
  const b = k.b!;
  const a = b.arena;
  const l3 = k.l3;
  if (l3 + 40 > k.end) return stop(k, V.IGNORED, R.TRUNCATED, -1);
  const sp = c.ip6.get(a, l3 + 8);
  let dp = c.ip6.get(a, l3 + 24);
  if (sp < 0 && dp < 0) {
    k.tr.noIpv6Pod(k);
    return stop(k, V.IGNORED, R.NO_EMULATED_NODE, -1);
  }
  const p = c.pods[sp >= 0 ? sp : dp];
  const node = c.nodes[p.node];
  k.ingress = sp >= 0 ? p.endpoint : EP_EXTERNAL;
  k.tr.ipv6Port(k, node, p, sp >= 0);
  if (c.mode === 'overlay' && !c.profile.overlayIpv6) {
    k.tr.ipv6Overlay(k);
    return stop(k, V.DROPPED, R.IPV6_OVERLAY_UNSUPPORTED, node.id);
  }
  const flags = b.flags[k.i];
  k.proto = b.proto[k.i];
  if ((flags & PF.HAS_PORTS) !== 0 && (flags & PF.NONFIRST_FRAGMENT) === 0) {
    k.sport = b.sport[k.i];
    k.dport = b.dport[k.i];
    k.l4 = b.off[k.i] + b.l4Off[k.i];
    if (dp >= 0) {
      const cn = c.nodes[c.pods[dp].node];
      if (cn.v6.group !== null) lb6Reverse(k, cn);
    } else if (sp >= 0 && (node.v6.lbs.length > 0 || node.v6.noLb.length > 0)) {
      if (lb6Forward(k, node)) return;
      dp = c.ip6.get(a, l3 + 24);
    }
  } else if (sp >= 0 && dp < 0 && vip6Of(node, a, l3 + 24) !== -1) {
    // no TCP/UDP ports (ICMPv6 echo, a later fragment): the LBs carry ports only and no host has the VIP
    k.tr.noLb6(k, null);
    return stop(k, V.DROPPED, R.NO_SERVICE_PORT, node.id);
  }
  deliver6(k, node, sp, dp);
}

/** Bridging and routing on l2bridge: to a pod of this node, another emulated node's pod, or the wire. */
function deliver6(k: PacketCtx, node: CompiledNode, sp: number, dp: number): void {
  const c = k.c;
  const a = k.b!.arena;
  const macs = c.macs;
  if (dp >= 0 && c.pods[dp].node === node.id) {
    if (sp < 0 && !node.macSpoofing) return stop(k, V.DROPPED, R.MAC_SPOOFING_DISABLED, node.id);
    if (k.l2 >= 0) writeMac(a, k.l2, macs, c.pods[dp].mac);
    return finish(k, V.DELIVERED, 0, node.id, c.pods[dp].endpoint);
  }
  if (!node.macSpoofing) return stop(k, V.DROPPED, R.MAC_SPOOFING_DISABLED, node.id);
  if (k.l2 >= 0) writeMac(a, k.l2 + 6, macs, node.mac);
  if (dp >= 0) {
    // another emulated node's pod: it delivers
    const q = c.pods[dp];
    if (k.l2 >= 0) writeMac(a, k.l2, macs, q.mac);
    return finish(k, V.DELIVERED, 0, q.node, q.endpoint);
  }
  finish(k, V.FORWARDED, 0, node.id, EP_WIRE);
}

/** True when the 16 bytes at `a[o..]` are those of `x`. */
function same16(a: Uint8Array, o: number, x: Uint8Array): boolean {
  for (let q = 0; q < 16; q++) if (a[o + q] !== x[q]) return false;
  return true;
}

/** The node's IPv6 VIP index the destination names: an LB's (>= 0), a VIP without an LB's (-2 - index in noLb), or -1. */
function vip6Of(node: CompiledNode, a: Uint8Array, o: number): number {
  const v6 = node.v6;
  for (let q = 0; q < v6.lbs.length; q++) if (same16(a, o, v6.lbs[q].vip)) return q;
  for (let q = 0; q < v6.noLb.length; q++) if (same16(a, o, v6.noLb[q].vip)) return -2 - q;
  return -1;
}

/** The node's record of a VIP without an LB for this protocol and port (its own reason), or null (no-service-port). */
function noLb6Of(node: CompiledNode, a: Uint8Array, o: number, proto: number, port: number): NoLb6 | null {
  const list = node.v6.noLb;
  for (let q = 0; q < list.length; q++) {
    const no = list[q];
    if (no.proto === proto && no.port === port && same16(a, o, no.vip)) return no;
  }
  return null;
}

/** The best rule of the node's IPv6 LB group for the packet (lowest priority; the group is in priority order). */
function bestRule6(k: PacketCtx, node: CompiledNode): Rule | null {
  const g = node.v6.group;
  if (g === null) return null;
  const a = k.b!.arena;
  const rules = g.rules;
  for (let q = 0; q < rules.length; q++) {
    const r = rules[q];
    const cond = r.cond;
    if (cond.protocols !== null && cond.protocols.indexOf(k.proto) < 0) continue;
    if (cond.dstPorts !== null && (k.dport < cond.dstPorts[0][0] || k.dport > cond.dstPorts[0][1])) continue;
    const act = r.action;
    if (act.kind === 'lb6' && !same16(a, k.l3 + 24, node.v6.lbs[act.lb].vip)) continue;
    return r;
  }
  return null;
}

/**
 * A pod's packet to one of the node's IPv6 VIPs: the LB rule DNATs it to a backend (false: go on, to the
 * backend); a VIP without an LB, or without that port, drops it (true: decided).
 */
function lb6Forward(k: PacketCtx, node: CompiledNode): boolean {
  const a = k.b!.arena;
  const vi = vip6Of(node, a, k.l3 + 24);
  if (vi === -1) return false;
  const layer = node.v6.layer;
  const best = bestRule6(k, node);
  if (layer !== null) {
    k.tr.layer(layer, node.host, DIR_OUT);
    if (node.v6.group !== null) k.tr.group(node.v6.group, best);
    k.tr.layerEnd(layer, best);
  }
  if (best === null) {
    const no = noLb6Of(node, a, k.l3 + 24, k.proto, k.dport);
    k.tr.noLb6(k, no === null ? null : no.detail);
    stop(k, V.DROPPED, no === null ? R.NO_SERVICE_PORT : no.reason, node.id);
    return true;
  }
  const act = best.action;
  if (act.kind !== 'lb6') return false; // a layer default in the rule's place: no load balancing
  const lb = node.v6.lbs[act.lb];
  const j = chooseBackend6(lb, k.c.seed, k.proto, fold6(a, k.l3 + 8), k.sport, k.dport);
  const be = lb.backends[j];
  k.service = lb.service;
  k.backend = be.id;
  k.rule = best.id;
  k.warn |= lb.warn;
  k.tr.lb6Choice(k, lb, be, k.dport);
  nat6At(a, k.l3, k.l4, k.end, k.proto, true, be.ip, 0, be.port);
  return false;
}

/**
 * A packet to a pod from an IPv6 backend address and port of one of the client node's LBs: when the LB's
 * hash picks that backend for the reversed tuple, it is the reply of a load-balanced connection and
 * gets the VIP and service port back as its source.
 */
function lb6Reverse(k: PacketCtx, cn: CompiledNode): void {
  const a = k.b!.arena;
  const s = k.l3 + 8;
  const rules = cn.v6.group!.rules;
  let client = 0;
  let folded = false;
  for (let q = 0; q < rules.length; q++) {
    const act = rules[q].action;
    if (act.kind !== 'lb6') continue;
    const lb: NodeLb6 = cn.v6.lbs[act.lb];
    if (lb.proto !== k.proto || lb.intPort !== k.sport) continue;
    for (let j = 0; j < lb.backends.length; j++) {
      if (!same16(a, s, lb.backends[j].ip)) continue;
      if (!folded) {
        client = fold6(a, k.l3 + 24);
        folded = true;
      }
      if (chooseBackend6(lb, k.c.seed, k.proto, client, k.dport, lb.extPort) !== j) continue;
      k.service = lb.service;
      k.backend = lb.backends[j].id;
      k.rule = rules[q].id; // the LB rule the forward walk matched decides the reply too, as the IPv4 flow's cached rule does (step-flow.ts)
      k.warn |= lb.warn;
      k.tr.lb6Reverse(k, lb, rules[q]);
      nat6At(a, k.l3, k.l4, k.end, k.proto, false, lb.vip, 0, lb.extPort);
      return;
    }
  }
}
