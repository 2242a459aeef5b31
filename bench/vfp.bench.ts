/**
 * VFP engine micro-benchmarks (benchmark.js), batched: each operation runs over a batch of 1024 packets
 * of 1024 different connections; reported in ns per packet.
 *
 *   npm run build && node dist/bench/vfp.bench.js [name-regex]
 *
 * Cases:
 *   flowtable/lookup hit, miss      the unified flow table alone (FlowTable.lookup, 2048 keys present)
 *   fast/<kind>                     Dataplane.processWith on packets whose connection is cached: the
 *                                   flow-table hit plus the cached header transposition
 *   slow/<kind>                     the first packet of each connection: classification, the port's
 *                                   layers (groups, rules), the switch, composing and caching the
 *                                   transposition and its reverse; a fresh DataplaneState each run
 *   baseline/*                      what the cases above also pay and is not the engine: restoring the
 *                                   batch's bytes (fast and slow paths rewrite packets in place) and
 *                                   making a fresh state (slow path); subtract them
 * Kinds: snat (pod to an external host: OutboundNAT, SLB_NAT layer), encap (pod to a pod on the other
 * emulated node: VNET route and VXLAN push on node 1, decap and delivery on node 2), lb (pod to a
 * ClusterIP whose backend is on node 2: DNAT, SNAT to the SourceVIP, VXLAN, delivery), dsr (the same with
 * kube-proxy enableDSR: DNAT only). Cluster: traces/_clusters/overlay
 * with traces/05-services (and traces/06-dsr's KubeProxyConfiguration for dsr).
 * The VXLAN push, NAT and checksum primitives alone are in rewrite.bench.ts.
 */
import Benchmark from 'benchmark';
import * as os from 'node:os';
import * as path from 'node:path';
import { Batch } from '../src/core/batch';
import { prepareDataplane } from '../src/commands/replay';
import { decodeBatch } from '../src/decode/decoder';
import { buildFrame } from '../src/packet/build';
import type { Dataplane } from '../src/vfp/engine';
import { FlowTable } from '../src/vfp/flow-table';
import { Results } from '../src/vfp/results';
import type { DataplaneState } from '../src/vfp/state';
import { VERDICT_NAMES } from '../src/vfp/reasons';

const PACKETS = 1024;
const traces = path.resolve(__dirname, '..', '..', 'traces');
const overlay = ['kubectl.yaml', 'cni.conf', 'net-conf.json'].map((f) => path.join(traces, '_clusters', 'overlay', f));
const CLIENT = { ip: '10.244.1.5', mac: '0e:2a:0a:f4:01:05' };
const DR_MAC = '00:15:5d:82:0b:ff';

interface Case {
  dp: Dataplane;
  b: Batch;
  r: Results;
  idx: Uint32Array;
  /** The batch's bytes and slot columns as built (the engine rewrites them). */
  arena: Uint8Array;
  off: Uint32Array;
  caplen: Uint32Array;
  wirelen: Uint32Array;
}

function makeCase(dp: Dataplane, dst: string, dport: number, proto: 'tcp' | 'udp'): Case {
  const b = new Batch({ capacity: PACKETS });
  b.reset(1);
  for (let k = 0; k < PACKETS; k++) {
    const f = buildFrame({
      eth: { src: CLIENT.mac, dst: DR_MAC },
      ip: { version: 4, src: CLIENT.ip, dst, ttl: 128, df: true },
      l4: proto === 'tcp' ? { proto: 'tcp', sport: 50000 + k, dport, flags: 'PA', seq: k, ack: 1, payload: 'x'.repeat(64) } : { proto: 'udp', sport: 50000 + k, dport, payload: 'y'.repeat(64) },
    });
    const i = b.alloc(f.length);
    b.arena.set(f, b.off[i]);
    b.wirelen[i] = f.length;
    b.linktype[i] = 1;
    b.ts[i] = 1700000000 + k * 1e-6;
  }
  decodeBatch(b);
  const idx = new Uint32Array(PACKETS);
  for (let k = 0; k < PACKETS; k++) idx[k] = k;
  return { dp, b, r: new Results(PACKETS), idx, arena: b.arena.slice(0, b.used), off: b.off.slice(), caplen: b.caplen.slice(), wirelen: b.wirelen.slice() };
}

function restore(c: Case): void {
  c.b.arena.set(c.arena);
  c.b.off.set(c.off);
  c.b.caplen.set(c.caplen);
  c.b.wirelen.set(c.wirelen);
}

function run(c: Case, st: DataplaneState): void {
  restore(c);
  c.r.reset(PACKETS);
  c.dp.processWith(st, c.b, c.r, c.idx, PACKETS);
}

/** Verdicts of a run, to check the case does what its name says. */
function verdicts(c: Case): string {
  const n: Record<string, number> = {};
  for (let i = 0; i < PACKETS; i++) n[VERDICT_NAMES[c.r.verdict[i]]] = (n[VERDICT_NAMES[c.r.verdict[i]]] ?? 0) + 1;
  return Object.entries(n).map(([v, k]) => `${v} ${k}`).join(', ');
}

const opts = { seed: 1, view: 'pod' as const, windows: undefined };
const plain = prepareDataplane([...overlay, path.join(traces, '05-services', 'services.yaml')], opts).dataplane;
const dsr = prepareDataplane([...overlay, path.join(traces, '05-services', 'services.yaml'), path.join(traces, '06-dsr', 'kube-proxy.yaml')], opts).dataplane;
const kinds: [string, Case][] = [
  ['snat (pod -> external, OutboundNAT)', makeCase(plain, '203.0.113.10', 443, 'tcp')],
  ['encap (pod -> pod on node 2: VXLAN, decap)', makeCase(plain, '10.244.2.7', 8080, 'tcp')],
  ['lb (pod -> ClusterIP: DNAT, SNAT, VXLAN)', makeCase(plain, '10.96.0.20', 80, 'tcp')],
  ['dsr (pod -> ClusterIP: DSR DNAT, VXLAN)', makeCase(dsr, '10.96.0.20', 80, 'tcp')],
];

// flow table alone: 2048 keys (two flows of 1024 connections), then lookups of present and absent keys
const ft = new FlowTable(PACKETS);
const keys = new Uint32Array(PACKETS * 4);
for (let k = 0; k < PACKETS; k++) {
  const c = ft.allocConnection();
  keys.set([6, 0x0af40105, 0xcb00710a, ((50000 + k) << 16) | 443], k * 4);
  ft.keyFlow(2 * c, 6, 0x0af40105, 0xcb00710a, ((50000 + k) << 16) | 443);
  ft.keyFlow(2 * c + 1, 6, 0xcb00710a, 0x0a7f820b, (443 << 16) | (49152 + k));
}
let sink = 0;

const cases: [string, () => void][] = [
  ['flowtable/lookup hit', () => {
    let s = 0;
    for (let k = 0; k < PACKETS; k++) s += ft.lookup(keys[k * 4], keys[k * 4 + 1], keys[k * 4 + 2], keys[k * 4 + 3]);
    sink += s;
  }],
  ['flowtable/lookup miss', () => {
    let s = 0;
    for (let k = 0; k < PACKETS; k++) s += ft.lookup(keys[k * 4], keys[k * 4 + 1] + 1, keys[k * 4 + 2], keys[k * 4 + 3]);
    sink += s;
  }],
  ['baseline/restore the batch', () => restore(kinds[0][1])],
  ['baseline/new DataplaneState', () => {
    sink += plain.createState(PACKETS).flows.capacity;
  }],
];
for (const [name, c] of kinds) {
  const warm = c.dp.createState(PACKETS);
  run(c, warm); // creates the connections: later runs hit
  cases.push([`fast/${name}`, () => run(c, warm)]);
  cases.push([`slow/${name}`, () => run(c, c.dp.createState(PACKETS))]);
}

const filter = process.argv[2] ? new RegExp(process.argv[2]) : null;
const suite = new Benchmark.Suite('vfp');
for (const [name, fn] of cases) {
  if (filter && !filter.test(name)) continue;
  fn();
  suite.add(name, fn);
}
for (const [name, c] of kinds) {
  run(c, c.dp.createState(PACKETS));
  const layers = c.dp.c.pods.find((p) => p.name === 'pod/default/client-0')?.port.layers.map((l) => l.name).join(', ') ?? '?';
  console.log(`  ${name}: ${verdicts(c)}; client port layers: ${layers}`);
}

suite
  .on('cycle', (ev: Benchmark.Event) => {
    const t = ev.target as Benchmark.Target & { name: string; hz: number; stats: { rme: number } };
    const ns = 1e9 / (t.hz * PACKETS);
    console.log(`${t.name.padEnd(48)} ${ns.toFixed(1).padStart(8)} ns/packet  ${((t.hz * PACKETS) / 1e6).toFixed(2).padStart(6)} M packets/s  ±${t.stats.rme.toFixed(1)}%`);
  })
  .on('start', () => {
    console.log(`VFP engine, ${PACKETS} packets (connections) per batch; node ${process.version}, ${os.cpus()[0]?.model ?? 'cpu'} (${os.arch()})`);
  })
  .on('complete', () => {
    if (sink === 0.5) console.log('');
  })
  .run({ async: false });
