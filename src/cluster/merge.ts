/**
 * finalizeCluster: Draft (every importer's facts, in file order) -> one validated Cluster.
 *
 * 1. Pick the HNS network (by the name the CNI config / kube-proxy use, else the one non-`External`
 *    L2Bridge/Overlay network in the dumps) and take its settings and node facts.
 * 2. Resolve nodes: by name first, then facts keyed by IP (HNS management IP, RemoteSubnetRoute PA), then
 *    facts keyed by subnet (subnet.env without `# node:`, HNS v2 without a management IP).
 * 3. Resolve pods, match local HNS endpoints to them by IP, then Services with their endpoints
 *    (EndpointSlices, else legacy Endpoints, plus scenario endpoints).
 * 4. Derive what no input gave, the way HNS and the plugins do (domain.md 1.6, 3.2-3.8), recording each
 *    in `derived` as `path <- value (how)`.
 * 5. Validate (duplicate pod or node IPs, overlapping pod CIDRs, flannel's Windows VXLAN rules): an
 *    InputError naming the file and field path of the offending fact.
 * Diagnostics: the merge's own (`config-*`) plus clusterDiagnostics (diagnostics.ts).
 */

import { InputError } from '../core/errors';
import { cidrContains, cidrHost, cidrsOverlap, formatCidr, maskOf, parseCidr, tryParseIPv4, u32ToIpv4, type Cidr } from '../core/ip';
import { assumedDiagnostics, type AssumedFact } from './assumed';
import { clusterDiagnostics, type DiagnosticOptions } from './diagnostics';
import type { Draft, EndpointFacts, FactSet, NodeFacts, ServicePortFacts } from './draft';
import { derivedDrMac, derivedMacPoolStart, hyperVNodeMac, linuxPodMac, overlayEndpointMac, poolEndpointMac } from './mac';
import type { Cluster, EndpointModel, NetworkMode, NetworkModel, NodeModel, PodModel, ProxyModel, ServiceModel } from './model';
import { whereText, type Where } from './source';
import { resolveHnsLbs } from './hns-lbs';
import { checkClusterIps, checkEndpoint, checkNamedTargetPorts, subPath, type EndpointContext } from './validate';

/** Values to use where no input says (the Windows / Kubernetes defaults otherwise). */
export interface ClusterDefaults {
  clusterDomain?: string;
  mode?: NetworkMode;
  dynamicPortStart?: number;
  dynamicPortCount?: number;
}

export interface FinalizeOptions {
  defaults?: ClusterDefaults;
  diagnostics?: DiagnosticOptions;
}

const DEFAULT_DYNAMIC_START = 49152;
const DEFAULT_DYNAMIC_COUNT = 16384;

function fail(where: Where, detail: string): never {
  throw new InputError(where.file, { fieldPath: where.path || '(document)' }, detail);
}

function show(v: unknown): string {
  return typeof v === 'string' ? v : JSON.stringify(v);
}

interface ResolvedNode {
  name: string;
  where: Where;
  facts: FactSet;
}

interface ResolvedPod {
  namespace: string;
  name: string;
  where: Where;
  facts: FactSet;
}

/** Smallest IPv4 CIDR holding all the given ones (null for none). */
function covering(cidrs: Cidr[]): string | null {
  const v4 = cidrs.filter((c) => c.family === 4);
  if (v4.length === 0) return null;
  let len = Math.min(...v4.map((c) => c.len));
  const base = v4[0].base;
  while (len > 0 && !v4.every((c) => ((c.base & maskOf(len)) >>> 0) === ((base & maskOf(len)) >>> 0))) len--;
  return `${u32ToIpv4((base & maskOf(len)) >>> 0)}/${len}`;
}

export function finalizeCluster(draft: Draft, opts: FinalizeOptions = {}): Cluster {
  const defaults = opts.defaults ?? {};
  const derived: string[] = [];
  const assumed: AssumedFact[] = [];
  // `kind`: how, without what differs per object (for grouping the config-assumed diagnostics: assumed.ts).
  const derive = (path: string, value: unknown, how: string, kind = how) => {
    derived.push(`${path} <- ${show(value)} (${how})`);
    assumed.push({ path, value: show(value), how, kind });
  };
  const s = draft.settings;
  const note = draft.note.bind(draft);

  // ---- 1. The HNS network of the dumps.
  const nodeFacts: NodeFacts[] = [...draft.nodes];
  selectHnsNetworks(draft, nodeFacts);

  // ---- 2. Nodes.
  const nodes = resolveNodes(draft, nodeFacts, derive);
  const nodeList = [...nodes.values()];
  const byIp = new Map<string, ResolvedNode>();
  for (const n of nodeList) {
    const ip = n.facts.get<string>('internalIP');
    if (ip === undefined) fail(n.where, `node ${n.name} has no InternalIP (status.addresses with type InternalIP, or ip in a scenario)`);
    const other = byIp.get(ip);
    if (other) fail(n.facts.fact('internalIP')!.where, `node ${n.name} has InternalIP ${ip}, which node ${other.name} (${whereText(other.facts.fact('internalIP')!.where)}) already has`);
    byIp.set(ip, n);
  }
  const cidrNodes = nodeList.filter((n) => n.facts.get<string>('podCIDR') !== undefined);
  for (let i = 0; i < cidrNodes.length; i++) {
    for (let j = 0; j < i; j++) {
      const a = cidrNodes[i].facts.fact<string>('podCIDR')!;
      const b = cidrNodes[j].facts.fact<string>('podCIDR')!;
      if (cidrsOverlap(a.value, b.value)) {
        fail(a.where, `node ${cidrNodes[i].name} has podCIDR ${a.value}, which overlaps ${b.value} of node ${cidrNodes[j].name} (${whereText(b.where)})`);
      }
    }
  }
  const nodeOfIp = (ip: string): ResolvedNode | undefined => cidrNodes.find((n) => cidrContains(n.facts.get<string>('podCIDR')!, ip));

  // ---- 3a. Network mode and plugin.
  let plugin = s.get<NetworkModel['plugin']>('network.plugin');
  let mode = s.get<NetworkMode>('network.mode') ?? defaults.mode;
  if (mode === undefined) {
    mode = plugin === 'win-overlay' ? 'overlay' : 'l2bridge';
    derive('network.mode', mode, plugin === 'win-overlay' ? 'win-overlay creates Overlay networks' : 'no input names the network mode; l2bridge assumed');
  }
  if (plugin === undefined) {
    plugin = mode === 'overlay' ? 'win-overlay' : 'win-bridge';
    derive('network.plugin', plugin, `no CNI config given; the plugin for ${mode} networks`);
  }
  // flannel hands the config to its delegate, which makes the endpoints: that plugin must suit the network
  // (a flannel config with a win-overlay delegate beside a host-gw net-conf.json: the delegate fails on the node)
  const delegate = plugin === 'flannel' ? s.fact<string>('cni.delegatePlugin') : undefined;
  const endpointPlugin = delegate?.value ?? plugin;
  if ((endpointPlugin === 'win-bridge' && mode === 'overlay') || (endpointPlugin === 'win-overlay' && mode === 'l2bridge')) {
    const who = delegate !== undefined ? `flannel's delegate ${endpointPlugin}` : endpointPlugin;
    note('config-mismatch', 'error', `${who} needs ${endpointPlugin === 'win-bridge' ? 'an L2Bridge' : 'an Overlay'} network, but the network is ${mode} (${whereText(s.fact('network.mode')!.where)}): the plugin fails with "network is of unexpected type"`, (delegate ?? s.fact('network.plugin')!).where);
  }
  const overlay = mode === 'overlay';

  // ---- 3b. Scalars.
  const dnsSearchGiven = s.get<string[]>('network.dnsSearch');
  let clusterDomain = s.get<string>('clusterDomain') ?? defaults.clusterDomain;
  if (clusterDomain === undefined) {
    const fromSearch = dnsSearchGiven?.find((x) => x.startsWith('svc.'));
    clusterDomain = fromSearch ? fromSearch.slice(4) : 'cluster.local';
    derive('clusterDomain', clusterDomain, fromSearch ? `from the CNI DNS search entry ${fromSearch}` : 'Kubernetes default');
  }
  const vni = s.get<number>('network.vni') ?? 4096;
  const vxlanPort = s.get<number>('network.vxlanPort') ?? 4789;
  if (overlay && !s.has('network.vni')) derive('network.vni', vni, 'flannel / Windows default');
  if (overlay && !s.has('network.vxlanPort')) derive('network.vxlanPort', vxlanPort, 'VXLAN default port');
  if (plugin === 'flannel' && overlay) {
    const vf = s.fact<number>('network.vni');
    if (vf && vf.value < 4096) fail(vf.where, `VNI [${vf.value}] must be greater than or equal to 4096 on Windows`);
    const pf = s.fact<number>('network.vxlanPort');
    if (pf && pf.value !== 4789) fail(pf.where, `Port [${pf.value}] is not supported on Windows`);
  }

  let clusterCidrs = s.get<string[]>('network.clusterCidrs');
  if (clusterCidrs === undefined) {
    const c = covering(cidrNodes.map((n) => parseCidr(n.facts.get<string>('podCIDR')!)));
    clusterCidrs = c ? [c] : [];
    derive('network.clusterCidrs', clusterCidrs, c ? "smallest prefix holding every node's podCIDR" : 'no input gives it');
  }

  // Services' cluster IPs as given (needed for the service CIDR).
  const services = groupServices(draft);
  const givenClusterIps = services.map((x) => x.facts.get<string | null>('clusterIP')).filter((x): x is string => typeof x === 'string');
  let serviceCidr = s.get<string>('network.serviceCidr') ?? null;
  if (serviceCidr === null) serviceCidr = deriveServiceCidr(draft, clusterCidrs, givenClusterIps, derive);

  const proxy = buildProxy(draft, derive);
  const networkName = deriveNetworkName(draft, plugin, mode, vni, proxy, derive);
  const dnsSearch = dnsSearchGiven ?? [`svc.${clusterDomain}`];
  if (!dnsSearchGiven) derive('network.dnsSearch', dnsSearch, 'Kubernetes DNS search default');
  let dnsServers = s.get<string[]>('network.dnsServers');
  if (dnsServers === undefined) {
    const kubeDns = services.find((x) => x.namespace === 'kube-system' && x.name === 'kube-dns')?.facts.get<string | null>('clusterIP');
    dnsServers = kubeDns ? [kubeDns] : [];
    derive('network.dnsServers', dnsServers, kubeDns ? 'the ClusterIP of kube-system/kube-dns' : 'no input gives a DNS server');
  }
  const mtu = s.get<number>('network.mtu') ?? (overlay ? 1450 : 1500);
  if (!s.has('network.mtu')) derive('network.mtu', mtu, overlay ? 'interface MTU 1500 - 50 bytes VXLAN overhead' : 'interface MTU');
  const endpointMacPrefix = s.get<string>('network.endpointMacPrefix') ?? '0e:2a';
  const loopbackDSR = s.get<boolean>('network.loopbackDSR') ?? false;

  // ipMasq / ipMasqNetwork: the flannel CNI overwrites the delegate's with subnet.env's (flannel_windows.go).
  let ipMasq: boolean;
  let ipMasqNetwork: string | null;
  if (s.get<boolean>('cni.sdnPlugin') === true) {
    // sdnbridge / sdnoverlay have no ipMasq / ipMasqNetwork field: what flannel hands its delegate is
    // dropped (windows-container-networking cni/cni.go NetworkConfig @ b96345f1).
    ipMasq = false;
    ipMasqNetwork = null;
  } else if (plugin === 'flannel') {
    const envMasq = s.fact<boolean>('flannel.ipMasq');
    const envNet = s.fact<string>('flannel.network');
    const delMasq = s.fact<boolean>('network.ipMasq');
    const delNet = s.fact<string>('network.ipMasqNetwork');
    ipMasq = envMasq?.value ?? delMasq?.value ?? true;
    if (!envMasq && !delMasq) derive('network.ipMasq', true, 'flanneld on Windows runs with --ip-masq=1');
    ipMasqNetwork = envNet?.value ?? clusterCidrs[0] ?? delNet?.value ?? null;
    if (!envNet && ipMasqNetwork !== null) derive('network.ipMasqNetwork', ipMasqNetwork, 'the flannel CNI passes FLANNEL_NETWORK (the cluster CIDR)');
    if (envMasq && delMasq && delMasq.value !== envMasq.value) {
      note('config-override', 'info', `the flannel CNI plugin replaces the delegate's ipMasq ${delMasq.value} (${whereText(delMasq.where)}) with FLANNEL_IPMASQ=${envMasq.value}`, envMasq.where);
    }
    if (envNet && delNet && delNet.value !== envNet.value) {
      note('config-override', 'info', `the flannel CNI plugin replaces the delegate's ipMasqNetwork ${delNet.value} (${whereText(delNet.where)}) with FLANNEL_NETWORK=${envNet.value}`, envNet.where);
    }
  } else {
    ipMasq = s.get<boolean>('network.ipMasq') ?? false;
    ipMasqNetwork = s.get<string>('network.ipMasqNetwork') ?? null;
  }

  // ---- 3c. OutBoundNAT.
  const exceptionSet = new Set<string>();
  for (const e of draft.exceptions) exceptionSet.add(e.cidr);
  for (const e of s.get<string[]>('network.exceptions') ?? []) exceptionSet.add(e);
  noteIpv6Exceptions(draft);
  const hostSubnets = overlay ? [] : nodeList.map((n) => tryParseIPv4(n.facts.get<string>('internalIP')!)).filter((v) => v >= 0).map((v) => `${u32ToIpv4((v & maskOf(24)) >>> 0)}/24`);
  assumeTemplateValues(s, [...clusterCidrs, ...(serviceCidr !== null ? [serviceCidr] : []), ...hostSubnets], serviceCidr, exceptionSet, draft.routes, derive);
  const policyMode = draft.policySources.length > 0;
  let outboundNat: boolean;
  let perNodeSubnetException = false;
  if (policyMode) {
    outboundNat = draft.natPolicies.length > 0 || s.has('network.exceptions');
    const bridgeLike = plugin === 'win-bridge' || (plugin === 'flannel' && !overlay);
    if (bridgeLike && ipMasqNetwork !== null) {
      // win-bridge always applies OutBoundNAT with ipMasqNetwork as exception (ApplyOutboundNatPolicy).
      if (!exceptionSet.has(ipMasqNetwork)) derive('network.outboundNatExceptions', ipMasqNetwork, 'win-bridge adds ipMasqNetwork as an OutBoundNAT exception');
      exceptionSet.add(ipMasqNetwork);
      outboundNat = true;
    }
    if (!bridgeLike && ipMasq) {
      // win-overlay with ipMasq adds an OutBoundNAT policy excepting the node's own pod subnet.
      perNodeSubnetException = true;
      outboundNat = true;
      derive('nodes[*].outboundNatExceptions', 'the node podCIDR', 'win-overlay ipMasq: ApplyOutboundNatPolicy(Subnets[0].AddressPrefix)');
    }
  } else {
    outboundNat = true;
    if (!s.has('network.outboundNat')) derive('network.outboundNat', true, 'no CNI config given; the Kubernetes page recommends OutBoundNAT');
    if (!s.has('network.exceptions')) {
      const defaultsList = [...clusterCidrs];
      if (serviceCidr !== null) defaultsList.push(serviceCidr);
      for (const n of nodeList) {
        const v = tryParseIPv4(n.facts.get<string>('internalIP')!);
        if (v >= 0) defaultsList.push(`${u32ToIpv4((v & maskOf(24)) >>> 0)}/24`);
      }
      for (const d of defaultsList) exceptionSet.add(d);
      derive('network.outboundNatExceptions', [...exceptionSet], "no CNI config given; cluster CIDR + service CIDR + the nodes' /24 (the recommended ExceptionList)");
    }
  }
  const explicitNat = s.get<boolean>('network.outboundNat');
  if (explicitNat !== undefined) outboundNat = explicitNat;
  if (outboundNat) {
    const parsed = [...exceptionSet].map((e) => parseCidr(e));
    for (const c of clusterCidrs) {
      const cc = parseCidr(c);
      if (cc.family !== 4 || parsed.some((e) => e.family === 4 && e.len <= cc.len && cidrContains(e, cc.base))) continue;
      const where = draft.natPolicies[0] ?? s.fact('network.exceptions')?.where ?? s.fact('network.clusterCidrs')?.where ?? 'network';
      note('config-nat-exceptions', 'warning', `the OutBoundNAT exceptions (${[...exceptionSet].join(', ') || 'none'}) do not cover the cluster CIDR ${c}: pod traffic to pods on other nodes is SNATed to the node IP, while Kubernetes requires pod-to-pod traffic without NAT`, where);
    }
  }

  const routes: NetworkModel['routes'] = [];
  const routeKeys = new Set<string>();
  for (const r of draft.routes) {
    const key = `${r.destinationPrefix}|${r.needEncap}|${r.nextHop ?? ''}`;
    if (routeKeys.has(key)) continue;
    routeKeys.add(key);
    routes.push({ destinationPrefix: r.destinationPrefix, needEncap: r.needEncap, ...(r.nextHop !== undefined ? { nextHop: r.nextHop } : {}) });
  }

  const network: NetworkModel = {
    name: networkName,
    mode,
    clusterCidrs,
    serviceCidr,
    vni,
    vxlanPort,
    outboundNatExceptions: [...exceptionSet],
    outboundNat,
    routes,
    loopbackDSR,
    endpointMacPrefix,
    ipMasq,
    ipMasqNetwork,
    mtu,
    dnsSearch,
    dnsServers,
    plugin,
    acls: draft.acls.map(({ where: _w, ...acl }) => acl),
  };

  // ---- 4. Pods (basic facts), so HNS endpoints and source VIPs can see them.
  const pods = resolvePods(draft, nodes, byIp, nodeOfIp, derive);
  const podByIp = new Map<string, ResolvedPod>();
  for (const p of pods) {
    const f = p.facts;
    if (f.get<boolean>('hostNetwork')) continue;
    const ip = f.get<string>('ip')!;
    const other = podByIp.get(ip);
    if (other) fail(f.fact('ip')!.where, `pod ${p.namespace}/${p.name} has IP ${ip}, which pod ${other.namespace}/${other.name} (${whereText(other.facts.fact('ip')!.where)}) already has`);
    podByIp.set(ip, p);
  }
  const paFromEndpoints = new Map<string, { ip: string; where: Where }>();
  for (const ep of draft.hnsEndpoints) {
    const pod = podByIp.get(ep.ip);
    if (pod) {
      if (ep.mac) pod.facts.put('mac', ep.mac, ep.where);
      const nodeName = pod.facts.get<string>('node');
      if (ep.pa && nodeName) paFromEndpoints.set(nodeName, { ip: ep.pa, where: ep.where });
      continue;
    }
    const owner = nodeOfIp(ep.ip);
    const isSourceVip = nodeList.some((n) => n.facts.get('sourceVip') === ep.ip) || proxy.sourceVip === ep.ip;
    if (/_ep$/i.test(ep.name) || ep.name.toLowerCase() === networkName.toLowerCase() || isSourceVip) {
      note('config-ignored', 'info', `HNS endpoint ${ep.name} (${ep.ip}) is the host's own endpoint, not a pod; skipped`, ep.where);
      continue;
    }
    const name = ep.name.replace(/[^A-Za-z0-9_.-]/g, '-');
    const p = draft.pod('hns', name, ep.where);
    p.facts.put('ip', ep.ip, ep.where);
    if (ep.mac) p.facts.put('mac', ep.mac, ep.where);
    const nodeName = owner?.name ?? (nodeList.filter((n) => n.facts.get('windows')).length === 1 ? nodeList.find((n) => n.facts.get('windows'))!.name : '');
    p.facts.put('node', nodeName, ep.where);
    p.facts.put('hostNetwork', false, ep.where);
    const rp: ResolvedPod = { namespace: 'hns', name, where: ep.where, facts: p.facts };
    pods.push(rp);
    podByIp.set(ep.ip, rp);
    derive(`pods[hns/${name}]`, ep.ip, 'a local HNS endpoint that no Pod object has');
  }

  // a pod's other addresses (status.podIPs: its IPv6 one) clash with a ClusterIP too; kept out of podByIp,
  // which matches HNS endpoints by their IPv4 address
  const everyPodIp = new Map(podByIp);
  for (const p of pods) for (const x of p.facts.get<string[]>('ips') ?? []) if (!everyPodIp.has(x)) everyPodIp.set(x, p);
  checkClusterIps(services, everyPodIp, byIp);

  // ---- 5. Nodes (derived fields).
  const windowsNodes = nodeList.filter((n) => n.facts.get<boolean>('windows') === true);
  if (nodeList.length > 0 && windowsNodes.length === 0) {
    note('config-no-windows-node', 'warning', 'no node is a Windows node (label kubernetes.io/os: windows): nothing will be emulated', draft.sources.join(', '));
  }
  noteUnknownProxyHost(draft, windowsNodes);
  const cniPa = s.fact<string>('cni.providerAddress');
  const portRange = s.get<{ start: number; count: number }>('network.dynamicPortRange');
  let defaultPortsNoted = false;
  const usedIps = new Set<string>([...podByIp.keys()]);
  const nodeModels: NodeModel[] = nodeList.map((n) => {
    const f = n.facts;
    const ip = f.get<string>('internalIP')!;
    const windows = f.get<boolean>('windows') ?? false;
    const podCIDR = f.get<string>('podCIDR') ?? null;
    let mac = f.get<string>('mac');
    if (mac === undefined) {
      mac = hyperVNodeMac(ip);
      derive(`nodes[${n.name}].mac`, mac, `Hyper-V prefix 00-15-5D + InternalIP ${ip}`, 'Hyper-V prefix 00-15-5D + the InternalIP');
    }
    let drMac = f.get<string>('drMac');
    if (drMac === undefined) {
      drMac = derivedDrMac(ip);
      if (overlay) derive(`nodes[${n.name}].drMac`, drMac, `no VtepMAC or RemoteSubnetRoute; Hyper-V prefix + hash of ${ip}`, 'no VtepMAC or RemoteSubnetRoute; Hyper-V prefix + a hash of the InternalIP');
    }
    let providerAddress = f.get<string>('providerAddress') ?? paFromEndpoints.get(n.name)?.ip;
    if (providerAddress === undefined && cniPa && windows && cniPa.value !== ip && windowsNodes.length === 1) {
      providerAddress = cniPa.value;
      derive(`nodes[${n.name}].providerAddress`, providerAddress, `the PA policy of ${whereText(cniPa.where)} (the only Windows node)`);
    }
    if (providerAddress === undefined) {
      providerAddress = ip;
      if (overlay) derive(`nodes[${n.name}].providerAddress`, ip, 'the InternalIP (network ManagementIP)');
    }
    let sourceVip: string | null = null;
    if (overlay && windows) {
      sourceVip = f.get<string>('sourceVip') ?? null;
      const configured = proxy.sourceVip;
      // kube-proxy's --source-vip belongs to the node its --hostname-override names (when that is a node
      // of the inputs), else to the node whose podCIDR holds it.
      const host = s.get<string>('proxy.hostname');
      const hostKnown = host !== undefined && nodeList.some((m) => m.name.toLowerCase() === host);
      const mine = hostKnown ? n.name.toLowerCase() === host : podCIDR === null ? windowsNodes.length === 1 : configured !== null && cidrContains(podCIDR, configured);
      if (sourceVip === null && configured !== null && mine) {
        sourceVip = configured;
      }
      if (sourceVip === null && podCIDR !== null) {
        const c = parseCidr(podCIDR);
        for (let k = 2; k < 2 ** (32 - c.len) - 1; k++) {
          const candidate = cidrHost(c, k);
          if (!usedIps.has(candidate)) {
            sourceVip = candidate;
            break;
          }
        }
        if (sourceVip !== null) derive(`nodes[${n.name}].sourceVip`, sourceVip, 'first free address from .2 of the podCIDR (host-local IPAM, as Microsoft/SDN GetSourceVip does)');
      }
      if (sourceVip === null) {
        note('config-kube-proxy', 'error', `kube-proxy on overlay node ${n.name} does not start: "source-vip flag not set" (no sourceVip and no podCIDR to take one from)`, n.where);
      } else usedIps.add(sourceVip);
    } else if (!overlay && f.has('sourceVip')) {
      note('config-ignored', 'info', `node ${n.name}: sourceVip is only used on overlay networks; kube-proxy ignores it on l2bridge`, f.fact('sourceVip')!.where);
    }
    const range = f.get<{ start: number; count: number }>('dynamicPortRange') ?? portRange;
    const dynamicPortStart = range?.start ?? defaults.dynamicPortStart ?? DEFAULT_DYNAMIC_START;
    const dynamicPortCount = range?.count ?? defaults.dynamicPortCount ?? DEFAULT_DYNAMIC_COUNT;
    if (!range && !defaultPortsNoted) {
      defaultPortsNoted = true;
      derive('nodes[*].dynamicPortStart/Count', `${dynamicPortStart}+${dynamicPortCount}`, 'Windows default dynamic port range');
    }
    const model: NodeModel = {
      name: n.name,
      windows,
      internalIP: ip,
      podCIDR,
      mac,
      drMac,
      providerAddress,
      sourceVip,
      macSpoofing: f.get<boolean>('macSpoofing') ?? true,
      dynamicPortStart,
      dynamicPortCount,
      outboundNatExceptions: perNodeSubnetException && windows && podCIDR !== null ? [podCIDR] : [],
    };
    if (windows) {
      let pool = f.get<string>('macPoolStart');
      if (pool === undefined) {
        pool = derivedMacPoolStart(ip);
        if (!overlay) derive(`nodes[${n.name}].macPoolStart`, pool, 'HNS MacPool of 4096 addresses, 00-15-5D-xx-y0-00; xx, y from the node IP');
      }
      model.macPoolStart = pool;
    }
    const iso = f.fact<number>('isolationId') ?? f.fact<number>('flannelVni');
    if (overlay && iso && iso.value !== vni) {
      note('config-vni-mismatch', 'warning', `node ${n.name} uses VNI ${iso.value} (${whereText(iso.where)}), the network uses ${vni}: VXLAN packets between them are dropped (vni-mismatch)`, iso.where);
    }
    return model;
  });
  const nodeModelByName = new Map(nodeModels.map((m) => [m.name, m]));

  // ---- 6. Pods (final).
  const podModels: PodModel[] = pods.map((p) => {
    const f = p.facts;
    const nodeName = f.get<string>('node') ?? '';
    const node = nodeModelByName.get(nodeName);
    const hostNetwork = f.get<boolean>('hostNetwork') ?? false;
    const ip = f.get<string>('ip')!;
    let mac = f.get<string>('mac');
    if (mac === undefined) {
      let how: string;
      let kind: string | undefined;
      if (hostNetwork && node) {
        mac = node.mac;
        how = 'hostNetwork: the node MAC';
      } else if (node?.windows && overlay) {
        mac = overlayEndpointMac(endpointMacPrefix, ip);
        how = `win-overlay: endpointMacPrefix ${endpointMacPrefix.replace(':', '-').toUpperCase()} + IPv4 octets`;
      } else if (node?.windows) {
        mac = poolEndpointMac(node.macPoolStart!, ip);
        how = `win-bridge: HNS MacPool ${node.macPoolStart} + low 12 bits of the IP`;
        kind = "win-bridge: the node's HNS MacPool + low 12 bits of the IP";
      } else {
        mac = linuxPodMac(ip);
        how = 'not on a Windows node: Linux CNI 0a:58 + IPv4 octets';
      }
      derive(`pods[${p.namespace}/${p.name}].mac`, mac, how, kind);
    }
    if (!hostNetwork && node?.podCIDR && !cidrContains(node.podCIDR, ip)) {
      note('config-pod-outside-node-cidr', 'warning', `pod ${p.namespace}/${p.name} has IP ${ip}, outside the podCIDR ${node.podCIDR} of its node ${nodeName}`, f.fact('ip')!.where);
    }
    return {
      namespace: p.namespace,
      name: p.name,
      ip,
      ips: f.get<string[]>('ips') ?? [],
      node: nodeName,
      hostNetwork,
      ...(f.get<boolean>('hostProcess') ? { hostProcess: true } : {}),
      mac,
      dnsSearch: [`${p.namespace}.svc.${clusterDomain}`, `svc.${clusterDomain}`, clusterDomain],
    };
  });
  if (podModels.length > 0) derive('pods[*].dnsSearch', `<ns>.svc.${clusterDomain}`, 'kubelet: namespace suffix first; Windows uses only that one');
  const podModelByRef = new Map(podModels.map((p) => [`${p.namespace}/${p.name}`, p]));
  const podModelByIp = new Map(podModels.filter((p) => !p.hostNetwork).map((p) => [p.ip, p]));

  // ---- 7. Services.
  const serviceModels = buildServices(draft, services, {
    serviceCidr,
    givenClusterIps,
    podByRef: podModelByRef,
    podByIp: podModelByIp,
    nodeOfIp: (ip) => byIp.get(ip)?.name ?? nodeOfIp(ip)?.name ?? null,
    derive,
    endpointCheck: {
      nodeNames: new Set(nodes.keys()),
      known: (ip) => podModelByIp.has(ip) || byIp.has(ip) || nodeOfIp(ip) !== undefined || clusterCidrs.some((c) => cidrContains(c, ip)),
    },
  });

  // ---- 8. kube-proxy start-up checks (domain.md 1.2).
  const windowsPresent = nodeModels.some((n) => n.windows);
  if (windowsPresent && proxy.enableDSR && !proxy.featureGates.WinDSR) {
    note('config-kube-proxy', 'error', 'kube-proxy does not start: "WinDSR feature gate not enabled" (winkernel.enableDSR is true, featureGates.WinDSR is false)', s.fact('proxy.enableDSR')?.where ?? 'kube-proxy');
  }
  if (windowsPresent && overlay && !proxy.featureGates.WinOverlay) {
    note('config-kube-proxy', 'error', 'kube-proxy does not start on overlay: "WinOverlay feature gate not enabled"', s.fact('proxy.WinOverlay')?.where ?? 'kube-proxy');
  }

  const hnsLoadBalancers = resolveHnsLbs(draft, nodeModels, podModelByIp);
  const cluster: Cluster = {
    hnsLoadBalancers,
    network,
    nodes: nodeModels,
    pods: podModels,
    services: serviceModels,
    proxy,
    clusterDomain,
    diagnostics: [],
    derived,
    sources: [...draft.sources],
    profile: s.get<string>('scenario.profile') ?? null,
    view: s.get<'pod' | 'wire'>('scenario.view') ?? null,
  };
  cluster.diagnostics = [...draft.diagnostics, ...clusterDiagnostics(cluster, opts.diagnostics), ...assumedDiagnostics(assumed)];
  return cluster;
}

/** Chooses the Kubernetes network among the HNS dumps' networks and feeds its facts into the merge. */
function selectHnsNetworks(draft: Draft, nodeFacts: NodeFacts[]): void {
  if (draft.hnsNetworks.length === 0) return;
  const s = draft.settings;
  const strongName = [s.fact<string>('network.name'), s.fact<string>('proxy.networkName'), s.fact<string>('proxy.kubeNetworkEnv')].find((f) => f && !f.weak)?.value;
  const candidates = draft.hnsNetworks.filter((n) => n.mode !== null && n.name.toLowerCase() !== 'external');
  let chosenName: string | null = null;
  if (strongName !== undefined) {
    if (candidates.some((n) => n.name.toLowerCase() === strongName.toLowerCase())) chosenName = strongName.toLowerCase();
    else if (candidates.length > 0) {
      draft.note('config-network-not-found', 'error', `no HNS network named ${strongName} in the dumps (found: ${candidates.map((n) => n.name).join(', ')}): kube-proxy and the CNI plugin would not find their network`, candidates[0].where);
    }
  } else if (candidates.length > 0) chosenName = candidates[0].name.toLowerCase();
  for (const n of draft.hnsNetworks) {
    if (chosenName !== null && n.mode !== null && n.name.toLowerCase() === chosenName) {
      for (const [k, f] of n.settings.facts) {
        const old = s.fact(k);
        if (old && !old.weak && JSON.stringify(old.value) !== JSON.stringify(f.value)) {
          draft.note('config-override', 'warning', `HNS network ${n.name} has ${k.replace('network.', '')} ${show(f.value)} (${whereText(f.where)}), the config says ${show(old.value)} (${whereText(old.where)}); the config is used`, f.where);
          continue;
        }
        if (!old || old.weak) s.put(k, f.value, f.where);
      }
      if (n.local) nodeFacts.push(n.local);
      nodeFacts.push(...n.remotes);
    } else {
      draft.note('config-ignored', 'info', `HNS network ${n.name || '(unnamed)'} (type ${n.type}) is not the Kubernetes network; ignored`, n.where);
    }
  }
}

function resolveNodes(draft: Draft, facts: NodeFacts[], derive: (p: string, v: unknown, how: string) => void): Map<string, ResolvedNode> {
  const nodes = new Map<string, ResolvedNode>();
  const add = (name: string, where: Where): ResolvedNode => {
    let n = nodes.get(name);
    if (!n) {
      n = { name, where, facts: draft.newFacts(`nodes[${name}]`) };
      nodes.set(name, n);
    }
    return n;
  };
  for (const f of facts) if (f.key.by === 'name') add(f.key.name, f.where).facts.absorb(f.facts);
  for (const f of facts) {
    if (f.key.by !== 'ip') continue;
    const ip = f.key.ip;
    let hit = [...nodes.values()].find((n) => n.facts.get('internalIP') === ip) ?? [...nodes.values()].find((n) => n.facts.get('providerAddress') === ip);
    if (!hit) {
      if (!f.key.create) continue;
      hit = add(ip, f.where);
      hit.facts.put('internalIP', ip, f.where);
      hit.facts.put('windows', f.key.windows ?? false, f.where, true);
      derive(`nodes[${ip}].name`, ip, 'no Node object has this IP; named after it');
    }
    absorbNodeFacts(draft, hit, f);
  }
  for (const f of facts) {
    if (f.key.by !== 'subnet') continue;
    const { ip, cidr } = f.key;
    // the node whose podCIDR holds the whole subnet (an HNS network subnet wider than it names no node)
    const podCidrs = [...nodes.values()].map((n) => ({ n, c: n.facts.get<string>('podCIDR') }));
    const hit = podCidrs.find(({ c }) => c !== undefined && cidrContains(c, ip) && parseCidr(c).len <= parseCidr(cidr).len)?.n;
    if (!hit) {
      const fromEnv = draft.subnetEnvs.some((e) => e.node === f);
      const inside = podCidrs.filter(({ c }) => c !== undefined && cidrContains(cidr, c.split('/')[0]) && parseCidr(c).len > parseCidr(cidr).len).map(({ n }) => n.name);
      const why = inside.length > 0
        ? `${cidr} holds the podCIDRs of nodes ${inside.join(', ')}: it is the cluster's pod network (older flannel versions created the overlay network with it), which names no node, so these facts belong to no node; give the HNS network dump with its ManagementIP (Get-HnsNetwork | ConvertTo-Json -Depth 10)`
        : `no node has a podCIDR holding ${cidr}, so these facts belong to no node; give the Node objects (kubectl get nodes -o yaml)${fromEnv ? ', or a "# node: NAME" line in subnet.env' : ''}`;
      draft.note('config-unmatched', 'warning', why, f.where);
      continue;
    }
    absorbNodeFacts(draft, hit, f);
  }
  return nodes;
}

/**
 * Absorbs the facts an HNS network or subnet.env gives about a node. An HNS network whose subnet strictly holds
 * the podCIDR the node already has (a Node object's) is the cluster's pod network, not the node's pod subnet:
 * older flannel versions created the overlay network with the cluster CIDR (flannel-io/flannel#833: a request
 * `{"Name":"vxlan0","Subnets":[{"AddressPrefix":"10.244.0.0/16",...}],"Type":"Overlay"}`), today's with the
 * node's lease (pkg/backend/vxlan/vxlan_windows.go @ 00014d09: `addressPrefix: lease.Subnet`). Taken as the
 * podCIDR it overlapped every other node's and stopped the run; it is named instead, and every other fact kept.
 */
function absorbNodeFacts(draft: Draft, hit: ResolvedNode, f: NodeFacts): void {
  const mine = hit.facts.get<string>('podCIDR');
  const theirs = f.facts.fact<string>('podCIDR');
  if (mine !== undefined && theirs !== undefined && mine !== theirs.value) {
    const [m, t] = [parseCidr(mine), parseCidr(theirs.value)];
    if (m.family === t.family && t.len < m.len && cidrContains(t, mine.split('/')[0])) {
      draft.note('hns-network-subnet', 'info', `the HNS network's subnet ${theirs.value} holds node ${hit.name}'s podCIDR ${mine} (${whereText(hit.facts.fact('podCIDR')!.where)}): it is the cluster's pod network (older flannel versions created the overlay network with it), not the node's pod subnet, so the node keeps ${mine}`, theirs.where);
      for (const [k, v] of f.facts.facts) if (k !== 'podCIDR') hit.facts.put(k, v.value, v.where, v.weak);
      return;
    }
  }
  hit.facts.absorb(f.facts);
}

function resolvePods(
  draft: Draft,
  nodes: Map<string, ResolvedNode>,
  byIp: Map<string, ResolvedNode>,
  nodeOfIp: (ip: string) => ResolvedNode | undefined,
  derive: (p: string, v: unknown, how: string) => void,
): ResolvedPod[] {
  const pods = new Map<string, ResolvedPod>();
  for (const p of draft.pods) {
    const key = `${p.namespace}/${p.name}`;
    let r = pods.get(key);
    if (!r) {
      r = { namespace: p.namespace, name: p.name, where: p.where, facts: draft.newFacts(`pods[${key}]`) };
      pods.set(key, r);
    }
    r.facts.absorb(p.facts);
  }
  for (const p of pods.values()) {
    const f = p.facts;
    const host = f.get<boolean>('hostNetwork') ?? false;
    let nodeName = f.get<string>('node');
    const ip = f.get<string>('ip');
    if (nodeName === undefined && ip !== undefined) {
      const owner = host ? byIp.get(ip) : nodeOfIp(ip);
      if (owner) {
        nodeName = owner.name;
        f.put('node', nodeName, p.where);
        derive(`pods[${p.namespace}/${p.name}].node`, nodeName, host ? 'the node with its IP' : 'the node whose podCIDR holds its IP');
      }
    }
    if (ip === undefined) {
      const node = nodeName !== undefined ? nodes.get(nodeName) : undefined;
      if (!host || !node) fail(p.where, `pod ${p.namespace}/${p.name} has no IP`);
      f.put('ip', node.facts.get<string>('internalIP')!, p.where);
      derive(`pods[${p.namespace}/${p.name}].ip`, node.facts.get('internalIP'), 'hostNetwork: the node IP');
    }
    if (nodeName === undefined) {
      f.put('node', '', p.where);
      draft.note('config-unknown-node', 'info', `pod ${p.namespace}/${p.name} (${f.get('ip')}) runs on no node the inputs describe; it is treated as outside the emulated nodes`, p.where);
    } else if (nodeName !== '' && !nodes.has(nodeName)) {
      draft.note('config-unknown-node', 'info', `pod ${p.namespace}/${p.name} runs on node ${nodeName}, which no input describes; it is treated as outside the emulated nodes`, f.fact('node')!.where);
    }
  }
  return [...pods.values()];
}

interface GroupedService {
  namespace: string;
  name: string;
  where: Where;
  facts: FactSet;
  endpoints: EndpointFacts[];
}

function groupServices(draft: Draft): GroupedService[] {
  const map = new Map<string, GroupedService>();
  for (const sv of draft.services) {
    const key = `${sv.namespace}/${sv.name}`;
    let g = map.get(key);
    if (!g) {
      g = { namespace: sv.namespace, name: sv.name, where: sv.where, facts: draft.newFacts(`services[${key}]`), endpoints: [] };
      map.set(key, g);
    }
    g.facts.absorb(sv.facts);
    g.endpoints.push(...sv.endpoints);
  }
  return [...map.values()];
}

function deriveServiceCidr(draft: Draft, clusterCidrs: string[], clusterIps: string[], derive: (p: string, v: unknown, how: string) => void): string | null {
  const notCluster = (c: string) => !clusterCidrs.some((k) => k === c || cidrsOverlap(k, c));
  const holdsAll = (c: string) => clusterIps.every((ip) => cidrContains(c, ip));
  const route = draft.routes.find((r) => parseCidr(r.destinationPrefix).len < 32 && notCluster(r.destinationPrefix) && holdsAll(r.destinationPrefix));
  if (route) {
    derive('network.serviceCidr', route.destinationPrefix, `the ROUTE/SDNRoute policy of ${whereText(route.where)}`);
    return route.destinationPrefix;
  }
  if (clusterIps.length > 0) {
    const exc = draft.exceptions.find((e) => parseCidr(e.cidr).len < 32 && notCluster(e.cidr) && holdsAll(e.cidr));
    if (exc) {
      derive('network.serviceCidr', exc.cidr, `the OutBoundNAT exception of ${whereText(exc.where)} that holds every ClusterIP`);
      return exc.cidr;
    }
    if (holdsAll('10.96.0.0/12')) {
      derive('network.serviceCidr', '10.96.0.0/12', 'Kubernetes default; it holds every ClusterIP');
      return '10.96.0.0/12';
    }
    // The smallest prefix holding every ClusterIP, widened to at least a /16 (service ranges are /12../16).
    const c = covering(clusterIps.filter((ip) => ip.includes('.')).map((ip) => parseCidr(`${ip}/32`)));
    if (c === null) return null;
    const cc = parseCidr(c);
    const wide = cc.len > 16 ? `${u32ToIpv4((cc.base & maskOf(16)) >>> 0)}/16` : c;
    derive('network.serviceCidr', wide, 'smallest prefix of at least /16 holding every ClusterIP');
    return wide;
  }
  derive('network.serviceCidr', '10.96.0.0/12', 'Kubernetes default');
  return '10.96.0.0/12';
}

function deriveNetworkName(
  draft: Draft,
  plugin: NetworkModel['plugin'],
  mode: NetworkMode,
  vni: number,
  proxy: ProxyModel,
  derive: (p: string, v: unknown, how: string) => void,
): string {
  const s = draft.settings;
  const given = s.fact<string>('network.name');
  if (given && proxy.networkName !== null && given.value.toLowerCase() !== proxy.networkName.toLowerCase()) {
    const at = (s.fact('proxy.networkName') ?? s.fact('proxy.kubeNetworkEnv'))!.where;
    draft.note('config-network-name-mismatch', 'error', `kube-proxy looks for HNS network ${proxy.networkName} (${whereText(at)}) but the network is ${given.value} (${whereText(given.where)}): kube-proxy waits for that network and programs no load balancers`, at);
  }
  if (given) return given.value;
  if (proxy.networkName !== null) {
    derive('network.name', proxy.networkName, 'kube-proxy winkernel.networkName');
    return proxy.networkName;
  }
  const name = mode === 'overlay' ? (plugin === 'flannel' ? `flannel.${vni}` : 'vxlan0') : 'cbr0';
  derive('network.name', name, mode === 'overlay' ? (plugin === 'flannel' ? 'flannel default flannel.<VNI>' : 'Microsoft/SDN overlay name') : 'flannel host-gw / win-bridge default');
  return name;
}

/**
 * kube-proxy's --hostname-override / hostnameOverride naming no node of the inputs (aks-engine's generated
 * kubeproxystart.ps1 names the VM, `34763k8s9010`): kube-proxy's settings are one set for every emulated
 * Windows node, and its --source-vip then goes to the node whose podCIDR holds it (finalizeCluster), so the
 * user is told rather than left to wonder which node the command line was read for.
 */
function noteUnknownProxyHost(draft: Draft, windowsNodes: readonly { name: string }[]): void {
  const host = draft.settings.fact<string>('proxy.hostname');
  if (host === undefined || windowsNodes.length === 0 || windowsNodes.some((n) => n.name.toLowerCase() === host.value)) return;
  const names = windowsNodes.map((n) => n.name).join(', ');
  draft.note('config-unknown-node', 'warning', `kube-proxy's hostname ${host.value} names no node of the inputs (Windows nodes: ${names}): its settings are applied to every Windows node, and a --source-vip to the node whose podCIDR holds it; give the Node object of ${host.value}, or the command line of a node the inputs describe`, host.where);
}

function buildProxy(draft: Draft, derive: (p: string, v: unknown, how: string) => void): ProxyModel {
  const s = draft.settings;
  const proxy: ProxyModel = {
    enableDSR: s.get<boolean>('proxy.enableDSR') ?? false,
    featureGates: { WinDSR: s.get<boolean>('proxy.WinDSR') ?? true, WinOverlay: s.get<boolean>('proxy.WinOverlay') ?? true },
    sourceVip: s.get<string>('proxy.sourceVip') ?? null,
    // --network-name / winkernel.networkName, else env KUBE_NETWORK (domain.md 1.2).
    networkName: s.get<string>('proxy.networkName') ?? s.get<string>('proxy.kubeNetworkEnv') ?? null,
    healthzPort: s.get<number>('proxy.healthzPort') ?? 10256,
  };
  const defaulted = [
    !s.has('proxy.enableDSR') && 'enableDSR false',
    !s.has('proxy.WinDSR') && 'WinDSR true',
    !s.has('proxy.WinOverlay') && 'WinOverlay true',
    !s.has('proxy.healthzPort') && 'healthzPort 10256',
  ].filter(Boolean);
  if (defaulted.length > 0) derive('proxy', defaulted.join(', '), 'kube-proxy defaults (feature gates beta/GA since 1.33/1.20)');
  return proxy;
}

interface ServiceContext {
  serviceCidr: string | null;
  givenClusterIps: string[];
  podByRef: Map<string, PodModel>;
  podByIp: Map<string, PodModel>;
  nodeOfIp: (ip: string) => string | null;
  derive: (p: string, v: unknown, how: string) => void;
  endpointCheck: EndpointContext;
}

function buildServices(draft: Draft, services: GroupedService[], ctx: ServiceContext): ServiceModel[] {
  const usedIps = new Set(ctx.givenClusterIps);
  const usedNodePorts = new Set<number>();
  for (const sv of services) for (const p of sv.facts.get<ServicePortFacts[]>('ports') ?? []) if (p.nodePort !== null) usedNodePorts.add(p.nodePort);
  let nextNodePort = 30000;
  let nextClusterIp = 100;

  const slicesBySvc = new Map<string, typeof draft.slices>();
  for (const sl of draft.slices) {
    const key = `${sl.namespace}/${sl.service}`;
    const list = slicesBySvc.get(key) ?? [];
    list.push(sl);
    slicesBySvc.set(key, list);
  }
  const known = new Set(services.map((sv) => `${sv.namespace}/${sv.name}`));
  for (const [key, list] of slicesBySvc) {
    if (!known.has(key)) draft.note('config-unmatched', 'warning', `endpoints for Service ${key}, which no input describes; skipped`, list[0].where);
  }

  return services.map((sv) => {
    const f = sv.facts;
    const ref = `${sv.namespace}/${sv.name}`;
    const type = f.get<ServiceModel['type']>('type') ?? 'ClusterIP';
    let clusterIP = f.get<string | null>('clusterIP');
    if (clusterIP === undefined) {
      clusterIP = null;
      const cidr = parseCidr(ctx.serviceCidr ?? '10.96.0.0/12');
      if (type !== 'ExternalName' && cidr.family === 4) {
        for (; nextClusterIp < 2 ** (32 - cidr.len) - 1; nextClusterIp++) {
          const ip = cidrHost(cidr, nextClusterIp);
          if (!usedIps.has(ip)) {
            clusterIP = ip;
            usedIps.add(ip);
            nextClusterIp++;
            break;
          }
        }
        ctx.derive(`services[${ref}].clusterIP`, clusterIP, `next free address of the service CIDR ${formatCidr(cidr)}`);
      }
    }
    const portFacts = f.get<ServicePortFacts[]>('ports') ?? [];
    const ports = portFacts.map((p) => {
      let nodePort = p.nodePort;
      if (nodePort === null && (type === 'NodePort' || type === 'LoadBalancer')) {
        while (usedNodePorts.has(nextNodePort)) nextNodePort++;
        nodePort = nextNodePort;
        usedNodePorts.add(nodePort);
        ctx.derive(`services[${ref}].ports[${p.name || p.port}].nodePort`, nodePort, 'next free port from 30000 (the NodePort range)');
      }
      return { name: p.name, protocol: p.protocol, port: p.port, targetPort: p.targetPort, nodePort };
    });

    const endpoints: EndpointModel[] = [];
    const byIp = new Map<string, EndpointModel>();
    const addEndpoint = (e: EndpointModel) => {
      const old = byIp.get(e.ip);
      if (old) {
        Object.assign(old.ports, e.ports);
        old.ready = old.ready || e.ready;
        old.serving = old.serving || e.serving;
        old.terminating = old.terminating && e.terminating;
        return;
      }
      byIp.set(e.ip, e);
      endpoints.push(e);
    };
    const defaultPorts = (e: EndpointFacts): Record<string, number> => {
      const out: Record<string, number> = {};
      for (const p of ports) {
        if (typeof p.targetPort === 'number') out[p.name] = p.targetPort;
        else fail(e.where, `Service ${ref} port ${p.name || p.port} has targetPort ${JSON.stringify(p.targetPort)}, a port name; give this endpoint's ports ({"${p.targetPort}": <number>})`);
      }
      return out;
    };
    for (const e of sv.endpoints) {
      let pod: PodModel | undefined;
      if (e.podRef !== undefined) {
        pod = ctx.podByRef.get(e.podRef);
        if (!pod) fail(e.where, `no pod named ${e.podRef} (Service ${ref} lists it as an endpoint)`);
      } else if (e.ip !== undefined) pod = ctx.podByIp.get(e.ip);
      const ip = e.ip ?? pod!.ip;
      const at = (k: 'node' | 'ip') => (e.podRef === undefined && k === 'ip' ? e.where : subPath(e.where, k));
      checkEndpoint(draft, ref, { ip, node: e.node, hasPod: pod !== undefined }, at, ctx.endpointCheck);
      const ready = e.ready ?? true;
      addEndpoint({
        ip,
        node: e.node ?? pod?.node ?? ctx.nodeOfIp(ip),
        ready,
        serving: e.serving ?? ready,
        terminating: e.terminating ?? false,
        ports: e.ports ?? defaultPorts(e),
        pod: pod ? `${pod.namespace}/${pod.name}` : null,
      });
    }
    const slices = slicesBySvc.get(ref) ?? [];
    const modern = slices.filter((x) => !x.legacy);
    if (modern.length > 0 && modern.length < slices.length) {
      draft.note('config-ignored', 'info', `Service ${ref} has EndpointSlices and legacy Endpoints; kube-proxy reads the EndpointSlices, so the Endpoints object is skipped`, slices.find((x) => x.legacy)!.where);
    }
    for (const sl of modern.length > 0 ? modern : slices) {
      sl.endpoints.forEach((e, i) => {
        const ip = e.ip!;
        const pod = (e.pod ? ctx.podByRef.get(e.pod) : undefined) ?? ctx.podByIp.get(ip);
        const at = (k: 'node' | 'ip') =>
          sl.legacy ? subPath(e.where, k === 'node' ? 'nodeName' : 'ip') : subPath(sl.where, `endpoints[${i}].${k === 'node' ? 'nodeName' : 'addresses[0]'}`);
        checkEndpoint(draft, ref, { ip, node: e.node, hasPod: pod !== undefined }, at, ctx.endpointCheck);
        addEndpoint({
          ip,
          node: e.node ?? pod?.node ?? ctx.nodeOfIp(ip),
          ready: e.ready ?? true,
          serving: e.serving ?? true,
          terminating: e.terminating ?? false,
          ports: { ...(e.ports ?? {}) },
          pod: e.pod ?? (pod ? `${pod.namespace}/${pod.name}` : null),
        });
      });
    }
    checkNamedTargetPorts(draft, ref, portFacts, endpoints);
    const fact = <T>(k: string, d: T): T => f.get<T>(k) ?? d;
    return {
      namespace: sv.namespace,
      name: sv.name,
      type,
      clusterIP,
      ports,
      externalIPs: fact<string[]>('externalIPs', []),
      ingressIPs: fact<string[]>('ingressIPs', []),
      sessionAffinity: fact<ServiceModel['sessionAffinity']>('sessionAffinity', 'None'),
      affinityTimeoutSeconds: fact<number | null>('affinityTimeoutSeconds', null),
      externalTrafficPolicy: fact<ServiceModel['externalTrafficPolicy']>('externalTrafficPolicy', 'Cluster'),
      internalTrafficPolicy: fact<ServiceModel['internalTrafficPolicy']>('internalTrafficPolicy', 'Cluster'),
      preserveDestination: fact<boolean>('preserveDestination', false),
      endpoints,
      healthCheckNodePort: fact<number | null>('healthCheckNodePort', null),
      clusterIPs: fact<string[]>('clusterIPs', clusterIP !== null ? [clusterIP] : []),
      ipFamilies: fact<('IPv4' | 'IPv6')[]>('ipFamilies', []),
    };
  });
}


/**
 * What a template's placeholders are assumed to be filled in with (importers/placeholders.ts), as
 * sig-windows-tools' start scripts fill them (hostprocess/flannel/flanneld/start.ps1 @ 03f99247: Exceptions =
 * $env:SERVICE_SUBNET and net-conf.json's Network, the first route = the service subnet; kubeadm/flannel/
 * flannel-host-gw.yml run.ps1 @ 12a6e44a adds the host subnet `$networkJson.SubnetCIDR`, taken here as the
 * InternalIP's /24 like the recommended default list). UNCONFIRMED: the host subnet's real prefix length.
 */
function assumeTemplateValues(
  s: FactSet,
  list: string[],
  serviceCidr: string | null,
  exceptionSet: Set<string>,
  routes: Draft['routes'],
  derive: (path: string, value: unknown, how: string) => void,
): void {
  const exc = s.fact<boolean>('cni.assumeExceptions');
  if (exc) {
    for (const c of list) exceptionSet.add(c);
    derive('network.outboundNatExceptions', list, `the template's empty Exceptions (${whereText(exc.where)}) filled in with the cluster and service CIDRs (and on l2bridge the node's /24, as flannel-host-gw.yml run.ps1 adds the host subnet), as the start scripts do`);
  }
  const route = s.fact<boolean>('cni.assumeServiceRoute');
  if (route && serviceCidr !== null) {
    routes.push({ destinationPrefix: serviceCidr, needEncap: route.value, where: route.where });
    derive('network.routes', serviceCidr, `the template's empty DestinationPrefix (${whereText(route.where)}) filled in with the service CIDR, as start.ps1 does`);
  }
}

/**
 * IPv6 OutBoundNAT exceptions (a dual-stack CNI config's second OutBoundNAT policy, windows-container-networking
 * example/l2bridgedualstack_host-local_ipam.conf): read, but the emulator has no IPv6 OutboundNAT (step-ipv6.ts
 * bridges and routes IPv6 and load-balances IPv6 ClusterIPs; it never SNATs), so they decide nothing: said
 * once, naming them, rather than dropped where the compiler keeps IPv4 prefixes only.
 */
function noteIpv6Exceptions(draft: Draft): void {
  const v6 = draft.exceptions.filter((e) => e.cidr.includes(':'));
  if (v6.length === 0) return;
  const list = v6.map((e) => e.cidr).join(', ');
  draft.note('cni-not-emulated', 'info', `IPv6 OutBoundNAT exceptions ${list} are read, but IPv6 OutboundNAT is not emulated (a pod's IPv6 packet leaves with its own address, never SNATed), so they change no verdict`, v6[0].where);
}
