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
 * The compiled rules decide: the steps below walk the ports, layers, groups and rules compile.ts builds and
 * `vfp-emu rules` prints, and execute the selected rules' actions (actions.ts, one function per kind).
 *
 * Per batch first, step-warm.ts: each packet's entry key index slot and flow record are loaded ahead, all
 * at once (the misses overlap; it changes nothing).
 * Per packet, one step per file (each with its Uses / Sets / Next), sharing one preallocated PacketCtx:
 *   1. step-input.ts: packets that cannot be judged (unsupported link type, not IP, cut before the headers
 *      needed, malformed); VXLAN addressed to an emulated node: the external port's VNET layer, whose decap
 *      rule checks the VNI and UDP port (vni-mismatch) and pops the outer headers.
 *   2. step-flow.ts: unified flow table lookup with the packet's 5-tuple (ICMP queries: the identifier as both ports) in
 *      scope ENTRY (the first emulated node its addresses lead to). Hit: the fast path applies the cached
 *      header transposition (MAC rewrite, NAT with incremental checksums, VXLAN push). Miss: in the pod
 *      view, the reply alias (below); then the slow path: find the node and port the packet enters,
 *      walk the port's layers (groups, rules), switch it (local pod, host, load balancer on the host vNIC,
 *      route to a remote subnet, the wire), compose the transposition, cache it together with the reverse
 *      flow (replies take the fast path), and apply it.
 *   4. A packet that leaves one emulated node towards another continues at that node's external port (key
 *      scope HOP(node)); the last node decides the verdict.
 *   The slow path (slow-path.ts): step-classify.ts, step-reply-checks.ts, step-layers.ts (with actions.ts),
 *   step-switch.ts, step-connection.ts; step-ipv6.ts for IPv6; step-result.ts writes every verdict.
 *
 * Views (DESIGN.md): 'pod' (default) - a trace as the endpoints sent and received it, e.g. a capture in a
 * pod or on Linux: a reply is addressed to the pod (src = the service VIP or the external host, dst = the
 * pod IP), not to the node's NAT port. Connections whose first packet was NATed therefore get an alias key:
 * the exact reverse of the original tuple, mapped to the reverse flow, so such a reply is matched to its
 * connection and judged as it would reach the node (the reverse transposition carries final values, so
 * applying it to the pod-side packet gives the packet the pod receives). 'wire' - a capture on the Windows
 * node (pktmon): replies arrive as they cross the node (to nodeIP:natPort, VXLAN-encapsulated); no aliases.
 *
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
 * node crossed, and one 64-byte flow record. Tracing (explainPacket) goes through ctx.tr (tracer.ts): an
 * empty method call unless a packet is being explained.
 */

import type { Batch } from '../core/batch';
import type { Cluster } from '../cluster/model';
import { compileCluster, type CompiledDataplane, type NodeChoice } from './compile';
import { domainHashes } from './dns';
import { Trace } from './explain';
import { PacketCtx } from './packet-ctx';
import type { WindowsProfile } from './profile';
import { VERDICT_NAMES, reasonCode, warningCodes } from './reasons';
import { Results } from './results';
import { formatRules, writeRules } from './rules-print';
import { shardKey } from './shard-key';
import { DataplaneState } from './state';
import { inputStep } from './step-input';
import { warmBatch } from './step-warm';
import { NO_TRACE } from './tracer';
import { TextTracer, describeInput, endpointName, explainTail } from './trace-text';
import { VxlanTemplates } from './vxlan-templates';
import { explainedText } from './walk';

export { HOSTS_KEY } from './shard-key';

/** One packet walked with a trace (Dataplane.explainWalk): its number, its input line, the Trace, its tuple at the end. */
export interface ExplainedPacket {
  number: number;
  input: string;
  trace: Trace;
  /** The tracked tuple after the walk (trace-text.ts packetText). */
  after: string;
}

export interface DataplaneOptions {
  profile: WindowsProfile;
  /** Load-balancer seed (`--seed`). */
  seed: number;
  /** How the trace was captured (see the module comment). */
  view: 'pod' | 'wire';
  /** Initial flow table capacity (connections); it grows on demand. */
  initialConnections?: number;
  /** The Windows nodes to compile (compile.ts CompileOptions.only); absent or null: every one. */
  only?: NodeChoice | null;
}

/** Compiles `cluster` for a Windows profile and returns the engine (with its own state). */
export function compileDataplane(cluster: Cluster, opts: DataplaneOptions): Dataplane {
  const dp = new Dataplane(compileCluster(cluster, { profile: opts.profile, seed: opts.seed, view: opts.view, only: opts.only }), opts.initialConnections);
  dp.only = opts.only ?? null;
  return dp;
}

export class Dataplane {
  readonly c: CompiledDataplane;
  /** The nodes it was compiled for (DataplaneOptions.only): the pipeline's workers compile the same ones. */
  only: NodeChoice | null = null;
  /** The state `process` uses (one shard). */
  state: DataplaneState;
  private readonly k: PacketCtx;

  constructor(c: CompiledDataplane, initialConnections = 1024) {
    this.c = c;
    this.state = new DataplaneState(c, initialConnections);
    this.k = new PacketCtx(c, new VxlanTemplates(c), domainHashes(c.domainLabels), this.state);
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
    return endpointName(this.c, id);
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
      const ip = this.c.backends[id];
      name = ip.includes(':') ? `[${ip}]:${this.c.backendPorts[id]}` : `${ip}:${this.c.backendPorts[id]}`; // IPv6: RFC 3986 brackets
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

  /** The same listing written to `write` in pieces of whole lines (rules-print.ts writeRules). */
  writeRules(nodeName: string | undefined, write: (text: string) => void): void {
    writeRules(this.c, nodeName, write);
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

  /**
   * The shard key of packet `i` (after decodeBatch): shard-key.ts `shardKey` (every packet of a connection
   * and every connection of a NAT port pool has the same key).
   */
  shardKey(b: Batch, i: number): number {
    return shardKey(this.c, b, i);
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
    warmBatch(st.flows, b, null, b.count, this.c.view === 'pod');
    for (let i = 0; i < b.count; i++) this.decide(st, b, i, r);
  }

  /**
   * As `process`, with state `st`, for the packets whose indexes are `idx[0..n)` only (in that order);
   * the caller resets `r`. For sharded runs (issue 4).
   */
  processWith(st: DataplaneState, b: Batch, r: Results, idx: Uint32Array, n: number): void {
    warmBatch(st.flows, b, idx, n, this.c.view === 'pod');
    for (let q = 0; q < n; q++) this.decide(st, b, idx[q], r);
  }

  /**
   * As `process` for packet `i` alone (the caller has processed the packets before it, so the state holds
   * their flows), recording a trace; returns the explanation text: the nodes, ports, layers, groups and
   * rules it met, then `Final packet:`, `Unified flow:` and `Actions:`. Row `i` of `r` is set.
   */
  explainPacket(b: Batch, i: number, r: Results): string {
    return explainedText(this.explainWalk(b, i, r));
  }

  /**
   * As `explainPacket`, the walk kept as the Trace itself (its lines hold the rules and the packet after
   * each step) for walk.ts, which gives it as data (`--format json`) or prints it; `explainPacket` is its text.
   */
  explainWalk(b: Batch, i: number, r: Results): ExplainedPacket {
    const T = new Trace();
    const k = this.k;
    k.tr = new TextTracer(T, k);
    if (r.count <= i) r.count = i + 1;
    const input = describeInput(b, i); // before the walk: an IPv6 packet is rewritten in place (its line reads the bytes)
    try {
      this.decide(this.state, b, i, r);
    } finally {
      k.tr = NO_TRACE;
    }
    T.tail.push(...explainTail(k, this.state.flows, r));
    const after = T.snapshot!();
    T.snapshot = null;
    return { number: b.firstNumber + i, input, trace: T, after };
  }

  private decide(st: DataplaneState, b: Batch, i: number, r: Results): void {
    const k = this.k;
    k.begin(st, b, i, r);
    inputStep(k);
  }
}

export { Results };
