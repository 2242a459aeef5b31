/**
 * The two output encoders of another build against this one's, in ONE process, alternating (issue 12: speed
 * claims are ratios measured in one run): the verdict-record encoder (src/pipeline/verdict-encoder.ts
 * `encodeAll`) and the output-trace encoder (src/pipeline/out-trace-encoder.ts, as stage.ts `finishAll`
 * calls it), in ns per packet, and whether both builds write the same bytes (FNV-1a of every batch).
 *
 * A generated trace (src/gen, in memory: 100k packets, 10k flows, the e2e traffic mix) is decoded, its
 * tuples kept, run through the engine once in 512-packet batches as `replay --workers 1` does (this build's
 * engine), each batch in a slot laid out as the pipeline's (arena and output in one buffer). Then each
 * batch is encoded `--rounds` times in a row by each build, their order swapped every round (the batch's
 * bytes in the cache, as in the pipeline's reused slot); each batch's best time per build counts. A busy
 * machine slows both builds alike: read the ratio, not the ns.
 *
 *   npm run build && node dist/bench/encoders-ab.bench.js OLD_DIST [--packets N] [--rounds N]
 *
 * OLD_DIST: the other build's dist folder (e.g. a worktree of the previous commit, built with `tsc -p .`).
 */
import * as os from 'node:os';
import * as path from 'node:path';
import { decodeRange } from '../src/decode/decoder';
import { OutTraceEncoder } from '../src/pipeline/out-trace-encoder';
import { VerdictEncoder } from '../src/pipeline/verdict-encoder';
import { decidedBatches, encodeTrace } from './encode-batches';

function arg(name: string, dflt: number): number {
  const k = process.argv.indexOf(`--${name}`);
  return k > 0 ? Number(process.argv[k + 1]) : dflt;
}

const oldDist = process.argv[2];
if (oldDist === undefined || oldDist.startsWith('--')) {
  console.error('usage: encoders-ab.bench OLD_DIST [--packets N] [--rounds N]');
  process.exit(2);
}
const PACKETS = arg('packets', 100_000);
const ROUNDS = arg('rounds', 12);

type VerdictCtor = typeof VerdictEncoder;
type TraceCtor = typeof OutTraceEncoder;
const oldV = (require(path.resolve(oldDist, 'src/pipeline/verdict-encoder')) as { VerdictEncoder: VerdictCtor }).VerdictEncoder;
const oldT = (require(path.resolve(oldDist, 'src/pipeline/out-trace-encoder')) as { OutTraceEncoder: TraceCtor }).OutTraceEncoder;

const { dp, kept } = decidedBatches(PACKETS, true, 1 << 20);
const verdictEncs = [new oldV(dp), new VerdictEncoder(dp)];
const traceEncs = [new oldT(dp), new OutTraceEncoder(dp)];
const best = (): Float64Array[] => [new Float64Array(kept.length).fill(Infinity), new Float64Array(kept.length).fill(Infinity)];
const vBest = best();
const tBest = best();
const vHash = [0x811c9dc5, 0x811c9dc5];
const tHash = [0x811c9dc5, 0x811c9dc5];

function fnv(h: number, a: Uint8Array, n: number): number {
  for (let j = 0; j < n; j++) h = Math.imul(h ^ a[j], 0x01000193);
  return h;
}

/** One build (`w`: 0 old, 1 new) encodes slot `k`'s batch both ways; the first round hashes, the others time. */
function encode(w: number, k: number, round: number): void {
  const s = kept[k];
  const b = s.batch;
  const t0 = process.hrtime.bigint();
  const n = verdictEncs[w].encodeAll(b, s.results, s.flows, s.verdictOut);
  const t1 = process.hrtime.bigint();
  const t = encodeTrace(traceEncs[w], s);
  const t2 = process.hrtime.bigint();
  if (round === 0) {
    vHash[w] = fnv(vHash[w], s.verdictOut, n);
    tHash[w] = fnv(tHash[w], s.traceOut, t);
    return;
  }
  vBest[w][k] = Math.min(vBest[w][k], Number(t1 - t0));
  tBest[w][k] = Math.min(tBest[w][k], Number(t2 - t1));
}

for (let k = 0; k < kept.length; k++) {
  decodeRange(kept[k].batch, 0, kept[k].batch.count); // decoded again as it leaves, as stage.ts does for --verdicts
  for (let round = 0; round < ROUNDS; round++) for (const w of round % 2 === 0 ? [0, 1] : [1, 0]) encode(w, k, round);
}

const perPacket = (a: Float64Array): number => a.reduce((x, y) => x + y, 0) / PACKETS;
const line = (what: string, b: Float64Array[], h: number[]): string =>
  `${what}: old ${perPacket(b[0]).toFixed(1)} ns, new ${perPacket(b[1]).toFixed(1)} ns per packet, new/old ${(perPacket(b[1]) / perPacket(b[0])).toFixed(3)}, bytes ${h[0] === h[1] ? 'the same' : 'DIFFER'}`;
console.log(`${PACKETS} packets, 512-packet batches, each batch's best of ${ROUNDS - 1} rounds per build, old: ${oldDist}`);
console.log(line('verdict records', vBest, vHash));
console.log(line('output trace   ', tBest, tHash));
console.log(`load average: ${os.loadavg().map((x: number) => x.toFixed(2)).join(' ')}`);
