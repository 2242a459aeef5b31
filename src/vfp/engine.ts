/**
 * The VFP engine: what each emulated Windows node does with each packet, and why.
 *
 * Stage `vfp` (one call per batch, after src/decode):
 *   Uses:  the decoded columns of the Batch (flags, ipVer, proto, src4/dst4, sport/dport, tcpFlags, l2/l3/l4
 *          offsets, the tunnel and DNS columns) and the packet bytes; the compiled cluster (compile.ts);
 *          a DataplaneState (flow table, NAT port pools, counters).
 *   Sets:  one row of Results per packet (verdict, reason, warnings, node, ingress, egress, service,
 *          backend, outer header); the packet bytes and the slot's off/caplen/wirelen, so that the batch holds
 *          each packet as it leaves (forwarded, no-return) or as it reaches the pod or host (delivered).
 *          Dropped and ignored packets keep their bytes as received. The decoded columns are not changed.
 *   Next:  the verdict / pcapng writers (src/io), which re-decode the rewritten bytes to print `out`.
 *
 * Per packet:
 *   1. Packets that cannot be judged: unsupported link type, not IP, cut before the headers needed, malformed.
 *   2. VXLAN addressed to an emulated node's provider address: the external port's VNET layer checks the VNI
 *      and UDP port (vni-mismatch) and pops the outer headers.
 *   3. Unified flow table lookup with the packet's 5-tuple (ICMP queries: the identifier as both ports) in
 *      scope ENTRY (the first emulated node its addresses lead to). Hit: the fast path applies the cached
 *      header transposition (MAC rewrite, NAT with incremental checksums, VXLAN push). Miss: in the pod
 *      view, the reply alias (below); then the slow path: find the node and port the packet enters,
 *      walk the port's layers (groups, rules), switch it (local pod, host, load balancer on the host vNIC,
 *      route to a remote subnet, the wire), compose the transposition, cache it together with the reverse
 *      flow (replies take the fast path), and apply it.
 *   4. A packet that leaves one emulated node towards another continues at that node's external port (key
 *      scope HOP(node)); the last node decides the verdict.
 *
 * Views (DESIGN.md): 'pod' (default) - a trace as the endpoints sent and received it, e.g. a capture in a
 * pod or on Linux: a reply is addressed to the pod (src = the service VIP or the external host, dst = the
 * pod IP), not to the node's NAT port. Connections whose first packet was NATed therefore get an alias key:
 * the exact reverse of the original tuple, mapped to the reverse flow, so such a reply is matched to its
 * connection and judged as it would reach the node (the reverse transposition carries final values, so
 * applying it to the pod-side packet gives the packet the pod receives). 'wire' - a capture on the Windows
 * node (pktmon): replies arrive as they cross the node (to nodeIP:natPort, VXLAN-encapsulated); no aliases.
 *
 * Packets that cannot be judged (reason, verdict):
 *   unsupported-linktype  ignored  (the link layer is not decoded);
 *   not-ip                ignored  (ARP, LLDP, ...: VFP rules are not involved);
 *   truncated             ignored  (the capture cut the packet before the headers needed - the L4 ports of
 *                                   TCP/UDP -; a capture limit, not something the node did; a packet cut
 *                                   after them is judged, and the rewrite touches only captured bytes);
 *   malformed             dropped  (the node drops an invalid packet: pktmon "Invalid Packet") when its
 *                                   addresses lead to an emulated node, else ignored.
 * Choices where the facts are UNCONFIRMED (domain.md §7), besides the profile's settings: the VXLAN outer
 * UDP source port is vxlanSourcePort(flowHash4(inner 5-tuple)) (RFC 7348's recommendation), the inner source
 * MAC is left as the pod sent it, the inner destination MAC is the remote DR MAC; a non-DSR load balancer
 * SNATs to the SourceVIP (the node IP on l2bridge) only for a backend on another node or the client itself.
 *
 * Link layers: an IP packet captured without an Ethernet header (Linux cooked SLL / SLL2 of `tcpdump -i
 * any`, raw IP, loopback) is given one first (frameAsEthernet: a pod's packet gets the pod's MAC as source,
 * other addresses are zero until a rewrite sets them),
 * so it is rewritten, encapsulated and written out as the Ethernet frame the Hyper-V switch carries.
 *
 * Not modeled: non-first IPv4 fragments are routed by their addresses only (the NAT of their first
 * fragment is not applied to them); IPv6 is bridged / routed statelessly (l2bridge dual stack) without
 * load balancers or NAT; ICMP error messages are routed like any packet (their quoted header is not
 * translated, as VFP does not transpose ICMP).
 *
 * Hot path rules: no allocation, no closure, no Map lookup per fast-path packet; one hash and probe per
 * node crossed, and one 64-byte flow record. Tracing (explainPacket) records words only when `T` is set.
 */

import { Batch, PF } from '../core/batch';
import { u32ToIpv4, formatIPv6 } from '../core/ip';
import { makeVxlanTemplate, vxlanSourcePort, flowHash4, flowHash4Symmetric, VXLAN_OUTER_LEN, type VxlanTemplate } from '../packet/rewrite';
import type { Cluster } from '../cluster/model';
import {
  AK_EXTERNAL_VIP,
  AK_NODE,
  AK_PA,
  AK_POD,
  AK_SOURCE_VIP,
  AK_CLUSTER_IP,
  EP_EXTERNAL,
  EP_HOST,
  EP_POD0,
  EP_WIRE,
  compileCluster,
  type CompiledDataplane,
  type CompiledNode,
  type CompiledPod,
} from './compile';
import { pqdnUnresolvable, domainHashes } from './dns';
import { Trace, T_ACTION, T_DETAIL, T_ERROR, T_GROUP, T_LAYER, T_NODE, T_PORT, T_RULE, T_WARN } from './explain';
import {
  CF,
  FLOW_SHARES,
  FX,
  NONE16,
  NO_SHARE,
  SCOPE_ALIAS,
  SCOPE_ENTRY,
  TCP_CLOSED,
  TCP_ESTABLISHED,
  TCP_FIN,
  TCP_NONE,
  TCP_SYN,
  key0,
  key3,
  scopeHop,
  type FlowTable,
} from './flow-table';
import type { NodeLb } from './lb';
import { chooseBackend } from './lb';
import { DIR_IN, DIR_OUT, FROM_HOST, FROM_POD, FROM_WIRE, RULE_TERMINATING, conditionsMatch, vipKey, type Layer, type Port, type Rule } from './objects';
import type { WindowsProfile } from './profile';
import { R, REASON_TABLE, V, VERDICT_NAMES, reasonCode, reasonSentence, warningBit, warningCodes } from './reasons';
import { Results } from './results';
import { natSlot, ownerOfPort } from './snat';
import { DataplaneState } from './state';
import { Transposition, frameAsEthernet, nat4At, popOuter, unpopOuter, vxlanPrepend, writeMac } from './transposition';
import { formatRules } from './rules-print';

export interface DataplaneOptions {
  profile: WindowsProfile;
  /** Load-balancer seed (`--seed`). */
  seed: number;
  /** How the trace was captured (see the module comment). */
  view: 'pod' | 'wire';
  /** Initial flow table capacity (connections); it grows on demand. */
  initialConnections?: number;
}

/** Compiles `cluster` for a Windows profile and returns the engine (with its own state). */
export function compileDataplane(cluster: Cluster, opts: DataplaneOptions): Dataplane {
  return new Dataplane(compileCluster(cluster, { profile: opts.profile, seed: opts.seed, view: opts.view }), opts.initialConnections);
}

/** shardKey of everything that may use a node's host NAT block (all nodes: one key). */
export const HOSTS_KEY = 1_000_000;

const PROTO_NAMES: Record<number, string> = { 1: 'icmp', 6: 'tcp', 17: 'udp', 58: 'icmp6', 132: 'sctp' };
const TCP_FIN_BIT = 0x01;
const TCP_SYN_BIT = 0x02;
const TCP_RST_BIT = 0x04;
const TCP_ACK_BIT = 0x10;
/** Most nodes one packet can cross (a loop guard). */
const MAX_HOPS = 8;

function protoName(p: number): string {
  return PROTO_NAMES[p] ?? `proto ${p}`;
}

function fmtEnd(ip: number, port: number, ports: boolean): string {
  return ports ? `${u32ToIpv4(ip)}:${port}` : u32ToIpv4(ip);
}

const ICMP_TYPES: Record<number, string> = { 0: 'echo-reply', 3: 'unreachable', 8: 'echo', 11: 'time-exceeded', 13: 'timestamp', 14: 'timestamp-reply' };

/** `tcp 10.0.0.1:4000 > 10.0.0.2:80`, `icmp 10.0.0.1 > 10.0.0.2 echo id 7`. */
function fmtTuple(proto: number, src: number, dst: number, sport: number, dport: number, ports: boolean, icmpType: number): string {
  if (proto === 1) {
    const t = icmpType >= 0 ? ` ${ICMP_TYPES[icmpType] ?? `type ${icmpType}`}` : '';
    return `icmp ${u32ToIpv4(src)} > ${u32ToIpv4(dst)}${t}${ports ? ` id ${sport}` : ''}`;
  }
  return `${protoName(proto)} ${fmtEnd(src, sport, ports)} > ${fmtEnd(dst, dport, ports)}`;
}

/** The link-layer type in words (explain): the decoder's EtherType, 0 for an 802.3 frame whose type field is a length. */
function etherTypeText(et: number): string {
  return et === 0 ? 'an 802.3 frame (LLC, no EtherType)' : `EtherType 0x${et.toString(16).padStart(4, '0')}`;
}

/** A rule's conditions in a few words (explain, for rules that did not match). */
function condSummary(r: Rule): string {
  const c = r.cond;
  const parts: string[] = [];
  if (c.protocols !== null) parts.push(`proto ${c.protocols.join('/')}`);
  if (c.dst !== null) parts.push(`dst ${c.dst.map((p) => p.text).join(',')}`);
  if (c.dstPorts !== null) parts.push(`dport ${c.dstPorts.map(([a, b]) => (a === b ? a : `${a}-${b}`)).join(',')}`);
  return parts.length > 0 ? parts.join(' ') : 'any';
}

export class Dataplane {
  readonly c: CompiledDataplane;
  /** The state `process` uses (one shard). */
  state: DataplaneState;
  /** VXLAN templates, built when a (node, route) pair is first used; `tplKey` maps node*65536+route to an id. */
  private readonly templates: VxlanTemplate[] = [];
  private readonly tplKey = new Map<number, number>();
  private readonly domain: Uint32Array;
  /** Composition scratch (forward, reverse). */
  private readonly x = new Transposition();
  private readonly y = new Transposition();
  /** The explain trace, when one is being recorded. */
  private T: Trace | null = null;

  // ---- the packet being processed (module-level-like scratch; the engine is not re-entrant) ----
  private pBase = 0;
  private pL2 = -1;
  private pL3 = -1;
  private pL4 = -1;
  private pEnd = 0;
  private pProto = 0;
  private pSrc = 0;
  private pDst = 0;
  private pSport = 0;
  private pDport = 0;
  private pPorts = false;
  private pTcp = 0;
  private pIcmpType = -1;
  private pDecap = 0;
  private pTs = NaN;
  private pOrigOff = 0;
  private pIngress = -1;
  private pService = -1;
  private pBackend = -1;
  private pWarn = 0;
  private pFlow = -1;
  private pRule = -1;
  private pEncapTpl = -1;
  /** The flow table share of the packet's new connections (-1: not known yet) and the first connection it met. */
  private pShare = -1;
  private pHitConn = -1;
  // classification result
  private eNode = -1;
  private ePort: Port | null = null;
  private eFrom = 0;
  private eIngress = -1;

  constructor(c: CompiledDataplane, initialConnections = 1024) {
    this.c = c;
    this.state = new DataplaneState(c, initialConnections);
    this.domain = domainHashes(c.domainLabels);
  }

  /** A fresh, empty state for another shard. */
  createState(initialConnections = 1024): DataplaneState {
    return new DataplaneState(this.c, initialConnections);
  }

  get profile(): WindowsProfile {
    return this.c.profile;
  }

  /** Config diagnostics the compiler found (beyond the cluster's own). */
  get diagnostics(): CompiledDataplane['diagnostics'] {
    return this.c.diagnostics;
  }

  // ===================================================================================================
  // names

  nodeName(id: number): string | null {
    return id >= 0 && id < this.c.nodes.length ? this.c.nodes[id].name : null;
  }

  /** `pod/NS/NAME` | `host` | `external` | `wire`, null for -1. */
  endpointName(id: number): string | null {
    if (id < 0) return null;
    if (id === EP_EXTERNAL) return 'external';
    if (id === EP_WIRE) return 'wire';
    if (id === EP_HOST) return 'host';
    return this.c.pods[id - EP_POD0]?.name ?? null;
  }

  /** `ns/name`, null for -1. */
  serviceName(id: number): string | null {
    return id >= 0 ? (this.c.services[id] ?? null) : null;
  }

  /** `ip:port`, null for -1. */
  backendName(id: number): string | null {
    if (id < 0 || id >= this.c.backends.length) return null;
    let name = this.backendNames[id];
    if (name === undefined) {
      name = `${this.c.backends[id]}:${this.c.backendPorts[id]}`;
      this.backendNames[id] = name;
    }
    return name;
  }
  private readonly backendNames: string[] = [];

  ruleName(id: number): string | null {
    return id >= 0 ? (this.c.rules[id]?.name ?? null) : null;
  }

  verdictName(v: number): string {
    return VERDICT_NAMES[v];
  }

  reasonCode(id: number): string | null {
    return reasonCode(id);
  }

  warningCodes(mask: number): string[] {
    return warningCodes(mask);
  }

  /** `vfpctrl /list-rule`-like listing of every port, layer, group and rule (one node, or all). */
  rulesText(nodeName?: string): string {
    return formatRules(this.c, nodeName);
  }

  /**
   * Counters of `state` (default: this engine's): packets per verdict and per reason, and per rule the
   * packets it decided and the flows it created (rules that saw none are left out).
   */
  counters(state: DataplaneState = this.state): {
    verdicts: Record<string, number>;
    reasons: Record<string, number>;
    rules: { name: string; packets: number; flows: number }[];
    fastPath: number;
    slowPath: number;
    liveFlows: number;
  } {
    const k = state.counters;
    const rules: { name: string; packets: number; flows: number }[] = [];
    this.c.rules.forEach((r) => {
      if (k.rulePackets[r.id] > 0 || k.ruleFlows[r.id] > 0) rules.push({ name: r.name, packets: k.rulePackets[r.id], flows: k.ruleFlows[r.id] });
    });
    return { verdicts: k.byVerdict(), reasons: k.byReason(), rules, fastPath: k.fastPath, slowPath: k.slowPath, liveFlows: state.flows.live };
  }

  // ===================================================================================================
  // sharding

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
  shardKey(b: Batch, i: number): number {
    const c = this.c;
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
    const nd = this.natOwnerKey(ed, kd, dport, src, sport);
    if (nd >= 0) return nd;
    const ns = this.natOwnerKey(es, ks, sport, dst, dport);
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
  private natOwnerKey(e: number, k: number, port: number, peer: number, peerPort: number): number {
    const c = this.c;
    if (e < 0 || (k & (AK_NODE | AK_SOURCE_VIP)) === 0) return -1;
    const node = c.nodes[c.addrNode[e]];
    const owner = ownerOfPort(node.nat, port);
    if (owner < 0) return -1;
    const sourceVipOnly = (k & (AK_NODE | AK_SOURCE_VIP)) === AK_SOURCE_VIP;
    if (sourceVipOnly) return owner > 0 ? node.pods[owner - 1].endpoint : HOSTS_KEY;
    // a node address: a pod's OutboundNAT port only towards the outside of the exceptions
    if (owner > 0 && !this.inExceptions(node, peer)) return node.pods[owner - 1].endpoint;
    if (owner > 0 && node.sourceVip === node.ip && c.backendKeys.has(peer, peerPort)) return node.pods[owner - 1].endpoint;
    return -1;
  }

  // ===================================================================================================
  // entry points

  /**
   * Decides every packet of `b` (after decodeBatch(b)) with this engine's state: `r.reset(b.count)`, then
   * one verdict per packet, bytes rewritten in place (see the module comment). Uses trace time b.ts[i].
   */
  process(b: Batch, r: Results): void {
    r.reset(b.count);
    const st = this.state;
    for (let i = 0; i < b.count; i++) this.one(st, b, i, r);
  }

  /**
   * As `process`, with state `st`, for the packets whose indexes are `idx[0..n)` only (in that order);
   * the caller resets `r`. For sharded runs (issue 4).
   */
  processWith(st: DataplaneState, b: Batch, r: Results, idx: Uint32Array, n: number): void {
    for (let k = 0; k < n; k++) this.one(st, b, idx[k], r);
  }

  /**
   * As `process` for packet `i` alone (the caller has processed the packets before it, so the state holds
   * their flows), recording a trace; returns the explanation text: the nodes, ports, layers, groups and
   * rules it met, then `Final packet:`, `Unified flow:` and `Actions:`. Row `i` of `r` is set.
   */
  explainPacket(b: Batch, i: number, r: Results): string {
    const T = new Trace();
    this.T = T;
    if (r.count <= i) r.count = i + 1;
    try {
      this.one(this.state, b, i, r);
    } finally {
      this.T = null;
    }
    T.tail.push(...this.explainTail(b, i, r));
    return `Packet ${b.firstNumber + i}: ${this.describeInput(b, i)}\n\n${T.format()}`;
  }

  // ===================================================================================================
  // one packet

  private finish(st: DataplaneState, r: Results, i: number, verdict: number, reason: number, node: number, egress: number): void {
    r.verdict[i] = verdict;
    r.reason[i] = reason;
    r.node[i] = node;
    r.ingress[i] = node < 0 && verdict === V.IGNORED ? -1 : this.pIngress;
    r.egress[i] = egress;
    r.service[i] = this.pService;
    r.backend[i] = this.pBackend;
    r.warnings[i] = this.pWarn;
    r.flow[i] = this.pFlow;
    r.rule[i] = this.pRule;
    r.encap[i] = 0;
    st.counters.packet(verdict, reason, this.pWarn, this.pService, this.pBackend, this.pRule);
  }

  /** Ends a packet that cannot be judged or that no state decides (uncached outcome). */
  private stop(st: DataplaneState, b: Batch, i: number, r: Results, verdict: number, reason: number, node: number): void {
    if (this.pDecap > 0) {
      unpopOuter(b, i, this.pDecap); // dropped/ignored packets keep their bytes as received
      this.pDecap = 0;
    }
    const T = this.T;
    if (T !== null) {
      T.leaf(verdict === V.IGNORED ? T_DETAIL : T_ERROR, `${VERDICT_NAMES[verdict]}: ${reasonCode(reason)}`);
    }
    this.finish(st, r, i, verdict, reason, node, -1);
  }

  private one(st: DataplaneState, b: Batch, i: number, r: Results): void {
    const flags = b.flags[i];
    this.pIngress = -1;
    this.pService = -1;
    this.pBackend = -1;
    this.pWarn = 0;
    this.pFlow = -1;
    this.pRule = -1;
    this.pDecap = 0;
    this.pEncapTpl = -1;
    this.pShare = -1;
    this.pHitConn = -1;
    this.pTs = b.ts[i];
    st.now = this.pTs;
    const T = this.T;
    if ((flags & PF.UNSUPPORTED_LINKTYPE) !== 0) return this.stop(st, b, i, r, V.IGNORED, R.UNSUPPORTED_LINKTYPE, -1);
    const ver = b.ipVer[i];
    if (ver === 0) {
      const et = b.ethType[i];
      if ((flags & PF.MALFORMED) !== 0) return this.stop(st, b, i, r, V.IGNORED, R.MALFORMED, -1);
      if ((flags & PF.TRUNCATED) !== 0 && (et === 0 || et === 0x0800 || et === 0x86dd)) return this.stop(st, b, i, r, V.IGNORED, R.TRUNCATED, -1);
      if (T !== null) T.leaf(T_DETAIL, `${etherTypeText(et)}: not IP`);
      return this.stop(st, b, i, r, V.IGNORED, R.NOT_IP, -1);
    }
    // an IP packet captured without an Ethernet header (SLL, raw IP, loopback) becomes the frame the
    // switch carries, so the MAC rewrites and the VXLAN push apply to it as to a captured Ethernet frame
    if (b.l2Off[i] < 0) {
      if (!frameAsEthernet(b, i)) return this.stop(st, b, i, r, V.IGNORED, R.UNSUPPORTED_LINKTYPE, -1);
      // a pod's own packet carries the pod's MAC, as its vNIC sent it
      const e = ver === 4 ? this.c.addr.get(b.src4[i] | 0) : -1;
      if (e >= 0 && (this.c.addrKind[e] & AK_POD) !== 0) writeMac(b.arena, b.off[i] + 6, this.c.macs, this.c.pods[this.c.addrPod[e]].mac);
    }
    const base = b.off[i];
    this.pOrigOff = base;
    this.pBase = base;
    this.pEnd = base + b.caplen[i];
    this.pL2 = b.l2Off[i] >= 0 ? base + b.l2Off[i] : -1;
    this.pL3 = base + b.l3Off[i];
    if (ver === 6) return this.ipv6(st, b, i, r);

    // ---- IPv4
    let proto = b.proto[i];
    this.pL4 = b.l4Off[i] >= 0 && (flags & PF.NONFIRST_FRAGMENT) === 0 ? base + b.l4Off[i] : -1;
    // addresses travel as int32 (never boxed); `>>> 0` where the unsigned value matters
    let src = b.src4[i] | 0;
    let dst = b.dst4[i] | 0;
    if ((flags & PF.MALFORMED) !== 0) {
      if (this.classify(src, dst, b, i)) {
        this.pIngress = this.eIngress;
        if (T !== null) T.leaf(T_ERROR, 'a header contradicts its length or version fields');
        return this.stop(st, b, i, r, V.DROPPED, R.MALFORMED, this.eNode);
      }
      return this.stop(st, b, i, r, V.IGNORED, R.MALFORMED, -1);
    }
    const c = this.c;
    let scope = SCOPE_ENTRY;
    let decapNode = -1;

    // ---- VXLAN to an emulated node's provider address: the external port's VNET layer (decap)
    if ((flags & PF.TUNNEL) !== 0 && (flags & PF.GENEVE) === 0 && proto === 17 && c.mode === 'overlay') {
      const e = c.addr.get(dst);
      if (e >= 0 && (c.addrKind[e] & (AK_PA | AK_NODE)) !== 0) {
        const node = c.nodes[c.addrNode[e]];
        this.pIngress = EP_EXTERNAL;
        const vni = b.vni[i];
        const dport = b.dport[i];
        if (T !== null) {
          T.open(T_NODE, node.name);
          T.open(T_PORT, 'external (IN)');
          T.open(T_LAYER, 'VNET');
          T.open(T_GROUP, 'VNET_GROUP_DECAP_IPV4_IN');
          T.leaf(T_DETAIL, `VXLAN ${u32ToIpv4(src)} > ${u32ToIpv4(dst)} UDP ${dport} VNI ${vni}; the network's: UDP ${c.vxlanPort} VNI ${c.vni}`);
        }
        if (vni !== c.vni || dport !== c.vxlanPort) {
          if (T !== null) T.leaf(T_ERROR, `pktmon: Virtual Subnet ID does not match (${vni !== c.vni ? `VNI ${vni} != ${c.vni}` : `UDP port ${dport} != ${c.vxlanPort}`})`);
          return this.stop(st, b, i, r, V.DROPPED, R.VNI_MISMATCH, node.id);
        }
        const il2 = b.innerL2Off[i];
        if (il2 < 0 || b.innerL3Off[i] < 0) return this.stop(st, b, i, r, V.IGNORED, R.TRUNCATED, -1);
        if (b.innerIpVer[i] === 6) {
          if (T !== null) T.leaf(T_ERROR, 'IPv6 inside VXLAN: overlay networks are IPv4 only');
          return this.stop(st, b, i, r, V.DROPPED, R.IPV6_OVERLAY_UNSUPPORTED, node.id);
        }
        if (b.innerIpVer[i] !== 4) return this.stop(st, b, i, r, V.IGNORED, R.NOT_IP, -1);
        if (T !== null) {
          T.leaf(T_RULE, `VNET_DECAP_${c.vni} (decap)`);
          T.leaf(T_ACTION, `decap: pop ${il2} bytes of outer headers`);
          T.closeTo(0);
        }
        // pop the outer headers; offsets become relative to the inner frame
        popOuter(b, i, il2);
        this.pDecap = il2;
        const nb = base + il2;
        this.pBase = nb;
        this.pEnd = base + b.caplen[i] + il2;
        this.pL2 = nb;
        this.pL3 = base + b.innerL3Off[i];
        this.pL4 = b.innerL4Off[i] >= 0 ? base + b.innerL4Off[i] : -1;
        proto = b.innerProto[i];
        src = b.innerSrc4[i] | 0;
        dst = b.innerDst4[i] | 0;
        this.pProto = proto;
        this.pSrc = src;
        this.pDst = dst;
        this.pPorts = (flags & PF.INNER_PORTS) !== 0;
        this.pSport = this.pPorts ? b.innerSport[i] : 0;
        this.pDport = this.pPorts ? b.innerDport[i] : 0;
        this.pTcp = proto === 6 && this.pL4 >= 0 && this.pL4 + 14 <= this.pEnd ? b.arena[this.pL4 + 13] : 0;
        this.icmpPorts(b.arena);
        decapNode = node.id;
        scope = this.entryNodeOf(src, dst) === node.id ? SCOPE_ENTRY : scopeHop(node.id);
      }
    }
    if (decapNode < 0) {
      this.pProto = proto;
      this.pSrc = src;
      this.pDst = dst;
      this.pPorts = (flags & PF.HAS_PORTS) !== 0;
      if ((proto === 6 || proto === 17) && !this.pPorts && (flags & PF.FRAGMENT) === 0) {
        return this.stop(st, b, i, r, V.IGNORED, R.TRUNCATED, -1); // the L4 header was not captured
      }
      this.pSport = this.pPorts ? b.sport[i] : 0;
      this.pDport = this.pPorts ? b.dport[i] : 0;
      this.pTcp = proto === 6 ? b.tcpFlags[i] : 0;
      this.icmpPorts(b.arena);
    }
    this.run(st, b, i, r, scope, decapNode);
  }

  /** For ICMP: the query identifier as both ports (echo request and reply match), else 0/0. */
  private icmpPorts(a: Uint8Array): void {
    this.pIcmpType = -1;
    if (this.pProto !== 1) return;
    const l4 = this.pL4;
    if (l4 < 0 || l4 + 2 > this.pEnd) return;
    const t = a[l4];
    this.pIcmpType = t;
    if ((t === 0 || t === 8 || t === 13 || t === 14) && l4 + 8 <= this.pEnd) {
      const id = (a[l4 + 4] << 8) | a[l4 + 5];
      this.pSport = id;
      this.pDport = id;
      this.pPorts = true;
    } else {
      this.pPorts = false;
      this.pSport = 0;
      this.pDport = 0;
    }
  }

  /** The flow walk: lookup / slow path per node crossed, then the result. */
  private run(st: DataplaneState, b: Batch, i: number, r: Results, firstScope: number, decapNode: number): void {
    const ft = st.flows;
    const T = this.T;
    let scope = firstScope;
    let hopNode = decapNode;
    for (let hop = 0; hop < MAX_HOPS; hop++) {
      const proto = this.pProto;
      const k0 = key0(scope, proto);
      const k3 = key3(this.pSport, this.pDport);
      let f = ft.lookup(k0, this.pSrc, this.pDst, k3);
      let alias = false;
      if (f >= 0 && !this.flowUsable(ft, f)) f = -1;
      if (f < 0 && scope === SCOPE_ENTRY && this.c.view === 'pod') {
        f = ft.lookup(key0(SCOPE_ALIAS, proto), this.pSrc, this.pDst, k3);
        if (f >= 0 && !this.flowUsable(ft, f)) f = -1;
        alias = f >= 0;
      }
      if (f >= 0) {
        st.counters.fastPath++;
        const cn = f >> 1;
        if (this.pHitConn < 0) this.pHitConn = cn;
        const node = this.c.nodes[ft.node(f)];
        if (this.pIngress < 0) this.pIngress = ft.ingress(f);
        if (T !== null) {
          T.open(T_NODE, node.name);
          const ing = ft.ingress(f);
          T.open(T_PORT, ing === EP_EXTERNAL ? 'external (IN, from the wire)' : `${this.endpointName(ing)} (OUT, from the endpoint)`);
          T.leaf(
            T_DETAIL,
            `unified flow table hit: ${(f & 1) === 0 ? 'forward' : 'reverse'} flow of connection #${cn} (created by packet ${ft.firstPacket[cn]}, whose first packet walked the layers)${alias ? '; matched through the pod-view reply alias (the reply as the pod sees it)' : ''}`,
          );
          if (alias) this.traceAliasWire(ft, f);
          if ((f & 1) === 1 && ft.verdict(f) === V.DROPPED && ft.verdict(f ^ 1) === V.NO_RETURN) {
            T.leaf(T_DETAIL, `its request (packet ${ft.firstPacket[cn]}) left without a transposition, so the flow pair has nothing to translate this reply back with: the reverse flow drops it`);
          }
        }
      } else {
        // slow path: where does the packet enter?
        let node: CompiledNode;
        let port: Port;
        let from: number;
        if (scope === SCOPE_ENTRY) {
          if (!this.classify(this.pSrc, this.pDst, b, i)) {
            if (T !== null) T.leaf(T_DETAIL, `${u32ToIpv4(this.pSrc)} and ${u32ToIpv4(this.pDst)} are no address of an emulated Windows node, pod or VIP, and no known connection`);
            return this.stop(st, b, i, r, V.IGNORED, R.NO_EMULATED_NODE, -1);
          }
          node = this.c.nodes[this.eNode];
          port = this.ePort as Port;
          from = this.eFrom;
          if (this.pIngress < 0) this.pIngress = this.eIngress;
        } else {
          node = this.c.nodes[hopNode >= 0 ? hopNode : scope - 1];
          port = node.ext;
          from = FROM_WIRE;
          if (this.pIngress < 0) this.pIngress = EP_EXTERNAL;
        }
        st.counters.slowPath++;
        f = this.slow(st, b, i, r, scope, node, port, from);
        if (f < 0) return; // decided without a flow (result set)
      }
      // ---- apply the flow
      this.pFlow = f;
      this.tcpUpdate(st, ft, f);
      const xf = ft.xflags(f);
      if (this.pService < 0) {
        this.pService = ft.service(f);
        this.pBackend = ft.backend(f);
      }
      this.pWarn |= ft.warn(f);
      if ((xf & FX.DNS_CHECK) !== 0) this.dnsCheck(b, i, ft, f);
      const rule = ft.rule(f);
      if (rule >= 0) this.pRule = rule;
      const verdict = ft.verdict(f);
      if (verdict === V.DROPPED) return this.stop(st, b, i, r, V.DROPPED, ft.reason(f), ft.node(f));
      this.applyBytes(b, i, ft, f);
      if ((xf & FX.NEXT_NODE) !== 0) {
        const next = ft.next(f);
        if (T !== null) {
          T.leaf(T_ACTION, `continue at node ${this.c.nodes[next].name} (its external port)`);
          T.closeTo(0);
        }
        hopNode = next;
        scope = this.entryNodeOf(this.pSrc, this.pDst) === next ? SCOPE_ENTRY : scopeHop(next);
        continue;
      }
      if (T !== null) T.closeTo(0);
      this.finish(st, r, i, verdict, ft.reason(f), ft.node(f), ft.egress(f));
      if (this.pEncapTpl >= 0) {
        const t = this.templates[this.pEncapTpl];
        r.encap[i] = 1;
        r.outerSrc[i] = t.srcIp;
        r.outerDst[i] = t.dstIp;
        r.outerDport[i] = t.dstPort;
        r.vni[i] = t.vni;
      }
      return;
    }
    this.stop(st, b, i, r, V.DROPPED, R.NO_RULE, -1);
  }

  /** False (and the connection freed) when flow `f`'s connection has expired or a new SYN restarts it. */
  private flowUsable(ft: FlowTable, f: number): boolean {
    const cn = f >> 1;
    // this direction's time first: its record is the one the packet reads anyway
    if (this.pTs > ft.expiresAt(f) && ft.expired(cn, this.pTs)) {
      ft.freeConnection(cn);
      return false;
    }
    if (this.pProto === 6 && (f & 1) === 0 && (this.pTcp & (TCP_SYN_BIT | TCP_ACK_BIT)) === TCP_SYN_BIT && ft.tcp(f) >= TCP_FIN) {
      ft.freeConnection(cn); // "TCP Connections Reset by SYN": a new connection on a closed tuple
      return false;
    }
    return true;
  }

  /** TCP state (both directions) and this direction's expiry time, on trace time. */
  private tcpUpdate(st: DataplaneState, ft: FlowTable, f: number): void {
    const t = this.c.profile.timeouts;
    let timeout: number;
    if (this.pProto === 6) {
      const fl = this.pTcp;
      const old = ft.tcp(f);
      let s = old;
      if ((fl & TCP_RST_BIT) !== 0) s = TCP_CLOSED;
      else if ((fl & TCP_FIN_BIT) !== 0) {
        const cn = f >> 1;
        ft.cflags[cn] |= (f & 1) !== 0 ? CF.FIN_REV : CF.FIN_FWD;
        s = (ft.cflags[cn] & (CF.FIN_FWD | CF.FIN_REV)) === (CF.FIN_FWD | CF.FIN_REV) ? TCP_CLOSED : TCP_FIN;
      } else if (s === TCP_NONE) s = (fl & (TCP_SYN_BIT | TCP_ACK_BIT)) === TCP_SYN_BIT ? TCP_SYN : TCP_ESTABLISHED;
      else if (s === TCP_SYN && (f & 1) !== 0) s = TCP_ESTABLISHED;
      if (s !== old) ft.setTcp(f >> 1, s);
      timeout = s === TCP_SYN ? t.tcpHalfOpen : s === TCP_CLOSED ? t.tcpClosed : t.tcpEstablished;
    } else timeout = this.pProto === 17 ? t.udp : t.icmp;
    const at = this.pTs + timeout;
    // an earlier expiry than before (a shorter timeout after a FIN, or trace time going back): the NAT
    // pool holding the connection's port may have to look at its ports sooner (snat.ts `quietUntil`)
    if (!(at >= ft.expiresAt(f))) {
      const cn = f >> 1;
      const owner = ft.natOwner[cn];
      if (owner >= 0) st.snat.expiryLowered(this.c.nodes[ft.node(2 * cn)].nat, owner, ft.natProto[cn], at);
    }
    ft.setExpiresAt(f, at);
  }

  /** Applies flow `f`'s transposition to the packet bytes and to the tracked tuple. */
  private applyBytes(b: Batch, i: number, ft: FlowTable, f: number): void {
    const xf = ft.xflags(f);
    const a = b.arena;
    const macs = this.c.macs;
    const T = this.T;
    if ((xf & FX.SET_SMAC) !== 0 && this.pL2 >= 0) writeMac(a, this.pL2 + 6, macs, ft.smac(f));
    if ((xf & FX.SET_DMAC) !== 0 && this.pL2 >= 0) writeMac(a, this.pL2, macs, ft.dmac(f));
    if ((xf & FX.SNAT) !== 0) {
      const port = ft.snatPort(f);
      const ip = ft.snatIp(f);
      nat4At(a, this.pL3, this.pL4, this.pEnd, this.pProto, false, ip, this.pPorts ? port : -1);
      this.pSrc = ip;
      if (this.pPorts) {
        this.pSport = port;
        if (this.pProto === 1) this.pDport = port;
      }
    }
    if ((xf & FX.DNAT) !== 0) {
      const port = ft.dnatPort(f);
      const ip = ft.dnatIp(f);
      nat4At(a, this.pL3, this.pL4, this.pEnd, this.pProto, true, ip, this.pPorts ? port : -1);
      this.pDst = ip;
      if (this.pPorts) {
        this.pDport = port;
        if (this.pProto === 1) this.pSport = port;
      }
    }
    if ((xf & FX.ENCAP) !== 0 && (xf & FX.NEXT_NODE) === 0) {
      const tpl = ft.tpl(f);
      this.pEncapTpl = tpl;
      if (this.pL2 === this.pBase) vxlanPrepend(b, i, this.templates[tpl], ft.outerSport(f));
    }
    if (T !== null) T.leaf(T_ACTION, this.describeActions(ft, f));
  }

  // ===================================================================================================
  // classification

  /**
   * Where a packet with these addresses enters the emulated cluster: sets eNode, ePort, eFrom, eIngress.
   * The source decides first (a local pod: its port; a node address: the host vNIC), then the destination
   * (a local pod, a node address or an externalIP / LoadBalancer ingress VIP: the external port; for a VIP
   * the node whose MAC the frame is addressed to, else the first Windows node). False when neither leads
   * to an emulated node.
   */
  private classify(src: number, dst: number, b: Batch | null, i: number): boolean {
    const c = this.c;
    let e = c.addr.get(src);
    if (e >= 0) {
      const k = c.addrKind[e];
      if ((k & AK_POD) !== 0) {
        const pod = c.pods[c.addrPod[e]];
        this.eNode = pod.node;
        this.ePort = pod.port;
        this.eFrom = FROM_POD;
        this.eIngress = pod.endpoint;
        return true;
      }
      if ((k & (AK_NODE | AK_SOURCE_VIP | AK_PA)) !== 0) {
        const node = c.nodes[c.addrNode[e]];
        this.eNode = node.id;
        this.ePort = node.host;
        this.eFrom = FROM_HOST;
        this.eIngress = EP_HOST;
        return true;
      }
    }
    e = c.addr.get(dst);
    if (e >= 0) {
      const k = c.addrKind[e];
      let nodeId = -1;
      if ((k & (AK_POD | AK_NODE | AK_PA | AK_SOURCE_VIP)) !== 0) nodeId = c.addrNode[e];
      else if ((k & AK_EXTERNAL_VIP) !== 0 && c.nodes.length > 0) nodeId = b !== null ? this.nodeByDstMac(b, i) : 0;
      if (nodeId >= 0) {
        const node = c.nodes[nodeId];
        this.eNode = node.id;
        this.ePort = node.ext;
        this.eFrom = FROM_WIRE;
        this.eIngress = EP_EXTERNAL;
        return true;
      }
    }
    return false;
  }

  /** The emulated node a packet with these addresses enters first, -1 for none (no MAC: VIPs go to node 0). */
  private entryNodeOf(src: number, dst: number): number {
    return this.classify(src, dst, null, 0) ? this.eNode : -1;
  }

  /** The node whose MAC packet `i` is addressed to, else 0. */
  private nodeByDstMac(b: Batch, i: number): number {
    const l2 = b.l2Off[i];
    if (l2 < 0) return 0;
    const a = b.arena;
    const o = b.off[i] + l2;
    const macs = this.c.macs;
    for (const n of this.c.nodes) {
      const m = n.mac * 6;
      if (a[o] === macs[m] && a[o + 1] === macs[m + 1] && a[o + 2] === macs[m + 2] && a[o + 3] === macs[m + 3] && a[o + 4] === macs[m + 4] && a[o + 5] === macs[m + 5]) return n.id;
    }
    return 0;
  }

  // ===================================================================================================
  // slow path

  private inExceptions(node: CompiledNode, ip: number): boolean {
    const ex = node.exceptions;
    for (let k = 0; k < ex.length; k++) if (((ip & ex[k].mask) >>> 0) === ex[k].base) return true;
    return false;
  }

  private inCluster(ip: number): boolean {
    const cs = this.c.clusterCidrs;
    for (let k = 0; k < cs.length; k++) if (((ip & cs[k].mask) >>> 0) === cs[k].base) return true;
    return false;
  }

  /** The node's route (index in node.routes) for destination `dst`, -1 none; traces the VNET layer. */
  private routeLookup(node: CompiledNode, portName: string | null, dst: number): number {
    const T = portName !== null ? this.T : null;
    const routes = node.routes;
    let found = -1;
    for (let k = 0; k < routes.length; k++) {
      const p = routes[k].prefix;
      if (((dst & p.mask) >>> 0) === p.base) {
        found = k;
        break;
      }
    }
    if (T !== null) {
      const vnet = node.vnet;
      T.open(T_LAYER, `${vnet.name} (port ${portName}, OUT)`);
      const gname = vnet.groups[0]?.name ?? 'VNET';
      T.open(T_GROUP, gname);
      if (found >= 0) {
        const rt = routes[found];
        T.leaf(T_RULE, `${rt.rule.name} (priority ${rt.rule.priority}, ${rt.rule.type}, terminating): ${rt.rule.data}`);
      } else T.leaf(T_DETAIL, `no route for ${u32ToIpv4(dst)}`);
      T.close();
      T.close();
    }
    return found;
  }

  /** The VXLAN template of node `node` towards route `route` (built on first use). */
  private template(node: CompiledNode, route: number): number {
    const key = node.id * 65536 + route;
    let id = this.tplKey.get(key);
    if (id === undefined) {
      const rt = node.routes[route];
      const c = this.c;
      id = this.templates.length;
      this.templates.push(
        makeVxlanTemplate({
          srcMac: c.macNames[node.mac],
          dstMac: rt.hopMac >= 0 ? c.macNames[rt.hopMac] : 'ff:ff:ff:ff:ff:ff',
          srcIp: node.pa,
          dstIp: rt.nextHop,
          vni: c.vni,
          dstPort: c.vxlanPort,
        }),
      );
      this.tplKey.set(key, id);
    }
    return id;
  }

  /**
   * Walks `layer` in direction `dir`: per group of that direction, the best matching rule; the last group
   * that matched decides unless a rule is terminating. Returns the selected rule or null (layer default).
   */
  private walkLayer(layer: Layer, dir: number, from: number, port: Port): Rule | null {
    const T = this.T;
    const proto = this.pProto;
    const src = this.pSrc;
    const dst = this.pDst;
    const sport = this.pSport;
    const dport = this.pDport;
    const ports = this.pPorts && proto !== 1;
    let sel: Rule | null = null;
    let opened = false;
    for (const g of layer.groups) {
      if (g.dir !== dir) continue;
      if (T !== null && !opened) {
        T.open(T_LAYER, `${layer.name} (port ${port.name}, ${dir === DIR_IN ? 'IN' : 'OUT'})`);
        opened = true;
      }
      let best: Rule | null = null;
      if (g.byVip !== null && ports) {
        const list = g.byVip.get(vipKey(proto, dst, dport));
        if (list !== undefined) {
          for (const r of list) if ((best === null || r.priority < best.priority) && conditionsMatch(r.cond, proto, src, dst, sport, dport, ports, from)) best = r;
        }
      }
      for (const r of g.rules) {
        if (best !== null && r.priority >= best.priority) break;
        if (conditionsMatch(r.cond, proto, src, dst, sport, dport, ports, from)) {
          best = r;
          break;
        }
      }
      if (T !== null) {
        T.open(T_GROUP, g.name);
        if (best !== null) T.leaf(T_RULE, `${best.name} (priority ${best.priority}, ${best.type}${(best.flags & RULE_TERMINATING) !== 0 ? ', terminating' : ''})`);
        else if (g.rules.length <= 8 && (g.byVip === null || g.byVip.size === 0)) {
          T.leaf(T_DETAIL, `no rule matched: ${g.rules.map((x) => `${x.name} [${condSummary(x)}]`).join(', ') || 'the group is empty'}`);
        } else T.leaf(T_DETAIL, `no rule matched (${g.rules.length + (g.byVip?.size ?? 0)} rules)`);
        T.close();
      }
      if (best !== null) {
        sel = best;
        if ((best.flags & RULE_TERMINATING) !== 0) break;
      }
    }
    if (T !== null && opened) {
      if (sel === null) T.leaf(T_DETAIL, `default action: ${layer.defaultAction}`);
      T.close();
    }
    return sel;
  }

  /**
   * The first packet of a flow at `node`, entering at `port` from `from`: decides, creates the connection
   * (forward + reverse flows) and returns the forward flow, or -1 when the outcome is not cached (the result
   * is then already set).
   */
  private slow(st: DataplaneState, b: Batch, i: number, r: Results, scope: number, node: CompiledNode, port: Port, from: number): number {
    const c = this.c;
    const T = this.T;
    const ft = st.flows;
    const x = this.x;
    x.reset();
    this.lbApplied = false;
    this.steering = false;
    // the connection is taken first so that a NAT port can be bound to it; freed again if not cached
    const cn = ft.allocConnection();
    this.curConn = cn;
    const proto = this.pProto;
    const oSrc = this.pSrc;
    const oDst = this.pDst;
    const oSport = this.pSport;
    const oDport = this.pDport;
    const ports = this.pPorts;
    const pod: CompiledPod | null = port.kind === 'pod' ? c.pods[port.endpoint - EP_POD0] : null;
    const clientOwner = pod !== null ? pod.owner : 0;
    let verdict = -1;
    let reason = 0;
    let egress = -1;
    let warn = 0;
    let service = -1;
    let backend = -1;
    let rule = -1;
    let natOwner = -1;
    let natPort = 0;
    let untransposed = false;
    let next = -1;
    const dirIn = port.kind === 'external';
    if (T !== null) {
      T.open(T_NODE, node.name);
      T.open(T_PORT, `${port.name} (${dirIn ? 'IN, from the wire' : 'OUT, from the endpoint'})`);
      T.leaf(T_DETAIL, `${fmtTuple(proto, oSrc, oDst, oSport, oDport, ports, this.pIcmpType)}: unified flow table miss, walking the layers`);
    }
    const slot = natSlot(proto);

    // ---- 0. packets from the wire that look like replies to a NATed connection
    if (from === FROM_WIRE && ports) {
      const e = c.addr.get(oDst);
      const k = e >= 0 ? c.addrKind[e] : 0;
      if (slot >= 0 && (k & (AK_NODE | AK_SOURCE_VIP)) !== 0 && c.addrNode[e] === node.id) {
        const cc = st.snat.connectionOfPort(node.nat, slot, oDport);
        if (cc >= 0 && ft.isLive(cc) && !ft.expired(cc, this.pTs)) {
          const expected = ft.fkey[((2 * cc + 1) << 2) + 1];
          if (expected !== oSrc) {
            if (T !== null) T.leaf(T_ERROR, `NAT port ${oDport} of ${u32ToIpv4(oDst)} belongs to connection #${cc} with ${u32ToIpv4(expected)}; this comes from ${u32ToIpv4(oSrc)}`);
            return this.uncached(st, b, i, r, V.DROPPED, R.NAT_REPLY_MISMATCH, node.id);
          }
        }
      }
      // (pod view) to the pod IP on a port the pod NATed: a reply that came back through the NAT, unless the
      // source is inside the ExceptionList - such a peer reaches the pod IP directly, a new flow of its own
      if (slot >= 0 && c.view === 'pod' && (k & AK_POD) !== 0 && c.addrNode[e] === node.id && !this.inExceptions(node, oSrc)) {
        const p = c.pods[c.addrPod[e]];
        const conns = st.snat.connectionsOf(node.nat, p.owner, slot);
        if (conns !== null) {
          for (let q = 0; q < conns.length; q++) {
            const cc = conns[q];
            if (cc < 0 || !ft.isLive(cc) || ft.expired(cc, this.pTs)) continue;
            const o = (2 * cc) << 2;
            if (ft.fkey[o + 1] === (p.ip | 0) && ft.fkey[o + 3] >>> 16 === oDport && ft.fkey[o + 2] !== oSrc) {
              if (T !== null) T.leaf(T_ERROR, `${p.name} port ${oDport} is NATed for connection #${cc} with ${u32ToIpv4(ft.fkey[o + 2])}; this comes from ${u32ToIpv4(oSrc)}`);
              return this.uncached(st, b, i, r, V.DROPPED, R.NAT_REPLY_MISMATCH, node.id);
            }
          }
        }
      }
    }
    if (from === FROM_WIRE && proto === 1 && this.pIcmpType === 0 && c.outboundNat && !c.profile.icmpSnat) {
      const e = c.addr.get(oDst);
      if (e >= 0 && (c.addrKind[e] & AK_POD) !== 0 && c.addrNode[e] === node.id && !this.inExceptions(node, oSrc)) {
        if (T !== null) T.leaf(T_ERROR, `an ICMP echo reply from ${u32ToIpv4(oSrc)} (outside the ExceptionList) to a pod IP: its request left un-NATed`);
        return this.uncached(st, b, i, r, V.DROPPED, R.ICMP_NOT_TRANSPOSED, node.id);
      }
    }

    // ---- 1. the ingress port's layers (VNET routing is the switch's step below)
    const dir = dirIn ? DIR_IN : DIR_OUT;
    const layers = port.layers;
    const nl = layers.length;
    for (let q = 0; q < nl && verdict < 0; q++) {
      const layer = dir === DIR_OUT ? layers[q] : layers[nl - 1 - q];
      if (layer.name === 'VNET' || (port.kind === 'host' && (layer.name === 'LB' || layer.name === 'SLB_LB_LAYER'))) continue;
      const sel = this.walkLayer(layer, dir, from, port);
      if (sel === null) {
        if (layer.name === 'SLB_NAT_LAYER' && from === FROM_POD) {
          untransposed = true;
          if (T !== null) T.leaf(T_WARN, `${protoName(proto)} to ${u32ToIpv4(this.pDst)} (outside the ExceptionList) matches no SNAT rule: only TCP and UDP are transposed, so it keeps the pod IP`);
        }
        continue;
      }
      switch (sel.action.kind) {
        case 'block':
          verdict = V.DROPPED;
          reason = R.ACL_BLOCKED;
          rule = sel.id;
          break;
        case 'pass':
          break;
        case 'snat': {
          if (slot < 0 || !ports) break;
          const p = st.snat.allocate(node.nat, clientOwner, slot, cn, st);
          if (p < 0) {
            if (T !== null) T.leaf(T_ERROR, `no free port in the ${c.profile.snatBlockSize}-port blocks of ${pod?.name ?? 'the host'} (range ${node.nat.start}-${node.nat.start + node.nat.count - 1})`);
            return this.uncached(st, b, i, r, V.DROPPED, R.SNAT_PORTS_EXHAUSTED, node.id);
          }
          natOwner = clientOwner;
          natPort = p;
          this.bindNat(ft, cn, natOwner, slot, p);
          x.snat(sel.action.ip, p);
          this.pSrc = sel.action.ip | 0;
          this.pSport = p;
          if (proto === 1) this.pDport = p;
          rule = sel.id;
          if (T !== null) T.leaf(T_ACTION, `SNAT ${fmtEnd(oSrc, oSport, true)} -> ${fmtEnd(sel.action.ip, p, true)} (port from ${pod?.name ?? 'host'}'s block)`);
          break;
        }
        case 'lb': {
          const lb = node.lbs[sel.action.lb];
          const res = this.applyLb(st, node, lb, from, clientOwner, natOwner, natPort);
          if (res < 0) return this.uncached(st, b, i, r, V.DROPPED, R.SNAT_PORTS_EXHAUSTED, node.id);
          if (natOwner < 0 && res > 0) {
            natOwner = clientOwner;
            natPort = res;
          }
          service = lb.service;
          backend = this.lastBackend;
          warn |= lb.warn;
          rule = sel.id;
          break;
        }
        default:
          break;
      }
    }

    // ---- 2. the switch: load balancers on the host vNIC, local ports, routes, the wire
    if (verdict < 0 && !this.lbApplied && ports && proto !== 1) {
      const key = vipKey(proto, this.pDst, this.pDport);
      const li = node.lbByKey.get(key);
      if (li !== undefined) {
        const lb = node.lbs[li];
        if (from === FROM_HOST && !lb.hostAccess && (lb.kind === 'ClusterIP' || lb.kind === 'NodePort')) {
          verdict = V.DROPPED;
          reason = lb.kind === 'ClusterIP' ? R.NODE_TO_SERVICE_IP : R.NODEPORT_LOCAL_ACCESS;
          if (T !== null) T.leaf(T_ERROR, `${lb.kind} load balancer ${lb.vipText}:${lb.extPort} is not programmed for traffic from the host (no LocalRoutedVIP on this build)`);
        } else if (from !== FROM_HOST || lb.hostAccess) {
          const hostRule = lb.hostRule as Rule;
          if (T !== null) {
            T.open(T_PORT, `host (the host vNIC port's load balancers, reached ${from === FROM_POD ? 'through the ROUTE/NeedEncap steering of VIP traffic' : from === FROM_WIRE ? 'from the external port' : 'from the host'})`);
            const layerName = hostRule.name.startsWith('LB_HOST_') || lb.dsr ? 'LB' : 'SLB_LB_LAYER';
            T.open(T_LAYER, layerName);
            T.open(T_GROUP, layerName === 'LB' ? 'LB_OUT' : 'SLB_GROUP_LB_IPv4_OUT');
            T.leaf(T_RULE, `${hostRule.name} (priority ${hostRule.priority}, lb, terminating)`);
          }
          const res = this.applyLb(st, node, lb, from, clientOwner, natOwner, natPort);
          if (T !== null) T.closeTo(2);
          if (res < 0) return this.uncached(st, b, i, r, V.DROPPED, R.SNAT_PORTS_EXHAUSTED, node.id);
          if (natOwner < 0 && res > 0) {
            natOwner = clientOwner;
            natPort = res;
          }
          service = lb.service;
          backend = this.lastBackend;
          warn |= lb.warn;
          rule = hostRule.id;
        }
      } else {
        const no = node.noLb.get(key);
        if (no !== undefined) {
          verdict = V.DROPPED;
          reason = from === FROM_HOST && no.kind === 'ClusterIP' && !c.profile.nodeToClusterIp ? R.NODE_TO_SERVICE_IP : from === FROM_HOST && no.kind === 'NodePort' && !c.profile.localNodePortAccess ? R.NODEPORT_LOCAL_ACCESS : no.reason;
          if (T !== null) T.leaf(T_ERROR, `no load balancer for ${u32ToIpv4(this.pDst)}:${this.pDport}: ${no.detail}`);
        } else {
          const e = c.addr.get(this.pDst);
          const k = e >= 0 ? c.addrKind[e] : 0;
          if ((k & AK_CLUSTER_IP) !== 0 && from === FROM_HOST && !c.profile.nodeToClusterIp) {
            verdict = V.DROPPED;
            reason = R.NODE_TO_SERVICE_IP;
          } else if ((k & (AK_CLUSTER_IP | AK_EXTERNAL_VIP)) !== 0 && (k & (AK_POD | AK_NODE | AK_PA | AK_SOURCE_VIP)) === 0) {
            verdict = V.DROPPED;
            reason = R.NO_SERVICE_PORT;
            if (T !== null) T.leaf(T_ERROR, `${u32ToIpv4(this.pDst)} is a Service IP, but no load balancer has ${protoName(proto)} port ${this.pDport}`);
          }
        }
      }
    }
    if (verdict < 0 && !this.lbApplied && proto === 1 && ports) {
      // an ICMP query (ping) to a ClusterIP: load balancers carry TCP and UDP ports only, and a ClusterIP is
      // no host's address, so nothing answers; from the host, the page's node-to-service-ip limit comes first
      const e = c.addr.get(this.pDst);
      const k = e >= 0 ? c.addrKind[e] : 0;
      if ((k & AK_CLUSTER_IP) !== 0 && (k & (AK_POD | AK_NODE | AK_PA | AK_SOURCE_VIP)) === 0) {
        verdict = V.DROPPED;
        reason = from === FROM_HOST && !c.profile.nodeToClusterIp ? R.NODE_TO_SERVICE_IP : R.NO_SERVICE_PORT;
        if (T !== null) T.leaf(T_ERROR, `${u32ToIpv4(this.pDst)} is a ClusterIP: its load balancers carry TCP and UDP ports only, and no host has the address`);
      }
    }
    this.lbApplied = false;

    if (verdict < 0) {
      // the switch looks at the destination, or at the chosen backend when PreserveDIP kept the VIP
      const dst = this.steering ? this.steer : this.pDst;
      const e = c.addr.get(dst);
      const k = e >= 0 ? c.addrKind[e] : 0;
      const en = e >= 0 ? c.addrNode[e] : -1;
      const l2bridge = c.mode === 'l2bridge';
      if ((k & AK_POD) !== 0 && en === node.id) {
        // ---- a local pod: its port, IN
        const p = c.pods[c.addrPod[e]];
        if (from === FROM_WIRE && l2bridge && !node.macSpoofing) {
          verdict = V.DROPPED;
          reason = R.MAC_SPOOFING_DISABLED;
        } else {
          if (T !== null) T.open(T_PORT, `${p.name} (IN, towards the pod)`);
          for (let q = p.port.layers.length - 1; q >= 0 && verdict < 0; q--) {
            const layer = p.port.layers[q];
            if (layer === node.vnet) continue;
            const sel = this.walkLayer(layer, DIR_IN, from, p.port);
            if (sel !== null && sel.action.kind === 'block') {
              verdict = V.DROPPED;
              reason = R.ACL_BLOCKED;
              rule = sel.id;
            }
          }
          if (verdict < 0) {
            x.setDmac(p.mac);
            egress = p.endpoint;
            verdict = V.DELIVERED;
            if (T !== null) T.leaf(T_DETAIL, `switch: deliver to ${p.name} (destination MAC ${c.macNames[p.mac]})`);
          }
          if (T !== null) T.close();
        }
      } else if ((k & (AK_NODE | AK_PA | AK_SOURCE_VIP)) !== 0 && en === node.id) {
        egress = EP_HOST;
        verdict = V.DELIVERED;
        if (T !== null) T.leaf(T_DETAIL, `switch: deliver to the host vNIC (${u32ToIpv4(dst)} is ${(k & AK_SOURCE_VIP) !== 0 ? 'the SourceVIP' : 'the node address'})`);
      } else {
        // ---- leaving the node
        const local = node.podSubnet !== null && ((dst & node.podSubnet.mask) >>> 0) === node.podSubnet.base;
        const remotePod = this.inCluster(dst) && !local;
        if (local && (k & AK_SOURCE_VIP) === 0) {
          verdict = V.DROPPED;
          reason = R.NO_ROUTE;
          if (T !== null) T.leaf(T_ERROR, `${u32ToIpv4(dst)} is in ${node.name}'s pod subnet ${node.podSubnet!.text} but no endpoint holds it`);
        } else if (from === FROM_HOST && c.mode === 'overlay' && c.plugin === 'flannel' && !c.profile.flannelNodeToRemotePod && remotePod) {
          verdict = V.DROPPED;
          reason = R.FLANNEL_NODE_TO_REMOTE_POD;
          if (T !== null) T.leaf(T_ERROR, `flannel VXLAN: the node has no path to ${u32ToIpv4(dst)} on another node (only its own pods, HostRoute)`);
        } else {
          const ri = this.routeLookup(node, T !== null ? port.name : null, dst);
          if (ri >= 0) {
            const rt = node.routes[ri];
            if (rule < 0 || (c.rules[rule].type !== 'lb' && c.rules[rule].type !== 'nat')) rule = rt.rule.id;
            if (c.mode === 'overlay') {
              if (rt.drMac >= 0) x.setDmac(rt.drMac);
              x.encap(this.template(node, ri), vxlanSourcePort(flowHash4(proto, this.pSrc, dst, this.pSport, this.pDport)));
            } else {
              x.setSmac(node.mac);
              if (rt.hopMac >= 0) x.setDmac(rt.hopMac);
            }
            if (rt.emulated >= 0 && rt.emulated !== node.id) next = rt.emulated;
          } else if (remotePod) {
            verdict = V.DROPPED;
            reason = R.NO_ROUTE;
            if (T !== null) T.leaf(T_ERROR, `${u32ToIpv4(dst)} is in the cluster CIDR but in no known pod subnet with a route`);
          } else {
            x.setSmac(node.mac);
            if (en >= 0 && en !== node.id && (k & (AK_NODE | AK_PA | AK_SOURCE_VIP | AK_POD)) !== 0) next = en;
          }
          if (verdict < 0 && from === FROM_POD && l2bridge && !node.macSpoofing) {
            verdict = V.DROPPED;
            reason = R.MAC_SPOOFING_DISABLED;
          }
          if (verdict < 0) {
            egress = EP_WIRE;
            if (next >= 0) {
              x.nextNode(next);
              verdict = V.FORWARDED;
            } else if (untransposed) {
              verdict = c.profile.icmpUntransposedLeaves ? V.NO_RETURN : V.DROPPED;
              reason = proto === 1 || proto === 58 ? R.ICMP_NOT_TRANSPOSED : R.PROTOCOL_NOT_TRANSPOSED;
            } else verdict = V.FORWARDED;
            if (T !== null) {
              const how = c.mode === 'l2bridge' ? 'L2Bridge: the source MAC is rewritten to the host MAC' : ri >= 0 ? 'VXLAN-encapsulated' : 'not encapsulated, host MAC';
              T.leaf(T_DETAIL, `switch: out through the external port to the wire (${how})${next >= 0 ? `; ${u32ToIpv4(dst)} is on emulated node ${c.nodes[next].name}` : ''}`);
            }
          }
        }
      }
    }
    if (verdict < 0) {
      verdict = V.DROPPED;
      reason = R.NO_RULE;
    }
    if (T !== null && verdict === V.NO_RETURN) T.leaf(T_WARN, `${reasonCode(reason)}: the request leaves, but its reply cannot come back`);

    // ---- 3. the connection: forward + reverse flows
    const fwd = 2 * cn;
    const rev = fwd + 1;
    ft.firstPacket[cn] = b.firstNumber + i;
    ft.setService(cn, service, backend);
    x.store(ft, fwd, verdict, reason, node.id);
    ft.setWarn(fwd, warn);
    ft.setEndpoints(fwd, port.kind === 'external' ? EP_EXTERNAL : port.endpoint, egress < 0 ? 0xffff : egress);
    ft.setRule(fwd, rule);
    if (from === FROM_POD && (oDport === 53 || this.pDport === 53) && (proto === 17 || proto === 6)) ft.orXflags(fwd, FX.DNS_CHECK);
    if (rule >= 0) st.counters.ruleFlows[rule]++;
    ft.keyFlow(fwd, key0(scope, proto), oSrc, oDst, key3(oSport, oDport));

    // reverse: the reply as it comes back to this node, translated back, sent where the first packet came from
    const y = this.y;
    y.reset();
    const rSrc = this.pDst;
    const rDst = this.pSrc;
    const rSport = this.pDport;
    const rDport = this.pSport;
    if ((x.flags & FX.DNAT) !== 0) y.snat(oDst, oDport);
    if ((x.flags & FX.SNAT) !== 0) y.dnat(oSrc, oSport);
    let rVerdict: number = V.DELIVERED;
    let rEgress: number;
    if (port.kind === 'pod') {
      y.setDmac(pod!.mac);
      rEgress = pod!.endpoint;
    } else if (port.kind === 'host') {
      rEgress = EP_HOST;
    } else {
      rEgress = EP_WIRE;
      rVerdict = V.FORWARDED;
      const ri = this.routeLookup(node, null, oSrc);
      let rnext = -1;
      if (ri >= 0) {
        const rt = node.routes[ri];
        if (c.mode === 'overlay') {
          if (rt.drMac >= 0) y.setDmac(rt.drMac);
          y.encap(this.template(node, ri), vxlanSourcePort(flowHash4(proto, oDst, oSrc, oDport, oSport)));
        } else {
          y.setSmac(node.mac);
          if (rt.hopMac >= 0) y.setDmac(rt.hopMac);
        }
        if (rt.emulated >= 0 && rt.emulated !== node.id) rnext = rt.emulated;
      } else {
        y.setSmac(node.mac);
        const e = c.addr.get(oSrc);
        if (e >= 0 && (c.addrKind[e] & (AK_NODE | AK_PA | AK_SOURCE_VIP | AK_POD)) !== 0 && c.addrNode[e] !== node.id) rnext = c.addrNode[e];
      }
      if (rnext >= 0) y.nextNode(rnext);
    }
    let rReason = 0;
    if (verdict === V.NO_RETURN || verdict === V.DROPPED) {
      rVerdict = V.DROPPED;
      rReason = reason;
    }
    y.store(ft, rev, rVerdict, rReason, node.id);
    ft.setWarn(rev, warn & ~warningBit(R.LOCAL_POLICY_REQUIRES_DSR));
    ft.setEndpoints(rev, egress === EP_WIRE || egress < 0 ? EP_EXTERNAL : egress, rEgress);
    ft.setRule(rev, rule);
    // a reply from a local pod or the host starts here; one from the wire starts where its addresses lead
    const rScope = egress !== EP_WIRE || this.entryNodeOf(rSrc, rDst) === node.id ? SCOPE_ENTRY : scopeHop(node.id);
    ft.keyFlow(rev, key0(rScope, proto), rSrc, rDst, key3(rSport, rDport));
    if (c.view === 'pod' && (x.flags & (FX.SNAT | FX.DNAT)) !== 0) ft.aliasKey(cn);
    ft.setExpiresAt(rev, this.pTs); // the forward direction's is set by tcpUpdate for this packet
    const evicted = ft.evicted;
    ft.admit(cn, this.packetShare(ft, b, i), this.pTs); // may evict the share's least recently used connection
    if (T !== null && ft.evicted > evicted) T.leaf(T_DETAIL, `the flow table's share for this connection was full: ${ft.evicted - evicted} idle connection(s) evicted`);

    // the tracked tuple goes back to the packet's own values: applyBytes moves it forward
    this.pSrc = oSrc;
    this.pDst = oDst;
    this.pSport = oSport;
    this.pDport = oDport;
    if (T !== null) T.leaf(T_DETAIL, `cached: connection #${cn} (forward flow ${fwd}, reverse flow ${rev})`);
    return fwd;
  }

  /**
   * The flow table share (flow-table.ts FLOW_SHARES) of the connections packet `i` creates: its shard key's,
   * so that a share lies within one shard of the pipeline for every worker count. The key is computed once
   * per packet, at its first new connection, from the packet as captured (the decapsulation undone for the
   * call); a packet that met a cached connection at an earlier node (whose bytes may have been rewritten
   * since) takes that connection's share, which is the same key's by the sharding contract.
   */
  private packetShare(ft: FlowTable, b: Batch, i: number): number {
    if (this.pShare >= 0) return this.pShare;
    const hit = this.pHitConn >= 0 ? ft.shareOf[this.pHitConn] : NO_SHARE;
    if (hit !== NO_SHARE) this.pShare = hit;
    else {
      if (this.pDecap > 0) unpopOuter(b, i, this.pDecap);
      this.pShare = this.shardKey(b, i) % FLOW_SHARES;
      if (this.pDecap > 0) popOuter(b, i, this.pDecap);
    }
    return this.pShare;
  }

  private lastBackend = -1;
  private lbApplied = false;
  private curConn = -1;
  /** PreserveDIP: the backend address the switch delivers to while the packet keeps the VIP (when `steering`). */
  private steer = 0;
  private steering = false;

  /** Records NAT port `port` of `owner` (slot `slot`) as connection `cn`'s (freed with it). */
  private bindNat(ft: FlowTable, cn: number, owner: number, slot: number, port: number): void {
    ft.natOwner[cn] = owner;
    ft.natPort[cn] = port;
    ft.natProto[cn] = slot;
  }

  /**
   * Applies load balancer `lb` to the tracked packet: picks the backend (stateless, lb.ts), DNATs (unless
   * preserve-destination keeps the VIP), and for non-DSR LBs SNATs to the SourceVIP when the backend is on
   * another node or is the client itself (hairpin). Returns the NAT port allocated (0 when none was needed,
   * -1 when the client's blocks are exhausted).
   */
  private applyLb(st: DataplaneState, node: CompiledNode, lb: NodeLb, from: number, owner: number, natOwner: number, natPort: number): number {
    const T = this.T;
    const x = this.x;
    const proto = this.pProto;
    const bi = chooseBackend(lb, this.c.seed, proto, this.pSrc, this.pDst, this.pSport, this.pDport);
    const be = lb.backends[bi];
    this.lastBackend = be.id;
    this.lbApplied = true;
    if (T !== null) {
      T.leaf(
        T_DETAIL,
        `${this.c.services[lb.service]} ${lb.kind} ${lb.vipText}:${lb.extPort}: ${lb.backends.length} backend(s), ${lb.affinity ? 'DistributionType SourceIP (sessionAffinity ClientIP): hash of the client IP' : 'DistributionType None: hash of the 5-tuple'} (seed ${this.c.seed}) -> ${be.ipText}:${be.port}${this.isLocalPod(node, be.ip) ? ' (local)' : ''}`,
      );
      for (const w of warningCodes(lb.warn)) T.leaf(T_WARN, `${w}: ${reasonSentence(REASON_TABLE.findIndex((row) => row.code === w) + 1)}`);
    }
    if (lb.preserveDip) {
      if (be.port !== this.pDport) x.dnat(this.pDst, be.port);
      this.steer = be.ip | 0;
      this.steering = true;
      if (T !== null) T.leaf(T_ACTION, `PreserveDIP: keep destination ${u32ToIpv4(this.pDst)}${be.port !== this.pDport ? `, port -> ${be.port}` : ''} (no DNAT)`);
    } else {
      x.dnat(be.ip, be.port);
      if (T !== null) T.leaf(T_ACTION, `DNAT ${u32ToIpv4(this.pDst)}:${this.pDport} -> ${be.ipText}:${be.port}${lb.dsr ? ' (DSR: DNAT only, the source stays the client)' : ''}`);
      this.pDst = be.ip | 0;
    }
    this.pDport = be.port;
    if (lb.dsr) return 0;
    const hairpin = from === FROM_POD && this.pSrc === (be.ip | 0);
    if (this.isLocalPod(node, be.ip) && !hairpin) return 0;
    // non-DSR to a remote backend (or back to the client itself): SNAT to the SourceVIP so the reply returns here
    let port = natPort;
    if (natOwner < 0) {
      const slot = natSlot(proto);
      if (slot < 0) return 0;
      port = st.snat.allocate(node.nat, owner, slot, this.curConn, st);
      if (port < 0) return -1;
      this.bindNat(st.flows, this.curConn, owner, slot, port);
    }
    x.snat(lb.sourceVip, port);
    if (T !== null) T.leaf(T_ACTION, `SNAT ${u32ToIpv4(this.pSrc)}:${this.pSport} -> ${u32ToIpv4(lb.sourceVip)}:${port} (${hairpin ? 'SLB_HAIRPIN_LAYER: the client is the backend' : 'SourceVIP: the backend is on another node'})`);
    this.pSrc = lb.sourceVip | 0;
    this.pSport = port;
    return natOwner < 0 ? port : 0;
  }

  /** True when `ip` is a pod endpoint on `node` (a backend's locality). */
  private isLocalPod(node: CompiledNode, ip: number): boolean {
    const e = this.c.addr.get(ip);
    return e >= 0 && (this.c.addrKind[e] & AK_POD) !== 0 && this.c.addrNode[e] === node.id;
  }

  /** Ends a packet decided in the slow path without caching a flow. */
  private uncached(st: DataplaneState, b: Batch, i: number, r: Results, verdict: number, reason: number, node: number): number {
    this.lbApplied = false;
    st.flows.freeConnection(this.curConn); // and with it a NAT port taken for this packet
    const T = this.T;
    if (T !== null) T.leaf(T_DETAIL, 'not cached (decided per packet)');
    this.stop(st, b, i, r, verdict, reason, node);
    return -1;
  }

  // ===================================================================================================
  // IPv6 (stateless): l2bridge bridges/routes it with the MAC rewrite; overlay does not carry it

  private ipv6(st: DataplaneState, b: Batch, i: number, r: Results): void {
    const c = this.c;
    const a = b.arena;
    const T = this.T;
    const l3 = this.pL3;
    if (l3 + 40 > this.pEnd) return this.stop(st, b, i, r, V.IGNORED, R.TRUNCATED, -1);
    const sp = c.ip6.get(a, l3 + 8);
    const dp = c.ip6.get(a, l3 + 24);
    if (sp < 0 && dp < 0) {
      if (T !== null) T.leaf(T_DETAIL, `${formatIPv6(a.subarray(l3 + 8, l3 + 24))} > ${formatIPv6(a.subarray(l3 + 24, l3 + 40))}: no IPv6 address of an emulated pod`);
      return this.stop(st, b, i, r, V.IGNORED, R.NO_EMULATED_NODE, -1);
    }
    const p = c.pods[sp >= 0 ? sp : dp];
    const node = c.nodes[p.node];
    this.pIngress = sp >= 0 ? p.endpoint : EP_EXTERNAL;
    if (T !== null) {
      T.open(T_NODE, node.name);
      T.open(T_PORT, sp >= 0 ? `${p.name} (OUT)` : 'external (IN)');
    }
    if (c.mode === 'overlay' && !c.profile.overlayIpv6) {
      if (T !== null) T.leaf(T_ERROR, 'IPv6 on an overlay network: not supported (overlay networks are IPv4 only, no dual stack)');
      return this.stop(st, b, i, r, V.DROPPED, R.IPV6_OVERLAY_UNSUPPORTED, node.id);
    }
    const macs = c.macs;
    if (dp >= 0 && c.pods[dp].node === node.id) {
      if (sp < 0 && !node.macSpoofing) return this.stop(st, b, i, r, V.DROPPED, R.MAC_SPOOFING_DISABLED, node.id);
      if (this.pL2 >= 0) writeMac(a, this.pL2, macs, c.pods[dp].mac);
      this.finish(st, r, i, V.DELIVERED, 0, node.id, c.pods[dp].endpoint);
      return;
    }
    if (!node.macSpoofing) return this.stop(st, b, i, r, V.DROPPED, R.MAC_SPOOFING_DISABLED, node.id);
    if (this.pL2 >= 0) writeMac(a, this.pL2 + 6, macs, node.mac);
    if (dp >= 0) {
      // another emulated node's pod: it delivers
      const q = c.pods[dp];
      if (this.pL2 >= 0) writeMac(a, this.pL2, macs, q.mac);
      this.finish(st, r, i, V.DELIVERED, 0, q.node, q.endpoint);
      return;
    }
    this.finish(st, r, i, V.FORWARDED, 0, node.id, EP_WIRE);
  }

  // ===================================================================================================
  // DNS

  private dnsCheck(b: Batch, i: number, ft: FlowTable, f: number): void {
    if ((b.flags[i] & PF.DNS) === 0) return;
    const off = b.dnsOff[i];
    if (off < 12) return;
    const a = b.arena;
    const base = this.pOrigOff;
    if ((a[base + off - 10] & 0x80) !== 0) return; // QR: a response
    const ing = ft.ingress(f);
    if (ing < EP_POD0) return;
    const pod = this.c.pods[ing - EP_POD0];
    if (pqdnUnresolvable(a, base + off, b.off[i] + b.caplen[i], pod.nsHash, this.c.namespaces, this.domain)) {
      this.pWarn |= warningBit(R.DNS_PQDN_UNRESOLVABLE);
      if (this.T !== null) this.T.leaf(T_WARN, `dns-pqdn-unresolvable: ${reasonSentence(R.DNS_PQDN_UNRESOLVABLE)}`);
    }
  }

  // ===================================================================================================
  // explain helpers

  private traceAliasWire(ft: FlowTable, f: number): void {
    const T = this.T as Trace;
    const o = f << 2;
    const k3 = ft.fkey[o + 3];
    T.leaf(T_DETAIL, `as it reaches the node it would be ${protoName(ft.fkey[o] & 0xff)} ${u32ToIpv4(ft.fkey[o + 1])}:${k3 >>> 16} > ${u32ToIpv4(ft.fkey[o + 2])}:${k3 & 0xffff}`);
  }

  private describeActions(ft: FlowTable, f: number): string {
    const c = this.c;
    const xf = ft.xflags(f);
    const parts: string[] = [];
    if (ft.verdict(f) === V.DROPPED) return 'drop';
    if ((xf & FX.SET_SMAC) !== 0) parts.push(`set_smac(${c.macNames[ft.smac(f)]})`);
    if ((xf & FX.SET_DMAC) !== 0) parts.push(`set_dmac(${c.macNames[ft.dmac(f)]})`);
    if ((xf & FX.SNAT) !== 0) parts.push(`snat(${u32ToIpv4(ft.snatIp(f))}:${ft.snatPort(f)})`);
    if ((xf & FX.DNAT) !== 0) parts.push(`dnat(${u32ToIpv4(ft.dnatIp(f))}:${ft.dnatPort(f)})`);
    if ((xf & FX.ENCAP) !== 0 && ft.tpl(f) !== NONE16) {
      const t = this.templates[ft.tpl(f)];
      parts.push(`encap_vxlan(${u32ToIpv4(t.srcIp)} > ${u32ToIpv4(t.dstIp)}, udp ${ft.outerSport(f)} > ${t.dstPort}, vni ${t.vni})`);
    }
    if ((xf & FX.NEXT_NODE) !== 0) parts.push(`output(wire -> ${c.nodes[ft.next(f)].name})`);
    else parts.push(`output(${this.endpointName(ft.egress(f))})`);
    return parts.join(', ');
  }

  private describeInput(b: Batch, i: number): string {
    const ver = b.ipVer[i];
    if (ver === 4) {
      const ports = (b.flags[i] & PF.HAS_PORTS) !== 0;
      const icmp = (b.flags[i] & PF.HAS_ICMP) !== 0 && b.proto[i] === 1;
      let s = icmp ? fmtTuple(1, b.src4[i], b.dst4[i], 0, 0, false, b.icmpType[i]) : `${protoName(b.proto[i])} ${fmtEnd(b.src4[i], b.sport[i], ports)} > ${fmtEnd(b.dst4[i], b.dport[i], ports)}`;
      if ((b.flags[i] & PF.TUNNEL) !== 0 && b.innerIpVer[i] === 4) {
        const ip = (b.flags[i] & PF.INNER_PORTS) !== 0;
        s += ` vni ${b.vni[i]} | ${protoName(b.innerProto[i])} ${fmtEnd(b.innerSrc4[i], b.innerSport[i], ip)} > ${fmtEnd(b.innerDst4[i], b.innerDport[i], ip)}`;
      }
      return s;
    }
    if (ver === 6) return `IPv6 ${protoName(b.proto[i])}`;
    return etherTypeText(b.ethType[i]);
  }

  /** The closing lines of an explanation: Final packet, Unified flow, Actions (ofproto/trace style). */
  private explainTail(b: Batch, i: number, r: Results): string[] {
    const v = r.verdict[i];
    const out: string[] = [];
    const reason = r.reason[i];
    if (v === V.DROPPED || v === V.IGNORED) out.push('Final packet: unchanged');
    else {
      const a = b.arena;
      const base = b.off[i];
      let s = '';
      if (r.encap[i] === 1) {
        s += `eth ${this.mac(a, base + 6)} > ${this.mac(a, base)}, ${u32ToIpv4(r.outerSrc[i])} > ${u32ToIpv4(r.outerDst[i])} udp dport ${r.outerDport[i]} vxlan vni ${r.vni[i]} | `;
      }
      const inner = r.encap[i] === 1 ? base + VXLAN_OUTER_LEN : base;
      const l2 = b.l2Off[i] >= 0 || r.encap[i] === 1;
      if (l2) s += `eth ${this.mac(a, inner + 6)} > ${this.mac(a, inner)}, `;
      s += fmtTuple(this.pProto, this.pSrc, this.pDst, this.pSport, this.pDport, this.pPorts, this.pIcmpType);
      out.push(`Final packet: ${s}`);
    }
    const f = r.flow[i];
    const ft = this.state.flows;
    if (f >= 0) {
      const o = f << 2;
      const k0 = ft.fkey[o];
      const scope = k0 >>> 8;
      const k3 = ft.fkey[o + 3];
      const scopeText = scope === SCOPE_ENTRY ? 'entry' : scope === SCOPE_ALIAS ? 'alias' : `hop(${this.c.nodes[scope - 1].name})`;
      const cn = f >> 1;
      const portsText = (k0 & 0xff) === 1 ? `id=${k3 >>> 16}` : `sport=${k3 >>> 16},dport=${k3 & 0xffff}`;
      out.push(
        `Unified flow: node=${this.c.nodes[ft.node(f)].name},scope=${scopeText},proto=${k0 & 0xff},src=${u32ToIpv4(ft.fkey[o + 1])},dst=${u32ToIpv4(ft.fkey[o + 2])},${portsText} (${(f & 1) === 0 ? 'forward' : 'reverse'}; connection #${cn}, created by packet ${ft.firstPacket[cn]}${ft.natOwner[cn] >= 0 ? `, NAT port ${ft.natPort[cn]}` : ''})`,
      );
      out.push(`Actions: ${this.describeActions(ft, f)}`);
    } else {
      out.push('Unified flow: none (not cached)');
      out.push(`Actions: ${v === V.IGNORED ? 'none' : 'drop'}`);
    }
    const verdictLine = `Verdict: ${VERDICT_NAMES[v]}${reason ? ` (${reasonCode(reason)})` : ''}`;
    out.push(verdictLine);
    if (reason && (v === V.DROPPED || v === V.NO_RETURN)) {
      out.push(`${v === V.DROPPED ? `Dropped at node ${this.nodeName(r.node[i]) ?? '-'}` : 'No return'}: ${reasonSentence(reason)}`);
    }
    const w = warningCodes(r.warnings[i]);
    if (w.length > 0) out.push(`Warnings: ${w.join(', ')}`);
    if (r.service[i] >= 0) out.push(`Service: ${this.serviceName(r.service[i])} -> backend ${this.backendName(r.backend[i])}`);
    return out;
  }

  private mac(a: Uint8Array, o: number): string {
    let s = '';
    for (let k = 0; k < 6; k++) s += (k ? ':' : '') + a[o + k].toString(16).padStart(2, '0');
    return s;
  }
}

export { Results };
