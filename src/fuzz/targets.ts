/**
 * What the fuzz harness runs each input through, and what it checks (src/fuzz). An input is one or more
 * files (name and bytes); a target returns 'ok' (read whole) or 'rejected' (an InputError or UsageError:
 * the exit-2 path, which is fine), and throws anything else: a crash. A broken invariant throws a
 * FuzzFailure. Targets:
 *   readers   openCaptureBytes + next() over a reused Batch, decodeBatch, and each packet's TSV and JSONL
 *             row (decode's output): every decoded offset within the packet, TSV rows of 18 columns on one
 *             line, JSON rows that parse, and rows = packets read (also when the reader stops at a fault);
 *   cluster   the files' bytes decoded as loadCluster decodes them (decodeClusterFile), parseClusterTexts
 *             (every importer, merge, validation), then compileDataplane, runDiagnostics and formatRules
 *             (what replay and `rules` do next with an accepted config);
 *   engine    one scenario's trace, mutated, replayed against its cluster (with its own profile and view,
 *             or another build's, timeouts of 0, the other view) by runPipeline on this thread (a fresh
 *             flow table each time) with --verdicts and --out to temp files: verdicts counted = packets
 *             read, verdict records numbered 1..N, and the output pcapng reads back whole with exactly one
 *             packet per input packet, in order, whose comment names that packet and its verdict
 *             (`packet N: <verdict>`, src/pipeline/out-trace-encoder.ts); then `explain` of the last
 *             packet of the first batch ends with the verdict the replay gave it. A cluster input that
 *             mutated a scenario's cluster and was accepted replays that scenario's trace the same way.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { decodeClusterFile, parseClusterTexts } from '../cluster/parse';
import { runDiagnostics } from '../cluster/diagnostics';
import type { Cluster } from '../cluster/model';
import { Batch } from '../core/batch';
import { InputError, UsageError } from '../core/errors';
import { decodeBatch, type DecodeOptions } from '../decode/decoder';
import { formatJsonRow, formatTsvRow, TSV_COLUMNS } from '../decode/format';
import { openCapture, openCaptureBytes } from '../io/reader';
import { runPipeline } from '../pipeline/pipeline';
import { explainPacket } from '../pipeline/replay-loop';
import { compileDataplane, type Dataplane } from '../vfp/engine';
import { resolveProfile } from '../vfp/profile';
import { VERDICT_NAMES } from '../vfp/reasons';
import { formatRules } from '../vfp/rules-print';
import type { ScenarioSeed } from './seeds';

export const TARGETS = ['readers', 'cluster', 'engine'] as const;
export type TargetName = (typeof TARGETS)[number];

/**
 * One input: the files a target reads. `scenario`: the engine target's cluster and trace, or the scenario
 * whose cluster files a cluster input mutated (its trace is then replayed against what the importers
 * accepted); `windows`, `view`: the engine target's profile and view when not the scenario's own.
 */
export interface FuzzInput {
  target: TargetName;
  files: { name: string; bytes: Uint8Array }[];
  scenario?: string;
  windows?: string;
  view?: 'pod' | 'wire';
  /** Engine: replay again with 2 and 3 threads and compare the outputs (EngineRig.checkThreads). */
  threads?: boolean;
  /** Readers: whether caplen > snaplen is a fault (the CLI's default) or accepted (--lenient-snaplen). */
  strictSnaplen?: boolean;
}

export type Outcome = 'ok' | 'rejected';

/** A broken invariant (not an exception of the code under test: the harness's own finding). */
export class FuzzFailure extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FuzzFailure';
  }
}

/** True for the errors that are the exit-2 path: the input was bad and the message says where. */
function isExpected(e: unknown): boolean {
  return e instanceof InputError || e instanceof UsageError;
}

const DECODE: DecodeOptions = { vxlanPorts: [8472] };
const OFFSETS = ['l2Off', 'l3Off', 'l4Off', 'payOff', 'icmpInnerOff', 'innerL2Off', 'innerL3Off', 'innerL4Off', 'dnsOff'] as const;

/** Packet i's decoded offsets all lie within its captured bytes. */
function checkOffsets(b: Batch, i: number, n: number): void {
  const cap = b.caplen[i];
  for (const col of OFFSETS) {
    const o = b[col][i];
    if (o < -1 || o > cap) throw new FuzzFailure(`packet ${n}: ${col} ${o} outside its ${cap} captured bytes`);
  }
}

/** Packet i's decode rows: TSV of the CONTRACT's columns on one line, JSON that parses. */
function checkRows(b: Batch, i: number, n: number): void {
  const tsv = formatTsvRow(b, i, n);
  const cols = tsv.split('\t');
  if (cols.length !== TSV_COLUMNS.length || tsv.indexOf('\n') !== tsv.length - 1 || tsv.includes('\r')) {
    throw new FuzzFailure(`packet ${n}: TSV row of ${cols.length} columns / lines broken: ${JSON.stringify(tsv)}`);
  }
  const json = formatJsonRow(b, i, n, DECODE);
  if ((JSON.parse(json) as { n: number }).n !== n) throw new FuzzFailure(`packet ${n}: JSON row numbered otherwise`);
}

/** Runs the readers target (see the module comment) on `bytes`, with `batch` reused between inputs. */
export function runReaders(name: string, bytes: Uint8Array, strictSnaplen: boolean, batch: Batch): Outcome {
  let reader;
  try {
    reader = openCaptureBytes(name, bytes, { strictSnaplen });
  } catch (e) {
    if (e instanceof InputError) return 'rejected';
    throw e;
  }
  let rows = 0;
  try {
    for (;;) {
      const n = reader.next(batch);
      if (n === 0) break;
      if (batch.count !== n || batch.firstNumber !== rows + 1) throw new FuzzFailure(`batch of ${batch.count} packets from ${batch.firstNumber}: next() said ${n} after ${rows}`);
      decodeBatch(batch, DECODE);
      for (let i = 0; i < n; i++) {
        rows++;
        checkOffsets(batch, i, rows);
        checkRows(batch, i, rows);
      }
    }
  } finally {
    reader.close();
  }
  if (rows !== reader.packetsRead) throw new FuzzFailure(`${rows} packets decoded, ${reader.packetsRead} read`);
  if (reader.error !== null && !(reader.error instanceof InputError)) throw reader.error;
  return reader.error === null ? 'ok' : 'rejected';
}

/**
 * Runs the cluster target: the files as loadCluster reads them, then compiled as replay and `rules` do.
 * Returns the outcome and, when accepted, the Cluster and its Dataplane (the engine target replays a
 * scenario's trace against a mutated scenario cluster the importers accepted).
 */
export function runCluster(
  files: readonly { name: string; bytes: Uint8Array }[],
  opts: { windows?: string; view?: 'pod' | 'wire'; seed?: number } = {},
): { outcome: Outcome; cluster?: Cluster; dp?: Dataplane } {
  try {
    const cluster = parseClusterTexts(files.map((f) => ({ name: f.name, text: decodeClusterFile(f.bytes) })));
    const profile = resolveProfile(opts.windows);
    const dp = compileDataplane(cluster, { profile, seed: opts.seed ?? 1, view: opts.view ?? 'pod' });
    runDiagnostics(cluster, { maxLbDestinations: profile.maxLbDestinations, dsrSupported: profile.dsr }, dp.diagnostics);
    formatRules(dp.c);
    return { outcome: 'ok', cluster, dp };
  } catch (e) {
    if (isExpected(e)) return { outcome: 'rejected' };
    throw e;
  }
}

/** Profiles the engine target replays with besides each scenario's own: other builds, and timeouts of 0. */
export const ENGINE_PROFILES = ['ws2019', 'ws2025', 'future', 'ws2022:timeouts.tcpEstablished=0,timeouts.udp=0,timeouts.icmp=0,snatBlockSize=1'];

/** How the engine target replays: the scenario, and a profile and view other than the scenario's own, if any. */
interface EngineRun {
  scenario: string;
  windows?: string;
  view?: 'pod' | 'wire';
}

/** The engine target's set-up: each scenario compiled once per profile and view, and the temp folder for the run's files. */
export class EngineRig {
  private readonly compiled = new Map<string, { cluster: Cluster; dp: Dataplane }>();
  /** For reading the output pcapng back and for explain (reused). */
  private readonly batch = new Batch({ capacity: 512, arenaBytes: 4 << 20 });

  constructor(
    private readonly scenarios: readonly ScenarioSeed[],
    private readonly tmp: string,
  ) {}

  /** Scenario `name`'s seed. */
  scenario(name: string): ScenarioSeed {
    const s = this.scenarios.find((x) => x.name === name);
    if (s === undefined) throw new Error(`fuzz: no scenario ${name}`);
    return s;
  }

  private compile(run: EngineRun): { cluster: Cluster; dp: Dataplane } {
    const s = this.scenario(run.scenario);
    const windows = run.windows ?? s.windows;
    const view = run.view ?? s.view;
    const key = `${run.scenario} ${windows ?? ''} ${view}`;
    let c = this.compiled.get(key);
    if (c === undefined) {
      const cluster = parseClusterTexts(s.files.map((f) => ({ name: f.name, text: f.text })));
      c = { cluster, dp: compileDataplane(cluster, { profile: resolveProfile(windows), seed: s.seed, view }) };
      this.compiled.set(key, c);
    }
    return c;
  }

  /** Replays `bytes` as `run` says and checks the outputs (see the module comment); `threads`: see checkThreads. */
  async run(run: EngineRun, bytes: Uint8Array, threads = false): Promise<Outcome> {
    const { cluster, dp } = this.compile(run);
    const s = this.scenario(run.scenario);
    this.lastError = undefined;
    const o = await this.replay(cluster, dp, run.windows ?? s.windows, run.view ?? s.view, s.seed, bytes);
    if (threads && this.lastError !== undefined) await this.checkThreads(cluster, dp, run.windows ?? s.windows, run.view ?? s.view, s.seed);
    return o;
  }

  /**
   * The last replay again with 2 and 3 threads (split, and a chain of shards): the same bytes in both
   * output files, and the same fault, as with one (DESIGN: output is the same for every worker count).
   * Threads take a moment to start, so the bench does this for some inputs only (Fuzzer `threadsEvery`).
   */
  async checkThreads(cluster: Cluster, dp: Dataplane, windows: string | undefined, view: 'pod' | 'wire', seed: number): Promise<void> {
    const trace = path.join(this.tmp, 'in.pcapng');
    const one = [path.join(this.tmp, 'verdicts.jsonl'), path.join(this.tmp, 'out.pcapng')].map((f) => fs.readFileSync(f));
    const oneError = this.lastError;
    for (const workers of [2, 3]) {
      const verdicts = path.join(this.tmp, `verdicts-w${workers}.jsonl`);
      const out = path.join(this.tmp, `out-w${workers}.pcapng`);
      dp.state = dp.createState();
      const r = await runPipeline({ trace, cluster, windows, seed, view, dp, decode: DECODE, workers, failVerdicts: [], failReasons: [], verdicts, out });
      if ((r.error?.message ?? null) !== oneError) throw new FuzzFailure(`${workers} threads: fault ${r.error?.message ?? 'none'}, one thread: ${oneError ?? 'none'}`);
      const got = [verdicts, out].map((f) => fs.readFileSync(f));
      if (!got[0].equals(one[0])) throw new FuzzFailure(`${workers} threads: the verdict records differ from one thread's`);
      if (!got[1].equals(one[1])) throw new FuzzFailure(`${workers} threads: the output pcapng differs from one thread's`);
    }
  }

  /** The fault message of the last one-thread replay that ran (null: none; undefined: it did not run). */
  private lastError: string | null | undefined = undefined;

  /** Replays `bytes` against `dp` (fresh state) through runPipeline on this thread; checks the outputs and explain. */
  async replay(cluster: Cluster, dp: Dataplane, windows: string | undefined, view: 'pod' | 'wire', seed: number, bytes: Uint8Array): Promise<Outcome> {
    const trace = path.join(this.tmp, 'in.pcapng');
    const verdicts = path.join(this.tmp, 'verdicts.jsonl');
    const out = path.join(this.tmp, 'out.pcapng');
    fs.writeFileSync(trace, bytes);
    dp.state = dp.createState();
    let r;
    try {
      // small batches: the traces are small, and the pipeline allocates its slot afresh for every run
      const small = { capacity: 64, arenaBytes: 512 << 10 };
      r = await runPipeline({ trace, cluster, windows, seed, view, dp, decode: DECODE, workers: 1, failVerdicts: [], failReasons: [], verdicts, out, ...small });
    } catch (e) {
      if (isExpected(e)) return 'rejected';
      throw e;
    }
    this.lastError = r.error?.message ?? null;
    const tallied = r.tally.counters.packets();
    if (tallied !== r.packets) throw new FuzzFailure(`${tallied} verdicts counted for ${r.packets} packets read`);
    const names = checkVerdicts(verdicts, r.packets);
    checkOutTrace(out, names, this.batch);
    if (r.packets > 0) this.checkExplain(dp, bytes, names);
    return r.error === null ? 'ok' : 'rejected';
  }

  /**
   * `explain` of the last packet (the replay's first batch, as explainTrace does it: the packets before it
   * processed, then it with a trace) ends with the verdict the replay gave it.
   */
  private checkExplain(dp: Dataplane, bytes: Uint8Array, verdicts: readonly string[]): void {
    const reader = openCaptureBytes('in.pcapng', bytes, { strictSnaplen: true });
    let n: number;
    try {
      n = reader.next(this.batch);
    } finally {
      reader.close();
    }
    if (n === 0) return;
    dp.state = dp.createState();
    const again = openCaptureBytes('in.pcapng', bytes, { strictSnaplen: true });
    let text: string | null;
    try {
      text = explainPacket(again, dp, DECODE, n); // the product's explain loop
    } finally {
      again.close();
    }
    const m = text === null ? null : /\nVerdict: (\S+)/.exec(text);
    if (m === null || m[1] !== verdicts[n - 1]) throw new FuzzFailure(`explain of packet ${n} says ${m === null ? 'no verdict' : m[1]}, replay said ${verdicts[n - 1]}`);
  }
}

/** The verdict records: one JSON line per packet, numbered 1..N; returns their verdicts. */
export function checkVerdicts(file: string, packets: number): string[] {
  const text = fs.readFileSync(file, 'utf8');
  const lines = text.length === 0 ? [] : text.split('\n');
  if (lines.length > 0 && lines.pop() !== '') throw new FuzzFailure('verdict file does not end with a newline');
  if (lines.length !== packets) throw new FuzzFailure(`${lines.length} verdict records for ${packets} packets`);
  return lines.map((line, k) => {
    const v = JSON.parse(line) as { packet: number; verdict: string };
    if (v.packet !== k + 1) throw new FuzzFailure(`verdict record ${k + 1} numbered ${v.packet}`);
    if (!(VERDICT_NAMES as readonly string[]).includes(v.verdict)) throw new FuzzFailure(`verdict record ${k + 1}: verdict ${v.verdict}`);
    return v.verdict;
  });
}

/** The output pcapng: reads back whole, one packet per input packet, each commented `packet N: <verdict>` (then ` <reason>: ..` or `; <fields>`). */
export function checkOutTrace(file: string, verdicts: readonly string[], batch: Batch): void {
  const reader = openCapture(file, { strictSnaplen: false, bufferBytes: 64 << 10 });
  let n = 0;
  try {
    for (;;) {
      const got = reader.next(batch);
      if (got === 0) break;
      for (let i = 0; i < got; i++) {
        n++;
        const c = batch.options.get(i)?.comments?.[0] ?? '';
        const want = `packet ${n}: ${verdicts[n - 1]}`;
        if (!(c === want || c.startsWith(want + ' ') || c.startsWith(want + '; '))) throw new FuzzFailure(`output packet ${n}: comment ${JSON.stringify(c)}, expected ${want}`);
      }
    }
  } finally {
    reader.close();
  }
  if (reader.error !== null) throw new FuzzFailure(`output pcapng unreadable: ${reader.error.message}`);
  if (n !== verdicts.length) throw new FuzzFailure(`${n} output packets for ${verdicts.length} input packets`);
}
