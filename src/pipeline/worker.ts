/**
 * A shard worker (worker_threads): one of the pipeline's W dedicated threads. It compiles its own
 * Dataplane from the Cluster model the main thread loaded (a structured clone of plain data) with the
 * same options, as commands/replay.ts `prepareDataplane` does (compiled objects are not transferable;
 * compiling is deterministic and takes milliseconds, loading the files took the main thread longer), owns the DataplaneState of the keys `key % W === w`, and runs
 * the three steps of stage.ts on every batch in order:
 *
 *   wait for batch k  ->  step 1 on range w  ->  barrier  ->  step 2 on shard w  ->  barrier
 *                     ->  step 3 on range w  ->  report the range's output bytes; k + 1
 *
 * All coordination goes through the control words of slot.ts (Atomics.wait / notify): no message per
 * batch, and the main thread can stay synchronous. Messages on the worker's port carry only what is
 * rare: new input interfaces (main -> worker), the final counters and errors (worker -> main).
 */
import { MessagePort, receiveMessageOnPort, workerData } from 'node:worker_threads';
import type { Cluster } from '../cluster/model';
import type { TsUnits } from '../io/timestamps';
import { compileDataplane } from '../vfp/engine';
import { resolveProfile } from '../vfp/profile';
import { ShardStage, type StageOptions } from './stage';
import { ControlLayout, CTL_ERROR, CTL_FINISHED, CTL_PUBLISHED, CTL_STOP, S_COUNT, S_DECODED, S_DONE, S_IFACES, S_PROCESSED, Slot, W_TLEN, W_TSTART, W_VLEN, W_VSTART, type SlotParts } from './slot';

/** What the main thread gives a worker (workerData). */
export interface WorkerInit {
  worker: number;
  workers: number;
  slots: SlotParts[];
  control: SharedArrayBuffer;
  firsts: SharedArrayBuffer;
  port: MessagePort;
  cluster: Cluster;
  windows: string | undefined;
  seed: number;
  view: 'pod' | 'wire';
  stage: StageOptions;
}

/** Messages on a worker's port. */
export type ToWorker = { type: 'ifaces'; add: TsUnits[] };
export type FromWorker = { type: 'done'; tally: ReturnType<ShardStage['tally']['data']> } | { type: 'error'; message: string; stack: string };

/** Waits until `ctl[at] >= want`, giving up (false) when a thread reports an error. */
function waitAtLeast(ctl: Int32Array, at: number, want: number): boolean {
  for (;;) {
    const v = Atomics.load(ctl, at);
    if (v >= want) return true;
    if (Atomics.load(ctl, CTL_ERROR) !== 0) return false;
    Atomics.wait(ctl, at, v, 200);
  }
}

/** Adds one to `ctl[at]` and wakes whoever waits on it. */
function arrive(ctl: Int32Array, at: number): void {
  Atomics.add(ctl, at, 1);
  Atomics.notify(ctl, at);
}

function run(init: WorkerInit): void {
  const ctl = new Int32Array(init.control);
  const firsts = new Float64Array(init.firsts);
  const W = init.workers;
  const me = init.worker;
  const L = new ControlLayout(init.slots.length, W);
  const dataplane = compileDataplane(init.cluster, { profile: resolveProfile(init.windows), seed: init.seed, view: init.view });
  const slots = init.slots.map((p) => Slot.adopt(p));
  const stage = new ShardStage(dataplane, init.stage, slots[0].spec.capacity);
  const ifaces: TsUnits[] = [];
  const range = new Int32Array(4);
  for (let k = 0; ; k++) {
    // wait for batch k, or the end
    for (;;) {
      const published = Atomics.load(ctl, CTL_PUBLISHED);
      if (published > k) break;
      if (Atomics.load(ctl, CTL_STOP) !== 0 || Atomics.load(ctl, CTL_ERROR) !== 0) return finish(init, stage);
      Atomics.wait(ctl, CTL_PUBLISHED, published, 200);
    }
    const si = k % slots.length;
    const s = slots[si];
    const n = ctl[L.at(si, S_COUNT)];
    s.batch.count = n;
    s.batch.firstNumber = firsts[si];
    const from = Math.floor((n * me) / W);
    const to = Math.floor((n * (me + 1)) / W);

    stage.decodeRange(s, from, to, W);
    arrive(ctl, L.at(si, S_DECODED));
    if (!waitAtLeast(ctl, L.at(si, S_DECODED), W)) return;

    stage.process(s, me, false);
    arrive(ctl, L.at(si, S_PROCESSED));
    if (!waitAtLeast(ctl, L.at(si, S_PROCESSED), W)) return;

    const need = ctl[L.at(si, S_IFACES)];
    while (ifaces.length < need) {
      const m = receiveMessageOnPort(init.port) as { message: ToWorker } | undefined;
      if (m === undefined) {
        Atomics.wait(ctl, CTL_ERROR, 0, 1);
        continue;
      }
      if (m.message.type === 'ifaces') ifaces.push(...m.message.add);
    }
    stage.finishRange(s, from, to, ifaces, range);
    ctl[L.worker(si, me, W_VSTART)] = range[0];
    ctl[L.worker(si, me, W_VLEN)] = range[1];
    ctl[L.worker(si, me, W_TSTART)] = range[2];
    ctl[L.worker(si, me, W_TLEN)] = range[3];
    arrive(ctl, L.at(si, S_DONE));
  }
}

function finish(init: WorkerInit, stage: ShardStage): void {
  const msg: FromWorker = { type: 'done', tally: stage.tally.data() };
  init.port.postMessage(msg);
  arrive(new Int32Array(init.control), CTL_FINISHED);
}

const init = workerData as WorkerInit;
try {
  run(init);
} catch (e) {
  const err = e as Error;
  const msg: FromWorker = { type: 'error', message: err?.message ?? String(e), stack: err?.stack ?? '' };
  init.port.postMessage(msg);
  const ctl = new Int32Array(init.control);
  Atomics.store(ctl, CTL_ERROR, 1);
  // wake every waiter so that it sees the error
  for (let k = 0; k < ctl.length; k++) Atomics.notify(ctl, k);
}
