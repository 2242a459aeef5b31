/**
 * A worker thread of a multi-trace replay (multi-replay.ts): runs the traces the main thread hands it, one
 * at a time, each as a single-trace replay (multi-job.ts), and posts each outcome back.
 *
 * Messages from the main thread: `{ type: 'run', job }` (a TraceJob), `{ type: 'stop', sig }` (SIGINT or
 * SIGTERM reached the process: the trace in progress ends its outputs whole, as one trace does, and says
 * `interrupted`). To the main thread: a JobResult per job.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { runTraceJob, useLoaded, type TraceJob, type WorkerData } from './multi-job';

type Msg = { type: 'run'; job: TraceJob } | { type: 'stop'; sig: string };

const { shared, loaded } = workerData as WorkerData;
if (loaded !== undefined) useLoaded(loaded); // a --cluster read once (stdin, a FIFO): the main thread's
const ctl = new AbortController();
const port = parentPort;
if (port !== null) {
  port.on('message', (m: Msg) => {
    if (m.type === 'stop') {
      if (!ctl.signal.aborted) ctl.abort(m.sig);
      return;
    }
    void runTraceJob(shared, m.job, ctl.signal).then((r) => port.postMessage(r));
  });
}
