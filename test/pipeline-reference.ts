/**
 * The reference for the pipeline's outputs: the single-threaded replay loop as it was before
 * src/pipeline (one batch at a time; decode, engine, decode again; the string-based writers of test/reference/
 * `verdictLines` and `OutTrace`). test/pipeline-*.test.ts check that `replay` with any worker count
 * writes exactly these bytes.
 */
import * as fs from 'node:fs';
import { Batch } from '../src/core/batch';
import { prepareDataplane } from '../src/commands/replay';
import { decodeBatch, type DecodeOptions } from '../src/decode/decoder';
import { openCapture } from '../src/io/reader';
import { OutTrace } from './reference/out-trace';
import { FlowSnapshot, verdictLines } from './reference/verdicts';
import type { Dataplane } from '../src/vfp/engine';
import { Results } from '../src/vfp/results';

export interface ReferenceOptions {
  trace: string;
  clusterFiles: string[];
  /** A freshly compiled Dataplane to use instead of compiling `clusterFiles` (its state must be empty). */
  dataplane?: Dataplane;
  windows?: string;
  seed: number;
  view: 'pod' | 'wire';
  verdicts: string;
  out: string;
  vxlanPorts?: number[];
  /** A caplen above the snaplen is bad input (default true, as `replay` reads captures). */
  strictSnaplen?: boolean;
}

/** Runs the reference loop; returns the packets read. */
export function referenceReplay(o: ReferenceOptions): number {
  const dp = o.dataplane ?? prepareDataplane(o.clusterFiles, o).dataplane;
  const decodeOpts: DecodeOptions = { vxlanPorts: o.vxlanPorts && o.vxlanPorts.length > 0 ? o.vxlanPorts : undefined };
  const reader = openCapture(o.trace, { strictSnaplen: o.strictSnaplen ?? true });
  const batch = new Batch();
  const results = new Results(batch.capacity);
  const snap = new FlowSnapshot(batch.capacity);
  const fd = fs.openSync(o.verdicts, 'w');
  const outTrace = new OutTrace(o.out, dp);
  let packets = 0;
  try {
    for (;;) {
      const n = reader.next(batch);
      if (n === 0) break;
      decodeBatch(batch, decodeOpts);
      snap.take(batch);
      dp.process(batch, results);
      decodeBatch(batch, decodeOpts);
      fs.writeSync(fd, verdictLines(batch, results, snap, dp));
      outTrace.writeBatch(batch, results, snap, reader.interfaces);
      packets += n;
    }
  } finally {
    reader.close();
    fs.closeSync(fd);
    outTrace.close();
  }
  return packets;
}
