/**
 * The paths the HTML report draws (issue 13): several packets of one trace walked in one read of it, each
 * walk as data (src/vfp/walk.ts `walkOf` at `detail: full`, the tree `vfp-emu explain --format json` gives),
 * for path-diagram.ts to draw.
 *
 * `walkPackets` is explain-loop.ts's replay for several packets: every packet decided in order with one
 * Dataplane, the chosen ones with a trace (Dataplane.explainWalk decides the packet as `process` does,
 * so the packets after it see the state a replay leaves). No Node.js module is imported here.
 */
import { Batch } from '../core/batch';
import { decodeBatch, type DecodeOptions } from '../decode/decoder';
import type { CaptureReader } from '../io/reader';
import type { Dataplane } from '../vfp/engine';
import { Results } from '../vfp/results';
import { walkOf, type Walk } from '../vfp/walk';

/** The walks of `packets` (1-based numbers) of the trace `reader` reads, by number; the caller closes the reader. */
export function walkPackets(reader: CaptureReader, dp: Dataplane, decode: DecodeOptions, packets: readonly number[]): Map<number, Walk> {
  const want = [...new Set(packets)].sort((a, b) => a - b);
  const out = new Map<number, Walk>();
  const batch = new Batch();
  const results = new Results(batch.capacity);
  const idx = new Uint32Array(batch.capacity);
  let w = 0;
  while (w < want.length) {
    const n = reader.next(batch);
    if (n === 0) break;
    const first = batch.firstNumber;
    decodeBatch(batch, decode);
    results.reset(n);
    let from = 0;
    for (; w < want.length && want[w] < first + n; w++) {
      const t = want[w] - first;
      let m = 0;
      for (let i = from; i < t; i++) idx[m++] = i;
      dp.processWith(dp.state, batch, results, idx, m);
      out.set(want[w], walkOf(dp.c, dp.explainWalk(batch, t, results), results, t, 'full'));
      from = t + 1;
    }
    let m = 0;
    for (let i = from; i < n; i++) idx[m++] = i;
    dp.processWith(dp.state, batch, results, idx, m);
  }
  return out;
}
