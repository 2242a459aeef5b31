/**
 * The replay pipeline: trace -> reader -> decode -> VFP engine -> verdict records, output pcapng, counters,
 * on one thread or on W dedicated shard workers, with byte-identical output for every W.
 *
 * Threads and what runs where:
 *   main thread   the reader fills the batch of the next free slot of a ring (Slot, SharedArrayBuffers),
 *                 publishes it, and writes finished slots' output bytes to the files in input order. It
 *                 never touches a packet otherwise, so it stays a small share of the work.
 *   W workers     (worker.ts) each run, on every batch: decode + routing of their contiguous range of
 *                 packets, the engine on the packets of their shard (the engine's shard keys with
 *                 key % W === w), then verdict-record and pcapng encoding of their range (stage.ts).
 *   W = 1         no worker: the main thread runs the same three steps itself, one batch at a time.
 *
 * Determinism: a shard's DataplaneState sees every packet of its connections (both directions, every node
 * crossed, their NAT ports) in trace order, and nothing else changes its state; the stateless steps give
 * the same bytes wherever they run; output pieces are written in input order. So the files do not depend
 * on W nor on thread timing (test/pipeline-determinism.test.ts).
 *
 * Backpressure: the ring holds `ring` slots (default 4); the reader fills a slot only when the slot's
 * previous batch has been written out, so memory stays flat whatever the trace size (buffers are
 * allocated once, before the first packet).
 *
 * Why not piscina: its tasks have no affinity (a shard's state must stay on one thread), and its API is
 * Promise-based while `replay` is synchronous. The stateless steps gain nothing from a second pool either:
 * they run on the workers that already hold the batch in cache, between the stateful steps, with no
 * extra hop of buffers between threads.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { MessageChannel, receiveMessageOnPort, Worker, type MessagePort } from 'node:worker_threads';
import { Batch } from '../core/batch';
import type { Cluster } from '../cluster/model';
import type { InputError } from '../core/errors';
import type { DecodeOptions } from '../decode/decoder';
import { openCapture } from '../io/reader';
import type { TsUnits } from '../io/timestamps';
import type { Dataplane } from '../vfp/engine';
import { OutTraceEncoder, sectionHeaderBlock } from './out-trace-encoder';
import { ControlLayout, CTL_ERROR, CTL_FINISHED, CTL_PUBLISHED, CTL_STOP, S_COUNT, S_DECODED, S_DONE, S_IFACES, S_PROCESSED, Slot, W_TLEN, W_TSTART, W_VLEN, W_VSTART, type SlotSpec } from './slot';
import { ShardStage, Tally, type StageOptions } from './stage';
import { VerdictEncoder } from './verdict-encoder';
import type { FromWorker, ToWorker, WorkerInit } from './worker';

export interface PipelineOptions {
  /** Capture file, or `-` for stdin. */
  trace: string;
  /** How workers compile their own Dataplane: the Cluster model and options the main thread's `dp` came from. */
  cluster: Cluster;
  windows: string | undefined;
  seed: number;
  view: 'pod' | 'wire';
  /** The main thread's Dataplane (names; the engine itself when W = 1). */
  dp: Dataplane;
  decode: DecodeOptions;
  /** Write verdict records / the output pcapng to these files. */
  verdicts?: string;
  out?: string;
  /** Shards (worker threads when > 1). */
  workers: number;
  /** `--fail-on` as verdict and reason ids. */
  failVerdicts: number[];
  failReasons: number[];
  /** Called after each batch is read: packets so far, seconds, fraction of the input read (NaN: unknown). */
  progress?: (packets: number, elapsed: number, fraction: number) => void;
  /** Ring slots (batches in flight) when threaded; default 4. */
  ring?: number;
  /** Packets per batch (default 4096) and arena bytes per batch (default 8 MiB). */
  capacity?: number;
  arenaBytes?: number;
  /** Use a worker thread even for W = 1 (benchmarks: shows the cost of the hand-off). */
  threadsForOne?: boolean;
}

export interface PipelineResult {
  packets: number;
  tally: Tally;
  /** The reader's fault, if any (everything before it was processed and written). */
  error: InputError | null;
  /** Seconds from the first read to the last write. */
  elapsed: number;
}

/** Writes `len` bytes of `buf` from `at` (looping on short writes). */
function writeAll(fd: number, buf: Uint8Array, at: number, len: number): void {
  let done = 0;
  while (done < len) done += fs.writeSync(fd, buf, at + done, len - done);
}

/** Runs the pipeline (see the module comment); returns when every output byte is written. */
export function runPipeline(o: PipelineOptions): PipelineResult {
  const W = Math.max(1, Math.floor(o.workers));
  const threaded = W > 1 || o.threadsForOne === true;
  const capacity = o.capacity ?? 4096;
  const arenaBytes = o.arenaBytes ?? 8 << 20;
  const stageOpts: StageOptions = { decode: o.decode, failVerdicts: o.failVerdicts, failReasons: o.failReasons };
  const spec: SlotSpec = {
    capacity,
    arenaBytes,
    verdictBytes: o.verdicts !== undefined ? capacity * new VerdictEncoder(o.dp).maxRecordBytes : 0,
    traceBytes: o.out !== undefined ? arenaBytes + capacity * new OutTraceEncoder(o.dp).blockBound(0) : 0,
  };
  const reader = openCapture(o.trace);
  const size = o.trace === '-' ? -1 : safeSize(o.trace);
  let verdictFd = -1;
  let traceFd = -1;
  let run: Runner | null = null;
  const t0 = process.hrtime.bigint();
  const elapsed = (): number => Number(process.hrtime.bigint() - t0) / 1e9;
  try {
    verdictFd = o.verdicts !== undefined ? fs.openSync(o.verdicts, 'w') : -1;
    if (o.out !== undefined) {
      traceFd = fs.openSync(o.out, 'w');
      const shb = sectionHeaderBlock();
      writeAll(traceFd, shb, 0, shb.length);
    }
    run = threaded ? new ThreadedRunner(o, spec, stageOpts, W) : new InlineRunner(o, spec, stageOpts);
    const write = (s: Slot, pieces: ArrayLike<number>, count: number): void => {
      for (let k = 0; k < count; k++) {
        if (verdictFd >= 0 && s.verdictOut !== null) writeAll(verdictFd, s.verdictOut, pieces[4 * k], pieces[4 * k + 1]);
      }
      for (let k = 0; k < count; k++) {
        if (traceFd >= 0 && s.traceOut !== null) writeAll(traceFd, s.traceOut, pieces[4 * k + 2], pieces[4 * k + 3]);
      }
    };
    let packets = 0;
    // Threaded: the reader fills a private batch, copied to the shared slot in bulk (see `copyRead`).
    const staging = threaded ? new Batch({ capacity, arenaBytes }) : null;
    for (;;) {
      const s = run.nextSlot(write);
      const n = reader.next(staging ?? s.batch);
      if (n === 0) break;
      if (staging !== null) copyRead(staging, s.batch);
      s.results.reset(n);
      run.publish(s, reader.interfaces, write);
      packets += n;
      if (o.progress) o.progress(packets, elapsed(), size > 0 ? Math.min(1, reader.bytesRead / size) : NaN);
    }
    const tally = run.finish(write);
    return { packets, tally, error: reader.error, elapsed: elapsed() };
  } finally {
    if (run !== null) run.close();
    reader.close();
    if (verdictFd >= 0) fs.closeSync(verdictFd);
    if (traceFd >= 0) fs.closeSync(traceFd);
  }
}

/**
 * Copies what the reader set in `from` (core/batch.ts "set by the reader": the arena bytes in use, off,
 * caplen, wirelen, tsHi, tsLo, ts, iface, linktype, options) to `to`. The reader could fill a shared arena
 * itself, but V8 copies into a SharedArrayBuffer with relaxed atomic stores, byte by byte when source and
 * destination are not aligned alike (each packet's record in the read buffer): one aligned bulk copy per
 * batch is several times cheaper.
 */
function copyRead(from: Batch, to: Batch): void {
  const n = from.count;
  to.reset(from.firstNumber);
  to.count = n;
  to.used = from.used;
  to.arena.set(from.arena.subarray(0, from.used));
  to.off.set(from.off.subarray(0, n));
  to.caplen.set(from.caplen.subarray(0, n));
  to.wirelen.set(from.wirelen.subarray(0, n));
  to.tsHi.set(from.tsHi.subarray(0, n));
  to.tsLo.set(from.tsLo.subarray(0, n));
  to.ts.set(from.ts.subarray(0, n));
  to.iface.set(from.iface.subarray(0, n));
  to.linktype.set(from.linktype.subarray(0, n));
  for (const [i, opt] of from.options) to.options.set(i, opt);
}

function safeSize(file: string): number {
  try {
    const st = fs.statSync(file);
    return st.isFile() ? st.size : -1;
  } catch {
    return -1;
  }
}

/** Writes a finished slot's output pieces: per range [verdict start, length, trace start, length]. */
type WriteSlot = (s: Slot, pieces: ArrayLike<number>, count: number) => void;

interface Runner {
  /** The slot the reader fills next (after writing out whatever it held). */
  nextSlot(write: WriteSlot): Slot;
  /** Hands the filled slot to the stages. */
  publish(s: Slot, ifaces: readonly TsUnits[], write: WriteSlot): void;
  /** Writes what is still in flight; returns the merged counters. */
  finish(write: WriteSlot): Tally;
  close(): void;
}

/** W = 1 on the main thread: the three steps in a row, one slot. */
class InlineRunner implements Runner {
  private readonly slot: Slot;
  private readonly stage: ShardStage;
  private readonly pieces = new Int32Array(4);

  constructor(o: PipelineOptions, spec: SlotSpec, stageOpts: StageOptions) {
    this.slot = Slot.create(spec, false);
    this.stage = new ShardStage(o.dp, stageOpts, spec.capacity);
  }

  nextSlot(): Slot {
    return this.slot;
  }

  publish(s: Slot, ifaces: readonly TsUnits[], write: WriteSlot): void {
    const n = s.batch.count;
    this.stage.decodeRange(s, 0, n, 1);
    this.stage.process(s, 0, true);
    this.stage.finishRange(s, 0, n, ifaces, this.pieces);
    write(s, this.pieces, 1);
  }

  finish(): Tally {
    return this.stage.tally;
  }

  close(): void {}
}

/** How long the main thread waits for workers without any progress before it gives up. */
const STALL_MS = 300_000;

/** W worker threads on a ring of shared slots (worker.ts runs the steps). */
class ThreadedRunner implements Runner {
  private readonly slots: Slot[];
  private readonly L: ControlLayout;
  private readonly ctl: Int32Array;
  private readonly firsts: Float64Array;
  private readonly workers: Worker[] = [];
  private readonly ports: MessagePort[] = [];
  private readonly pieces: Int32Array;
  private published = 0;
  private written = 0;
  private sentIfaces = 0;

  constructor(
    o: PipelineOptions,
    spec: SlotSpec,
    stageOpts: StageOptions,
    private readonly W: number,
  ) {
    const K = Math.max(2, o.ring ?? 4);
    this.slots = [];
    for (let k = 0; k < K; k++) this.slots.push(Slot.create(spec, true));
    this.L = new ControlLayout(K, W);
    const control = new SharedArrayBuffer(this.L.words * 4);
    const firsts = new SharedArrayBuffer(K * 8);
    this.ctl = new Int32Array(control);
    this.firsts = new Float64Array(firsts);
    this.pieces = new Int32Array(4 * W);
    const parts = this.slots.map((s) => s.parts());
    for (let w = 0; w < W; w++) {
      const ch = new MessageChannel();
      const init: WorkerInit = {
        worker: w,
        workers: W,
        slots: parts,
        control,
        firsts,
        port: ch.port2,
        cluster: o.cluster,
        windows: o.windows,
        seed: o.seed,
        view: o.view,
        stage: stageOpts,
      };
      const worker = new Worker(path.join(__dirname, 'worker.js'), { workerData: init, transferList: [ch.port2] });
      worker.unref();
      this.workers.push(worker);
      this.ports.push(ch.port1);
    }
  }

  /** Throws the first worker error, if a worker reported one. */
  private checkError(): void {
    if (Atomics.load(this.ctl, CTL_ERROR) === 0) return;
    for (let w = 0; w < this.W; w++) {
      for (;;) {
        const m = receiveMessageOnPort(this.ports[w]) as { message: FromWorker } | undefined;
        if (m === undefined) break;
        if (m.message.type === 'error') {
          const e = new Error(`pipeline worker ${w}: ${m.message.message}`);
          e.stack = m.message.stack;
          throw e;
        }
      }
    }
    throw new Error('a pipeline worker failed');
  }

  /** Waits until `ctl[at] >= want` (workers report errors on the way). */
  private waitFor(at: number, want: number): void {
    const ctl = this.ctl;
    let last = Atomics.load(ctl, at);
    let since = Date.now();
    for (;;) {
      const v = Atomics.load(ctl, at);
      if (v >= want) return;
      this.checkError();
      if (v !== last) {
        last = v;
        since = Date.now();
      } else if (Date.now() - since > STALL_MS) throw new Error(`pipeline workers made no progress for ${STALL_MS / 1000} s`);
      Atomics.wait(ctl, at, v, 100);
    }
  }

  /** Writes the oldest batch in flight once its workers are done. */
  private retire(write: WriteSlot): void {
    const si = this.written % this.slots.length;
    this.waitFor(this.L.at(si, S_DONE), this.W);
    const p = this.pieces;
    for (let w = 0; w < this.W; w++) {
      p[4 * w] = this.ctl[this.L.worker(si, w, W_VSTART)];
      p[4 * w + 1] = this.ctl[this.L.worker(si, w, W_VLEN)];
      p[4 * w + 2] = this.ctl[this.L.worker(si, w, W_TSTART)];
      p[4 * w + 3] = this.ctl[this.L.worker(si, w, W_TLEN)];
    }
    write(this.slots[si], p, this.W);
    this.written++;
  }

  nextSlot(write: WriteSlot): Slot {
    // write out finished batches in order; block only when every slot is in flight
    while (this.written < this.published && Atomics.load(this.ctl, this.L.at(this.written % this.slots.length, S_DONE)) >= this.W) this.retire(write);
    if (this.published - this.written === this.slots.length) this.retire(write);
    return this.slots[this.published % this.slots.length];
  }

  publish(s: Slot, ifaces: readonly TsUnits[]): void {
    const si = this.published % this.slots.length;
    if (ifaces.length > this.sentIfaces) {
      const add = ifaces.slice(this.sentIfaces).map((f) => ({ tsKind: f.tsKind, tsUnitsPerSec: f.tsUnitsPerSec, tsOffset: f.tsOffset }));
      const msg: ToWorker = { type: 'ifaces', add };
      for (const port of this.ports) port.postMessage(msg);
      this.sentIfaces = ifaces.length;
    }
    const ctl = this.ctl;
    const L = this.L;
    ctl[L.at(si, S_COUNT)] = s.batch.count;
    ctl[L.at(si, S_IFACES)] = ifaces.length;
    ctl[L.at(si, S_DECODED)] = 0;
    ctl[L.at(si, S_PROCESSED)] = 0;
    ctl[L.at(si, S_DONE)] = 0;
    this.firsts[si] = s.batch.firstNumber;
    this.published++;
    Atomics.store(ctl, CTL_PUBLISHED, this.published);
    Atomics.notify(ctl, CTL_PUBLISHED);
  }

  finish(write: WriteSlot): Tally {
    while (this.written < this.published) this.retire(write);
    Atomics.store(this.ctl, CTL_STOP, 1);
    Atomics.notify(this.ctl, CTL_PUBLISHED);
    this.waitFor(CTL_FINISHED, this.W);
    const tally = new Tally();
    for (let w = 0; w < this.W; w++) {
      for (;;) {
        const m = receiveMessageOnPort(this.ports[w]) as { message: FromWorker } | undefined;
        if (m === undefined) throw new Error(`pipeline worker ${w} finished without its counters`);
        if (m.message.type === 'done') {
          tally.add(m.message.tally);
          break;
        }
      }
    }
    return tally;
  }

  close(): void {
    Atomics.store(this.ctl, CTL_STOP, 1);
    Atomics.notify(this.ctl, CTL_PUBLISHED);
    for (const w of this.workers) void w.terminate();
    for (const p of this.ports) p.close();
  }
}
