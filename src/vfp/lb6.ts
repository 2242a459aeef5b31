/**
 * IPv6 load balancers: what kube-proxy winkernel's IPv6 proxier programs on a dual-stack l2bridge node,
 * compiled for the engine (step-ipv6.ts walks them).
 *
 * Upstream facts (kubernetes/kubernetes pkg/proxy/winkernel; domain.md §1.2-1.4 [S1-S3]):
 *  - `NewDualStackProxier` runs an IPv4 and an IPv6 proxier; `DualStackCompatible` is false on an overlay
 *    network with WinOverlay ("Overlay (VXLAN) networks on Windows do not support dual-stack"), so on
 *    overlay no IPv6 Service is programmed (kubernetes.io windows-networking: "You can use IPv4/IPv6
 *    dual-stack networking with l2bridge networks"; "Overlay (VXLAN) networks on Windows do not support
 *    dual-stack networking").
 *  - each proxier takes the cluster IP of its family: pkg/proxy/util `GetClusterIPByFamily` (the entry of
 *    `spec.clusterIPs` at the index of the family in `spec.ipFamilies`; without ipFamilies, `clusterIP`
 *    when it is of the family) -> `clusterIpOfFamily` here; a Service with none of its family is skipped
 *    whole by that proxier (pkg/proxy/servicechangetracker.go `serviceToServiceMap`: `if clusterIP == ""
 *    { return nil }`), and externalIPs / ingress IPs are filtered to the proxier's family
 *    (`newBaseServiceInfo`, MapIPsByIPFamily). EndpointSlices are per family (addressType IPv6): the IPv6
 *    proxier sees the IPv6 endpoints only.
 *  - every LB of the IPv6 proxier carries `LoadBalancerFlagsIPv6` (2): loadbalancer.go
 *    `manageClusterIPLoadbalancer` etc., `isIPv6: proxier.ipFamily == v1.IPv6Protocol` (read in the
 *    kubernetes/kubernetes copy of loadbalancer.go the code index holds, the version with
 *    `endpointsAvailableForLB`; plan11 A14 cites it @ 26d2859e).
 *
 * What is emulated: per Service port, the IPv6 ClusterIP LB (backends: the IPv6 endpoints the IPv4
 * proxier's rule picks, compile.ts selectEndpoints: the ready ones, the serving terminating ones only
 * for a Service with IPv6 ingress IPs whose endpoints all terminate; only local ones with
 * internalTrafficPolicy Local; none -> no LB, `no-endpoints` / `no-local-endpoint`; more unique
 * destinations in the LB as built than the profile allows -> `lb-too-many-destinations`, as for IPv4). A pod's packet to the VIP and port is DNATed to the backend
 * (the IPv6 destination address and port, the TCP/UDP checksum updated: IPv6 has no header checksum).
 * The reply is un-DNATed statelessly: a packet from a backend address and port to a pod is given the
 * VIP and service port back when the LB's hash (the same stateless choice as the forward, lb.ts) picks
 * that backend for the reversed tuple. Cost: one scan of the node's IPv6 LB rules (and of each matching
 * LB's backends for a reply) per IPv6 packet, no state and no allocation; the IPv4 path is untouched.
 * Known limit of the stateless reverse: a connection the backend opens itself from its service port to a
 * client pod whose tuple hashes to it is un-DNATed too.
 *
 * Not emulated (diagnostic `ipv6-lb-not-emulated`, the packets are bridged/routed as before): IPv6
 * NodePort, externalIP and ingress LBs (the model has no IPv6 node address; the NodePort LB's frontend is
 * "any node address"), SNAT to a SourceVIP for remote backends (UNCONFIRMED for IPv6 on l2bridge, where the
 * IPv4 proxier uses the node IP) and for hairpin (a pod balanced to itself gets the packet with its own
 * address as source and destination), DSR (--enable-dsr: the IPv6 LB is DNAT-only either way), access
 * from the host vNIC or the wire (the model has no IPv6 node address; those packets are bridged).
 */

import type { Cluster, Diagnostic, EndpointModel, ServiceModel } from '../cluster/model';
import { ipFamily, parseIPv6 } from '../core/ip';
import { flowHash4 } from '../packet/rewrite';
import { selectEndpoints } from './compile';
import { lbSalt } from './lb';
import { DIR_OUT, FROM_POD, RULE_TERMINATING, anyConditions, type Action, type Conditions, type Group, type Layer, type Rule } from './objects';
import type { WindowsProfile } from './profile';
import { R, warningBit } from './reasons';

/** One IPv6 destination of a load balancer (node-independent). */
export interface Lb6Backend {
  ip: Uint8Array;
  ipText: string;
  port: number;
  /** Global backend id (Dataplane.backendName). */
  id: number;
  node: string | null;
}

export interface NodeLb6 {
  index: number;
  service: number;
  kind: 'ClusterIP';
  proto: number;
  vip: Uint8Array;
  /** `fold6` of `vip` (the hash input). */
  vipFold: number;
  vipText: string;
  extPort: number;
  intPort: number;
  affinity: boolean;
  salt: number;
  backends: Lb6Backend[];
  localCount: number;
  /** Warning bits every packet through this LB carries (as lb.ts NodeLb.warn). */
  warn: number;
  rule: Rule;
}

/** Why an IPv6 VIP of a node has no load balancer. */
export interface NoLb6 {
  vip: Uint8Array;
  /** The IP protocol number and service port of the LB kube-proxy would have built. */
  proto: number;
  port: number;
  service: number;
  reason: number;
  detail: string;
  /** The Service as `ns/name`, and the LB as the summary's diagnostic names it (compile.ts noteLb). */
  ref: string;
  lbText: string;
}

/** A node's IPv6 load balancers: its LBs, the host port group holding their rules, and the VIPs without one. */
export interface Node6 {
  lbs: NodeLb6[];
  /** SLB_GROUP_LB_IPv6_OUT of the host port's SLB_LB_LAYER (null when the node has no IPv6 LB). */
  group: Group | null;
  layer: Layer | null;
  noLb: NoLb6[];
}

/** What the IPv6 compile needs of compile.ts's Builder. */
export interface Lb6Builder {
  rule(name: string, priority: number, flags: number, type: string, c: Conditions, action: Action, data?: string): Rule;
  backend6(ipText: string, port: number): number;
  readonly diagnostics: Diagnostic[];
}

/** One Service port's IPv6 ClusterIP LB, node-independent. */
export interface Plan6 {
  sid: number;
  ref: string;
  proto: number;
  protocolText: string;
  port: number;
  intPort: number;
  vip: Uint8Array;
  vipText: string;
  backends: Lb6Backend[];
  uniqueIps: number;
  affinity: boolean;
  warn: number;
  itpLocal: boolean;
  salt: number;
  id: string;
}

const PROTO_NUM: Record<string, number> = { TCP: 6, UDP: 17, SCTP: 132 };

/** kube-proxy `GetClusterIPByFamily`: the Service's cluster IP of family `fam`, or null. */
export function clusterIpOfFamily(svc: ServiceModel, fam: 4 | 6): string | null {
  const ips = svc.clusterIPs && svc.clusterIPs.length > 0 ? svc.clusterIPs : svc.clusterIP ? [svc.clusterIP] : [];
  const families = svc.ipFamilies ?? [];
  if (families.length === 0) return ips.find((x) => ipFamily(x) === fam) ?? null;
  const k = families.indexOf(fam === 4 ? 'IPv4' : 'IPv6');
  return k >= 0 && k < ips.length ? ips[k] : null;
}

/** A 32-bit fold of the 16 bytes at `a[o..o+16)` (xor of the four words): the IPv6 hash input. */
export function fold6(a: Uint8Array, o: number): number {
  let h = 0;
  for (let w = 0; w < 16; w += 4) h ^= (a[o + w] << 24) | (a[o + w + 1] << 16) | (a[o + w + 2] << 8) | a[o + w + 3];
  return h | 0;
}

/**
 * Index into `lb.backends` for a connection (lb.ts `chooseBackend` over the folded addresses): `src` and
 * `dst` are the folded client and VIP addresses, the ports the client's and the service port.
 */
export function chooseBackend6(lb: NodeLb6, seed: number, proto: number, src: number, sport: number, dport: number): number {
  const n = lb.backends.length;
  if (n === 1) return 0;
  const h = lb.affinity ? flowHash4(0, src, 0, 0, 0, (seed ^ lb.salt) | 0) : flowHash4(proto, src, lb.vipFold, sport, dport, (seed ^ lb.salt) | 0);
  return h % n;
}

/**
 * The IPv6 endpoints kube-proxy's IPv6 proxier balances to: the same rule as the IPv4 proxier's
 * (compile.ts selectEndpoints, the one home of winkernel's terminating-endpoint rule), over the IPv6
 * endpoints, with the Service's IPv6 ingress IPs (MapIPsByIPFamily keeps only those for this proxier).
 */
function usable(svc: ServiceModel): EndpointModel[] {
  const eps = svc.endpoints.filter((e) => ipFamily(e.ip) === 6);
  const hasIngress = svc.ingressIPs.some((x) => ipFamily(x) === 6);
  return selectEndpoints(eps, hasIngress, false, () => false).picked.map((k) => eps[k]);
}

/**
 * The IPv6 ClusterIP plans of every Service port, and the diagnostics of the IPv6 Services: on overlay
 * none is programmed (`ipv6-overlay-unsupported`); on l2bridge the IPv6 LBs the emulator does not build
 * are named (`ipv6-lb-not-emulated`).
 */
export function planServices6(b: Lb6Builder, cluster: Cluster, profile: WindowsProfile, overlay: boolean): Plan6[] {
  const plans: Plan6[] = [];
  cluster.services.forEach((svc, sid) => {
    if (svc.type === 'ExternalName') return;
    const ref = `${svc.namespace}/${svc.name}`;
    const vipText = clusterIpOfFamily(svc, 6);
    serviceDiagnostics(b, svc, ref, vipText, overlay);
    const vip = vipText ? parseIPv6(vipText) : null;
    if (overlay || vip === null || vipText === null) return;
    const eps = usable(svc);
    // as the IPv4 plan (compile.ts planServices): affinity timeouts are not passed to HNS; old builds lack affinity
    const wantAffinity = svc.sessionAffinity === 'ClientIP';
    const warn = (svc.affinityTimeoutSeconds !== null ? warningBit(R.AFFINITY_TIMEOUT_IGNORED) : 0) | (wantAffinity && !profile.sessionAffinity ? warningBit(R.SESSION_AFFINITY_UNSUPPORTED) : 0);
    svc.ports.forEach((sp, pi) => {
      const portOf = (e: EndpointModel): number | null => e.ports[sp.name] ?? e.ports[''] ?? (typeof sp.targetPort === 'number' ? sp.targetPort : null);
      const with6 = eps.filter((e) => portOf(e) !== null);
      const intPort = with6.length > 0 ? (portOf(with6[0]) as number) : typeof sp.targetPort === 'number' ? sp.targetPort : sp.port;
      const backends = with6.map((e) => ({ ip: parseIPv6(e.ip) as Uint8Array, ipText: e.ip, port: intPort, id: b.backend6(e.ip, intPort), node: e.node }));
      plans.push({
        sid,
        ref,
        proto: PROTO_NUM[sp.protocol] ?? 0,
        protocolText: sp.protocol,
        port: sp.port,
        intPort,
        vip,
        vipText,
        backends,
        uniqueIps: new Set(with6.map((e) => e.ip)).size,
        affinity: wantAffinity && profile.sessionAffinity,
        warn,
        itpLocal: svc.internalTrafficPolicy === 'Local',
        salt: lbSalt(sid, pi),
        id: hex8(`${ref}/${sp.name}/IPv6`),
      });
    });
  });
  return plans;
}

function serviceDiagnostics(b: Lb6Builder, svc: ServiceModel, ref: string, vip6: string | null, overlay: boolean): void {
  const source = `services[${ref}]`;
  const v6Ext = [...svc.externalIPs, ...svc.ingressIPs].filter((x) => ipFamily(x) === 6);
  if (overlay) {
    if (vip6 !== null || v6Ext.length > 0) {
      b.diagnostics.push({
        code: 'ipv6-overlay-unsupported',
        message: `service ${ref}: its IPv6 address(es) ${[vip6, ...v6Ext].filter((x) => x).join(', ')} get no load balancer: kube-proxy runs no IPv6 proxier on an overlay network (DualStackCompatible is false with WinOverlay: "Overlay (VXLAN) networks on Windows do not support dual-stack")`,
        source,
        severity: 'warning',
      });
    }
    return;
  }
  if (vip6 === null) {
    if (v6Ext.length > 0) {
      b.diagnostics.push({
        code: 'config-ignored',
        message: `service ${ref}: IPv6 address(es) ${v6Ext.join(', ')} of a Service without an IPv6 cluster IP: the IPv6 proxier skips the Service and the IPv4 proxier keeps only IPv4 addresses, so no load balancer has them`,
        source,
        severity: 'info',
      });
    }
    return;
  }
  const missing: string[] = v6Ext.map((x) => `${svc.externalIPs.includes(x) ? 'externalIP' : 'ingress'} ${x}`);
  if (svc.type === 'NodePort' || svc.type === 'LoadBalancer') missing.push('NodePort (on the node\'s IPv6 addresses)');
  if (missing.length > 0) {
    b.diagnostics.push({
      code: 'ipv6-lb-not-emulated',
      message: `service ${ref}: kube-proxy's IPv6 proxier programs ${missing.join(', ')}; the emulator builds only the IPv6 ClusterIP load balancer, so packets to these are bridged and routed without load balancing`,
      source,
      severity: 'warning',
    });
  }
}

function hex8(s: string): string {
  let h = 0x811c9dc5;
  for (let k = 0; k < s.length; k++) h = Math.imul(h ^ (s.charCodeAt(k) & 0xff), 0x01000193);
  return (h >>> 0).toString(16).padStart(8, '0');
}

/**
 * Node `nodeName`'s IPv6 ClusterIP LBs from `plans` (`localPod6`: the node's pods' IPv6 addresses as
 * text), their rules (in SLB_GROUP_LB_IPv6_OUT, built here; the caller puts it in the host port's
 * SLB_LB_LAYER), and the VIPs without one.
 */
export function buildNodeLbs6(b: Lb6Builder, profile: WindowsProfile, nodeName: string, localPod6: Set<string>, plans: Plan6[]): Node6 {
  const out: Node6 = { lbs: [], group: null, layer: null, noLb: [] };
  const isLocal = (x: Lb6Backend) => x.node === nodeName || localPod6.has(x.ipText);
  const rules: Rule[] = [];
  for (const plan of plans) {
    const detail = `${plan.ref} ClusterIP [${plan.vipText}]:${plan.port}/${plan.protocolText}`;
    const no = (reason: number, why: string, short: string) =>
      out.noLb.push({ vip: plan.vip, proto: plan.proto, port: plan.port, service: plan.sid, reason, detail: `${detail}: ${why}`, ref: plan.ref, lbText: `${nodeName} ClusterIP [${plan.vipText}]:${plan.port}/${plan.protocolText} (${short})` });
    if (plan.backends.length === 0) {
      no(R.NO_ENDPOINTS, 'no usable IPv6 endpoint', 'no usable IPv6 endpoint');
      continue;
    }
    const backends = plan.itpLocal ? plan.backends.filter(isLocal) : plan.backends;
    if (backends.length === 0) {
      no(R.NO_LOCAL_ENDPOINT, `no endpoint on ${nodeName}`, 'no local endpoint');
      continue;
    }
    // HNS's limit is per load balancer as built (compile.ts buildLb): ITP Local's holds the local ones only
    const destinations = backends === plan.backends ? plan.uniqueIps : new Set(backends.map((x) => x.ipText)).size;
    if (destinations > profile.maxLbDestinations) {
      no(R.LB_TOO_MANY_DESTINATIONS, `${destinations} destinations > ${profile.maxLbDestinations} (profile ${profile.name})`, String(destinations));
      continue;
    }
    const localCount = backends.filter(isLocal).length;
    const index = out.lbs.length;
    const allLocal = localCount === backends.length;
    const name = `${allLocal ? (backends.length === 1 ? 'NAT' : 'LB') : 'LB_HOST'}_${plan.id}_${plan.vipText}_${plan.port}_${plan.intPort}_${plan.proto}`;
    const c: Conditions = {
      ...anyConditions(),
      protocols: [plan.proto],
      // The VIP is an IPv6 address, which a Prefix (IPv4) cannot hold: the text names it, the match is the
      // engine's (step-ipv6.ts compares the LB's `vip`); the group is IPv6, which the IPv4 walk skips.
      dst: [{ base: 0, mask: 0, text: `${plan.vipText}/128` }],
      dstPorts: [[plan.port, plan.port]],
      from: FROM_POD,
    };
    const data = `${plan.ref} ClusterIP (IPv6, LoadBalancerFlagsIPv6): ${backends.length} backend(s), ${localCount} local; ${plan.affinity ? 'Distribution SourceIP' : 'Distribution None'}; DNAT only (no SourceVIP SNAT emulated for IPv6)`;
    const rule = b.rule(name, 100, RULE_TERMINATING, 'lb', c, { kind: 'lb6', lb: index }, data);
    rules.push(rule);
    out.lbs.push({
      index,
      service: plan.sid,
      kind: 'ClusterIP',
      proto: plan.proto,
      vip: plan.vip,
      vipFold: fold6(plan.vip, 0),
      vipText: plan.vipText,
      extPort: plan.port,
      intPort: plan.intPort,
      affinity: plan.affinity,
      salt: plan.salt,
      backends,
      localCount,
      warn: plan.warn,
      rule,
    });
  }
  if (rules.length > 0) out.group = { name: 'SLB_GROUP_LB_IPv6_OUT', priority: 100, dir: DIR_OUT, family: 'IPv6', rules, byVip: null };
  return out;
}
