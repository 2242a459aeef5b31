/**
 * The work on a slot, in four steps per batch. On one thread (one shard) the main thread runs them all in
 * a row; with two threads the main thread runs steps 1 and 2 for every packet and the output worker steps
 * 3 and 4 (`finishAll`); with W >= 3 shards the main thread is shard 0 and the first step of a chain of
 * W - 1 shard workers (pipeline.ts, worker.ts): each batch visits the main thread, then the workers in
 * turn, and each runs the steps that are its own:
 *
 *   1. prepare       (main thread) decode every packet (src/decode), keep the tuples as captured (for
 *                    verdict records and the output trace's comments), reset the Results, and pick each packet's shard.
 *   2. process       (every shard) the VFP engine on the packets of its shard, in index order, with its
 *                    shard's DataplaneState (`Dataplane.processWith`), which also counts them (the
 *                    state's Counters: verdicts, reasons, warnings, backends, rules). A shard is a set
 *                    of the engine's shard keys (`Dataplane.shardKey`: a connection's owner, the same for both directions,
 *                    every node crossed and the NAT ports it uses), so each state sees its connections
 *                    whole and in trace order, and nothing else touches it.
 *   3. finish        (every shard) on its own packets: check them against `--fail-on` (Tally), decode them
 *                    again as they leave (for `out` in verdict records), encode their verdict records and
 *                    output pcapng blocks one after the other in its own region of the slot.
 *   4. number        (last worker) the output interfaces, in input order (out-trace-encoder.ts); the
 *                    main thread then writes each packet's pieces in input order.
 * With one shard, steps 3 and 4 are one (`finishAll`): the output is written in order straight away.
 */
import type { TsUnits } from '../io/timestamps';
import type { Batch } from '../core/batch';
import { decodePackets, decodeRange, type DecodeOptions } from '../decode/decoder';
import type { Dataplane } from '../vfp/engine';
import { Counters, type CountersData } from '../vfp/counters';
import { REASON_COUNT, warningIds } from '../vfp/reasons';
import type { Results } from '../vfp/results';
import type { DataplaneState } from '../vfp/state';
import { FLOW_SHARES } from '../vfp/flow-table';
import type { OutTraceEncoder } from './out-trace-encoder';
import { outTraceEncoderModule, verdictEncoderModule } from './encoders';
import type { Slot } from './slot';
import type { VerdictEncoder } from './verdict-encoder';
import { FailingFlows, type FailingFlowsData } from '../report/failing-flows';
import { PktmonTally, type PktmonTallyData } from '../report/pktmon';

/**
 * What one thread's part of a run came to: its DataplaneState's counters (counters.ts, the one counter
 * system: the engine counts every packet it decides) and what is not a count. Posted between threads as
 * plain data (`data`), merged on the main thread (`merge`).
 */
export class Tally {
  /** A packet matched `--fail-on`. */
  failed = false;
  /** Connections its DataplaneState evicted to stay within the flow table's limit (set after each batch it processed). */
  flowsEvicted = 0;
  /** The number of the first packet that matched `--fail-on` (0: none yet; the threads': the least). */
  failFirst = 0;

  /**
   * `failing`: the failing flows (dropped, no-return) grouped as src/report/failing-flows.ts says: a
   * shard's collector, bounded; a merged tally's holds every shard's groups (cut when the summary is made).
   */
  constructor(
    readonly counters: Counters,
    readonly failing = new FailingFlows(),
    readonly pktmon = new PktmonTally(),
  ) {}

  add(o: TallyData): void {
    this.counters.add(o.counters);
    this.failed ||= o.failed;
    this.flowsEvicted += o.flowsEvicted;
    if (o.failFirst > 0 && (this.failFirst === 0 || o.failFirst < this.failFirst)) this.failFirst = o.failFirst;
    this.failing.addData(o.failing);
    this.pktmon.addData(o.pktmon);
  }

  data(): TallyData {
    return { counters: this.counters.data(), failed: this.failed, flowsEvicted: this.flowsEvicted, failFirst: this.failFirst, failing: this.failing.data(), pktmon: this.pktmon.data() };
  }

  /** The threads' tallies added up (every thread compiled the same rules: the first one sizes the counters). */
  static merge(parts: readonly TallyData[]): Tally {
    const t = new Tally(new Counters(parts.length > 0 ? parts[0].counters.rulePackets.length : 0), new FailingFlows(Number.MAX_SAFE_INTEGER));
    for (const p of parts) t.add(p);
    return t;
  }
}

/** A Tally as plain data (posted from a worker). */
export interface TallyData {
  counters: CountersData;
  failed: boolean;
  flowsEvicted: number;
  failFirst: number;
  failing: FailingFlowsData;
  pktmon: PktmonTallyData;
}

export interface StageOptions {
  decode: DecodeOptions;
  /** Verdicts and reason ids that `--fail-on` names. */
  failVerdicts: number[];
  failReasons: number[];
}

/**
 * Which shard each shard key goes to, for `shards` shards: a table over key % SHARD_TABLE. Shard 0 (the
 * main thread) also reads, decodes and writes every packet and the last one numbers the output
 * interfaces, so they take a smaller share of the keys (any function of the key keeps the outputs
 * byte-identical).
 */
const SHARD_TABLE = 64;
// the flow table's shares must each lie within one shard (flow-table.ts): a share is key % FLOW_SHARES
if (FLOW_SHARES % SHARD_TABLE !== 0) throw new Error(`FLOW_SHARES (${FLOW_SHARES}) must be a multiple of SHARD_TABLE (${SHARD_TABLE})`);
/**
 * Shard 0's share of the keys against a worker's 1. Measured on the 2-core machine (1M packets, 10k
 * flows): 0.2-0.35 best, 0.5 about 10% slower, 0.7 about 20%.
 */
const MAIN_SHARD_WEIGHT = 0.3;
export function shardTable(shards: number): Uint8Array {
  const t = new Uint8Array(SHARD_TABLE);
  if (shards <= 1) return t;
  const weight = (w: number): number => (w === 0 ? MAIN_SHARD_WEIGHT : w === shards - 1 ? 0.95 : 1);
  let total = 0;
  for (let w = 0; w < shards; w++) total += weight(w);
  const given = new Float64Array(shards);
  for (let k = 0; k < SHARD_TABLE; k++) {
    // the shard furthest below its share takes the next residue
    let best = 0;
    let bestLag = -Infinity;
    for (let w = 0; w < shards; w++) {
      const lag = (weight(w) / total) * (k + 1) - given[w];
      if (lag > bestLag) {
        bestLag = lag;
        best = w;
      }
    }
    t[k] = best;
    given[best]++;
  }
  return t;
}

export class ShardStage {
  /** This shard's tally: the counters are its DataplaneState's (the engine counts as it decides). */
  readonly tally: Tally;
  /**
   * The encoders, made on first use: a decide-only run (no --verdicts, no --out) never makes them (their
   * bounds walk every node, pod and Service name of the cluster), nor loads their modules (encoders.ts).
   */
  private verdictEnc: VerdictEncoder | null = null;
  private traceEnc: OutTraceEncoder | null = null;
  private readonly state: DataplaneState;
  private readonly idx: Uint32Array;
  private own = 0;
  private readonly failVerdict: Uint8Array;
  private readonly failReason: Uint8Array;
  private readonly anyFailReason: boolean;
  private readonly anyFail: boolean;
  /** Warning ids per warning bitmask (built on first use). */
  private readonly warnIds = new Map<number, number[]>();

  constructor(
    readonly dp: Dataplane,
    private readonly opts: StageOptions,
    capacity: number,
  ) {
    this.state = dp.state;
    this.tally = new Tally(dp.state.counters);
    this.idx = new Uint32Array(capacity);
    this.failVerdict = new Uint8Array(8);
    for (const v of opts.failVerdicts) this.failVerdict[v] = 1;
    this.failReason = new Uint8Array(Math.max(REASON_COUNT, 256));
    for (const r of opts.failReasons) this.failReason[r] = 1;
    this.anyFailReason = opts.failReasons.length > 0;
    this.anyFail = this.anyFailReason || opts.failVerdicts.length > 0;
  }

  get verdictEncoder(): VerdictEncoder {
    return (this.verdictEnc ??= new (verdictEncoderModule().VerdictEncoder)(this.dp));
  }

  get traceEncoder(): OutTraceEncoder {
    return (this.traceEnc ??= new (outTraceEncoderModule().OutTraceEncoder)(this.dp));
  }

  /** Step 1 (see the module comment); `table`: shardTable(shards); `tuples`: keep the tuples as captured (--verdicts or --out). */
  prepare(s: Slot, table: Uint8Array, shards: number, tuples: boolean): void {
    const b = s.batch;
    const n = b.count;
    decodeRange(b, 0, n, this.opts.decode);
    if (tuples) s.flows.takeRange(b, 0, n);
    s.results.reset(n);
    const shard = s.shard;
    if (shards === 1) shard.fill(0, 0, n);
    else {
      const dp = this.dp;
      for (let i = 0; i < n; i++) shard[i] = table[dp.shardKey(b, i) % SHARD_TABLE];
    }
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
    this.own = m;
    this.dp.processWith(this.state, b, s.results, idx, m);
    this.tally.flowsEvicted = this.state.flows.evicted;
  }

  /**
   * Step 3, on the packets of the last `process` (shard `me`): checked for `--fail-on`, then their records and EPBs
   * written one after the other in region `me`; `ifs`: the input interfaces' timestamp units.
   */
  finish(s: Slot, me: number, ifs: readonly TsUnits[], verdicts: boolean, trace: boolean): void {
    const b = s.batch;
    const r = s.results;
    const idx = this.idx;
    const m = this.own;
    this.checkFail(b, r, idx, m);
    const spec = s.spec;
    if (verdicts) {
      decodePackets(b, idx, m, this.opts.decode);
      this.verdictEncoder.encodeList(b, r, s.flows, idx, m, s.verdictOut, me * spec.verdictBytes, s.vpos, s.vlen);
    }
    if (trace) {
      const enc = this.traceEncoder;
      enc.begin(b, ifs, s.traceOut);
      const tpos = s.tpos;
      const tlen = s.tlen;
      let p = me * spec.traceBytes;
      for (let k = 0; k < m; k++) {
        const i = idx[k];
        const len = enc.packet(b, r, s.flows, i, p, 0);
        tpos[i] = p;
        tlen[i] = len;
        p += len;
      }
    }
  }

  /** Step 4 (last worker): the output interfaces, numbered in input order. */
  number(s: Slot, trace: boolean): void {
    if (trace) this.traceEncoder.numberAll(s.batch, s.results, s.traceOut, s.tpos, s.idbOut, s.ipos, s.ilen);
  }

  /**
   * Steps 3 and 4 in one, when this thread has every packet (one shard): records and blocks written one
   * after the other, nothing to compact. Returns the output lengths.
   */
  finishAll(s: Slot, ifs: readonly TsUnits[], verdicts: boolean, trace: boolean): { verdictBytes: number; traceBytes: number } {
    const b = s.batch;
    const r = s.results;
    const n = b.count;
    const idx = this.idx;
    for (let i = 0; i < n; i++) idx[i] = i; // every packet (the output worker of W = 2 ran no `process`)
    this.checkFail(b, r, idx, n);
    let v = 0;
    if (verdicts) {
      decodeRange(b, 0, n, this.opts.decode);
      v = this.verdictEncoder.encodeAll(b, r, s.flows, s.verdictOut);
    }
    let t = 0;
    if (trace) {
      const enc = this.traceEncoder;
      enc.begin(b, ifs, s.traceOut);
      for (let i = 0; i < n; i++) {
        const iface = enc.number(b, r, i);
        if (enc.fresh) t += enc.writeIdb(t);
        t += enc.packet(b, r, s.flows, i, t, iface);
      }
    }
    return { verdictBytes: v, traceBytes: t };
  }

  /**
   * Groups the failing packets (src/report/failing-flows.ts; before the batch is decoded again as it leaves)
   * and sets `tally.failed` and `failFirst` at the first packet that matches `--fail-on` (the engine counted
   * them already).
   */
  private checkFail(b: Batch, r: Results, idx: Uint32Array, m: number): void {
    this.tally.failing.collect(b, r, idx, m);
    this.tally.pktmon.collect(b, r, idx, m);
    if (!this.anyFail || this.tally.failed) return;
    const fv = this.failVerdict;
    const fr = this.failReason;
    for (let k = 0; k < m; k++) {
      const i = idx[k];
      let hit = fv[r.verdict[i]] === 1 || fr[r.reason[i]] === 1;
      const w = r.warnings[i];
      if (!hit && w !== 0 && this.anyFailReason) {
        const ids = this.warningIdsOf(w);
        for (let j = 0; j < ids.length; j++) if (fr[ids[j]] === 1) hit = true;
      }
      if (hit) {
        this.tally.failed = true;
        this.tally.failFirst = b.firstNumber + i;
        return;
      }
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
