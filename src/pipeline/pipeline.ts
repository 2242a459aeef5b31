/**
 * The replay pipeline: trace -> reader -> decode -> VFP engine -> verdict records, output pcapng, counters,
 * on one thread or with W - 1 worker threads, with byte-identical output for every W.
 *
 * Threads and what runs where: three shapes, each a Runner (replay-loop.ts) chosen in one place
 * (`startRunner`) and driven by one loop (`runPipeline`: `step` until the input ends or `stop`); the
 * workers of the split and the chain are started by one builder (`startWorker`).
 *   W = 1         InlineRunner (replay-loop.ts, the loop the page runs too): no worker; the main thread
 *                 runs every step itself, one batch at a time (stage.ts).
 *   W = 2         SplitRunner: one thread reads a batch into a free slot of a ring (slot.ts: one
 *                 ArrayBuffer holding the batch, its results and its output); the main thread decodes it
 *                 and decides (and counts) every packet with the one DataplaneState; the split worker
 *                 (worker.ts) encodes their verdict records and pcapng blocks and writes them to
 *                 the files. The worker reads, unless --verdicts gives it the records to encode too.
 *   W >= 3        ChainRunner, a chain of shards: the main thread reads, decodes, picks each packet's shard (the
 *                 engine's shard keys; see stage.ts), runs the engine on shard 0's packets and encodes
 *                 them, then transfers the slot to the chain; each of the W - 1 workers runs the engine on
 *                 its own shard's packets and encodes them; the last one numbers the output interfaces in
 *                 input order and transfers the slot back; the main thread writes each packet's pieces in
 *                 input order.
 * Several slots are in flight at once, so the threads run in parallel on successive batches.
 *
 * Decide-only (DECIDE_ONLY: no --verdicts, no --out; `replay TRACE --summary json`, issue 12): only the
 * counters are wanted, so no encoder is made (stage.ts makes them on first use; slotSpec leaves their
 * regions out), nothing is written and, on one thread, the reader hands out each batch where its read
 * buffer holds it (reader.ts `inPlace`: no copy into the slot's arena; the engine's prepends overwrite
 * only packets already decided, which nothing reads again). In place only at W = 1: a chain's shards
 * decide a batch's packets out of index order, and the split reads on the worker. The CLI runs
 * decide-only on one thread on 2 cores or fewer (commands/replay.ts `defaultWorkers`): measured on the
 * 2-core machine (1M packets, 10k flows, alternating runs), the split and a chain of two shards took
 * 1.5x and 1.6x the CPU time of one thread, and more wall time (load average 2; at load 12, with other
 * processes on both cores, the split's wall time was about one thread's). Most of a decide-only run is
 * the engine, which one flow table keeps on one thread, and what a second thread could take off it (the
 * read, ~15%) costs as much again in cache lines crossing cores.
 *
 * Why two threads are slower than one here (issue 12, session 10; 1M packets, 10k flows, 304 MB pcap in
 * /dev/shm, tsc build, per-thread CPU from `perf record` samples, load 5-10 from other work):
 *   - decide-only, W = 2: the main thread alone spent 1.28 s (decode + engine) where W = 1's one thread
 *     spent 1.14 s reading, decoding and deciding: the engine and the decoder ran 25-140% slower per
 *     function (flow lookups +56%, warm pass +40%, decodePacket 2.4x) on packet bytes and columns the
 *     reader wrote on the other core. The worker spent 0.61 s more (read, messages, its own Dataplane
 *     compile) and V8's compiler threads 0.55 s (W = 1: 0.39 s: the worker's JIT). And posting each decided
 *     slot back blocked the main thread 190-210 us per batch (hrtime around postMessage, 1954 batches: ~0.4 s
 *     of wall time), though perf saw only ~1.3% of samples in it: off the CPU, the woken worker taking the
 *     poster's vCPU. A bare ping-pong of the same slot between two threads costs 5-8 us per post (17-28 us
 *     with 60 live views on the buffer, as a slot has) and ~55 us of CPU per round trip: the messages are
 *     not the cost, the scheduler and the cache lines are.
 *   - --out, W = 2: main 2.25 s + worker 2.2 s against W = 1's 3.43 s on one thread: the worker's encoder
 *     reads the headers and Results the main thread wrote (its NAT fields 1.7x, comment fields likewise).
 * So on this VM a second thread costs more CPU than it takes off the first, for both shapes; the rule
 * stays (decide-only: one thread on <= 2 cores, `defaultWorkers`). A shared ring would not change this:
 * the cost is the bytes crossing cores (and V8's typed arrays on a SharedArrayBuffer are slower, slot.ts).
 *
 * Measured on the 2-core machine (AMD EPYC VM, 1M packets, 10k flows; closing notes of issue 4), where a
 * cache line takes 0.4-1.2 us to reach the other core and come back: every byte a thread reads that the
 * other one wrote costs, so the reader is 3x slower writing into a slot the other core read last, and the
 * pcapng encoder 2x slower reading packets the other core wrote. The split does nothing twice (one flow
 * table, no shard keys, no numbering step) and, with the reader on the worker, keeps the packet bytes on
 * the core that writes them out; it ran 0.9-1.25x as fast as one thread (with a cache line's round trip
 * of 1.2 us and of 0.4 us between the cores), where a chain of two shards was 0.83-0.95x. Earlier designs measured for two: a
 * chain whose worker 0 decoded (three busy threads on two cores), about 20% slower than the main thread
 * as shard 0; every worker reading and decoding the whole trace itself, slower still.
 *
 * Determinism: a shard's DataplaneState sees every packet of its connections (both directions, every node
 * crossed, their NAT ports) in trace order, and nothing else changes it; encoding gives the same bytes
 * wherever it runs; output is put in input order. So the files depend neither on W nor on timing
 * (test/pipeline-determinism.test.ts).
 *
 * Backpressure: the ring holds `ring` slots (default 2 per worker + 1); the reader fills a slot only when
 * its previous batch has been written, so memory stays flat whatever the trace size (the slots are
 * allocated once, before the first packet).
 *
 * Buffers are transferred, not shared: V8 runs typed-array code on SharedArrayBuffers slower (see
 * slot.ts), and a slot has one owner at a time anyway.
 *
 * Why not piscina: its tasks have no affinity (a shard's state must stay on one thread). The stateless
 * work (decode, encode) runs in the workers that hold the batch anyway: a separate pool would only add
 * hops of the buffers between threads.
 *
 * Outputs whole: the files are written through output-files.ts `AtomicOutput` (a temporary file renamed
 * onto the final name when the run ends, removed when it fails), opened by the main thread; the workers
 * that write (the split worker) get the descriptors. They are committed when the run ends normally, after
 * an input fault that ends it early (everything before the fault is in them) and after a stop; on any
 * thrown error they are removed and the final names are left as they were.
 *
 * Stopping (`stop`, SIGINT/SIGTERM through stop.ts): the main thread loops are synchronous per batch
 * (Atomics.wait, receiveMessageOnPort), so signal handlers could never run during them; the loops yield
 * to the event loop once 50 ms have passed since the last time (`Pacer`: a clock read per batch, a
 * promise 20 times a second), and check `stop` before taking the next batch. Once it is set they read
 * nothing more, let the batches in flight be written whole and end as at the end of the input: every
 * output ends at the same packet (each batch is written to every file before the run ends), and
 * `stopped` says so.
 *
 * A closed stdout under an output (`--verdicts /dev/stdout | head -3`: EPIPE writing the output on stdout)
 * stops the run the same way (`stdoutClosed`): that output is dropped from then on (not counted by the
 * conservation check), the others are written to the end of the batches in flight and committed. W = 1 and
 * W >= 3 write on this thread (`OutputFiles.put`); at W = 2 the split worker writes and sets the control
 * word CTL_STDOUT_CLOSED, which this thread checks before each batch.
 *
 * Conservation (`checkConservation`, every run, at the end): packets read = packets counted by verdict =
 * packets whose records were written (with --verdicts) = packets whose blocks were written (with --out).
 * A mismatch is an internal error (exit 70), and the outputs are removed.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { MessageChannel, receiveMessageOnPort, Worker, type MessagePort } from 'node:worker_threads';
import type { Cluster } from '../cluster/model';
import { InputError } from '../core/errors';
import type { DecodeOptions } from '../decode/decoder';
import { openCapture, type CaptureReader } from '../io/reader';
import { DEFAULT_BUFFER_BYTES } from '../io/source';
import { pktmonReader, pktmonRoute } from '../io/pktmon';
import type { TsUnits } from '../io/timestamps';
import type { Dataplane } from '../vfp/engine';
import { AtomicOutput, isClosedStdout, standardStream, outputWriteError, writeAll, writevAll, writing } from './output-files';
import { outTraceEncoderModule } from './encoders';
import { InlineRunner, ReaderRunner, slotSpec, type Runner, type WriteSlot } from './replay-loop';
import { Slot, SlotLayout, type SlotSpec } from './slot';
import { ShardStage, shardTable, Tally, type StageOptions } from './stage';
import {
  CTL_BYTES,
  CTL_ERROR,
  CTL_STDOUT_CLOSED,
  CTL_TO_MAIN,
  type BatchMessage,
  type ChainMessage,
  type DecidedMessage,
  type EndMessage,
  type ErrorMessage,
  type FilesMessage,
  type InputErrorData,
  type SplitMessage,
  type WorkerInit,
} from './worker-protocol';

export interface PipelineOptions {
  /** Capture file, or `-` for stdin. */
  trace: string;
  /** A record whose caplen exceeds its interface's snaplen is bad input (default true; false reads it as tshark does). */
  strictSnaplen?: boolean;
  /** pktmon captures: the component packets are judged at (`--pktmon-component`; src/io/pktmon.ts). */
  pktmonComponent?: string;
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
  /** Ring slots (batches in flight) when threaded; default 2 per worker + 1. */
  ring?: number;
  /**
   * Packets per batch (default 512) and arena bytes per batch (default 1 MiB). Small enough that a batch's
   * packets, columns and output stay in a core's L2 cache from one step to the next: measured on the 2-core
   * machine (1M packets, 10k flows, alternate runs), 512 packets ran 6% faster than 4096 with --out and
   * 10% faster with --verdicts too; 256 and 128 no faster than 512.
   */
  capacity?: number;
  arenaBytes?: number;
  /** Stop reading once aborted (checked between batches; see the module comment). */
  stop?: AbortSignal;
  /**
   * A capture that is not a file (live capture, src/io/live-source.ts), read instead of `trace`: judged on
   * this thread (W = 1, the InlineRunner whatever `workers` says) batch by batch as its packets come. The
   * loop awaits `ready` before each batch, so the event loop (the capture's callbacks, signals) runs
   * while it waits. After `stop` the loop goes on until the input ends (the live source ends itself on
   * the same signal): the packets captured before it are judged and written too.
   */
  input?: PipelineInput;
}

/** A capture that comes as it is made (PipelineOptions.input). */
export interface PipelineInput {
  /** Opens the reader (instead of openCapture); throws an InputError or UsageError when it cannot. */
  open(): CaptureReader;
  /** Resolves once the reader has packets to hand out, or has ended (its `next` then returns 0). */
  ready(): Promise<void>;
  /** After each batch is judged and written: the counters so far (the live command's rolling view). */
  judged?(tally: Tally, packets: number): void;
}

export interface PipelineResult {
  packets: number;
  tally: Tally;
  /** The reader's fault, if any (everything before it was processed and written). */
  error: InputError | null;
  /** Seconds from the first read to the last write. */
  elapsed: number;
  /** `stop` ended the run before the end of the input (the outputs end, whole, after `packets`). */
  stopped: boolean;
  /**
   * The output on stdout failed with EPIPE (its reader went away): the run stopped as for `stop`, that
   * output was dropped, the others end, whole, after `packets`.
   */
  stdoutClosed: boolean;
}

/**
 * Throws an internal error (the CLI's exit 70) unless every packet read was counted once by verdict and,
 * for each output file written (-1: none), written once: `records`/`blocks` count the packets of the
 * batches written to --verdicts / --out.
 */
export function checkConservation(read: number, tally: Tally, records: number, blocks: number): void {
  const judged = tally.counters.packets();
  if (judged === read && (records < 0 || records === read) && (blocks < 0 || blocks === read)) return;
  const rec = records < 0 ? '' : `, ${records} verdict records written`;
  const blk = blocks < 0 ? '' : `, ${blocks} output packets written`;
  throw new Error(`pipeline: conservation broke: ${read} packets read, ${judged} given a verdict${rec}${blk}`);
}

/** How often the main thread lets the event loop turn (signal handlers; see the module comment). */
const YIELD_MS = 50;

class Pacer {
  private next = Date.now() + YIELD_MS;

  /** Time to yield (call `pause`)? */
  due(): boolean {
    return Date.now() >= this.next;
  }

  async pause(): Promise<void> {
    await new Promise<void>((resolve) => setImmediate(resolve));
    this.next = Date.now() + YIELD_MS;
  }
}

/**
 * Writes packet i's piece `buf[pos[i] .. pos[i] + len[i])` for i in 0..n-1, each after its extra piece
 * `extra[epos[i] ..]` when `elen[i] > 0` (an IDB), with writev: pieces that follow each other in `buf`
 * (consecutive packets of one shard) go as one.
 */
function writePieces(fd: number, buf: Uint8Array, pos: Int32Array, len: Int32Array, n: number, extra: Uint8Array | null, epos: Int32Array | null, elen: Int32Array | null): void {
  const views: Uint8Array[] = [];
  let bytes = 0;
  let from = -1;
  let to = -1;
  const flush = (): void => {
    if (views.length === 0) return;
    const done = writevAll(fd, views);
    if (done < bytes) {
      // a short write: the rest, piece by piece
      let skip = done;
      for (const v of views) {
        if (skip >= v.length) {
          skip -= v.length;
          continue;
        }
        writeAll(fd, v, skip, v.length - skip);
        skip = 0;
      }
    }
    views.length = 0;
    bytes = 0;
  };
  const endRun = (): void => {
    if (from < 0) return;
    views.push(buf.subarray(from, to));
    bytes += to - from;
    from = -1;
    if (views.length >= 1000) flush();
  };
  for (let i = 0; i < n; i++) {
    if (elen !== null && elen[i] > 0) {
      endRun();
      const e = (epos as Int32Array)[i];
      views.push((extra as Uint8Array).subarray(e, e + elen[i]));
      bytes += elen[i];
    }
    const p = pos[i];
    if (p === to && from >= 0) to += len[i];
    else {
      endRun();
      from = p;
      to = p + len[i];
    }
  }
  endRun();
  flush();
}

/**
 * The run's output files (--verdicts, --out), once opened: descriptors -1 for those not asked; `records`
 * and `blocks` count the packets written to each (-1 when not asked), for `checkConservation`.
 */
class OutputFiles {
  private verdicts: AtomicOutput | null = null;
  private trace: AtomicOutput | null = null;
  verdictFd = -1;
  traceFd = -1;
  records = -1;
  blocks = -1;
  /** The output on stdout failed with EPIPE and was dropped (`put`; the split worker: CTL_STDOUT_CLOSED). */
  stdoutClosed = false;

  /**
   * Writes a batch to --verdicts (`which` 'verdicts') or --out with `write`: false when that output is
   * stdout and its reader went away (EPIPE): it is dropped (its descriptor -1) and `stdoutClosed` set.
   */
  put(which: 'verdicts' | 'out', file: string, write: () => void): boolean {
    try {
      writing(file, write);
      return true;
    } catch (e) {
      if (!isClosedStdout(file, e)) throw e;
      this.dropStdout(which);
      return false;
    }
  }

  /** The output on stdout (`which`) is gone: written no more, not counted by `checkConservation`. */
  dropStdout(which: 'verdicts' | 'out'): void {
    this.stdoutClosed = true;
    if (which === 'verdicts') this.verdictFd = -1;
    else this.traceFd = -1;
    this.dropped.add(which);
  }

  private readonly dropped = new Set<'verdicts' | 'out'>();

  /** `records` and `blocks` for `checkConservation` (-1 for an output dropped when stdout closed). */
  counts(): [number, number] {
    return [this.dropped.has('verdicts') ? -1 : this.records, this.dropped.has('out') ? -1 : this.blocks];
  }

  /** Opens the files asked for (the pcapng with its section header written). */
  open(o: PipelineOptions): void {
    if (o.verdicts !== undefined) {
      this.verdicts = AtomicOutput.open(o.verdicts);
      this.verdictFd = this.verdicts.fd;
      this.records = 0;
    }
    if (o.out !== undefined) {
      const t = (this.trace = AtomicOutput.open(o.out));
      this.traceFd = t.fd;
      this.blocks = 0;
      const shb = outTraceEncoderModule().sectionHeaderBlock();
      this.put('out', o.out, () => writeAll(t.fd, shb, 0, shb.length));
    }
  }

  /** The files complete: renamed onto their final names. */
  commit(): void {
    this.verdicts?.commit();
    this.trace?.commit();
  }

  /** The run failed: the files not committed are removed (no-op after `commit`). */
  abort(): void {
    this.verdicts?.abort();
    this.trace?.abort();
  }
}

/** Runs the pipeline (see the module comment); resolves when every output byte is written. */
export async function runPipeline(o: PipelineOptions): Promise<PipelineResult> {
  const files = new OutputFiles();
  const t0 = process.hrtime.bigint();
  const elapsed = (): number => Number(process.hrtime.bigint() - t0) / 1e9;
  const run = startRunner(o, files);
  const size = o.trace === '-' ? -1 : safeSize(o.trace);
  const pacer = new Pacer();
  try {
    let packets = 0;
    let stopped = false;
    for (;;) {
      if (pacer.due()) await pacer.pause();
      if (o.input !== undefined) await o.input.ready();
      if (o.stop?.aborted === true) {
        stopped = true;
        if (o.input === undefined) break;
      }
      if (files.stdoutClosed) break;
      const n = run.step();
      if (n === 0) break;
      packets += n;
      if (o.input?.judged !== undefined) o.input.judged((run as InlineRunner).tally, packets);
      if (o.progress) o.progress(packets, elapsed(), size > 0 ? Math.min(1, run.bytesRead() / size) : NaN);
    }
    const tally = run.finish();
    checkConservation(run.packetsRead(), tally, ...files.counts());
    files.commit();
    return { packets, tally, error: run.error(), elapsed: elapsed(), stopped, stdoutClosed: files.stdoutClosed };
  } finally {
    await run.close();
    files.abort();
  }
}

/**
 * Starts the run's shape, the one place it is chosen: W = 1 InlineRunner (replay-loop.ts), W = 2
 * SplitRunner, W >= 3 ChainRunner. The capture is opened first (a bad header is an InputError before any
 * output exists), then the outputs (the split: once the capture proved readable, see SplitRunner).
 */
function startRunner(o: PipelineOptions, files: OutputFiles): Runner {
  const W = o.input !== undefined ? 1 : Math.max(1, Math.floor(o.workers));
  const stageOpts: StageOptions = { decode: o.decode, failVerdicts: o.failVerdicts, failReasons: o.failReasons };
  // decide-only on one thread: each batch is decided where the reader's buffer holds it (reader.ts `inPlace`)
  const inPlace = W === 1 && o.verdicts === undefined && o.out === undefined;
  const spec = slotSpec(o.dp, { verdicts: o.verdicts !== undefined, trace: o.out !== undefined, capacity: o.capacity, arenaBytes: o.arenaBytes }, W >= 3 ? W : 1);
  // one thread with outputs: the reader's buffer lies in the one slot, packets are copied with copyWithin (reader.ts `buffer`)
  const oneSlot = W === 1 && !inPlace && o.input === undefined ? new Slot(new SlotLayout({ ...spec, readBytes: DEFAULT_BUFFER_BYTES })) : null;
  const buffer = oneSlot?.readBuf;
  // a live source is not pktmon's; a file may be (io/pktmon.ts marks the copies of one packet)
  const open = (): CaptureReader =>
    o.input !== undefined ? o.input.open() : pktmonReader(openCapture(o.trace, { strictSnaplen: o.strictSnaplen ?? true, inPlace, buffer }), { component: o.pktmonComponent });
  // the split's reader runs on this thread only with --verdicts (see SplitRunner)
  const reader = W !== 2 || o.verdicts !== undefined ? open() : null;
  try {
    if (W === 2) return new SplitRunner(o, files, stageOpts, spec, reader);
    files.open(o);
    const write = fileWriter(o, files);
    const r = reader as CaptureReader;
    return W === 1 ? new InlineRunner(r, o.dp, stageOpts, spec, write, null, oneSlot) : new ChainRunner(r, o, spec, stageOpts, W, write);
  } catch (e) {
    reader?.close();
    throw e;
  }
}

/**
 * Writes a finished slot to the files (W = 1 and W >= 3: this thread writes). `put`: EPIPE on the output
 * that is stdout drops it and stops the run (runPipeline's loop).
 */
function fileWriter(o: PipelineOptions, files: OutputFiles): WriteSlot {
  return (s, verdictBytes, traceBytes) => {
    const { verdictFd, traceFd } = files;
    const n = s.batch.count;
    if (verdictBytes >= 0) {
      if (verdictFd >= 0 && files.put('verdicts', o.verdicts as string, () => writeAll(verdictFd, s.verdictOut, 0, verdictBytes))) files.records += n;
      if (traceFd >= 0 && files.put('out', o.out as string, () => writeAll(traceFd, s.traceOut, 0, traceBytes))) files.blocks += n;
    } else {
      // shards wrote their own packets: the pieces, in input order
      if (verdictFd >= 0 && files.put('verdicts', o.verdicts as string, () => writePieces(verdictFd, s.verdictOut, s.vpos, s.vlen, n, null, null, null))) files.records += n;
      if (traceFd >= 0 && files.put('out', o.out as string, () => writePieces(traceFd, s.traceOut, s.tpos, s.tlen, n, s.idbOut, s.ipos, s.ilen))) files.blocks += n;
    }
  };
}

/**
 * W = 2, split: one thread reads the capture into a ring of slots; this thread decodes and decides the
 * packets (one DataplaneState, as W = 1, so the output is the W = 1 output); the split worker checks
 * `--fail-on`, encodes and writes them (worker.ts `runSplitWorker`). Where the reader runs balances the two threads:
 *   on the worker (no --verdicts)  the packet bytes it writes stay in its core's cache for the pcapng
 *                                  encoder; only the headers the engine reads and rewrites cross cores;
 *   here (--verdicts)              the worker has the verdict records to encode and write as well, so
 *                                  this thread reads too (`reader` not null).
 * The output files are opened once the capture's header was read, as W = 1 opens them after the reader,
 * and their descriptors sent to the worker, which writes them.
 */
class SplitRunner implements Runner {
  /** Packets decided here; packets the worker read (its `eof`; -1 before, and when this thread reads). */
  private decided = 0;
  private read = -1;
  private err: InputError | null = null;
  private bytes = 0;
  private filesSent = false;
  private sentIfaces = 0;
  /** Empty slot buffers (when this thread reads): `ring` of them, then the ones the worker sends back. */
  private readonly free: ArrayBuffer[] = [];
  private readonly ring: number;
  private readonly stage: ShardStage;
  private readonly table = shardTable(1);
  private readonly slot: Slot;
  private readonly toWorker = new MessageChannel();
  private readonly worker: Worker;
  private readonly inbox: Inbox;
  private readonly ctl: Int32Array;

  constructor(
    private readonly o: PipelineOptions,
    private readonly files: OutputFiles,
    stageOpts: StageOptions,
    spec: SlotSpec,
    private readonly reader: CaptureReader | null,
  ) {
    const layout = new SlotLayout(spec);
    this.ring = Math.max(2, o.ring ?? 5);
    this.stage = new ShardStage(o.dp, stageOpts, spec.capacity);
    this.slot = new Slot(layout, true);
    const control = new SharedArrayBuffer(CTL_BYTES);
    this.ctl = new Int32Array(control);
    const toMain = new MessageChannel();
    const errors = new MessageChannel();
    this.worker = startWorker(o, stageOpts, {
      role: 'split',
      worker: 1,
      workers: 2,
      spec,
      input: this.toWorker.port2,
      output: toMain.port1,
      errors: errors.port2,
      control,
      capture: reader === null ? o.trace : null,
      ring: this.ring,
    });
    this.inbox = new Inbox(toMain.port2, [errors.port1], new Int32Array(control));
    this.inbox.watch(this.worker);
    if (reader !== null) for (let k = 0; k < this.ring; k++) this.free.push(new ArrayBuffer(layout.bytes));
  }

  /** The worker found the output on stdout closed (CTL_STDOUT_CLOSED): dropped here too (`files.stdoutClosed`). */
  private checkStdoutClosed(): boolean {
    if (!this.files.stdoutClosed && Atomics.load(this.ctl, CTL_STDOUT_CLOSED) !== 0) {
      this.files.dropStdout(this.o.verdicts !== undefined && standardStream(this.o.verdicts) === 'stdout' ? 'verdicts' : 'out');
    }
    return this.files.stdoutClosed;
  }

  /** Opens the outputs and tells the worker where to write. */
  private sendFiles(): void {
    const { o, files } = this;
    this.filesSent = true;
    files.open(o);
    const f: FilesMessage = { type: 'files', verdictFd: files.verdictFd, traceFd: files.traceFd, verdictFile: o.verdicts ?? null, traceFile: o.out ?? null };
    this.toWorker.port1.postMessage(f);
  }

  /** Decides the packets of the batch in `buffer` and sends it to the worker. */
  private decide(buffer: ArrayBuffer, count: number, first: number, used: number, ifaces: TsUnits[] | undefined): void {
    const { slot, stage } = this;
    slot.attach(buffer);
    const b = slot.batch;
    b.count = count;
    b.firstNumber = first;
    b.used = used;
    stage.prepare(slot, this.table, 1, this.o.verdicts !== undefined || this.o.out !== undefined);
    stage.process(slot, 0, true);
    const decided: DecidedMessage = { type: 'decided', ifaces, count, first, used, buffer };
    this.toWorker.port1.postMessage(decided, [buffer]);
    this.decided += count;
  }

  step(): number {
    if (this.checkStdoutClosed()) return 0;
    return this.reader !== null ? this.readHere(this.reader) : this.takeFilled();
  }

  /** This thread reads: fills a free slot (waiting for the worker to send one back) and decides it. */
  private readHere(reader: CaptureReader): number {
    if (!this.filesSent) this.sendFiles();
    while (this.free.length === 0) {
      const m = this.inbox.receive() as SplitMessage;
      if (m.type !== 'free') throw new Error(`pipeline: unexpected ${m.type} message`);
      this.free.push(m.buffer);
    }
    const buffer = this.free.pop() as ArrayBuffer;
    this.slot.attach(buffer);
    const n = reader.next(this.slot.batch);
    if (n === 0) return 0;
    const b = this.slot.batch;
    const add = reader.interfaces.slice(this.sentIfaces).map((f) => ({ tsKind: f.tsKind, tsUnitsPerSec: f.tsUnitsPerSec, tsOffset: f.tsOffset }));
    this.sentIfaces = reader.interfaces.length;
    this.decide(buffer, n, b.firstNumber, b.used, add);
    return n;
  }

  /**
   * The worker reads: decides the next slot it filled, or (0) learns that the capture is done: at its end,
   * or at a fault (`error`; thrown when the capture could not even be opened).
   */
  private takeFilled(): number {
    const m = this.inbox.receive() as SplitMessage;
    if (m.type === 'eof') {
      this.err = m.error === null ? null : inputError(m.error);
      if (m.fatal && this.err !== null) throw this.err;
      this.read = m.packets;
      return 0;
    }
    if (m.type !== 'filled') throw new Error(`pipeline: unexpected ${m.type} message`);
    if (!this.filesSent) this.sendFiles(); // the capture is readable: open the outputs, tell the worker where to write
    this.bytes = m.bytesRead;
    this.decide(m.buffer, m.count, m.first, m.used, undefined);
    return m.count;
  }

  bytesRead(): number {
    return this.reader !== null ? this.reader.bytesRead : this.bytes;
  }

  /** Tells the worker the input is done; waits until it has written everything; its counters. */
  finish(): Tally {
    if (!this.filesSent) this.files.open(this.o); // no packet: the outputs exist all the same, as with W = 1
    const end: EndMessage = { type: 'end', tallies: [this.stage.tally.data()] }; // this thread's: the counters and evicted flows
    this.toWorker.port1.postMessage(end);
    let m = this.inbox.receive() as SplitMessage;
    while (m.type !== 'end') m = this.inbox.receive() as SplitMessage; // (slots sent back free or filled)
    this.checkStdoutClosed(); // (found by the last batches in flight)
    if (this.files.records >= 0) this.files.records = m.records ?? 0;
    if (this.files.blocks >= 0) this.files.blocks = m.blocks ?? 0;
    return Tally.merge(m.tallies);
  }

  /** The worker's count when it read to the end; else (stopped, or this thread reads) the packets decided. */
  packetsRead(): number {
    return this.read < 0 ? this.decided : this.read;
  }

  error(): InputError | null {
    return this.reader !== null ? this.reader.error : this.err;
  }

  /** Stops the worker, then closes the ports and the reader. */
  async close(): Promise<void> {
    await this.worker.terminate();
    this.toWorker.port1.close();
    this.inbox.close();
    if (this.reader !== null) this.reader.close();
  }
}

/** What a worker's start-up says beyond the run's options: its role, place, ports and ring. */
type WorkerPlace = Pick<WorkerInit, 'role' | 'worker' | 'workers' | 'spec' | 'input' | 'output' | 'errors' | 'control' | 'capture' | 'ring'>;

/**
 * Starts a pipeline worker (worker.ts), the one place a WorkerInit is made: the run's options (which
 * outputs, the cluster and profile it compiles, the stage options) plus `place`; its three ports are
 * transferred. The worker is unref'd: the main thread waits for it through the Inbox, not the event loop.
 */
function startWorker(o: PipelineOptions, stage: StageOptions, place: WorkerPlace): Worker {
  const init: WorkerInit = {
    ...place,
    verdicts: o.verdicts !== undefined,
    trace: o.out !== undefined,
    cluster: o.cluster,
    windows: o.windows,
    seed: o.seed,
    view: o.view,
    only: o.dp.only,
    stage,
    strictSnaplen: o.strictSnaplen ?? true,
    pktmonComponent: o.pktmonComponent,
  };
  const worker = new Worker(path.join(__dirname, 'worker.js'), { workerData: init, transferList: [place.input, place.output, place.errors] });
  worker.unref();
  return worker;
}

/** An InputError posted by a worker, as the reader threw it. */
function inputError(d: InputErrorData): InputError {
  const e = new InputError(d.file, { offset: d.offset, fieldPath: d.fieldPath }, '');
  e.message = d.message;
  return e;
}

function safeSize(file: string): number {
  try {
    const st = fs.statSync(file);
    return st.isFile() ? st.size : -1;
  } catch {
    return -1;
  }
}

/** How long the main thread waits for the workers without any message before it gives up. */
const STALL_MS = 300_000;

/**
 * W >= 3: W - 1 shard workers in a chain, a ring of slots transferred along it (worker.ts runs their
 * steps); the main thread reads, is shard 0, and writes the pieces in input order.
 */
class ChainRunner extends ReaderRunner {
  private readonly free: Slot[] = [];
  /** Slots in flight, oldest first (they come back in this order). */
  private readonly inFlight: Slot[] = [];
  private readonly ctl: Int32Array;
  private readonly workers: Worker[] = [];
  private readonly first: MessagePort;
  private readonly inbox: Inbox;
  private sentIfaces = 0;
  private k = 0;
  /** Shard 0's stage, run by the main thread, and the shard table. */
  private readonly mainShard: ShardStage;
  private readonly table: Uint8Array;
  private readonly verdicts: boolean;
  private readonly trace: boolean;

  constructor(
    reader: CaptureReader,
    o: PipelineOptions,
    spec: SlotSpec,
    stageOpts: StageOptions,
    W: number,
    private readonly write: WriteSlot,
  ) {
    super(reader);
    const layout = new SlotLayout(spec);
    const K = Math.max(2, o.ring ?? 2 * W + 1);
    for (let k = 0; k < K; k++) this.free.push(new Slot(layout));
    const control = new SharedArrayBuffer(CTL_BYTES);
    this.ctl = new Int32Array(control);
    // the main thread is shard 0 itself (see `send`): the chain starts at worker 1
    this.mainShard = new ShardStage(o.dp, stageOpts, spec.capacity);
    this.table = shardTable(W);
    this.verdicts = o.verdicts !== undefined;
    this.trace = o.out !== undefined;
    const links = Array.from({ length: W + 1 }, () => new MessageChannel());
    this.first = links[1].port1;
    const errorPorts: MessagePort[] = [];
    for (let w = 1; w < W; w++) {
      const errors = new MessageChannel();
      errorPorts.push(errors.port1);
      this.workers.push(
        startWorker(o, stageOpts, {
          role: 'shard',
          worker: w,
          workers: W,
          spec,
          input: links[w].port2,
          output: links[w + 1].port1,
          errors: errors.port2,
          control,
          capture: o.trace,
          ring: K,
        }),
      );
    }
    this.inbox = new Inbox(links[W].port2, errorPorts, this.ctl);
    for (const w of this.workers) this.inbox.watch(w);
  }

  /** Waits for the oldest slot in flight, writes its output, and frees it. */
  private retire(): void {
    const m = this.inbox.receive() as ChainMessage;
    if (m.type !== 'batch') throw new Error(`pipeline: unexpected ${m.type} message`);
    const s = this.inFlight.shift() as Slot;
    s.attach(m.buffer);
    this.write(s, -1, -1);
    this.free.push(s);
  }

  protected freeSlot(): Slot {
    if (this.free.length === 0) this.retire();
    return this.free[this.free.length - 1];
  }

  protected send(s: Slot, ifaces: readonly TsUnits[]): void {
    this.free.pop();
    // the main thread is shard 0 and the first step of the chain: it decodes and picks the shards
    // (stage.ts `prepare`), then decides and encodes its own packets before the workers get the slot
    const main = this.mainShard;
    main.prepare(s, this.table, this.workers.length + 1, this.verdicts || this.trace);
    pktmonRoute(this.reader, s.batch, s.shard); // a pktmon copy goes where its judged packet went (io/pktmon.ts)
    main.process(s, 0, false);
    main.finish(s, 0, ifaces, this.verdicts, this.trace);
    const add = ifaces.slice(this.sentIfaces).map((f) => ({ tsKind: f.tsKind, tsUnitsPerSec: f.tsUnitsPerSec, tsOffset: f.tsOffset }));
    this.sentIfaces = ifaces.length;
    const b = s.batch;
    const msg: BatchMessage = { type: 'batch', k: this.k++, count: b.count, first: b.firstNumber, used: b.used, ifaces: add, buffer: s.buffer };
    this.inFlight.push(s);
    this.first.postMessage(msg, [s.buffer]);
  }

  finish(): Tally {
    while (this.inFlight.length > 0) this.retire();
    const end: ChainMessage = { type: 'end', tallies: [] };
    this.first.postMessage(end);
    const m = this.inbox.receive() as ChainMessage;
    if (m.type !== 'end') throw new Error(`pipeline: unexpected ${m.type} message`);
    return Tally.merge([this.mainShard.tally.data(), ...m.tallies]);
  }

  override async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
    this.first.close();
    this.inbox.close();
    await super.close();
  }
}

/**
 * The main thread's end of the workers' messages: the port the last worker posts to, the workers' error
 * ports and the shared control words they bump when they post (worker.ts `toMain`).
 */
class Inbox {
  private seen = 0;
  /** A worker that died of an error no handler of its own caught (out of memory): thrown by `receive`. */
  private died: Error | null = null;

  constructor(
    private readonly port: MessagePort,
    private readonly errors: MessagePort[],
    private readonly ctl: Int32Array,
  ) {}

  /**
   * The next message (sleeping until there is one); throws a worker's error instead, if one failed (first:
   * a worker that failed may still have answered a message queued before its failure).
   */
  receive(): unknown {
    let since = Date.now();
    for (;;) {
      this.checkError();
      const m = receiveMessageOnPort(this.port) as { message: unknown } | undefined;
      if (m !== undefined) return m.message;
      const seen = Atomics.load(this.ctl, CTL_TO_MAIN);
      if (seen !== this.seen) {
        this.seen = seen;
        since = Date.now();
        continue;
      }
      if (Date.now() - since > STALL_MS) throw new Error(`pipeline workers sent nothing for ${STALL_MS / 1000} s`);
      Atomics.wait(this.ctl, CTL_TO_MAIN, seen, 100);
    }
  }

  /** Keeps an error `worker` dies of (events are seen while the pipeline yields to the event loop). */
  watch(worker: Worker): void {
    worker.on('error', (e: Error) => {
      this.died ??= e;
    });
  }

  /** Throws the first worker error, if a worker reported one (a failed write as the file and errno). */
  private checkError(): void {
    if (this.died !== null) throw this.died;
    if (Atomics.load(this.ctl, CTL_ERROR) === 0) return;
    // the flag is set once the error is posted: the message arrives (at once, or within a second)
    for (let k = 0; k < 100; k++) {
      for (const port of this.errors) {
        const m = receiveMessageOnPort(port) as { message: ErrorMessage } | undefined;
        if (m !== undefined) this.throwError(m.message);
      }
      Atomics.wait(this.ctl, CTL_TO_MAIN, Atomics.load(this.ctl, CTL_TO_MAIN), 10);
    }
    throw new Error('a pipeline worker failed');
  }

  private throwError(m: ErrorMessage): never {
    if (m.writeFailed !== undefined) throw outputWriteError(m.writeFailed.file, m.writeFailed.code, m.message, m.stack);
    const e = new Error(`pipeline worker ${m.worker}: ${m.message}`);
    e.stack = m.stack;
    throw e;
  }

  close(): void {
    this.port.close();
    for (const p of this.errors) p.close();
  }
}
