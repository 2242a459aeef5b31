/**
 * The replay of `explain` (the CLI's and the page's), apart from replay-loop.ts (which re-exports it) so that
 * `vfp-emu explain` loads neither the output encoders nor the stages of a replay (issue 12, start-up): it
 * needs only the decoder and the Dataplane. No Node.js module is imported here (the page runs it too).
 */
import { Batch } from '../core/batch';
import { decodeBatch, type DecodeOptions } from '../decode/decoder';
import type { CaptureReader } from '../io/reader';
import type { Dataplane, ExplainedPacket } from '../vfp/engine';
import { Results } from '../vfp/results';
import { explainedText } from '../vfp/walk';

/**
 * The replay of `explain` (the CLI's and the page's): packets 1..packet-1 decided silently (so the flow
 * table, NAT ports and TCP state are what a replay leaves them), then packet `packet` (1-based) walked
 * with a trace; returns its text. Null when the input ends before it (after throwing the reader's fault,
 * if it has one). The caller closes the reader.
 */
export function explainPacket(reader: CaptureReader, dp: Dataplane, decode: DecodeOptions, packet: number): string | null {
  const w = walkPacket(reader, dp, decode, packet);
  return w === null ? null : explainedText(w.walked);
}

/**
 * As `explainPacket`, the walk itself (the Trace, for vfp/walk.ts's data) with the Results row of the packet
 * (`results`, row `index`).
 */
export function walkPacket(reader: CaptureReader, dp: Dataplane, decode: DecodeOptions, packet: number): { walked: ExplainedPacket; results: Results; index: number } | null {
  const batch = new Batch();
  const results = new Results(batch.capacity);
  for (;;) {
    const n = reader.next(batch);
    if (n === 0) break;
    if (batch.firstNumber + n - 1 < packet) {
      decodeBatch(batch, decode);
      dp.process(batch, results);
      continue;
    }
    // The batch holding the packet: the packets before it one at a time, then the packet with a trace.
    const target = packet - batch.firstNumber;
    batch.count = target + 1;
    decodeBatch(batch, decode);
    results.reset(batch.count);
    const idx = new Uint32Array(target);
    for (let k = 0; k < target; k++) idx[k] = k;
    dp.processWith(dp.state, batch, results, idx, target);
    return { walked: dp.explainWalk(batch, target, results), results, index: target };
  }
  if (reader.error !== null) throw reader.error;
  return null;
}
