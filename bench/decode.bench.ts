/**
 * Decoder micro-benchmark (benchmark.js): decodeBatch on a batch of 1024 packets of one header stack,
 * per stack; reports ns per packet and packets per second.
 *
 *   npm run build && node dist/bench/decode.bench.js
 *
 * Frames come from src/packet/build.ts; ports and addresses vary per packet so nothing is constant.
 */
import Benchmark from 'benchmark';
import * as os from 'node:os';
import { Batch } from '../src/core/batch';
import { decodeBatch, DecodeOptions } from '../src/decode/decoder';
import { buildFrame, buildVxlanFrame, dnsQuery, FrameSpec } from '../src/packet/build';

const PACKETS = 1024;

function batchOf(make: (k: number) => Uint8Array): Batch {
  const b = new Batch({ capacity: PACKETS });
  b.reset(1);
  for (let k = 0; k < PACKETS; k++) {
    const f = make(k);
    const i = b.alloc(f.length);
    b.arena.set(f, b.off[i]);
    b.wirelen[i] = f.length;
    b.linktype[i] = 1;
  }
  return b;
}

const payload = (n: number) => 'x'.repeat(n);
const v4 = (k: number) => `10.${(k >> 8) & 255}.${k & 255}.${(k * 7) & 255}`;

const tcp4 = (k: number): FrameSpec => ({
  ip: { version: 4, src: v4(k), dst: '10.96.0.10', df: true },
  l4: { proto: 'tcp', sport: 30000 + k, dport: 80, flags: 'PA', ack: 1, payload: payload(100) },
});

const stacks: [string, (k: number) => Uint8Array, DecodeOptions][] = [
  ['eth/ipv4/tcp', (k) => buildFrame(tcp4(k)), {}],
  [
    'eth/vlan/ipv4/udp',
    (k) =>
      buildFrame({
        eth: { src: '02:00:00:00:00:01', dst: '02:00:00:00:00:02', vlans: [{ id: 100 + (k & 7) }] },
        ip: { version: 4, src: v4(k), dst: '10.0.0.1' },
        l4: { proto: 'udp', sport: 40000 + k, dport: 5000, payload: payload(64) },
      }),
    {},
  ],
  [
    'eth/ipv6/ext/tcp',
    (k) =>
      buildFrame({
        ip: {
          version: 6,
          src: `2001:db8::${k.toString(16)}`,
          dst: '2001:db8::1',
          extensions: [{ type: 0 }, { type: 60 }],
        },
        l4: { proto: 'tcp', sport: 30000 + k, dport: 443, flags: 'A', ack: 1, payload: payload(100) },
      }),
    {},
  ],
  [
    'vxlan inner tcp',
    (k) =>
      buildVxlanFrame({
        ip: { version: 4, src: '172.16.0.11', dst: '172.16.0.12' },
        sport: 49152 + (k & 0x3fff),
        vni: 4096,
        inner: tcp4(k),
      }),
    {},
  ],
  [
    'dns query',
    (k) =>
      buildFrame({
        ip: { version: 4, src: v4(k), dst: '10.96.0.10' },
        l4: { proto: 'udp', sport: 40000 + k, dport: 53, payload: dnsQuery(k, `svc-${k}.default.svc.cluster.local`) },
      }),
    {},
  ],
];

const suite = new Benchmark.Suite('decodeBatch');
for (const [name, make, opts] of stacks) {
  const b = batchOf(make);
  decodeBatch(b, opts); // warm up and check it decodes
  suite.add(name, () => decodeBatch(b, opts));
}

suite
  .on('cycle', (ev: Benchmark.Event) => {
    const t = ev.target as Benchmark.Target & { name: string; hz: number; stats: { rme: number } };
    const nsPerPacket = 1e9 / (t.hz * PACKETS);
    const pps = t.hz * PACKETS;
    console.log(
      `${t.name.padEnd(20)} ${nsPerPacket.toFixed(1).padStart(7)} ns/packet  ${(pps / 1e6).toFixed(1).padStart(6)} M packets/s  ±${t.stats.rme.toFixed(1)}%`,
    );
  })
  .on('start', () => {
    console.log(`decodeBatch, ${PACKETS} packets per batch; node ${process.version}, ${os.cpus()[0]?.model ?? 'cpu'} (${os.arch()})`);
  })
  .run({ async: false });
