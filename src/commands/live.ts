/**
 * `vfp-emu live --iface IF --cluster ...` (issue 13, "Live capture"): packets captured on a network
 * interface (src/io/live-source.ts, the npm package cap) judged as they come, through the replay's own
 * pipeline and engine (commands/replay.ts `replay` with `input`: pipeline.ts PipelineInput, the one-thread
 * InlineRunner; cap calls back on the main thread only), with replay's outputs (--verdicts, --out,
 * --report, --summary) and its stop machinery (src/pipeline/stop.ts): Ctrl-C or SIGTERM ends the capture,
 * the packets captured so far are judged and every output is closed whole (exit 130 / 143); a second one
 * ends at once, the unfinished outputs removed. `--count N` and `--duration S` end it by themselves.
 *
 * Batches: the pipeline takes the queued packets when 512 are queued (a batch) or 100 ms after the first of
 * them was captured (live-source.ts FLUSH_PACKETS, FLUSH_MS): a packet is judged within about 100 ms.
 *
 * The rolling view (`LiveView`) on stderr: when stderr is a terminal, the verdict counts and the first
 * failing flows, redrawn at most once a second; otherwise one line a second while packets come (none
 * while nothing is captured); nothing with --quiet. The summary at the end is replay's.
 *
 * Every Windows node is compiled (replay reads a trace ahead to pick the nodes it leads to; a live capture
 * cannot be read ahead). The packets are named `live:IF` in the summary; `--save FILE` also writes them,
 * as captured, to a pcap file, which then names them, so that the failing flows' explain commands run as
 * printed (explain FILE --packet N walks the packet numbered N here). Without --save no file holds them:
 * no explain command is printed (JSON `explain: null`), the summary says to add --save FILE instead.
 *
 * cap is loaded when `live` runs, after the command line and the output paths were checked, before the
 * cluster is compiled: when it is missing or did not build, exit 2 with how to install it
 * (live-source.ts CAP_INSTALL_HINT); every other command never loads it.
 *
 * Packets can be lost before they are judged: cap hands them over on this thread between two batches, and
 * one that finds the capture queue full (live-source.ts QUEUE_PACKETS, QUEUE_BYTES: packets captured faster
 * than they are judged) is dropped. The rolling view and the summary say so ("N packets lost: capture queue
 * full"; JSON `capture_lost`, only when any was lost), as they say how many were cut to cap's buffer. What the kernel drops before
 * libpcap reads it is not counted: cap 0.2.1 gives no pcap_stats (UNCONFIRMED whether any were lost there).
 *
 * `LiveDeps`: cap, the timers, stdout and stderr, given by a test instead of the real ones
 * (test/live-queue.test.ts drives the batch flush, the timer flush and the queue overflow with a fake cap
 * and a clock it fires itself: no root, no wait).
 */
import { UsageError } from '../core/errors';
import { jsonSafe, safeText } from '../core/safe-text';
import { writeStdout, StdoutClosed } from '../core/stdout';
import { flagInt, flagList, flagString, type ParsedArgs } from '../cli-args';
import { DEFAULT_MAX_CONFIG_BYTES } from '../cluster/limits';
import { LiveSource, loadCap, NODE_TIMERS, type CapModule, type LiveTimers } from '../io/live-source';
import type { PipelineInput } from '../pipeline/pipeline';
import { stopOnSignals } from '../pipeline/stop';
import type { Tally } from '../pipeline/stage';
import { FailingFlows as FailingCollector } from '../report/failing-flows';
import { failingSummary, flowText } from '../report/failing-summary';
import { cliPrefix } from '../report/command';
import { resolveProfile } from '../vfp/profile';
import { V, VERDICT_NAMES } from '../vfp/reasons';
import { checkOutputPaths } from './output-paths';
import { failOnIds, failOnText, replay, summaryText, writeReport, type ReplayOptions, type ReplayOutcome, type ReplaySummary } from './replay';
import { PcapSave } from './live-save';
import { captureLostLine, captureLostText } from './summary-merge';

interface LiveCommandOptions extends ReplayOptions {
  iface: string;
  filter: string;
  count: number;
  duration: number;
  save?: string;
}

/** The outputs of live, by their flag's name without the dashes. */
const OUTPUT_FLAGS = ['verdicts', 'out', 'report', 'save'] as const;

/** Failing flows the terminal view shows. */
const VIEW_FLOWS = 5;
/** The view is redrawn (or a line written) at most this often. */
const VIEW_MS = 1000;

/** The timers live sets: the capture's (live-source.ts) and the rolling view's interval. */
export interface LiveClock extends LiveTimers {
  setInterval(fn: () => void, ms: number): unknown;
  clearInterval(handle: unknown): void;
}

const NODE_CLOCK: LiveClock = { ...NODE_TIMERS, setInterval: (fn, ms) => setInterval(fn, ms), clearInterval: (h) => clearInterval(h as NodeJS.Timeout) };

/** Where the rolling view and the notes go: process.stderr, or a test's. */
export interface LiveStderr {
  write(text: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

/** What live takes from the world (module comment); each absent one is the real one. */
export interface LiveDeps {
  cap?: CapModule;
  clock?: LiveClock;
  stdout?: (text: string) => void;
  stderr?: LiveStderr;
}

/**
 * The summary of a live run: replay's, and what the capture lost before the engine saw it, only when it lost
 * any (a summary without losses stays replay's; `vfp-emu merge` adds up `capture_lost` too, summary-merge.ts).
 */
export type LiveSummary = ReplaySummary & {
  /** (Extension, issue 13.) Only when > 0: packets dropped because the capture queue was full, and packets cut to cap's buffer. */
  capture_lost?: { queue_full: number; truncated: number };
};

export async function runLiveCommand(a: ParsedArgs, deps: LiveDeps = {}): Promise<number> {
  let opts = liveOptions(a);
  resolveProfile(opts.windows);
  failOnIds(opts.failOn);
  const plan = checkOutputPaths(
    opts.clusterFiles.map((f) => ({ what: '--cluster', path: f })),
    OUTPUT_FLAGS.flatMap((k) => (opts[k] === undefined ? [] : [{ what: `--${k}`, path: opts[k] as string }])),
  );
  if (plan.stdout !== null && opts.summary !== undefined) {
    throw new UsageError(`${plan.stdout.what} ${plan.stdout.path} and --summary ${opts.summary} both write stdout: give one of them a file, or drop --summary`);
  }
  opts = stdoutAsDevice(opts);
  const cap = deps.cap ?? loadCap();
  const clock = deps.clock ?? NODE_CLOCK;
  const stderr: LiveStderr = deps.stderr ?? process.stderr;
  const stop = stopOnSignals();
  const source = new LiveSource({ iface: opts.iface, filter: opts.filter, count: opts.count, duration: opts.duration, stop: stop.signal, cap, timers: clock });
  const view = new LiveView(opts.iface, opts.quiet === true ? 'quiet' : stderr.isTTY === true ? 'tty' : 'lines', opts, { clock, stderr, source });
  const save = opts.save !== undefined ? new PcapSave(opts.save) : null;
  const input: PipelineInput = {
    open: () => {
      const r = source.open();
      save?.open(source.interfaces[0].linkType);
      view.started(opts.filter);
      return save !== null ? save.wrap(r) : r;
    },
    ready: () => source.ready(),
    judged: (t, n) => view.update(t, n),
  };
  const trace = opts.save ?? source.path; // what the summary and its explain commands name
  let outcome;
  try {
    // the report is written here, after the --save file is renamed into place: the HTML report reads it
    // again to draw the failing flows' paths (replay() would write it before the file exists)
    outcome = await replay({ ...opts, report: undefined, trace, stop: stop.signal, input });
    if (save === null) noExplain(outcome.summary);
    save?.commit();
    if (opts.report !== undefined) await writeReport(opts.report, outcome, { ...opts, trace });
  } finally {
    source.close();
    save?.abort();
    view.close();
    stop.dispose();
  }
  const lost = source.dropped + source.truncated > 0;
  const summary: LiveSummary = lost ? { ...outcome.summary, capture_lost: { queue_full: source.dropped, truncated: source.truncated } } : outcome.summary;
  const say = opts.quiet === true ? (): void => {} : plan.stdout === null ? (deps.stdout ?? writeStdout) : (text: string): void => void stderr.write(text);
  try {
    say(opts.summary === 'json' ? jsonSafe(JSON.stringify(summary)) + '\n' : summaryText(summary) + captureNote(source));
  } catch (e) {
    if (!(e instanceof StdoutClosed)) throw e;
  }
  if (outcome.status === 1 && opts.quiet !== true) stderr.write(failOnMatched(outcome, opts, save !== null ? trace : null));
  const sig = outcome.summary.interrupted;
  if (sig !== undefined && opts.quiet !== true) stderr.write(`vfp-emu: live: stopped by ${sig} after ${outcome.summary.packets} packets; the outputs hold them whole\n`);
  return outcome.status;
}

/**
 * Without --save no file holds the packets: `explain live:IF --packet N` cannot run, so the failing flows
 * carry no explain command (`explain: null`, failing-summary.ts; the text summary says to add --save).
 */
function noExplain(s: ReplaySummary): void {
  for (const e of s.failing_flows?.list ?? []) e.explain = null;
}

/** replay's --fail-on lines; the first match's explain command only when `saved` names the packets' file. */
function failOnMatched(outcome: ReplayOutcome, opts: ReplayOptions, saved: string | null): string {
  if (saved !== null) return failOnText(outcome.summary, opts, { trace: saved, packet: outcome.failFirst });
  const first = outcome.failFirst > 0 ? `vfp-emu: first match: packet ${outcome.failFirst}; add --save FILE to get explain commands\n` : '';
  return failOnText(outcome.summary, opts, null) + first;
}

/** What the capture lost before the engine saw it, in words ('' when nothing): the rolling view's and the summary's. */
function lostText(s: LiveSource): string {
  return captureLostText({ queue_full: s.dropped, truncated: s.truncated });
}

/** The text summary's closing line on what the capture lost ('' when nothing). */
function captureNote(s: LiveSource): string {
  return captureLostLine({ queue_full: s.dropped, truncated: s.truncated });
}

/** An output named `-` is stdout: from here on the name the pipeline writes to fd 1 (as replay.ts does). */
function stdoutAsDevice(opts: LiveCommandOptions): LiveCommandOptions {
  const o = { ...opts };
  for (const k of OUTPUT_FLAGS) if (o[k] === '-') o[k] = '/dev/stdout';
  return o;
}

function liveOptions(a: ParsedArgs): LiveCommandOptions {
  if (a.positional.length > 0) throw new UsageError(`live takes no operand (got '${a.positional[0]}'): the packets come from --iface`);
  const iface = flagString(a, 'iface');
  if (iface === undefined) throw new UsageError('live: --iface IF is required: the network interface to capture on (ip link lists them)');
  if (a.flags.has('quiet') && a.flags.has('summary')) throw new UsageError('live: --quiet prints no summary, and --summary asks for one: drop one of them');
  return {
    trace: '',
    iface,
    filter: flagString(a, 'filter') ?? '',
    count: flagInt(a, 'count', 0),
    duration: flagInt(a, 'duration', 0),
    save: flagString(a, 'save'),
    clusterFiles: flagList(a, 'cluster'),
    verdicts: flagString(a, 'verdicts'),
    out: flagString(a, 'out'),
    report: flagString(a, 'report'),
    summary: flagString(a, 'summary') as 'text' | 'json' | undefined,
    workers: 1,
    windows: flagString(a, 'windows'),
    seed: flagInt(a, 'seed', 1),
    view: (flagString(a, 'view') ?? 'pod') as 'pod' | 'wire',
    failOn: flagList(a, 'fail-on'),
    vxlanPorts: flagList(a, 'vxlan-port').map(Number),
    maxConfigBytes: flagInt(a, 'max-config-bytes', DEFAULT_MAX_CONFIG_BYTES),
    allNodes: true,
    quiet: a.flags.has('quiet'),
    cli: cliPrefix(),
  };
}

/**
 * The rolling view on stderr (see the module comment): `update` keeps the latest counters (once per batch);
 * a timer draws them at most once per VIEW_MS, only when they changed.
 */
class LiveView {
  private tally: Tally | null = null;
  private packets = 0;
  private shown = '';
  private drawnLines = 0;
  private timer: unknown = null;
  private readonly t0 = Date.now();

  constructor(
    private readonly iface: string,
    private readonly mode: 'tty' | 'lines' | 'quiet',
    private readonly opts: ReplayOptions,
    private readonly io: { clock: LiveClock; stderr: LiveStderr; source: LiveSource },
  ) {}

  /** The capture is open: said once (tests wait for this line), and the timer started. */
  started(filter: string): void {
    if (this.mode === 'quiet') return;
    this.io.stderr.write(`vfp-emu: live: capturing on ${safeText(this.iface)}${filter !== '' ? ` (filter ${safeText(filter)})` : ''}; Ctrl-C ends the capture and closes the outputs\n`);
    this.timer = this.io.clock.setInterval(() => this.draw(), VIEW_MS);
  }

  update(t: Tally, packets: number): void {
    this.tally = t;
    this.packets = packets;
  }

  private draw(): void {
    const lost = lostText(this.io.source);
    if (this.tally === null || `${this.packets} ${lost}` === this.shown) return;
    this.shown = `${this.packets} ${lost}`;
    const c = this.tally.counters.byVerdict() as Record<string, number>;
    const counts = VERDICT_NAMES.map((v) => `${v} ${c[v]}`).join(', ');
    const secs = Math.round((Date.now() - this.t0) / 1000);
    const head = `live on ${safeText(this.iface)}: ${this.packets} packets in ${secs} s: ${counts}${lost !== '' ? `; ${lost}` : ''}`;
    if (this.mode === 'lines') {
      this.io.stderr.write(`vfp-emu: ${head}\n`);
      return;
    }
    // each line cut to the terminal's width: a wrapped line would throw off the count of lines to redraw
    const width = Math.max(20, (this.io.stderr.columns ?? 100) - 1);
    const lines = [head, ...this.failingLines()].map((l) => (l.length > width ? l.slice(0, width - 1) + '…' : l));
    // back to the first line drawn last time, clear to the end of the screen, draw again
    const up = this.drawnLines > 0 ? `\x1b[${this.drawnLines}F\x1b[J` : '';
    this.io.stderr.write(up + lines.join('\n') + '\n');
    this.drawnLines = lines.length;
  }

  /** The first VIEW_FLOWS failing flows, most packets first (no node names: the Dataplane is replay's). */
  private failingLines(): string[] {
    const t = this.tally as Tally;
    const c = t.counters.verdicts;
    const f = failingSummary(FailingCollector.merged([t.failing.data()]), c[V.DROPPED] + c[V.NO_RETURN], '', () => null, this.opts);
    if (f.flows === 0) return ['failing flows: none'];
    const lines = [`failing flows (${f.flows}, most packets first):`];
    for (const e of f.list.slice(0, VIEW_FLOWS)) lines.push(`  ${flowText(e.flow)}: ${e.verdict}${e.reason !== null ? ` ${e.reason}` : ''}, ${e.packets} packet${e.packets === 1 ? '' : 's'}`);
    return lines;
  }

  /** Stops the timer; the terminal view is drawn a last time, so that it ends showing every packet. */
  close(): void {
    if (this.timer !== null) this.io.clock.clearInterval(this.timer);
    this.timer = null;
    if (this.mode === 'tty') this.draw();
  }
}

