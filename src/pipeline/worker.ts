/**
 * A pipeline worker (worker_threads). With W = 2 it is the output worker: the main thread decides every
 * packet and hands the slot over; this worker counts the packets, encodes their verdict records and
 * output pcapng blocks and writes them to the files (pipeline.ts `SplitRunner`). With W >= 3 it is a
 * shard worker: one of the pipeline's W - 1 dedicated threads, in a chain. Each
 * batch's slot (one ArrayBuffer, slot.ts) comes from the main thread, which prepared it (decode, shards)
 * and ran shard 0, then goes from worker to worker; each runs the engine on its own shard's packets and
 * encodes them in its own region (stage.ts); the last one numbers the output interfaces and transfers the
 * slot back to the main thread, which writes the pieces in input order. Batches pass in input order, so
 * each worker's DataplaneState sees its connections in trace order. (Worker 0 exists only when a
 * benchmark runs one shard on a thread, `threadsForOne`: then it prepares the batch itself.)
 *
 * It compiles its own Dataplane from the Cluster model the main thread loaded (a structured clone of plain
 * data) with the same options, as commands/replay.ts `prepareDataplane` does (compiled objects are not
 * transferable; compiling is deterministic and takes milliseconds).
 *
 * Messages on the chain: `batch` (a slot; forwarded), `end` (each worker adds its counters; forwarded).
 * The main thread is synchronous: the last worker posts to its port, then bumps a shared counter and
 * notifies it, so that the main thread can sleep in Atomics.wait and read the port with
 * receiveMessageOnPort. A worker that fails posts `error` to the main thread the same way.
 */
import { MessagePort, workerData } from 'node:worker_threads';
import type { TsUnits } from '../io/timestamps';
import { compileDataplane } from '../vfp/engine';
import { resolveProfile } from '../vfp/profile';
import { writeAll, writing } from './output-files';
import { ShardStage, shardTable } from './stage';
import { Slot, SlotLayout } from './slot';
import { CTL_ERROR, CTL_TO_MAIN, type ChainMessage, type ErrorMessage, type WorkerInit } from './worker-protocol';

const init = workerData as WorkerInit;
const ctl = new Int32Array(init.control);
const last = init.worker === init.workers - 1;

function toMain(port: MessagePort, msg: unknown, transfer: ArrayBuffer[] = []): void {
  port.postMessage(msg, transfer);
  Atomics.add(ctl, CTL_TO_MAIN, 1);
  Atomics.notify(ctl, CTL_TO_MAIN);
}

function fail(e: unknown): void {
  const err = e as NodeJS.ErrnoException;
  const msg: ErrorMessage = { type: 'error', worker: init.worker, message: err?.message ?? String(e), stack: err?.stack ?? '' };
  if (err?.syscall === 'write' && typeof err.path === 'string' && typeof err.code === 'string') msg.writeFailed = { file: err.path, code: err.code };
  init.errors.postMessage(msg);
  Atomics.store(ctl, CTL_ERROR, 1);
  Atomics.add(ctl, CTL_TO_MAIN, 1);
  Atomics.notify(ctl, CTL_TO_MAIN);
  init.input.close();
}

try {
  const dataplane = compileDataplane(init.cluster, { profile: resolveProfile(init.windows), seed: init.seed, view: init.view });
  const slot = new Slot(new SlotLayout(init.spec), true);
  const stage = new ShardStage(dataplane, init.stage, init.spec.capacity);
  const table = shardTable(init.workers);
  const ifaces: TsUnits[] = [];
  init.input.on('message', (m: ChainMessage) => {
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
      if (init.role === 'output') {
        // W = 2: the main thread decided every packet; count, encode and write them here, in input order
        const out = stage.finishAll(slot, ifaces, init.verdicts, init.trace);
        if (init.verdictFd >= 0) writing(init.verdictFile as string, () => writeAll(init.verdictFd, slot.verdictOut, 0, out.verdictBytes));
        if (init.traceFd >= 0) writing(init.traceFile as string, () => writeAll(init.traceFd, slot.traceOut, 0, out.traceBytes));
        toMain(init.output, m, [m.buffer]);
        return;
      }
      if (init.worker === 0) stage.prepare(slot, table, init.workers, init.verdicts);
      if (init.workers === 1) {
        stage.process(slot, 0, true);
        const out = stage.finishAll(slot, ifaces, init.verdicts, init.trace);
        m.verdictBytes = out.verdictBytes;
        m.traceBytes = out.traceBytes;
        toMain(init.output, m, [m.buffer]);
        return;
      }
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
} catch (e) {
  fail(e);
}
