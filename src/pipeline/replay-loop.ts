/**
 * The replay loop: reader -> decode -> VFP engine -> verdict records -> output pcapng blocks, batch by
 * batch, with the summary's counters (Tally). Every replay runs through it:
 *   - `vfp-emu replay` (pipeline.ts `runPipeline`): its three shapes are Runners of this interface
 *     (InlineRunner here for one thread; the split and the chain in pipeline.ts), driven by one loop that
 *     calls `step` until the input ends, writing each batch's bytes to the files;
 *   - the teaching page (native-free/core.ts): an InlineRunner whose writer keeps the bytes in memory (the
 *     downloadable pcapng) and parses the first records (its table), so the page shows what the CLI writes;
 *   - `explain`, of the CLI and of the page: `explainPacket`.
 * Only the tests' oracle (test/pipeline-reference.ts, with the string writers of test/reference/) has a
 * loop of its own, on purpose.
 *
 * No Node.js module is imported here (nor by what this imports): the page's bundle (native-free/build.ts)
 * runs it in a browser. Threads, files and signals are pipeline.ts's.
 *
 * Uses: a CaptureReader, the Dataplane (its `state`), stage.ts's steps on a Slot (slot.ts).
 * Sets: the slot's columns and output bytes, the stage's Tally, the Dataplane's state.
 */
import { Batch } from '../core/batch';
import type { InputError } from '../core/errors';
import { decodeBatch, type DecodeOptions } from '../decode/decoder';
import type { CaptureReader } from '../io/reader';
import type { TsUnits } from '../io/timestamps';
import type { Dataplane } from '../vfp/engine';
import { Results } from '../vfp/results';
import { Slot, SlotLayout, type SlotSpec } from './slot';
import { ShardStage, shardTable, type StageOptions, type Tally } from './stage';
import { outTraceEncoderModule, verdictEncoderModule } from './encoders';

// explain's loop, in a module of its own so that `vfp-emu explain` loads no output encoder (issue 12, start-up)
export { explainPacket } from './explain-loop';

/**
 * A shape of the replay (one thread, the two-thread split, the shard chain): takes the input batch by
 * batch through the stages and has each batch's output written, in input order.
 */
export interface Runner {
  /**
   * Takes the next batch of the input (read on this thread, or received from the thread that reads) and
   * hands it to the stages; its output is written once they are done with it (at once on one thread).
   * Returns its packets; 0 at the end of the input, or when the run must stop (the output on stdout closed).
   */
  step(): number;
  /** Input bytes consumed so far (for the progress line). */
  bytesRead(): number;
  /** Writes what is still in flight; returns the merged counters. */
  finish(): Tally;
  /** Packets read from the input (after `finish`): what the conservation check counts against. */
  packetsRead(): number;
  /** The reader's fault, if any (everything read before it went through the stages). */
  error(): InputError | null;
  /** Stops the workers (resolves once they can no longer write) and closes the reader. */
  close(): Promise<void>;
}

/**
 * Writes a finished slot's output: its first `verdictBytes` of records and `traceBytes` of blocks, or
 * (`verdictBytes` < 0) each packet's pieces from the shards' regions, in input order.
 */
export type WriteSlot = (s: Slot, verdictBytes: number, traceBytes: number) => void;

/** Packets per batch and arena bytes per batch, unless told otherwise (pipeline.ts PipelineOptions says why). */
const DEFAULT_CAPACITY = 512;
const DEFAULT_ARENA_BYTES = 1 << 20;

/** What a run's slots hold room for. */
export interface SlotOptions {
  /** Verdict records / output pcapng blocks are written. */
  verdicts: boolean;
  trace: boolean;
  capacity?: number;
  arenaBytes?: number;
}

/** The slots' layout: `regions` output regions (one per shard that encodes). */
export function slotSpec(dp: Dataplane, o: SlotOptions, regions: number): SlotSpec {
  const capacity = o.capacity ?? DEFAULT_CAPACITY;
  const arenaBytes = o.arenaBytes ?? DEFAULT_ARENA_BYTES;
  // (an encoder only for the output asked for: their bounds walk every name of the cluster; a decide-only
  // run loads neither module, encoders.ts)
  const enc = o.trace ? new (outTraceEncoderModule().OutTraceEncoder)(dp) : null;
  return {
    capacity,
    arenaBytes,
    verdictBytes: o.verdicts ? capacity * new (verdictEncoderModule().VerdictEncoder)(dp).maxRecordBytes : 0,
    traceBytes: enc !== null ? enc.regionBytes(capacity, arenaBytes) : 0,
    idbBytes: enc !== null ? enc.idbBytes(capacity) : 0,
    regions,
  };
}

/**
 * A Runner whose reader is on this thread (one thread, and the chain, whose main thread reads): `step`
 * reads the next batch into a free slot and sends it.
 */
export abstract class ReaderRunner implements Runner {
  private read = 0;

  constructor(protected readonly reader: CaptureReader) {}

  /** A slot the reader may fill (waiting for one to come back when all are in flight). */
  protected abstract freeSlot(): Slot;
  /** Hands the filled slot to the stages; its output is written when they are done with it. */
  protected abstract send(s: Slot, ifaces: readonly TsUnits[]): void;
  abstract finish(): Tally;

  step(): number {
    const s = this.freeSlot();
    const n = this.reader.next(s.batch);
    if (n === 0) return 0;
    this.send(s, this.reader.interfaces);
    this.read += n;
    return n;
  }

  bytesRead(): number {
    return this.reader.bytesRead;
  }

  packetsRead(): number {
    return this.read;
  }

  error(): InputError | null {
    return this.reader.error;
  }

  async close(): Promise<void> {
    this.reader.close();
  }
}

/**
 * One thread: the steps in a row on one slot (stage.ts prepare, process, finishAll), then `write`. With
 * `decoded`, called with each batch once decoded, before the engine rewrites it (the page puts its packets
 * in words). (A write worker that wrote each batch while the main thread ran the next was tried: no
 * faster on the 2-core machine, where the output's bytes crossing to the other core cost what the overlap
 * saved.)
 */
export class InlineRunner extends ReaderRunner {
  private readonly slot: Slot;
  private readonly stage: ShardStage;
  private readonly table = shardTable(1);
  private readonly verdicts: boolean;
  private readonly trace: boolean;

  /**
   * `spec`: slotSpec(dp, ..., 1); records and blocks are encoded when it has room for them. `slot`: the
   * one slot, made by the caller on `spec` (pipeline.ts: the reader's buffer is in it), else made here.
   */
  constructor(
    reader: CaptureReader,
    dp: Dataplane,
    stageOpts: StageOptions,
    spec: SlotSpec,
    private readonly write: WriteSlot,
    private readonly decoded: ((b: Batch) => void) | null = null,
    slot: Slot | null = null,
  ) {
    super(reader);
    this.slot = slot ?? new Slot(new SlotLayout(spec));
    this.stage = new ShardStage(dp, stageOpts, spec.capacity);
    this.verdicts = spec.verdictBytes > 0;
    this.trace = spec.traceBytes > 0;
  }

  protected freeSlot(): Slot {
    return this.slot;
  }

  protected send(s: Slot, ifaces: readonly TsUnits[]): void {
    const st = this.stage;
    st.prepare(s, this.table, 1, this.verdicts || this.trace);
    if (this.decoded !== null) this.decoded(s.batch);
    st.process(s, 0, true);
    const out = st.finishAll(s, ifaces, this.verdicts, this.trace);
    this.write(s, out.verdictBytes, out.traceBytes);
  }

  finish(): Tally {
    return this.stage.tally;
  }

  /** The counters so far (after each `step`: live capture's rolling view, pipeline.ts PipelineInput `judged`). */
  get tally(): Tally {
    return this.stage.tally;
  }
}
