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
import { OutTraceEncoder } from '../src/pipeline/out-trace-encoder';
import { decidedBatches, encodeTrace } from './encode-batches';

function arg(name: string, dflt: number): number {
  const k = process.argv.indexOf(`--${name}`);
  return k > 0 ? Number(process.argv[k + 1]) : dflt;
}

const PACKETS = arg('packets', 100_000);
const ROUNDS = arg('rounds', 30);

const { dp, kept } = decidedBatches(PACKETS, false, 256 << 10);
/** Least nanoseconds seen per batch (a shared machine's noise only ever adds time). */
const bestEnc = new Float64Array(kept.length).fill(Infinity);
let bytes = 0;
let hash = 0x811c9dc5;
for (let round = 0; round < ROUNDS; round++) {
  // a fresh encoder per round: the same IDBs each round (the first round's bytes are hashed)
  const enc = new OutTraceEncoder(dp);
  for (let k = 0; k < kept.length; k++) {
    const t1 = process.hrtime.bigint();
    const t = encodeTrace(enc, kept[k]);
    const t2 = process.hrtime.bigint();
    if (round === 0) {
      bytes += t;
      const out = kept[k].traceOut;
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
  for (let round = 0; round < WARM; round++) {
    const t1 = process.hrtime.bigint();
    encodeTrace(warmEnc, kept[k]);
    if (round > 0) bestWarm[k] = Math.min(bestWarm[k], Number(process.hrtime.bigint() - t1));
  }
}
const sum = (a: Float64Array): number => a.reduce((s, x) => s + x, 0);
console.log(`output trace: ${PACKETS} packets, ${bytes} bytes (${(bytes / PACKETS).toFixed(1)} per packet), fnv1a ${(hash >>> 0).toString(16)}`);
console.log(`encode: ${(sum(bestEnc) / PACKETS).toFixed(1)} ns per packet (each batch's best of ${ROUNDS - 1} rounds)`);
console.log(`encode warm: ${(sum(bestWarm) / PACKETS).toFixed(1)} ns per packet (each batch's best of ${WARM - 1} in a row)`);
