/**
 * Cluster inputs at production size (issue 12): how long `vfp-emu` takes to read, merge and compile a
 * kubectl dump of N nodes x P pods with S Services, against `JSON.parse` of the same file measured in the
 * same run (the yardstick: nothing that reads the file can be cheaper), with each phase's peak RSS.
 *
 * The dump is generated, deterministically (seeded), into a temporary folder, as
 * `kubectl get nodes,pods,services,endpointslices,configmaps -A -o json` (a `List`) and the same List as
 * YAML: N Windows nodes (flannel vxlan over win-overlay) with a /23 pod subnet each, one Linux node with
 * CoreDNS, P pods per Windows node with the fields kubectl prints for a running pod (owner references,
 * container ports, resources, conditions, container statuses: a real pod object is about 1-4 KB), S
 * ClusterIP Services of 3 backends picked at random among all pods, one EndpointSlice per Service, and the
 * flannel and kube-proxy ConfigMaps (from src/gen/layout.ts, with the cluster CIDR widened to 10.128.0.0/10
 * and the node CIDR to 172.16.0.0/16 so that 250 pods per node and 500 nodes fit).
 *
 * Each phase runs in its own child process (fresh heap and JIT; `process.resourceUsage().maxRSS` is that
 * phase's peak):
 *   parse    readFileSync + JSON.parse of the JSON file (the yardstick)
 *   whole    loadCluster reading the JSON file whole (one string, JSON.parse: how it was read before streaming)
 *   load     loadCluster (read, detect, parse, merge) of the JSON file, streamed (src/cluster/stream-list.ts),
 *            with the default --max-config-bytes
 *   compile  loadCluster, then compileDataplane of every node (replay --all-nodes); the time printed is the
 *            compile step alone, the RSS the whole run's
 *   compile1 the same for win-node-1 alone: the compile `vfp-emu rules --node` does (compile.ts
 *            CompileOptions.only; the other nodes' LB refusals are still looked at, for the diagnostics)
 *   rules    `vfp-emu rules --cluster FILE --node win-node-1` whole (runRulesCommand, stdout to /dev/null)
 *   yaml     loadCluster of the YAML file (same objects), read by the fast reader (src/cluster/yaml-subset.ts)
 *   yamlpkg  the same with the fast reader off: the yaml package reads it (as before issue 12's start-up work);
 *            the yaml line then shows the ratio yaml / yamlpkg (below 1: the fast reader is faster)
 * and prints each time as a ratio to JSON.parse, and between cases the growth per 10x of input bytes
 * (time ratio ^ (1 / log10(bytes ratio)): 10 is linear).
 *
 *   npm run bench:cluster                 cases 10x30 (100 Services) and 100x100 (1k Services), about a minute
 *   npm run bench:cluster -- --big        adds 100x250 with 5k Services (the target case; its YAML,
 *                                         over YAML_MAX_BYTES, is neither written nor read)
 *   npm run bench:cluster -- --huge       adds 100x250 and 400x250 with 20k Services (about 500 MB of JSON: more
 *                                         than one string holds, so only the streamed load reads it)
 *   --phases LIST (e.g. parse,whole,load) only these phases; --lean pods without the API server's bulk
 *   (owner references, containers, conditions, statuses: what a trimmed dump keeps)
 *   npm run bench:cluster -- --case NxP:S (repeatable) only these cases; --no-yaml skips the YAML phase;
 *                                         --keep keeps the temporary folder
 * Bad usage exits 2.
 */
import { fork } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { stringify } from 'yaml';
import { derivedDrMac, hyperVNodeMac } from '../src/cluster/mac';
import { clusterList, makeLayout } from '../src/gen/layout';
import { ipv4ToU32, u32ToIpv4 } from '../src/packet/addr';

interface Case {
  nodes: number;
  pods: number;
  services: number;
}

const PHASES = ['parse', 'whole', 'load', 'compile', 'compile1', 'rules', 'yaml', 'yamlpkg'] as const;
type Phase = (typeof PHASES)[number];

interface Measure {
  ms: number;
  rssMb: number;
}

// ---------------------------------------------------------------------------------------------------
// Generator

/** mulberry32: a small seeded PRNG, so every run writes the same bytes. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const CLUSTER_BASE = ipv4ToU32('10.128.0.0');
const NODE_BASE = ipv4ToU32('172.16.0.10');

function nodeObject(k: number, windows: boolean): { obj: object; name: string; ip: string; subnet: number } {
  const name = windows ? `win-node-${k}` : 'linux-node-1';
  const ip = u32ToIpv4(NODE_BASE + k);
  const subnet = CLUSTER_BASE + k * 512;
  const cidr = `${u32ToIpv4(subnet)}/23`;
  const osName = windows ? 'windows' : 'linux';
  const annotations: Record<string, string> = {
    'flannel.alpha.coreos.com/backend-type': 'vxlan',
    'flannel.alpha.coreos.com/public-ip': ip,
    'flannel.alpha.coreos.com/backend-data': JSON.stringify({ VNI: 4096, VtepMAC: derivedDrMac(ip) }),
    'vfp-emu/mac': hyperVNodeMac(ip),
    'node.alpha.kubernetes.io/ttl': '0',
    'volumes.kubernetes.io/controller-managed-attach-detach': 'true',
  };
  if (windows) annotations['vfp-emu/source-vip'] = u32ToIpv4(subnet + 2);
  const obj = {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name,
      uid: `00000000-0000-4000-8000-${k.toString(16).padStart(12, '0')}`,
      creationTimestamp: '2026-01-01T00:00:00Z',
      labels: { 'kubernetes.io/os': osName, 'kubernetes.io/hostname': name, 'kubernetes.io/arch': 'amd64', 'node.kubernetes.io/instance-type': 'Standard_D4s_v5' },
      annotations,
    },
    spec: { podCIDR: cidr, podCIDRs: [cidr] },
    status: {
      addresses: [
        { type: 'InternalIP', address: ip },
        { type: 'Hostname', address: name },
      ],
      capacity: { cpu: '4', memory: '16384Mi', pods: '250' },
      nodeInfo: { operatingSystem: osName, architecture: 'amd64', kubeletVersion: 'v1.31.0', kernelVersion: windows ? '10.0.20348.2762' : '6.8.0' },
    },
  };
  return { obj, name, ip, subnet };
}

function podObject(ns: string, name: string, node: { name: string; ip: string }, ip: string, labels: Record<string, string>, windows: boolean, n: number): object {
  const image = windows ? 'mcr.microsoft.com/windows/servercore:ltsc2022' : 'registry.k8s.io/coredns/coredns:v1.11.1';
  const cond = (type: string): object => ({ type, status: 'True', lastProbeTime: null, lastTransitionTime: '2026-01-01T00:00:05Z' });
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      namespace: ns,
      uid: `10000000-0000-4000-8000-${n.toString(16).padStart(12, '0')}`,
      creationTimestamp: '2026-01-01T00:00:00Z',
      labels: { ...labels, 'pod-template-hash': '5d8f7c9b6' },
      ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: `${labels.app}-5d8f7c9b6`, uid: '20000000-0000-4000-8000-000000000001', controller: true, blockOwnerDeletion: true }],
    },
    spec: {
      nodeName: node.name,
      nodeSelector: { 'kubernetes.io/os': windows ? 'windows' : 'linux' },
      containers: [
        {
          name: 'app',
          image,
          ports: [{ containerPort: 8080, protocol: 'TCP' }],
          resources: { requests: { cpu: '100m', memory: '128Mi' }, limits: { memory: '256Mi' } },
          env: [{ name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } }],
        },
      ],
      restartPolicy: 'Always',
      serviceAccountName: 'default',
    },
    status: {
      phase: 'Running',
      conditions: [cond('Initialized'), cond('Ready'), cond('ContainersReady'), cond('PodScheduled')],
      hostIP: node.ip,
      podIP: ip,
      podIPs: [{ ip }],
      startTime: '2026-01-01T00:00:01Z',
      containerStatuses: [{ name: 'app', ready: true, restartCount: 0, started: true, image, imageID: `${image}@sha256:${'0'.repeat(64)}`, state: { running: { startedAt: '2026-01-01T00:00:04Z' } } }],
    },
  };
}

interface GenPod {
  ns: string;
  name: string;
  ip: string;
  node: string;
  labels: Record<string, string>;
}

function servicePair(s: GenPod[], name: string, ns: string, clusterIP: string, ports: { name: string; protocol: string; port: number; targetPort: number }[], selector?: Record<string, string>): object[] {
  const svc = {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace: ns, uid: `30000000-0000-4000-8000-${ipv4ToU32(clusterIP).toString(16).padStart(12, '0')}`, creationTimestamp: '2026-01-01T00:00:00Z' },
    spec: { type: 'ClusterIP', clusterIP, clusterIPs: [clusterIP], ...(selector ? { selector } : {}), ports, sessionAffinity: 'None', ipFamilies: ['IPv4'], ipFamilyPolicy: 'SingleStack', internalTrafficPolicy: 'Cluster' },
  };
  const slice = {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { name: `${name}-x7k2p`, namespace: ns, labels: { 'kubernetes.io/service-name': name, 'endpointslice.kubernetes.io/managed-by': 'endpointslice-controller.k8s.io' } },
    addressType: 'IPv4',
    endpoints: s.map((p) => ({ addresses: [p.ip], conditions: { ready: true, serving: true, terminating: false }, nodeName: p.node, targetRef: { kind: 'Pod', namespace: p.ns, name: p.name } })),
    ports: ports.map((p) => ({ name: p.name, protocol: p.protocol, port: p.targetPort })),
  };
  return [svc, slice];
}

/** The flannel and kube-proxy ConfigMaps of src/gen/layout.ts, with this bench's wider CIDRs. */
function configMaps(): object[] {
  const list = clusterList(makeLayout({ windowsNodes: 1 })) as { items: { kind: string }[] };
  const text = JSON.stringify(list.items.filter((o) => o.kind === 'ConfigMap'))
    .split('10.244.0.0/16')
    .join('10.128.0.0/10')
    .split('10.127.130.0/24')
    .join('172.16.0.0/16');
  return JSON.parse(text) as object[];
}

/** A pod as a lean dump keeps it (`kubectl get pods -o json | jq` down to what the data plane reads). */
function leanPod(full: object): object {
  const p = full as { apiVersion: string; kind: string; metadata: { name: string; namespace: string; labels: object }; spec: { nodeName: string }; status: { phase: string; hostIP: string; podIP: string; podIPs: object[] } };
  const { name, namespace, labels } = p.metadata;
  const { phase, hostIP, podIP, podIPs } = p.status;
  return { apiVersion: p.apiVersion, kind: p.kind, metadata: { name, namespace, labels }, spec: { nodeName: p.spec.nodeName }, status: { phase, hostIP, podIP, podIPs } };
}

/** The kubectl List for `c` (seeded: the same bytes every run); `lean`: pods without the API server's bulk. */
export function generateList(c: Case, seed = 12, lean = false): object {
  const rand = rng(seed);
  const items: object[] = [];
  const nodes = [nodeObject(0, false)];
  for (let k = 1; k <= c.nodes; k++) nodes.push(nodeObject(k, true));
  for (const n of nodes) items.push(n.obj);
  const pods: GenPod[] = [];
  for (let j = 0; j < 2; j++) pods.push({ ns: 'kube-system', name: `coredns-${j}`, ip: u32ToIpv4(nodes[0].subnet + 10 + j), node: nodes[0].name, labels: { app: 'kube-dns' } });
  const dns = pods.slice();
  for (let k = 1; k <= c.nodes; k++) {
    for (let j = 0; j < c.pods; j++) pods.push({ ns: `team-${j % 10}`, name: `app-${k}-${j}`, ip: u32ToIpv4(nodes[k].subnet + 10 + j), node: nodes[k].name, labels: { app: `app-${j % 50}` } });
  }
  const pairs: object[] = [];
  pairs.push(...servicePair([], 'kubernetes', 'default', '10.96.0.1', [{ name: 'https', protocol: 'TCP', port: 443, targetPort: 6443 }]));
  const apiSlice = pairs[1] as { endpoints: object[] };
  apiSlice.endpoints = [{ addresses: [nodes[0].ip], conditions: { ready: true, serving: true, terminating: false } }];
  const dnsPorts = [
    { name: 'dns', protocol: 'UDP', port: 53, targetPort: 53 },
    { name: 'dns-tcp', protocol: 'TCP', port: 53, targetPort: 53 },
  ];
  pairs.push(...servicePair(dns, 'kube-dns', 'kube-system', '10.96.0.10', dnsPorts, { app: 'kube-dns' }));
  const first = 2 + (pods.length > 2 ? 0 : 0);
  for (let s = 0; s < c.services; s++) {
    const backends: GenPod[] = [];
    for (let r = 0; r < 3 && pods.length > first; r++) {
      const p = pods[first + Math.floor(rand() * (pods.length - first))];
      if (!backends.includes(p)) backends.push(p);
    }
    const name = `svc-${s}`;
    for (const p of backends) p.labels[`backend-of-${name}`] = 'true';
    const ip = u32ToIpv4(ipv4ToU32('10.96.0.100') + s);
    pairs.push(...servicePair(backends, name, backends[0]?.ns ?? 'default', ip, [{ name: 'http', protocol: 'TCP', port: 80, targetPort: 8080 }], { [`backend-of-${name}`]: 'true' }));
  }
  const byName = new Map(nodes.map((n) => [n.name, n]));
  pods.forEach((p, n) => {
    const pod = podObject(p.ns, p.name, byName.get(p.node)!, p.ip, p.labels, p.node !== 'linux-node-1', n);
    items.push(lean ? leanPod(pod) : pod);
  });
  items.push(...pairs, ...configMaps());
  return { apiVersion: 'v1', kind: 'List', metadata: { resourceVersion: '' }, items };
}

// ---------------------------------------------------------------------------------------------------
// Child: one phase, reported to the parent over IPC

async function child(phase: Phase, file: string, node: string): Promise<void> {
  const t0 = process.hrtime.bigint();
  let t1 = t0;
  if (phase === 'parse') {
    JSON.parse(fs.readFileSync(file, 'utf8'));
  } else if (phase === 'load' || phase === 'yaml' || phase === 'yamlpkg' || phase === 'whole') {
    const { loadCluster } = await import('../src/cluster/load');
    if (phase === 'yamlpkg') (await import('../src/cluster/yaml-subset')).yamlSubset.enabled = false;
    loadCluster([file], { maxConfigBytes: phase === 'whole' ? 2 ** 31 : undefined, streamLists: phase !== 'whole' });
  } else if (phase === 'compile' || phase === 'compile1') {
    t1 = await compilePhase(file, phase === 'compile1' ? node : null);
  } else {
    const { parseArgs } = await import('../src/cli-args');
    const { runRulesCommand } = await import('../src/commands/rules');
    await runRulesCommand(parseArgs(['rules', '--cluster', file, '--node', node, '--max-config-bytes', String(2 ** 31 - 1)]));
  }
  const ms = Number(process.hrtime.bigint() - (phase === 'compile' || phase === 'compile1' ? t1 : t0)) / 1e6;
  process.send!({ ms, rssMb: process.resourceUsage().maxRSS / 1024 });
}

/** Loads `file` and compiles it (every node, or `node` alone); returns when the compile started. */
async function compilePhase(file: string, node: string | null): Promise<bigint> {
  const { loadCluster } = await import('../src/cluster/load');
  const { compileDataplane } = await import('../src/vfp/engine');
  const { resolveProfile } = await import('../src/vfp/profile');
  const cluster = loadCluster([file], { maxConfigBytes: 2 ** 31 });
  const t1 = process.hrtime.bigint();
  const only = node === null ? null : { names: new Set([node]), why: 'bench', source: '--node' };
  compileDataplane(cluster, { profile: resolveProfile(undefined), seed: 1, view: 'pod', only });
  return t1;
}

function runChild(phase: Phase, file: string, node: string): Promise<Measure | string> {
  return new Promise((resolve) => {
    let got: Measure | undefined;
    let err = '';
    const cp = fork(__filename, ['--child', phase, file, node], { stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
    cp.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    cp.on('message', (m) => (got = m as Measure));
    cp.on('exit', (code, sig) => resolve(got ?? `failed (exit ${code ?? sig}): ${err.trim().split('\n').slice(-1)[0] ?? ''}`));
  });
}

// ---------------------------------------------------------------------------------------------------
// Parent

interface Options {
  cases: Case[];
  yaml: boolean;
  keep: boolean;
  /** Phases to run (--phases; default all). */
  phases: readonly Phase[];
  /** Pods without the bulk the API server adds (--lean). */
  lean: boolean;
}

class BenchUsage extends Error {}

function parseCase(s: string): Case {
  const m = /^(\d+)x(\d+):(\d+)$/.exec(s);
  if (!m) throw new BenchUsage(`--case ${s}: expected NODESxPODS:SERVICES (e.g. 100x250:5000)`);
  const c = { nodes: Number(m[1]), pods: Number(m[2]), services: Number(m[3]) };
  if (c.nodes < 1 || c.nodes > 8000 || c.pods < 1 || c.pods > 500 || c.services < 1 || c.services > 60000) {
    throw new BenchUsage(`--case ${s}: nodes 1..8000, pods per node 1..500, Services 1..60000`);
  }
  return c;
}

function parseOptions(argv: string[]): Options {
  const o: Options = { cases: [], yaml: true, keep: false, phases: PHASES, lean: false };
  let big = false;
  let huge = false;
  for (let k = 0; k < argv.length; k++) {
    const a = argv[k];
    if (a === '--big') big = true;
    else if (a === '--huge') huge = true;
    else if (a === '--no-yaml') o.yaml = false;
    else if (a === '--keep') o.keep = true;
    else if (a === '--lean') o.lean = true;
    else if (a === '--case') o.cases.push(parseCase(argv[++k] ?? ''));
    else if (a === '--phases') o.phases = parsePhases(argv[++k] ?? '');
    else throw new BenchUsage(`unknown argument '${a}' (flags: --big, --huge, --case NxP:S, --phases LIST, --lean, --no-yaml, --keep)`);
  }
  if (o.cases.length === 0) {
    o.cases.push({ nodes: 10, pods: 30, services: 100 }, { nodes: 100, pods: 100, services: 1000 });
    if (big || huge) o.cases.push({ nodes: 100, pods: 250, services: 5000 });
    // about 500 MB of JSON: more than one string holds, so read only by streaming (src/cluster/stream-list.ts)
    if (huge) o.cases.push({ nodes: 400, pods: 250, services: 20000 });
  } else if (big || huge) throw new BenchUsage('--big and --huge add to the default cases: give them without --case');
  return o;
}

function parsePhases(s: string): Phase[] {
  const list = s.split(',').filter((p) => p !== '');
  const bad = list.find((p) => !(PHASES as readonly string[]).includes(p));
  if (bad !== undefined || list.length === 0) throw new BenchUsage(`--phases ${s}: a comma-separated list of ${PHASES.join(', ')}`);
  return PHASES.filter((p) => list.includes(p));
}

/**
 * Writes `list` as `JSON.stringify(list, null, 4)` would (kubectl -o json indents by 4), one item at a time:
 * a 500 MB dump is more than one string can hold.
 */
function writeList(file: string, list: { items: object[] }): void {
  const fd = fs.openSync(file, 'w');
  try {
    const { items, ...envelope } = list;
    const head = JSON.stringify({ ...envelope, items: [0] }, null, 4);
    const cut = head.indexOf('0\n');
    fs.writeSync(fd, head.slice(0, cut));
    items.forEach((item, k) => fs.writeSync(fd, (k > 0 ? ',\n        ' : '') + JSON.stringify(item, null, 4).split('\n').join('\n        ')));
    fs.writeSync(fd, head.slice(cut + 1) + '\n');
  } finally {
    fs.closeSync(fd);
  }
}

/** Past this the YAML phase is skipped: 62 MB of YAML took 55 s and 3.3 GB peak RSS (2 vCPUs, node 20). */
const YAML_MAX_BYTES = 32 * 1048576;

const fmt = (n: number, d = 0): string => n.toFixed(d);

interface CaseResult {
  bytes: number;
  times: Partial<Record<Phase, number>>;
  rss: Partial<Record<Phase, number>>;
}

async function runCase(dir: string, c: Case, o: Options): Promise<CaseResult> {
  const tag = `${c.nodes}x${c.pods}-${c.services}`;
  const list = generateList(c, 12, o.lean) as { items: object[] };
  const json = path.join(dir, `cluster-${tag}.json`);
  writeList(json, list);
  const yml = path.join(dir, `cluster-${tag}.yaml`);
  // The YAML is about the compact JSON's size; a big one is neither written nor read (YAML_MAX_BYTES)
  const yamlOk = o.yaml && (o.phases.includes('yaml') || o.phases.includes('yamlpkg')) && fs.statSync(json).size < 4 * YAML_MAX_BYTES && JSON.stringify(list).length <= YAML_MAX_BYTES;
  if (yamlOk) fs.writeFileSync(yml, stringify(list));
  const bytes = fs.statSync(json).size;
  const pods = c.nodes * c.pods + 2;
  console.log(`\n${c.nodes} Windows nodes x ${c.pods} pods (${pods} pods), ${c.services} Services: JSON ${fmt(bytes / 1048576, 1)} MB` + (yamlOk ? `, YAML ${fmt(fs.statSync(yml).size / 1048576, 1)} MB` : ''));
  const times: Partial<Record<Phase, number>> = {};
  const rss: Partial<Record<Phase, number>> = {};
  for (const phase of o.phases) {
    const isYaml = phase === 'yaml' || phase === 'yamlpkg';
    if (isYaml && !o.yaml) continue;
    if (isYaml && !yamlOk) {
      console.log(`  ${phase.padEnd(8)} skipped: the YAML would be over ${YAML_MAX_BYTES / 1048576} MB (here 23 MB took 17 s and 1.3 GB, 62 MB 55 s and 3.3 GB: the parser's document tree)`);
      continue;
    }
    const r = await runChild(phase, isYaml ? yml : json, 'win-node-1');
    if (typeof r === 'string') {
      console.log(`  ${phase.padEnd(8)} ${r}`);
      continue;
    }
    times[phase] = r.ms;
    rss[phase] = r.rssMb;
    const ratio = times.parse ? ` ${fmt(r.ms / times.parse, 2).padStart(7)}x JSON.parse` : '';
    const bytesPer = ` ${fmt((r.rssMb * 1048576) / bytes, 2)} B RSS per input byte`;
    const vsPkg = phase === 'yamlpkg' && times.yaml ? `  (yaml / yamlpkg: ${fmt(times.yaml / r.ms, 3)}x time, ${fmt(rss.yaml! / r.rssMb, 2)}x RSS)` : '';
    console.log(`  ${phase.padEnd(8)} ${fmt(r.ms).padStart(8)} ms ${fmt(r.rssMb).padStart(6)} MB peak RSS${ratio}${bytesPer}${vsPkg}`);
  }
  return { bytes, times, rss };
}

async function main(): Promise<void> {
  const o = parseOptions(process.argv.slice(2));
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vfp-cluster-scale-'));
  console.log(`cluster-scale: node ${process.version}, ${os.cpus().length} x ${os.cpus()[0]?.model ?? '?'}, load ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}; files in ${dir}`);
  console.log('  phase: ms, peak RSS of that phase\'s process, ratio to JSON.parse of the same file (compile: the compile step alone)');
  try {
    const results: ({ c: Case } & CaseResult)[] = [];
    for (const c of o.cases) results.push({ c, ...(await runCase(dir, c, o)) });
    for (let k = 1; k < results.length; k++) {
      const a = results[k - 1];
      const b = results[k];
      const decades = Math.log10(b.bytes / a.bytes);
      if (decades <= 0) continue;
      const parts = PHASES.filter((p) => a.times[p] && b.times[p]).map((p) => `${p} ${fmt(Math.pow(b.times[p]! / a.times[p]!, 1 / decades), 1)}x`);
      console.log(`\ngrowth per 10x of input (${a.c.nodes}x${a.c.pods} -> ${b.c.nodes}x${b.c.pods}; 10x is linear): ${parts.join(', ')}`);
      const mem = PHASES.filter((p) => a.rss[p] && b.rss[p]).map((p) => `${p} ${fmt(Math.pow(b.rss[p]! / a.rss[p]!, 1 / decades), 1)}x`);
      console.log(`  peak RSS per 10x of input (the ~45 MB of a bare node process included): ${mem.join(', ')}`);
    }
  } finally {
    if (!o.keep) fs.rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[2] === '--child') {
  child(process.argv[3] as Phase, process.argv[4], process.argv[5]).catch((e: unknown) => {
    console.error(e instanceof Error ? e.stack : String(e));
    process.exit(1);
  });
} else if (require.main === module) {
  main().catch((e: unknown) => {
    if (e instanceof BenchUsage) {
      console.error(`cluster-scale: ${e.message}`);
      process.exit(2);
    }
    throw e;
  });
}
