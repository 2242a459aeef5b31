/**
 * "What HNS actually programmed": when the cluster inputs hold an HNS dump's load balancers
 * (`Cluster.hnsLoadBalancers`, src/cluster/hns-lbs.ts), they are what the dumped node runs. `applyHnsTruth`
 * runs right after buildNodeLbs for each node: for the dumped node it
 *
 * 1. compares the dump with what kube-proxy would program for the Services given (the node's `lbs` / `noLb`
 *    that buildNodeLbs just built), one diagnostic per difference, with both sides:
 *    - `hns-lb-missing` (error): kube-proxy would program it, HNS has none. Real: load balancers vanish
 *      (kubernetes#110849 / #110674: `hnsdiag list loadbalancers` count 577 -> 1) or are deleted out of band and
 *      never recreated (kubernetes#135802). Packets to that VIP and port are dropped with `lb-missing-in-hns`.
 *    - `hns-lb-stale` (error): HNS has a load balancer for a VIP/port no Service has, or for a Service that
 *      kube-proxy would give none (no endpoints), or one naming an endpoint no dumped endpoint has
 *      (kubernetes#112836: v1.24 left a stale LB per deleted pod; #113524 / PR#113521: a stale VIP reused).
 *    - `hns-lb-differs` (warning): both have it but the endpoints, internal port, DSR, PreserveDIP or SourceVIP
 *      differ (kubernetes#131466: ModifyLoadBalancer on WS2025 keeps the old endpoint list).
 *    With no Service given at all (a node emulated from its HNS dump alone) nothing is compared: one
 *    `hns-lb-only` note.
 * 2. replaces the node's load balancers by the dump's, built as buildNodeLbs builds them (same NodeLb fields,
 *    same rule name forms `LB_`/`NAT_`/`LB_HOST_`/`LB_DSR_<id>_...`, `<id>` = the first 8 hex digits of the HNS
 *    id), so `rules`, `explain` and the engine treat them alike. A dump LB that matches a kube-proxy LB takes
 *    its Service, kind, warnings and hash salt; one that matches none stands for a service named
 *    `hns/<id>` (`Builder.dumpServices`). An empty VIP list is the node's address (a NodePort LB).
 *    The rules buildNodeLbs made for the replaced LBs are taken out of the global rule list (they are its tail),
 *    so that every rule is one a port holds.
 * Backends: the dump's endpoints resolved to IPv4 addresses (remote ones to the node owning the address);
 * unresolved ones are no backend, and a frontend left with none is a VIP without a load balancer, dropped with
 * `no-endpoints` (the traffic of kubernetes#112836's stale LBs went nowhere). IPv6 load balancers (Flags & 2) are not programmed (IPv4 engine): a note.
 */

import type { Cluster, Diagnostic, HnsLbModel } from '../cluster/model';
import { u32ToIpv4 } from '../core/ip';
import { lbSalt, type LbBackend, type LbKind, type NodeLb, type NoLb } from './lb';
import { vipKey } from './objects';
import type { WindowsProfile } from './profile';
import { R, reasonCode } from './reasons';
import { addLbRules, ip4, type Builder, type CompiledNode } from './compile';

const PROTO: Record<number, string> = { 6: 'TCP', 17: 'UDP', 132: 'SCTP' };

/** What one node's comparison reads (built once per dumped node). */
interface Ctx {
  b: Builder;
  cluster: Cluster;
  profile: WindowsProfile;
  node: CompiledNode;
  /** kube-proxy's expectation: the LBs and no-LB records buildNodeLbs made. */
  expected: NodeLb[];
  expectedByKey: Map<number, number>;
  compare: boolean;
  /** The dump file (the first load balancer's). */
  at: string;
  /** Pseudo service id by HNS id. */
  dumpSids: Map<string, number>;
}

function diag(c: Ctx, code: string, severity: Diagnostic['severity'], message: string, source: string): void {
  c.b.diagnostics.push({ code, severity, message, source });
}

function svcName(c: Ctx, sid: number): string {
  return sid < c.cluster.services.length ? `${c.cluster.services[sid].namespace}/${c.cluster.services[sid].name}` : (c.b.dumpServices[sid - c.cluster.services.length] ?? '?');
}

/** `web ClusterIP 10.96.0.20:80/TCP -> 8080 [10.244.1.5, 10.244.2.7] DSR SourceVIP 10.244.1.2` */
function describeLb(c: Ctx, lb: NodeLb): string {
  const ips = lb.backends.map((x) => x.ipText).join(', ');
  return `${svcName(c, lb.service)} ${lb.kind} ${lb.vipText}:${lb.extPort}/${PROTO[lb.proto] ?? lb.proto} -> ${lb.intPort} [${ips}]${lb.dsr ? ' DSR' : ''}${lb.preserveDip ? ' PreserveDIP' : ''}${lb.dsr ? '' : ` SourceVIP ${u32ToIpv4(lb.sourceVip)}`}`;
}

function dumpSid(c: Ctx, d: HnsLbModel): number {
  let sid = c.dumpSids.get(d.id);
  if (sid === undefined) {
    sid = c.cluster.services.length + c.b.dumpServices.length;
    c.b.dumpServices.push(`hns/${d.id || 'load-balancer'}`);
    c.dumpSids.set(d.id, sid);
  }
  return sid;
}

function backendsOf(c: Ctx, d: HnsLbModel): LbBackend[] {
  const out: LbBackend[] = [];
  for (const e of d.endpoints) {
    const v = ip4(e.ip);
    if (e.ip === null || v < 0) continue;
    out.push({ ip: v, ipText: e.ip, port: d.internalPort, id: c.b.backend(e.ip, v, d.internalPort), node: e.node });
  }
  return out;
}

/** The NodeLb (and its rules) for dump frontend `d` at `vipText`; `exp` the kube-proxy LB it matches, if any. */
function dumpLb(c: Ctx, d: HnsLbModel, vipText: string, vip: number, exp: NodeLb | undefined, kind: LbKind, sid: number): NodeLb {
  const node = c.node;
  const local = new Set(node.pods.map((p) => p.ip));
  const backends = backendsOf(c, d);
  const localCount = backends.filter((x) => x.node === node.name || local.has(x.ip)).length;
  const hostAccess = exp?.hostAccess ?? (kind === 'ClusterIP' ? c.profile.nodeToClusterIp : kind === 'NodePort' ? c.profile.localNodePortAccess : false);
  const lb: NodeLb = {
    index: node.lbs.length,
    service: sid,
    kind,
    proto: d.protocol,
    vip,
    vipText,
    extPort: d.externalPort,
    intPort: d.internalPort,
    dsr: d.dsr,
    preserveDip: d.preserveDip,
    affinity: d.affinity || (d.form === 'v1' && (exp?.affinity ?? false)),
    hostAccess,
    // no SourceVIP in the dump: what kube-proxy's LB has, else the node's (what HNS does with an empty one is UNCONFIRMED)
    sourceVip: d.sourceVip !== null && ip4(d.sourceVip) >= 0 ? ip4(d.sourceVip) : (exp?.sourceVip ?? node.sourceVip),
    backends,
    localCount,
    warn: exp?.warn ?? 0,
    salt: exp?.salt ?? lbSalt(sid, 0),
    hostRule: null,
    dsrRule: null,
  };
  return lb;
}

/** The rules of `lb`, named as buildNodeLbs names them (compile.ts addLbRules), `<id>` from the HNS id. */
function lbRules(c: Ctx, d: HnsLbModel, lb: NodeLb): void {
  const id = d.id.replace(/[^0-9a-f]/g, '').slice(0, 8) || 'hns';
  const allLocal = lb.localCount === lb.backends.length;
  const data = `HNS dump ${d.source} (${svcName(c, lb.service)} ${lb.kind}): ${lb.backends.length} backend(s), ${lb.localCount} local${lb.dsr ? '; DSR' : ''}${lb.preserveDip ? '; PreserveDIP' : ''}; Distribution ${lb.affinity ? 'SourceIP' : 'None'}${!lb.dsr && !allLocal ? `; SNAT to SourceVIP ${u32ToIpv4(lb.sourceVip)} for remote backends` : ''}`;
  addLbRules(c.b, c.node, lb, id, data);
}

/** The differences between kube-proxy's LB `exp` and the dump's `got`, as `what: kube-proxy X, HNS Y` parts. */
function differences(exp: NodeLb, got: NodeLb, d: HnsLbModel): string[] {
  const out: string[] = [];
  const set = (l: NodeLb) => l.backends.map((x) => `${x.ipText}:${x.port}`).sort().join(', ') || 'none';
  if (set(exp) !== set(got)) out.push(`endpoints: kube-proxy [${set(exp)}], HNS [${set(got)}]`);
  if (exp.intPort !== got.intPort) out.push(`internal port: kube-proxy ${exp.intPort}, HNS ${got.intPort}`);
  if (exp.dsr !== got.dsr) out.push(`DSR: kube-proxy ${exp.dsr}, HNS ${got.dsr}`);
  if (exp.preserveDip !== got.preserveDip && d.form === 'v2') out.push(`PreserveDIP: kube-proxy ${exp.preserveDip}, HNS ${got.preserveDip}`);
  if (!exp.dsr && !got.dsr && d.sourceVip !== null && exp.sourceVip !== got.sourceVip) out.push(`SourceVIP: kube-proxy ${u32ToIpv4(exp.sourceVip)}, HNS ${u32ToIpv4(got.sourceVip)}`);
  return out;
}

/** Stale endpoint references of `d` (IDs no dumped endpoint has), once per HNS load balancer (`named`: those said). */
function staleRefs(c: Ctx, d: HnsLbModel, named: Set<string>): void {
  const gone = d.endpoints.filter((e) => e.ip === null).map((e) => e.id);
  const lbKey = d.id !== '' ? `${d.file}\u0000${d.id}` : d.source;
  if (gone.length === 0 || named.has(lbKey)) return;
  named.add(lbKey);
  diag(
    c,
    'hns-lb-stale',
    'error',
    `HNS load balancer ${d.id || '(no ID)'} on ${c.node.name} names endpoint(s) ${gone.join(', ')} that no dumped endpoint has (a stale load balancer left after its pods were deleted, as kubernetes#112836): they take no traffic here`,
    d.source,
  );
}

/** One frontend address of dump LB `d`: compare with kube-proxy's and program it. */
function oneFrontend(c: Ctx, d: HnsLbModel, vipText: string, seen: Set<number>): void {
  const node = c.node;
  const vip = ip4(vipText);
  if (vip < 0) return;
  const key = vipKey(d.protocol, vip, d.externalPort);
  if (node.lbByKey.has(key)) {
    diag(c, 'hns-lb-duplicate', 'warning', `two HNS load balancers on ${node.name} have ${vipText}:${d.externalPort}/${PROTO[d.protocol] ?? d.protocol}; the first one in the dump is used`, d.source);
    return;
  }
  seen.add(key);
  const ei = c.expectedByKey.get(key);
  const exp = ei !== undefined ? c.expected[ei] : undefined;
  const no = node.noLb.get(key);
  const kind: LbKind = exp?.kind ?? no?.kind ?? (d.vips.length === 0 || vip === node.ip ? 'NodePort' : 'ClusterIP');
  const sid = exp?.service ?? no?.service ?? dumpSid(c, d);
  const lb = dumpLb(c, d, vipText, vip, exp, kind, sid);
  if (c.compare) compareOne(c, d, lb, exp, no);
  if (lb.backends.length === 0) {
    // an LB whose endpoints are all gone (kubernetes#112836) holds the VIP and leads nowhere
    node.noLb.set(key, { reason: R.NO_ENDPOINTS, service: sid, kind, detail: `${describeLb(c, lb)}: HNS load balancer ${d.id || '(no ID)'} has no endpoint that exists` });
    return;
  }
  lbRules(c, d, lb);
  node.lbs.push(lb);
  node.lbByKey.set(key, lb.index);
  node.noLb.delete(key);
}

/** What the emulator does with dump LB `lb`: runs it, or (no endpoint of it exists) drops its traffic. */
function outcome(lb: NodeLb): string {
  return lb.backends.length === 0 ? 'none of its endpoints exists, so its traffic drops (no-endpoints)' : 'the dump is used';
}

/** The diagnostic (if any) comparing dump LB `lb` with kube-proxy's `exp` (or its no-LB record `no`). */
function compareOne(c: Ctx, d: HnsLbModel, lb: NodeLb, exp: NodeLb | undefined, no: NoLb | undefined): void {
  const node = c.node;
  if (exp !== undefined) {
    const diffs = differences(exp, lb, d);
    if (diffs.length > 0) diag(c, 'hns-lb-differs', 'warning', `${describeLb(c, exp)} on ${node.name}: the HNS load balancer differs from what kube-proxy would program: ${diffs.join('; ')} (${outcome(lb)}; a modify that kept the old endpoints, as kubernetes#131466)`, d.source);
  } else if (no !== undefined) {
    diag(c, 'hns-lb-stale', 'error', `HNS has ${describeLb(c, lb)} on ${node.name}, but kube-proxy would program none for it (${no.detail} [${reasonCode(no.reason)}]): a stale load balancer (kubernetes#112836, #113524); ${outcome(lb)}`, d.source);
  } else {
    diag(c, 'hns-lb-stale', 'error', `HNS has ${describeLb(c, lb)} on ${node.name}, for a VIP and port no Service given has: a stale or foreign load balancer (kubernetes#113524); ${outcome(lb)}`, d.source);
  }
}

/** kube-proxy's LBs the dump lacks: a diagnostic each, and the VIP drops with lb-missing-in-hns. */
function missing(c: Ctx, seen: Set<number>): void {
  if (!c.compare) return;
  for (const [key, i] of c.expectedByKey) {
    if (seen.has(key)) continue;
    const exp = c.expected[i];
    const text = describeLb(c, exp);
    diag(c, 'hns-lb-missing', 'error', `kube-proxy would program ${text} on ${c.node.name}, but the HNS dump has no load balancer for it (lost or not recreated: kubernetes#110849, #135802): packets to it are dropped [lb-missing-in-hns]`, c.at);
    c.node.noLb.set(key, { reason: R.LB_MISSING_IN_HNS, service: exp.service, kind: exp.kind, detail: `${text}: kube-proxy would program it, the HNS dump has none` });
  }
}

/**
 * Takes the rules of kube-proxy's LBs `lbs` (the last ones buildNodeLbs made) out of the global rule list, so
 * that no rule is left that no port holds (rule ids are positions: only a tail can go).
 */
function dropRules(b: Builder, lbs: NodeLb[]): void {
  const mine = new Set(lbs.flatMap((l) => [l.hostRule, l.dsrRule]).filter((r) => r !== null));
  let start = b.rules.length;
  while (start > 0 && mine.has(b.rules[start - 1])) start--;
  if (b.rules.length - start === mine.size) b.dropRulesFrom(start);
}

/** For the node an HNS dump was taken on: the dump's load balancers replace kube-proxy's (module comment). */
export function applyHnsTruth(b: Builder, cluster: Cluster, profile: WindowsProfile, node: CompiledNode): void {
  const dumped = (cluster.hnsLoadBalancers ?? []).filter((d) => d.node === node.name);
  if (dumped.length === 0) return;
  const c: Ctx = { b, cluster, profile, node, expected: node.lbs, expectedByKey: new Map(node.lbByKey), compare: cluster.services.length > 0, at: dumped[0].file, dumpSids: new Map() };
  dropRules(b, node.lbs);
  node.lbs = [];
  node.lbByKey.clear();
  if (!c.compare) diag(c, 'hns-lb-only', 'info', `no Service is given: ${node.name}'s load balancers are the HNS dump's alone, compared with nothing`, dumped[0].source);
  const seen = new Set<number>();
  const named = new Set<string>();
  for (const d of dumped) {
    staleRefs(c, d, named);
    if (d.ipv6) {
      diag(c, 'config-ignored', 'info', `HNS load balancer ${d.id || '(no ID)'} is IPv6 (Flags & 2): not programmed (the engine's load balancers are IPv4)`, d.source);
      continue;
    }
    for (const vipText of d.vips.length > 0 ? d.vips : [node.model.internalIP]) oneFrontend(c, d, vipText, seen);
  }
  missing(c, seen);
}
