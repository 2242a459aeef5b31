/**
 * PacketCtx: the state of the one packet the engine is deciding, passed to every step (the way Open vSwitch
 * passes `xlate_ctx` to each action). One is preallocated per Dataplane and reset per packet: no object per
 * packet. The engine is not re-entrant.
 *
 * Groups of fields, and the step that sets each:
 *   engine      c, templates, domain, x / y (composition scratch), tr (the tracer: NO_TRACE unless explain)
 *   batch       st, b, i, r: the state, batch, packet index and results row (engine.ts `decide`)
 *   packet      offsets (base, l2, l3, l4, end, origOff, decap), the tracked tuple (proto, src, dst, sport,
 *               dport, ports, tcp, icmpType) and trace time ts (step-input.ts; the fast path and the actions
 *               move the tuple forward as they rewrite it)
 *   outcome     ingress, service, backend, warn, flow, rule, encapTpl (what the verdict record reports)
 *   share       share, hitConn (the flow table share of new connections, step-connection.ts)
 *   entry       eNode, ePort, eFrom, eIngress (step-classify.ts)
 *   slow path   node, port, from, scope, pod, owner, slot, conn, the original tuple (oSrc ...), and the
 *               connection being composed: verdict, reason, cached, egress, fWarn, fService, fBackend, fRule,
 *               ruleSticky, natOwner, natPort, untransposed, next, steer, steering, lbApplied
 *   match       mProto ... mPorts: the tuple a layer walk matches rules against (step-layers.ts)
 */

import type { DnsNames } from './dns';
import type { Batch } from '../core/batch';
import { EP_POD0, type CompiledDataplane, type CompiledNode, type CompiledPod } from './compile';
import type { Port } from './objects';
import type { Results } from './results';
import type { DataplaneState } from './state';
import { NO_TRACE, type Tracer } from './tracer';
import { Transposition } from './transposition';
import type { VxlanTemplates } from './vxlan-templates';

export class PacketCtx {
  readonly c: CompiledDataplane;
  readonly templates: VxlanTemplates;
  readonly domain: Uint32Array;
  /** The cluster names the DNS check judges query names against (dns.ts). */
  readonly dnsNames: DnsNames;
  /** Composition scratch: the forward and the reverse flow's transposition. */
  readonly x = new Transposition();
  readonly y = new Transposition();
  tr: Tracer = NO_TRACE;

  st: DataplaneState;
  b: Batch | null = null;
  i = 0;
  r: Results | null = null;

  // ---- the packet
  base = 0;
  l2 = -1;
  l3 = -1;
  l4 = -1;
  end = 0;
  origOff = 0;
  /** Bytes of outer headers popped by decapsulation (0: none). */
  decap = 0;
  ts = NaN;
  proto = 0;
  src = 0;
  dst = 0;
  sport = 0;
  dport = 0;
  ports = false;
  tcp = 0;
  icmpType = -1;

  // ---- the outcome (Results row)
  ingress = -1;
  service = -1;
  backend = -1;
  warn = 0;
  flow = -1;
  rule = -1;
  encapTpl = -1;
  share = -1;
  hitConn = -1;

  // ---- where the packet enters (step-classify.ts)
  eNode = -1;
  ePort: Port | null = null;
  eFrom = 0;
  eIngress = -1;

  // ---- the slow path: the node and port it walks, and the connection being composed
  node: CompiledNode | null = null;
  port: Port | null = null;
  from = 0;
  scope = 0;
  pod: CompiledPod | null = null;
  owner = 0;
  slot = -1;
  conn = -1;
  oSrc = 0;
  oDst = 0;
  oSport = 0;
  oDport = 0;
  /** -1 until a step decides. */
  verdict = -1;
  reason = 0;
  /** False: the outcome is decided per packet (no connection is cached). */
  cached = true;
  egress = -1;
  fWarn = 0;
  fService = -1;
  fBackend = -1;
  fRule = -1;
  /** The deciding rule transposes (SNAT, LB): a route does not take its place as the deciding rule. */
  ruleSticky = false;
  natOwner = -1;
  natPort = 0;
  untransposed = false;
  next = -1;
  /** PreserveDIP: the backend the switch delivers to while the packet keeps the VIP (when `steering`). */
  steer = 0;
  steering = false;
  lbApplied = false;

  // ---- the tuple a layer walk matches against
  mProto = 0;
  mSrc = 0;
  mDst = 0;
  mSport = 0;
  mDport = 0;
  mPorts = false;

  constructor(c: CompiledDataplane, templates: VxlanTemplates, domain: Uint32Array, st: DataplaneState) {
    this.c = c;
    this.templates = templates;
    this.domain = domain;
    this.dnsNames = { namespaces: c.namespaces, services: c.serviceNames, domain };
    this.st = st;
  }

  /** Starts packet `i` of `b` with state `st`. */
  begin(st: DataplaneState, b: Batch, i: number, r: Results): void {
    this.st = st;
    this.b = b;
    this.i = i;
    this.r = r;
    this.ingress = -1;
    this.service = -1;
    this.backend = -1;
    this.warn = 0;
    this.flow = -1;
    this.rule = -1;
    this.decap = 0;
    this.encapTpl = -1;
    this.share = -1;
    this.hitConn = -1;
    this.ts = b.ts[i];
    st.now = this.ts;
  }

  /** Starts the slow path of the packet at `node`, `port`, from `from` (FROM_*), key scope `scope`. */
  beginSlow(node: CompiledNode, port: Port, from: number, scope: number, conn: number): void {
    this.node = node;
    this.port = port;
    this.from = from;
    this.scope = scope;
    this.conn = conn;
    this.pod = port.kind === 'pod' ? this.c.pods[port.endpoint - EP_POD0] : null;
    this.owner = this.pod !== null ? this.pod.owner : 0;
    this.oSrc = this.src;
    this.oDst = this.dst;
    this.oSport = this.sport;
    this.oDport = this.dport;
    this.verdict = -1;
    this.reason = 0;
    this.cached = true;
    this.egress = -1;
    this.fWarn = 0;
    this.fService = -1;
    this.fBackend = -1;
    this.fRule = -1;
    this.ruleSticky = false;
    this.natOwner = -1;
    this.natPort = 0;
    this.untransposed = false;
    this.next = -1;
    this.steer = 0;
    this.steering = false;
    this.lbApplied = false;
    this.x.reset();
    this.y.reset();
  }

  /** Decides the packet: `verdict` with `reason`; `cached` false when no connection keeps the outcome. */
  decide(verdict: number, reason: number, cached = true): void {
    this.verdict = verdict;
    this.reason = reason;
    this.cached = cached;
  }

  /** Layer walks match the packet as it is now. */
  matchPacket(): void {
    this.mProto = this.proto;
    this.mSrc = this.src;
    this.mDst = this.dst;
    this.mSport = this.sport;
    this.mDport = this.dport;
    this.mPorts = this.ports;
  }

  /** Layer walks match the given tuple. */
  matchTuple(proto: number, src: number, dst: number, sport: number, dport: number, ports: boolean): void {
    this.mProto = proto;
    this.mSrc = src;
    this.mDst = dst;
    this.mSport = sport;
    this.mDport = dport;
    this.mPorts = ports;
  }
}
