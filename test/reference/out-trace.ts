/**
 * The REFERENCE writer of the output trace (test only): the string-based writer the pipeline's byte
 * encoder (src/pipeline/out-trace-encoder.ts, which documents the format) replaced, kept as the oracle of
 * test/pipeline-reference.ts. It names each egress point, composes each packet's comment and options as
 * strings and writes them through src/io/writer.ts, so it shares no encoding code with the product path.
 *
 * Uses: the batch after the engine ran (bytes rewritten in place), Results, the Dataplane's names.
 */
import type { Batch } from '../../src/core/batch';
import { createWriter, type ByteSink, type CaptureWriter } from '../../src/io/writer';
import type { InterfaceInfo } from '../../src/io/reader';
import { secFracToTicks, ticksToSecFrac, tsResult, tsresolFromUnits } from '../../src/io/timestamps';
import { ifaceName } from '../../src/pipeline/out-trace-encoder';
import { reasonCode, reasonSentence, V, VERDICT_NAMES } from '../../src/vfp/reasons';
import type { Results } from '../../src/vfp/results';
import type { Dataplane } from '../../src/vfp/engine';

/**
 * epb_verdict for drops, as etl2pcapng writes it: type 2 (Linux eBPF XDP) then its 8-byte value 1 (the
 * pcapng spec's u64, little-endian like the rest of the file). tshark refuses any other length for type 2
 * ("XDP verdict option length 2 is != 9") and stops reading the file there.
 */
const DROP_VERDICT = new Uint8Array([2, 1, 0, 0, 0, 0, 0, 0, 0]);

export class OutTrace {
  private readonly w: CaptureWriter;
  private readonly ifaceByKey = new Map<string, number>();
  private outUnits = 0;
  private outResol = 6;

  /** `file`: a path, or a ByteSink (a MemorySink: the browser page builds the file in memory). */
  constructor(
    file: string | ByteSink,
    private readonly dp: Dataplane,
  ) {
    this.w = createWriter(file, 'pcapng');
  }

  private iface(key: string, linkType: number): number {
    let k = this.ifaceByKey.get(key);
    if (k === undefined) {
      const name = ifaceName(key);
      k = this.w.addInterface({ linkType, tsresol: this.outResol, name, description: `vfp-emu egress point ${name}` });
      this.ifaceByKey.set(key, k);
    }
    return k;
  }

  /** Write the batch's packets (after the engine ran on it). */
  writeBatch(b: Batch, r: Results, inIfaces: readonly InterfaceInfo[]): void {
    if (this.outUnits === 0) {
      const first = inIfaces[b.iface[0]] ?? inIfaces[0];
      const units = first?.tsUnitsPerSec ?? 1e6;
      const resol = tsresolFromUnits(units);
      this.outUnits = resol !== null && units <= 1e9 ? units : 1e9;
      this.outResol = tsresolFromUnits(this.outUnits) ?? 9;
    }
    for (let i = 0; i < b.count; i++) {
      const n = b.firstNumber + i;
      const verdict = r.verdict[i];
      const node = r.node[i] >= 0 ? this.dp.nodeName(r.node[i]) : '';
      let key: string;
      const linkType = b.linktype[i];
      if (verdict === V.IGNORED) key = linkType === 1 ? 'not emulated' : `not emulated (link type ${linkType})`;
      else if (verdict === V.DROPPED) key = `${node} drop`;
      else key = `${node} ${r.egress[i] >= 0 ? this.dp.endpointName(r.egress[i]) : 'wire'}`;
      let comment = `packet ${n}: ${VERDICT_NAMES[verdict]}`;
      if (r.reason[i] !== 0) comment += ` ${reasonCode(r.reason[i])}: ${reasonSentence(r.reason[i])}`;
      this.timestamp(b, i, inIfaces);
      const dropped = verdict === V.DROPPED;
      this.w.writePacket(b.arena.subarray(b.off[i], b.off[i] + b.caplen[i]), {
        tsHi: tsResult[0],
        tsLo: tsResult[1],
        wirelen: b.wirelen[i],
        iface: this.iface(key, linkType),
        noTimestamp: Number.isNaN(b.ts[i]),
        options: {
          comments: [comment],
          flags: verdict === V.DELIVERED ? 1 : verdict === V.FORWARDED || verdict === V.NO_RETURN ? 2 : 0,
          verdicts: dropped ? [DROP_VERDICT] : undefined,
        },
      });
    }
  }

  /** Packet i's timestamp in the output units, into tsResult. */
  private timestamp(b: Batch, i: number, inIfaces: readonly InterfaceInfo[]): void {
    const info = inIfaces[b.iface[i]];
    if (info === undefined || Number.isNaN(b.ts[i])) {
      tsResult[0] = 0;
      tsResult[1] = 0;
      return;
    }
    if (info.tsKind === 'sec-frac') {
      secFracToTicks(b.tsHi[i], b.tsLo[i], info.tsUnitsPerSec, this.outUnits);
    } else if (info.tsUnitsPerSec === this.outUnits) {
      tsResult[0] = b.tsHi[i];
      tsResult[1] = b.tsLo[i];
    } else {
      ticksToSecFrac(b.tsHi[i], b.tsLo[i], info.tsUnitsPerSec, this.outUnits);
      secFracToTicks(tsResult[0], tsResult[1], this.outUnits, this.outUnits);
    }
  }

  close(): void {
    this.w.close();
  }
}
