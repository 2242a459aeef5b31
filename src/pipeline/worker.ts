/**
 * A pipeline worker (worker_threads). With W = 2 it is the split worker (`runSplitWorker`): it reads the
 * capture, the main thread decides (and counts) the packets, and it encodes and writes them. With W >= 3 it is
 * a shard worker: one of the pipeline's W - 1 dedicated threads, in a chain. Each
 * batch's slot (one ArrayBuffer, slot.ts) comes from the main thread, which prepared it (decode, shards)
 * and ran shard 0, then goes from worker to worker; each runs the engine on its own shard's packets and
 * encodes them in its own region (stage.ts); the last one numbers the output interfaces and transfers the
 * slot back to the main thread, which writes the pieces in input order. Batches pass in input order, so
 * each worker's DataplaneState sees its connections in trace order. Both are started by pipeline.ts
 * `startWorker` (the one place a WorkerInit is made).
 *
 * It compiles its own Dataplane from the Cluster model the main thread loaded (a structured clone of plain
 * data) with the same options, as commands/replay.ts `prepareDataplane` does (compiled objects are not
 * transferable; compiling is deterministic and takes milliseconds).
 *
 * Messages on the chain: `batch` (a slot; forwarded), `end` (each worker adds its tally: its state's
 * counters, its `--fail-on` match and evicted flows; forwarded).
 * The main thread waits synchronously (it only yields to the event loop between batches, pipeline.ts
 * `Pacer`): the last worker posts to its port, then bumps a shared counter and
 * notifies it, so that the main thread can sleep in Atomics.wait and read the port with
 * receiveMessageOnPort. A worker that fails posts `error` to the main thread the same way.
 */
import { MessagePort, workerData } from 'node:worker_threads';
import { InputError } from '../core/errors';
import { openCapture, type CaptureReader } from '../io/reader';
import { pktmonReader } from '../io/pktmon';
import type { TsUnits } from '../io/timestamps';
import { compileDataplane } from '../vfp/engine';
import { resolveProfile } from '../vfp/profile';
import { isClosedStdout, writeAll, writing } from './output-files';
import { ShardStage } from './stage';
import { Slot, SlotLayout } from './slot';
import {
  CTL_ERROR,
  CTL_STDOUT_CLOSED,
  CTL_TO_MAIN,
  type ChainMessage,
  type EofMessage,
  type ErrorMessage,
  type FilledMessage,
  type FilesMessage,
  type FreeMessage,
  type InputErrorData,
  type SplitMessage,
  type WorkerInit,
} from './worker-protocol';

const init = workerData as WorkerInit;
const ctl = new Int32Array(init.control);
const last = init.worker === init.workers - 1;

function toMain(port: MessagePort, msg: unknown, transfer: ArrayBuffer[] = []): void {
  port.postMessage(msg, transfer);
  Atomics.add(ctl, CTL_TO_MAIN, 1);
  Atomics.notify(ctl, CTL_TO_MAIN);
}

/** Set once this worker has failed: it answers no message after that. */
let failed = false;

function fail(e: unknown): void {
  failed = true;
  const err = e as NodeJS.ErrnoException;
  const msg: ErrorMessage = { type: 'error', worker: init.worker, message: err?.message ?? String(e), stack: err?.stack ?? '' };
  if (err?.syscall === 'write' && typeof err.path === 'string' && typeof err.code === 'string') msg.writeFailed = { file: err.path, code: err.code };
  init.errors.postMessage(msg);
  Atomics.store(ctl, CTL_ERROR, 1);
  Atomics.add(ctl, CTL_TO_MAIN, 1);
  Atomics.notify(ctl, CTL_TO_MAIN);
  init.input.close();
}

/** Runs `write` (see output-files.ts `writing`); false, with CTL_STDOUT_CLOSED set, when `file` is stdout and its reader went away. */
function writeOrStdoutClosed(file: string, write: () => void): boolean {
  try {
    writing(file, write);
    return true;
  } catch (e) {
    if (!isClosedStdout(file, e)) throw e;
    Atomics.store(ctl, CTL_STDOUT_CLOSED, 1);
    Atomics.add(ctl, CTL_TO_MAIN, 1);
    Atomics.notify(ctl, CTL_TO_MAIN);
    return false;
  }
}

/** A reader fault as plain data (InputError fields), to post to the main thread. */
function inputErrorData(e: InputError | null): InputErrorData | null {
  return e === null ? null : { file: e.file, offset: e.offset, fieldPath: e.fieldPath, message: e.message };
}

/**
 * The split worker (W = 2, pipeline.ts `SplitRunner`): reads the capture into `ring` slots and sends each to
 * the main thread, which decodes, decides and counts its packets and sends it back; then encodes and
 * writes them, and fills the slot again with the next batch. The reader runs here so that the packet
 * bytes it writes stay in this core's cache for the encoders: only the headers the engine reads and
 * rewrites cross to the main thread's core and back. When the main thread reads (`capture` null, see
 * SplitRunner), each written slot goes back to it empty.
 */
function runSplitWorker(): void {
  const dataplane = compileDataplane(init.cluster, { profile: resolveProfile(init.windows), seed: init.seed, view: init.view, only: init.only });
  const layout = new SlotLayout(init.spec);
  const slot = new Slot(layout, true);
  const stage = new ShardStage(dataplane, init.stage, init.spec.capacity);
  let reader: CaptureReader | null = null;
  if (init.capture !== null) {
    try {
      reader = pktmonReader(openCapture(init.capture, { strictSnaplen: init.strictSnaplen }), { component: init.pktmonComponent });
    } catch (e) {
      if (!(e instanceof InputError)) throw e;
      const eof: EofMessage = { type: 'eof', packets: 0, error: inputErrorData(e), fatal: true };
      toMain(init.output, eof);
      return;
    }
  }
  /** The input interfaces: the reader's here, else the ones the main thread sends with each slot. */
  const ifaces: TsUnits[] = reader !== null ? reader.interfaces : [];
  let packets = 0;
  /** Packets whose records / blocks were written (EndMessage). */
  let records = 0;
  let blocks = 0;
  let done = reader === null;
  let files: FilesMessage = { type: 'files', verdictFd: -1, traceFd: -1, verdictFile: null, traceFile: null };
  /** Reads the next batch into `buffer` and sends it, or (at the end) tells the main thread. */
  const fill = (buffer: ArrayBuffer): void => {
    if (reader === null) {
      const free: FreeMessage = { type: 'free', buffer };
      toMain(init.output, free, [buffer]);
      return;
    }
    if (done) return; // the slot stays here, unused
    slot.attach(buffer);
    const n = reader.next(slot.batch);
    if (n === 0) {
      done = true;
      const eof: EofMessage = { type: 'eof', packets, error: inputErrorData(reader.error), fatal: false };
      toMain(init.output, eof);
      return;
    }
    packets += n;
    const b = slot.batch;
    const filled: FilledMessage = { type: 'filled', count: n, first: b.firstNumber, used: b.used, bytesRead: reader.bytesRead, buffer };
    toMain(init.output, filled, [buffer]);
  };
  init.input.on('message', (m: SplitMessage) => {
    if (failed) return;
    try {
      if (m.type === 'end') {
        if (reader !== null) reader.close();
        m.tallies.push(stage.tally.data());
        m.records = records;
        m.blocks = blocks;
        toMain(init.output, m);
        return;
      }
      if (m.type === 'files') {
        files = m;
        return;
      }
      if (m.type !== 'decided') throw new Error(`split worker: unexpected ${m.type} message`);
      if (m.ifaces !== undefined) for (const f of m.ifaces) ifaces.push(f);
      slot.attach(m.buffer);
      const b = slot.batch;
      b.count = m.count;
      b.firstNumber = m.first;
      b.used = m.used;
      // the reader's interface list only grows, so the later batches it has read do not change this one's
      const out = stage.finishAll(slot, ifaces, init.verdicts, init.trace);
      const f = files;
      // EPIPE on the output that is stdout (`--verdicts /dev/stdout | head`): that output is dropped and the
      // main thread told to stop reading (CTL_STDOUT_CLOSED); the others go on to the end of the batches in flight
      if (f.verdictFd >= 0) {
        if (writeOrStdoutClosed(f.verdictFile as string, () => writeAll(f.verdictFd, slot.verdictOut, 0, out.verdictBytes))) records += m.count;
        else files = { ...files, verdictFd: -1 };
      }
      if (f.traceFd >= 0) {
        if (writeOrStdoutClosed(f.traceFile as string, () => writeAll(f.traceFd, slot.traceOut, 0, out.traceBytes))) blocks += m.count;
        else files = { ...files, traceFd: -1 };
      }
      fill(m.buffer);
    } catch (e) {
      fail(e);
    }
  });
  for (let k = 0; k < init.ring && !done; k++) fill(new ArrayBuffer(layout.bytes));
}

/** A shard worker of a chain (W >= 3): worker 1 .. W - 1; the main thread is shard 0. */
function runShardWorker(): void {
  const dataplane = compileDataplane(init.cluster, { profile: resolveProfile(init.windows), seed: init.seed, view: init.view, only: init.only });
  const slot = new Slot(new SlotLayout(init.spec), true);
  const stage = new ShardStage(dataplane, init.stage, init.spec.capacity);
  const ifaces: TsUnits[] = [];
  init.input.on('message', (m: ChainMessage) => {
    if (failed) return;
    try {
      if (m.type === 'end') {
        m.tallies.push(stage.tally.data());
        if (last) toMain(init.output, m);
        else init.output.postMessage(m);
        return;
      }
      for (const f of m.ifaces) ifaces.push(f);
      slot.attach(m.buffer);
      const b = slot.batch;
      b.count = m.count;
      b.firstNumber = m.first;
      b.used = m.used;
      stage.process(slot, init.worker, false);
      stage.finish(slot, init.worker, ifaces, init.verdicts, init.trace);
      if (last) {
        stage.number(slot, init.trace);
        toMain(init.output, m, [m.buffer]);
      } else init.output.postMessage(m, [m.buffer]);
    } catch (e) {
      fail(e);
    }
  });
}

try {
  if (init.role === 'split') runSplitWorker();
  else runShardWorker();
} catch (e) {
  fail(e);
}
