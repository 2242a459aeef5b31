/**
 * `vfp-emu replay` over several traces (issue 12, "Many captures at once"): files, folders or glob patterns
 * (trace-list.ts). Each trace is one node's or one window's traffic: it is replayed alone, with its own
 * Dataplane state, by the single-trace replay as it is (multi-job.ts). The traces run in parallel, one
 * thread per trace at a time, up to `--workers` threads (default: the cores available; the main thread is one
 * of them, the others are worker threads); with
 * `--workers 1`, or one trace, on the main thread one after another. A trace that is given fewer threads than
 * `--workers` (more threads than traces) gets the rest for its own pipeline: floor(workers / traces).
 *
 * Outputs:
 * - one summary over all traces (summary-merge.ts: the single-trace fields as totals, `traces` per trace,
 *   `fingerprint`), as text or `--summary json`; one `--report FILE`. It is what `vfp-emu merge` of the
 *   single runs' summaries gives (save timings): the fingerprint is the whole traces' (`runFingerprint`:
 *   `pktmon_component` resolved in them); when they were judged at different pktmon components, every group
 *   is named and none is in the totals (`splitText`, exit 2), where merge refuses their summaries;
 * - per-trace outputs: `--out DIR` and `--verdicts DIR` name folders (made when missing, their parent must
 *   exist) that get `DIR/<name>.pcapng` and `DIR/<name>.jsonl`, `<name>` the trace's file name without
 *   `.pcap`, `.pcapng` or `.cap`. Two traces with the same name are refused naming both (rename one). Every
 *   path is checked before anything runs as for one trace (output-paths.ts): an output that is an input or
 *   another output is refused; an existing file of that name that is no input is replaced whole, as
 *   `--out FILE` replaces it. `/dev/stdout` cannot be a folder; `--report /dev/stdout` is allowed.
 * - Each file ends whole even when the run is cut short (SIGINT/SIGTERM: the traces running end at the same
 *   packet boundary their pipeline stops at; the traces not started are left out of the summary).
 * Exit status, as for one trace: 130/143 when interrupted, else 2 when a trace was bad input (the other traces
 *   still run; everything before the fault is counted), else 1 when `--fail-on` matches the merged totals,
 *   else 0. The summary's bytes, the outputs' bytes and the report's are the same for every `--workers`
 *   (results are put in trace order, whatever order the threads finish in), save elapsed_s and pps.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { UsageError } from '../core/errors';
import { checkClusterFile } from '../cluster/load';
import { jsonSafe, safeMessage, safeText } from '../core/safe-text';
import { writeStdout, StdoutClosed } from '../core/stdout';
import { AtomicOutput } from '../pipeline/output-files';
import { signalStatus, stopOnSignals, type StopSignal } from '../pipeline/stop';
import { resolveProfile } from '../vfp/profile';
import { VERDICT_NAMES } from '../vfp/reasons';
import { checkOutputPaths, standardStream } from './output-paths';
import { failOnIds, failOnText, isHtmlReport, summaryText, type ReplayOptions, type ReplaySummary } from './replay';
import { runTraceJob, fatalData, fatalError, loadShared, PER_RUN_KEYS, type JobResult, type SharedLoad, type SharedOptions, type TraceJob, type WorkerData } from './multi-job';
import { fingerprintDiff, fingerprintOf, mergeSummaries, type Fingerprint, type MultiSummary } from './summary-merge';
import { outputStem } from './trace-list';

/**
 * Per-trace jobs with their output paths, checked, and the --out/--verdicts `folders` to make once every other
 * check passed too (so a refused command leaves no empty folder behind).
 */
export function planJobs(traces: readonly string[], opts: Pick<ReplayOptions, 'out' | 'verdicts' | 'report' | 'clusterFiles'>): { jobs: TraceJob[]; reportOnStdout: boolean; folders: string[] } {
  const byStem = new Map<string, string>();
  for (const t of traces) {
    const stem = outputStem(t);
    const other = byStem.get(stem);
    if (other !== undefined && (opts.out !== undefined || opts.verdicts !== undefined)) {
      throw new UsageError(`replay: traces ${other} and ${t} would both write outputs named ${stem}: rename one, or replay them separately`);
    }
    byStem.set(stem, t);
  }
  const made = new Map<string, string>(); // folders to make (resolved path -> flag), only once every check passed
  for (const k of ['out', 'verdicts'] as const) {
    const dir = opts[k];
    if (dir !== undefined && !outputFolder(`--${k}`, dir)) made.set(path.resolve(dir), `--${k}`);
  }
  const jobs = traces.map((trace, index) => ({
    index,
    trace,
    ...(opts.verdicts !== undefined ? { verdicts: path.join(opts.verdicts, `${outputStem(trace)}.jsonl`) } : {}),
    ...(opts.out !== undefined ? { out: path.join(opts.out, `${outputStem(trace)}.pcapng`) } : {}),
  }));
  const outputs = [
    ...jobs.flatMap((j) => [j.verdicts, j.out].filter((p): p is string => p !== undefined).map((p) => ({ what: j.out === p ? '--out' : '--verdicts', path: p }))),
    ...(opts.report !== undefined ? [{ what: '--report', path: opts.report }] : []),
  ];
  const inMade = (p: string): boolean => made.has(path.resolve(path.dirname(p)));
  const plan = checkOutputPaths(
    [...traces.map((t) => ({ what: 'the trace', path: t })), ...opts.clusterFiles.map((f) => ({ what: '--cluster', path: f }))],
    [...outputs.filter((o) => !inMade(o.path)), ...[...made].map(([dir, what]) => ({ what, path: dir }))],
  );
  refuseSameNew(outputs.filter((o) => inMade(o.path)));
  return { jobs, reportOnStdout: plan.stdout !== null, folders: [...made.keys()] };
}

/** Outputs in folders not made yet (so no input is there): two of them with the same path are refused. */
function refuseSameNew(outputs: readonly { what: string; path: string }[]): void {
  const seen = new Map<string, { what: string; path: string }>();
  for (const o of outputs) {
    const other = seen.get(path.resolve(o.path));
    if (other !== undefined) throw new UsageError(`${o.what} ${o.path} is the same file as ${other.what} ${other.path}: refusing to overwrite it`);
    seen.set(path.resolve(o.path), o);
  }
}

/** An --out or --verdicts folder of a multi-trace run: true when it exists; false when missing (planJobs makes it, not its parents). */
function outputFolder(flag: string, dir: string): boolean {
  if (standardStream(dir) !== null) throw new UsageError(`replay ${flag} ${dir}: with several traces ${flag} names a folder (one file per trace), not a stream`);
  const st = fs.statSync(dir, { throwIfNoEntry: false });
  if (st !== undefined && !st.isDirectory()) throw new UsageError(`replay ${flag} ${dir}: with several traces ${flag} names a folder (one file per trace), and this is a file`);
  return st !== undefined;
}

interface MultiOutcome {
  summary: MultiSummary;
  status: number;
  errors: string[];
  /** The first packet that matched --fail-on, in the first trace that had one. */
  first: { trace: string; packet: number } | null;
}

/** Runs the jobs (see the module comment) and merges their summaries; writes the report. */
export async function replayMany(opts: ReplayOptions, jobs: readonly TraceJob[], stop: AbortSignal): Promise<MultiOutcome> {
  failOnIds(opts.failOn); // a bad --fail-on is bad usage before anything runs
  resolveProfile(opts.windows); // a bad --windows is bad usage before anything runs
  const threads = Math.min(opts.workers, jobs.length);
  const shared: SharedOptions = { ...sharedOptions(opts), workers: Math.max(1, Math.floor(opts.workers / jobs.length)) };
  const t0 = process.hrtime.bigint();
  const results = threads <= 1 ? await runHere(shared, jobs, stop) : await runInWorkers(shared, jobs, threads, stop);
  const elapsed = Number(process.hrtime.bigint() - t0) / 1e9;
  const summaries: ReplaySummary[] = [];
  const errors: string[] = [];
  const groups = wholeGroups(results, jobs);
  const split = groups.length > 1 ? splitText(groups) : null;
  const fingerprint = runFingerprint(results, groups, opts);
  const kept: JobResult[] = []; // the replayed traces whose summaries are in the totals
  for (const r of results) {
    if (r === undefined) continue; // not started: the run was stopped
    if (r.type === 'fatal') throw fatalError(r.fatal);
    // a trace that could not be opened, or a whole one when the whole ones were judged at different pktmon components: out of the totals
    const left = r.type === 'trace-error' ? r.message : split !== null && isWhole(r) ? `${jobs[r.index].trace}: left out of the totals: ${split}` : null;
    if (r.type === 'trace-error') errors.push(r.message);
    else if (r.summary.error !== undefined) errors.push(r.summary.error);
    summaries.push(r.type === 'done' && left === null ? r.summary : unopened(jobs[r.index].trace, left as string));
    if (r.type === 'done' && left === null) kept.push(r);
  }
  if (split !== null) errors.push(split);
  const summary = mergeSummaries(summaries, fingerprint, elapsed);
  const status = summary.interrupted !== undefined ? signalStatus(summary.interrupted) : errors.length > 0 ? 2 : failOnMatched(summary, opts.failOn) ? 1 : 0;
  // the first trace (in command-line order) in the totals with a packet that matched --fail-on, and that packet
  // (a trace left out of the totals decides no --fail-on: its packet is not the one that made the run fail)
  const hit = kept.find((r) => r.type === 'done' && r.failFirst > 0);
  const first = hit?.type === 'done' ? { trace: jobs[hit.index].trace, packet: hit.failFirst } : null;
  if (opts.report !== undefined) {
    if (isHtmlReport(opts.report)) {
      const { htmlReport } = await import('../report/html');
      // the cluster this run loaded (memoised on this thread; failing flows mean it loaded): never read again
      const cluster = (summary.failing_flows?.list.length ?? 0) > 0 ? loadShared(shared).cluster : undefined;
      AtomicOutput.writeFile(opts.report, htmlReport(summary.traces.map((t) => t.trace), summary, opts, errors, cluster));
    } else AtomicOutput.writeFile(opts.report, multiReportText(summary, opts, errors));
  }
  return { summary, status, errors, first };
}

/**
 * The options every job gets: `opts` without the per-trace keys (multi-job.ts PER_RUN_KEYS), so that no option (such as --all-nodes) can be
 * left out by a list of the shared ones. Only values a worker thread can receive (structured clone) remain.
 */
export function sharedOptions(opts: ReplayOptions): SharedOptions {
  const shared: Record<string, unknown> = { ...opts };
  for (const k of PER_RUN_KEYS) delete shared[k];
  return shared as SharedOptions;
}

/** The fingerprint a job's result carries (a fatal one, or a job not started: none). */
function fingerprintIn(r: JobResult | undefined): Fingerprint | undefined {
  return r?.type === 'done' ? r.summary.fingerprint : r?.type === 'trace-error' ? r.fingerprint : undefined;
}

/** A trace replayed whole: without an error, with the fingerprint its run resolved. */
function isWhole(r: JobResult | undefined): r is Extract<JobResult, { type: 'done' }> {
  return r?.type === 'done' && r.summary.error === undefined && r.summary.fingerprint !== undefined;
}

/**
 * The traces replayed whole, grouped by fingerprint (in command-line order): one group when they agree. Only
 * `pktmon_component` can differ: `--pktmon-component 0` names another component in another node's capture.
 */
function wholeGroups(results: readonly (JobResult | undefined)[], jobs: readonly TraceJob[]): { fp: Fingerprint; traces: string[] }[] {
  const groups: { fp: Fingerprint; traces: string[] }[] = [];
  for (const r of results) {
    if (!isWhole(r)) continue;
    const fp = r.summary.fingerprint as Fingerprint;
    const g = groups.find((x) => fingerprintDiff(x.fp, fp) === null);
    if (g !== undefined) g.traces.push(jobs[r.index].trace);
    else groups.push({ fp, traces: [jobs[r.index].trace] });
  }
  return groups;
}

/**
 * The error of a run whose whole traces were judged at different pktmon components: every group named (each
 * component and its traces). No group is favoured (neither the first trace's nor the most traces'): their
 * counts do not add up, so none is in the totals (exit 2), as `vfp-emu merge` refuses such summaries; each
 * trace's own output files are written.
 */
function splitText(groups: readonly { fp: Fingerprint; traces: string[] }[]): string {
  const k = fingerprintDiff(groups[0].fp, groups[1].fp) as keyof Fingerprint;
  const each = groups.map((g) => `${JSON.stringify(g.fp[k])} in ${g.traces.join(', ')}`).join('; ');
  return `fingerprint.${k} differs between the traces: ${each}: their counts were judged at different pktmon components and none is added to the totals (vfp-emu merge refuses such summaries too); give --pktmon-component by name, or replay each group apart`;
}

/**
 * The merged summary's fingerprint: the one of the traces that were replayed whole (without an error), whose
 * `pktmon_component` is the component `--pktmon-component` resolved to in them (replay.ts), as `vfp-emu merge`
 * of the single runs' summaries has it. When they disagree (`groups`, splitText), that key is the options'
 * (the flag's text: it resolved to no one component). With none whole: the first trace's that has one (a bad
 * trace: the flag's text, nothing resolved; a trace that could not be opened still had the cluster loaded);
 * else the options' (the run was stopped before any trace started: no file read).
 */
function runFingerprint(results: readonly (JobResult | undefined)[], groups: readonly { fp: Fingerprint; traces: string[] }[], opts: ReplayOptions): Fingerprint {
  if (groups.length > 1) {
    const k = fingerprintDiff(groups[0].fp, groups[1].fp) as keyof Fingerprint;
    return { ...groups[0].fp, [k]: fingerprintOf(opts, [])[k] };
  }
  return groups[0]?.fp ?? results.map(fingerprintIn).find((f) => f !== undefined) ?? fingerprintOf(opts, []);
}

/** The entry of a trace that could not be opened: no packet, its error. */
function unopened(trace: string, message: string): ReplaySummary {
  return {
    packets: 0,
    verdicts: Object.fromEntries(VERDICT_NAMES.map((v) => [v, 0])) as ReplaySummary['verdicts'],
    reasons: {},
    warnings: {},
    diagnostics: [],
    services: {},
    flows_evicted: 0,
    elapsed_s: 0,
    pps: 0,
    trace,
    error: message,
  };
}

/** `--fail-on` over the merged totals: a verdict, reason or warning named there counted at least once. */
function failOnMatched(s: MultiSummary, failOn: readonly string[]): boolean {
  return failOn.some((f) => ((s.verdicts as Record<string, number>)[f] ?? 0) > 0 || (s.reasons[f] ?? 0) > 0 || (s.warnings[f] ?? 0) > 0);
}

/** The jobs one after another on this thread; none after a fatal fault or a stop. */
async function runHere(shared: SharedOptions, jobs: readonly TraceJob[], stop: AbortSignal): Promise<(JobResult | undefined)[]> {
  const out: (JobResult | undefined)[] = new Array<JobResult | undefined>(jobs.length).fill(undefined);
  for (const job of jobs) {
    if (stop.aborted) break;
    const r = await runTraceJob(shared, job, stop);
    out[job.index] = r;
    if (r.type === 'fatal') break;
  }
  return out;
}

/**
 * The order the threads take the jobs in: the largest trace file first (a trace that is no regular file, or
 * cannot be stat'ed, counts as 0 bytes), then command-line order. A trace is the smallest unit of work (its
 * state is its own), so the run ends when the last thread ends its last trace: with the long ones taken first,
 * the ones left for the end are short and the threads end close together (longest processing time first).
 * Only the order of the work changes: results are put in trace order (the outputs' bytes are the same).
 */
export function jobOrder(jobs: readonly TraceJob[]): TraceJob[] {
  const size = (file: string): number => {
    const st = fs.statSync(file, { throwIfNoEntry: false });
    return st !== undefined && st.isFile() ? st.size : 0;
  };
  const sizes = new Map(jobs.map((j) => [j.index, size(j.trace)]));
  return [...jobs].sort((a, b) => (sizes.get(b.index) ?? 0) - (sizes.get(a.index) ?? 0) || a.index - b.index);
}

/**
 * The jobs on `threads` threads, the next job (jobOrder) to the first thread free: this thread is one of them
 * (it has the modules loaded already), `threads - 1` worker threads (multi-worker-loop.ts) the others. The
 * workers are started first, so that their start-up (about 50 ms of CPU for Node's own, then main.js with
 * its code cache in the bundle) runs while this thread loads the --cluster files, once for all threads
 * (multi-job.ts loadShared); each worker gets that cluster with its first job. A cluster that cannot be
 * loaded is the first job's fatal fault, as on one thread. This thread takes the first job (the workers
 * are still starting), and its replays let the event loop turn (pipeline.ts Pacer), so that the workers get
 * their next job meanwhile.
 */
async function runInWorkers(shared: SharedOptions, jobs: readonly TraceJob[], threads: number, stop: AbortSignal): Promise<(JobResult | undefined)[]> {
  const out: (JobResult | undefined)[] = new Array<JobResult | undefined>(jobs.length).fill(undefined);
  const data: WorkerData = { shared };
  const workers = Array.from({ length: threads - 1 }, () => new Worker(path.join(__dirname, 'multi-worker.js'), { workerData: data }));
  const onStop = (): void => {
    for (const w of workers) w.postMessage({ type: 'stop', sig: stop.reason as string });
  };
  stop.addEventListener('abort', onStop);
  try {
    let loaded: SharedLoad;
    try {
      loaded = loadShared(shared);
    } catch (e) {
      out[jobs[0].index] = { type: 'fatal', index: jobs[0].index, fatal: fatalData(e) };
      return out;
    }
    await runLanes(shared, jobOrder(jobs), workers, loaded, stop, out);
  } finally {
    stop.removeEventListener('abort', onStop);
    for (const w of workers) void w.terminate();
  }
  return out;
}

/** Hands out `queue` to this thread and `workers` until it is empty, a job is fatal or the run is stopped; results into `out`. */
async function runLanes(shared: SharedOptions, queue: readonly TraceJob[], workers: readonly Worker[], loaded: SharedLoad, stop: AbortSignal, out: (JobResult | undefined)[]): Promise<void> {
  let next = 0;
  let ended = false;
  const take = (): TraceJob | undefined => (ended || stop.aborted || next >= queue.length ? undefined : queue[next++]);
  const put = (r: JobResult): void => {
    out[r.index] = r;
    if (r.type === 'fatal') ended = true;
  };
  const workerLane = (w: Worker): Promise<void> =>
    new Promise((resolve, reject) => {
      let first = true;
      const give = (): void => {
        const job = take();
        if (job === undefined) resolve();
        else w.postMessage({ type: 'run', job, ...(first ? { loaded } : {}) });
        first = false;
      };
      w.on('message', (r: JobResult) => {
        put(r);
        give();
      });
      w.on('error', (e) => {
        ended = true;
        reject(e);
      });
      give();
    });
  const localLane = async (): Promise<void> => {
    for (let job = take(); job !== undefined; job = take()) put(await runTraceJob(shared, job, stop));
  };
  await Promise.all([localLane(), ...workers.map(workerLane)]);
}

/** Per-trace lines under the merged text summary. */
export function tracesText(s: MultiSummary): string {
  const lines = [`per trace (${s.traces.length}):`];
  for (const t of s.traces) {
    const counts = VERDICT_NAMES.map((v) => `${v} ${t.verdicts[v] ?? 0}`).join(', ');
    const tail = t.error !== undefined ? `; input error: ${safeText(t.error)}` : t.interrupted !== undefined ? `; interrupted (${t.interrupted})` : '';
    lines.push(`  ${safeText(t.trace)}: ${t.packets} packets (${counts})${tail}`);
  }
  return lines.join('\n') + '\n';
}

/** The merged summary as text: the totals as for one trace, then one line per trace. */
export function multiSummaryText(s: MultiSummary): string {
  return summaryText(s, true) + tracesText(s);
}

function multiReportText(s: MultiSummary, opts: ReplayOptions, errors: readonly string[]): string {
  const head = [
    'vfp-emu replay report',
    `traces: ${s.traces.map((t) => safeText(t.trace)).join(', ')}`,
    `cluster: ${opts.clusterFiles.map(safeText).join(', ')}`,
    `windows profile: ${resolveProfile(opts.windows).name}, seed ${opts.seed}, view ${opts.view}`,
    '',
  ];
  for (const e of errors) head.push(`input error (everything before it was replayed): ${safeText(e)}`);
  if (errors.length > 0) head.push('');
  return head.join('\n') + multiSummaryText(s);
}

/**
 * The command for several traces: prints the merged summary (text, or `--summary json`) and each trace's
 * input error on stderr; returns the exit status (see the module comment).
 */
export async function runMultiReplayCommand(opts: ReplayOptions, traces: readonly string[], workersGiven: boolean): Promise<number> {
  const all: ReplayOptions = { ...opts, workers: workersGiven ? opts.workers : os.availableParallelism() };
  if (!Number.isInteger(all.workers) || all.workers < 1) throw new UsageError(`--workers ${all.workers}: give a whole number of worker threads, 1 or more`);
  const { jobs, reportOnStdout, folders } = planJobs(traces, all);
  if (reportOnStdout && all.summary !== undefined) {
    throw new UsageError(`--report ${all.report} and --summary ${all.summary} both write stdout: give one of them a file, or drop --summary`);
  }
  failOnIds(all.failOn); // bad usage before anything is made or run
  resolveProfile(all.windows);
  all.clusterFiles.forEach(checkClusterFile); // a missing or unreadable one too (the threads load them)
  for (const dir of folders) fs.mkdirSync(dir); // last, after every check (the parent's existence was checked)
  const stop = stopOnSignals();
  let outcome: MultiOutcome;
  try {
    outcome = await replayMany(all, jobs, stop.signal);
  } finally {
    stop.dispose();
  }
  // stdout carries one thing: with --report /dev/stdout the text summary goes to stderr (as for one trace)
  const say = reportOnStdout ? (text: string): void => void process.stderr.write(text) : writeStdout;
  try {
    if (all.quiet !== true) say(all.summary === 'json' ? jsonSafe(JSON.stringify(outcome.summary)) + '\n' : multiSummaryText(outcome.summary));
  } catch (e) {
    if (!(e instanceof StdoutClosed)) throw e;
  }
  for (const e of outcome.errors) process.stderr.write(`vfp-emu: ${safeMessage(e)}\n`);
  if (outcome.status === 1 && all.quiet !== true) process.stderr.write(failOnText(outcome.summary, all, outcome.first));
  const sig: StopSignal | undefined = outcome.summary.interrupted;
  if (sig !== undefined && all.quiet !== true) process.stderr.write(`vfp-emu: interrupted (${sig}) after ${outcome.summary.packets} packets; the outputs hold them whole\n`);
  return outcome.status;
}
