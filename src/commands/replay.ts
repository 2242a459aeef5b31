/**
 * `vfp-emu replay`: trace -> reader -> decode -> VFP engine -> verdicts, output trace, summary, report.
 *
 * The work runs through src/pipeline (bounded memory whatever the trace size, `--workers N`
 * threads, the same output bytes for every N): the reader fills batches, the decoder fills their columns,
 * the tuples as captured are kept only when verdict records are written, the engine decides every packet
 * and rewrites it in place, the batch is decoded again so the records show each packet as it leaves, and
 * the writers append in input order. When the reader reports a bad file, everything read before the fault
 * is still judged, counted and written; then the error is printed and the exit status is 2.
 *
 * With no TRACE it runs the embedded default scenario (traces/04-icmp-lesson) and writes its outputs
 * under ./vfp-out/ (verdicts.jsonl, out.pcapng, report.txt).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { pktmonResolvedComponent } from '../io/pktmon';
import { pktmonSameDiagnostic, pktmonText, type PktmonSummary } from '../report/pktmon';
import { Batch } from '../core/batch';
import { openCapture, type CaptureReader } from '../io/reader';
import { InputError, UsageError } from '../core/errors';
import { jsonSafe, safeMessage, safeText } from '../core/safe-text';
import { flagInt, flagList, flagString, type ParsedArgs } from '../cli-args';
import { DEFAULT_MAX_CONFIG_BYTES } from '../cluster/limits';
import { runDiagnostics } from '../cluster/diagnostics';
import type { Cluster, Diagnostic } from '../cluster/model';
import { AtomicOutput } from '../pipeline/output-files';
import { outTraceEncoderModule } from '../pipeline/encoders';
import { runPipeline, type PipelineInput } from '../pipeline/pipeline';
import { signalStatus, stopOnSignals, type StopSignal } from '../pipeline/stop';
import type { Dataplane } from '../vfp/engine';
import type { NodeChoice } from '../vfp/compile';
import { FLOW_SHARES } from '../vfp/flow-table';
import { resolveProfile } from '../vfp/profile';
import { backendOfKey } from '../vfp/counters';
import { REASON_TABLE, reasonId, reasonSentence, V, VERDICT_NAMES } from '../vfp/reasons';
import { loadScenario, tracesDir, type Scenario } from '../scenario/scenario';
import { StdoutClosed, writeStdout } from '../core/stdout';
import { checkOutputPaths } from './output-paths';
import { fingerprintOf, type Fingerprint } from './summary-merge';
import { expandTraces } from './trace-list';
import { compileChosen, decodeOptionsFor, diagnosticLine, prepareDataplane } from './dataplane';
import { traceNodes } from '../vfp/trace-nodes';
import { FailingFlows as FailingCollector } from '../report/failing-flows';
import { failingSummary, failingText, nodesSummary, type FailingFlows, type NodeCounts } from '../report/failing-summary';
import { cliPrefix, explainCommand } from '../report/command';

// what explain and rules share with replay, in a module of its own so that they do not load the pipeline
export { decodeOptionsFor, diagnosticLine, prepareDataplane };

const DEFAULT_SCENARIO = '04-icmp-lesson';

export interface ReplayOptions {
  trace: string;
  clusterFiles: string[];
  verdicts?: string;
  out?: string;
  report?: string;
  summary?: 'text' | 'json';
  /** Shard worker threads (1: everything on the calling thread). The CLI's default: the cores available. */
  workers: number;
  windows?: string;
  seed: number;
  view: 'pod' | 'wire';
  failOn: string[];
  vxlanPorts: number[];
  /** Default true: caplen > snaplen is bad input (issue 2); false (`--lenient-snaplen`) accepts it as tshark does. */
  strictSnaplen?: boolean;
  /** `--pktmon-component NAME|N`: the component a pktmon capture's packets are judged at (src/io/pktmon.ts). */
  pktmonComponent?: string;
  /** Progress line on stderr (packets, rate, ETA); default: when stderr is a TTY. */
  progress?: boolean;
  /** Most bytes one --cluster file may hold (`--max-config-bytes`; default 64 MiB, src/cluster/limits.ts). */
  maxConfigBytes?: number;
  /**
   * Compile every Windows node (`--all-nodes`); default: only those the trace's addresses lead to
   * (src/vfp/trace-nodes.ts; a `nodes-compiled` diagnostic names the others).
   */
  allNodes?: boolean;
  /** `--quiet`: the command prints nothing but errors (no summary, no progress, no lesson story). */
  quiet?: boolean;
  /** Read the trace ahead and restrict the compile however small the cluster (tests; trace-nodes.ts RESTRICT_FROM_LBS). */
  alwaysRestrict?: boolean;
  /**
   * Stop early once aborted (the CLI: SIGINT/SIGTERM, src/pipeline/stop.ts; the reason names the signal):
   * the outputs end whole after the packets judged so far, and the summary says `interrupted`.
   */
  stop?: AbortSignal;
  /**
   * The --cluster files already loaded (multi-job.ts: once per thread for all its traces) and their summary
   * fingerprint: the Dataplane is still compiled afresh for this trace, so its state is its own.
   */
  loaded?: { cluster: Cluster; fingerprint: Fingerprint };
  /**
   * How to start vfp-emu again in the explain commands the summary prints (src/report/command.ts
   * `cliPrefix`, taken on the main thread: worker threads get it with the options). Default: this process's.
   */
  cli?: string;
  /**
   * (Issue 13, `vfp-emu live`.) Packets as they are captured (src/io/live-source.ts) instead of `trace`,
   * which then only names them in the summary and the explain commands: judged on this thread as they
   * come (pipeline.ts PipelineInput); every Windows node is compiled (nothing can be read ahead).
   */
  input?: PipelineInput;
}

export interface ReplaySummary {
  packets: number;
  /** Only when `stop` ended the run early: the signal (`packets` were judged, and the outputs hold them). */
  interrupted?: StopSignal;
  /**
   * Only when the output on stdout (`--verdicts /dev/stdout`) lost its reader (EPIPE: `| head`): the run
   * stopped as for a signal, that output was dropped, the others hold `packets` whole.
   */
  stdout_closed?: true;
  verdicts: Record<string, number>;
  reasons: Record<string, number>;
  warnings: Record<string, number>;
  diagnostics: Diagnostic[];
  services: Record<string, { backends: Record<string, number> }>;
  /** Connections evicted from the flow table to stay within its limit (profile maxConnections). */
  flows_evicted: number;
  /**
   * Only when flows_evicted > 0: the most connections one share of the flow table holds,
   * ceil(maxConnections / FLOW_SHARES) (vfp/flow-table.ts): the limit that evicted them.
   */
  flow_share_limit?: number;
  elapsed_s: number;
  pps: number;
  /** (Extension, issue 12.) The trace as given on the command line: `vfp-emu merge` lists it under `traces`. */
  trace?: string;
  /** (Extension.) Only when the trace was bad input: the error (everything before it was judged and counted). */
  error?: string;
  /** (Extension.) What must match for `vfp-emu merge` to add this summary to others (summary-merge.ts). */
  fingerprint?: Fingerprint;
  /**
   * (Extension, issue 13.) The failing flows (dropped, no-return) grouped by 5-tuple and reason, most packets
   * first, each with the explain command of its first packet (src/report/failing-summary.ts).
   */
  failing_flows?: FailingFlows;
  /** (Extension, issue 13.) Packets per emulated node and verdict (src/report/failing-summary.ts `nodesSummary`). */
  nodes?: NodeCounts;
  /** (Extension, issue 13.) Only for a pktmon capture: its packets, copies, components and drop records compared (src/report/pktmon.ts). */
  pktmon?: PktmonSummary;
}

export interface ReplayOutcome {
  summary: ReplaySummary;
  /**
   * 0 done, 1 --fail-on matched, 2 the input was bad (after everything before the fault was written),
   * 130 / 143 stopped by SIGINT / SIGTERM (after the outputs were closed whole).
   */
  status: number;
  error: InputError | null;
  dataplane: Dataplane;
  cluster: Cluster;
  /** The number of the first packet that matched `--fail-on` (0: none). */
  failFirst: number;
}

/**
 * Runs the replay; writes the files it was asked for, each whole (src/pipeline/output-files.ts
 * `AtomicOutput`: a temporary file renamed when complete; the report too); never prints (the command
 * does). The work runs through src/pipeline: on this thread for `workers: 1`, else with that many threads
 * (pipeline.ts), with the same bytes in every output file whatever the worker count. `progress` gets the
 * packets read so far, the seconds since the start and the fraction of the input read (NaN when unknown:
 * stdin).
 */
export async function replay(opts: ReplayOptions, progress?: (packets: number, elapsed: number, fraction: number) => void): Promise<ReplayOutcome> {
  const choose = opts.allNodes === true || opts.input !== undefined ? undefined : (c: Cluster) => traceNodes(c, opts.trace, opts.vxlanPorts, opts.strictSnaplen ?? true, undefined, opts.alwaysRestrict);
  const { cluster, dataplane: dp, fingerprint } = compiled(opts, choose);
  const profile = resolveProfile(opts.windows);
  const decodeOpts = decodeOptionsFor(opts.vxlanPorts, cluster);
  const { failVerdicts, failReasons } = failOnIds(opts.failOn);
  if (!Number.isInteger(opts.workers) || opts.workers < 1) throw new UsageError(`--workers ${opts.workers}: give a whole number of worker threads, 1 or more`);
  const run = await runPipeline({
    trace: opts.trace,
    strictSnaplen: opts.strictSnaplen ?? true,
    pktmonComponent: opts.pktmonComponent,
    cluster,
    windows: opts.windows,
    seed: opts.seed,
    view: opts.view,
    dp,
    decode: decodeOpts,
    verdicts: opts.verdicts,
    out: opts.out,
    workers: opts.workers,
    failVerdicts,
    failReasons,
    progress,
    stop: opts.stop,
    input: opts.input,
  });
  const t = run.tally;
  const counted = t.counters;
  const packets = run.packets;
  const elapsed = run.elapsed;
  const interrupted = run.stopped ? stopSignal(opts.stop) : undefined;
  const summary: ReplaySummary = {
    packets,
    ...(interrupted !== undefined ? { interrupted } : {}),
    ...(run.stdoutClosed ? { stdout_closed: true as const } : {}),
    verdicts: counted.byVerdict(),
    reasons: counted.byReason(),
    warnings: counted.byWarning(),
    // What the config implies for this profile, then what the compiler found (DSR unsupported, no SourceVIP).
    diagnostics: runDiagnostics(cluster, { maxLbDestinations: profile.maxLbDestinations, dsrSupported: profile.dsr }, dp.diagnostics),
    services: {},
    flows_evicted: t.flowsEvicted,
    ...(t.flowsEvicted > 0 ? { flow_share_limit: Math.ceil(profile.maxConnections / FLOW_SHARES) } : {}),
    elapsed_s: Math.round(elapsed * 1e6) / 1e6,
    pps: elapsed > 0 ? Math.round(packets / elapsed) : 0,
  };
  // A config name too long for the output trace's interface names (out-trace-encoder.ts IFACE_NAME_MAX): said once.
  const cut = opts.out !== undefined ? outTraceEncoderModule().egressNameDiagnostic(dp) : null;
  if (cut !== null) summary.diagnostics.push(cut);
  summary.trace = opts.trace;
  if (run.error !== null) summary.error = run.error.message;
  // the component the flag resolved to (its if_name or if_description), not the flag's text: `2` and its name are one view;
  // a stream (stdin, a FIFO) by the interfaces its reader read (io/pktmon.ts takeStreamComponents), as the same file
  const stream = t.pktmon.components(opts.trace);
  summary.fingerprint = opts.pktmonComponent !== undefined ? { ...fingerprint, pktmon_component: pktmonResolvedComponent(opts.trace, opts.pktmonComponent, stream) } : fingerprint;
  for (const [key, count] of counted.backends()) {
    const { service, backend } = backendOfKey(key);
    const svc = dp.serviceName(service) ?? '?';
    const be = dp.backendName(backend) ?? '?';
    (summary.services[svc] ??= { backends: {} }).backends[be] = count;
  }
  const failing = FailingCollector.merged([t.failing.data()]);
  summary.nodes = nodesSummary(failing.perNode, (id) => dp.nodeName(id));
  const names = componentNames(opts.trace, opts.strictSnaplen ?? true, stream);
  let pk: PktmonSummary | null;
  try {
    pk = t.pktmon.summary(opts.trace, names.name, opts.pktmonComponent);
  } finally {
    names.close();
  }
  if (pk !== null) {
    summary.pktmon = pk;
    summary.diagnostics.push({ code: 'pktmon-capture', message: pktmonText(pk).split('\n')[0], source: opts.trace === '-' ? 'stdin' : opts.trace });
  }
  const same = pktmonSameDiagnostic(t.pktmon, packets, opts.trace === '-' ? 'stdin' : opts.trace);
  if (same !== null) summary.diagnostics.push(same);
  summary.failing_flows = failingSummary(failing, counted.verdicts[V.DROPPED] + counted.verdicts[V.NO_RETURN], opts.trace, (id) => dp.nodeName(id), opts);
  const status = interrupted !== undefined ? signalStatus(interrupted) : run.error !== null ? 2 : t.failed ? 1 : 0;
  const outcome: ReplayOutcome = { summary, status, error: run.error, dataplane: dp, cluster, failFirst: t.failFirst };
  if (opts.report !== undefined) await writeReport(opts.report, outcome, opts);
  return outcome;
}

/**
 * Names of a capture's interfaces for the pktmon summary (`if_name (if_description)`), read from the
 * file again (its interface blocks come first: reading stops once `g` is known, and goes on from there for a
 * later `g`); for stdin or a FIFO from `stream`, the interfaces its reader read (PktmonTally.components); `interface g`
 * for an interface not found. The file is opened once (`close` ends it; it is closed at its end too).
 */
export function componentNames(trace: string, strictSnaplen: boolean, stream?: readonly { name?: string; description?: string }[]): { name: (g: number) => string; close: () => void } {
  const names: string[] = [];
  const st = trace === '' || trace === '-' ? undefined : fs.statSync(trace, { throwIfNoEntry: false });
  if (st?.isFile() !== true) stream?.forEach((f, k) => (names[k] = componentLabel(f, k)));
  let reader: CaptureReader | null = null;
  let done = st?.isFile() !== true;
  let batch: Batch | null = null;
  const close = (): void => {
    done = true;
    reader?.close();
    reader = null;
  };
  const name = (g: number): string => {
    if (names[g] === undefined && !done) {
      try {
        reader ??= openCapture(trace, { strictSnaplen });
        batch ??= new Batch({ capacity: 64, arenaBytes: 1 << 20 });
        const r: CaptureReader = reader;
        while (r.interfaces.length <= g) {
          if (r.next(batch) === 0) {
            close();
            break;
          }
          batch.reset(r.packetsRead + 1);
        }
        r.interfaces.forEach((f, k) => (names[k] = componentLabel(f, k)));
      } catch {
        close(); // the run already reported a bad capture
      }
    }
    return names[g] ?? `interface ${g}`;
  };
  return { name, close };
}

/** An interface as the pktmon summary names it: `if_name (if_description)`, the one it has, or `interface k`. */
function componentLabel(f: { name?: string; description?: string }, k: number): string {
  return f.name !== undefined && f.description !== undefined && f.description !== f.name ? `${f.name} (${f.description})` : (f.name ?? f.description ?? `interface ${k}`);
}

/**
 * The --report file: HTML when its name ends in .html or .htm (src/report/html.ts), else text. `vfp-emu live`
 * calls it itself, after its --save file is complete: the HTML report reads the trace again to draw the paths.
 */
export async function writeReport(file: string, outcome: ReplayOutcome, opts: ReplayOptions): Promise<void> {
  if (isHtmlReport(file)) {
    const { htmlReport } = await import('../report/html');
    AtomicOutput.writeFile(file, htmlReport([opts.trace], outcome.summary, opts, outcome.error !== null ? [outcome.error.message] : [], outcome.cluster));
  } else AtomicOutput.writeFile(file, reportText(outcome.summary, opts, outcome.error));
}

/** True for a report path whose name ends in .html or .htm (any case): the HTML report. */
export function isHtmlReport(file: string): boolean {
  return /\.html?$/i.test(file);
}

/** The Dataplane for `opts` (its cluster loaded now, or `opts.loaded`), and the summary fingerprint. */
function compiled(opts: ReplayOptions, choose: ((c: Cluster) => NodeChoice | null) | undefined): { cluster: Cluster; dataplane: Dataplane; fingerprint: Fingerprint } {
  if (opts.loaded !== undefined) return { ...compileChosen(opts.loaded.cluster, opts, choose), fingerprint: opts.loaded.fingerprint };
  const { digests, ...rest } = prepareDataplane(opts.clusterFiles, opts, choose);
  return { ...rest, fingerprint: fingerprintOf(opts, digests) };
}

/** `--fail-on` names as verdict and reason ids; a name that is neither is bad usage. */
export function failOnIds(failOn: readonly string[]): { failVerdicts: number[]; failReasons: number[] } {
  const failReasons: number[] = [];
  const failVerdicts: number[] = [];
  for (const f of failOn) {
    const v = (VERDICT_NAMES as readonly string[]).indexOf(f);
    if (v >= 0) failVerdicts.push(v);
    else if (reasonId(f) > 0) failReasons.push(reasonId(f));
    else {
      // what is accepted, listed (issue 13): the verdicts, and the codes a packet can get (verdict reasons, warnings)
      const codes = REASON_TABLE.filter((r) => r.kind !== 'diagnostic').map((r) => r.code);
      throw new UsageError(`--fail-on ${f}: not a verdict nor a reason code; verdicts: ${VERDICT_NAMES.join(', ')}; reason codes: ${codes.join(', ')}`);
    }
  }
  return { failVerdicts, failReasons };
}

/**
 * What `--fail-on` matched (issue 13), for stderr when the status is 1: each name given with the packets it
 * counted (a verdict's count; a reason's as final reason plus as warning), and the first packet that matched
 * with the explain command that walks it. `first`: that packet's trace and number (packet 0: not known).
 */
export function failOnText(s: Pick<ReplaySummary, 'verdicts' | 'reasons' | 'warnings'>, opts: ReplayOptions, first: { trace: string; packet: number } | null): string {
  const counts = opts.failOn.map((f) => {
    const n = ((s.verdicts as Record<string, number>)[f] ?? 0) + (s.reasons[f] ?? 0) + (s.warnings[f] ?? 0);
    const kind = (VERDICT_NAMES as readonly string[]).includes(f) ? 'verdict' : 'reason';
    return `${kind} ${f}: ${n} packet${n === 1 ? '' : 's'}`;
  });
  const lines = [`vfp-emu: --fail-on matched (exit status 1): ${counts.join('; ')}`];
  if (first !== null && first.packet > 0) {
    lines.push(`vfp-emu: first match: packet ${first.packet} of ${safeText(first.trace)}; step by step: ${safeText(explainCommand(first.trace, first.packet, opts))}`);
  }
  return lines.join('\n') + '\n';
}

/** The signal a stop names (its reason: stop.ts), SIGINT for any other reason. */
function stopSignal(stop: AbortSignal | undefined): StopSignal {
  return stop?.reason === 'SIGTERM' ? 'SIGTERM' : 'SIGINT';
}

/**
 * The summary as text: what happened, and why, in the reference's words. Names from the config (Services,
 * diagnostics) go through `safeText`: no control or bidi character reaches the terminal or report.txt.
 */
export function summaryText(s: ReplaySummary, multi = false): string {
  const lines: string[] = [];
  if (s.interrupted !== undefined) lines.push(`interrupted (${s.interrupted}) after ${s.packets} packets`);
  if (s.stdout_closed === true) lines.push(`stdout closed after ${s.packets} packets`);
  lines.push(`${s.packets} packets in ${s.elapsed_s.toFixed(3)} s (${s.pps} packets/s)`);
  lines.push('verdicts: ' + VERDICT_NAMES.map((v) => `${v} ${s.verdicts[v]}`).join(', '));
  if (s.pktmon !== undefined) lines.push(pktmonText(s.pktmon).trimEnd());
  const reasons = Object.entries(s.reasons);
  if (reasons.length > 0) {
    lines.push('why:');
    for (const [code, n] of reasons) lines.push(`  ${code} (${n}): ${reasonSentence(reasonId(code))}`);
  }
  const warnings = Object.entries(s.warnings);
  if (warnings.length > 0) {
    lines.push('warnings:');
    for (const [code, n] of warnings) lines.push(`  ${code} (${n}): ${reasonSentence(reasonId(code))}`);
  }
  if (s.diagnostics.length > 0) {
    lines.push('config diagnostics:');
    for (const d of s.diagnostics) lines.push(diagnosticLine(d));
  }
  if (s.flows_evicted > 0) {
    const share = s.flow_share_limit !== undefined ? ` of ${s.flow_share_limit} connections per share (maxConnections/${FLOW_SHARES}; one pod's connections, or all host, NodePort and external-VIP connections, share one)` : '';
    lines.push(
      `flow table: ${s.flows_evicted} idle connections evicted to stay within its limit${share}; their later packets were judged as new flows; ` +
        `raise the limit with --windows ws2022:maxConnections=N`,
    );
  }
  const svcs = Object.entries(s.services);
  if (svcs.length > 0) {
    lines.push('services (packets per backend):');
    for (const [name, { backends }] of svcs) {
      lines.push(`  ${safeText(name)}: ` + Object.entries(backends).map(([b, n]) => `${safeText(b)} ${n}`).join(', '));
    }
  }
  lines.push(...failingText(s.failing_flows, multi));
  return lines.join('\n') + '\n';
}

function reportText(s: ReplaySummary, opts: ReplayOptions, error: InputError | null): string {
  const head = [
    'vfp-emu replay report',
    `trace: ${safeText(opts.trace)}`,
    `cluster: ${opts.clusterFiles.map(safeText).join(', ')}`,
    `windows profile: ${resolveProfile(opts.windows).name}, seed ${opts.seed}, view ${opts.view}`,
    '',
  ];
  if (error !== null) head.push(`input error (everything before it was replayed): ${safeText(error.message)}`, '');
  return head.join('\n') + summaryText(s);
}

let lesson: Scenario | null = null;

/** The embedded lesson's scenario, read once per process (its options and its story come from it). */
function lessonScenario(): Scenario {
  return (lesson ??= loadScenario(path.join(tracesDir(), DEFAULT_SCENARIO)));
}

function defaultScenarioOptions(o: ReplayOptions): ReplayOptions {
  const s = lessonScenario();
  fs.mkdirSync('vfp-out', { recursive: true });
  return {
    ...o,
    trace: path.join(s.dir, 'trace.pcapng'),
    clusterFiles: o.clusterFiles.length > 0 ? o.clusterFiles : s.clusterFiles,
    view: s.view,
    verdicts: o.verdicts ?? 'vfp-out/verdicts.jsonl',
    out: o.out ?? 'vfp-out/out.pcapng',
    report: o.report ?? 'vfp-out/report.txt',
  };
}

/** One line per packet of the (small) embedded lesson, from its verdict records: what a teacher reads first. */
function lessonTable(verdictsFile: string): string {
  const lines = ['packet  sent                                      verdict    reason / as it leaves'];
  for (const line of fs.readFileSync(verdictsFile, 'utf8').split('\n')) {
    if (line === '') continue;
    const r = JSON.parse(line) as {
      packet: number;
      verdict: string;
      reason: string | null;
      flow: { proto: number; src: string; sport: number | null; dst: string; dport: number | null; icmp_type?: number } | null;
      out: { src: string; sport: number | null; dst: string; dport: number | null } | null;
    };
    const end = (ip: string, port: number | null): string => (port === null ? ip : `${ip}:${port}`);
    const f = r.flow;
    const proto = f === null ? '' : f.proto === 6 ? 'tcp' : f.proto === 17 ? 'udp' : f.proto === 1 ? (f.icmp_type === 8 ? 'ping' : f.icmp_type === 0 ? 'pong' : 'icmp') : `ip/${f.proto}`;
    const sent = f === null ? '(not IP)' : `${proto} ${end(f.src, f.sport)} > ${end(f.dst, f.dport)}`;
    const why = r.reason ?? (r.out === null ? '' : `${end(r.out.src, r.out.sport)} > ${end(r.out.dst, r.out.dport)}`);
    lines.push(`${String(r.packet).padStart(6)}  ${sent.padEnd(40)}  ${r.verdict.padEnd(9)}  ${why}`);
  }
  return lines.join('\n') + '\n\n';
}

/** Progress on stderr: packets, rate, and (for files) how much was read and the time left. */
function progressPrinter(): (packets: number, elapsed: number, fraction: number) => void {
  let last = 0;
  return (packets, elapsed, fraction) => {
    if (elapsed - last < 0.5) return;
    last = elapsed;
    const rate = packets / elapsed;
    let tail = '';
    if (fraction > 0 && fraction <= 1) {
      const left = (elapsed / fraction) * (1 - fraction);
      tail = `, ${(fraction * 100).toFixed(0)}% read, ETA ${left < 90 ? `${left.toFixed(0)} s` : `${(left / 60).toFixed(1)} min`}`;
    }
    process.stderr.write(`\r${packets} packets, ${Math.round(rate)} packets/s${tail}   `);
  };
}

/**
 * `vfp-emu replay` from the command line. Output paths are checked before anything is opened
 * (output-paths.ts): an output that is the trace, a --cluster file or another output is refused (exit 2).
 * stdout carries one thing: when an output file is stdout (`--verdicts /dev/stdout`), the text summary
 * (and the lesson's table) goes to stderr instead, and an explicit `--summary` is refused (exit 2), so
 * that `--verdicts /dev/stdout | jq` reads only JSONL. A closed stdout while the summary is printed ends
 * it quietly with the run's own status (0, 1 when --fail-on matched, 2 for a bad trace).
 */
export async function runReplayCommand(a: ParsedArgs): Promise<number> {
  const list = expandTraces(a.positional);
  quietConflicts(a);
  // several traces, a folder or a pattern: one merged summary, per-trace outputs in folders (multi-replay.ts)
  if (list.multi) return (await import('./multi-replay')).runMultiReplayCommand(manyOutputs(replayOptions(a, '')), list.traces, a.flags.has('workers'));
  let opts = replayOptions(a, list.traces[0] ?? '');
  const embedded = opts.trace === '';
  resolveProfile(opts.windows); // bad usage before the lesson makes ./vfp-out (`replay --windows ws2021` made it)
  failOnIds(opts.failOn);
  if (embedded) opts = defaultScenarioOptions(opts);
  const plan = checkOutputPaths(
    [{ what: 'the trace', path: opts.trace }, ...opts.clusterFiles.map((f) => ({ what: '--cluster', path: f }))],
    OUTPUT_FLAGS.flatMap((k) => (opts[k] === undefined ? [] : [{ what: `--${k}`, path: opts[k] as string }])),
  );
  if (plan.stdout !== null && opts.summary !== undefined) {
    throw new UsageError(`${plan.stdout.what} ${plan.stdout.path} and --summary ${opts.summary} both write stdout: give one of them a file, or drop --summary`);
  }
  opts = stdoutAsDevice(opts); // `-` checked as stdout above; written to fd 1 as /dev/stdout is (output-files.ts)
  const showProgress = opts.quiet !== true && (opts.progress ?? process.stderr.isTTY === true);
  const stop = stopOnSignals(); // SIGINT/SIGTERM stop the run cleanly while it lasts (src/pipeline/stop.ts)
  let outcome: ReplayOutcome;
  try {
    outcome = await replay({ ...opts, stop: stop.signal }, showProgress ? progressPrinter() : undefined);
  } finally {
    stop.dispose();
  }
  if (showProgress) process.stderr.write('\n');
  const say = opts.quiet === true ? (): void => {} : plan.stdout === null ? writeStdout : (text: string): void => void process.stderr.write(text);
  try {
    printOutcome(outcome, opts, embedded, say);
  } catch (e) {
    if (!(e instanceof StdoutClosed)) throw e;
  }
  if (outcome.error !== null) process.stderr.write(`vfp-emu: ${safeMessage(outcome.error.message)}\n`);
  if (outcome.status === 1 && opts.quiet !== true) process.stderr.write(failOnText(outcome.summary, opts, { trace: opts.trace, packet: outcome.failFirst }));
  const sig = outcome.summary.interrupted;
  if (sig !== undefined && opts.quiet !== true) process.stderr.write(`vfp-emu: interrupted (${sig}) after ${outcome.summary.packets} packets; the outputs hold them whole\n`);
  return outcome.status;
}

/** The outputs of replay, by their flag's name without the dashes. */
const OUTPUT_FLAGS = ['verdicts', 'out', 'report'] as const;

/**
 * `--quiet` prints nothing but errors: with `--summary` (a summary asked for) or `--progress` it is refused
 * by name rather than one of them ignored.
 */
function quietConflicts(a: ParsedArgs): void {
  if (!a.flags.has('quiet')) return;
  for (const other of ['summary', 'progress']) {
    if (a.flags.has(other)) throw new UsageError(`replay: --quiet prints no ${other}, and --${other} asks for one: drop one of them`);
  }
}

/** An output named `-` is stdout: from here on the name the pipeline writes to fd 1 (output-files.ts standardStream). */
function stdoutAsDevice(opts: ReplayOptions): ReplayOptions {
  const o = { ...opts };
  for (const k of OUTPUT_FLAGS) if (o[k] === '-') o[k] = '/dev/stdout';
  return o;
}

/**
 * Several traces: `--out` and `--verdicts` name folders (one file per trace), and no sound reading puts
 * several traces' pcapng or verdict lines on one stdout (the traces run in parallel and their records carry
 * no trace name), so `-` is refused by name there; `--report -` (one report) is stdout as for one trace.
 */
function manyOutputs(opts: ReplayOptions): ReplayOptions {
  for (const k of ['out', 'verdicts'] as const) {
    if (opts[k] === '-') throw new UsageError(`replay --${k} -: several traces cannot share stdout (each gets its own file): give --${k} a folder, or replay one trace`);
  }
  return stdoutAsDevice(opts);
}

function replayOptions(a: ParsedArgs, trace: string): ReplayOptions {
  return {
    trace,
    clusterFiles: flagList(a, 'cluster'),
    verdicts: flagString(a, 'verdicts'),
    out: flagString(a, 'out'),
    report: flagString(a, 'report'),
    summary: flagString(a, 'summary') as 'text' | 'json' | undefined,
    // the default only when --workers is not given: it reads the core count (node:os, loaded on first use in the bundle)
    workers: a.flags.has('workers') ? flagInt(a, 'workers', 1) : defaultWorkers(trace),
    windows: flagString(a, 'windows'),
    seed: flagInt(a, 'seed', 1),
    view: (flagString(a, 'view') ?? 'pod') as 'pod' | 'wire',
    failOn: flagList(a, 'fail-on'),
    vxlanPorts: flagList(a, 'vxlan-port').map(Number),
    strictSnaplen: !a.flags.has('lenient-snaplen'),
    pktmonComponent: flagString(a, 'pktmon-component'),
    progress: a.flags.has('progress') ? true : a.flags.has('no-progress') ? false : undefined,
    maxConfigBytes: flagInt(a, 'max-config-bytes', DEFAULT_MAX_CONFIG_BYTES),
    allNodes: a.flags.has('all-nodes'),
    quiet: a.flags.has('quiet'),
    cli: cliPrefix(),
  };
}

/**
 * Traces smaller than this replay on the main thread when `--workers` is not given (issue 12, start-up).
 * Starting the split worker costs about 60-100 ms of wall time on the 2-core machine (a thread, its own
 * module loading and compile of the Dataplane), while one thread replays on the order of 1M packets a second
 * (bench/e2e.ts): a trace of a few MiB is done before a worker would have paid for itself. The W = 2 split
 * itself ran 0.9-1.25x as fast as one thread (pipeline.ts), so the cut is not sharp: 4 MiB.
 */
export const SMALL_TRACE_BYTES = 4 * 1024 * 1024;

/**
 * `--workers` when the command line does not give it: 1 (no worker thread) for the embedded lesson ('') and
 * for a regular file under SMALL_TRACE_BYTES; 1 whatever the trace on 2 cores or fewer (`coresGiven`, else the
 * cores available); otherwise the cores.
 * stdin ('-'), a FIFO or a file that cannot be stat'ed (the open reports it later) get the cores. Outputs
 * are the same bytes for every worker count (pipeline.ts), so this changes only the time taken.
 *
 * Why one thread on 2 cores, measured on the 2-core machine (1M packets, 10k flows, bench/e2e.ts's
 * interleaved rounds, best of 3): decide-only (no --verdicts, no --out) the split (a worker reads) and a
 * chain of two shards took 1.5x and 1.6x the CPU time of one thread and more wall time (pipeline.ts,
 * decide-only); with --out, at load 0.8 (session 11), the bundle took 1.25 s with 1 worker and 1.37 s with
 * 2 (the tsc build 1.31 / 1.30 s), and at load 5-6 two workers were slower in 4 of 4 alternating pairs
 * (2.47-4.11 s vs 3.40-4.36 s wall, 1.75-2.12 vs 2.52-2.72 s CPU); with --verdicts too 1.93 vs 1.88 s
 * (a tie). A second thread pays a cache-line round trip of ~1.1 us between the cores and each decided slot
 * posted across; on two shared cores it costs more than it gives. Beyond 2 cores the cores, unmeasured here.
 */
export function defaultWorkers(trace: string, coresGiven?: number): number {
  if (trace === '') return 1; // before os is asked: the lesson's start-up loads no os (test/bundle-lazy)
  const cores = coresGiven ?? os.availableParallelism();
  if (cores <= 2) return 1;
  if (trace !== '-') {
    const st = fs.statSync(trace, { throwIfNoEntry: false });
    if (st !== undefined && st.isFile() && st.size < SMALL_TRACE_BYTES) return 1;
  }
  return cores;
}

/** The summary (JSON or text; the embedded lesson's story and table around it) through `say`. */
function printOutcome(outcome: ReplayOutcome, opts: ReplayOptions, embedded: boolean, say: (text: string) => void): void {
  if (opts.summary === 'json') {
    say(jsonSafe(JSON.stringify(outcome.summary)) + '\n');
    return;
  }
  if (embedded) {
    const s = lessonScenario();
    say(`${s.name}\n\n${s.about}\n`);
    // the table is read back from the verdict file: not when that went to a stream or a device
    if (opts.verdicts !== undefined && fs.statSync(opts.verdicts, { throwIfNoEntry: false })?.isFile() === true) say(lessonTable(opts.verdicts));
  }
  say(summaryText(outcome.summary));
  if (embedded) {
    // the paths written, as given on the command line or defaulted under vfp-out/ (defaultScenarioOptions)
    const outputs = [opts.verdicts, opts.out, opts.report].filter((p): p is string => p !== undefined);
    say(`\noutputs: ${outputs.map(safeText).join(', ')}\n`);
    say(`step by step: ${safeText(explainCommand(opts.trace, 1, opts))}\n`);
  }
}
