/**
 * The VFP objects, as HNS programs them and `vfpctrl` lists them (domain.md §4.2, §4.7):
 *
 *   Port   one per local pod endpoint, the host vNIC and the external NIC of an emulated node;
 *   Layer  a match-action table of a port (ACL, LB_DSR, SLB_NAT_LAYER, LB, VNET, ...); layers run in array
 *          order for OUT (leaving the endpoint) and in reverse order for IN (towards it);
 *   Group  a set of rules of one direction inside a layer, processed in priority order; within a group the
 *          best (lowest priority number) matching rule is selected; the last group that matched decides,
 *          unless a rule is terminating, which stops at once;
 *   Rule   conditions (protocol, addresses, ports, where the packet came from) and one action.
 *
 * These are built once by compile.ts and only read afterwards (the slow path walks them; rules-print.ts
 * prints them). Small and plain: no behaviour beyond matching.
 */

/** Direction relative to a port's endpoint: IN = towards the pod/host (or from the wire, on the external port), OUT = from it. */
export const DIR_IN = 0;
export const DIR_OUT = 1;
export type Direction = typeof DIR_IN | typeof DIR_OUT;

/** Rule flag: apply at once, do not look at later groups (vfpctrl "Flags : 1 terminating"). */
export const RULE_TERMINATING = 1;

/** Where a packet entered the node, for rule conditions (LocalRoutedVIP limits host access to VIPs). */
export const FROM_POD = 1;
export const FROM_HOST = 2;
export const FROM_WIRE = 4;
export const FROM_ANY = FROM_POD | FROM_HOST | FROM_WIRE;

/** An IPv4 prefix, as numbers for matching and as text for printing. */
export interface Prefix {
  base: number;
  mask: number;
  text: string;
}

export interface Conditions {
  /** IP protocol numbers; null = any. */
  protocols: number[] | null;
  /** Source prefixes; null = any. */
  src: Prefix[] | null;
  /** Destination prefixes; null = any. */
  dst: Prefix[] | null;
  /** Inclusive source port ranges; null = any. */
  srcPorts: [number, number][] | null;
  /** Inclusive destination port ranges; null = any. */
  dstPorts: [number, number][] | null;
  /** FROM_* bits: which ingress kinds the rule applies to. */
  from: number;
}

/** What a rule does when selected (its part of the header transposition, or a verdict). */
export type Action =
  /** ACL allow, or a layer's default. */
  | { kind: 'allow' }
  /** ACL block: drop with acl-blocked. */
  | { kind: 'block' }
  /** OutboundNAT exception: the destination is inside the ExceptionList; no transposition. */
  | { kind: 'pass' }
  /** OutboundNAT: SNAT to `ip` with a port from the endpoint's 64-port blocks. */
  | { kind: 'snat'; ip: number }
  /** Load balance to a backend of node LB `lb` (compile.ts NodeLb index). */
  | { kind: 'lb'; lb: number }
  /** IPv6 load balancer `lb` (lb6.ts NodeLb6 index; only in IPv6 groups, which step-ipv6.ts walks). */
  | { kind: 'lb6'; lb: number }
  /** Overlay PA route: VXLAN-encapsulate towards remote subnet `route` (CompiledNode.routes index). */
  | { kind: 'paroute'; route: number }
  /** L2bridge route to a remote pod subnet `route` (next hop on the underlay). */
  | { kind: 'l2route'; route: number }
  /** Overlay decapsulation of VXLAN addressed to this node's PA: the action checks the VNI and UDP port (vni-mismatch). */
  | { kind: 'decap'; vni: number; port: number }
  /** SDNRoute / ROUTE with NeedEncap: steer to the host vNIC (service CIDR, management IP). */
  | { kind: 'to-host' };

export interface Rule {
  /** Global id (counter index; a position in CompiledDataplane.rules, which depends on the nodes compiled). */
  id: number;
  /**
   * The rule's number on its node, counted from 0 in the order the node's rules are built: the `Id` that
   * `vfp-emu rules` prints and the `#N` explain names. The same whichever other nodes are compiled
   * (compile.ts module comment, "Which nodes are compiled").
   */
  local: number;
  /** Friendly name, as HNS names it (SNAT_TCP_OUTBOUNDNAT_..., LB_DSR_..., PA_ROUTE_...). */
  name: string;
  /** Lower wins inside a group. */
  priority: number;
  /** RULE_TERMINATING or 0. */
  flags: number;
  /** vfpctrl rule type word (allow, block, nat, lb, encap, decap, paroute, route). */
  type: string;
  cond: Conditions;
  action: Action;
  /** Flow TTL in seconds shown by rules-print (0: the profile's protocol timeout). */
  ttl: number;
  /** Free text for "Rule Data" (backends, PA, VNI, ...). */
  data: string;
}

export interface Group {
  name: string;
  priority: number;
  dir: Direction;
  family: 'IPv4' | 'IPv6';
  rules: Rule[];
  /**
   * Exact-match index of rules that match one destination address, port and protocol (LB rules),
   * keyed by `vipKey`; those rules are not in the linear scan. Keeps the first packet of a flow O(1)
   * in the number of Services.
   */
  byVip: Map<number, Rule[]> | null;
}

/**
 * What a layer is for, set by compile.ts; the engine's steps key on this, never on a layer's name (names
 * are for people, as HNS and vfpctrl print them):
 *   acl      HNS ACL policies (ACL_ENDPOINT_LAYER): allow / block;
 *   lb-dsr   DSR load balancers on a pod port (LB_DSR): the client's own port load balances;
 *   slb-nat  OutboundNAT (SLB_NAT_LAYER): SNAT rules and their exceptions; a packet from a pod that no rule
 *            matches leaves untransposed (the ICMP limit of the page);
 *   lb       the host vNIC's load balancers (LB, SLB_LB_LAYER): every port's VIP traffic reaches them after its
 *            own port's layers (the switch step `step-switch.ts`), not in the host port's own walk;
 *   vnet     routing (VNET): PA routes, L2 routes, SDN routes to the host, and decapsulation on the external
 *            port; the switch step walks it with the final destination (after load balancing).
 */
export type LayerRole = 'acl' | 'lb-dsr' | 'slb-nat' | 'lb' | 'vnet';

export interface Layer {
  name: string;
  role: LayerRole;
  priority: number;
  groups: Group[];
  /**
   * What happens when no rule of the layer matches (actions.ts `layerDefault`): allow lets the packet go on
   * to the next layer, block drops it (acl-blocked in an ACL layer, no-rule elsewhere).
   */
  defaultAction: 'allow' | 'block';
}

export type PortKind = 'pod' | 'host' | 'external';

export interface Port {
  /** Global port id. */
  id: number;
  node: number;
  kind: PortKind;
  /** Friendly port name: `pod/NS/NAME`, `host` (vEthernet), `external` (the NIC). */
  name: string;
  /** Global endpoint id (see compile.ts EP_*). */
  endpoint: number;
  /** MAC of the endpoint (lower-case text). */
  mac: string;
  /** IPv4 of the endpoint, 0 for the external port. */
  ip: number;
  /** Layers, in OUT order. */
  layers: Layer[];
}

/**
 * vipKey's 5-bit protocol slot: TCP, UDP, SCTP and ICMP each their own; any other protocol shares a slot with
 * those equal to it mod 27 (a group's VIP index re-checks each rule's conditions, step-layers.ts, and load
 * balancers are TCP, UDP or SCTP only).
 */
const PROTO_SLOT = new Uint8Array(256).map((_, p) => 5 + (p % 27));
PROTO_SLOT[6] = 1;
PROTO_SLOT[17] = 2;
PROTO_SLOT[132] = 3;
PROTO_SLOT[1] = 4;

/**
 * Key of an exact (protocol, destination IPv4, destination port) match: address (32 bits), protocol slot (5)
 * and port (16) make 53 bits, exact as a JS number. (The former `(ip * 512 + proto) * 65536 + port` took 57
 * bits: from 16.0.0.0 up the port's low bits were rounded away, so NodePorts 30080 and 30081 on a node at
 * 192.168.1.1 had one key and one overwrote the other in a node's lbByKey and an HNS dump's LB list.)
 */
export function vipKey(proto: number, ip: number, port: number): number {
  return (ip >>> 0) * 2097152 + PROTO_SLOT[proto & 0xff] * 65536 + (port & 0xffff);
}

/** A condition set that matches everything from every ingress. */
export function anyConditions(): Conditions {
  return { protocols: null, src: null, dst: null, srcPorts: null, dstPorts: null, from: FROM_ANY };
}

/** True when address `a` lies in one of `ps`. */
export function inPrefixes(ps: Prefix[], a: number): boolean {
  for (let k = 0; k < ps.length; k++) if (((a & ps[k].mask) >>> 0) === ps[k].base) return true;
  return false;
}

function inPorts(rs: [number, number][], p: number): boolean {
  for (let k = 0; k < rs.length; k++) if (p >= rs[k][0] && p <= rs[k][1]) return true;
  return false;
}

/** True when `c` matches the packet header (`from` is a FROM_* bit). Ports are ignored for portless protocols. */
export function conditionsMatch(
  c: Conditions,
  proto: number,
  src: number,
  dst: number,
  sport: number,
  dport: number,
  hasPorts: boolean,
  from: number,
): boolean {
  if ((c.from & from) === 0) return false;
  if (c.protocols !== null && c.protocols.indexOf(proto) < 0) return false;
  if (c.src !== null && !inPrefixes(c.src, src)) return false;
  if (c.dst !== null && !inPrefixes(c.dst, dst)) return false;
  if (c.srcPorts !== null && (!hasPorts || !inPorts(c.srcPorts, sport))) return false;
  if (c.dstPorts !== null && (!hasPorts || !inPorts(c.dstPorts, dport))) return false;
  return true;
}
