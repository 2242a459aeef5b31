/**
 * Rewrite micro-benchmark (benchmark.js): the rewrite primitives the engine runs (src/packet/rewrite.ts:
 * writeMac, nat4At, frameAsEthernet, vxlanPrepend, popOuter, the flow hash) and the incremental checksum
 * of src/packet/checksum.ts, each run over a batch of 1024 decoded packets with the offsets the engine
 * passes; reports ns per packet. The rejected alternative is kept next to them (full checksum
 * recomputation after NAT).
 *
 *   npm run build && node dist/bench/rewrite.bench.js [name-regex]
 *
 * Frames come from src/packet/build.ts (TCP, 100-byte payload; addresses and ports vary per packet) and are
 * decoded once by src/decode so the primitives read real columns. The NAT cases alternate between two
 * values from one run to the next, so every call rewrites (nat4At skips a field that already holds its
 * value: the 'no-op' case measures that path, a pod-side capture's reply carrying its final values).
 */
import Benchmark from 'benchmark';
import * as os from 'node:os';
import { Batch } from '../src/core/batch';
import { decodeBatch } from '../src/decode/decoder';
import { buildFrame } from '../src/packet/build';
import { csumReplace16, csumReplace32, setIpv4HeaderChecksum, setL4Checksum } from '../src/packet/checksum';
import { flowHash4, frameAsEthernet, makeVxlanTemplate, nat4At, popOuter, vxlanPrepend, vxlanSourcePort, VXLAN_OUTER_LEN, writeMac } from '../src/packet/rewrite';

const PACKETS = 1024;

function decodedBatch(proto: 'tcp' | 'udp', payload: number, link: 'ethernet' | 'raw' = 'ethernet'): Batch {
  const b = new Batch({ capacity: PACKETS });
  b.reset(1);
  for (let k = 0; k < PACKETS; k++) {
    const f = buildFrame({
      eth: link === 'raw' ? null : { src: '0e:2a:0a:f4:01:05', dst: '00:15:5d:00:00:01' },
      ip: { version: 4, src: `10.244.${1 + (k >> 8)}.${k & 255}`, dst: '10.96.0.20', ttl: 128, df: true },
      l4:
        proto === 'tcp'
          ? { proto: 'tcp', sport: 30000 + k, dport: 80, seq: k * 7919, ack: 1, flags: 'PA', payload: 'x'.repeat(payload) }
          : { proto: 'udp', sport: 30000 + k, dport: 53, payload: 'y'.repeat(payload) },
    });
    const i = b.alloc(f.length);
    b.arena.set(f, b.off[i]);
    b.wirelen[i] = f.length;
    b.linktype[i] = link === 'raw' ? 101 : 1;
  }
  decodeBatch(b);
  return b;
}

const tcp = decodedBatch('tcp', 100);
const udp = decodedBatch('udp', 100);
const big = decodedBatch('tcp', 1400);
const fin = decodedBatch('tcp', 100);
const raw = decodedBatch('tcp', 100, 'raw');
const NODE = 0x0a7f820b; // 10.127.130.11
const BACKEND = 0x0af40207; // 10.244.2.7
/** A MAC table as the compiled dataplane holds one (6 bytes per MAC). */
const macs = new Uint8Array(4 * 6).map((_, k) => 0x10 + k);
const tmpl = makeVxlanTemplate({ srcMac: '00:15:5d:7f:82:0b', dstMac: '00:15:5d:7f:82:0c', srcIp: NODE, dstIp: '10.127.130.12', vni: 4096 });
let sink = 0;
let run = 0;

/** NAT by full recomputation (the rejected alternative): write the fields, recompute IP and TCP checksums. */
function snatFull(b: Batch, i: number, src: number, sport: number): void {
  const a = b.arena;
  const o = b.off[i];
  const l3 = o + b.l3Off[i];
  const l4 = o + b.l4Off[i];
  a[l3 + 12] = src >>> 24;
  a[l3 + 13] = (src >>> 16) & 0xff;
  a[l3 + 14] = (src >>> 8) & 0xff;
  a[l3 + 15] = src & 0xff;
  a[l4] = sport >>> 8;
  a[l4 + 1] = sport & 0xff;
  setIpv4HeaderChecksum(a, l3);
  setL4Checksum(a, 4, l3, l4, o + b.caplen[i], 6);
}

/** nat4At over batch `b` as the engine calls it (offsets from the decoded columns); `r` 0/1 picks the value pair. */
function natBatch(b: Batch, dst: boolean, addr: number, port: number, r: number): void {
  const a = b.arena;
  for (let i = 0; i < PACKETS; i++) {
    const o = b.off[i];
    nat4At(a, o + b.l3Off[i], o + b.l4Off[i], o + b.caplen[i], b.proto[i], dst, (addr + r) >>> 0, port + (dst ? r : i + r));
  }
}

const cases: [string, () => void][] = [
  [
    'checksum/replace32+16 (incremental)',
    () => {
      let c = 0x1234;
      for (let i = 0; i < PACKETS; i++) c = csumReplace16(csumReplace32(c, tcp.src4[i], NODE), tcp.sport[i], 50000 + i);
      sink += c;
    },
  ],
  ['mac/writeMac src+dst', () => {
    const a = tcp.arena;
    for (let i = 0; i < PACKETS; i++) {
      const l2 = tcp.off[i];
      writeMac(a, l2 + 6, macs, 0);
      writeMac(a, l2, macs, 1 + (i & 1));
    }
  }],
  ['nat/nat4At snat tcp 100B (incremental)', () => natBatch(tcp, false, NODE, 49152, run++ & 1)],
  ['nat/snat tcp 100B (full recompute)', () => {
    const r = run++ & 1;
    for (let i = 0; i < PACKETS; i++) snatFull(tcp, i, (NODE + r) >>> 0, 49152 + i + r);
  }],
  ['nat/nat4At snat tcp 1400B (incremental)', () => natBatch(big, false, NODE, 49152, run++ & 1)],
  ['nat/snat tcp 1400B (full recompute)', () => {
    const r = run++ & 1;
    for (let i = 0; i < PACKETS; i++) snatFull(big, i, (NODE + r) >>> 0, 49152 + i + r);
  }],
  ['nat/nat4At dnat udp', () => natBatch(udp, true, BACKEND, 53, run++ & 1)],
  ['nat/nat4At no-op (values already final)', () => {
    const a = fin.arena;
    for (let i = 0; i < PACKETS; i++) {
      const o = fin.off[i];
      nat4At(a, o + fin.l3Off[i], o + fin.l4Off[i], o + fin.caplen[i], 6, false, fin.src4[i], fin.sport[i]);
      nat4At(a, o + fin.l3Off[i], o + fin.l4Off[i], o + fin.caplen[i], 6, true, fin.dst4[i], fin.dport[i]);
    }
  }],
  ['hash/flowHash4 -> vxlan source port', () => {
    let s = 0;
    for (let i = 0; i < PACKETS; i++) s += vxlanSourcePort(flowHash4(tcp.proto[i], tcp.src4[i], tcp.dst4[i], tcp.sport[i], tcp.dport[i]));
    sink += s;
  }],
  ['vxlan/vxlanPrepend+popOuter', () => {
    for (let i = 0; i < PACKETS; i++) {
      vxlanPrepend(udp, i, tmpl, 49152 + i);
      popOuter(udp, i, VXLAN_OUTER_LEN); // the decapsulation; the next run starts from the same packet
    }
  }],
  ['link/frameAsEthernet raw IP (+undo)', () => {
    for (let i = 0; i < PACKETS; i++) {
      frameAsEthernet(raw, i);
      // undo (8 column writes) so the next run starts from the same raw IP packet
      raw.off[i] += 14;
      raw.caplen[i] -= 14;
      raw.wirelen[i] -= 14;
      raw.linktype[i] = 101;
      raw.l2Off[i] = -1;
      raw.l3Off[i] = 0;
      raw.l4Off[i] -= 14;
      raw.payOff[i] -= 14;
    }
  }],
];

const filter = process.argv[2] ? new RegExp(process.argv[2]) : null;
const suite = new Benchmark.Suite('rewrite');
for (const [name, fn] of cases) {
  if (filter && !filter.test(name)) continue;
  fn(); // warm up; a primitive that throws fails here, not inside the timing
  suite.add(name, fn);
}

suite
  .on('cycle', (ev: Benchmark.Event) => {
    const t = ev.target as Benchmark.Target & { name: string; hz: number; stats: { rme: number } };
    const ns = 1e9 / (t.hz * PACKETS);
    console.log(`${t.name.padEnd(42)} ${ns.toFixed(1).padStart(7)} ns/packet  ${((t.hz * PACKETS) / 1e6).toFixed(1).padStart(6)} M packets/s  ±${t.stats.rme.toFixed(1)}%`);
  })
  .on('start', () => {
    console.log(`rewrite primitives, ${PACKETS} packets per batch; node ${process.version}, ${os.cpus()[0]?.model ?? 'cpu'} (${os.arch()})`);
  })
  .on('complete', () => {
    if (sink === 0.5) console.log(''); // keep results observable
  })
  .run({ async: false });
