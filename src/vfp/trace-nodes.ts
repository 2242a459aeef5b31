/**
 * Which emulated Windows nodes a trace can reach (issue 12: "the emulator only compiles the Windows nodes the
 * trace touches, and says so"). `replay` and `explain` read the trace's addresses first (`traceAddresses`:
 * the reader and the decoder, no engine) and compile only the nodes those addresses lead to
 * (`nodesForAddresses`); compile.ts builds the others' addresses, pods and NAT ranges (cross-node facts) but
 * no ports, load balancers or rules, and says so in a `nodes-compiled` diagnostic.
 *
 * A packet enters, hops to or leaves through a node only because of an address it carries (step-classify.ts
 * looks at the source then the destination; step-switch.ts routes by the destination; an LB rewrites the
 * destination to a backend), so the nodes a trace needs are, over every IPv4 address the trace holds (outer
 * and, for VXLAN / GENEVE, inner):
 *  - the node owning it: its InternalIP, provider address or SourceVIP, a pod on it, an address in its podCIDR;
 *  - the next hop of a user route (l2bridge ROUTE policy) whose prefix holds it;
 *  - for a Service VIP (ClusterIP, externalIP, ingress IP; a node IP when the Service has a NodePort): the
 *    nodes its endpoints run on (an LB's DNAT sends the packet there), named or found by their address;
 *  - for an externalIP / ingress VIP: the first Windows node and every node whose MAC a frame is addressed to
 *    (step-classify.ts `nodeByDstMac`).
 * Ports are not looked at (a superset: a VIP's every Service port counts). Every node is compiled when the
 * cluster is small (RESTRICT_FROM_LBS), when the trace cannot be read ahead (stdin, a reader fault: the replay reports it), holds IPv6 (the IPv6 switch
 * reads the pods of every node), or the cluster holds an HNS load-balancer dump (its backends name nodes
 * by HNS endpoint; compile.ts compiles the dumped node anyway). test/vfp-compile-nodes.test.ts replays every
 * scenario with and without the restriction and compares every output byte.
 */

import type { Cluster, NodeModel } from '../cluster/model';
import { PF, Batch } from '../core/batch';
import { decodeBatch, type DecodeOptions } from '../decode/decoder';
import { openCapture } from '../io/reader';
import { decodeOptionsFor } from '../commands/dataplane';
import * as fs from 'node:fs';
import { ip4, prefixOf, type NodeChoice } from './compile';
import { clusterIpOfFamily } from './lb6';
import type { Prefix } from './objects';

/** What a trace's packets hold that decides the nodes they reach. */
export interface TraceAddresses {
  /** Every IPv4 address (outer and inner). */
  v4: Set<number>;
  /** Destination MACs of the frames (48-bit numbers). */
  dstMacs: Set<number>;
  /** A packet is IPv6 (outer or inner). */
  v6: boolean;
}

/**
 * The addresses of packets 1..`limit` (all when absent) of capture `path`; null when it cannot be read ahead:
 * it is not a regular file (stdin, a FIFO, `<(...)`: reading ahead would drain what the replay must read), or
 * the reader or decoder fails (the replay itself then reports the fault).
 */
export function traceAddresses(path: string, decode: DecodeOptions, strictSnaplen: boolean, limit = Infinity): TraceAddresses | null {
  if (path === '-' || fs.statSync(path, { throwIfNoEntry: false })?.isFile() !== true) return null;
  const seen: TraceAddresses = { v4: new Set(), dstMacs: new Set(), v6: false };
  try {
    const reader = openCapture(path, { strictSnaplen });
    const batch = new Batch();
    try {
      let left = limit;
      for (let n = reader.next(batch); n > 0 && left > 0; n = reader.next(batch)) {
        if (n > left) batch.count = left;
        left -= batch.count;
        decodeBatch(batch, decode);
        collect(batch, seen);
      }
      if (reader.error !== null) return null;
    } finally {
      reader.close();
    }
  } catch {
    return null;
  }
  return seen;
}

function collect(b: Batch, seen: TraceAddresses): void {
  const a = b.arena;
  for (let i = 0; i < b.count; i++) {
    const l2 = b.l2Off[i];
    if (l2 >= 0) {
      const o = b.off[i] + l2;
      seen.dstMacs.add((a[o] * 2 ** 40) + (a[o + 1] * 2 ** 32) + ((a[o + 2] << 24) >>> 0) + (a[o + 3] << 16) + (a[o + 4] << 8) + a[o + 5]);
    }
    if (b.ipVer[i] === 4) {
      seen.v4.add(b.src4[i]);
      seen.v4.add(b.dst4[i]);
    } else if (b.ipVer[i] === 6) seen.v6 = true;
    if ((b.flags[i] & PF.TUNNEL) !== 0) {
      if (b.innerIpVer[i] === 4) {
        seen.v4.add(b.innerSrc4[i]);
        seen.v4.add(b.innerDst4[i]);
      } else if (b.innerIpVer[i] === 6) seen.v6 = true;
    }
  }
}

/** A MAC's text (`00-15-5D-..` or `00:15:5d:..`) as a 48-bit number, -1 for junk. */
function macNumber(text: string): number {
  const parts = text.split(/[:-]/);
  if (parts.length !== 6 || parts.some((p) => !/^[0-9a-fA-F]{1,2}$/.test(p))) return -1;
  return parts.reduce((v, p) => v * 256 + parseInt(p, 16), 0);
}

/** Address -> names of the Windows nodes it belongs to (node, provider, SourceVIP and pod addresses). */
function ownersByAddress(cluster: Cluster, win: NodeModel[]): Map<number, Set<string>> {
  const owners = new Map<number, Set<string>>();
  const add = (text: string | null | undefined, node: string): void => {
    const v = ip4(text);
    if (v < 0) return;
    let s = owners.get(v);
    if (s === undefined) owners.set(v, (s = new Set()));
    s.add(node);
  };
  const names = new Set(win.map((n) => n.name));
  for (const n of win) {
    add(n.internalIP, n.name);
    add(n.providerAddress, n.name);
    add(n.sourceVip, n.name);
  }
  for (const p of cluster.pods) if (names.has(p.node)) add(p.ip, p.node);
  return owners;
}

/**
 * The Windows nodes the addresses `seen` lead to (module comment), as a compile choice; null when every node
 * must be compiled (IPv6 in the trace, an HNS dump in the cluster). `source` names the trace.
 */
export function nodesForAddresses(cluster: Cluster, seen: TraceAddresses, source: string): NodeChoice | null {
  if (seen.v6 || (cluster.hnsLoadBalancers ?? []).length > 0) return null;
  const win = cluster.nodes.filter((n) => n.windows && ip4(n.internalIP) >= 0);
  const owners = ownersByAddress(cluster, win);
  const subnets = win.map((n) => ({ n, p: n.podCIDR ? prefixOf(n.podCIDR) : null })).filter((x): x is { n: NodeModel; p: Prefix } => x.p !== null);
  const byIp = new Map(win.map((n) => [ip4(n.internalIP), n.name]));
  const names = new Set<string>();
  /** The nodes address `v` belongs to. */
  const reach = (v: number): void => {
    for (const name of owners.get(v) ?? []) names.add(name);
    for (const { n, p } of subnets) if (((v & p.mask) >>> 0) === p.base) names.add(n.name);
    for (const rt of cluster.network.routes) {
      const p = rt.needEncap ? null : prefixOf(rt.destinationPrefix);
      const hop = p !== null && ((v & p.mask) >>> 0) === p.base && rt.nextHop ? byIp.get(ip4(rt.nextHop)) : undefined;
      if (hop !== undefined) names.add(hop);
    }
  };
  for (const v of seen.v4) reach(v);
  const nodeIpSeen = win.some((n) => seen.v4.has(ip4(n.internalIP)));
  let externalVip = false;
  for (const svc of cluster.services) {
    const ext = [...svc.externalIPs, ...svc.ingressIPs].some((x) => seen.v4.has(ip4(x)));
    const nodePort = nodeIpSeen && svc.ports.some((sp) => sp.nodePort !== null && sp.nodePort !== undefined && sp.nodePort > 0);
    if (!ext && !nodePort && !seen.v4.has(ip4(clusterIpOfFamily(svc, 4)))) continue;
    externalVip ||= ext;
    for (const e of svc.endpoints) {
      if (e.node !== null) names.add(e.node);
      const v = ip4(e.ip);
      if (v >= 0) reach(v);
    }
  }
  if (externalVip && win.length > 0) {
    names.add(win[0].name);
    for (const n of win) if (seen.dstMacs.has(macNumber(n.mac))) names.add(n.name);
  }
  return { names, why: 'the Windows nodes the trace\'s addresses lead to (their own addresses, pods and pod subnets; the endpoints of the Services it addresses)', source };
}

/**
 * Under this many load balancers (Windows nodes x IPv4 Service ports) every node is compiled and the trace is
 * not read ahead: the whole compile takes milliseconds there, while reading a big trace twice does not (the
 * 1M-packet e2e trace: a decode pass), and the outputs stay those of every earlier build (no nodes-compiled
 * diagnostic). 100 nodes x 100 Service ports is where the compile starts to cost a second on the 2-core
 * machine (bench/cluster-scale.ts: 100 x 1k Services took seconds, 100 x 5k tens of seconds under load).
 */
export const RESTRICT_FROM_LBS = 10000;

/** Whether `cluster` is big enough for the trace to be read ahead (RESTRICT_FROM_LBS). */
export function worthRestricting(cluster: Cluster): boolean {
  const win = cluster.nodes.filter((n) => n.windows).length;
  if (win < 2) return false;
  let ports = 0;
  for (const s of cluster.services) ports += s.ports.length;
  return win * ports >= RESTRICT_FROM_LBS;
}

/**
 * The Windows nodes packets 1..`limit` of `trace` lead to; null (every node) when the cluster is small
 * (worthRestricting, unless `always`) or the trace cannot be read ahead (stdin; a fault, which the replay
 * then reports). A module apart from commands/dataplane.ts so that `rules` loads neither the reader nor the
 * decoder (issue 12, start-up).
 */
export function traceNodes(cluster: Cluster, trace: string, vxlanPorts: number[], strictSnaplen: boolean, limit?: number, always = false): NodeChoice | null {
  if (!always && !worthRestricting(cluster)) return null;
  const seen = traceAddresses(trace, decodeOptionsFor(vxlanPorts, cluster), strictSnaplen, limit);
  return seen === null ? null : nodesForAddresses(cluster, seen, trace);
}
