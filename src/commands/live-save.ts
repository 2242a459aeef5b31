/**
 * `vfp-emu live --save FILE` (issue 13): the packets as captured, before the engine judges (and rewrites)
 * them, in a classic pcap file (microsecond timestamps: live-source.ts stamps arrival times in
 * microseconds), written batch by batch in the order they are judged, so that packet N of the file is the
 * packet the verdict records and the summary number N: the failing flows' explain commands name this file.
 * Written whole like every output (pipeline/output-files.ts AtomicOutput: renamed when complete, also
 * after Ctrl-C; removed when the run fails).
 */
import type { Batch } from '../core/batch';
import type { CaptureReader } from '../io/reader';
import { AtomicOutput, writeAll, writing } from '../pipeline/output-files';

const PCAP_USEC_MAGIC = 0xa1b2c3d4;
const SNAPLEN = 65535;

export class PcapSave {
  private out: AtomicOutput | null = null;
  private buf = Buffer.alloc(1 << 16);

  constructor(private readonly file: string) {}

  /** Creates the file with its header (link type of the capture). */
  open(linkType: number): void {
    const out = (this.out = AtomicOutput.open(this.file));
    const h = new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.byteLength);
    h.setUint32(0, PCAP_USEC_MAGIC, true);
    h.setUint16(4, 2, true);
    h.setUint16(6, 4, true);
    h.setUint32(8, 0, true);
    h.setUint32(12, 0, true);
    h.setUint32(16, SNAPLEN, true);
    h.setUint32(20, linkType, true);
    writing(this.file, () => writeAll(out.fd, this.buf, 0, 24));
  }

  /** `r`, whose every batch is also written to the file as it is read. */
  wrap(r: CaptureReader): CaptureReader {
    const next = (b: Batch): number => {
      const n = r.next(b);
      if (n > 0) this.write(b);
      return n;
    };
    return new Proxy(r, { get: (target, key) => (key === 'next' ? next : Reflect.get(target, key)) });
  }

  /** The batch's packets as pcap records, in one write. */
  private write(b: Batch): void {
    let bytes = 0;
    for (let i = 0; i < b.count; i++) bytes += 16 + b.caplen[i];
    if (this.buf.length < bytes) this.buf = Buffer.alloc(bytes * 2);
    const v = new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.byteLength);
    const arena = Buffer.from(b.arena.buffer, b.arena.byteOffset, b.arena.byteLength);
    let p = 0;
    for (let i = 0; i < b.count; i++) {
      v.setUint32(p, b.tsHi[i], true);
      v.setUint32(p + 4, b.tsLo[i], true);
      v.setUint32(p + 8, b.caplen[i], true);
      v.setUint32(p + 12, b.wirelen[i], true);
      arena.copy(this.buf, p + 16, b.off[i], b.off[i] + b.caplen[i]);
      p += 16 + b.caplen[i];
    }
    const out = this.out as AtomicOutput;
    writing(this.file, () => writeAll(out.fd, this.buf, 0, p));
  }

  commit(): void {
    this.out?.commit();
  }

  /** No-op after `commit`. */
  abort(): void {
    this.out?.abort();
  }
}
