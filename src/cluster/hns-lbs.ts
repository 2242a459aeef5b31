/**
 * HNS load balancers of the dumps -> `Cluster.hnsLoadBalancers` (merge step; the comparison with kube-proxy's
 * expectation and the programming are src/vfp/hns-truth.ts):
 *
 * - the node: the one the dumped HNS network belongs to (its management IP, or the node whose podCIDR holds its
 *   subnet), else the node of the dumped local endpoints, else the only Windows node; when none can be told
 *   (several Windows nodes and a dump of load balancers alone) a `hns-lb-node-unknown` error and nothing is used;
 * - each endpoint ID resolved through the dumped endpoints, local and remote (`Get-HnsEndpoint` lists both).
 *   An ID no dumped endpoint has stays with `ip: null`: a load balancer that names an endpoint which no longer
 *   exists is what kubernetes#112836 left behind (the diff says so). When the dumps hold no endpoint at all, the
 *   references cannot be checked: one `hns-lb-endpoints-unknown` warning says so.
 */

import { cidrContains } from '../core/ip';
import type { Draft } from './draft';
import type { HnsLbModel, NodeModel, PodModel } from './model';
import { whereText } from './source';

/** The node the dumps were taken on, or null. */
function dumpNode(draft: Draft, nodes: NodeModel[], podByIp: Map<string, PodModel>): NodeModel | null {
  const windows = nodes.filter((n) => n.windows);
  for (const net of draft.hnsNetworks) {
    const k = net.local?.key;
    if (!k) continue;
    const hit = k.by === 'ip' ? nodes.find((n) => n.internalIP === k.ip || n.providerAddress === k.ip) : k.by === 'subnet' ? nodes.find((n) => n.podCIDR !== null && cidrContains(n.podCIDR, k.ip)) : undefined;
    if (hit) return hit;
  }
  for (const ep of draft.hnsEndpoints) {
    const pod = podByIp.get(ep.ip);
    const hit = pod ? nodes.find((n) => n.name === pod.node) : undefined;
    if (hit) return hit;
  }
  return windows.length === 1 ? windows[0] : null;
}

export function resolveHnsLbs(draft: Draft, nodes: NodeModel[], podByIp: Map<string, PodModel>): HnsLbModel[] {
  if (draft.hnsLbs.length === 0) return [];
  const at = draft.hnsLbs[0].where;
  const node = dumpNode(draft, nodes, podByIp);
  if (node === null) {
    draft.note('hns-lb-node-unknown', 'error', `the dump's load balancers belong to no node that can be told (no HNS network or local endpoint in the dumps names one, and there are ${nodes.filter((n) => n.windows).length} Windows nodes): give Get-HnsNetwork of the same node; the load balancers are not used`, at);
    return [];
  }
  const byId = new Map(draft.hnsEndpointIds.map((e) => [e.id, e]));
  if (byId.size === 0) {
    draft.note('hns-lb-endpoints-unknown', 'warning', `the dumps hold load balancers but no endpoint with an ID (Get-HnsEndpoint | ConvertTo-Json -Depth 10 of the same node): their endpoints cannot be resolved, so every load balancer has no backend`, at);
  }
  const ownerOf = (ip: string): string | null => podByIp.get(ip)?.node ?? nodes.find((n) => n.podCIDR !== null && cidrContains(n.podCIDR, ip))?.name ?? nodes.find((n) => n.internalIP === ip)?.name ?? null;
  return draft.hnsLbs.map(({ endpoints, unusedFlags: _unused, where, ...frontend }) => ({
    ...frontend,
    node: node.name,
    endpoints: endpoints.map((r) => {
      const e = byId.get(r.id);
      return { id: r.id, ip: e?.ip ?? null, remote: e?.remote ?? false, node: e ? (e.remote ? ownerOf(e.ip) : node.name) : null };
    }),
    source: whereText(where),
    file: where.file,
  }));
}
