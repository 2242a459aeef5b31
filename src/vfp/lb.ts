/**
 * HNS load balancers as kube-proxy's winkernel proxier programs them on one Windows node (domain.md §1.3-1.7),
 * and the backend choice.
 *
 * Building (compile time, `buildNodeLbs`): per Service port, one LB for the ClusterIP, one for the NodePort
 * (frontend: the node's address), one per externalIP and one per LoadBalancer ingress IP, with:
 *  - backends: the ready endpoints; a Service with ingress IPs whose endpoints all terminate keeps its
 *    ClusterIP LB with the serving terminating ones and gets no other (compile.ts selectEndpoints); local ones only for
 *    internalTrafficPolicy Local (ClusterIP), externalTrafficPolicy Local with DSR (NodePort, externalIP,
 *    ingress) and preserve-destination (NodePort, ingress);
 *  - no LB at all when there is no backend (no-endpoints, or no-local-endpoint after the Local filter) or when
 *    that load balancer's own unique destination addresses exceed the profile's limit (lb-too-many-destinations:
 *    HNS refuses one LB, so an ETP Local NodePort LB with few local endpoints is built while the Service's
 *    ClusterIP LB is refused): the VIP then has only a `NoLb` record saying why;
 *  - DSR: the ClusterIP LB when kube-proxy runs with --enable-dsr and WinDSR on a DSR-capable build; the
 *    others for externalTrafficPolicy Local (and ingress for preserve-destination) whenever the build supports
 *    DSR (profile.dsr, kube-proxy's hcn.DsrSupported()), with or without --enable-dsr (winkernel
 *    `newServiceInfo`: localTrafficDSR is forced off only when DsrSupported fails; diagnostics.ts
 *    `localTrafficDsr` cites it); on a build without DSR ETP Local is treated as Cluster with the warning
 *    local-policy-requires-dsr;
 *  - SourceVIP (the SNAT address of non-DSR flows to remote backends): on overlay, kube-proxy's --source-vip,
 *    except that the node IP is used when a remote backend is outside the cluster or is a node IP (§1.6); on
 *    l2bridge the node IP ("For L2Bridge network the Source VIP is always the NodeIP", UNCONFIRMED that HNS
 *    substitutes it for the empty SourceVIP).
 *
 * Choosing (per new connection, `chooseBackend`): a stateless hash of the seed, the LB and either the
 * connection's 5-tuple (DistributionType None: "loadbalances each connection") or the client IP
 * (DistributionType SourceIP, sessionAffinity ClientIP: "all traffic from a client IP to the same pod").
 * Nothing is stored: the same seed and tuple give the same backend on any shard.
 */

import { flowHash4 } from '../packet/rewrite';
import type { Rule } from './objects';

export type LbKind = 'ClusterIP' | 'NodePort' | 'ExternalIP' | 'Ingress';

/** One destination of a load balancer; node-independent, so one array serves every node's LB of a Service port. */
export interface LbBackend {
  ip: number;
  ipText: string;
  port: number;
  /** Global backend id (Dataplane.backendName). */
  id: number;
  /** EndpointSlice nodeName, null when unknown (whether it is local is the node's question: `isLocalBackend`). */
  node: string | null;
}

export interface NodeLb {
  /** Index in the node's `lbs`. */
  index: number;
  /** Global service id (Dataplane.serviceName). */
  service: number;
  kind: LbKind;
  proto: number;
  vip: number;
  vipText: string;
  extPort: number;
  intPort: number;
  /** LoadBalancerFlagsDSR: DNAT only, at the client's port. */
  dsr: boolean;
  /** PortMapping PreserveDIP: no DNAT of the address (the port is still mapped). */
  preserveDip: boolean;
  /** DistributionType SourceIP (sessionAffinity ClientIP). */
  affinity: boolean;
  /** The node itself may use this LB (PortMapping LocalRoutedVIP and the profile). */
  hostAccess: boolean;
  /** SNAT address for non-DSR flows to remote backends and hairpin flows. */
  sourceVip: number;
  backends: LbBackend[];
  /** Warning bits every flow through this LB carries. */
  warn: number;
  /** Hash salt: the Service port, so ClusterIP and NodePort of one port agree for a client. */
  salt: number;
  /** How many backends run on this node. */
  localCount: number;
  /** The host-port rule and, for DSR, the pod-port rule (set by compile.ts). */
  hostRule: Rule | null;
  dsrRule: Rule | null;
}

/** Why a VIP of a node has no load balancer. */
export interface NoLb {
  reason: number;
  service: number;
  kind: LbKind;
  detail: string;
}

/**
 * Index into `lb.backends` for a new connection (see the module comment). `src..dport` are the packet's
 * values as it reaches the load balancer.
 */
export function chooseBackend(lb: NodeLb, seed: number, proto: number, src: number, dst: number, sport: number, dport: number): number {
  const n = lb.backends.length;
  if (n === 1) return 0;
  const h = lb.affinity ? flowHash4(0, src, 0, 0, 0, (seed ^ lb.salt) | 0) : flowHash4(proto, src, dst, sport, dport, (seed ^ lb.salt) | 0);
  return h % n;
}

/** A stable 32-bit salt for (service id, port index). */
export function lbSalt(service: number, portIndex: number): number {
  let h = Math.imul((service + 1) ^ 0x5bd1e995, 0x27d4eb2d);
  h = Math.imul(h ^ (h >>> 15) ^ (portIndex + 1), 0x85ebca6b);
  return (h ^ (h >>> 13)) >>> 0;
}
