/**
 * The one validated cluster model that every importer (src/cluster/importers) feeds and the VFP
 * compiler (src/vfp) reads. Plain data, no behaviour. Addresses are strings as users write them
 * (IPv4 dotted, IPv6 RFC 5952); CIDRs as `a.b.c.d/len`. MACs are lower-case `aa:bb:cc:dd:ee:ff`.
 *
 * Facts a user did not give are derived the way HNS and the plugins derive them (see
 * ../shared/reference/domain.md) by `finalizeCluster` in src/cluster/merge.ts, and every such
 * derivation is recorded in `derived` so `vfp-emu rules` can say where a value came from.
 */

export type NetworkMode = 'l2bridge' | 'overlay';

export interface Diagnostic {
  /** A reason code from the CONTRACT table (e.g. `host-network-unsupported`) or a config code (`config-*`). */
  code: string;
  message: string;
  /** The file and field path (or object `ns/name`) the diagnostic is about. */
  source: string;
  /**
   * (Additive.) `error`: Windows fails this (no load balancer, unsupported mode); `warning`: it works
   * differently than on Linux; `info`: a note (a default used, an object skipped).
   */
  severity?: 'error' | 'warning' | 'info';
}

/** (Additive.) An HNS ACL endpoint policy (v1 `{"Type":"ACL",...}` or v2 `{"Type":"ACL","Settings":{...}}`). */
export interface AclModel {
  action: 'Allow' | 'Block' | 'Pass';
  direction: 'In' | 'Out';
  /** IP protocol numbers; empty means any (HNS writes 256 for any). */
  protocols: number[];
  /** CIDRs; empty means any. */
  localAddresses: string[];
  remoteAddresses: string[];
  /** Inclusive port ranges; empty means any. */
  localPorts: [number, number][];
  remotePorts: [number, number][];
  priority: number;
  /** `Switch` = a VFP rule, `Host` = a WFP rule. */
  ruleType: 'Switch' | 'Host';
  /**
   * (Additive.) The IP of the HNS endpoint whose policy list held the ACL (a Get-HnsEndpoint dump's
   * `Policies`): it is programmed on that endpoint's port only. Absent: a CNI config's ACL, which the plugin
   * puts on every endpoint it creates (every pod port).
   */
  endpoint?: string;
}

/** The HNS network the Windows nodes' pods attach to (one per cluster in this model). */
export interface NetworkModel {
  /** HNS network name (`cbr0`, `vxlan0`, `flannel.4096`, ...). */
  name: string;
  mode: NetworkMode;
  /** Cluster pod CIDR(s) (flannel Network / FLANNEL_NETWORK). */
  clusterCidrs: string[];
  /** Service CIDR when known (from an ExceptionList/ROUTE entry or the scenario). */
  serviceCidr: string | null;
  /** VXLAN network identifier (overlay only; flannel requires >= 4096 on Windows). */
  vni: number;
  /** VXLAN UDP destination port (overlay only; flannel requires exactly 4789 on Windows). */
  vxlanPort: number;
  /** Union of every OutBoundNAT policy's ExceptionList / Settings.Exceptions. */
  outboundNatExceptions: string[];
  /** True when at least one OutBoundNAT policy exists (no policy: no SNAT at all). */
  outboundNat: boolean;
  /** ROUTE / SDNRoute endpoint policies. */
  routes: { destinationPrefix: string; needEncap: boolean; nextHop?: string }[];
  /** win-bridge `loopbackDSR`. */
  loopbackDSR: boolean;
  /** win-overlay MAC prefix for local endpoints (default `0E-2A`), as `0e:2a`. */
  endpointMacPrefix: string;
  /** win-overlay `ipMasq` / flannel `FLANNEL_IPMASQ`. */
  ipMasq: boolean;
  /** win-bridge `ipMasqNetwork`. */
  ipMasqNetwork: string | null;
  /** MTU (flannel: interface MTU - 50). */
  mtu: number;
  /** DNS suffix search list given to pods (first entry is the one Windows uses). */
  dnsSearch: string[];
  dnsServers: string[];
  /** Which CNI plugin programs the endpoints. */
  plugin: 'win-bridge' | 'win-overlay' | 'flannel' | 'unknown';
  /** (Additive.) HNS ACL endpoint policies from the CNI config or the endpoint dumps, in input order. */
  acls?: AclModel[];
}

export interface NodeModel {
  name: string;
  /** `kubernetes.io/os: windows`. Only Windows nodes are emulated; Linux nodes are peers on the wire. */
  windows: boolean;
  /** InternalIP: the node's management IP (and the overlay provider address). */
  internalIP: string;
  /** Pod subnet of the node (spec.podCIDR, FLANNEL_SUBNET network, or RemoteSubnetRoute prefix). */
  podCIDR: string | null;
  /** Host NIC MAC. */
  mac: string;
  /** Overlay distributed-router MAC (VtepMAC / DrMacAddress). */
  drMac: string;
  /** Overlay provider address (PA); equals internalIP unless a ProviderAddress policy says otherwise. */
  providerAddress: string;
  /** kube-proxy `--source-vip` of this node (overlay), or null. */
  sourceVip: string | null;
  /** MAC spoofing on the VM adapter (l2bridge needs it on; the page's troubleshooting item 1). */
  macSpoofing: boolean;
  /** OutboundNAT dynamic port range [start, start+count). Windows default 49152..65535. */
  dynamicPortStart: number;
  dynamicPortCount: number;
  /**
   * (Additive.) OutBoundNAT exceptions that apply to this node's endpoints only, on top of
   * `network.outboundNatExceptions`: win-overlay with `ipMasq` adds the node's own pod subnet.
   */
  outboundNatExceptions?: string[];
  /** (Additive.) First MAC of the node's HNS MacPool (win-bridge endpoint MACs come from it). */
  macPoolStart?: string;
}

export interface PodModel {
  namespace: string;
  name: string;
  ip: string;
  /** Extra addresses (dual stack). */
  ips: string[];
  node: string;
  hostNetwork: boolean;
  /**
   * (Additive.) Windows HostProcess containers (`securityContext.windowsOptions.hostProcess: true` at pod
   * level or on every container; the API server then requires hostNetwork): on Windows they, and only they,
   * get the host's network, so such a pod is no host-network-unsupported case. Absent means false.
   */
  hostProcess?: boolean;
  /** Endpoint MAC (derived: 0E-2A-<ip> on win-overlay; HNS pool on win-bridge). */
  mac: string;
  /**
   * (Additive.) DNS search list as kubelet hands it to the CNI: `<ns>.svc.<domain>`, `svc.<domain>`,
   * `<domain>`. A Windows pod uses only the first (the page: one DNS suffix per pod).
   */
  dnsSearch?: string[];
}

export type Protocol = 'TCP' | 'UDP' | 'SCTP';

interface ServicePortModel {
  name: string;
  protocol: Protocol;
  port: number;
  /** Numeric target port, or a port name resolved against the endpoints. */
  targetPort: number | string;
  nodePort: number | null;
}

export interface EndpointModel {
  ip: string;
  /** Node the endpoint runs on (EndpointSlice nodeName), null when unknown / external. */
  node: string | null;
  ready: boolean;
  serving: boolean;
  terminating: boolean;
  /** Port number by port name (EndpointSlice ports), '' for an unnamed port. */
  ports: Record<string, number>;
  /** `ns/name` of the pod when known (targetRef). */
  pod: string | null;
}

export interface ServiceModel {
  namespace: string;
  name: string;
  type: 'ClusterIP' | 'NodePort' | 'LoadBalancer' | 'ExternalName';
  /** null for headless (`None`) or ExternalName. */
  clusterIP: string | null;
  ports: ServicePortModel[];
  externalIPs: string[];
  /** status.loadBalancer.ingress[].ip (hostname-only entries skipped, as kube-proxy does). */
  ingressIPs: string[];
  sessionAffinity: 'None' | 'ClientIP';
  /** sessionAffinityConfig.clientIP.timeoutSeconds when set (Windows ignores it). */
  affinityTimeoutSeconds: number | null;
  externalTrafficPolicy: 'Cluster' | 'Local';
  internalTrafficPolicy: 'Cluster' | 'Local';
  /** Annotation `preserve-destination: "true"`. */
  preserveDestination: boolean;
  endpoints: EndpointModel[];
  /** (Additive.) spec.healthCheckNodePort (ETP Local LoadBalancer), null when not set. */
  healthCheckNodePort?: number | null;
  /**
   * (Additive.) spec.clusterIPs: every cluster IP of the Service, primary first (`clusterIP` is
   * `clusterIPs[0]`); a dual-stack Service has one per family. Absent or [] when only `clusterIP` is known.
   * kube-proxy's per-family proxier takes the one of its family (compile.ts `clusterIpOfFamily`).
   */
  clusterIPs?: string[];
  /** (Additive.) spec.ipFamilies (`IPv4` / `IPv6`, primary first), [] when not given. */
  ipFamilies?: ('IPv4' | 'IPv6')[];
}

/** kube-proxy winkernel settings (KubeProxyConfiguration). */
export interface ProxyModel {
  enableDSR: boolean;
  featureGates: { WinDSR: boolean; WinOverlay: boolean };
  /** winkernel.sourceVip (a node-level override lives on NodeModel.sourceVip). */
  sourceVip: string | null;
  networkName: string | null;
  /** Health check port (healthzBindAddress port), default 10256. */
  healthzPort: number;
}

/**
 * One HNS load balancer frontend as a dump states it: a v1 policy list's ELB policy (`Get-HnsPolicyList`)
 * or one PortMapping of a v2 HostComputeLoadBalancer (domain.md 2.3, 2.5; src/cluster/importers/hns-lb.ts).
 * Shared by the draft (HnsLbFacts) and the model (HnsLbModel).
 */
export interface HnsLbFrontend {
  /** HNS id of the policy list / load balancer (lower case), '' when the dump has none. */
  id: string;
  form: 'v1' | 'v2';
  /** Frontend VIPs; empty = the node's addresses (a NodePort LB). */
  vips: string[];
  /** IP protocol number (6 TCP, 17 UDP). */
  protocol: number;
  internalPort: number;
  externalPort: number;
  dsr: boolean;
  ilb: boolean;
  preserveDip: boolean;
  /** DistributionType SourceIP / SourceIPProtocol. */
  affinity: boolean;
  ipv6: boolean;
  sourceVip: string | null;
}

/**
 * (Additive.) One HNS load balancer frontend from a dump on the node the dump was taken on: what that node
 * runs (src/vfp/hns-truth.ts compares it with what kube-proxy would program for the Services given and
 * programs it instead).
 */
export interface HnsLbModel extends HnsLbFrontend {
  /** The node the dump was taken on. */
  node: string;
  /** The endpoints it names; `ip` null when no dumped endpoint has that ID (a stale reference). */
  endpoints: { id: string; ip: string | null; remote: boolean; node: string | null }[];
  /** `file:path` of the frontend in the dump. */
  source: string;
  /** The dump file. */
  file: string;
}

export interface Cluster {
  network: NetworkModel;
  nodes: NodeModel[];
  pods: PodModel[];
  services: ServiceModel[];
  proxy: ProxyModel;
  /** Cluster DNS domain (default `cluster.local`). */
  clusterDomain: string;
  /** What the config implies (hostNetwork pods, ETP Local without DSR, ...), in input order. */
  diagnostics: Diagnostic[];
  /** Values the user did not give, with how they were derived: `nodes[win-1].mac <- 00:15:5d:...(derived from InternalIP)`. */
  derived: string[];
  /** The files merged into this model, in order. */
  sources: string[];
  /** (Additive.) Windows profile name a scenario asks for (`profile:`), null when none. */
  profile?: string | null;
  /** (Additive.) How the trace was captured, when a scenario says (`view: pod|wire`), null when none. */
  view?: 'pod' | 'wire' | null;
  /** (Additive.) HNS load balancers from dumps (empty or absent: none dumped; kube-proxy's are derived). */
  hnsLoadBalancers?: HnsLbModel[];
}
