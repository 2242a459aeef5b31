/**
 * Public API of the cluster inputs: read kubectl output, CNI configs, flannel files, KubeProxyConfiguration,
 * HNS JSON and scenario YAML into one validated Cluster (model.ts), plus the helpers the VFP compiler shares.
 * The browser page should import from './parse' (no file system) rather than this index.
 */

export { loadCluster } from './load';
export { parseClusterText, parseClusterTexts, detectClusterText, type ClusterText, type LoadOptions } from './parse';
export { clusterDiagnostics, refreshDiagnostics, runDiagnostics, IMPLIED_CODES, type DiagnosticOptions } from './diagnostics';
export { finalizeCluster, type ClusterDefaults, type FinalizeOptions } from './merge';
export { KIND_NAMES, type InputKind } from './detect';
export { remoteEndpointMac, overlayEndpointMac, hyperVNodeMac, derivedDrMac, poolEndpointMac, linuxPodMac, parseMac, macBytes, macFromBytes } from './mac';
export { scenarioValidator, SCENARIO_API_VERSION } from './importers/scenario';
export { ipv4ToU32, u32ToIpv4, tryParseIPv4, parseCidr, tryParseCidr, cidrContains, cidrsOverlap, formatCidr, normalizeIp, ipFamily, type Cidr } from '../core/ip';
export type * from './model';
