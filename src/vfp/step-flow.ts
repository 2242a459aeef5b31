/**
 * Step "flow": the unified flow table (domain.md §4.4), node by node.
 *
 * Uses:  the tracked tuple of the PacketCtx, the state's flow table, the key scope (SCOPE_ENTRY: the first
 *        emulated node the addresses lead to; scopeHop(node): a packet that another emulated node sent on).
 * Sets:  for a hit, the cached transposition applied to the bytes (MAC rewrite, NAT with incremental
 *        checksums, VXLAN push) and to the tracked tuple; TCP state and expiry; the outcome fields (flow,
 *        service, backend, warnings, rule); the encapsulation columns of Results; the state's fastPath
 *        counter.
 * Next:  on a miss, slow-path.ts (then the new connection's forward flow is applied here); a flow that
 *        leads to another emulated node continues at that node's external port (a VXLAN-encapsulated one
 *        through its decap rule: step-input.ts decapAtHop); step-result.ts.
 *
 * Pod view (DESIGN.md): a reply captured as the pod sees it (from the VIP or the external host to the pod
 * IP) matches its NATed connection through the alias key (the exact reverse of the original tuple).
 */

import { PF } from '../core/batch';
import { pqdnUnresolvable } from './dns';
import { A_BACKEND, A_EPS, A_MACS, A_NODE, A_RULE, A_SERVICE, A_TPL, A_WARN, A_X, CF, FX, actBaseOf, tcpOf, SCOPE_ALIAS, SCOPE_ENTRY, TCP_CLOSED, TCP_ESTABLISHED, TCP_FIN, TCP_NONE, TCP_SYN, key0, key3, scopeHop, type FlowTable } from './flow-table';
import { FROM_WIRE } from './objects';
import type { PacketCtx } from './packet-ctx';
import { R, V, warningBit } from './reasons';
import { classify, entryNodeOf } from './step-classify';
import { decapAtHop, markEncap } from './step-input';
import { finish, stop } from './step-result';
import { slowPath } from './slow-path';
import { EP_EXTERNAL, EP_POD0 } from './compile';
import { nat4At, vxlanPrepend, writeMac } from '../packet/rewrite';

/** Most nodes one packet can cross (a loop guard). */
const MAX_HOPS = 8;
const TCP_FIN_BIT = 0x01;
const TCP_SYN_BIT = 0x02;
const TCP_RST_BIT = 0x04;
const TCP_ACK_BIT = 0x10;

/** Walks the packet through the nodes it crosses, from key scope `firstScope` (`hopNode`: a decapsulating node). */
export function flowStep(k: PacketCtx, firstScope: number, hopNode: number): void {
  const ft = k.st.flows;
  let scope = firstScope;
  for (let hop = 0; hop < MAX_HOPS; hop++) {
    let f = lookup(k, ft, scope);
    if (f >= 0) k.st.counters.fastPath++;
    else {
      f = miss(k, scope, hopNode);
      if (f < 0) return; // decided without a flow (result set)
    }
    k.flow = f;
    // the flow's action word (action, TCP state) and its action's words are read once here and handed on
    const w = ft.actWord(f);
    const a = actBaseOf(w);
    const x = ft.actions[a + A_X];
    if (!applyFlow(k, ft, f, w, a, x)) return;
    if ((x & FX.NEXT_NODE) === 0) return leave(k, ft, a, x);
    hopNode = ft.actions[a + A_NODE] & 0xffff;
    k.tr.nextNode(k, hopNode);
    if ((x & FX.ENCAP) !== 0 && !decapAtHop(k, ft, f, k.c.nodes[hopNode])) return;
    scope = entryNodeOf(k, k.src, k.dst) === hopNode ? SCOPE_ENTRY : scopeHop(hopNode);
  }
  stop(k, V.DROPPED, R.NO_RULE, -1);
}

/** The packet's flow in `scope` (or, pod view, its alias), -1 on a miss. */
function lookup(k: PacketCtx, ft: FlowTable, scope: number): number {
  const k3 = key3(k.sport, k.dport);
  let f = ft.lookup(key0(scope, k.proto), k.src, k.dst, k3);
  if (f >= 0 && !flowUsable(k, ft, f)) f = -1;
  let alias = false;
  if (f < 0 && scope === SCOPE_ENTRY && k.c.view === 'pod') {
    f = ft.lookup(key0(SCOPE_ALIAS, k.proto), k.src, k.dst, k3);
    if (f >= 0 && !flowUsable(k, ft, f)) f = -1;
    alias = f >= 0;
  }
  if (f < 0) return -1;
  if (k.hitConn < 0) k.hitConn = f >> 1;
  if (k.ingress < 0) k.ingress = ft.ingress(f);
  k.tr.flowHit(k, ft, f, alias);
  return f;
}

/** A miss: where the packet enters this node, then the slow path. Returns the new forward flow or -1. */
function miss(k: PacketCtx, scope: number, hopNode: number): number {
  if (scope !== SCOPE_ENTRY) {
    const node = k.c.nodes[hopNode >= 0 ? hopNode : scope - 1];
    if (k.ingress < 0) k.ingress = EP_EXTERNAL;
    return slowPath(k, scope, node, node.ext, FROM_WIRE);
  }
  if (!classify(k, k.src, k.dst, true)) {
    k.tr.noEmulatedNode(k);
    stop(k, V.IGNORED, R.NO_EMULATED_NODE, -1);
    return -1;
  }
  if (k.ingress < 0) k.ingress = k.eIngress;
  return slowPath(k, scope, k.c.nodes[k.eNode], k.ePort!, k.eFrom);
}

/**
 * Flow `f` (action word `w`, its action at `a` in ft.actions, whose A_X word is `x`) for this packet: TCP
 * state, outcome fields, DNS check, bytes. False when it drops the packet.
 */
function applyFlow(k: PacketCtx, ft: FlowTable, f: number, w: number, a: number, x: number): boolean {
  tcpUpdate(k, ft, f, w);
  const acts = ft.actions;
  if (k.service < 0) {
    k.service = acts[a + A_SERVICE] - 1;
    k.backend = acts[a + A_BACKEND] - 1;
  }
  k.warn |= acts[a + A_WARN];
  if ((x & FX.DNS_CHECK) !== 0) dnsCheck(k, ft, f);
  const rule = acts[a + A_RULE] - 1;
  if (rule >= 0) k.rule = rule;
  if (((x >>> 16) & 0xff) === V.DROPPED) {
    stop(k, V.DROPPED, x >>> 24, acts[a + A_NODE] >>> 16);
    return false;
  }
  applyBytes(k, ft, f, a, x);
  return true;
}

/** The packet leaves the last node it crossed through the flow whose action is at `a` (A_X word `x`). */
function leave(k: PacketCtx, ft: FlowTable, a: number, x: number): void {
  const acts = ft.actions;
  k.tr.closeAll(k);
  finish(k, (x >>> 16) & 0xff, x >>> 24, acts[a + A_NODE] >>> 16, acts[a + A_EPS] >>> 16);
  if (k.encapTpl >= 0) markEncap(k, k.templates.list[k.encapTpl]);
}

/** False (and the connection freed) when flow `f`'s connection has expired or a new SYN restarts it. */
function flowUsable(k: PacketCtx, ft: FlowTable, f: number): boolean {
  const cn = f >> 1;
  // this direction's time first: its record is the one the packet reads anyway
  if (k.ts > ft.expiresAt(f) && ft.expired(cn, k.ts)) {
    ft.freeConnection(cn);
    return false;
  }
  if (k.proto === 6 && (f & 1) === 0 && (k.tcp & (TCP_SYN_BIT | TCP_ACK_BIT)) === TCP_SYN_BIT && ft.tcp(f) >= TCP_FIN) {
    ft.freeConnection(cn); // "TCP Connections Reset by SYN": a new connection on a closed tuple
    return false;
  }
  return true;
}

/** TCP state (both directions) and this direction's expiry time, on trace time (`w`: the flow's action word). */
function tcpUpdate(k: PacketCtx, ft: FlowTable, f: number, w: number): void {
  const t = k.c.profile.timeouts;
  let timeout: number;
  if (k.proto === 6) {
    const s = tcpState(ft, f, k.tcp, tcpOf(w));
    timeout = s === TCP_SYN ? t.tcpHalfOpen : s === TCP_CLOSED ? t.tcpClosed : t.tcpEstablished;
  } else timeout = k.proto === 17 ? t.udp : t.icmp;
  const at = k.ts + timeout;
  // an earlier expiry than before (a shorter timeout after a FIN, or trace time going back): the NAT
  // pool holding the connection's port may have to look at its ports sooner (snat.ts `quietUntil`)
  if (!(at >= ft.expiresAt(f))) {
    const cn = f >> 1;
    const owner = ft.natOwner[cn];
    if (owner >= 0) k.st.snat.expiryLowered(k.c.nodes[ft.node(2 * cn)].nat, owner, ft.natProto[cn], at, ft.natPort[cn]);
  }
  ft.setExpiresAt(f, at);
}

/** The connection's TCP state after a segment with flags `fl` in flow `f`'s direction (state `old` before). */
function tcpState(ft: FlowTable, f: number, fl: number, old: number): number {
  let s = old;
  if ((fl & TCP_RST_BIT) !== 0) s = TCP_CLOSED;
  else if ((fl & TCP_FIN_BIT) !== 0) {
    const cn = f >> 1;
    ft.cflags[cn] |= (f & 1) !== 0 ? CF.FIN_REV : CF.FIN_FWD;
    s = (ft.cflags[cn] & (CF.FIN_FWD | CF.FIN_REV)) === (CF.FIN_FWD | CF.FIN_REV) ? TCP_CLOSED : TCP_FIN;
  } else if (s === TCP_NONE) s = (fl & (TCP_SYN_BIT | TCP_ACK_BIT)) === TCP_SYN_BIT ? TCP_SYN : TCP_ESTABLISHED;
  else if (s === TCP_SYN && (f & 1) !== 0) s = TCP_ESTABLISHED;
  if (s !== old) ft.setTcp(f >> 1, s);
  return s;
}

/** Applies flow `f`'s transposition (its action at `a`, A_X word `x`) to the packet bytes and to the tracked tuple. */
function applyBytes(k: PacketCtx, ft: FlowTable, f: number, a: number, x: number): void {
  const b = k.b!;
  const arena = b.arena;
  if ((x & (FX.SET_SMAC | FX.SET_DMAC)) !== 0 && k.l2 >= 0) {
    const m = ft.actions[a + A_MACS];
    if ((x & FX.SET_SMAC) !== 0) writeMac(arena, k.l2 + 6, k.c.macs, m & 0xffff);
    if ((x & FX.SET_DMAC) !== 0) writeMac(arena, k.l2, k.c.macs, m >>> 16);
  }
  if ((x & FX.SNAT) !== 0) natBytes(k, arena, false, ft.natIpAt(f, a, false), ft.natPortAt(f, a, false));
  if ((x & FX.DNAT) !== 0) natBytes(k, arena, true, ft.natIpAt(f, a, true), ft.natPortAt(f, a, true));
  if ((x & FX.ENCAP) !== 0 && (x & FX.NEXT_NODE) === 0) {
    const tpl = ft.actions[a + A_TPL] & 0xffff;
    k.encapTpl = tpl;
    if (k.l2 === k.base) vxlanPrepend(b, k.i, k.templates.list[tpl], ft.outerSport(f));
  }
  k.tr.applied(k, ft, f);
}

/**
 * NAT of the source (`dst` false) or destination to `ip`:`port` in the bytes (incremental checksums) and
 * in the tracked tuple; an ICMP query's identifier is both of its ports.
 */
function natBytes(k: PacketCtx, a: Uint8Array, dst: boolean, ip: number, port: number): void {
  nat4At(a, k.l3, k.l4, k.end, k.proto, dst, ip, k.ports ? port : -1);
  if (dst) k.dst = ip;
  else k.src = ip;
  if (!k.ports) return;
  if (k.proto === 1) {
    k.sport = port;
    k.dport = port;
  } else if (dst) k.dport = port;
  else k.sport = port;
}

/** A DNS query from a pod with a partially qualified name that Windows cannot resolve: a warning. */
function dnsCheck(k: PacketCtx, ft: FlowTable, f: number): void {
  const b = k.b!;
  const i = k.i;
  if ((b.flags[i] & PF.DNS) === 0) return;
  const off = b.dnsOff[i];
  if (off < 12) return;
  const a = b.arena;
  const base = k.origOff;
  if ((a[base + off - 10] & 0x80) !== 0) return; // QR: a response
  const ing = ft.ingress(f);
  if (ing < EP_POD0) return;
  const pod = k.c.pods[ing - EP_POD0];
  if (pqdnUnresolvable(a, base + off, b.off[i] + b.caplen[i], pod.nsHash, k.dnsNames)) {
    k.warn |= warningBit(R.DNS_PQDN_UNRESOLVABLE);
    k.tr.dnsWarning(k);
  }
}
