/**
 * A slot of the pipeline's ring: one batch in flight with everything the stages read and write for it,
 * all of it views into ONE ArrayBuffer, so that a slot moves between threads as one transferred buffer
 * (postMessage transfer list: moved, never copied, never cloned packet by packet):
 *
 *   batch       the Batch (arena + columns) the reader fills on the main thread;
 *   results     the engine's Results columns;
 *   flows       the tuple of each packet as captured (for verdict records);
 *   shard       which shard decides each packet;
 *   verdictOut  verdict records, one region per shard (each shard writes its own packets' records one
 *               after the other in its region);
 *   traceOut    output pcapng blocks, one region per shard likewise, right after the arena, so that a
 *               packet's bytes are copied with one `copyWithin` in the same buffer;
 *   idbOut      the Interface Description Blocks first needed in this batch;
 *   readBuf     the reader's buffer, when one thread reads into its one slot (SlotSpec `readBytes`);
 *   vpos/vlen, tpos/tlen, ipos/ilen   where each packet's record, EPB and IDB (if any) are, when shards
 *               wrote them (the main thread writes them in input order, pipeline.ts).
 *
 * Plain ArrayBuffers, not SharedArrayBuffers: V8 compiles typed-array access on a SharedArrayBuffer to
 * slower code and copies into one with relaxed atomic stores (measured: decode + engine + encode about
 * 20% slower, packet copies several times slower). Only one thread owns a slot at a time.
 */
import { Batch, FlowColumns } from '../core/batch';
import { Results } from '../vfp/results';

export interface SlotSpec {
  /** Packets per batch. */
  capacity: number;
  /** Arena bytes per batch. */
  arenaBytes: number;
  /** Bytes of the verdict record buffer (0: no verdict records). */
  verdictBytes: number;
  /** Bytes of the output trace buffer (0: no output trace). */
  traceBytes: number;
  /** Bytes for the IDBs of one batch (0: no output trace). */
  idbBytes: number;
  /** Output regions: one per shard that encodes (verdictBytes and traceBytes are per region). */
  regions: number;
  /**
   * Bytes of the reader's buffer in the slot (`readBuf`; 0 or absent: none): one thread reading into the
   * one slot it decides (pipeline.ts, W = 1 with outputs), so that the reader copies each packet into the
   * arena with `copyWithin` in the one buffer (reader.ts ReaderOptions `buffer`).
   */
  readBytes?: number;
}

type ViewCtor = new (b: ArrayBuffer, o: number, n: number) => ArrayBufferView;

/** Where one typed-array (or DataView) property of a slot object lives in the slot's buffer. */
interface Field {
  /** 'batch' | 'results' | 'flows' | 'slot' */
  owner: string;
  name: string;
  ctor: ViewCtor;
  byteOffset: number;
  /** Elements (bytes for a DataView). */
  length: number;
}

/** The typed-array and DataView properties of `obj`, by name, with their element counts. */
function viewsOf(obj: object): { name: string; ctor: ViewCtor; length: number; bytes: number }[] {
  const out: { name: string; ctor: ViewCtor; length: number; bytes: number }[] = [];
  for (const [name, v] of Object.entries(obj)) {
    if (!ArrayBuffer.isView(v)) continue;
    const ctor = v.constructor as ViewCtor;
    const length = v instanceof DataView ? v.byteLength : (v as Uint8Array).length;
    out.push({ name, ctor, length, bytes: v.byteLength });
  }
  return out;
}

/** The layout of a slot's buffer for a spec (computed once per spec). */
export class SlotLayout {
  readonly fields: Field[] = [];
  readonly bytes: number;

  constructor(readonly spec: SlotSpec) {
    const C = spec.capacity;
    let at = 0;
    const add = (owner: string, name: string, ctor: ViewCtor, length: number, elemBytes: number): void => {
      at = (at + 7) & ~7;
      this.fields.push({ owner, name, ctor, byteOffset: at, length });
      at += length * elemBytes;
    };
    // the arena first, then the output trace right after it (one buffer: copyWithin between them)
    add('batch', 'arena', Uint8Array, spec.arenaBytes, 1);
    add('batch', 'view', DataView as unknown as ViewCtor, spec.arenaBytes, 0);
    this.fields[1].byteOffset = 0;
    add('slot', 'traceOut', Uint8Array, spec.traceBytes * spec.regions, 1);
    const templates: [string, object][] = [
      ['batch', new Batch({ capacity: C, arenaBytes: 0 })],
      ['results', new Results(C)],
      ['flows', new FlowColumns(C)],
    ];
    for (const [owner, obj] of templates) {
      for (const v of viewsOf(obj)) {
        if (owner === 'batch' && (v.name === 'arena' || v.name === 'view')) continue;
        add(owner, v.name, v.ctor, v.length, v.bytes / Math.max(1, v.length));
      }
    }
    add('slot', 'shard', Uint8Array, C, 1);
    for (const name of ['vpos', 'vlen', 'tpos', 'tlen', 'ipos', 'ilen']) add('slot', name, Int32Array, C, 4);
    add('slot', 'verdictOut', Uint8Array, spec.verdictBytes * spec.regions, 1);
    add('slot', 'idbOut', Uint8Array, spec.idbBytes, 1);
    add('slot', 'readBuf', Uint8Array, spec.readBytes ?? 0, 1);
    this.bytes = (at + 7) & ~7;
  }
}

export class Slot {
  readonly batch: Batch;
  readonly results: Results;
  readonly flows: FlowColumns;
  shard!: Uint8Array;
  vpos!: Int32Array;
  vlen!: Int32Array;
  tpos!: Int32Array;
  tlen!: Int32Array;
  ipos!: Int32Array;
  ilen!: Int32Array;
  verdictOut!: Uint8Array;
  traceOut!: Uint8Array;
  idbOut!: Uint8Array;
  /** The reader's buffer (SlotSpec `readBytes`; empty when none). */
  readBuf!: Uint8Array;
  /** The buffer every view of the slot is on (transfer it to move the slot). */
  buffer: ArrayBuffer;

  /** A slot with a new buffer, or (`attachLater`) with none until `attach` (a worker's, for buffers it receives). */
  constructor(
    readonly layout: SlotLayout,
    attachLater = false,
  ) {
    const C = layout.spec.capacity;
    this.batch = new Batch({ capacity: 1, arenaBytes: 0 });
    (this.batch as { capacity: number }).capacity = C;
    this.results = new Results(1);
    (this.results as { capacity: number }).capacity = C;
    this.flows = new FlowColumns(1);
    this.buffer = new ArrayBuffer(attachLater ? 0 : layout.bytes);
    if (!attachLater) this.attach(this.buffer);
  }

  get spec(): SlotSpec {
    return this.layout.spec;
  }

  /** Makes every view of the slot a view of `buffer` (after the slot's buffer was transferred here). */
  attach(buffer: ArrayBuffer): void {
    if (buffer.byteLength !== this.layout.bytes) throw new Error(`slot buffer of ${buffer.byteLength} bytes, ${this.layout.bytes} expected`);
    this.buffer = buffer;
    const owners: Record<string, Record<string, unknown>> = {
      batch: this.batch as unknown as Record<string, unknown>,
      results: this.results as unknown as Record<string, unknown>,
      flows: this.flows as unknown as Record<string, unknown>,
      slot: this as unknown as Record<string, unknown>,
    };
    for (const f of this.layout.fields) owners[f.owner][f.name] = new f.ctor(buffer, f.byteOffset, f.length);
  }
}
