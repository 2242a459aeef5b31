/**
 * Verdict-record encoder alone (src/pipeline/verdict-encoder.ts), in ns per record: a generated trace
 * (src/gen, in memory: 100k packets, 10k flows, the default traffic mix) is decoded, run through the
 * engine once, batch by batch, as `replay --verdicts --workers 1` does; then, in each round, each kept
 * batch is decoded again (as the pipeline does just before encoding, so its headers are in the cache as
 * they are there) and only `VerdictEncoder.encodeAll` is timed; each batch's best time of all rounds. It also prints
 * the bytes written and an FNV-1a hash of them, so that a change to the encoder can be checked to write
 * the same bytes.
 *
 *   npm run build && node dist/bench/verdict-encode.bench.js [--packets N] [--rounds N]
 */
import { Batch, FlowColumns } from '../src/core/batch';
import { parseClusterText } from '../src/cluster/parse';
import { decodeRange } from '../src/decode/decoder';
import { clusterList } from '../src/gen/layout';
import { TraceGenerator } from '../src/gen/trace';
import { VerdictEncoder } from '../src/pipeline/verdict-encoder';
import { compileDataplane } from '../src/vfp/engine';
import { resolveProfile } from '../src/vfp/profile';
import { Results } from '../src/vfp/results';

function arg(name: string, dflt: number): number {
  const k = process.argv.indexOf(`--${name}`);
  return k > 0 ? Number(process.argv[k + 1]) : dflt;
}

const PACKETS = arg('packets', 100_000);
const ROUNDS = arg('rounds', 30);
const CAPACITY = 4096;

interface Kept {
  b: Batch;
  r: Results;
  f: FlowColumns;
}

const g = new TraceGenerator({ packets: PACKETS, flows: 10_000, seed: 1 });
const dp = compileDataplane(parseClusterText('generated cluster', JSON.stringify(clusterList(g.layout))), { profile: resolveProfile(undefined), seed: 1, view: 'pod' });
const st = dp.createState(1024);
const idx = new Uint32Array(CAPACITY);
for (let k = 0; k < CAPACITY; k++) idx[k] = k;
const kept: Kept[] = [];
for (;;) {
  const b = new Batch({ capacity: CAPACITY, arenaBytes: 8 << 20 });
  if (g.fillBatch(b) === 0) break;
  const r = new Results(CAPACITY);
  const f = new FlowColumns(CAPACITY);
  decodeRange(b, 0, b.count);
  f.takeRange(b, 0, b.count);
  r.reset(b.count);
  dp.processWith(st, b, r, idx, b.count);
  kept.push({ b, r, f });
}

const enc = new VerdictEncoder(dp);
const out = new Uint8Array(CAPACITY * enc.maxRecordBytes);
/** Least nanoseconds seen per batch (a shared machine's noise only ever adds time). */
const best = new Float64Array(kept.length).fill(Infinity);
let bytes = 0;
let hash = 0x811c9dc5;
for (let round = 0; round < ROUNDS; round++) {
  for (let k = 0; k < kept.length; k++) {
    const { b, r, f } = kept[k];
    decodeRange(b, 0, b.count);
    const t0 = process.hrtime.bigint();
    const len = enc.encodeAll(b, r, f, out);
    const ns = Number(process.hrtime.bigint() - t0);
    if (round === 0) {
      bytes += len;
      for (let j = 0; j < len; j++) hash = Math.imul(hash ^ out[j], 0x01000193);
    } else best[k] = Math.min(best[k], ns);
  }
}
const total = best.reduce((a, x) => a + x, 0);
console.log(`verdict records: ${PACKETS} packets, ${bytes} bytes (${(bytes / PACKETS).toFixed(1)} per record), fnv1a ${(hash >>> 0).toString(16)}`);
console.log(`encodeAll: ${(total / PACKETS).toFixed(1)} ns per record (each batch's best of ${ROUNDS - 1} rounds)`);
