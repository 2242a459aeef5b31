/**
 * The actions of VFP rules, one function per kind (objects.ts `Action`), dispatched by `doAction` the way
 * Open vSwitch's `do_xlate_actions` dispatches; and each layer's default (`layerDefault`). An action adds
 * its part of the header transposition to ctx.x (or ctx.y for the reverse route), or decides the packet.
 *
 * Uses:  the PacketCtx of the slow path (node, port, from, the tracked tuple, the connection); the state's
 *        NAT pools (snat.ts) and the node's load balancers (lb.ts).
 * Sets:  ctx.x, the tracked tuple (as rewritten), the verdict/reason when an action decides, the deciding
 *        rule (fRule), service/backend/warnings of a load balancer, the NAT port bound to the connection,
 *        ctx.next (the emulated node a route leads to).
 * Next:  the caller's walk goes on with the next layer (step-layers.ts) or the switch (step-switch.ts).
 *
 * Kinds: allow (ACL allow), block (acl-blocked), pass (an OutboundNAT exception: no transposition), snat
 * (OutboundNAT), lb (a load balancer, lb.ts), paroute (VXLAN towards a remote PA), l2route (MAC rewrite
 * towards the next hop), to-host (an SDN route NeedEncap: the host vNIC, whose own stack forwards what no
 * load balancer took), decap (step-input.ts runs it on the external port, before the flow lookup).
 */

import { vxlanSourcePort, flowHash4 } from '../packet/rewrite';
import { AK_NODE, AK_PA, AK_POD, AK_SOURCE_VIP, type CompiledNode } from './compile';
import { chooseBackend, type NodeLb } from './lb';
import { FROM_POD, type Layer, type Rule } from './objects';
import type { PacketCtx } from './packet-ctx';
import { R, V } from './reasons';
import { natSlot } from './snat';
import type { Transposition } from './transposition';

/** Executes the action of `rule` (selected in `layer`). */
export function doAction(k: PacketCtx, rule: Rule, layer: Layer): void {
  const a = rule.action;
  switch (a.kind) {
    case 'allow':
    case 'pass':
      return;
    case 'block':
      return blockAction(k, rule);
    case 'snat':
      return snatAction(k, rule, a.ip);
    case 'lb':
      return lbAction(k, rule, (k.node as CompiledNode).lbs[a.lb]);
    case 'paroute':
    case 'l2route':
    case 'to-host':
      return routeAction(k, rule);
    case 'lb6':
      return; // only in IPv6 groups, which the IPv4 walk skips (step-layers.ts); step-ipv6.ts runs them
    case 'decap':
      return; // step-input.ts: decapsulation runs before the flow lookup, on the outer header
    default:
      throw new Error(`rule ${rule.name} in ${layer.name}: no action function for ${(a as { kind: string }).kind}`);
  }
}

/**
 * No rule of `layer` matched. allow: the walk goes on; in the OutboundNAT layer a packet from a pod then
 * leaves untransposed (only TCP and UDP have SNAT rules: the ICMP limit). block: drop (acl-blocked in an
 * ACL layer, no-route in VNET, no-rule elsewhere).
 */
export function layerDefault(k: PacketCtx, layer: Layer): void {
  if (layer.defaultAction === 'block') {
    k.decide(V.DROPPED, layer.role === 'acl' ? R.ACL_BLOCKED : layer.role === 'vnet' ? R.NO_ROUTE : R.NO_RULE);
    return;
  }
  if (layer.role === 'slb-nat' && k.from === FROM_POD) {
    k.untransposed = true;
    k.tr.untransposed(k);
  }
}

function blockAction(k: PacketCtx, rule: Rule): void {
  k.decide(V.DROPPED, R.ACL_BLOCKED);
  k.fRule = rule.id;
}

/** OutboundNAT: the source becomes `ip` at a port of the client's 64-port blocks (bound to the connection). */
function snatAction(k: PacketCtx, rule: Rule, ip: number): void {
  if (k.slot < 0 || !k.ports) return;
  const node = k.node as CompiledNode;
  const p = k.st.snat.allocate(node.nat, k.owner, k.slot, k.conn, k.st, k.oSport);
  if (p < 0) {
    k.tr.snatExhausted(k);
    k.decide(V.DROPPED, R.SNAT_PORTS_EXHAUSTED, false);
    return;
  }
  bindNat(k, k.owner, k.slot, p);
  k.x.snat(ip, p);
  k.tr.snat(k, ip, p);
  k.src = ip | 0;
  k.sport = p;
  if (k.proto === 1) k.dport = p;
  k.fRule = rule.id;
  k.ruleSticky = true;
}

/** Records NAT port `port` of `owner` (slot `slot`) as the connection's (freed with it). */
function bindNat(k: PacketCtx, owner: number, slot: number, port: number): void {
  const ft = k.st.flows;
  ft.natOwner[k.conn] = owner;
  ft.natPort[k.conn] = port;
  ft.natProto[k.conn] = slot;
  k.natOwner = owner;
  k.natPort = port;
}

/** True when `ip` is a pod endpoint on `node` (a backend's locality). */
export function isLocalPod(k: PacketCtx, node: CompiledNode, ip: number): boolean {
  const c = k.c;
  const e = c.addr.get(ip);
  return e >= 0 && (c.addrKind[e] & AK_POD) !== 0 && c.addrNode[e] === node.id;
}

/**
 * Load balancer `lb`: picks the backend (stateless, lb.ts), DNATs (unless PreserveDIP keeps the VIP), and
 * for a non-DSR load balancer SNATs to the SourceVIP when the backend is on another node or is the client
 * itself (hairpin). A client whose NAT blocks are full is dropped (snat-ports-exhausted, not cached).
 */
function lbAction(k: PacketCtx, rule: Rule, lb: NodeLb): void {
  const node = k.node as CompiledNode;
  const be = lb.backends[chooseBackend(lb, k.c.seed, k.proto, k.src, k.dst, k.sport, k.dport)];
  k.lbApplied = true;
  k.tr.lbChoice(k, lb, be);
  if (lb.preserveDip) {
    if (be.port !== k.dport) k.x.dnat(k.dst, be.port);
    k.steer = be.ip | 0;
    k.steering = true;
  } else {
    k.x.dnat(be.ip, be.port);
    k.dst = be.ip | 0;
  }
  k.dport = be.port;
  k.fService = lb.service;
  k.fBackend = be.id;
  k.fWarn |= lb.warn;
  k.fRule = rule.id;
  k.ruleSticky = true;
  if (lb.dsr) return;
  const hairpin = k.from === FROM_POD && k.src === (be.ip | 0);
  if (isLocalPod(k, node, be.ip) && !hairpin) return;
  // non-DSR to a remote backend (or back to the client itself): SNAT to the SourceVIP so the reply returns here
  let port = k.natPort;
  if (k.natOwner < 0) {
    const slot = natSlot(k.proto);
    if (slot < 0) return;
    port = k.st.snat.allocate(node.nat, k.owner, slot, k.conn, k.st, k.oSport);
    if (port < 0) {
      k.decide(V.DROPPED, R.SNAT_PORTS_EXHAUSTED, false);
      return;
    }
    bindNat(k, k.owner, slot, port);
  }
  k.x.snat(lb.sourceVip, port);
  k.tr.lbSnat(k, lb, port, hairpin);
  k.src = lb.sourceVip | 0;
  k.sport = port;
}

/** A VNET route selected by the switch for the match tuple's destination: composes it into ctx.x. */
function routeAction(k: PacketCtx, rule: Rule): void {
  if (k.fRule < 0 || !k.ruleSticky) k.fRule = rule.id;
  const next = composeRoute(k, k.x, k.node as CompiledNode, rule, k.src, k.mDst, k.sport, k.dport);
  if (next >= 0) k.next = next;
}

/**
 * The route part of a transposition, forward and reverse alike: `rule` (a paroute, l2route or to-host
 * rule, or null for the VNET default) for a packet `src`:`sport` > `dst`:`dport` leaving `node` through the
 * external port. Returns the emulated node it reaches next, or -1.
 *   paroute  inner destination MAC -> the remote DR MAC, VXLAN push towards the remote PA (outer UDP source
 *            port from the inner 5-tuple's hash, RFC 7348);
 *   l2route  source MAC -> the host MAC, destination MAC -> the next hop's;
 *   to-host, none   the host's own stack sends it: source MAC -> the host MAC, not encapsulated.
 */
export function composeRoute(k: PacketCtx, t: Transposition, node: CompiledNode, rule: Rule | null, src: number, dst: number, sport: number, dport: number): number {
  const a = rule !== null ? rule.action : null;
  if (a !== null && a.kind === 'paroute') {
    const rt = node.routes[a.route];
    if (rt.drMac >= 0) t.setDmac(rt.drMac);
    t.encap(k.templates.id(node, a.route), vxlanSourcePort(flowHash4(k.proto, src, dst, sport, dport)));
    return rt.emulated >= 0 && rt.emulated !== node.id ? rt.emulated : -1;
  }
  if (a !== null && a.kind === 'l2route') {
    const rt = node.routes[a.route];
    t.setSmac(node.mac);
    if (rt.hopMac >= 0) t.setDmac(rt.hopMac);
    return rt.emulated >= 0 && rt.emulated !== node.id ? rt.emulated : -1;
  }
  t.setSmac(node.mac);
  const c = k.c;
  const e = c.addr.get(dst);
  if (e >= 0 && (c.addrKind[e] & (AK_NODE | AK_PA | AK_SOURCE_VIP | AK_POD)) !== 0 && c.addrNode[e] !== node.id) return c.addrNode[e];
  return -1;
}
