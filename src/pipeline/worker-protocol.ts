/**
 * What the pipeline's main thread and its shard workers (worker.ts) tell each other: the worker's start
 * data, the messages along the chain, and the shared control words. A module of its own so that the main
 * thread can import it without running a worker.
 */
import type { MessagePort } from 'node:worker_threads';
import type { Cluster } from '../cluster/model';
import type { TsUnits } from '../io/timestamps';
import type { SlotSpec } from './slot';
import type { StageOptions, TallyData } from './stage';

/** What the main thread gives a worker (workerData). */
export interface WorkerInit {
  /**
   * `shard`: one of a chain of shard workers (W >= 3). `output`: the one worker of W = 2, which counts,
   * encodes and writes every packet that the main thread decided (pipeline.ts `SplitRunner`).
   */
  role: 'shard' | 'output';
  worker: number;
  workers: number;
  spec: SlotSpec;
  verdicts: boolean;
  trace: boolean;
  /** Messages come in on `input` and go on to `output` (the next worker, or the main thread). */
  input: MessagePort;
  output: MessagePort;
  /** Errors go to the main thread on `errors`. */
  errors: MessagePort;
  /** Int32Array words: [0] messages posted to the main thread, [1] an error was posted. */
  control: SharedArrayBuffer;
  cluster: Cluster;
  windows: string | undefined;
  seed: number;
  view: 'pod' | 'wire';
  stage: StageOptions;
  /** The output worker writes the files itself: their descriptors (-1 none) and names (for errors). */
  verdictFd: number;
  traceFd: number;
  verdictFile: string | null;
  traceFile: string | null;
}

/** A batch in a slot, as it travels along the chain. */
export interface BatchMessage {
  type: 'batch';
  /** Batch number (0, 1, ...), count, first packet number, arena bytes in use. */
  k: number;
  count: number;
  first: number;
  used: number;
  /** Input interfaces first seen with this batch (every worker appends them to its list). */
  ifaces: TsUnits[];
  buffer: ArrayBuffer;
  /** Set by the last worker of a chain of one: bytes of verdict records and output blocks, contiguous from 0. */
  verdictBytes?: number;
  traceBytes?: number;
}
export interface EndMessage {
  type: 'end';
  tallies: TallyData[];
}
export interface ErrorMessage {
  type: 'error';
  worker: number;
  message: string;
  stack: string;
  /** A write to an output file failed (output-files.ts `outputWriteError`): the file and the errno code. */
  writeFailed?: { file: string; code: string };
}
export type ChainMessage = BatchMessage | EndMessage;

/** Control words (Int32Array on a SharedArrayBuffer): messages posted to the main thread, and an error flag. */
export const CTL_TO_MAIN = 0;
export const CTL_ERROR = 1;
