/**
 * Summaries of several traces as one (issue 12, "Many captures at once"): what `vfp-emu replay A B C`
 * prints and what `vfp-emu merge a.json b.json c.json` prints are built here by the same function
 * (`mergeSummaries`), so that merging the summaries of runs made elsewhere (another machine, one
 * Kubernetes Job pod per node) gives what one run over all those traces gives.
 *
 * The merged summary is the single-trace summary (DESIGN.md, CONTRACT: `--summary json`) with the same
 * fields meaning the same thing over all traces, plus (extensions):
 * - `fingerprint`: what must be equal for counts to be added up (below);
 * - `traces`: one entry per trace, in the order of the command line (a folder's or a glob's captures sorted
 *   by name), each with its own `trace` (the path as given), `packets`, `verdicts`, `reasons`, `warnings`,
 *   `services`, `flows_evicted`, `elapsed_s`, `pps`, and `error` when that trace was bad input;
 * - `failing_flows` (issue 13): every part's failing flows as one list (src/report/failing-summary.ts
 *   `mergeFailing`: each entry names its trace; flows and packets added; the first 1000 in one order);
 * - `nodes` (issue 13): packets per node and verdict, added up (`mergeNodes`).
 * - `capture_lost` (issue 13, a `vfp-emu live` summary's: src/commands/live.ts LiveSummary): what the captures
 *   lost before the engine saw them, `queue_full` and `truncated` each added up over the inputs; present only
 *   when some input has it, as one live run's summary has it only when it lost packets.
 * Totals: counts are added; `reasons` and `warnings` in reason id order (as counters.ts prints one trace);
 * `services` and their backends in order of first appearance over the traces; `diagnostics` are the union of
 * the runs' (same cluster, so usually the same list), duplicates dropped; `interrupted` is the first
 * interrupted trace's signal. `elapsed_s` is the run's wall time for a multi-trace replay, and for `merge`
 * the sum of the merged runs' times (as if run one after another); `pps` is packets / elapsed_s. These two
 * are timings: the only fields in which a merge and one run over the same traces differ.
 *
 * The fingerprint (added to every replay summary): `version` (package.json), `cluster` (SHA-256 over the
 * SHA-256 of each --cluster file's bytes, in command-line order: the same files in the same order, whatever
 * their paths; hashed as cluster/load.ts read them, never read again; a multi-trace run stopped before any
 * trace started read no file and hashes none), `windows` (the --windows profile as given, default ws2022), `seed`, `view`, `vxlan_ports`
 * (sorted). A summary without one, or whose fingerprint differs from the first's, is refused by `merge`
 * naming the file and the field (exit 2).
 */
import { mergePktmon, type PktmonSummary } from '../report/pktmon';
import { createHash } from 'node:crypto';
import type { Diagnostic } from '../cluster/model';
import { reasonId, VERDICT_NAMES } from '../vfp/reasons';
import type { ReplaySummary } from './replay';
import { mergeFailing, mergeNodes } from '../report/failing-summary';

export interface Fingerprint {
  version: string;
  cluster: string;
  windows: string;
  seed: number;
  view: string;
  vxlan_ports: number[];
  /**
   * (Extension, issue 13.) `--pktmon-component` when given (src/io/pktmon.ts): it picks which appearance of
   * a pktmon packet is judged, so it changes verdicts; absent without the flag (the summaries made without it are unchanged).
   * The component it resolved to in the trace (its if_name, else its if_description: replay.ts, io/pktmon.ts
   * `pktmonResolvedComponent`), so `2` and that component's name are one view; from stdin or a FIFO the same, resolved
   * in the interfaces its reader read (io/pktmon.ts `takeStreamComponents`); the flag's text only when nothing names it.
   */
  pktmon_component?: string;
}

export const FINGERPRINT_KEYS = ['version', 'cluster', 'windows', 'seed', 'view', 'vxlan_ports', 'pktmon_component'] as const;

/** One trace's counts in a merged summary (`traces[]`). */
export interface TraceSummary {
  trace: string;
  packets: number;
  interrupted?: ReplaySummary['interrupted'];
  stdout_closed?: true;
  error?: string;
  verdicts: Record<string, number>;
  reasons: Record<string, number>;
  warnings: Record<string, number>;
  services: ReplaySummary['services'];
  flows_evicted: number;
  flow_share_limit?: number;
  /** (Issue 13.) This trace's pktmon part, when it is a pktmon capture (src/report/pktmon.ts). */
  pktmon?: PktmonSummary;
  elapsed_s: number;
  pps: number;
}

/** What a live capture lost before the engine saw it (src/commands/live.ts LiveSummary `capture_lost`). */
export interface CaptureLost {
  queue_full: number;
  truncated: number;
}

/** The summary of several traces (see the module comment). */
export type MultiSummary = Omit<ReplaySummary, 'trace' | 'error' | 'fingerprint'> & { fingerprint: Fingerprint; traces: TraceSummary[]; capture_lost?: CaptureLost };

/** The project's version (package.json), as `--version` prints it. */
export function emuVersion(): string {
  return (require('../../../package.json') as { version: string }).version;
}

/**
 * The fingerprint of a run (see the module comment). `digests`: each --cluster file's SHA-256 in hex, hashed
 * as loadClusterFiles (cluster/load.ts) read it, never by opening the file again (stdin, a FIFO).
 */
export function fingerprintOf(o: { windows?: string; seed: number; view: string; vxlanPorts: number[]; pktmonComponent?: string }, digests: readonly string[]): Fingerprint {
  const all = createHash('sha256');
  for (const d of digests) all.update(d + '\n');
  return {
    version: emuVersion(),
    cluster: all.digest('hex'),
    windows: o.windows ?? 'ws2022',
    seed: o.seed,
    view: o.view,
    vxlan_ports: [...o.vxlanPorts].sort((a, b) => a - b),
    ...(o.pktmonComponent !== undefined ? { pktmon_component: o.pktmonComponent } : {}),
  };
}

/** One trace's entry, from a single-trace summary. */
export function traceEntry(s: ReplaySummary): TraceSummary {
  return {
    trace: s.trace ?? '',
    packets: s.packets,
    ...(s.interrupted !== undefined ? { interrupted: s.interrupted } : {}),
    ...(s.stdout_closed === true ? { stdout_closed: true as const } : {}),
    ...(s.error !== undefined ? { error: s.error } : {}),
    verdicts: s.verdicts,
    reasons: s.reasons,
    warnings: s.warnings,
    services: s.services,
    flows_evicted: s.flows_evicted,
    ...(s.flow_share_limit !== undefined ? { flow_share_limit: s.flow_share_limit } : {}),
    ...(s.pktmon !== undefined ? { pktmon: s.pktmon } : {}),
    elapsed_s: s.elapsed_s,
    pps: s.pps,
  };
}

/** A summary to merge: one trace's (ReplaySummary) or several traces' (MultiSummary). */
export type AnySummary = ReplaySummary | MultiSummary;

function tracesOf(s: AnySummary): TraceSummary[] {
  return 'traces' in s && Array.isArray(s.traces) ? s.traces : [traceEntry(s as ReplaySummary)];
}

/**
 * Summaries (already checked to share `fingerprint`) as one. `elapsed` is the wall time of a multi-trace run;
 * undefined (merge): the sum of the summaries' own elapsed_s.
 */
export function mergeSummaries(parts: readonly AnySummary[], fingerprint: Fingerprint, elapsed?: number): MultiSummary {
  const traces = parts.flatMap(tracesOf);
  let packets = 0;
  let evicted = 0;
  const verdicts = Object.fromEntries(VERDICT_NAMES.map((v) => [v, 0])) as Record<string, number>;
  // null-prototype maps: a code, service or backend named `__proto__` is counted as any other name
  const reasons: Record<string, number> = Object.create(null) as Record<string, number>;
  const warnings: Record<string, number> = Object.create(null) as Record<string, number>;
  const services: ReplaySummary['services'] = Object.create(null) as ReplaySummary['services'];
  for (const t of traces) {
    packets += t.packets;
    evicted += t.flows_evicted;
    for (const v of VERDICT_NAMES) verdicts[v] += t.verdicts[v] ?? 0;
    addCounts(reasons, t.reasons);
    addCounts(warnings, t.warnings);
    for (const [svc, { backends }] of Object.entries(t.services)) addCounts((services[svc] ??= { backends: Object.create(null) as Record<string, number> }).backends, backends);
  }
  const interrupted = traces.find((t) => t.interrupted !== undefined)?.interrupted;
  const shareLimit = traces.find((t) => t.flow_share_limit !== undefined)?.flow_share_limit;
  const secs = elapsed ?? parts.reduce((sum, p) => sum + p.elapsed_s, 0);
  return {
    packets,
    ...(interrupted !== undefined ? { interrupted } : {}),
    ...(traces.some((t) => t.stdout_closed === true) ? { stdout_closed: true as const } : {}),
    verdicts: verdicts as ReplaySummary['verdicts'],
    reasons: inReasonOrder(reasons),
    warnings: inReasonOrder(warnings),
    diagnostics: unionDiagnostics(parts.map((p) => p.diagnostics)),
    services: plainServices(services),
    flows_evicted: evicted,
    ...(evicted > 0 && shareLimit !== undefined ? { flow_share_limit: shareLimit } : {}),
    elapsed_s: Math.round(secs * 1e6) / 1e6,
    pps: secs > 0 ? Math.round(packets / secs) : 0,
    fingerprint,
    traces,
    nodes: mergeNodes(parts.map((p) => p.nodes)),
    failing_flows: mergeFailing(parts.map((p) => p.failing_flows)),
    ...pktmonOf(traces),
    ...captureLostOf(parts),
  };
}

/**
 * What the capture lost, in words ('' when nothing): live's rolling view and text summary (live.ts), and
 * `merge --summary text` of live summaries (the `Capture: ` line, captureLostLine).
 */
export function captureLostText(l: CaptureLost): string {
  const lost: string[] = [];
  if (l.queue_full > 0) lost.push(`${l.queue_full} packets lost: capture queue full (captured faster than they were judged; not in the outputs)`);
  if (l.truncated > 0) lost.push(`${l.truncated} packets cut to cap's 65535-byte buffer`);
  return lost.join('; ');
}

/** The text summary's closing line on what the capture lost ('' when nothing or absent). */
export function captureLostLine(l: CaptureLost | undefined): string {
  const lost = l !== undefined ? captureLostText(l) : '';
  return lost !== '' ? `Capture: ${lost}\n` : '';
}

/** `{capture_lost}` added up over the summaries that have one (a live run's that lost packets), or nothing. */
function captureLostOf(parts: readonly AnySummary[]): { capture_lost?: CaptureLost } {
  const lost = parts.flatMap((p) => {
    const l = (p as { capture_lost?: CaptureLost }).capture_lost;
    return l !== undefined ? [l] : [];
  });
  if (lost.length === 0) return {};
  return { capture_lost: { queue_full: lost.reduce((n, l) => n + l.queue_full, 0), truncated: lost.reduce((n, l) => n + l.truncated, 0) } };
}

/** `{pktmon}` added up over the traces that have one (src/report/pktmon.ts `mergePktmon`), or nothing. */
function pktmonOf(traces: readonly TraceSummary[]): { pktmon?: PktmonSummary } {
  const parts = traces.flatMap((t) => (t.pktmon !== undefined ? [t.pktmon] : []));
  return parts.length > 0 ? { pktmon: mergePktmon(parts) } : {};
}

/** The services as plain objects again (Object.fromEntries defines `__proto__` as an own field), in the same order. */
function plainServices(services: ReplaySummary['services']): ReplaySummary['services'] {
  return Object.fromEntries(Object.entries(services).map(([svc, { backends }]) => [svc, { backends: Object.fromEntries(Object.entries(backends)) }]));
}

function addCounts(into: Record<string, number>, from: Record<string, number>): void {
  for (const [k, n] of Object.entries(from)) into[k] = (into[k] ?? 0) + n;
}

/** Codes in reason id order (counters.ts `byCode`); a code this build does not know goes last, by name. */
function inReasonOrder(counts: Record<string, number>): Record<string, number> {
  const rank = (c: string): number => (reasonId(c) > 0 ? reasonId(c) : Number.MAX_SAFE_INTEGER);
  const codes = Object.keys(counts).sort((a, b) => rank(a) - rank(b) || (a < b ? -1 : a > b ? 1 : 0));
  return Object.fromEntries(codes.map((c) => [c, counts[c]]));
}

function unionDiagnostics(lists: readonly Diagnostic[][]): Diagnostic[] {
  const seen = new Set<string>();
  const out: Diagnostic[] = [];
  for (const list of lists) {
    for (const d of list) {
      const key = JSON.stringify(d);
      if (!seen.has(key)) {
        seen.add(key);
        out.push(d);
      }
    }
  }
  return out;
}

/** The first fingerprint field in which `b` differs from `a`, or null when they are equal. */
export function fingerprintDiff(a: Fingerprint, b: Fingerprint): (typeof FINGERPRINT_KEYS)[number] | null {
  for (const k of FINGERPRINT_KEYS) if (JSON.stringify(a[k]) !== JSON.stringify(b[k])) return k;
  return null;
}
