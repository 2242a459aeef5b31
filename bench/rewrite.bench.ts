/**
 * Rewrite micro-benchmark (benchmark.js): the hot-path rewrite primitives of src/packet/rewrite.ts and the
 * incremental checksum of src/packet/checksum.ts, each run over a batch of 1024 decoded packets; reports
 * ns per packet. The rejected alternatives are kept next to them (full checksum recomputation after NAT).
 *
 *   npm run build && node dist/bench/rewrite.bench.js [name-regex]
 *
 * Frames come from src/packet/build.ts (TCP, 100-byte payload; addresses and ports vary per packet) and are
 * decoded once by src/decode so the primitives read real columns.
 */
import Benchmark from 'benchmark';
import * as os from 'node:os';
import { Batch } from '../src/core/batch';
import { decodeBatch } from '../src/decode/decoder';
import { buildFrame } from '../src/packet/build';
import { csumReplace16, csumReplace32, setIpv4HeaderChecksum, setL4Checksum } from '../src/packet/checksum';
import { macHi, macLo } from '../src/packet/addr';
import {
  decapVxlan,
  dnat4,
  encapVxlan,
  flowHash4,
  makeVxlanTemplate,
  packetFlowHash,
  setDstMac,
  setSrcMac,
  snat4,
  vxlanSourcePort,
  VXLAN_OUTER_LEN,
} from '../src/packet/rewrite';

const PACKETS = 1024;

function decodedBatch(proto: 'tcp' | 'udp', payload: number): Batch {
  const b = new Batch({ capacity: PACKETS });
  b.reset(1);
  for (let k = 0; k < PACKETS; k++) {
    const f = buildFrame({
      eth: { src: '0e:2a:0a:f4:01:05', dst: '00:15:5d:00:00:01' },
      ip: { version: 4, src: `10.244.${1 + (k >> 8)}.${k & 255}`, dst: '10.96.0.20', ttl: 128, df: true },
      l4:
        proto === 'tcp'
          ? { proto: 'tcp', sport: 30000 + k, dport: 80, seq: k * 7919, ack: 1, flags: 'PA', payload: 'x'.repeat(payload) }
          : { proto: 'udp', sport: 30000 + k, dport: 53, payload: 'y'.repeat(payload) },
    });
    const i = b.alloc(f.length);
    b.arena.set(f, b.off[i]);
    b.wirelen[i] = f.length;
    b.linktype[i] = 1;
  }
  decodeBatch(b);
  return b;
}

const tcp = decodedBatch('tcp', 100);
const udp = decodedBatch('udp', 100);
const big = decodedBatch('tcp', 1400);
const NODE = 0x0a7f820b; // 10.127.130.11
const BACKEND = 0x0af40207; // 10.244.2.7
const hostHi = macHi('00:15:5d:7f:82:0b');
const hostLo = macLo('00:15:5d:7f:82:0b');
const tmpl = makeVxlanTemplate({ srcMac: '00:15:5d:7f:82:0b', dstMac: '00:15:5d:7f:82:0c', srcIp: NODE, dstIp: '10.127.130.12', vni: 4096 });
let sink = 0;

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

const cases: [string, () => void][] = [
  [
    'checksum/replace32+16 (incremental)',
    () => {
      let c = 0x1234;
      for (let i = 0; i < PACKETS; i++) c = csumReplace16(csumReplace32(c, tcp.src4[i], NODE), tcp.sport[i], 50000 + i);
      sink += c;
    },
  ],
  ['mac/set-src+dst', () => {
    for (let i = 0; i < PACKETS; i++) {
      setSrcMac(tcp, i, hostHi, hostLo);
      setDstMac(tcp, i, hostHi, (hostLo + i) >>> 0);
    }
  }],
  ['nat/snat4 tcp 100B (incremental)', () => {
    for (let i = 0; i < PACKETS; i++) snat4(tcp, i, (NODE + (i & 1)) >>> 0, 49152 + i);
  }],
  ['nat/snat4 tcp 100B (full recompute)', () => {
    for (let i = 0; i < PACKETS; i++) snatFull(tcp, i, (NODE + (i & 1)) >>> 0, 49152 + i);
  }],
  ['nat/snat4 tcp 1400B (incremental)', () => {
    for (let i = 0; i < PACKETS; i++) snat4(big, i, (NODE + (i & 1)) >>> 0, 49152 + i);
  }],
  ['nat/snat4 tcp 1400B (full recompute)', () => {
    for (let i = 0; i < PACKETS; i++) snatFull(big, i, (NODE + (i & 1)) >>> 0, 49152 + i);
  }],
  ['nat/dnat4 udp', () => {
    for (let i = 0; i < PACKETS; i++) dnat4(udp, i, (BACKEND + (i & 1)) >>> 0, 53 + (i & 1));
  }],
  ['hash/flowHash4 -> vxlan source port', () => {
    let s = 0;
    for (let i = 0; i < PACKETS; i++) s += vxlanSourcePort(flowHash4(tcp.proto[i], tcp.src4[i], tcp.dst4[i], tcp.sport[i], tcp.dport[i]));
    sink += s;
  }],
  ['vxlan/encap (template prepend)', () => {
    for (let i = 0; i < PACKETS; i++) {
      encapVxlan(tcp, i, tmpl, vxlanSourcePort(packetFlowHash(tcp, i)), i);
      // undo the prepend so the next run starts from the same packet (3 column writes)
      tcp.off[i] += VXLAN_OUTER_LEN;
      tcp.caplen[i] -= VXLAN_OUTER_LEN;
      tcp.wirelen[i] -= VXLAN_OUTER_LEN;
    }
  }],
  ['vxlan/encap+decap', () => {
    for (let i = 0; i < PACKETS; i++) {
      encapVxlan(udp, i, tmpl, 50000, i);
      sink += decapVxlan(udp, i);
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
    console.log(`${t.name.padEnd(38)} ${ns.toFixed(1).padStart(7)} ns/packet  ${((t.hz * PACKETS) / 1e6).toFixed(1).padStart(6)} M packets/s  ±${t.stats.rme.toFixed(1)}%`);
  })
  .on('start', () => {
    console.log(`rewrite primitives, ${PACKETS} packets per batch; node ${process.version}, ${os.cpus()[0]?.model ?? 'cpu'} (${os.arch()})`);
  })
  .on('complete', () => {
    if (sink === 0.5) console.log(''); // keep results observable
  })
  .run({ async: false });
