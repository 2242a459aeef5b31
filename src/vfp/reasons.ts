/**
 * The reason table of the VFP data plane: one row per outcome that is not a plain success, with its
 * CONTRACT code (DESIGN.md, "reason codes"), a small numeric id used in typed-array columns, the verdict
 * the reason gives a packet by default, whether it is a warning (does not change the verdict) or a config
 * diagnostic, and one sentence in the words a Windows admin recognises (the pktmon drop reason string or
 * the verbatim HNS / kube-proxy message where domain.md §6.4 and §1 give one).
 *
 * Everything else is derived from `REASON_TABLE`: the `R` id constants, `reasonCode(id)`, `reasonId(code)`,
 * the warning bits of `Results.warnings`, and the sentences `explain` prints (VPP's `*_error.def`, OVS's
 * `xlate_strerror`: one source of truth).
 *
 * Verdict numbers are the Results column values: 0 delivered, 1 forwarded, 2 no-return, 3 dropped, 4 ignored.
 */

/** Verdict values of `Results.verdict` (also the order of DESIGN.md's verdict list). */
export const V = { DELIVERED: 0, FORWARDED: 1, NO_RETURN: 2, DROPPED: 3, IGNORED: 4 } as const;
export type VerdictId = (typeof V)[keyof typeof V];
/** CONTRACT strings of the verdicts, indexed by verdict id. */
export const VERDICT_NAMES = ['delivered', 'forwarded', 'no-return', 'dropped', 'ignored'] as const;
export type VerdictName = (typeof VERDICT_NAMES)[number];

/** What a reason does to a packet: decides its verdict, rides along as a warning, or only describes the config. */
export type ReasonKind = 'verdict' | 'warning' | 'diagnostic';

export interface ReasonRow {
  /** CONTRACT code (never renamed). */
  code: string;
  kind: ReasonKind;
  /** The verdict a packet gets when this reason decides it (warnings: the verdict is left as it is). */
  verdict: VerdictId;
  /** One sentence for explain / the summary. */
  sentence: string;
  /** The pktmon drop reason (domain.md §6.1) this corresponds to, when there is one. */
  pktmon?: string;
}

/**
 * The rows, in id order (id = index + 1; id 0 means "no reason"). Append new rows at the end so that ids
 * stay stable across versions (they appear in typed arrays handed between threads, never in outputs).
 */
export const REASON_TABLE: readonly ReasonRow[] = [
  {
    code: 'icmp-not-transposed',
    kind: 'verdict',
    verdict: V.NO_RETURN,
    sentence:
      'VFP does not transpose ICMP: OutboundNAT programs SNAT rules only for TCP and UDP (SNAT_TCP_OUTBOUNDNAT / SNAT_UDP_OUTBOUNDNAT), so ICMP to a destination outside the ExceptionList leaves with the pod IP and its reply is not routed back (use curl instead of ping)',
  },
  {
    code: 'nodeport-local-access',
    kind: 'verdict',
    verdict: V.DROPPED,
    sentence: 'Local NodePort access from the node itself fails on Windows (a known limitation); NodePort access works from other nodes and external clients',
  },
  {
    code: 'node-to-service-ip',
    kind: 'verdict',
    verdict: V.DROPPED,
    sentence: 'The Windows node cannot reach a Service through its ClusterIP (the ClusterIP load balancer is not programmed for host traffic); Windows pods can',
  },
  {
    code: 'lb-too-many-destinations',
    kind: 'verdict',
    verdict: V.DROPPED,
    sentence:
      'HNS: hcnCreateLoadBalancer failed: "Unable to initialize VFP LB rule: invalid number of destinations" (more backends than this Windows build allows in one load balancer rule), so no load balancer is programmed for this VIP on this node',
  },
  {
    code: 'no-endpoints',
    kind: 'verdict',
    verdict: V.DROPPED,
    sentence: 'kube-proxy: "Endpoint information not available for service, not applying any policy": the Service has no usable endpoint, so no HNS load balancer exists for this VIP',
  },
  {
    code: 'no-local-endpoint',
    kind: 'verdict',
    verdict: V.DROPPED,
    sentence:
      'kube-proxy: "Skipped creating Hns LoadBalancer": the traffic policy is Local and this node has no local endpoint, so no load balancer exists for this VIP here',
  },
  {
    code: 'local-policy-requires-dsr',
    kind: 'warning',
    verdict: V.FORWARDED,
    sentence:
      'externalTrafficPolicy Local needs DSR on Windows ("Local traffic policy requires DSR mode"): without it the load balancer uses every endpoint, as with Cluster, and the client IP is not kept',
  },
  {
    code: 'affinity-timeout-ignored',
    kind: 'warning',
    verdict: V.FORWARDED,
    sentence:
      'sessionAffinityConfig.clientIP.timeoutSeconds is not supported on Windows: HNS load balancers have no affinity timeout and kube-proxy never sends it',
  },
  {
    code: 'ipv6-overlay-unsupported',
    kind: 'verdict',
    verdict: V.DROPPED,
    sentence: 'IPv6 communication between Windows pods on an overlay (VXLAN) network is not supported: overlay networks on Windows are IPv4 only',
  },
  {
    code: 'flannel-node-to-remote-pod',
    kind: 'verdict',
    verdict: V.DROPPED,
    sentence: 'flannel VXLAN on Windows: node-to-pod connectivity is not possible by design, except to pods on the same node (flannel v0.12.0 or later)',
  },
  {
    code: 'vni-mismatch',
    kind: 'verdict',
    verdict: V.DROPPED,
    sentence: 'Virtual Subnet ID does not match: the VXLAN VNI or UDP port is not the overlay network\'s (flannel on Windows is restricted to VNI 4096 and UDP port 4789)',
    pktmon: 'Virtual Subnet ID does not match',
  },
  {
    code: 'snat-ports-exhausted',
    kind: 'verdict',
    verdict: V.DROPPED,
    sentence: 'Insufficient resources: no OutboundNAT port is left for this endpoint (its 64-port blocks of the node\'s dynamic port range are all in use)',
    pktmon: 'Insufficient resources',
  },
  {
    code: 'nat-reply-mismatch',
    kind: 'verdict',
    verdict: V.DROPPED,
    sentence: 'HNS OutboundNAT accepts replies only from the original destination address; this reply to a NATed flow comes from another address',
  },
  {
    code: 'no-route',
    kind: 'verdict',
    verdict: V.DROPPED,
    sentence: 'No route to the destination on this network: l2bridge needs a route (UDR) to every remote pod subnet, overlay a RemoteSubnetRoute to the remote node',
  },
  {
    code: 'mac-spoofing-disabled',
    kind: 'verdict',
    verdict: V.DROPPED,
    sentence: 'Spoofed MAC address is not allowed: MAC spoofing is off on the node\'s VM network adapter, so frames of container MACs are dropped (enable MAC spoofing)',
    pktmon: 'Spoofed MAC address is not allowed',
  },
  {
    code: 'acl-blocked',
    kind: 'verdict',
    verdict: V.DROPPED,
    sentence: 'Failed security policy: an HNS ACL policy (a VFP ACL rule) blocks it',
    pktmon: 'Failed security policy',
  },
  {
    code: 'dns-pqdn-unresolvable',
    kind: 'warning',
    verdict: V.FORWARDED,
    sentence:
      'Windows pods have a single DNS suffix (their namespace\'s) and treat every name with a "." as fully qualified, so a partially qualified name such as kubernetes.default gets NXDOMAIN',
  },
  {
    code: 'host-network-unsupported',
    kind: 'diagnostic',
    verdict: V.FORWARDED,
    sentence: 'Host networking mode is not supported for pods on Windows nodes',
  },
  {
    code: 'malformed',
    kind: 'verdict',
    verdict: V.DROPPED,
    sentence: 'Invalid Packet: a header contradicts its own length or version fields, so the node drops it',
    pktmon: 'Invalid Packet',
  },
  {
    code: 'truncated',
    kind: 'verdict',
    verdict: V.IGNORED,
    sentence: 'The capture ended before the headers needed to decide (a snap length limit): the emulator cannot judge this packet',
  },
  {
    code: 'unsupported-linktype',
    kind: 'verdict',
    verdict: V.IGNORED,
    sentence: 'The capture interface\'s link type is not decoded, so the packet cannot be judged',
  },
  {
    code: 'not-ip',
    kind: 'verdict',
    verdict: V.IGNORED,
    sentence: 'Not an IP packet (ARP, LLDP, ...): VFP rules are not involved',
  },
  {
    code: 'no-emulated-node',
    kind: 'verdict',
    verdict: V.IGNORED,
    sentence: 'The packet touches no emulated Windows node (neither its addresses nor a known connection lead to one)',
  },
  // ---- codes added beyond the CONTRACT table (new cases) ----
  {
    code: 'no-rule',
    kind: 'verdict',
    verdict: V.DROPPED,
    sentence: 'No VFP rule, route or cached flow decided this packet, so it is dropped (the default action)',
    pktmon: 'Filtered',
  },
  {
    code: 'session-affinity-unsupported',
    kind: 'warning',
    verdict: V.FORWARDED,
    sentence:
      'kube-proxy: "Session Affinity is not supported on this version of Windows": sessionAffinity ClientIP needs Windows Server 2022 (HNS 12.0); each connection is balanced on its own',
  },
  {
    code: 'protocol-not-transposed',
    kind: 'verdict',
    verdict: V.NO_RETURN,
    sentence:
      'OutboundNAT programs SNAT rules only for TCP and UDP: this protocol leaves a pod with the pod IP towards a destination outside the ExceptionList, and replies cannot come back',
  },
  {
    code: 'dsr-unsupported',
    kind: 'diagnostic',
    verdict: V.FORWARDED,
    sentence: 'kube-proxy asks for DSR but this Windows build\'s HNS does not support it: load balancers are programmed without DSR',
  },
  {
    code: 'source-vip-missing',
    kind: 'diagnostic',
    verdict: V.FORWARDED,
    sentence: 'kube-proxy on an overlay network needs --source-vip ("source-vip flag not set"); the node IP is used as the SourceVIP instead',
  },
  {
    code: 'no-service-port',
    kind: 'verdict',
    verdict: V.DROPPED,
    sentence: 'The destination is a Service IP, but no Service port of this protocol and port has a load balancer on it: nothing answers',
  },
  {
    code: 'lb-missing-in-hns',
    kind: 'verdict',
    verdict: V.DROPPED,
    sentence:
      "kube-proxy would program a load balancer for this Service VIP and port, but the node's HNS state (the dump) has none: nothing takes the traffic (HNS load balancers lost or not recreated: kubernetes#110849, #135802)",
  },
  {
    code: 'pod-ip-not-routable',
    kind: 'verdict',
    verdict: V.NO_RETURN,
    sentence:
      'The packet leaves with the pod IP (no SNAT: its destination is in the OutBoundNAT ExceptionList, or the endpoint has no OutBoundNAT) to a host that is no node and outside the cluster\'s pod and Service CIDRs, which has no route back to the pod CIDR: its reply cannot return (remove the destination from the ExceptionList, or route the pod CIDRs in the underlay: --windows ws2022:underlayRoutesPodCidrs=true)',
  },
  {
    code: 'outboundnat-reply-unmatched',
    kind: 'verdict',
    verdict: V.DROPPED,
    sentence:
      'The pod\'s reply to a client outside the OutBoundNAT ExceptionList that reached the pod IP directly meets the OutboundNAT SNAT rule and is dropped ("The returned outbound packets from the Windows pod to the AppGW are dropped", aks-engine#2080): add the client\'s subnet (the VNET CIDR) to the ExceptionList',
  },
  {
    code: 'ipv6-lb-not-emulated',
    kind: 'diagnostic',
    verdict: V.FORWARDED,
    sentence:
      'kube-proxy\'s IPv6 proxier programs this load balancer (NodePort, externalIP or ingress IPv6), but the emulator builds only IPv6 ClusterIP load balancers: packets to it are bridged and routed without load balancing',
  },
  {
    code: 'pktmon-copy',
    kind: 'verdict',
    verdict: V.IGNORED,
    sentence:
      'A pktmon capture logs one packet once per component it passes: this is another component\'s copy of a packet judged once, at the component the view names (--pktmon-component), so it is not judged again (its record says copy_of)',
  },
];

/** Reason ids as constants (R.ICMP_NOT_TRANSPOSED = 1, ...), derived from the table. */
function ids<T extends readonly ReasonRow[]>(rows: T): Record<string, number> {
  const out: Record<string, number> = {};
  rows.forEach((r, k) => {
    out[r.code.toUpperCase().replace(/-/g, '_')] = k + 1;
  });
  return out;
}

const ID = ids(REASON_TABLE);

/** Numeric reason ids (0 = none). */
export const R = {
  NONE: 0,
  ICMP_NOT_TRANSPOSED: ID.ICMP_NOT_TRANSPOSED,
  NODEPORT_LOCAL_ACCESS: ID.NODEPORT_LOCAL_ACCESS,
  NODE_TO_SERVICE_IP: ID.NODE_TO_SERVICE_IP,
  LB_TOO_MANY_DESTINATIONS: ID.LB_TOO_MANY_DESTINATIONS,
  NO_ENDPOINTS: ID.NO_ENDPOINTS,
  NO_LOCAL_ENDPOINT: ID.NO_LOCAL_ENDPOINT,
  LOCAL_POLICY_REQUIRES_DSR: ID.LOCAL_POLICY_REQUIRES_DSR,
  AFFINITY_TIMEOUT_IGNORED: ID.AFFINITY_TIMEOUT_IGNORED,
  IPV6_OVERLAY_UNSUPPORTED: ID.IPV6_OVERLAY_UNSUPPORTED,
  FLANNEL_NODE_TO_REMOTE_POD: ID.FLANNEL_NODE_TO_REMOTE_POD,
  VNI_MISMATCH: ID.VNI_MISMATCH,
  SNAT_PORTS_EXHAUSTED: ID.SNAT_PORTS_EXHAUSTED,
  NAT_REPLY_MISMATCH: ID.NAT_REPLY_MISMATCH,
  NO_ROUTE: ID.NO_ROUTE,
  MAC_SPOOFING_DISABLED: ID.MAC_SPOOFING_DISABLED,
  ACL_BLOCKED: ID.ACL_BLOCKED,
  DNS_PQDN_UNRESOLVABLE: ID.DNS_PQDN_UNRESOLVABLE,
  HOST_NETWORK_UNSUPPORTED: ID.HOST_NETWORK_UNSUPPORTED,
  MALFORMED: ID.MALFORMED,
  TRUNCATED: ID.TRUNCATED,
  UNSUPPORTED_LINKTYPE: ID.UNSUPPORTED_LINKTYPE,
  NOT_IP: ID.NOT_IP,
  NO_EMULATED_NODE: ID.NO_EMULATED_NODE,
  NO_RULE: ID.NO_RULE,
  SESSION_AFFINITY_UNSUPPORTED: ID.SESSION_AFFINITY_UNSUPPORTED,
  PROTOCOL_NOT_TRANSPOSED: ID.PROTOCOL_NOT_TRANSPOSED,
  DSR_UNSUPPORTED: ID.DSR_UNSUPPORTED,
  NO_SERVICE_PORT: ID.NO_SERVICE_PORT,
  SOURCE_VIP_MISSING: ID.SOURCE_VIP_MISSING,
  LB_MISSING_IN_HNS: ID.LB_MISSING_IN_HNS,
  POD_IP_NOT_ROUTABLE: ID.POD_IP_NOT_ROUTABLE,
  OUTBOUNDNAT_REPLY_UNMATCHED: ID.OUTBOUNDNAT_REPLY_UNMATCHED,
  IPV6_LB_NOT_EMULATED: ID.IPV6_LB_NOT_EMULATED,
  PKTMON_COPY: ID.PKTMON_COPY,
} as const;

/** Number of reason ids including 0 (size of per-reason counter arrays). */
export const REASON_COUNT = REASON_TABLE.length + 1;

const CODE_BY_ID: (string | null)[] = [null, ...REASON_TABLE.map((r) => r.code)];
const ID_BY_CODE = new Map<string, number>(REASON_TABLE.map((r, k) => [r.code, k + 1]));

/** The CONTRACT code of reason `id`, null for 0 (none) or an unknown id. */
export function reasonCode(id: number): string | null {
  return CODE_BY_ID[id] ?? null;
}

/** The id of CONTRACT code `code`, or 0 when unknown. */
export function reasonId(code: string): number {
  return ID_BY_CODE.get(code) ?? 0;
}

/** The sentence of reason `id` ('' for none). */
export function reasonSentence(id: number): string {
  return REASON_TABLE[id - 1]?.sentence ?? '';
}

// ---- warnings as bits -----------------------------------------------------------------------------

/** Reason ids whose kind is 'warning', in table order; a warning's bit in `Results.warnings` is its index here. */
export const WARNING_IDS: readonly number[] = REASON_TABLE.flatMap((r, k) => (r.kind === 'warning' ? [k + 1] : []));
if (WARNING_IDS.length > 31) throw new Error('more than 31 warning reasons do not fit the warnings bitmask');

const BIT_BY_ID = new Int8Array(REASON_COUNT).fill(-1);
WARNING_IDS.forEach((id, bit) => {
  BIT_BY_ID[id] = bit;
});

/** The bitmask bit of warning reason `id` (0 when `id` is not a warning). */
export function warningBit(id: number): number {
  const b = BIT_BY_ID[id];
  return b < 0 ? 0 : 1 << b;
}

/** Warning reason ids set in bitmask `mask`, in table order. */
export function warningIds(mask: number): number[] {
  const out: number[] = [];
  for (let b = 0; b < WARNING_IDS.length; b++) if ((mask & (1 << b)) !== 0) out.push(WARNING_IDS[b]);
  return out;
}

/** CONTRACT codes of the warnings in bitmask `mask` (the verdict record's `warnings`). */
export function warningCodes(mask: number): string[] {
  return warningIds(mask).map((id) => CODE_BY_ID[id] as string);
}

// ---- pktmon drop reasons ---------------------------------------------------------------------------

/**
 * pktmon's drop reason strings by id (`PktMon_DropReason`, /work/shared/reference/domain.md §6.1, the
 * id -> string pktmon and NetMon show): the one home of these strings; REASON_TABLE's `pktmon` fields use
 * the same words. Newer, VFP-specific ids are UNCONFIRMED (domain.md §7): an id not here prints as
 * `DropReason N`.
 */
export const PKTMON_DROP_REASONS: ReadonlyMap<number, string> = new Map<number, string>([
  [0, 'Unspecified'], [1, 'Invalid Data'], [2, 'Invalid Packet'], [3, 'Insufficient resources'], [4, 'Adapter not ready'],
  [5, 'Media Disconnected'], [6, 'Not accepted'], [7, 'Device busy'], [8, 'Filtered'], [9, 'Filtered VLAN'],
  [10, 'Unauthorized VLAN'], [11, 'Unauthorized MAC'], [12, 'Failed security policy'], [13, 'Failed pVlan setting'],
  [14, 'QoS drop'], [15, 'IPSec drop'], [16, 'Spoofed MAC address is not allowed'], [17, 'Failed DHCP guard'],
  [18, 'Failed Router Guard'], [19, 'Bridge is not allowed inside VM'], [20, 'Virtual Subnet ID does not match'],
  [21, 'Required vSwitch extension is missing'], [22, 'Creating vSwitch over another vSwitch is not allowed'],
  [23, 'MTU mismatch'], [24, 'Native forwarding required'], [25, 'Invalid VLAN format'], [26, 'Invalid destination MAC'],
  [27, 'Invalid source MAC'], [28, 'First NB too small'], [29, 'Windows Network Virtualization error'],
  [30, 'Storm limit exceeded'], [31, 'ICMP request injected by switch'], [32, 'Failed to update destination list'],
  [33, 'Destination NIC is disabled'], [34, 'Packet does not match destination NIC packet filter'],
  [35, 'vSwitch data flow is disabled'], [36, 'Port isolation setting does not allow untagged traffic'],
  [37, 'Invalid PD queue'], [38, 'Adapter is in low power state'], [101, 'Adapter paused'], [102, 'Adapter reset in progress'],
  [103, 'Send aborted'], [104, 'Unsupported EtherType'], [201, 'Microport error'], [202, 'VF not ready'],
  [203, 'Microport not ready'], [204, 'VMBus error'],
]);

/** The pktmon string of drop reason `id` (`DropReason N` for an id domain.md §6.1 does not list). */
export function pktmonDropReason(id: number): string {
  return PKTMON_DROP_REASONS.get(id) ?? `DropReason ${id}`;
}

/** The id of a pktmon drop reason string (case-insensitive), or -1. */
export function pktmonDropReasonId(text: string): number {
  const t = text.trim().toLowerCase();
  for (const [id, s] of PKTMON_DROP_REASONS) if (s.toLowerCase() === t) return id;
  return -1;
}

/** The pktmon drop reason string a reason id corresponds to (its row's `pktmon`), or null. */
export function reasonPktmon(id: number): string | null {
  return REASON_TABLE[id - 1]?.pktmon ?? null;
}
