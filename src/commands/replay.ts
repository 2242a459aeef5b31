/**
 * `vfp-emu replay`: trace -> reader -> decode -> VFP engine -> verdicts, output trace, summary, report.
 *
 * One batch at a time (bounded memory whatever the trace size): the reader fills the batch, the decoder
 * fills its columns, the tuples as captured are kept (FlowSnapshot) only when verdict records are written,
 * the engine decides every packet and rewrites it in place, the batch is decoded again so the writers see
 * each packet as it leaves, and the writers append in input order. When the reader reports a bad file,
 * everything read before the fault is still judged, counted and written; then the error is printed and
 * the exit status is 2.
 *
 * With no TRACE it runs the embedded default scenario (traces/04-icmp-lesson) and writes its outputs
 * under ./vfp-out/ (verdicts.jsonl, out.pcapng, report.txt).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Batch } from '../core/batch';
import { InputError, UsageError } from '../core/errors';
import { flagInt, flagList, flagString, type ParsedArgs } from '../cli-args';
import { loadCluster } from '../cluster/load';
import { clusterDiagnostics } from '../cluster/diagnostics';
import type { Cluster, Diagnostic } from '../cluster/model';
import { decodeBatch, type DecodeOptions } from '../decode/decoder';
import { openCapture } from '../io/reader';
import { OutTrace } from '../output/out-trace';
import { FlowSnapshot, verdictLines } from '../output/verdicts';
import { compileDataplane, type Dataplane } from '../vfp/engine';
import { resolveProfile } from '../vfp/profile';
import { reasonCode, reasonId, reasonSentence, REASON_COUNT, V, VERDICT_NAMES, warningIds } from '../vfp/reasons';
import { Results } from '../vfp/results';
import { loadScenario, tracesDir } from '../scenario/scenario';

export const DEFAULT_SCENARIO = '04-icmp-lesson';

export interface ReplayOptions {
  trace: string;
  clusterFiles: string[];
  verdicts?: string;
  out?: string;
  report?: string;
  summary?: 'text' | 'json';
  workers: number;
  windows?: string;
  seed: number;
  view: 'pod' | 'wire';
  failOn: string[];
  vxlanPorts: number[];
  /** Progress line on stderr (packets, rate, ETA); default: when stderr is a TTY. */
  progress?: boolean;
}

export interface ReplaySummary {
  packets: number;
  verdicts: Record<string, number>;
  reasons: Record<string, number>;
  warnings: Record<string, number>;
  diagnostics: Diagnostic[];
  services: Record<string, { backends: Record<string, number> }>;
  elapsed_s: number;
  pps: number;
}

export interface ReplayOutcome {
  summary: ReplaySummary;
  /** 0 done, 1 --fail-on matched, 2 the input was bad (after everything before the fault was written). */
  status: number;
  error: InputError | null;
  dataplane: Dataplane;
  cluster: Cluster;
}

/** Reads the cluster inputs and compiles them for the profile (shared by replay, explain, rules). */
export function prepareDataplane(
  clusterFiles: string[],
  opts: { windows?: string; seed: number; view: 'pod' | 'wire' },
): { cluster: Cluster; dataplane: Dataplane } {
  if (clusterFiles.length === 0) throw new UsageError('give the cluster with --cluster FILE (repeatable)');
  const profile = resolveProfile(opts.windows);
  const cluster = loadCluster(clusterFiles);
  const dataplane = compileDataplane(cluster, { profile, seed: opts.seed, view: opts.view });
  return { cluster, dataplane };
}

/** Runs the replay; writes the files it was asked for; never prints (the command does). */
export function replay(opts: ReplayOptions, progress?: (packets: number, elapsed: number) => void): ReplayOutcome {
  const { cluster, dataplane: dp } = prepareDataplane(opts.clusterFiles, opts);
  const profile = resolveProfile(opts.windows);
  const decodeOpts: DecodeOptions = { vxlanPorts: opts.vxlanPorts.length > 0 ? opts.vxlanPorts : undefined };
  const reader = openCapture(opts.trace);
  const batch = new Batch();
  const results = new Results(batch.capacity);
  const snap = opts.verdicts !== undefined ? new FlowSnapshot(batch.capacity) : null;
  const verdictFd = opts.verdicts !== undefined ? fs.openSync(opts.verdicts, 'w') : -1;
  const outTrace = opts.out !== undefined ? new OutTrace(opts.out, dp) : null;
  const verdictCounts = new Float64Array(5);
  const reasonCounts = new Float64Array(REASON_COUNT);
  const warningCounts = new Float64Array(REASON_COUNT);
  const backendCounts = new Map<number, number>();
  const failReasons = new Set<number>();
  const failVerdicts = new Set<number>();
  for (const f of opts.failOn) {
    const v = (VERDICT_NAMES as readonly string[]).indexOf(f);
    if (v >= 0) failVerdicts.add(v);
    else if (reasonId(f) > 0) failReasons.add(reasonId(f));
    else throw new UsageError(`--fail-on ${f}: not a verdict (${VERDICT_NAMES.join(', ')}) nor a reason code`);
  }
  let failed = false;
  const t0 = process.hrtime.bigint();
  let packets = 0;
  try {
    for (;;) {
      const n = reader.next(batch);
      if (n === 0) break;
      decodeBatch(batch, decodeOpts);
      if (snap !== null) snap.take(batch);
      dp.process(batch, results);
      if (snap !== null || outTrace !== null) decodeBatch(batch, decodeOpts);
      for (let i = 0; i < n; i++) {
        const v = results.verdict[i];
        const reason = results.reason[i];
        verdictCounts[v]++;
        reasonCounts[reason]++;
        let w = results.warnings[i];
        if (w !== 0) for (const id of warningIds(w)) warningCounts[id]++;
        if (results.service[i] >= 0 && results.backend[i] >= 0) {
          const key = results.service[i] * 0x100000 + results.backend[i];
          backendCounts.set(key, (backendCounts.get(key) ?? 0) + 1);
        }
        if (failVerdicts.has(v) || failReasons.has(reason)) failed = true;
        else if (w !== 0 && failReasons.size > 0) for (const id of warningIds(w)) if (failReasons.has(id)) failed = true;
        w = 0;
      }
      if (verdictFd >= 0 && snap !== null) fs.writeSync(verdictFd, verdictLines(batch, results, snap, dp));
      if (outTrace !== null) outTrace.writeBatch(batch, results, reader.interfaces);
      packets += n;
      if (progress) progress(packets, Number(process.hrtime.bigint() - t0) / 1e9);
    }
  } finally {
    reader.close();
    if (verdictFd >= 0) fs.closeSync(verdictFd);
    if (outTrace !== null) outTrace.close();
  }
  const elapsed = Number(process.hrtime.bigint() - t0) / 1e9;
  const summary: ReplaySummary = {
    packets,
    verdicts: Object.fromEntries(VERDICT_NAMES.map((name, k) => [name, verdictCounts[k]])),
    reasons: {},
    warnings: {},
    diagnostics: clusterDiagnostics(cluster, { maxLbDestinations: profile.maxLbDestinations, dsrSupported: profile.dsr }),
    services: {},
    elapsed_s: Math.round(elapsed * 1e6) / 1e6,
    pps: elapsed > 0 ? Math.round(packets / elapsed) : 0,
  };
  for (let id = 1; id < REASON_COUNT; id++) {
    if (reasonCounts[id] > 0) summary.reasons[reasonCode(id) as string] = reasonCounts[id];
    if (warningCounts[id] > 0) summary.warnings[reasonCode(id) as string] = warningCounts[id];
  }
  for (const [key, count] of [...backendCounts].sort((a, b) => a[0] - b[0])) {
    const svc = dp.serviceName(Math.floor(key / 0x100000)) ?? '?';
    const be = dp.backendName(key % 0x100000) ?? '?';
    (summary.services[svc] ??= { backends: {} }).backends[be] = count;
  }
  if (opts.report !== undefined) fs.writeFileSync(opts.report, reportText(summary, opts, reader.error));
  return { summary, status: reader.error !== null ? 2 : failed ? 1 : 0, error: reader.error, dataplane: dp, cluster };
}

/** The summary as text: what happened, and why, in the reference's words. */
export function summaryText(s: ReplaySummary): string {
  const lines: string[] = [];
  lines.push(`${s.packets} packets in ${s.elapsed_s.toFixed(3)} s (${s.pps} packets/s)`);
  lines.push('verdicts: ' + VERDICT_NAMES.map((v) => `${v} ${s.verdicts[v]}`).join(', '));
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
    for (const d of s.diagnostics) lines.push(`  ${d.code} [${d.source}]: ${d.message}`);
  }
  const svcs = Object.entries(s.services);
  if (svcs.length > 0) {
    lines.push('services (packets per backend):');
    for (const [name, { backends }] of svcs) {
      lines.push(`  ${name}: ` + Object.entries(backends).map(([b, n]) => `${b} ${n}`).join(', '));
    }
  }
  return lines.join('\n') + '\n';
}

function reportText(s: ReplaySummary, opts: ReplayOptions, error: InputError | null): string {
  const head = [
    'vfp-emu replay report',
    `trace: ${opts.trace}`,
    `cluster: ${opts.clusterFiles.join(', ')}`,
    `windows profile: ${resolveProfile(opts.windows).name}, seed ${opts.seed}, view ${opts.view}`,
    '',
  ];
  if (error !== null) head.push(`input error (everything before it was replayed): ${error.message}`, '');
  return head.join('\n') + summaryText(s);
}

function defaultScenarioOptions(o: ReplayOptions): ReplayOptions {
  const s = loadScenario(path.join(tracesDir(), DEFAULT_SCENARIO));
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

/** Progress on stderr: packets, rate, and (for files) an ETA from the bytes of the file. */
function progressPrinter(trace: string): (packets: number, elapsed: number) => void {
  let last = 0;
  let size = 0;
  try {
    size = trace === '-' ? 0 : fs.statSync(trace).size;
  } catch {
    size = 0;
  }
  return (packets, elapsed) => {
    if (elapsed - last < 0.5) return;
    last = elapsed;
    const rate = packets / elapsed;
    process.stderr.write(`\r${packets} packets, ${Math.round(rate)} packets/s${size > 0 ? `, ${(size / 1e6).toFixed(0)} MB file` : ''}   `);
  };
}

export async function runReplayCommand(a: ParsedArgs): Promise<number> {
  if (a.positional.length > 1) throw new UsageError(`replay takes at most one TRACE, got ${a.positional.length}`);
  let opts: ReplayOptions = {
    trace: a.positional[0] ?? '',
    clusterFiles: flagList(a, 'cluster'),
    verdicts: flagString(a, 'verdicts'),
    out: flagString(a, 'out'),
    report: flagString(a, 'report'),
    summary: flagString(a, 'summary') as 'text' | 'json' | undefined,
    workers: flagInt(a, 'workers', 1),
    windows: flagString(a, 'windows'),
    seed: flagInt(a, 'seed', 1),
    view: (flagString(a, 'view') ?? 'pod') as 'pod' | 'wire',
    failOn: flagList(a, 'fail-on'),
    vxlanPorts: flagList(a, 'vxlan-port').map(Number),
    progress: a.flags.has('progress') ? true : a.flags.has('no-progress') ? false : undefined,
  };
  const embedded = opts.trace === '';
  if (embedded) opts = defaultScenarioOptions(opts);
  const showProgress = opts.progress ?? process.stderr.isTTY === true;
  const outcome = replay(opts, showProgress ? progressPrinter(opts.trace) : undefined);
  if (showProgress) process.stderr.write('\n');
  if (opts.summary === 'json') process.stdout.write(JSON.stringify(outcome.summary) + '\n');
  else {
    if (embedded) {
      const s = loadScenario(path.join(tracesDir(), DEFAULT_SCENARIO));
      process.stdout.write(`${s.name}\n\n${s.about}\n`);
    }
    process.stdout.write(summaryText(outcome.summary));
    if (embedded) process.stdout.write(`\noutputs: vfp-out/verdicts.jsonl, vfp-out/out.pcapng, vfp-out/report.txt\n`);
  }
  if (outcome.error !== null) process.stderr.write(`vfp-emu: ${outcome.error.message}\n`);
  return outcome.status;
}
