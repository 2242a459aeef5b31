/**
 * HNS JSON as PowerShell and hnsdiag print it (domain.md 2.1, 2.2, 2.5, 2.6), a single object or an array:
 * - networks: `Get-HnsNetwork | ConvertTo-Json` (v1: Type, Name, ManagementIP, DrMacAddress, MacPools, Subnets
 *   with VSID policies, Policies incl. RemoteSubnetRoute) and HostComputeNetwork v2 (Ipams[].Subnets[],
 *   Policies[].Settings: DrMacAddress, ProviderAddress, VxlanPort, RemoteSubnetRoute);
 * - endpoints: `Get-HnsEndpoint` v1 (IPAddress, MacAddress, IsRemoteEndpoint, Policies) and v2
 *   (IpConfigurations, MacAddress, Flags & 1 = remote);
 * - a bare list of endpoint policies (`[{"Type":"OutBoundNAT",...},...]`);
 * - load balancers, read as what the node runs (hns-lb.ts): v1 policy lists (`Get-HnsPolicyList`:
 *   `{ID, References:["/endpoints/<id>"], Policies:[{Type:"ELB", ...}]}`, hcsshim internal/hns/hnspolicylist.go)
 *   and v2 HostComputeLoadBalancers (`{ID, HostComputeEndpoints[], FrontendVIPs[], PortMappings[], Flags}`,
 *   hcsshim hcn/hcnloadbalancer.go); the endpoints they name are resolved by ID through the dumped endpoints,
 *   local and remote, so every endpoint with an ID is recorded.
 * Any of these may come as HNS's raw answer, `{"Success":true,"Error":"","Output":...}` (microsoft/hcsshim
 * hcn/hcnglobals.go @ 0882cf37 `hnsResponse{Success bool, Error string, Output json.RawMessage}`; microsoft/SDN
 * Kubernetes/windows/hns.psm1 `Invoke-HNSRequest` reads `$output.Error` / `$output.Output`): Output is taken as
 * one object or a list; `Success: false` is refused with its Error, in hcsshim's words ("HNS failed with error").
 * JSON cut at ConvertTo-Json's default depth is refused (ps-output.ts).
 * Keys are matched case-insensitively. A dump comes from one Windows node: the network's management IP (or,
 * in a v2 dump without one, its subnet) says which node; RemoteSubnetRoutes describe the other nodes.
 */

import type { Draft, HnsLbFacts, HnsNetworkFacts, NodeFacts, NodeKey } from '../draft';
import type { NetworkMode } from '../model';
import type { Field } from '../source';
import { ENDPOINT_POLICY_TYPES, importEndpointPolicy } from './policies';
import { importHnsLb } from './hns-lb';
import { checkPsDepth } from '../ps-output';

const NETWORK_TYPES: Record<string, NetworkMode | null> = {
  l2bridge: 'l2bridge',
  l2tunnel: 'l2bridge',
  overlay: 'overlay',
  nat: null,
  transparent: null,
  ics: null,
  private: null,
};

type HnsKind = 'network' | 'endpoint' | 'policy' | 'loadbalancer' | null;

function typeOf(o: Field): string {
  const t = o.get('Type').value;
  return typeof t === 'string' ? t.toLowerCase() : '';
}

/** A policy list without References: its Policies hold an ELB policy. */
function hasElb(o: Field): boolean {
  const p = o.get('Policies').value;
  return Array.isArray(p) && p.some((x) => typeof x === 'object' && x !== null && String((x as Record<string, unknown>).Type ?? (x as Record<string, unknown>).type ?? '').toLowerCase() === 'elb');
}

/** Which HNS object this is, by its keys (case-insensitive). */
function hnsKind(o: Field): HnsKind {
  if (!o.isObject()) return null;
  const t = typeOf(o);
  // Endpoints first: a v1 endpoint also carries its network's Type ("L2Bridge").
  if (o.has('IPAddress') || o.has('IpConfigurations') || (o.has('MacAddress') && (o.has('VirtualNetwork') || o.has('HostComputeNetwork') || o.has('IsRemoteEndpoint')))) return 'endpoint';
  if (t in NETWORK_TYPES && ['Ipams', 'Subnets', 'ManagementIP', 'DrMacAddress', 'MacPools', 'MacPool', 'ID', 'Name', 'Policies'].some((k) => o.has(k))) return 'network';
  if (o.has('FrontendVIPs') || o.has('HostComputeEndpoints') || o.has('PortMappings') || o.has('References') || t === 'elb' || hasElb(o)) return 'loadbalancer';
  if (ENDPOINT_POLICY_TYPES.has(t)) return 'policy';
  return null;
}

/** The `Output` of an Invoke-HNSRequest answer (`{"Success":..., "Output":...}`), else the root itself. */
function unwrapOutput(root: Field): Field {
  if (!root.isObject() || root.keyOf('Output') === undefined) return root;
  const extra = root.keys().filter((k) => !['output', 'success', 'error', 'errorcode'].includes(k.toLowerCase()));
  return extra.length === 0 ? root.get('Output') : root;
}

/** An Invoke-HNSRequest answer that says it failed. */
function failedRequest(outer: Field): boolean {
  return outer.isObject() && outer.keyOf('Output') !== undefined && outer.get('Success').value === false;
}

export function looksLikeHns(outer: Field): boolean {
  if (failedRequest(outer)) return true;
  const root = unwrapOutput(outer);
  if (Array.isArray(root.value)) {
    const items = root.items();
    return items.length > 0 && items.every((i) => hnsKind(i) !== null);
  }
  return hnsKind(root) !== null;
}

export function importHns(outer: Field, draft: Draft): void {
  checkPsDepth(outer);
  const root = unwrapOutput(outer);
  if (failedRequest(outer)) {
    outer.get('Success').fail(`the dump is a failed HNS answer, "HNS failed with error : ${String(outer.get('Error').value ?? '')}"; there is no output to read`);
  }
  const items = Array.isArray(root.value) ? root.items() : [root];
  let remoteEndpoints = 0;
  let policies = false;
  let balancers = 0;
  for (const item of items) {
    const kind = hnsKind(item);
    if (kind === 'network') importNetwork(item, draft);
    else if (kind === 'endpoint') {
      if (!importEndpoint(item, draft)) remoteEndpoints++;
    } else if (kind === 'policy') {
      if (!policies) draft.policySources.push(root.where);
      policies = true;
      const r = importEndpointPolicy(item, draft);
      if (r.providerAddress) draft.settings.put('cni.providerAddress', r.providerAddress.ip, r.providerAddress.where);
    } else if (kind === 'loadbalancer') balancers += importHnsLb(item, draft);
    else item.fail('cannot tell what kind of HNS object this is; expected a network, an endpoint, a policy or a load balancer');
  }
  if (remoteEndpoints > 0) {
    draft.note('config-ignored', 'info', `${remoteEndpoints} remote HNS endpoint(s) not pods of this node (kube-proxy creates them for remote Service backends, MAC 02-11-<ip>); used only to resolve the load balancers' endpoint IDs`, root.where);
  }
  if (balancers > 0) draft.note('hns-lb-read', 'info', `${balancers} HNS load balancer frontend(s) read: the dumped node runs these, not what kube-proxy would derive from the Services${unusedLbFlags(draft.hnsLbs.slice(-balancers))}`, root.where);
}

/** The load-balancer flags read and not used (hns-lb.ts), with how many frontends set each, for the hns-lb-read note. */
function unusedLbFlags(lbs: HnsLbFacts[]): string {
  const count = new Map<string, number>();
  for (const lb of lbs) for (const f of lb.unusedFlags) count.set(f, (count.get(f) ?? 0) + 1);
  if (count.size === 0) return '';
  const list = [...count].map(([f, n]) => `${f} (${n})`).join(', ');
  return `; flags read and not used: ${list} (whether the node itself reaches a VIP is the Windows profile's nodeToClusterIp / localNodePortAccess, as for kube-proxy's load balancers)`;
}

/** The settings object of a v2 policy, or the policy itself (v1 flat form). */
function settingsOf(p: Field): Field {
  const s = p.get('Settings');
  return s.absent ? p : s.object();
}

/** VSID isolation id of a subnet (v1 `{"Type":"VSID","VSID":n}`, v2 `{"Type":"VSID","Settings":{"IsolationId":n}}`). */
function subnetVsid(subnet: Field): Field | null {
  for (const p of subnet.get('Policies').optItems()) {
    if (typeOf(p) !== 'vsid') continue;
    const s = settingsOf(p);
    const f = s === p ? p.get('VSID') : s.get('IsolationId');
    if (!f.absent) return f;
  }
  return null;
}

function commaList(f: Field): Field[] {
  if (f.absent || f.value === '') return [];
  if (Array.isArray(f.value)) return f.items();
  return f
    .string()
    .split(',')
    .map((x) => x.trim())
    .filter((x) => x !== '')
    .map((x) => f.withValue(x));
}

function importNetwork(net: Field, draft: Draft): void {
  const typeField = net.get('Type');
  const type = typeField.string();
  const mode = NETWORK_TYPES[type.toLowerCase()] ?? null;
  const name = net.get('Name').optString() ?? '';
  const settings = draft.newFacts(`hnsNetworks[${name}]`);
  if (mode !== null) settings.put('network.mode', mode, typeField.where);
  if (name !== '') settings.put('network.name', name, net.get('Name').where);

  // Subnets: v1 `Subnets[].AddressPrefix`, v2 `Ipams[].Subnets[].IpAddressPrefix`.
  const subnets: { prefix: Field; subnet: Field }[] = [];
  for (const s of net.get('Subnets').optItems()) subnets.push({ prefix: s.object().get('AddressPrefix'), subnet: s });
  for (const ipam of net.get('Ipams').optItems()) for (const s of ipam.object().get('Subnets').optItems()) subnets.push({ prefix: s.object().get('IpAddressPrefix'), subnet: s });
  for (const s of subnets) {
    const vsid = subnetVsid(s.subnet);
    if (vsid) settings.put('network.vni', vsid.int(0, 0xffffff), vsid.where);
  }

  let managementIP = net.get('ManagementIP').optIp();
  let managementWhere = net.get('ManagementIP').where;
  let drMac = net.get('DrMacAddress').optMac();
  let drWhere = net.get('DrMacAddress').where;
  const remotes: NodeFacts[] = [];
  const policies = net.get('Policies').optItems();
  for (const p of policies) {
    p.object();
    const t = typeOf(p);
    const s = settingsOf(p);
    if (t === 'remotesubnetroute') {
      const pa = s.get('ProviderAddress').required('ProviderAddress');
      const key: NodeKey = { by: 'ip', ip: pa.ip(), create: true };
      const facts = draft.newFacts(`nodes[${key.ip}]`);
      const node: NodeFacts = { key, where: p.where, facts };
      facts.put('providerAddress', key.ip, pa.where);
      facts.put('podCIDR', s.get('DestinationPrefix').required('DestinationPrefix').cidr(), s.get('DestinationPrefix').where);
      const dr = s.get('DistributedRouterMacAddress');
      if (!dr.absent && dr.value !== '') facts.put('drMac', dr.mac(), dr.where);
      const iso = s.get('IsolationId');
      if (!iso.absent) facts.put('isolationId', iso.int(0, 0xffffff), iso.where);
      remotes.push(node);
    } else if (t === 'drmacaddress') {
      drMac = s.get('Address').required('Address').mac();
      drWhere = s.get('Address').where;
    } else if (t === 'provideraddress') {
      managementIP = s.get('ProviderAddress').required('ProviderAddress').ip();
      managementWhere = s.get('ProviderAddress').where;
    } else if (t === 'vxlanport') {
      settings.put('network.vxlanPort', s.get('Port').required('Port').int(1, 65535), s.get('Port').where);
    }
  }

  const dnsServers = [...commaList(net.get('DNSServerList')), ...commaList(net.at('Dns', 'ServerList'))].map((x) => x.ip());
  if (dnsServers.length > 0) settings.put('network.dnsServers', dnsServers, net.where);
  const dnsSearch = [...commaList(net.get('DNSSuffix')), ...commaList(net.at('Dns', 'Search'))].map((x) => x.name());
  if (dnsSearch.length > 0) settings.put('network.dnsSearch', dnsSearch, net.where);

  // The node the dump was taken on.
  const first = subnets.find((s) => !s.prefix.absent);
  let local: NodeFacts | null = null;
  const podCIDR = first ? first.prefix.cidr() : null;
  if (managementIP !== undefined) {
    local = { key: { by: 'ip', ip: managementIP, create: true, windows: true }, where: managementWhere, facts: draft.newFacts(`nodes[${managementIP}]`) };
    local.facts.put('internalIP', managementIP, managementWhere);
  } else if (podCIDR !== null) {
    local = { key: { by: 'subnet', ip: podCIDR.split('/')[0], cidr: podCIDR }, where: first!.prefix.where, facts: draft.newFacts(`nodes[podCIDR ∋ ${podCIDR}]`) };
  }
  if (local) {
    local.facts.put('windows', true, typeField.where);
    if (podCIDR !== null) local.facts.put('podCIDR', podCIDR, first!.prefix.where);
    if (drMac !== undefined) local.facts.put('drMac', drMac, drWhere);
    const pool = net.get('MacPools').optItems()[0] ?? net.at('MacPool', 'Ranges').optItems()[0];
    if (pool) local.facts.put('macPoolStart', pool.object().get('StartMacAddress').required('StartMacAddress').mac(), pool.get('StartMacAddress').where);
    const sourceMac = net.get('SourceMac').optMac();
    if (sourceMac !== undefined) local.facts.put('mac', sourceMac, net.get('SourceMac').where);
  }
  const facts: HnsNetworkFacts = { name, mode, type, where: net.where, local, remotes, settings };
  draft.hnsNetworks.push(facts);
}

/** Returns false for a remote endpoint (not a pod of this node; recorded by ID for the load balancers). */
function importEndpoint(ep: Field, draft: Draft): boolean {
  const flags = ep.get('Flags');
  const remote = ep.get('IsRemoteEndpoint').optBool() === true || (!flags.absent && typeof flags.value === 'number' && (flags.value & 1) === 1);
  let ipField = ep.get('IPAddress');
  if (ipField.absent) ipField = ep.get('IpConfigurations').required('IpConfigurations').items()[0]?.object().get('IpAddress') ?? ipField;
  const ip = ipField.required('IPAddress').ip();
  const id = ep.get('ID').optString();
  if (id !== undefined && id !== '') draft.hnsEndpointIds.push({ id: id.toLowerCase(), ip, remote, where: ep.where });
  if (remote) return false;
  const name = ep.get('Name').optString() ?? ip;
  let pa: string | null = null;
  let policies = false;
  for (const p of ep.get('Policies').optItems()) {
    if (!policies) draft.policySources.push(ep.get('Policies').where);
    policies = true;
    const r = importEndpointPolicy(p, draft, { endpoint: ip });
    if (r.providerAddress) pa = r.providerAddress.ip;
  }
  draft.hnsEndpoints.push({ name, ip, mac: ep.get('MacAddress').optMac() ?? null, pa, where: ep.where });
  return true;
}
