/**
 * The work one thread does on a slot, in three steps per batch (the same code runs on the main thread
 * when there is one shard, and in each worker when there are more):
 *
 *   1. decodeRange   stateless, a contiguous range of packets: decode (src/decode), keep the tuple as
 *                    captured (for verdict records), and pick each packet's shard: the engine's
 *                    `Dataplane.shardKey` (the connection's owner: a pod, all hosts, or a tuple hash)
 *                    modulo the shard count.
 *   2. process       stateful, every packet of this thread's shard in index order: the VFP engine with
 *                    this shard's DataplaneState (`Dataplane.processWith`). Packets of one connection,
 *                    and connections that draw on one NAT port pool, all have the same key, so each
 *                    state sees its connections whole and in order, and nothing else touches it.
 *   3. finishRange   stateless, a contiguous range: count verdicts for the summary (Tally), decode the
 *                    rewritten packets again (for `out` in verdict records), and encode the range's
 *                    verdict records and output pcapng blocks into the slot's buffers.
 *
 * Step 2 of a batch starts when every thread has done step 1 of it, and step 3 when every thread has done
 * step 2 (pipeline.ts / worker.ts hold those barriers); the output is written in input order by the main
 * thread from the ranges' buffers.
 */
import type { TsUnits } from '../io/timestamps';
import { decodeRange, type DecodeOptions } from '../decode/decoder';
import type { Dataplane } from '../vfp/engine';
import { REASON_COUNT, warningIds } from '../vfp/reasons';
import type { DataplaneState } from '../vfp/state';
import { OutTraceEncoder } from './out-trace-encoder';
import type { Slot } from './slot';
import { VerdictEncoder } from './verdict-encoder';

/** Counts per non-negative integer key: an open-addressing table in typed arrays (no object per key). */
export class KeyCounts {
  private keys = new Float64Array(64).fill(-1);
  private counts = new Float64Array(64);
  private size = 0;

  private static slot(key: number, mask: number): number {
    return (Math.imul((key | 0) ^ ((key / 4294967296) | 0), 0x9e3779b1) >>> 7) & mask;
  }

  add(key: number, n: number): void {
    const mask = this.keys.length - 1;
    let s = KeyCounts.slot(key, mask);
    for (;;) {
      const k = this.keys[s];
      if (k === key) {
        this.counts[s] += n;
        return;
      }
      if (k === -1) break;
      s = (s + 1) & mask;
    }
    this.keys[s] = key;
    this.counts[s] = n;
    if (++this.size * 2 > this.keys.length) this.grow();
  }

  private grow(): void {
    const keys = this.keys;
    const counts = this.counts;
    this.keys = new Float64Array(keys.length * 2).fill(-1);
    this.counts = new Float64Array(keys.length * 2);
    this.size = 0;
    for (let s = 0; s < keys.length; s++) if (keys[s] !== -1) this.add(keys[s], counts[s]);
  }

  /** [key, count] pairs, by key. */
  entries(): [number, number][] {
    const out: [number, number][] = [];
    for (let s = 0; s < this.keys.length; s++) if (this.keys[s] !== -1) out.push([this.keys[s], this.counts[s]]);
    return out.sort((a, b) => a[0] - b[0]);
  }
}

/** Counters for the summary, per thread; merged at the end (`add`). */
export class Tally {
  readonly verdicts = new Float64Array(5);
  readonly reasons = new Float64Array(REASON_COUNT);
  readonly warnings = new Float64Array(REASON_COUNT);
  /** Packets per service * 0x100000 + backend. */
  readonly backends = new KeyCounts();
  /** A packet matched `--fail-on`. */
  failed = false;

  add(o: TallyData): void {
    for (let k = 0; k < 5; k++) this.verdicts[k] += o.verdicts[k];
    for (let k = 0; k < REASON_COUNT; k++) {
      this.reasons[k] += o.reasons[k];
      this.warnings[k] += o.warnings[k];
    }
    for (const [key, n] of o.backends) this.backends.add(key, n);
    this.failed ||= o.failed;
  }

  data(): TallyData {
    return { verdicts: [...this.verdicts], reasons: [...this.reasons], warnings: [...this.warnings], backends: this.backends.entries(), failed: this.failed };
  }
}

/** A Tally as plain data (posted from a worker). */
export interface TallyData {
  verdicts: number[];
  reasons: number[];
  warnings: number[];
  backends: [number, number][];
  failed: boolean;
}

export interface StageOptions {
  decode: DecodeOptions;
  /** Verdicts and reason ids that `--fail-on` names. */
  failVerdicts: number[];
  failReasons: number[];
}

export class ShardStage {
  readonly tally = new Tally();
  readonly verdictEncoder: VerdictEncoder;
  readonly traceEncoder: OutTraceEncoder;
  private readonly state: DataplaneState;
  private readonly idx: Uint32Array;
  private readonly failVerdict: Uint8Array;
  private readonly failReason: Uint8Array;
  private readonly anyFailReason: boolean;
  /** Warning ids per warning bitmask (built on first use). */
  private readonly warnIds = new Map<number, number[]>();

  constructor(
    readonly dp: Dataplane,
    private readonly opts: StageOptions,
    capacity: number,
  ) {
    this.state = dp.state;
    this.idx = new Uint32Array(capacity);
    this.verdictEncoder = new VerdictEncoder(dp);
    this.traceEncoder = new OutTraceEncoder(dp);
    this.failVerdict = new Uint8Array(8);
    for (const v of opts.failVerdicts) this.failVerdict[v] = 1;
    this.failReason = new Uint8Array(Math.max(REASON_COUNT, 256));
    for (const r of opts.failReasons) this.failReason[r] = 1;
    this.anyFailReason = opts.failReasons.length > 0;
  }

  /** Step 1 on packets [from, to): decode, keep the tuple, pick the shard (of `shards`). */
  decodeRange(s: Slot, from: number, to: number, shards: number): void {
    const b = s.batch;
    decodeRange(b, from, to, this.opts.decode);
    if (s.flows !== null) s.flows.takeRange(b, from, to);
    const shard = s.shard;
    if (shards === 1) shard.fill(0, from, to);
    else for (let i = from; i < to; i++) shard[i] = this.dp.shardKey(b, i) % shards;
  }

  /** Step 2: the engine on the packets of shard `me` (all packets when `all`), in index order. */
  process(s: Slot, me: number, all: boolean): void {
    const b = s.batch;
    const n = b.count;
    const idx = this.idx;
    let m = 0;
    if (all) for (let i = 0; i < n; i++) idx[m++] = i;
    else {
      const shard = s.shard;
      for (let i = 0; i < n; i++) if (shard[i] === me) idx[m++] = i;
    }
    this.dp.processWith(this.state, b, s.results, idx, m);
  }

  /**
   * Step 3 on packets [from, to): count, then encode into the slot's buffers; `ifs`: the input
   * interfaces' timestamp units. Returns [verdict start, verdict length, trace start, trace length].
   */
  finishRange(s: Slot, from: number, to: number, ifs: readonly TsUnits[], out: Int32Array | number[]): void {
    const b = s.batch;
    const r = s.results;
    this.count(s, from, to);
    out[0] = out[1] = out[2] = out[3] = 0;
    if (s.verdictOut !== null && s.flows !== null) {
      decodeRange(b, from, to, this.opts.decode);
      const start = from * this.verdictEncoder.maxRecordBytes;
      out[0] = start;
      out[1] = this.verdictEncoder.encodeRange(b, r, s.flows, from, to, s.verdictOut, start) - start;
    }
    if (s.traceOut !== null) {
      const enc = this.traceEncoder;
      let start = 0;
      for (let i = 0; i < from; i++) start += enc.blockBound(b.caplen[i]);
      out[2] = start;
      out[3] = enc.encodeRange(b, r, ifs, from, to, s.traceOut, start) - start;
    }
  }

  private count(s: Slot, from: number, to: number): void {
    const r = s.results;
    const t = this.tally;
    const fv = this.failVerdict;
    const fr = this.failReason;
    for (let i = from; i < to; i++) {
      const v = r.verdict[i];
      const reason = r.reason[i];
      t.verdicts[v]++;
      t.reasons[reason]++;
      const w = r.warnings[i];
      if (w !== 0) {
        const ids = this.warningIdsOf(w);
        for (let k = 0; k < ids.length; k++) t.warnings[ids[k]]++;
        if (this.anyFailReason) for (let k = 0; k < ids.length; k++) if (fr[ids[k]] === 1) t.failed = true;
      }
      const svc = r.service[i];
      const be = r.backend[i];
      if (svc >= 0 && be >= 0) {
        t.backends.add(svc * 0x100000 + be, 1);
      }
      if (fv[v] === 1 || fr[reason] === 1) t.failed = true;
    }
  }

  private warningIdsOf(mask: number): number[] {
    let ids = this.warnIds.get(mask);
    if (ids === undefined) {
      ids = warningIds(mask);
      this.warnIds.set(mask, ids);
    }
    return ids;
  }
}
