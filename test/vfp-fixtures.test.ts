/**
 * Fixtures for the VFP tests: hand-built Cluster objects (the model is plain data) shaped like the
 * Microsoft/SDN flannel examples of domain.md §3.5, frames from src/packet/build.ts, and a helper that
 * pushes frames through decodeBatch + Dataplane.process. Other test/vfp-*.test.ts files import these;
 * the small suite at the end checks the fixtures themselves.
 */

import { strict as assert } from 'node:assert';
import type { Cluster, EndpointModel, NodeModel, PodModel, ServiceModel } from '../src/cluster/model';
import { Batch } from '../src/core/batch';
import { decodeBatch } from '../src/decode/decoder';
import { decodeFrame } from './io-helpers';
import { buildFrame, buildVxlanFrame, type FrameSpec, type L4Spec, type Payload } from '../src/packet/build';
import { compileDataplane, type Dataplane } from '../src/vfp/engine';
import { resolveProfile } from '../src/vfp/profile';
import { Results } from '../src/vfp/results';
import { VERDICT_NAMES, reasonCode, warningCodes } from '../src/vfp/reasons';

export const WIN1 = { name: 'win-1', ip: '10.127.130.11', mac: '00:15:5d:82:0b:01', dr: '00:15:5d:82:0b:ff', cidr: '10.244.1.0/24', svip: '10.244.1.2' };
export const WIN2 = { name: 'win-2', ip: '10.127.130.12', mac: '00:15:5d:82:0c:01', dr: '00:15:5d:82:0c:ff', cidr: '10.244.2.0/24', svip: '10.244.2.2' };
export const LINUX = { name: 'linux-1', ip: '10.127.130.10', mac: '00:15:5d:82:0a:01', dr: 'ae:10:7f:82:0a:10', cidr: '10.244.0.0/24' };
export const CLIENT = { ip: '10.244.1.5', mac: '0e:2a:0a:f4:01:05', v6: 'fd00:10:244:1::5' };
export const WEB1 = { ip: '10.244.1.6', mac: '0e:2a:0a:f4:01:06' };
export const WEB0 = { ip: '10.244.2.7', mac: '0e:2a:0a:f4:02:07', v6: 'fd00:10:244:2::7' };
export const DNS = { ip: '10.244.0.3', mac: '0a:58:0a:f4:00:03' };
export const EXT = '203.0.113.10';
export const ROUTER_MAC = '00:00:5e:00:01:01';

export function node(n: typeof WIN1 | typeof LINUX, windows: boolean, extra: Partial<NodeModel> = {}): NodeModel {
  return {
    name: n.name,
    windows,
    internalIP: n.ip,
    podCIDR: n.cidr,
    mac: n.mac,
    drMac: n.dr,
    providerAddress: n.ip,
    sourceVip: 'svip' in n ? n.svip : null,
    macSpoofing: true,
    dynamicPortStart: 49152,
    dynamicPortCount: 16384,
    ...extra,
  };
}

export function pod(ns: string, name: string, ip: string, nodeName: string, mac: string, ips: string[] = []): PodModel {
  return { namespace: ns, name, ip, ips: [ip, ...ips], node: nodeName, hostNetwork: false, mac };
}

export function ep(ip: string, nodeName: string | null, port: number, portName = 'http', podRef: string | null = null): EndpointModel {
  return { ip, node: nodeName, ready: true, serving: true, terminating: false, ports: { [portName]: port }, pod: podRef };
}

export function service(ns: string, name: string, s: Partial<ServiceModel>): ServiceModel {
  return {
    namespace: ns,
    name,
    type: 'ClusterIP',
    clusterIP: null,
    ports: [],
    externalIPs: [],
    ingressIPs: [],
    sessionAffinity: 'None',
    affinityTimeoutSeconds: null,
    externalTrafficPolicy: 'Cluster',
    internalTrafficPolicy: 'Cluster',
    preserveDestination: false,
    endpoints: [],
    ...s,
  };
}

export const WEB_SERVICE = (): ServiceModel =>
  service('default', 'web', {
    type: 'NodePort',
    clusterIP: '10.96.0.20',
    ports: [{ name: 'http', protocol: 'TCP', port: 80, targetPort: 8080, nodePort: 30080 }],
    endpoints: [ep(WEB0.ip, 'win-2', 8080), ep(WEB1.ip, 'win-1', 8080)],
  });

export const DNS_SERVICE = (): ServiceModel =>
  service('kube-system', 'kube-dns', {
    clusterIP: '10.96.0.10',
    ports: [
      { name: 'dns', protocol: 'UDP', port: 53, targetPort: 53, nodePort: null },
      { name: 'dns-tcp', protocol: 'TCP', port: 53, targetPort: 53, nodePort: null },
    ],
    endpoints: [{ ip: DNS.ip, node: 'linux-1', ready: true, serving: true, terminating: false, ports: { dns: 53, 'dns-tcp': 53 }, pod: 'kube-system/coredns-0' }],
  });

export interface ClusterOptions {
  mode?: 'l2bridge' | 'overlay';
  plugin?: Cluster['network']['plugin'];
  services?: ServiceModel[];
  enableDSR?: boolean;
  win1?: Partial<NodeModel>;
  win2?: Partial<NodeModel>;
  extraPods?: PodModel[];
  routes?: Cluster['network']['routes'];
  exceptions?: string[];
  acls?: Cluster['network']['acls'];
}

/** The two-Windows-node, one-Linux-node cluster of the scenarios (flannel, Microsoft/SDN exceptions). */
export function cluster(o: ClusterOptions = {}): Cluster {
  const mode = o.mode ?? 'overlay';
  const overlay = mode === 'overlay';
  return {
    network: {
      name: overlay ? 'vxlan0' : 'cbr0',
      mode,
      clusterCidrs: ['10.244.0.0/16'],
      serviceCidr: '10.96.0.0/12',
      vni: 4096,
      vxlanPort: 4789,
      outboundNatExceptions: o.exceptions ?? ['10.244.0.0/16', '10.96.0.0/12', '10.127.130.0/24'],
      outboundNat: true,
      routes: o.routes ?? [{ destinationPrefix: '10.96.0.0/12', needEncap: true }],
      loopbackDSR: false,
      endpointMacPrefix: '0e:2a',
      ipMasq: false,
      ipMasqNetwork: null,
      mtu: overlay ? 1450 : 1500,
      dnsSearch: ['svc.cluster.local'],
      dnsServers: ['10.96.0.10'],
      plugin: o.plugin ?? 'flannel',
      acls: o.acls ?? [],
    },
    nodes: [node(LINUX, false), node(WIN1, true, o.win1), node(WIN2, true, o.win2)],
    pods: [
      pod('default', 'client-0', CLIENT.ip, 'win-1', CLIENT.mac, [CLIENT.v6]),
      pod('default', 'web-1', WEB1.ip, 'win-1', WEB1.mac),
      pod('default', 'web-0', WEB0.ip, 'win-2', WEB0.mac, [WEB0.v6]),
      pod('kube-system', 'coredns-0', DNS.ip, 'linux-1', DNS.mac),
      ...(o.extraPods ?? []),
    ],
    services: o.services ?? [WEB_SERVICE(), DNS_SERVICE()],
    proxy: { enableDSR: o.enableDSR ?? false, featureGates: { WinDSR: true, WinOverlay: true }, sourceVip: null, networkName: null, healthzPort: 10256 },
    clusterDomain: 'cluster.local',
    diagnostics: [],
    derived: [],
    sources: ['test'],
  };
}

export function dataplane(c: Cluster, opts: { profile?: string; seed?: number; view?: 'pod' | 'wire' } = {}): Dataplane {
  return compileDataplane(c, { profile: resolveProfile(opts.profile ?? 'ws2022'), seed: opts.seed ?? 1, view: opts.view ?? 'pod' });
}

/** A TCP / UDP / ICMP frame from `src` to `dst` (MACs default to the sender's and a router's). */
export function frame(src: string, dst: string, l4: L4Spec, eth: { src?: string; dst?: string } = {}): Uint8Array {
  const spec: FrameSpec = { eth: { src: eth.src ?? '02:00:00:00:00:01', dst: eth.dst ?? ROUTER_MAC }, ip: { version: 4, src, dst, id: 1 }, l4 };
  return buildFrame(spec);
}

export function tcp(sport: number, dport: number, flags: string | number = 'S', payload?: string): L4Spec {
  return { proto: 'tcp', sport, dport, flags, seq: 1000, payload };
}

export function udp(sport: number, dport: number, payload: Payload = 'hello'): L4Spec {
  return { proto: 'udp', sport, dport, payload };
}

export function echo(id: number, reply = false): L4Spec {
  return { proto: 'icmp', type: reply ? 0 : 8, id, seq: 1, payload: 'abcdefgh' };
}

export { buildVxlanFrame };

export interface Verdict {
  verdict: string;
  reason: string | null;
  warnings: string[];
  node: string | null;
  ingress: string | null;
  egress: string | null;
  service: string | null;
  backend: string | null;
  /** The packet as it left (or reached the pod). */
  bytes: Uint8Array;
  encap: boolean;
}

export interface Run {
  b: Batch;
  r: Results;
  v: Verdict[];
}

/** Pushes `frames` (one second apart from `t0`, or at `times`) through decodeBatch + dp.process. */
/** `linktypes`: each frame's link type (default 1, Ethernet). */
export function run(dp: Dataplane, frames: Uint8Array[], opts: { t0?: number; times?: number[]; vxlanPorts?: number[]; wirelens?: number[]; linktypes?: number[] } = {}): Run {
  const b = new Batch({ capacity: Math.max(16, frames.length), arenaBytes: Math.max(1 << 20, frames.length * 2048) });
  b.reset(1);
  frames.forEach((f, k) => {
    const i = b.alloc(f.length);
    b.arena.set(f, b.off[i]);
    b.wirelen[i] = opts.wirelens ? opts.wirelens[k] : f.length;
    b.linktype[i] = opts.linktypes ? opts.linktypes[k] : 1;
    b.ts[i] = opts.times ? opts.times[k] : (opts.t0 ?? 1767225600) + k;
  });
  decodeBatch(b, { vxlanPorts: opts.vxlanPorts });
  const r = new Results(b.capacity);
  dp.process(b, r);
  const v: Verdict[] = [];
  for (let i = 0; i < b.count; i++) {
    v.push({
      verdict: VERDICT_NAMES[r.verdict[i]],
      reason: reasonCode(r.reason[i]),
      warnings: warningCodes(r.warnings[i]),
      node: dp.nodeName(r.node[i]),
      ingress: dp.endpointName(r.ingress[i]),
      egress: dp.endpointName(r.egress[i]),
      service: dp.serviceName(r.service[i]),
      backend: dp.backendName(r.backend[i]),
      bytes: b.packet(i).slice(),
      encap: r.encap[i] === 1,
    });
  }
  return { b, r, v };
}

/** Decodes one frame alone (to inspect a rewritten packet), checksums verified. */
export function decodeOne(bytes: Uint8Array, vxlanPorts?: number[]): Batch {
  return decodeFrame(bytes, { vxlanPorts, verifyChecksums: true });
}

export function ip4At(a: Uint8Array, o: number): string {
  return `${a[o]}.${a[o + 1]}.${a[o + 2]}.${a[o + 3]}`;
}

export function macAt(a: Uint8Array, o: number): string {
  return [...a.subarray(o, o + 6)].map((x) => x.toString(16).padStart(2, '0')).join(':');
}

export function u16At(a: Uint8Array, o: number): number {
  return (a[o] << 8) | a[o + 1];
}

describe('vfp fixtures', () => {
  it('build a cluster the compiler accepts, with two emulated Windows nodes and their pods', () => {
    const dp = dataplane(cluster());
    assert.deepEqual(
      dp.c.nodes.map((n) => n.name),
      ['win-1', 'win-2'],
    );
    assert.deepEqual(
      dp.c.pods.map((p) => p.name),
      ['pod/default/client-0', 'pod/default/web-1', 'pod/default/web-0'],
    );
  });
  it('push frames through decode and the engine, one verdict per frame', () => {
    const dp = dataplane(cluster());
    const { v } = run(dp, [frame(CLIENT.ip, WEB1.ip, tcp(40000, 8080)), frame('192.0.2.1', '192.0.2.2', tcp(1, 2))]);
    assert.equal(v.length, 2);
    assert.equal(v[0].verdict, 'delivered');
    assert.equal(v[1].verdict, 'ignored');
  });
});
