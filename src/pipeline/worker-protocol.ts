/**
 * What the pipeline's main thread and its shard workers (worker.ts) tell each other: the worker's start
 * data, the messages along the chain, and the shared control words. A module of its own so that the main
 * thread can import it without running a worker.
 */
import type { MessagePort } from 'node:worker_threads';
import type { Cluster } from '../cluster/model';
import type { NodeChoice } from '../vfp/compile';
import type { TsUnits } from '../io/timestamps';
import type { SlotSpec } from './slot';
import type { StageOptions, TallyData } from './stage';

/** What the main thread gives a worker (workerData). */
export interface WorkerInit {
  /**
   * `shard`: one of a chain of shard workers (W >= 3). `split`: the one worker of W = 2, which reads the
   * capture into slots and encodes and writes every packet once the main thread has decided (and counted) it
   * (pipeline.ts `SplitRunner`).
   */
  role: 'shard' | 'split';
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
  /** The Windows nodes the main thread's Dataplane was compiled for (engine.ts Dataplane.only). */
  only: NodeChoice | null;
  stage: StageOptions;
  /**
   * The split worker reads the capture (`-`: stdin) itself, with `ring` slots in flight; null when the
   * main thread reads it (the worker then sends each slot back `free` once written).
   */
  capture: string | null;
  strictSnaplen: boolean;
  /** `--pktmon-component` (src/io/pktmon.ts). */
  pktmonComponent?: string;
  ring: number;
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
}
export interface EndMessage {
  type: 'end';
  tallies: TallyData[];
  /** Set by the split worker: packets whose verdict records / pcapng blocks it wrote (pipeline.ts `checkConservation`). */
  records?: number;
  blocks?: number;
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

/** An InputError as plain data (core/errors.ts), to post between threads. */
export interface InputErrorData {
  file: string;
  offset: number | undefined;
  fieldPath: string | undefined;
  message: string;
}

/** Split worker -> main thread: a slot the reader filled (`bytesRead`: input bytes consumed so far). */
export interface FilledMessage {
  type: 'filled';
  count: number;
  first: number;
  used: number;
  bytesRead: number;
  buffer: ArrayBuffer;
}
/**
 * Split worker -> main thread: the reader is done after `packets` packets: at the end of the input, or at
 * a fault (`error`); `fatal` when the capture could not even be opened (no packet was read).
 */
export interface EofMessage {
  type: 'eof';
  packets: number;
  error: InputErrorData | null;
  fatal: boolean;
}
/** Split worker -> main thread, when the main thread reads: the slot is written, fill it again. */
export interface FreeMessage {
  type: 'free';
  buffer: ArrayBuffer;
}
/** Main thread -> split worker: the packets of the slot are decided and counted; encode and write them. */
export interface DecidedMessage {
  type: 'decided';
  /** When the main thread reads: the input interfaces first seen with this batch. */
  ifaces?: TsUnits[];
  count: number;
  first: number;
  used: number;
  buffer: ArrayBuffer;
}
/**
 * Main thread -> split worker, before the first `decided`: the output files, opened once the capture
 * proved readable (descriptors -1 when not asked for; names for errors). The worker writes them itself.
 */
export interface FilesMessage {
  type: 'files';
  verdictFd: number;
  traceFd: number;
  verdictFile: string | null;
  traceFile: string | null;
}
export type SplitMessage = FilledMessage | EofMessage | FreeMessage | DecidedMessage | FilesMessage | EndMessage;

/** Control words (Int32Array on a SharedArrayBuffer): messages posted to the main thread, and an error flag. */
export const CTL_TO_MAIN = 0;
export const CTL_ERROR = 1;
/** Set by the split worker when the output on stdout failed with EPIPE (its reader went away): the run stops. */
export const CTL_STDOUT_CLOSED = 2;
/** Bytes of the control words. */
export const CTL_BYTES = 12;
