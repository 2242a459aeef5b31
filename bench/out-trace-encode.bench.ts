/**
 * Output-trace encoder alone (src/pipeline/out-trace-encoder.ts), in ns per packet: a generated trace
 * (src/gen, in memory: 100k packets, 10k flows, the default traffic mix, 512-packet batches as the
 * pipeline's) is decoded, its tuples kept, run through the engine once, batch by batch, as `replay --out
 * --workers 1` does; then, in each round, the EPBs and IDBs of each kept batch are written as stage.ts
 * `finishAll` writes them (timed); each batch's best time of all rounds. It prints the bytes written and an FNV-1a hash of
 * them, so that a change to the encoder can be checked to write the same bytes.
 *
 * `encode warm` times each batch several times in a row (`--warm N`), its bytes in the cache as in the
 * pipeline's reused slot; the rounds before read every batch from memory.
 *
 *   npm run build && node dist/bench/out-trace-encode.bench.js [--packets N] [--rounds N] [--warm N]
 */
import { parseClusterText } from '../src/cluster/parse';
import { decodeRange } from '../src/decode/decoder';
import { clusterList } from '../src/gen/layout';
import { TraceGenerator } from '../src/gen/trace';
import type { TsUnits } from '../src/io/timestamps';
import { OutTraceEncoder } from '../src/pipeline/out-trace-encoder';
import { slotSpec } from '../src/pipeline/replay-loop';
import { Slot, SlotLayout } from '../src/pipeline/slot';
import { compileDataplane } from '../src/vfp/engine';
import { resolveProfile } from '../src/vfp/profile';
import { Results } from '../src/vfp/results';

function arg(name: string, dflt: number): number {
  const k = process.argv.indexOf(`--${name}`);
  return k > 0 ? Number(process.argv[k + 1]) : dflt;
}

const PACKETS = arg('packets', 100_000);
const ROUNDS = arg('rounds', 30);
const CAPACITY = 512;

const g = new TraceGenerator({ packets: PACKETS, flows: 10_000, seed: 1 });
const dp = compileDataplane(parseClusterText('generated cluster', JSON.stringify(clusterList(g.layout))), { profile: resolveProfile(undefined), seed: 1, view: 'pod' });
const st = dp.createState(1024);
const idx = new Uint32Array(CAPACITY);
for (let k = 0; k < CAPACITY; k++) idx[k] = k;
// one slot per batch, as the pipeline lays it out (arena and output in one buffer: the encoder's copyWithin)
const layout = new SlotLayout(slotSpec(dp, { verdicts: false, trace: true, capacity: CAPACITY, arenaBytes: 256 << 10 }, 1));
const kept: Slot[] = [];
for (;;) {
  const s = new Slot(layout);
  const b = s.batch;
  if (g.fillBatch(b) === 0) break;
  decodeRange(b, 0, b.count);
  s.flows.takeRange(b, 0, b.count);
  s.results.reset(b.count);
  dp.processWith(st, b, s.results, idx, b.count);
  kept.push(s);
}

const ifs: TsUnits[] = [{ tsKind: 'sec-frac', tsUnitsPerSec: 1e6, tsOffset: 0 }];
/** Least nanoseconds seen per batch (a shared machine's noise only ever adds time). */
const bestEnc = new Float64Array(kept.length).fill(Infinity);
let bytes = 0;
let hash = 0x811c9dc5;
for (let round = 0; round < ROUNDS; round++) {
  // a fresh encoder per round: the same IDBs each round (the first round's bytes are hashed)
  const enc = new OutTraceEncoder(dp);
  for (let k = 0; k < kept.length; k++) {
    const { batch: b, results: r, flows: f, traceOut: out } = kept[k];
    const t1 = process.hrtime.bigint();
    enc.begin(b, ifs, out);
    let t = 0;
    for (let i = 0; i < b.count; i++) {
      const iface = enc.number(b, r, i);
      if (enc.fresh) t += enc.writeIdb(t);
      t += enc.packet(b, r, f, i, t, iface);
    }
    const t2 = process.hrtime.bigint();
    if (round === 0) {
      bytes += t;
      for (let j = 0; j < t; j++) hash = Math.imul(hash ^ out[j], 0x01000193);
    } else {
      bestEnc[k] = Math.min(bestEnc[k], Number(t2 - t1));
    }
  }
}
// warm: each batch encoded WARM times in a row (its arena and output in the cache, as in the pipeline, where
// the reader has just filled the slot's arena and its output buffer is reused batch after batch); the
// rounds above go through every kept slot (hundreds of MB) and so read each batch from memory
const WARM = arg('warm', 8);
const bestWarm = new Float64Array(kept.length).fill(Infinity);
const warmEnc = new OutTraceEncoder(dp);
for (let k = 0; k < kept.length; k++) {
  const { batch: b, results: r, flows: f, traceOut: out } = kept[k];
  for (let round = 0; round < WARM; round++) {
    const t1 = process.hrtime.bigint();
    warmEnc.begin(b, ifs, out);
    let t = 0;
    for (let i = 0; i < b.count; i++) {
      const iface = warmEnc.number(b, r, i);
      if (warmEnc.fresh) t += warmEnc.writeIdb(t);
      t += warmEnc.packet(b, r, f, i, t, iface);
    }
    if (round > 0) bestWarm[k] = Math.min(bestWarm[k], Number(process.hrtime.bigint() - t1));
  }
}
const sum = (a: Float64Array): number => a.reduce((s, x) => s + x, 0);
console.log(`output trace: ${PACKETS} packets, ${bytes} bytes (${(bytes / PACKETS).toFixed(1)} per packet), fnv1a ${(hash >>> 0).toString(16)}`);
console.log(`encode: ${(sum(bestEnc) / PACKETS).toFixed(1)} ns per packet (each batch's best of ${ROUNDS - 1} rounds)`);
console.log(`encode warm: ${(sum(bestWarm) / PACKETS).toFixed(1)} ns per packet (each batch's best of ${WARM - 1} in a row)`);
