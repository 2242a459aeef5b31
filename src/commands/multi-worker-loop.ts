/**
 * A worker thread of a multi-trace replay (multi-replay.ts): runs the traces the main thread hands it, one
 * at a time, each as a single-trace replay (multi-job.ts), and posts each outcome back.
 *
 * Messages from the main thread: `{ type: 'run', job, loaded }` (a TraceJob; `loaded`, with the first job
 * only: the cluster the main thread loaded once for every thread, multi-job.ts loadShared), `{ type: 'stop',
 * sig }` (SIGINT or SIGTERM reached the process: the trace in progress ends its outputs whole, as one trace
 * does, and says `interrupted`). To the main thread: a JobResult per job.
 *
 * The thread's entry is multi-worker.ts (the tsc build) or, in the bundle, dist/bundle/multi-worker.js, which
 * runs this function from main.js with main.js's code cache (scripts/bundle.mjs, src/bundle-loader.ts): the
 * worker then deserialises the functions the main thread's run compiled instead of parsing and compiling a
 * second copy of the CLI.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { runTraceJob, useLoaded, type SharedLoad, type TraceJob, type WorkerData } from './multi-job';

type Msg = { type: 'run'; job: TraceJob; loaded?: SharedLoad } | { type: 'stop'; sig: string };

/** Serves the main thread's messages (see the module comment) until the thread is terminated. */
export function runMultiWorker(): void {
  const { shared } = workerData as WorkerData;
  const ctl = new AbortController();
  const port = parentPort;
  if (port === null) return;
  port.on('message', (m: Msg) => {
    if (m.type === 'stop') {
      if (!ctl.signal.aborted) ctl.abort(m.sig);
      return;
    }
    if (m.loaded !== undefined) useLoaded(m.loaded);
    void runTraceJob(shared, m.job, ctl.signal).then((r) => port.postMessage(r));
  });
}
