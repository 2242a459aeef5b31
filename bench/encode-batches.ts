/**
 * What the encoder benches (encoders-ab.bench.ts, out-trace-encode.bench.ts) share: a generated trace
 * (src/gen, in memory: `packets` packets, 10k flows, the default traffic mix) decoded and run through the
 * engine once in 512-packet batches as `replay --workers 1` does, each batch kept in its own slot laid out
 * as the pipeline's (arena and output in one buffer: the encoders' copyWithin), and one batch's output
 * trace written as stage.ts `finishAll` writes it.
 */
import { parseClusterText } from '../src/cluster/parse';
import { decodeRange } from '../src/decode/decoder';
import { clusterList } from '../src/gen/layout';
import { TraceGenerator } from '../src/gen/trace';
import type { TsUnits } from '../src/io/timestamps';
import type { OutTraceEncoder } from '../src/pipeline/out-trace-encoder';
import { slotSpec } from '../src/pipeline/replay-loop';
import { Slot, SlotLayout } from '../src/pipeline/slot';
import { compileDataplane, type Dataplane } from '../src/vfp/engine';
import { resolveProfile } from '../src/vfp/profile';

/** Packets per batch, as the pipeline's. */
export const CAPACITY = 512;

/** The interfaces' timestamp units the benches encode with (pcap, microseconds). */
export const IFS: TsUnits[] = [{ tsKind: 'sec-frac', tsUnitsPerSec: 1e6, tsOffset: 0 }];

/** The dataplane and every batch of the trace, decided, each in its own slot (`verdicts`: with a verdict output). */
export function decidedBatches(packets: number, verdicts: boolean, arenaBytes: number): { dp: Dataplane; kept: Slot[] } {
  const g = new TraceGenerator({ packets, flows: 10_000, seed: 1 });
  const dp = compileDataplane(parseClusterText('generated cluster', JSON.stringify(clusterList(g.layout))), { profile: resolveProfile(undefined), seed: 1, view: 'pod' });
  const st = dp.createState(1024);
  const idx = new Uint32Array(CAPACITY);
  for (let k = 0; k < CAPACITY; k++) idx[k] = k;
  const layout = new SlotLayout(slotSpec(dp, { verdicts, trace: true, capacity: CAPACITY, arenaBytes }, 1));
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
  return { dp, kept };
}

/** Writes slot `s`'s batch to its output trace with `enc` (IDBs and EPBs, as `finishAll`); returns the bytes written. */
export function encodeTrace(enc: OutTraceEncoder, s: Slot): number {
  const { batch: b, results: r, flows: f, traceOut: out } = s;
  enc.begin(b, IFS, out);
  let t = 0;
  for (let i = 0; i < b.count; i++) {
    const iface = enc.number(b, r, i);
    if (enc.fresh) t += enc.writeIdb(t);
    t += enc.packet(b, r, f, i, t, iface);
  }
  return t;
}
