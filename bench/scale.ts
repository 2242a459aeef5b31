/**
 * Scale of the VFP engine (decode + Dataplane, in this process; no file I/O):
 *
 *  1. Rate and memory per flow at 10k, 100k and 1M concurrent flows: a generated trace (src/gen, in memory)
 *     of pod-to-pod TCP connections and pings between nodes, 8 packets per flow, all flows open at once
 *     (so the flow table holds them all); packets/s of decode + engine, the flow table's bytes per live
 *     connection, and the rate at each size against the rate at 10k (target: 1M flows cost at most 30%
 *     of the 10k rate, i.e. rate(1M) >= 0.7 x rate(10k); <= 256 B per flow). The mix has no NAT, so no
 *     flow is dropped for want of NAT ports at 1M flows (that is a modelled Windows limit, not a cost).
 *  2. First-packet cost with 10, 1k and 10k ClusterIP Services of 1 to 64 backends (target: 10k <= 2x
 *     the cost at 10): connections from client pods to random Services, a fresh state per batch, so every
 *     packet walks the layers (slow path).
 *  3. Backend spread and session affinity: 100 Services of 1 to 64 backends, 100 connections per backend
 *     from many clients; max/min connections per backend for each Service; and, for Services with
 *     sessionAffinity ClientIP, whether every client stays on one backend.
 *
 *   npm run build && node dist/bench/scale.js [--quick]      (--quick: 10k and 100k flows only)
 */
import * as os from 'node:os';
import type { Cluster, EndpointModel, PodModel, ServiceModel } from '../src/cluster/model';
import { Batch } from '../src/core/batch';
import { decodeBatch } from '../src/decode/decoder';
import { TraceGenerator } from '../src/gen/trace';
import { clusterList } from '../src/gen/layout';
import { parseClusterText } from '../src/cluster/parse';
import { buildFrame } from '../src/packet/build';
import { compileDataplane, type Dataplane } from '../src/vfp/engine';
import { resolveProfile } from '../src/vfp/profile';
import { Results } from '../src/vfp/results';

const profile = resolveProfile(undefined);

function mb(n: number): string {
  return `${(n / 1048576).toFixed(0)} MB`;
}

// ---------------------------------------------------------------------------------------------------
// 1. flows

function flowsRun(flows: number): { pps: number; bytesPerFlow: number; live: number; verdicts: string } {
  const packets = flows * 8;
  const g = new TraceGenerator({ packets, flows, seed: 5, mix: { 'pod-service': 0, 'pod-pod': 9, 'external-tcp': 0, 'external-udp': 0, 'icmp-external': 0, 'icmp-pod': 1, dns: 0 } });
  const dp = compileDataplane(parseClusterText('generated cluster', JSON.stringify(clusterList(g.layout))), { profile, seed: 1, view: 'pod' });
  const st = dp.createState(1024);
  const b = new Batch();
  const r = new Results(b.capacity);
  const idx = new Uint32Array(b.capacity);
  for (let k = 0; k < idx.length; k++) idx[k] = k;
  const verdicts = new Float64Array(5);
  let ns = 0n;
  let peakLive = 0;
  let peakBytes = 0;
  while (g.fillBatch(b) > 0) {
    const t0 = process.hrtime.bigint();
    decodeBatch(b);
    r.reset(b.count);
    dp.processWith(st, b, r, idx, b.count);
    ns += process.hrtime.bigint() - t0;
    for (let i = 0; i < b.count; i++) verdicts[r.verdict[i]]++;
    if (st.flows.live > peakLive) {
      peakLive = st.flows.live;
      peakBytes = st.flows.bytesPerConnection() * st.flows.capacity;
    }
  }
  const names = ['delivered', 'forwarded', 'no-return', 'dropped', 'ignored'];
  return {
    pps: packets / (Number(ns) / 1e9),
    bytesPerFlow: peakBytes / peakLive,
    live: peakLive,
    verdicts: names.map((n, k) => `${n} ${verdicts[k]}`).filter((s) => !s.endsWith(' 0')).join(', '),
  };
}

// ---------------------------------------------------------------------------------------------------
// 2 and 3. services

const CLIENTS = 200;

/** Two Windows nodes on flannel VXLAN, CLIENTS client pods on win-1, `services` ClusterIP Services. */
function serviceCluster(services: number, affinityEvery: number): Cluster {
  const pods: PodModel[] = [];
  for (let k = 0; k < CLIENTS; k++) {
    const ip = `10.244.1.${10 + k}`;
    pods.push({ namespace: 'default', name: `client-${k}`, ip, ips: [ip], node: 'win-1', hostNetwork: false, mac: `0e:2a:0a:f4:01:${(10 + k).toString(16).padStart(2, '0')}` });
  }
  const svcs: ServiceModel[] = [];
  for (let s = 0; s < services; s++) {
    const backends = 1 + (s % 64);
    const endpoints: EndpointModel[] = [];
    for (let e = 0; e < backends; e++) {
      const host = (s * 7 + e * 13) % 250;
      const onWin2 = (s + e) % 2 === 0;
      endpoints.push({ ip: `10.244.${onWin2 ? 2 : 3}.${2 + host}`, node: onWin2 ? 'win-2' : 'linux-1', ready: true, serving: true, terminating: false, ports: { http: 8000 + (s % 1000) }, pod: null });
    }
    svcs.push({
      namespace: 'default',
      name: `svc-${s}`,
      type: 'ClusterIP',
      clusterIP: `10.96.${(s >> 8) & 255}.${s & 255}`,
      ports: [{ name: 'http', protocol: 'TCP', port: 80, targetPort: 8000 + (s % 1000), nodePort: null }],
      externalIPs: [],
      ingressIPs: [],
      sessionAffinity: affinityEvery > 0 && s % affinityEvery === 0 ? 'ClientIP' : 'None',
      affinityTimeoutSeconds: null,
      externalTrafficPolicy: 'Cluster',
      internalTrafficPolicy: 'Cluster',
      preserveDestination: false,
      endpoints,
    } as ServiceModel);
  }
  const node = (name: string, windows: boolean, ip: string, cidr: string, mac: string, svip: string | null) => ({
    name,
    windows,
    internalIP: ip,
    podCIDR: cidr,
    mac,
    drMac: mac.replace(/..$/, 'ff'),
    providerAddress: ip,
    sourceVip: svip,
    macSpoofing: true,
    dynamicPortStart: 49152,
    dynamicPortCount: 16384,
  });
  return {
    network: {
      name: 'vxlan0',
      mode: 'overlay',
      clusterCidrs: ['10.244.0.0/16'],
      serviceCidr: '10.96.0.0/12',
      vni: 4096,
      vxlanPort: 4789,
      outboundNatExceptions: ['10.244.0.0/16', '10.96.0.0/12', '10.127.130.0/24'],
      outboundNat: true,
      routes: [{ destinationPrefix: '10.96.0.0/12', needEncap: true }],
      loopbackDSR: false,
      endpointMacPrefix: '0e:2a',
      ipMasq: false,
      ipMasqNetwork: null,
      mtu: 1450,
      dnsSearch: ['svc.cluster.local'],
      dnsServers: ['10.96.0.10'],
      plugin: 'flannel',
      acls: [],
    },
    nodes: [
      node('linux-1', false, '10.127.130.10', '10.244.3.0/24', '00:15:5d:82:0a:01', null),
      node('win-1', true, '10.127.130.11', '10.244.1.0/24', '00:15:5d:82:0b:01', '10.244.1.2'),
      node('win-2', true, '10.127.130.12', '10.244.2.0/24', '00:15:5d:82:0c:01', '10.244.2.2'),
    ],
    pods,
    services: svcs,
    proxy: { enableDSR: false, featureGates: { WinDSR: true, WinOverlay: true }, sourceVip: null, networkName: null, healthzPort: 10256 },
    clusterDomain: 'cluster.local',
    diagnostics: [],
    derived: [],
    sources: ['bench/scale.ts'],
  } as Cluster;
}

/** A batch of SYNs: connection k from client `client(k)` port `sport(k)` to Service `svc(k)`. */
function synBatch(n: number, client: (k: number) => number, sport: (k: number) => number, svc: (k: number) => number): Batch {
  const b = new Batch({ capacity: n, arenaBytes: n * 256 + (1 << 20) });
  b.reset(1);
  for (let k = 0; k < n; k++) {
    const c = client(k);
    const s = svc(k);
    const f = buildFrame({
      eth: { src: `0e:2a:0a:f4:01:${(10 + c).toString(16).padStart(2, '0')}`, dst: '00:15:5d:82:0b:ff' },
      ip: { version: 4, src: `10.244.1.${10 + c}`, dst: `10.96.${(s >> 8) & 255}.${s & 255}`, ttl: 128, df: true },
      l4: { proto: 'tcp', sport: sport(k), dport: 80, flags: 'S', seq: k },
    });
    const i = b.alloc(f.length);
    b.arena.set(f, b.off[i]);
    b.wirelen[i] = f.length;
    b.linktype[i] = 1;
    b.ts[i] = 1700000000 + k * 1e-6;
  }
  decodeBatch(b);
  return b;
}

function firstPacketNs(services: number): { ns: number; compileMs: number } {
  const t0 = process.hrtime.bigint();
  const dp = compileDataplane(serviceCluster(services, 0), { profile, seed: 1, view: 'pod' });
  const compileMs = Number(process.hrtime.bigint() - t0) / 1e6;
  const N = 4096;
  let seedSvc = 12345;
  const svcOf = new Uint32Array(N);
  for (let k = 0; k < N; k++) {
    seedSvc = (Math.imul(seedSvc, 1103515245) + 12345) >>> 0;
    svcOf[k] = seedSvc % services;
  }
  const b = synBatch(N, (k) => k % CLIENTS, (k) => 40000 + Math.floor(k / CLIENTS), (k) => svcOf[k]);
  const orig = b.arena.slice();
  const r = new Results(N);
  const idx = new Uint32Array(N);
  for (let k = 0; k < N; k++) idx[k] = k;
  let best = Infinity;
  for (let rep = 0; rep < 12; rep++) {
    b.arena.set(orig);
    const st = dp.createState(N);
    r.reset(N);
    const t = process.hrtime.bigint();
    dp.processWith(st, b, r, idx, N);
    best = Math.min(best, Number(process.hrtime.bigint() - t) / N);
  }
  let lb = 0;
  for (let i = 0; i < N; i++) if (r.service[i] >= 0) lb++;
  if (lb !== N) throw new Error(`only ${lb} of ${N} first packets matched a load balancer`);
  return { ns: best, compileMs };
}

function spreadAndAffinity(): { worst: number; median: number; affinityServices: number; clientsChecked: number; violations: number } {
  const services = 100;
  const dp: Dataplane = compileDataplane(serviceCluster(services, 4), { profile, seed: 1, view: 'pod' });
  const worstPerSvc: number[] = [];
  let affinityServices = 0;
  let clientsChecked = 0;
  let violations = 0;
  for (let s = 0; s < services; s++) {
    const backends = 1 + (s % 64);
    const N = backends * 100;
    const b = synBatch(N, (k) => k % CLIENTS, (k) => 20000 + Math.floor(k / CLIENTS), () => s);
    const r = new Results(N);
    r.reset(N);
    const idx = new Uint32Array(N);
    for (let k = 0; k < N; k++) idx[k] = k;
    dp.processWith(dp.createState(N), b, r, idx, N);
    const per = new Map<number, number>();
    const byClient = new Map<number, Set<number>>();
    for (let i = 0; i < N; i++) {
      const be = r.backend[i];
      if (be < 0) throw new Error(`svc-${s}: connection ${i} got no backend`);
      per.set(be, (per.get(be) ?? 0) + 1);
      const c = i % CLIENTS;
      if (!byClient.has(c)) byClient.set(c, new Set());
      (byClient.get(c) as Set<number>).add(be);
    }
    const affinity = s % 4 === 0;
    if (affinity) {
      affinityServices++;
      for (const set of byClient.values()) {
        clientsChecked++;
        if (set.size !== 1) violations++;
      }
    } else if (backends > 1) {
      const counts = [...per.values()];
      const min = per.size < backends ? 0 : Math.min(...counts);
      worstPerSvc.push(min === 0 ? Infinity : Math.max(...counts) / min);
    }
  }
  worstPerSvc.sort((a, b) => a - b);
  return { worst: worstPerSvc[worstPerSvc.length - 1], median: worstPerSvc[worstPerSvc.length >> 1], affinityServices, clientsChecked, violations };
}

function main(): void {
  const quick = process.argv.includes('--quick');
  console.log(`machine: ${os.cpus()[0]?.model ?? '?'}, ${os.availableParallelism()} cores, node ${process.version}, load ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  console.log('\n1. concurrent flows (pod-to-pod TCP and pings between nodes, 8 packets per flow; decode + engine)');
  const sizes = quick ? [10_000, 100_000] : [10_000, 100_000, 1_000_000];
  flowsRun(10_000); // warm-up (JIT), not reported
  let base = 0;
  for (const f of sizes) {
    const x = flowsRun(f);
    if (f === 10_000) base = x.pps;
    console.log(
      `  ${String(f).padStart(9)} flows: ${(x.pps / 1e6).toFixed(3)} M packets/s (${((x.pps / base) * 100).toFixed(0)}% of the 10k rate); ` +
        `flow table ${x.bytesPerFlow.toFixed(0)} B per live connection at its peak of ${x.live} (${((x.bytesPerFlow * x.live) / f).toFixed(0)} B per flow: ` +
        `a flow between two emulated nodes has a connection on each); ${x.verdicts}`,
    );
  }
  console.log('  targets: rate at 1M >= 70% of the rate at 10k; <= 256 B per flow');

  console.log('\n2. first-packet cost (slow path: a connection to a random ClusterIP Service of 1..64 backends)');
  let ns10 = 0;
  for (const s of [10, 1_000, 10_000]) {
    const x = firstPacketNs(s);
    if (s === 10) ns10 = x.ns;
    console.log(`  ${String(s).padStart(6)} Services: ${x.ns.toFixed(0)} ns per first packet (${(x.ns / ns10).toFixed(2)}x the cost at 10); compiled in ${x.compileMs.toFixed(0)} ms`);
  }
  console.log('  target: 10k Services <= 2x the cost at 10');

  console.log('\n3. backend spread and session affinity (100 Services of 1..64 backends, 100 connections per backend, 200 clients)');
  const sp = spreadAndAffinity();
  console.log(`  max/min connections per backend, Services without affinity: median ${sp.median.toFixed(2)}, worst ${sp.worst.toFixed(2)}`);
  console.log(`  sessionAffinity ClientIP: ${sp.affinityServices} Services, ${sp.clientsChecked} (client, Service) pairs, ${sp.violations} with more than one backend`);
  console.log(`\npeak RSS ${mb(process.memoryUsage().rss)}; load at the end ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`);
}

main();
