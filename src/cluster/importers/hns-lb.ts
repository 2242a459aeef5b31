/**
 * HNS load balancers from a dump, read as what the dumped node runs (merged in src/cluster/hns-lbs.ts,
 * compared and programmed in src/vfp/hns-truth.ts):
 *
 * - v1 policy list (`Get-HnsPolicyList | ConvertTo-Json -Depth 10`; hcsshim internal/hns/hnspolicylist.go
 *   `PolicyList{ID, References[], Policies[]}` and `ELBPolicy{Type:"ELB", Protocol, InternalPort, ExternalPort,
 *   SourceVIP, VIPs[], ILB, IsDSR}`): each ELB policy is one frontend; `References` are `/endpoints/<id>`.
 *   Policies of other types in a list (ROUTE lists from `AddRoute`) are not load balancers: a note.
 *   A bare `{"Type":"ELB",...}` object (hns.psm1 `New-HnsLoadBalancer` body) is a frontend with no endpoints.
 * - v2 HostComputeLoadBalancer (hcsshim hcn/hcnloadbalancer.go; domain.md 2.3): `HostComputeEndpoints[]`,
 *   `SourceVIP`, `FrontendVIPs[]`, `Flags` (1 DSR, 2 IPv6: `LoadBalancerFlags`), one frontend per
 *   `PortMappings[]` entry {Protocol, InternalPort, ExternalPort, DistributionType (1 SourceIPProtocol,
 *   2 SourceIP), Flags (1 ILB, 2 LocalRoutedVIP, 4 UseMux, 8 PreserveDIP: `LoadBalancerPortMappingFlags`)}.
 * Not used: ILB and LocalRoutedVIP / UseMux (whether the node itself reaches a VIP is the Windows profile's
 * nodeToClusterIp / localNodePortAccess, as for kube-proxy's load balancers), kube-proxy's own port-mapping
 * flag VipExternalIP (16: kubernetes pkg/proxy/winkernel/hns.go `LoadBalancerPortMappingFlagsVipExternalIP`)
 * and SchemaVersion. The flags set are named in the dump's `hns-lb-read` note (hns.ts), not dropped in
 * silence; so are bits no source names.
 * Shapes of real dumps followed: projectcalico/calico#8465 (v1 policy list: IsDSR, SourceVIP, VIPs, References),
 * kubernetes PR#115344 (v2 HostComputeEndpoints / FrontendVIPs).
 */

import type { Draft, HnsLbFacts } from '../draft';
import type { Field } from '../source';

function typeOf(o: Field): string {
  const t = o.get('Type').value;
  return typeof t === 'string' ? t.toLowerCase() : '';
}

/** An endpoint reference `/endpoints/<id>` (v1) as a lower-case id. */
function v1Ref(r: Field): { id: string; where: HnsLbFacts['where'] } {
  const m = /^\/?endpoints\/([^/]+)$/i.exec(r.string().trim());
  if (!m) r.fail(`expected a reference to an endpoint, "/endpoints/<id>"`);
  return { id: (m as RegExpExecArray)[1].toLowerCase(), where: r.where };
}

function port(f: Field, name: string): number {
  return f.get(name).required(name).int(0, 65535);
}

/** Port-mapping flag bits read and not used (hcsshim hcn/hcnloadbalancer.go; 8 PreserveDIP is used). */
const UNUSED_MAPPING_FLAGS: [number, string][] = [
  [1, 'ILB'],
  [2, 'LocalRoutedVIP'],
  [4, 'UseMux'],
  [16, 'VipExternalIP'],
];

/** Names of the bits of `flags` outside `used` (known names, else the bit in hex). */
function unusedBits(flags: number, used: number, names: [number, string][]): string[] {
  const out: string[] = [];
  for (let bit = 1; bit !== 0 && bit <= flags; bit = (bit << 1) >>> 0) {
    if ((flags & bit) === 0 || (used & bit) !== 0) continue;
    out.push(names.find(([b]) => b === bit)?.[1] ?? `Flags 0x${bit.toString(16)}`);
  }
  return out;
}

function importElb(p: Field, id: string, refs: HnsLbFacts['endpoints'], draft: Draft): void {
  const ilb = p.get('ILB').optBool() ?? false;
  draft.hnsLbs.push({
    id,
    form: 'v1',
    vips: p.get('VIPs').optItems().filter((v) => v.value !== '').map((v) => v.ip()),
    protocol: p.get('Protocol').required('Protocol').int(0, 255),
    internalPort: port(p, 'InternalPort'),
    externalPort: port(p, 'ExternalPort'),
    dsr: p.get('IsDSR').optBool() ?? false,
    ilb,
    preserveDip: false,
    affinity: false,
    ipv6: false,
    sourceVip: p.get('SourceVIP').optIp() ?? null,
    endpoints: refs,
    unusedFlags: ilb ? ['ILB'] : [],
    where: p.where,
  });
}

/** A v1 policy list (or a bare ELB policy); returns how many frontends it added. */
function importPolicyList(pl: Field, draft: Draft): number {
  const id = (pl.get('ID').optString() ?? '').toLowerCase();
  if (typeOf(pl) === 'elb' && !pl.has('Policies')) {
    importElb(pl, id, [], draft);
    return 1;
  }
  const refs = pl.get('References').optItems().map(v1Ref);
  let n = 0;
  for (const p of pl.get('Policies').optItems()) {
    p.object();
    if (typeOf(p) !== 'elb') {
      draft.note('config-ignored', 'info', `policy list ${id || '(no ID)'}: a ${String(p.get('Type').value)} policy is not a load balancer; ignored`, p.where);
      continue;
    }
    importElb(p, id, refs, draft);
    n++;
  }
  return n;
}

/** A v2 HostComputeLoadBalancer; returns how many frontends (port mappings) it added. */
function importV2(lb: Field, draft: Draft): number {
  const id = (lb.get('ID').optString() ?? '').toLowerCase();
  const flags = lb.get('Flags').optInt(0, 0xffffffff) ?? 0;
  const refs = lb.get('HostComputeEndpoints').optItems().map((r) => ({ id: r.name().trim().toLowerCase(), where: r.where }));
  const vips = lb.get('FrontendVIPs').optItems().filter((v) => v.value !== '').map((v) => v.ip());
  const maps = lb.get('PortMappings').required('PortMappings').items();
  for (const m of maps) {
    m.object();
    const mflags = m.get('Flags').optInt(0, 0xffffffff) ?? 0;
    const dist = m.get('DistributionType').optInt(0, 2) ?? 0;
    draft.hnsLbs.push({
      id,
      form: 'v2',
      vips,
      protocol: m.get('Protocol').required('Protocol').int(0, 255),
      internalPort: port(m, 'InternalPort'),
      externalPort: port(m, 'ExternalPort'),
      dsr: (flags & 1) !== 0,
      ilb: (mflags & 1) !== 0,
      preserveDip: (mflags & 8) !== 0,
      affinity: dist !== 0,
      ipv6: (flags & 2) !== 0,
      sourceVip: lb.get('SourceVIP').optIp() ?? null,
      endpoints: refs,
      unusedFlags: [...unusedBits(flags, 3, []).map((x) => `load balancer ${x}`), ...unusedBits(mflags, 8, UNUSED_MAPPING_FLAGS)],
      where: m.where,
    });
  }
  return maps.length;
}

/** One load-balancer object of a dump (v1 policy list, bare ELB policy, or v2 LB); returns its frontends. */
export function importHnsLb(item: Field, draft: Draft): number {
  if (item.has('PortMappings') || item.has('FrontendVIPs') || item.has('HostComputeEndpoints')) return importV2(item, draft);
  return importPolicyList(item, draft);
}
