/**
 * A slot of the pipeline's ring: one batch in flight with everything the stages read and write for it,
 * in SharedArrayBuffers when workers share it (never copied, never cloned packet by packet):
 *
 *   batch       the Batch (arena + columns) the reader fills on the main thread;
 *   results     the engine's Results columns;
 *   flows       the tuple of each packet as captured (only when verdict records are written);
 *   shard       which shard decides each packet (Dataplane.shardKey % W);
 *   verdictOut  verdict records, one region per worker range (`maxRecordBytes` per packet);
 *   traceOut    output pcapng blocks, one region per worker range (`blockBound` per packet).
 *
 * `Slot.create(..., shared)` makes one on the main thread; `slotParts` lists its shared buffers by name and
 * `Slot.adopt` rebuilds the same views on them in a worker. The control words (below) say what is in a
 * slot and how far each stage got; they live in one Int32Array shared by all threads.
 */
import { Batch } from '../core/batch';
import { Results } from '../vfp/results';
import { FlowColumns } from './verdict-encoder';

export interface SlotSpec {
  /** Packets per batch. */
  capacity: number;
  /** Arena bytes per batch. */
  arenaBytes: number;
  /** Bytes of the verdict record buffer (0: no verdict records). */
  verdictBytes: number;
  /** Bytes of the output trace buffer (0: no output trace). */
  traceBytes: number;
}

/** A typed array or DataView property, by name, as a worker rebuilds it. */
interface ViewPart {
  kind: string;
  buffer: SharedArrayBuffer;
  byteOffset: number;
  length: number;
}
type Parts = Record<string, ViewPart>;

/** The shared buffers of one slot (structured-cloned to workers: SharedArrayBuffers are shared, not copied). */
export interface SlotParts {
  spec: SlotSpec;
  batch: Parts;
  results: Parts;
  flows: Parts | null;
  shard: ViewPart;
  verdictOut: ViewPart | null;
  traceOut: ViewPart | null;
}

function part(v: ArrayBufferView): ViewPart {
  if (!(v.buffer instanceof SharedArrayBuffer)) throw new Error('slot buffers must be SharedArrayBuffers to be shared');
  const kind = v instanceof DataView ? 'DataView' : v.constructor.name;
  const length = v instanceof DataView ? v.byteLength : (v as Uint8Array).length;
  return { kind, buffer: v.buffer, byteOffset: v.byteOffset, length };
}

/** Every typed-array or DataView property of `obj`, by name (so a new Batch column is shared too). */
function partsOf(obj: object): Parts {
  const out: Parts = {};
  for (const [k, v] of Object.entries(obj)) if (ArrayBuffer.isView(v)) out[k] = part(v);
  return out;
}

const CTORS: Record<string, new (b: ArrayBufferLike, o: number, n: number) => ArrayBufferView> = {
  Uint8Array,
  Int8Array,
  Uint16Array,
  Int16Array,
  Uint32Array,
  Int32Array,
  Float32Array,
  Float64Array,
  BigInt64Array,
  BigUint64Array,
  DataView,
};

function view(p: ViewPart): ArrayBufferView {
  const C = CTORS[p.kind];
  if (C === undefined) throw new Error(`cannot share a ${p.kind}`);
  return new C(p.buffer, p.byteOffset, p.length);
}

/** Replaces `obj`'s view properties with views on the shared buffers of `parts`. */
function adoptParts(obj: object, parts: Parts): void {
  const o = obj as Record<string, unknown>;
  for (const [k, p] of Object.entries(parts)) o[k] = view(p);
}

export class Slot {
  constructor(
    readonly spec: SlotSpec,
    readonly batch: Batch,
    readonly results: Results,
    readonly flows: FlowColumns | null,
    readonly shard: Uint8Array,
    readonly verdictOut: Uint8Array | null,
    readonly traceOut: Uint8Array | null,
  ) {}

  /**
   * A new slot. The batch's arena and the output trace buffer are two views of one buffer, so that the
   * encoder copies each packet's bytes with one `copyWithin` (no view allocated per packet).
   */
  static create(spec: SlotSpec, shared: boolean): Slot {
    const mk = (n: number): ArrayBufferLike => (shared ? new SharedArrayBuffer(n) : new ArrayBuffer(n));
    const batch = new Batch({ capacity: spec.capacity, arenaBytes: 0, shared });
    const both = mk(spec.arenaBytes + spec.traceBytes);
    (batch as { arena: Uint8Array }).arena = new Uint8Array(both, 0, spec.arenaBytes);
    (batch as { view: DataView }).view = new DataView(both, 0, spec.arenaBytes);
    return new Slot(
      spec,
      batch,
      new Results(spec.capacity, { shared }),
      spec.verdictBytes > 0 ? new FlowColumns(spec.capacity, shared) : null,
      new Uint8Array(mk(spec.capacity)),
      spec.verdictBytes > 0 ? new Uint8Array(mk(spec.verdictBytes)) : null,
      spec.traceBytes > 0 ? new Uint8Array(both, spec.arenaBytes, spec.traceBytes) : null,
    );
  }

  /** Views of a slot made by `create(spec, true)` in another thread, on the same memory. */
  static adopt(p: SlotParts): Slot {
    const batch = new Batch({ capacity: 1, arenaBytes: 0 });
    adoptParts(batch, p.batch);
    (batch as { capacity: number }).capacity = p.spec.capacity;
    const results = new Results(1);
    adoptParts(results, p.results);
    (results as { capacity: number }).capacity = p.spec.capacity;
    let flows: FlowColumns | null = null;
    if (p.flows !== null) {
      flows = new FlowColumns(1);
      adoptParts(flows, p.flows);
    }
    return new Slot(
      p.spec,
      batch,
      results,
      flows,
      view(p.shard) as Uint8Array,
      p.verdictOut !== null ? (view(p.verdictOut) as Uint8Array) : null,
      p.traceOut !== null ? (view(p.traceOut) as Uint8Array) : null,
    );
  }

  parts(): SlotParts {
    return {
      spec: this.spec,
      batch: partsOf(this.batch),
      results: partsOf(this.results),
      flows: this.flows !== null ? partsOf(this.flows) : null,
      shard: part(this.shard),
      verdictOut: this.verdictOut !== null ? part(this.verdictOut) : null,
      traceOut: this.traceOut !== null ? part(this.traceOut) : null,
    };
  }
}

// ---- control words (Int32Array shared by all threads) ---------------------------------------------

/** Batches published by the main thread (slot of batch k: k % ring size). */
export const CTL_PUBLISHED = 0;
/** 1 when the main thread has published its last batch (or gives up). */
export const CTL_STOP = 1;
/** 1 when a thread failed (its message comes on its port). */
export const CTL_ERROR = 2;
/** Workers that have sent their final counters. */
export const CTL_FINISHED = 3;
/** First word of slot 0. */
const CTL_SLOTS = 8;

/** Words of one slot: count, interfaces known, three stage counters, then 4 per worker. */
export const S_COUNT = 0;
export const S_IFACES = 1;
export const S_DECODED = 2;
export const S_PROCESSED = 3;
export const S_DONE = 4;
const S_WORKERS = 5;
/** Per worker: where its verdict and trace bytes are and how long. */
export const W_VSTART = 0;
export const W_VLEN = 1;
export const W_TSTART = 2;
export const W_TLEN = 3;

/** Index arithmetic of the control words for a ring of `slots` slots and `workers` workers. */
export class ControlLayout {
  readonly slotWords: number;
  readonly words: number;

  constructor(
    readonly slots: number,
    readonly workers: number,
  ) {
    this.slotWords = S_WORKERS + 4 * workers;
    this.words = CTL_SLOTS + slots * this.slotWords;
  }

  /** Word `field` (S_*) of slot `s`. */
  at(s: number, field: number): number {
    return CTL_SLOTS + s * this.slotWords + field;
  }

  /** Word `field` (W_*) of worker `w` in slot `s`. */
  worker(s: number, w: number, field: number): number {
    return CTL_SLOTS + s * this.slotWords + S_WORKERS + 4 * w + field;
  }
}
