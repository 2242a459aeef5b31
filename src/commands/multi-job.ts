/**
 * One trace of a multi-trace replay (multi-replay.ts), run on the main thread (`--workers 1`) or in a
 * multi-worker-loop.ts thread: the single-trace `replay` as it is, with a fresh Dataplane (its own flow table,
 * SNAT ports, affinity: each trace is one node's or one window's traffic), and its outcome as plain data
 * that a worker can post.
 *
 * A fault of the trace itself (it cannot be opened, or its header is bad: an InputError naming the trace,
 * or a system error on its path) is that trace's `error`: the other traces still run and the exit status is
 * 2, as for one bad trace. Any other fault (a bad --cluster file, bad usage, an output that cannot be written)
 * is `fatal`: it would be the same for every trace, and the command ends with it as for one trace.
 */
import { InputError, UsageError } from '../core/errors';
import { loadClusterFiles } from '../cluster/load';
import type { Cluster } from '../cluster/model';
import type { ReplayOptions, ReplaySummary } from './replay';
import { fingerprintOf, type Fingerprint } from './summary-merge';

/** What one trace is asked to do. */
export interface TraceJob {
  index: number;
  trace: string;
  verdicts?: string;
  out?: string;
}

/** Keys of ReplayOptions that are per trace or per run (no `stop`: each thread has its own, see multi-worker-loop.ts). */
export const PER_RUN_KEYS = ['stop', 'trace', 'verdicts', 'out', 'report', 'summary', 'progress', 'loaded'] as const;

/** The options every trace shares: all of ReplayOptions but PER_RUN_KEYS. */
export type SharedOptions = Omit<ReplayOptions, (typeof PER_RUN_KEYS)[number]>;

/** The --cluster files loaded once, and the summary fingerprint of their bytes (loadShared). */
export interface SharedLoad {
  cluster: Cluster;
  fingerprint: Fingerprint;
}

/** What a worker thread (multi-worker-loop.ts) starts with: the shared options (the cluster comes with its first job). */
export interface WorkerData {
  shared: SharedOptions;
}

export interface FatalData {
  kind: 'usage' | 'input' | 'system' | 'other';
  message: string;
  file?: string;
  code?: string;
  path?: string;
  syscall?: string;
  stack?: string;
}

export type JobResult =
  | { type: 'done'; index: number; summary: ReplaySummary; status: number; failFirst: number }
  | { type: 'trace-error'; index: number; message: string; fingerprint?: Fingerprint }
  | { type: 'fatal'; index: number; fatal: FatalData };

/** Runs `job` with the shared options (see the module comment); never throws. */
export async function runTraceJob(shared: SharedOptions, job: TraceJob, stop: AbortSignal): Promise<JobResult> {
  try {
    const { replay } = await import('./replay');
    loaded ??= loadOnce(shared);
    const { summary, status, failFirst } = await replay({ ...shared, trace: job.trace, verdicts: job.verdicts, out: job.out, stop, loaded });
    return { type: 'done', index: job.index, summary, status, failFirst };
  } catch (e) {
    const sys = e as NodeJS.ErrnoException;
    const fingerprint = loaded?.fingerprint; // the merged summary's, when no trace could be opened
    if (e instanceof InputError && e.file === job.trace) return { type: 'trace-error', index: job.index, message: e.message, fingerprint };
    if (e instanceof Error && typeof sys.code === 'string' && sys.path === job.trace) {
      return { type: 'trace-error', index: job.index, message: `${job.trace}: cannot ${sys.syscall ?? 'open'} it (${sys.code})`, fingerprint };
    }
    return { type: 'fatal', index: job.index, fatal: fatalData(e) };
  }
}

/**
 * The --cluster files, loaded once for all the traces of this thread (a 25 MB kubectl dump takes seconds to
 * load: not once per trace), with the summary fingerprint. Each trace still compiles its own Dataplane from
 * it (replay.ts `loaded`): the Cluster is only read by the compiler, so traces share no state.
 */
let loaded: SharedLoad | undefined;

/**
 * The --cluster files loaded on this thread (once). With worker threads the main thread loads them, once for
 * the process, and hands the result to each worker with its first job (useLoaded; multi-replay.ts
 * runInWorkers): no worker parses and imports the files again (it used to, each thread its own copy: the
 * CPU of a load per thread, and a file read once only, stdin or a FIFO, had to be special-cased), and a
 * file is read once, so stdin, a FIFO or `<(...)` needs nothing of its own.
 */
export function loadShared(shared: SharedOptions): SharedLoad {
  return (loaded ??= loadOnce(shared));
}

/** A worker thread takes the cluster the main thread loaded (loadShared). */
export function useLoaded(l: SharedLoad): void {
  loaded = l;
}

function loadOnce(shared: SharedOptions): SharedLoad {
  if (shared.clusterFiles.length === 0) throw new UsageError('give the cluster with --cluster FILE (repeatable)');
  const { cluster, digests } = loadClusterFiles(shared.clusterFiles, { maxConfigBytes: shared.maxConfigBytes });
  return { cluster, fingerprint: fingerprintOf(shared, digests) };
}

/** A thrown fault as data a worker can post (fatalError turns it back into the error the CLI prints). */
export function fatalData(e: unknown): FatalData {
  if (e instanceof UsageError) return { kind: 'usage', message: e.message };
  if (e instanceof InputError) return { kind: 'input', message: e.message, file: e.file };
  const sys = e as NodeJS.ErrnoException;
  if (e instanceof Error && typeof sys.code === 'string' && typeof sys.path === 'string') {
    return { kind: 'system', message: e.message, code: sys.code, path: sys.path, syscall: sys.syscall };
  }
  return { kind: 'other', message: e instanceof Error ? e.message : String(e), stack: e instanceof Error ? e.stack : undefined };
}

/** A fatal fault as the error the CLI prints (cli.ts: a UsageError, InputError or system error is exit 2). */
export function fatalError(f: FatalData): Error {
  // an InputError's message already names the file and the field or offset: printed the same way (exit 2)
  if (f.kind === 'usage' || f.kind === 'input') return new UsageError(f.message);
  if (f.kind === 'system') return Object.assign(new Error(f.message), { code: f.code, path: f.path, syscall: f.syscall });
  return Object.assign(new Error(f.message), { stack: f.stack });
}
