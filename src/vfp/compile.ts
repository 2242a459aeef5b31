/**
 * The VFP compiler: Cluster + Windows profile -> per emulated Windows node, the VFP ports, layers, groups and
 * rules HNS programs (named as domain.md §4.7 names them), the HNS load balancers kube-proxy creates, the
 * routes to remote pod subnets, the OutboundNAT port ranges, and the lookup tables the engine's hot path
 * reads (addresses, MACs). Runs once; everything it returns is read-only afterwards.
 *
 * Per node (a Windows node of the cluster):
 *   pod port (one per local, non-hostNetwork pod), OUT order:
 *     ACL_ENDPOINT_LAYER   ACL_ENDPOINT_GROUP_IPv4_OUT / _IN   HNS ACL policies (Switch rules)            [if any]
 *     LB_DSR               LB_DSR_IPv4_OUT                     LB_DSR_<id>_<mgmtIP>_<VIP>_<ext>_<int>_<proto> [DSR LBs]
 *     SLB_NAT_LAYER        SLB_GROUP_NAT_IPv4_OUT              OUTBOUNDNAT_EXCEPTION_*, SNAT_TCP_OUTBOUNDNAT_*,
 *                                                              SNAT_UDP_OUTBOUNDNAT_* (TCP and UDP only: this is
 *                                                              why ICMP is not transposed)            [OutBoundNAT]
 *     VNET                 VNET_GROUP_PA_ROUTE_IPV4_OUT        PA_ROUTE_<prefix> (overlay, encap, terminating)
 *                          VNET_GROUP_L2_ROUTE_IPV4_OUT        L2_ROUTE_<prefix> (l2bridge routes)
 *                          VNET_GROUP_SDN_ROUTE_IPV4_OUT       SDN_ROUTE_<prefix> (ROUTE/SDNRoute NeedEncap -> host)
 *   host vNIC port:
 *     LB                   LB_OUT                              LB_HOST_* (non-DSR LB with a remote backend),
 *                                                              LB_* (DSR: externalTrafficPolicy Local)
 *     SLB_LB_LAYER         SLB_GROUP_LB_IPv4_OUT               NAT_* (one local backend) / LB_* (several)
 *     VNET                 (as the pod ports')
 *   external port:
 *     VNET                 VNET_GROUP_DECAP_IPV4_IN            VNET_DECAP_<vni> (overlay)
 *
 * Names the emulator had to invent (no Microsoft source shows them) are the ACL, L2_ROUTE, SDN_ROUTE, DECAP
 * and OUTBOUNDNAT_EXCEPTION ones; the `<id>` segment HNS fills with an opaque id is a stable hash here.
 *
 * Which nodes are compiled (issue 12: 100 nodes x 5k Services are 500k load balancers, and `rules --node`
 * prints one node): CompileOptions.only names the nodes whose ports, layers, groups, load balancers, routes
 * and rules are built (`rules --node`; replay and explain: the nodes the trace's addresses lead to,
 * trace-nodes.ts), plus every node an HNS dump was taken on. Every other node is still read for what the
 * compiled ones and the summary need of it: its addresses, pods (endpoint ids and pod indexes stay those of
 * the whole cluster), pod subnet, NAT range, and its load balancers' refusals (buildNodeLbs runs for it
 * without building any: the lb-too-many-destinations / no-endpoints diagnostics and the backend ids stay the
 * whole cluster's). A `nodes-compiled` diagnostic says how many were compiled, which were not, and why.
 * Rule ids: `Rule.id` is the position in `rules` (the counters' index), which depends on the nodes
 * compiled; what `rules` prints as `Id` and explain as `#N` is `Rule.local`, the rule's number on its node in
 * the order the node's rules are built, so a node's listing and explanations are the same whichever other
 * nodes are compiled (a per-node base would need the other nodes' rule counts, i.e. compiling them).
 */

import { serviceKey } from './dns';
import type { Cluster, NodeModel, PodModel, ServiceModel, EndpointModel, AclModel, Diagnostic } from '../cluster/model';
import { tryParseIPv4, tryParseCidr, parseIPv6, u32ToIpv4 } from '../core/ip';
import { macBytes } from '../cluster/mac';
import { localTrafficDsr } from '../cluster/diagnostics';
import { IpPortSet, Ip6Map, U32Map } from './addr-map';
import type { WindowsProfile } from './profile';
import { R, warningBit, reasonSentence } from './reasons';
import type { LbBackend, LbKind, NodeLb, NoLb } from './lb';
import { lbSalt } from './lb';
import { applyHnsTruth } from './hns-truth';
import { buildNodeLbs6, clusterIpOfFamily, planServices6, type Node6 } from './lb6';
import type { NatRange } from './snat';
import {
  DIR_IN,
  DIR_OUT,
  FROM_HOST,
  FROM_POD,
  FROM_WIRE,
  RULE_TERMINATING,
  anyConditions,
  vipKey,
  type Action,
  type Conditions,
  type Direction,
  type Group,
  type Layer,
  type Port,
  type Prefix,
  type Rule,
} from './objects';

/** Endpoint ids (Results.ingress / egress; Dataplane.endpointName). Pods start at EP_POD0. */
export const EP_EXTERNAL = 0;
export const EP_WIRE = 1;
export const EP_HOST = 2;
export const EP_POD0 = 3;

/** Address kinds (bits of `addrKind`). */
export const AK_POD = 1;
export const AK_NODE = 2;
export const AK_PA = 4;
export const AK_SOURCE_VIP = 8;
export const AK_CLUSTER_IP = 16;
export const AK_EXTERNAL_VIP = 32;

export interface CompileOptions {
  profile: WindowsProfile;
  seed: number;
  view: 'pod' | 'wire';
  /**
   * The Windows nodes whose ports, layers, groups and rules are built (names), and why those (the
   * `nodes-compiled` diagnostic says it); absent or null: every one (module comment, "Which nodes are compiled").
   */
  only?: NodeChoice | null;
}

/** Which Windows nodes to compile and why (`--node NAME`, the nodes a trace's addresses lead to). */
export interface NodeChoice {
  names: ReadonlySet<string>;
  why: string;
  /** The diagnostic's source (`--node`, the trace file). */
  source: string;
}

export interface CompiledPod {
  /** Index in `pods`. */
  index: number;
  endpoint: number;
  model: PodModel;
  /** `pod/NS/NAME`. */
  name: string;
  ip: number;
  mac: number;
  node: number;
  port: Port;
  /** NAT owner index on its node (snat.ts; 0 is the host). */
  owner: number;
  /** FNV-1a of the namespace name (DNS suffix check). */
  nsHash: number;
}

/** A route to another node's pod subnet (or a user route). */
export interface RemoteSubnet {
  prefix: Prefix;
  /** Node that owns the subnet ('' for a user route without a known node). */
  nodeName: string;
  /** Emulated node id that owns it, or -1 (a Linux node, or not emulated). */
  emulated: number;
  /** Underlay address of the next hop: the remote PA (overlay) or node IP / route next hop (l2bridge). */
  nextHop: number;
  /** MAC table index of the remote DR MAC (overlay inner destination MAC), -1 when none. */
  drMac: number;
  /** MAC table index of the next hop's NIC (underlay destination MAC), -1 when unknown. */
  hopMac: number;
  rule: Rule;
}

export interface CompiledNode {
  id: number;
  name: string;
  model: NodeModel;
  ip: number;
  pa: number;
  mac: number;
  drMac: number;
  /** SNAT address of non-DSR LB flows (see lb.ts); the node IP when none. */
  sourceVip: number;
  host: Port;
  ext: Port;
  pods: CompiledPod[];
  podSubnet: Prefix | null;
  /** OutboundNAT exceptions (network + node). */
  exceptions: Prefix[];
  lbs: NodeLb[];
  /** vipKey -> index in `lbs`. */
  lbByKey: Map<number, number>;
  /** vipKey -> why the VIP has no LB on this node. */
  noLb: Map<number, NoLb>;
  /** Remote pod subnets, longest prefix first. */
  routes: RemoteSubnet[];
  /** The VNET layer all ports of the node share. */
  vnet: Layer;
  nat: NatRange;
  macSpoofing: boolean;
  /** IPv6 load balancers (lb6.ts; dual-stack l2bridge). */
  v6: Node6;
  /**
   * False for a node left out (CompileOptions.only): its addresses, pods, NAT range and pod subnet are known,
   * it has no ports, load balancers, routes or rules (host, ext and its pods' ports are null).
   */
  compiled: boolean;
}

export interface CompiledDataplane {
  mode: 'l2bridge' | 'overlay';
  plugin: Cluster['network']['plugin'];
  vni: number;
  vxlanPort: number;
  outboundNat: boolean;
  profile: WindowsProfile;
  seed: number;
  view: 'pod' | 'wire';
  nodes: CompiledNode[];
  nodeByName: Map<string, number>;
  pods: CompiledPod[];
  ports: Port[];
  rules: Rule[];
  /** `ns/name` by service id. */
  services: string[];
  /** Address text and port by backend id (Dataplane.backendName joins them). */
  backends: string[];
  backendPorts: number[];
  /** Every load-balancer backend, address and port (Dataplane.shardKey). */
  backendKeys: IpPortSet;
  /** 6 bytes per MAC; names in `macNames`. */
  macs: Uint8Array;
  macNames: string[];
  /** IPv4 -> address entry. */
  addr: U32Map;
  addrKind: Uint8Array;
  addrNode: Int32Array;
  addrPod: Int32Array;
  /** IPv6 pod addresses -> pod index. */
  ip6: Ip6Map;
  clusterCidrs: Prefix[];
  serviceCidr: Prefix | null;
  /** FNV-1a hashes of the namespace names the cluster knows (DNS check). */
  namespaces: Set<number>;
  /**
   * Every node's InternalIP (Windows and Linux): hosts that route the pod CIDRs (they hold the flannel
   * host-gw / SDN routes), so a pod-IP packet to them has a way back (step-switch.ts `podIpUnroutable`).
   */
  nodeIps: Set<number>;
  /** Services of the cluster as dns.ts `serviceKey(namespace, name)` (DNS check: `<pod>.<headless svc>`). */
  serviceNames: Set<number>;
  /** Cluster domain labels (`cluster.local` -> ['cluster', 'local']). */
  domainLabels: string[];
  diagnostics: Diagnostic[];
}

// ---------------------------------------------------------------------------------------------------
// small helpers

/** FNV-1a of a string (namespace names; label bytes hash the same way in dns.ts). */
export function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let k = 0; k < s.length; k++) h = Math.imul(h ^ (s.charCodeAt(k) & 0xff), 0x01000193);
  return h >>> 0;
}

function hex8(s: string): string {
  return fnv1a(s).toString(16).padStart(8, '0');
}

/** IPv4 prefix of CIDR text (or of an address: /32), null for IPv6 or junk. */
export function prefixOf(text: string): Prefix | null {
  const c = tryParseCidr(text.includes('/') ? text : `${text}/32`);
  if (!c || c.family !== 4) return null;
  return { base: c.base, mask: c.mask, text: `${u32ToIpv4(c.base)}/${c.len}` };
}

function prefixLen(p: Prefix): number {
  let n = 0;
  for (let m = p.mask; m !== 0; m = (m << 1) | 0) n++;
  return n;
}

/** The set of backend endpoints (address text, port) by backend id. */
function backendSet(backends: string[], ports: number[]): IpPortSet {
  const set = new IpPortSet(backends.length);
  backends.forEach((ip, k) => {
    if (ip4(ip) >= 0) set.add(ip4(ip), ports[k]); // IPv6 backends: lb6.ts (not sharded by backend)
  });
  return set;
}

export function ip4(text: string | null | undefined): number {
  if (!text) return -1;
  return tryParseIPv4(text);
}

export function cond(partial: Partial<Conditions>): Conditions {
  return { ...anyConditions(), ...partial };
}

const PROTO_NUM: Record<string, number> = { TCP: 6, UDP: 17, SCTP: 132 };

// ---------------------------------------------------------------------------------------------------
// compile

export class Builder {
  readonly macNames: string[] = [];
  private macIdx = new Map<string, number>();
  readonly rules: Rule[] = [];
  readonly ports: Port[] = [];
  readonly backends: string[] = [];
  readonly backendPorts: number[] = [];
  private backendIdx = new Map<number, number>();
  readonly diagnostics: Diagnostic[] = [];
  /** Names of services that only an HNS dump's load balancers stand for (ids after the cluster's; hns-truth.ts). */
  readonly dumpServices: string[] = [];

  mac(text: string): number {
    const t = text.toLowerCase().replace(/-/g, ':');
    let k = this.macIdx.get(t);
    if (k === undefined) {
      k = this.macNames.length;
      this.macNames.push(t);
      this.macIdx.set(t, k);
    }
    return k;
  }

  /** The id of backend `ip:port` (`ip` its text, `v` its number); the `ip:port` name is built on demand. */
  backend(ip: string, v: number, port: number): number {
    const key = v * 65536 + port;
    let k = this.backendIdx.get(key);
    if (k === undefined) {
      k = this.backends.length;
      this.backends.push(ip);
      this.backendPorts.push(port);
      this.backendIdx.set(key, k);
    }
    return k;
  }

  /** The id of IPv6 backend `ip:port` (lb6.ts). */
  backend6(ip: string, port: number): number {
    const key = `[${ip}]:${port}`;
    let k = this.backend6Idx.get(key);
    if (k === undefined) {
      k = this.backends.length;
      this.backends.push(ip);
      this.backendPorts.push(port);
      this.backend6Idx.set(key, k);
    }
    return k;
  }

  private backend6Idx = new Map<string, number>();

  /** By `from` (FROM_* bits, 0..7): vipKey -> the conditions (lbConditions). */
  private lbConds: Map<number, Conditions>[] = [];

  /**
   * The conditions of a load balancer's rule (protocol `proto` to `vipText:port`, from `from`): one object
   * for every node's rule of that frontend (they are never changed once built). Each node holds an LB per
   * Service port, so 100 nodes x 5k Services built 500k equal copies (issue 12, bench/cluster-scale.ts).
   * Keyed by number (objects.ts vipKey is exact), not by a text built per call; a VIP written another way
   * (the text differs) gets its own object, unshared.
   */
  lbConditions(proto: number, vip: number, vipText: string, port: number, from: number): Conditions {
    const key = vipKey(proto, vip, port);
    const byFrom = (this.lbConds[from] ??= new Map());
    const c = byFrom.get(key);
    if (c !== undefined) {
      const t = c.dst![0].text;
      if (c.protocols![0] === proto && t.length === vipText.length + 3 && t.startsWith(vipText)) return c;
    }
    const made = cond({ protocols: [proto], dst: [{ base: vip, mask: 0xffffffff, text: `${vipText}/32` }], dstPorts: [[port, port]], from });
    if (c === undefined) byFrom.set(key, made);
    return made;
  }

  /** The node whose rules are being built (its rules' `local` numbers count on): set per node and phase. */
  node = -1;
  /** Rules built so far per node (the next `local` number). */
  private readonly perNode: number[] = [];

  rule(name: string, priority: number, flags: number, type: string, c: Conditions, action: Action, data = '', ttl = 0): Rule {
    const local = this.perNode[this.node] ?? 0;
    this.perNode[this.node] = local + 1;
    const r: Rule = { id: this.rules.length, local, name, priority, flags, type, cond: c, action, ttl, data };
    this.rules.push(r);
    return r;
  }

  /** Takes the rules from id `start` on (the current node's last ones) out of the global list. */
  dropRulesFrom(start: number): void {
    if (start >= this.rules.length) return;
    this.perNode[this.node] -= this.rules.length - start;
    this.rules.length = start;
  }

  port(node: number, kind: Port['kind'], name: string, endpoint: number, mac: string, ip: number, layers: Layer[]): Port {
    const p: Port = { id: this.ports.length, node, kind, name, endpoint, mac, ip, layers };
    this.ports.push(p);
    return p;
  }
}

function group(name: string, priority: number, dir: Direction, rules: Rule[], indexed = false): Group {
  const g: Group = { name, priority, dir, family: 'IPv4', rules: [], byVip: indexed ? new Map() : null };
  for (const r of rules) addRule(g, r);
  g.rules.sort((a, b) => a.priority - b.priority); // the scan list in priority order (stable)
  return g;
}

/** Adds `r` to `g`: into the exact VIP index when the group has one and the rule names one destination. */
function addRule(g: Group, r: Rule): void {
  const c = r.cond;
  if (g.byVip !== null && c.dst !== null && c.dst.length === 1 && c.dst[0].mask === 0xffffffff && c.protocols?.length === 1 && c.dstPorts?.length === 1 && c.dstPorts[0][0] === c.dstPorts[0][1]) {
    const key = vipKey(c.protocols[0], c.dst[0].base, c.dstPorts[0][0]);
    const list = g.byVip.get(key);
    if (list) list.push(r);
    else g.byVip.set(key, [r]);
  } else {
    g.rules.push(r);
  }
}

/** Where each IPv4 address of the cluster leads (the engine's address table, built as compile goes). */
class AddrTable {
  readonly map = new U32Map(64);
  readonly kind: number[] = [];
  readonly node: number[] = [];
  readonly pod: number[] = [];

  /** Adds kind bits `kind` to `ip`'s entry; `node` / `pod` (when >= 0) become its node and pod index. */
  mark(ip: number, kind: number, node = -1, pod = -1): void {
    let e = this.map.get(ip);
    if (e < 0) {
      e = this.kind.length;
      this.kind.push(0);
      this.node.push(-1);
      this.pod.push(-1);
      this.map.set(ip, e);
    }
    this.kind[e] |= kind;
    if (node >= 0) this.node[e] = node;
    if (pod >= 0) this.pod[e] = pod;
  }
}

/** What every node's compilation reads of the cluster (computed once). */
interface ClusterEnv extends LbEnv {
  cluster: Cluster;
  profile: WindowsProfile;
  net: Cluster['network'];
  /** The emulated Windows nodes, in cluster order (their index is the node id). */
  winNodes: NodeModel[];
  nodeByName: Map<string, number>;
  /** Pods of each emulated node (endpoint ids in node order, then pod order). */
  podsByNode: PodModel[][];
  /** Remote subnets known to the cluster: every node with an IPv4 podCIDR. */
  subnetOwners: { n: NodeModel; p: Prefix }[];
}

function clusterEnv(b: Builder, cluster: Cluster, profile: WindowsProfile): ClusterEnv {
  const net = cluster.network;
  const winNodes = cluster.nodes.filter((n) => n.windows && ip4(n.internalIP) >= 0);
  const nodeByName = new Map<string, number>(winNodes.map((n, k) => [n.name, k]));
  const nodeIpToModel = new Map<number, NodeModel>();
  for (const n of cluster.nodes) {
    const v = ip4(n.internalIP);
    if (v >= 0) nodeIpToModel.set(v, n);
  }
  // DSR availability (lb.ts module comment)
  const gateDsr = cluster.proxy.enableDSR && cluster.proxy.featureGates.WinDSR;
  if (gateDsr && !profile.dsr) {
    b.diagnostics.push({ code: 'dsr-unsupported', message: reasonSentence(R.DSR_UNSUPPORTED), source: `--windows ${profile.name}`, severity: 'warning' });
  }
  const podsByNode: PodModel[][] = winNodes.map(() => []);
  for (const p of cluster.pods) {
    const k = nodeByName.get(p.node);
    if (k === undefined || p.hostNetwork || ip4(p.ip) < 0) continue;
    podsByNode[k].push(p);
  }
  return {
    cluster,
    profile,
    net,
    overlay: net.mode === 'overlay',
    clusterCidrs: net.clusterCidrs.map(prefixOf).filter((p): p is Prefix => p !== null),
    clusterDsr: gateDsr && profile.dsr,
    // ETP Local / preserve-destination: the OS's DSR support alone, not --enable-dsr (diagnostics.ts localTrafficDsr)
    etpDsrOk: profile.dsr,
    nodeIpToModel,
    lbNotes: new Map(),
    winNodes,
    nodeByName,
    podsByNode,
    subnetOwners: cluster.nodes.map((n) => ({ n, p: n.podCIDR ? prefixOf(n.podCIDR) : null })).filter((x): x is { n: NodeModel; p: Prefix } => x.p !== null),
  };
}

/** Compiles `cluster` for `opts.profile`. Throws nothing for odd input: what cannot be used becomes a diagnostic. */
export function compileCluster(cluster: Cluster, opts: CompileOptions): CompiledDataplane {
  const b = new Builder();
  const env = clusterEnv(b, cluster, opts.profile);
  const addr = new AddrTable();
  const pods: CompiledPod[] = [];
  const build = nodesToBuild(env, opts.only ?? null);
  const nodes = env.winNodes.map((m, id) => buildNode(b, env, addr, id, m, pods, build[id]));
  let ownerBase = 0; // NAT owner bases (global pool numbering)
  for (const n of nodes) {
    n.nat.ownerBase = ownerBase;
    ownerBase += n.nat.owners;
  }
  for (const svc of cluster.services) {
    const cip = ip4(clusterIpOfFamily(svc, 4));
    if (cip >= 0) addr.mark(cip, AK_CLUSTER_IP);
    for (const x of [...svc.externalIPs, ...svc.ingressIPs]) {
      const v = ip4(x);
      if (v >= 0) addr.mark(v, AK_EXTERNAL_VIP);
    }
  }
  const plans = planServices(b, cluster, env.profile, env);
  const acls = (env.net.acls ?? []).filter((a) => a.ruleType === 'Switch');
  const refusing = refusingPlans(plans, env.profile);
  for (const node of nodes) buildPorts(b, env, node, node.compiled ? plans : refusing, acls);
  unownedAcls(b, acls, pods);
  attachLbs6(b, env, nodes);
  noteNodesCompiled(b, nodes, opts.only ?? null);
  const macs = new Uint8Array(b.macNames.length * 6);
  b.macNames.forEach((t, k) => macs.set(macBytes(t), k * 6));
  const net = env.net;
  return {
    mode: net.mode,
    plugin: net.plugin,
    vni: net.vni,
    vxlanPort: net.vxlanPort,
    outboundNat: net.outboundNat,
    profile: env.profile,
    seed: opts.seed >>> 0,
    view: opts.view,
    nodes,
    nodeByName: env.nodeByName,
    pods,
    ports: b.ports,
    rules: b.rules,
    services: [...cluster.services.map((s) => `${s.namespace}/${s.name}`), ...b.dumpServices],
    backends: b.backends,
    backendPorts: b.backendPorts,
    backendKeys: backendSet(b.backends, b.backendPorts),
    macs,
    macNames: b.macNames,
    addr: addr.map,
    addrKind: Uint8Array.from(addr.kind),
    addrNode: Int32Array.from(addr.node),
    addrPod: Int32Array.from(addr.pod),
    ip6: podIp6(pods),
    clusterCidrs: env.clusterCidrs,
    serviceCidr: net.serviceCidr ? prefixOf(net.serviceCidr) : null,
    namespaces: namespaceHashes(cluster),
    nodeIps: new Set(env.nodeIpToModel.keys()),
    serviceNames: new Set(cluster.services.map((sv) => serviceKey(fnv1a(sv.namespace), fnv1a(sv.name)))),
    domainLabels: cluster.clusterDomain.split('.').filter((x) => x !== ''),
    diagnostics: b.diagnostics,
  };
}

/**
 * By node id: is the node compiled. Every node without a choice; with one, the nodes it names and every node
 * an HNS dump was taken on (hns-truth.ts compares the dump with kube-proxy's load balancers built for that
 * node: its diagnostics need them).
 */
function nodesToBuild(env: ClusterEnv, only: NodeChoice | null): boolean[] {
  if (only === null) return env.winNodes.map(() => true);
  const dumped = new Set((env.cluster.hnsLoadBalancers ?? []).map((d) => d.node));
  return env.winNodes.map((n) => only.names.has(n.name) || dumped.has(n.name));
}

/** The `nodes-compiled` diagnostic when a node was left out: how many were compiled, which, which not, and why. */
function noteNodesCompiled(b: Builder, nodes: CompiledNode[], only: NodeChoice | null): void {
  if (only === null) return;
  const built = nodes.filter((n) => n.compiled).map((n) => n.name);
  const left = nodes.filter((n) => !n.compiled).map((n) => n.name);
  if (left.length === 0) return;
  const list = (names: string[]): string => (names.length <= 8 ? names.join(', ') : `${names.slice(0, 8).join(', ')} and ${names.length - 8} more`);
  b.diagnostics.push({
    code: 'nodes-compiled',
    severity: 'info',
    source: only.source,
    message:
      `compiled ${built.length} of ${nodes.length} Windows nodes (${list(built) || 'none'}): ${only.why}; not compiled: ${list(left)} ` +
      '(no rule tables built for them; their addresses, pod subnets and endpoints are still known to the compiled nodes, and the diagnostics cover every node)',
  });
}

/** FNV-1a hashes of the namespaces the cluster knows (Services' and pods'). */
function namespaceHashes(cluster: Cluster): Set<number> {
  const namespaces = new Set<number>();
  for (const s of cluster.services) namespaces.add(fnv1a(s.namespace));
  for (const p of cluster.pods) namespaces.add(fnv1a(p.namespace));
  return namespaces;
}

/**
 * The IPv6 load balancers of every node (lb6.ts; none on overlay, where the Services get a diagnostic):
 * their group goes into the host port's SLB_LB_LAYER, after the IPv4 one.
 */
function attachLbs6(b: Builder, env: ClusterEnv, nodes: CompiledNode[]): void {
  const plans = planServices6(b, env.cluster, env.profile, env.overlay);
  for (const node of nodes) {
    const local = new Set<string>();
    for (const cp of node.pods) for (const x of cp.model.ips) if (x.includes(':')) local.add(x);
    b.node = node.id;
    const start = b.rules.length;
    node.v6 = buildNodeLbs6(b, env.profile, node.name, local, plans);
    if (!node.compiled) {
      // built for its refusals (the diagnostics below), as every node's; its rules are no port's: dropped
      b.dropRulesFrom(start);
      node.v6 = { lbs: [], group: null, layer: null, noLb: node.v6.noLb };
    }
    // the summary's diagnostics from the IPv6 refusals, as buildLb's for IPv4 (one per Service and code)
    for (const no of node.v6.noLb) {
      if (no.reason === R.NO_ENDPOINTS) noteNoEndpoints(b, env, no.ref, no.lbText);
      else if (no.reason === R.LB_TOO_MANY_DESTINATIONS) noteTooMany(b, env, no.ref, no.lbText, env.profile.maxLbDestinations);
    }
    // the host port's last load-balancer layer (hostLayers: SLB_LB_LAYER, the LBs that only DNAT)
    const layer = node.host === null ? null : node.host.layers.filter((l) => l.role === 'lb').pop() ?? null;
    if (node.v6.group !== null && layer !== null) {
      layer.groups.push(node.v6.group);
      node.v6.layer = layer;
    }
  }
}

/** IPv6 pod addresses -> pod index. */
function podIp6(pods: CompiledPod[]): Ip6Map {
  const ip6 = new Ip6Map();
  for (const cp of pods) {
    for (const extra of cp.model.ips) {
      const v6 = extra.includes(':') ? parseIPv6(extra) : null;
      if (v6) ip6.set(v6, cp.index);
    }
  }
  return ip6;
}

/** Emulated node `id` (model `m`): its addresses, routes (the VNET layer), NAT range and pods. */
function buildNode(b: Builder, env: ClusterEnv, addr: AddrTable, id: number, m: NodeModel, pods: CompiledPod[], compiled: boolean): CompiledNode {
  b.node = id;
  const ip = ip4(m.internalIP);
  const pa = ip4(m.providerAddress) >= 0 ? ip4(m.providerAddress) : ip;
  const mac = b.mac(m.mac);
  const drMac = b.mac(m.drMac);
  let sourceVip = ip;
  if (env.overlay) {
    const sv = ip4(m.sourceVip);
    if (sv >= 0) sourceVip = sv;
    else b.diagnostics.push({ code: 'source-vip-missing', message: `node ${m.name}: ${reasonSentence(R.SOURCE_VIP_MISSING)}`, source: `nodes[${m.name}].sourceVip`, severity: 'warning' });
  }
  addr.mark(ip, pa === ip ? AK_NODE | AK_PA : AK_NODE, id);
  if (pa !== ip) addr.mark(pa, AK_PA, id);
  if (env.overlay && sourceVip !== ip) addr.mark(sourceVip, AK_SOURCE_VIP, id);
  const routes: RemoteSubnet[] = [];
  const routeRules = compiled ? [...subnetRoutes(b, env, m, routes), ...userRoutes(b, env, routes)] : [];
  const node: CompiledNode = {
    id,
    name: m.name,
    model: m,
    ip,
    pa,
    mac,
    drMac,
    sourceVip,
    host: null as unknown as Port,
    ext: null as unknown as Port,
    pods: [],
    podSubnet: m.podCIDR ? prefixOf(m.podCIDR) : null,
    exceptions: [...env.net.outboundNatExceptions, ...(m.outboundNatExceptions ?? [])].map(prefixOf).filter((p): p is Prefix => p !== null),
    lbs: [],
    lbByKey: new Map(),
    noLb: new Map(),
    routes: longestFirst(routes),
    vnet: compiled ? vnetLayer(b, env, routeRules) : { name: 'VNET', role: 'vnet', priority: 500, groups: [], defaultAction: 'allow' },
    nat: { start: m.dynamicPortStart, count: m.dynamicPortCount, blockSize: env.profile.snatBlockSize, owners: 1 + env.podsByNode[id].length, ownerBase: 0 },
    macSpoofing: m.macSpoofing,
    v6: { lbs: [], group: null, layer: null, noLb: [] },
    compiled,
  };
  for (const p of env.podsByNode[id]) addPod(b, addr, node, p, pods);
  return node;
}

function addPod(b: Builder, addr: AddrTable, node: CompiledNode, p: PodModel, pods: CompiledPod[]): void {
  const index = pods.length;
  const cp: CompiledPod = {
    index,
    endpoint: EP_POD0 + index,
    model: p,
    name: `pod/${p.namespace}/${p.name}`,
    ip: ip4(p.ip),
    mac: b.mac(p.mac),
    node: node.id,
    port: null as unknown as Port,
    owner: node.pods.length + 1,
    nsHash: fnv1a(p.namespace),
  };
  pods.push(cp);
  node.pods.push(cp);
  addr.mark(cp.ip, AK_POD, node.id, index);
}

/** Routes to the other nodes' pod subnets (PA routes on overlay, L2 routes otherwise); appended to `routes`. */
function subnetRoutes(b: Builder, env: ClusterEnv, m: NodeModel, routes: RemoteSubnet[]): Rule[] {
  const net = env.net;
  const rules: Rule[] = [];
  if (!env.overlay && net.plugin === 'win-bridge') return rules;
  for (const { n, p } of env.subnetOwners) {
    if (n.name === m.name) continue;
    const remotePa = ip4(n.providerAddress) >= 0 ? ip4(n.providerAddress) : ip4(n.internalIP);
    const idx = routes.length;
    const r = env.overlay
      ? b.rule(`PA_ROUTE_${p.text.replace(/[./]/g, '_')}`, 100 + (32 - prefixLen(p)), RULE_TERMINATING, 'paroute', cond({ dst: [p] }), { kind: 'paroute', route: idx },
          `encap VXLAN VNI ${net.vni} UDP ${net.vxlanPort} to PA ${u32ToIpv4(remotePa)} (node ${n.name}), inner dst MAC ${n.drMac}`)
      : b.rule(`L2_ROUTE_${p.text.replace(/[./]/g, '_')}`, 100 + (32 - prefixLen(p)), RULE_TERMINATING, 'route', cond({ dst: [p] }), { kind: 'l2route', route: idx },
          `next hop ${n.internalIP} (node ${n.name}, ${net.plugin === 'flannel' ? 'flannel host-gw route' : 'route to its podCIDR'}), src MAC -> host MAC`);
    routes.push({ prefix: p, nodeName: n.name, emulated: env.nodeByName.get(n.name) ?? -1, nextHop: remotePa, drMac: b.mac(n.drMac), hopMac: b.mac(n.mac), rule: r });
    rules.push(r);
  }
  return rules;
}

/** User routes (UDR) given as non-encap ROUTE entries (l2bridge); appended to `routes`. */
function userRoutes(b: Builder, env: ClusterEnv, routes: RemoteSubnet[]): Rule[] {
  const rules: Rule[] = [];
  if (env.overlay) return rules;
  for (const rt of env.net.routes) {
    if (rt.needEncap) continue;
    const p = prefixOf(rt.destinationPrefix);
    if (!p) continue;
    const hop = rt.nextHop ? ip4(rt.nextHop) : -1;
    const owner = hop >= 0 ? env.nodeIpToModel.get(hop) : env.subnetOwners.find((x) => x.n.podCIDR && x.p.base === p.base && x.p.mask === p.mask)?.n;
    const idx = routes.length;
    const r = b.rule(`L2_ROUTE_${p.text.replace(/[./]/g, '_')}`, 100 + (32 - prefixLen(p)), RULE_TERMINATING, 'route', cond({ dst: [p] }), { kind: 'l2route', route: idx },
      `user-defined route${rt.nextHop ? ` via ${rt.nextHop}` : ''}, src MAC -> host MAC`);
    routes.push({
      prefix: p,
      nodeName: owner?.name ?? '',
      emulated: owner ? (env.nodeByName.get(owner.name) ?? -1) : -1,
      nextHop: hop >= 0 ? hop : owner ? ip4(owner.internalIP) : 0,
      drMac: -1,
      hopMac: owner ? b.mac(owner.mac) : -1,
      rule: r,
    });
    rules.push(r);
  }
  return rules;
}

/** `routes` longest prefix first (ties in order), their rules' route indexes set to the new positions. */
function longestFirst(routes: RemoteSubnet[]): RemoteSubnet[] {
  const order = routes.map((_, k) => k).sort((x, y) => prefixLen(routes[y].prefix) - prefixLen(routes[x].prefix) || x - y);
  const sorted = order.map((k) => routes[k]);
  sorted.forEach((r, k) => {
    if (r.rule.action.kind === 'paroute' || r.rule.action.kind === 'l2route') (r.rule.action as { route: number }).route = k;
  });
  return sorted;
}

/** The VNET layer all ports of a node share: its routes, then the SDN routes (NeedEncap) to the host. */
function vnetLayer(b: Builder, env: ClusterEnv, routeRules: Rule[]): Layer {
  const groups: Group[] = [group(env.overlay ? 'VNET_GROUP_PA_ROUTE_IPV4_OUT' : 'VNET_GROUP_L2_ROUTE_IPV4_OUT', 200, DIR_OUT, routeRules)];
  const sdnRules = env.net.routes
    .filter((rt) => rt.needEncap)
    .map((rt) => prefixOf(rt.destinationPrefix))
    .filter((p): p is Prefix => p !== null)
    .map((p) => b.rule(`SDN_ROUTE_${p.text.replace(/[./]/g, '_')}`, 100 + (32 - prefixLen(p)), RULE_TERMINATING, 'route', cond({ dst: [p] }), { kind: 'to-host' }, 'NeedEncap: steered to the host vNIC (load balancers)'));
  if (sdnRules.length > 0) groups.push(group('VNET_GROUP_SDN_ROUTE_IPV4_OUT', 100, DIR_OUT, sdnRules));
  return { name: 'VNET', role: 'vnet', priority: 500, groups, defaultAction: 'allow' };
}

/** The node's load balancers, then its ports: the host vNIC, the external port, one per pod. */
function buildPorts(b: Builder, env: ClusterEnv, node: CompiledNode, plans: PortPlan[], acls: AclModel[]): void {
  const net = env.net;
  b.node = node.id;
  buildNodeLbs(b, env.profile, node, plans, env);
  if (!node.compiled) return; // its load balancers were looked at for the diagnostics only (buildNodeLbs)
  applyHnsTruth(b, env.cluster, env.profile, node);
  const aclLayers = aclLayersOf(b, acls, new Set(node.pods.map((cp) => cp.model.ip)));
  const aclLayer = aclLayers.get(null) ?? null;
  const dsrRules = node.lbs.filter((lb) => lb.dsrRule !== null).map((lb) => lb.dsrRule as Rule);
  const dsrLayer: Layer | null =
    dsrRules.length > 0 ? { name: 'LB_DSR', role: 'lb-dsr', priority: 200, groups: [group('LB_DSR_IPv4_OUT', 100, DIR_OUT, dsrRules, true)], defaultAction: 'allow' } : null;
  node.host = b.port(node.id, 'host', 'host', EP_HOST, node.model.mac, node.ip, hostLayers(node, aclLayer));
  const extLayers: Layer[] = [];
  if (env.overlay) {
    const decap = b.rule(
      `VNET_DECAP_${net.vni}`,
      100,
      RULE_TERMINATING,
      'decap',
      // the VNI and UDP port are the action's to check (a mismatch is a drop, vni-mismatch, not another rule)
      cond({ protocols: [17], dst: decapDestinations(node), from: FROM_WIRE }),
      { kind: 'decap', vni: net.vni, port: net.vxlanPort },
      `VXLAN VNI ${net.vni} UDP ${net.vxlanPort} to PA ${u32ToIpv4(node.pa)}`,
    );
    extLayers.push({ name: 'VNET', role: 'vnet', priority: 500, groups: [group('VNET_GROUP_DECAP_IPV4_IN', 100, DIR_IN, [decap])], defaultAction: 'allow' });
  }
  node.ext = b.port(node.id, 'external', 'external', EP_WIRE, node.model.mac, 0, extLayers);
  for (const cp of node.pods) {
    const layers: Layer[] = [];
    const podAcl = aclLayers.get(cp.model.ip) ?? aclLayer;
    if (podAcl) layers.push(podAcl);
    if (dsrLayer) layers.push(dsrLayer);
    if (net.outboundNat) layers.push(buildNatLayer(b, env.profile, node, cp));
    layers.push(node.vnet);
    cp.port = b.port(node.id, 'pod', cp.name, cp.endpoint, cp.model.mac, cp.ip, layers);
  }
}

/** The host vNIC's layers: ACL, then LB (DSR and remote backends) and SLB_LB_LAYER (local-only backends), VNET. */
function hostLayers(node: CompiledNode, aclLayer: Layer | null): Layer[] {
  const lbOut: Rule[] = [];
  const slbOut: Rule[] = [];
  for (const lb of node.lbs) {
    if (!lb.hostRule) continue;
    if (!lb.dsr && lb.localCount === lb.backends.length) slbOut.push(lb.hostRule);
    else lbOut.push(lb.hostRule);
  }
  const layers: Layer[] = [];
  if (aclLayer) layers.push(aclLayer);
  layers.push({ name: 'LB', role: 'lb', priority: 300, groups: [group('LB_OUT', 100, DIR_OUT, lbOut, true)], defaultAction: 'allow' });
  layers.push({ name: 'SLB_LB_LAYER', role: 'lb', priority: 310, groups: [group('SLB_GROUP_LB_IPv4_OUT', 100, DIR_OUT, slbOut, true)], defaultAction: 'allow' });
  layers.push(node.vnet);
  return layers;
}

/** The addresses VXLAN reaches a node at: its provider address, and its node IP when that differs. */
function decapDestinations(node: CompiledNode): Prefix[] {
  const ips = node.ip === node.pa ? [node.pa] : [node.pa, node.ip];
  return ips.map((ip) => ({ base: ip >>> 0, mask: 0xffffffff, text: `${u32ToIpv4(ip)}/32` }));
}

// ---------------------------------------------------------------------------------------------------
// ACL

function aclPrefixes(list: string[]): Prefix[] | null {
  if (list.length === 0) return null;
  const ps = list.map(prefixOf).filter((p): p is Prefix => p !== null);
  return ps.length > 0 ? ps : null;
}

/**
 * The ACL layers of a node's ports, by owner: key null holds the CNI config's ACLs (no `endpoint`: the
 * plugin puts them on every endpoint it creates; the host vNIC keeps them as before); key `<ip>` holds
 * those plus the ACLs read from that HNS endpoint's own `Policies` (Get-HnsEndpoint), which HNS programs
 * on that endpoint's port only, never on its neighbours' (`podIps`: this node's pod IPs, whose owned layers
 * are built). Rule names keep the ACL's index in `acls`.
 */
function aclLayersOf(b: Builder, acls: AclModel[], podIps: Set<string>): Map<string | null, Layer> {
  const out = new Map<string | null, Layer>();
  const shared = acls.map((a, k) => (a.endpoint === undefined ? k : -1)).filter((k) => k >= 0);
  if (shared.length > 0) out.set(null, buildAclLayer(b, acls, shared));
  // owners on this node only (another node's endpoint ACLs are that node's)
  const owners = [...new Set(acls.map((a) => a.endpoint).filter((e): e is string => e !== undefined && podIps.has(e)))];
  for (const ip of owners) {
    const own = acls.map((a, k) => (a.endpoint === undefined || a.endpoint === ip ? k : -1)).filter((k) => k >= 0);
    out.set(ip, buildAclLayer(b, acls, own));
  }
  return out;
}

/** An ACL read from an HNS endpoint that is no emulated pod (the host's own endpoint, another node's): said, not programmed. */
function unownedAcls(b: Builder, acls: AclModel[], pods: CompiledPod[]): void {
  const podIps = new Set(pods.map((p) => p.model.ip));
  const owners = new Set(acls.map((a) => a.endpoint).filter((e): e is string => e !== undefined && !podIps.has(e)));
  for (const ip of owners) {
    b.diagnostics.push({
      code: 'config-ignored',
      severity: 'info',
      source: `HNS endpoint ${ip} Policies`,
      message: `the ACL policies of HNS endpoint ${ip} are programmed on that endpoint's port only, and no emulated pod has that IP: not emulated`,
    });
  }
}

/** The ACL layer of the ACLs `acls[k]` for k in `which`. */
function buildAclLayer(b: Builder, acls: AclModel[], which: number[]): Layer {
  const outRules: Rule[] = [];
  const inRules: Rule[] = [];
  which.forEach((k) => {
    const a = acls[k];
    if (a.action === 'Pass') return;
    const out = a.direction === 'Out';
    const local = aclPrefixes(a.localAddresses);
    const remote = aclPrefixes(a.remoteAddresses);
    const lp = a.localPorts.length ? a.localPorts : null;
    const rp = a.remotePorts.length ? a.remotePorts : null;
    const protocols = a.protocols.length === 0 || a.protocols.includes(256) ? null : a.protocols;
    const c = cond(
      out ? { protocols, src: local, dst: remote, srcPorts: lp, dstPorts: rp } : { protocols, src: remote, dst: local, srcPorts: rp, dstPorts: lp },
    );
    const r = b.rule(
      `ACL_${a.action.toUpperCase()}_${a.direction.toUpperCase()}_${a.priority}_${k}`,
      a.priority,
      RULE_TERMINATING,
      a.action === 'Block' ? 'block' : 'allow',
      c,
      a.action === 'Block' ? { kind: 'block' } : { kind: 'allow' },
      `HNS ACL policy ${k}: ${a.action} ${a.direction}`,
    );
    (out ? outRules : inRules).push(r);
  });
  return {
    name: 'ACL_ENDPOINT_LAYER',
    role: 'acl',
    priority: 100,
    groups: [group('ACL_ENDPOINT_GROUP_IPv4_OUT', 100, DIR_OUT, outRules), group('ACL_ENDPOINT_GROUP_IPv4_IN', 100, DIR_IN, inRules)],
    defaultAction: 'allow',
  };
}

// ---------------------------------------------------------------------------------------------------
// OutboundNAT

function buildNatLayer(b: Builder, profile: WindowsProfile, node: CompiledNode, pod: CompiledPod): Layer {
  const id = hex8(pod.name);
  const rules: Rule[] = node.exceptions.map((p, k) =>
    b.rule(`OUTBOUNDNAT_EXCEPTION_${k}_${p.text.replace(/[./]/g, '_')}`, 100 + k, RULE_TERMINATING, 'allow', cond({ dst: [p], from: FROM_POD }), { kind: 'pass' }, `ExceptionList ${p.text}: no NAT`),
  );
  const snat = (proto: number, word: string): Rule =>
    b.rule(
      `SNAT_${word}_OUTBOUNDNAT_${id}`,
      1000,
      0,
      'nat',
      cond({ protocols: [proto], from: FROM_POD }),
      { kind: 'snat', ip: node.ip },
      `SNAT ${pod.model.ip} -> ${node.model.internalIP}, ports from the endpoint's ${profile.snatBlockSize}-port blocks of ${node.nat.start}-${node.nat.start + node.nat.count - 1}`,
    );
  rules.push(snat(6, 'TCP'), snat(17, 'UDP'));
  if (profile.icmpSnat) rules.push(snat(1, 'ICMP'));
  return { name: 'SLB_NAT_LAYER', role: 'slb-nat', priority: 300, groups: [group('SLB_GROUP_NAT_IPv4_OUT', 100, DIR_OUT, rules)], defaultAction: 'allow' };
}

// ---------------------------------------------------------------------------------------------------
// Load balancers (lb.ts describes the rules)

interface LbEnv {
  /** The ClusterIP load balancers are DSR: kube-proxy --enable-dsr with WinDSR, on a build with DSR. */
  clusterDsr: boolean;
  /** The Windows build supports DSR (hcn.DsrSupported): ETP Local and preserve-destination are honoured. */
  etpDsrOk: boolean;
  overlay: boolean;
  clusterCidrs: Prefix[];
  nodeIpToModel: Map<number, NodeModel>;
  /** The compiler's diagnostics about load balancers, by Service and code (noteLb), filled as nodes compile. */
  lbNotes: Map<string, LbNote>;
}

/**
 * kube-proxy's choice of a Service port's endpoints for one node's load balancers (winkernel proxier.go
 * `syncProxyRules`, the version with `isAllEndpointsTerminating`; domain.md 1.7; KEP-1669):
 *  - only a Service with load-balancer ingress IPs looks at terminating endpoints: `allEndpointsTerminating`
 *    (every endpoint that is ready or terminating is terminating; a not-ready, not-terminating one is
 *    ignored) and `allEndpointsNonServing`, over the node's local endpoints only when localTrafficDSR;
 *  - then an endpoint is taken when it is ready, or (all terminating) serving; with every considered endpoint
 *    non-serving no endpoint is filtered at all (the code's `someEndpointsServing` false);
 *  - without ingress IPs both flags are false: a not-ready endpoint is skipped, so a Service whose endpoints
 *    are all terminating has none (no load balancer, no-endpoints);
 *  - `endpointsAvailableForLB = !allTerminating && !allNonServing`: when false the ClusterIP load balancer
 *    is still built from what was taken, the NodePort, externalIP and ingress ones are not (loadbalancer.go
 *    @ 26d2859e: manageClusterIPLoadbalancer passes `endpointsAvailableForLB: true`, the others the flag).
 * With localTrafficDSR a node without local endpoints finds both flags vacuously true: it takes every
 * endpoint, not-ready ones too, for its ClusterIP load balancer and builds no other (as the code reads).
 * `local(k)` says whether endpoint k runs on the node (asked only when ingress IPs and localTrafficDSR).
 */
export function selectEndpoints(eps: readonly EndpointModel[], hasIngress: boolean, localDsr: boolean, local: (k: number) => boolean): { picked: number[]; availableForLb: boolean } {
  let allTerminating = false;
  let allNonServing = false;
  if (hasIngress) {
    allTerminating = true;
    allNonServing = true;
    eps.forEach((e, k) => {
      if (localDsr && !local(k)) return;
      if (e.serving) allNonServing = false;
      if ((e.ready || e.terminating) && !e.terminating) allTerminating = false;
    });
  }
  const picked: number[] = [];
  eps.forEach((e, k) => {
    if (!allNonServing && ((!allTerminating && !e.ready) || !e.serving)) return;
    picked.push(k);
  });
  return { picked, availableForLb: !allTerminating && !allNonServing };
}

/** What one Service port gives every node's load balancers (computed once, shared: 10k Services x nodes stay cheap). */
interface PortPlan {
  sid: number;
  ref: string;
  proto: number;
  protocolText: string;
  port: number;
  nodePort: number | null;
  intPort: number;
  /** The Service's endpoints with an IPv4 address and a port for this Service port (kube-proxy's candidates). */
  eps: EndpointModel[];
  ips: number[];
  /** Backend object of eps[k], made on first use (backendAt). */
  made: (LbBackend | undefined)[];
  /** The chosen backends when the choice is the same on every node (not perNode); shared by the LBs that take them all. */
  backends: LbBackend[];
  uniqueIps: number;
  /** kube-proxy's endpointsAvailableForLB (not perNode). */
  availableForLb: boolean;
  /** Ingress IPs with localTrafficDSR: the terminating checks look at each node's local endpoints (selectEndpoints). */
  perNode: boolean;
  salt: number;
  affinity: boolean;
  warnAll: number;
  etpWarn: number;
  localTrafficDsr: boolean;
  preserveDip: boolean;
  svc: ServiceModel;
  id: string;
}

function backendAt(b: Builder, plan: PortPlan, k: number): LbBackend {
  let x = plan.made[k];
  if (x === undefined) {
    const e = plan.eps[k];
    x = { ip: plan.ips[k], ipText: e.ip, port: plan.intPort, id: b.backend(e.ip, plan.ips[k], plan.intPort), node: e.node };
    plan.made[k] = x;
  }
  return x;
}

function planServices(b: Builder, cluster: Cluster, profile: WindowsProfile, env: LbEnv): PortPlan[] {
  const plans: PortPlan[] = [];
  cluster.services.forEach((svc, sid) => {
    if (svc.type === 'ExternalName') return;
    // the IPv4 proxier skips a Service without an IPv4 cluster IP (lb6.ts: serviceToServiceMap)
    if (svc.clusterIP !== null && clusterIpOfFamily(svc, 4) === null) return;
    const ref = `${svc.namespace}/${svc.name}`;
    const etpLocal = svc.externalTrafficPolicy === 'Local';
    const localDsr = localTrafficDsr(svc, env.etpDsrOk);
    const hasIngress = svc.ingressIPs.length > 0;
    let affinity = svc.sessionAffinity === 'ClientIP';
    let warnAll = 0;
    if (svc.affinityTimeoutSeconds !== null) warnAll |= warningBit(R.AFFINITY_TIMEOUT_IGNORED);
    if (affinity && !profile.sessionAffinity) {
      affinity = false;
      warnAll |= warningBit(R.SESSION_AFFINITY_UNSUPPORTED);
    }
    svc.ports.forEach((sp, pi) => {
      // kube-proxy: the internal port is the first endpoint's (hcsshim takes one port per LB)
      const portOf = (e: EndpointModel): number | null => e.ports[sp.name] ?? e.ports[''] ?? (typeof sp.targetPort === 'number' ? sp.targetPort : null);
      const eps: EndpointModel[] = [];
      const ips: number[] = [];
      for (const e of svc.endpoints) {
        const v = ip4(e.ip);
        if (v >= 0 && portOf(e) !== null) {
          eps.push(e);
          ips.push(v);
        }
      }
      const perNode = hasIngress && localDsr;
      const sel = selectEndpoints(eps, hasIngress, false, () => false);
      const first = perNode ? 0 : sel.picked[0];
      const intPort = first !== undefined && first < eps.length ? (portOf(eps[first]) as number) : typeof sp.targetPort === 'number' ? sp.targetPort : sp.port;
      const plan: PortPlan = {
        sid,
        ref,
        proto: PROTO_NUM[sp.protocol] ?? 0,
        protocolText: sp.protocol,
        port: sp.port,
        nodePort: sp.nodePort && sp.nodePort > 0 && (svc.type === 'NodePort' || svc.type === 'LoadBalancer') ? sp.nodePort : null,
        intPort,
        eps,
        ips,
        made: [],
        backends: [],
        uniqueIps: 0,
        availableForLb: sel.availableForLb,
        perNode,
        salt: lbSalt(sid, pi),
        affinity,
        warnAll,
        etpWarn: etpLocal && !localDsr ? warningBit(R.LOCAL_POLICY_REQUIRES_DSR) : 0,
        localTrafficDsr: localDsr,
        preserveDip: svc.preserveDestination && env.etpDsrOk,
        svc,
        id: hex8(`${ref}/${sp.name}`),
      };
      if (!perNode) {
        plan.backends = sel.picked.map((k) => backendAt(b, plan, k));
        plan.uniqueIps = new Set(sel.picked.map((k) => ips[k])).size;
      }
      plans.push(plan);
    });
  });
  return plans;
}

/**
 * The plans whose load balancers some node may refuse with a diagnostic (no-endpoints, too many
 * destinations), or that choose endpoints per node (their backend ids): what a node left out of the compile
 * still goes through (buildNodeLbs builds nothing for it). A plan with the same usable endpoints on every
 * node, available for LBs and within the destination limit, gives no node a diagnostic: an LB holding only
 * the local ones has fewer destinations, and a node without local endpoints is `no-local-endpoint`, which
 * is no diagnostic. 100 nodes x 5k Services went through buildNodeLbs for nothing (issue 12).
 */
function refusingPlans(plans: PortPlan[], profile: WindowsProfile): PortPlan[] {
  return plans.filter((p) => p.perNode || p.backends.length === 0 || !p.availableForLb || p.uniqueIps > profile.maxLbDestinations);
}

/** One node's view while its load balancers are built (one per node, not per packet). */
interface NodeLbCtx {
  node: CompiledNode;
  profile: WindowsProfile;
  env: LbEnv;
  localPodIps: Set<number>;
}

function isLocalBackend(ctx: NodeLbCtx, x: LbBackend): boolean {
  return x.node === ctx.node.name || ctx.localPodIps.has(x.ip);
}

function uniqueIpCount(backends: LbBackend[]): number {
  return new Set(backends.map((x) => x.ip)).size;
}

/**
 * The HNS load balancers kube-proxy builds on `node` (lb.ts): per Service port the ClusterIP one, the NodePort
 * one, one per externalIP and one per ingress IP, each with its own endpoint list (loadbalancer.go @ 26d2859e
 * manageClusterIPLoadbalancer / manageNodePortLoadbalancer / manageExternalIPLoadbalancers /
 * manageIngressIPLoadbalancers): the ClusterIP one the local endpoints only with internalTrafficPolicy
 * Local; NodePort and ingress ones with preserve-destination or ETP Local (DSR); externalIP ones with ETP
 * Local (DSR). The destination limit is HNS's per load balancer (it refuses one hcnCreateLoadBalancer call),
 * so each built LB's own unique backend addresses are counted against profile.maxLbDestinations: a
 * NodePort LB of an ETP Local Service with 3 local endpoints out of 70 is built while its ClusterIP LB is
 * refused. The refusals are also the summary's lb-too-many-destinations diagnostic (noteLb), the one home
 * of the rule.
 */
function buildNodeLbs(b: Builder, profile: WindowsProfile, node: CompiledNode, plans: PortPlan[], env: LbEnv): void {
  const ctx: NodeLbCtx = { node, profile, env, localPodIps: new Set(node.pods.map((p) => p.ip)) };
  for (const plan of plans) {
    const svc = plan.svc;
    const sel = nodeSelection(b, ctx, plan);
    const cip4 = clusterIpOfFamily(svc, 4); // clusterIPs by ipFamilies (an IPv6-primary dual-stack Service's is clusterIPs[1])
    if (cip4) {
      const spec: LbSpec = { kind: 'ClusterIP', vipText: cip4, extPort: plan.port, localOnly: svc.internalTrafficPolicy === 'Local', dsr: env.clusterDsr, preserve: false, hostAccess: profile.nodeToClusterIp, warn: 0 };
      buildLb(b, ctx, plan, sel, spec);
    }
    if (plan.nodePort !== null) {
      const localOnly = plan.preserveDip || plan.localTrafficDsr;
      buildLb(b, ctx, plan, sel, { kind: 'NodePort', vipText: node.model.internalIP, extPort: plan.nodePort, localOnly, dsr: plan.localTrafficDsr, preserve: false, hostAccess: profile.localNodePortAccess, warn: plan.etpWarn });
    }
    for (const x of svc.externalIPs) {
      buildLb(b, ctx, plan, sel, { kind: 'ExternalIP', vipText: x, extPort: plan.port, localOnly: plan.localTrafficDsr, dsr: plan.localTrafficDsr, preserve: false, hostAccess: false, warn: plan.etpWarn });
    }
    for (const x of svc.ingressIPs) {
      const dsrIn = plan.preserveDip || plan.localTrafficDsr;
      buildLb(b, ctx, plan, sel, { kind: 'Ingress', vipText: x, extPort: plan.port, localOnly: dsrIn, dsr: dsrIn, preserve: plan.preserveDip, hostAccess: false, warn: plan.etpWarn });
    }
  }
}

/** kube-proxy's endpoints of a Service port on one node (selectEndpoints): the plan's, or the node's own choice. */
interface NodeSelection {
  backends: LbBackend[];
  uniqueIps: number;
  availableForLb: boolean;
}

function nodeSelection(b: Builder, ctx: NodeLbCtx, plan: PortPlan): NodeSelection {
  if (!plan.perNode) return plan;
  const local = (k: number): boolean => plan.eps[k].node === ctx.node.name || ctx.localPodIps.has(plan.ips[k]);
  const sel = selectEndpoints(plan.eps, true, true, local);
  const backends = sel.picked.map((k) => backendAt(b, plan, k));
  return { backends, uniqueIps: uniqueIpCount(backends), availableForLb: sel.availableForLb };
}

/** One load balancer of a Service port on a node, as kube-proxy asks HNS for it. */
interface LbSpec {
  kind: LbKind;
  vipText: string;
  extPort: number;
  /** Only the node's own endpoints (the Local traffic policies, preserve-destination). */
  localOnly: boolean;
  dsr: boolean;
  preserve: boolean;
  hostAccess: boolean;
  warn: number;
}

/** Builds one load balancer on ctx.node, or records (node.noLb) why kube-proxy or HNS leaves the VIP without one. */
function buildLb(b: Builder, ctx: NodeLbCtx, plan: PortPlan, sel: NodeSelection, spec: LbSpec): void {
  const { node, profile, env } = ctx;
  const vip = ip4(spec.vipText);
  if (vip < 0) return;
  const key = vipKey(plan.proto, vip, spec.extPort);
  if (sel.backends.length === 0) {
    refuseLb(node, plan, spec, key, R.NO_ENDPOINTS, 'no usable endpoint');
    return noteNoEndpoints(b, env, plan.ref, `${node.name} ${frontendText(plan, spec)} (no ready endpoint)`);
  }
  const backends = spec.localOnly ? sel.backends.filter((x) => isLocalBackend(ctx, x)) : sel.backends;
  if (backends.length === 0) return refuseLb(node, plan, spec, key, R.NO_LOCAL_ENDPOINT, `no endpoint on ${node.name}`);
  if (spec.kind !== 'ClusterIP' && !sel.availableForLb) {
    refuseLb(node, plan, spec, key, R.NO_ENDPOINTS, 'every endpoint is terminating (or none is serving): kube-proxy builds no load balancer but the ClusterIP one (endpointsAvailableForLB false)');
    return noteNoEndpoints(b, env, plan.ref, `${node.name} ${frontendText(plan, spec)} (all endpoints terminating)`);
  }
  const destinations = backends === sel.backends ? sel.uniqueIps : uniqueIpCount(backends);
  if (destinations > profile.maxLbDestinations) {
    refuseLb(node, plan, spec, key, R.LB_TOO_MANY_DESTINATIONS, `${destinations} destinations > ${profile.maxLbDestinations} (profile ${profile.name})`);
    noteTooMany(b, env, plan.ref, `${node.name} ${frontendText(plan, spec)} (${destinations})`, profile.maxLbDestinations);
    return;
  }
  addLb(b, ctx, plan, spec, vip, key, backends);
}

/** `ClusterIP 10.96.0.10:53/UDP`: built only when a refusal names it (never per built LB: issue 12, nodes x Services). */
function frontendText(plan: PortPlan, spec: LbSpec): string {
  return `${spec.kind} ${spec.vipText}:${spec.extPort}/${plan.protocolText}`;
}

/** Records on `node` why the VIP `key` has no load balancer (not on a node left out: nothing reads it). */
function refuseLb(node: CompiledNode, plan: PortPlan, spec: LbSpec, key: number, reason: number, detail: string): void {
  if (!node.compiled) return;
  node.noLb.set(key, { reason, service: plan.sid, kind: spec.kind, detail: `${plan.ref} ${frontendText(plan, spec)}: ${detail}` });
}

/** The built load balancer: its host vNIC rule and, for DSR, the pod ports' rule. */
function addLb(b: Builder, ctx: NodeLbCtx, plan: PortPlan, spec: LbSpec, vip: number, key: number, backends: LbBackend[]): void {
  const { node, env } = ctx;
  if (!node.compiled) return; // a node left out: only its refusals were wanted (the diagnostics)
  const { kind, vipText, extPort, dsr, preserve } = spec;
  const { proto, intPort } = plan;
  let localCount = 0;
  let outside = false;
  for (const x of backends) {
    if (isLocalBackend(ctx, x)) localCount++;
    else if (!inClusterCidrs(env, x.ip) || env.nodeIpToModel.has(x.ip)) outside = true;
  }
  // SourceVIP (domain.md §1.6): the node IP on l2bridge, and on overlay when a remote backend is outside the cluster or a node
  const sourceVip = env.overlay && !outside ? node.sourceVip : node.ip;
  const index = node.lbs.length;
  const lb: NodeLb = {
    index,
    service: plan.sid,
    kind,
    proto,
    vip,
    vipText,
    extPort,
    intPort,
    dsr,
    preserveDip: preserve,
    affinity: plan.affinity,
    hostAccess: spec.hostAccess,
    sourceVip,
    backends,
    localCount,
    warn: plan.warnAll | spec.warn,
    salt: plan.salt,
    hostRule: null,
    dsrRule: null,
  };
  const allLocal = localCount === backends.length;
  const flagsText = (dsr ? 'DSR, ' : '') + (preserve ? 'PreserveDIP, ' : '') + (plan.affinity ? 'Distribution SourceIP' : 'Distribution None');
  const data = `${plan.ref} ${kind}: ${backends.length} backend(s), ${localCount} local; ${flagsText}${!dsr && !allLocal ? `; SNAT to SourceVIP ${u32ToIpv4(sourceVip)} for remote backends` : ''}`;
  addLbRules(b, node, lb, plan.id, data);
  node.lbs.push(lb);
  node.lbByKey.set(key, index);
}

/**
 * The host vNIC rule of `lb` and, for DSR, the pod ports' rule, named as HNS names them (module comment;
 * `id` is the `<id>` segment): the one home of the forms for kube-proxy's LBs (addLb) and an HNS dump's
 * (hns-truth.ts).
 */
export function addLbRules(b: Builder, node: CompiledNode, lb: NodeLb, id: string, data: string): void {
  const { vipText, extPort, intPort, proto, dsr } = lb;
  const hostName = dsr
    ? `LB_${id}_${vipText}_${extPort}_${intPort}_${proto}`
    : lb.localCount === lb.backends.length
      ? `${lb.backends.length === 1 ? 'NAT' : 'LB'}_${id}_${vipText}_${extPort}_${extPort}_${proto}`
      : `LB_HOST_${id}_${vipText}_${extPort}_${intPort}_${proto}`;
  const c = b.lbConditions(proto, lb.vip, vipText, extPort, FROM_POD | FROM_WIRE | (lb.hostAccess ? FROM_HOST : 0));
  lb.hostRule = b.rule(hostName, 100, RULE_TERMINATING, 'lb', c, { kind: 'lb', lb: lb.index }, data);
  if (dsr) {
    const dsrCond = b.lbConditions(proto, lb.vip, vipText, extPort, FROM_POD);
    lb.dsrRule = b.rule(`LB_DSR_${id}_${node.model.internalIP}_${vipText}_${extPort}_${intPort}_${proto}`, 100, RULE_TERMINATING, 'lb', dsrCond, { kind: 'lb', lb: lb.index }, data);
  }
}

function inClusterCidrs(env: LbEnv, v: number): boolean {
  return env.clusterCidrs.some((p) => ((v & p.mask) >>> 0) === p.base);
}

/** The compiler's diagnostic about a Service's load balancers: one per Service and code, listing each LB it concerns. */
interface LbNote {
  d: Diagnostic;
  lbs: string[];
  render: (shown: string, count: number) => string;
}

/** Records that HNS refuses the load balancer `lbText` of Service `ref` (ns/name): more destinations than one VFP LB rule takes. */
function noteTooMany(b: Builder, env: LbEnv, ref: string, lbText: string, max: number): void {
  noteLb(b, env, ref, 'lb-too-many-destinations', 'error', lbText, (shown, count) =>
    `service ${ref}: ${count === 1 ? 'a load balancer' : `${count} load balancers`} of it would hold more than the ${max} destinations one VFP load balancer rule takes (node, frontend, unique destinations: ${shown}): ` +
    'HNS refuses each ("Policy creation failed: hcnCreateLoadBalancer failed in Win32: The parameter is incorrect. (0x57)", "Unable to initialize VFP LB rule: invalid number of destinations."), ' +
    'so those nodes have no load balancer for those frontends. The limit is per load balancer: one for externalTrafficPolicy Local (DSR) or internalTrafficPolicy Local holds only its node\'s endpoints');
}

/** Records that kube-proxy builds no load balancer `lbText` of Service `ref` (ns/name) for want of usable endpoints. */
function noteNoEndpoints(b: Builder, env: LbEnv, ref: string, lbText: string): void {
  noteLb(b, env, ref, 'no-endpoints', 'warning', lbText, (shown) =>
    `service ${ref} has no usable endpoints for some of its load balancers (${shown}): kube-proxy programs no load balancer for them ("Endpoint information not available for service, not applying any policy"; ` +
    'a not-ready endpoint is skipped, and only a Service with load-balancer ingress IPs falls back to its serving terminating endpoints, for its ClusterIP load balancer alone), so connections to them fail');
}

function noteLb(b: Builder, env: LbEnv, ref: string, code: string, severity: 'error' | 'warning', lbText: string, render: LbNote['render']): void {
  const key = `${ref}/${code}`;
  let n = env.lbNotes.get(key);
  if (n === undefined) {
    n = { d: { code, severity, message: '', source: `service ${ref}` }, lbs: [], render };
    env.lbNotes.set(key, n);
    b.diagnostics.push(n.d);
  }
  n.lbs.push(lbText);
  const shown = n.lbs.length <= 6 ? n.lbs.join(', ') : `${n.lbs.slice(0, 6).join(', ')} and ${n.lbs.length - 6} more`;
  n.d.message = n.render(shown, n.lbs.length);
}
