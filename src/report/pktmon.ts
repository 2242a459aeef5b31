/**
 * The pktmon part of a replay's summary (issue 13): what src/io/pktmon.ts marked in the batches, counted
 * by each thread that finishes packets (stage.ts `checkFail`), merged on the main thread, and put in words.
 *
 * JSON summary key `pktmon` (a CONTRACT summary extension, present only for a pktmon capture):
 *   {packets, copies, copies_unlinked, components, view, drops: {records, agree, disagree, unknown, list}}
 *   - `packets`: pktmon packets judged (one per PktGroupId at the view's component); `copies`: the other
 *     appearances (verdict ignored, reason pktmon-copy; `copies_unlinked` of them have copy_of null);
 *     `components`: interfaces pktmon packets were seen on;
 *   - `drops.records`: appearances pktmon logged as dropped (etl2pcapng's epb_verdict XDP drop);
 *     `agree`: the emulator drops the judged packet too (verdict dropped), `disagree`: it does not,
 *     `unknown`: the judged packet is not in the trace (--pktmon-component never saw it);
 *   - `list` (the first LIST_MAX records by packet number, whatever the worker count; the counts cover every record): {trace, packet, judged, component, pktmon_reason, verdict, reason}
 *     with pktmon's reason string (null: the file gives none, as etl2pcapng's files do) beside the
 *     emulator's verdict and reason code.
 * Memory bounded by the group table, not by the trace (it was a Uint16 per packet number, 200 MB a thread
 * at 100M packets): each thread compares a drop record with the verdict of its judged packet as it counts
 * it, in trace order, against the verdicts of the judged packets it counted in the record's epoch (at most
 * src/io/pktmon.ts `groupLimit` of them: a sorted pair of typed arrays, emptied when a packet of a new
 * epoch comes). The judged packet is always on the record's thread: the chain sends copies to their judged
 * packet's shard (io/pktmon.ts `pktmonRoute`), and W = 1, 2 count every packet on one thread. Each thread
 * keeps its first LIST_MAX records (its packets come in trace order), so the merged list, sorted and cut,
 * is the first LIST_MAX of the trace; the counts cover every record.
 */
import { PK_COPY_UNSEEN, PK_DROP, PK_PACKET, PK_REASON_SHIFT, type Batch } from '../core/batch';
import { PK_EPOCH_MASK, PK_EPOCH_SHIFT, PK_SAME, SAME_SAMPLE, takeAllStreamComponents, takeStreamComponents, type ComponentName } from '../io/pktmon';
import { pktmonDropReason, reasonCode, V, VERDICT_NAMES } from '../vfp/reasons';
import type { Results } from '../vfp/results';

/** Most drop records listed (the counts cover all). */
export const LIST_MAX = 1000;

/** A Tally's pktmon part as plain data (posted between threads). */
export interface PktmonTallyData {
  packets: number;
  copies: number;
  /** Interface indices pktmon packets were seen on. */
  ifaces: number[];
  /**
   * The thread's first LIST_MAX drop records, flat, ROW numbers each: [record number, judged number (0:
   * unseen), interface, pktmon reason + 1 (0: none), judged verdict code (1 + verdict + 8 * reason; 0: not judged)].
   */
  drops: number[];
  dropCount: number;
  agree: number;
  disagree: number;
  unknown: number;
  unlinked: number;
  /** Packets without a packet id that repeat the packet before (io/pktmon.ts `sampleSame`, first SAME_SAMPLE packets). */
  same: number;
  /**
   * The interface names of the captures the posting thread read, by path (io/pktmon.ts `takeAllStreamComponents`: streams only):
   * the split worker reads with `--workers 2`, and a stream (stdin, a FIFO) cannot be read again for them.
   */
  streams?: Record<string, ComponentName[]>;
}

/** Numbers per drop row in PktmonTallyData.drops. */
const ROW = 5;

export class PktmonTally {
  packets = 0;
  copies = 0;
  dropCount = 0;
  agree = 0;
  disagree = 0;
  unknown = 0;
  /** Copies whose judged appearance is not before them (null copy_of). */
  unlinked = 0;
  /** Packets marked PK_SAME (a plain capture's packet equal to the one before). */
  same = 0;
  private seen: Uint8Array = new Uint8Array(0);
  /** This thread's judged packets of the current epoch: numbers (increasing) and verdict codes, `judgedN` of them. */
  private judgedNum = new Uint32Array(1024);
  private judgedCode = new Uint16Array(1024);
  private judgedN = 0;
  /** The epoch of the packets counted last (-1: none yet). */
  private epoch = -1;
  private readonly drops: number[] = [];
  /** Interface names other threads posted (PktmonTallyData `streams`), by capture path. */
  private readonly streams = new Map<string, ComponentName[]>();

  /** Counts packets `idx[0..m)` of `b` (their verdicts in `r`). */
  collect(b: Batch, r: Results, idx: Uint32Array, m: number): void {
    const info = b.pkInfo;
    for (let k = 0; k < m; k++) {
      const i = idx[k];
      const inf = info[i];
      if (inf === 0) continue;
      if (inf === PK_SAME) this.same++;
      else this.one(b, r, i, inf);
    }
  }

  /** Judged verdicts held (`entries`) and the room for them (`slots`): bounded by the group table's limit, not by the trace. */
  footprint(): { entries: number; slots: number; drops: number } {
    return { entries: this.judgedN, slots: this.judgedNum.length, drops: this.drops.length / ROW };
  }

  private one(b: Batch, r: Results, i: number, inf: number): void {
    const n = b.firstNumber + i;
    const g = b.iface[i];
    if (g >= this.seen.length) this.seen = grow8(this.seen, g + 1);
    this.seen[g] = 1;
    const epoch = (inf >>> PK_EPOCH_SHIFT) & PK_EPOCH_MASK;
    if (epoch !== this.epoch) {
      // a copy links only to a judged packet of its own epoch (io/pktmon.ts): the older verdicts are never asked for
      this.epoch = epoch;
      this.judgedN = 0;
    }
    const copyOf = b.pkCopyOf[i];
    let code = 0;
    if (copyOf === 0) {
      this.packets++;
      code = 1 + r.verdict[i] + 8 * r.reason[i];
      this.keep(n, code);
    } else {
      this.copies++;
      if (copyOf === PK_COPY_UNSEEN) this.unlinked++;
      else if ((inf & PK_DROP) !== 0) code = this.codeOf(copyOf);
    }
    if ((inf & PK_DROP) !== 0) this.drop(n, copyOf === 0 ? n : copyOf === PK_COPY_UNSEEN ? 0 : copyOf, g, inf >>> PK_REASON_SHIFT, code);
  }

  /** A drop record counted (agree: the judged packet was dropped too) and, among the thread's first LIST_MAX, kept. */
  private drop(n: number, judged: number, g: number, reason: number, code: number): void {
    this.dropCount++;
    if (code === 0) this.unknown++;
    else if (((code - 1) & 7) === V.DROPPED) this.agree++;
    else this.disagree++;
    if (this.drops.length < ROW * LIST_MAX) this.drops.push(n, judged, g, reason, code);
  }

  /** Appends judged packet `n` (numbers come in increasing order on a thread). */
  private keep(n: number, code: number): void {
    if (this.judgedN === this.judgedNum.length) {
      const num = new Uint32Array(2 * this.judgedN);
      num.set(this.judgedNum);
      this.judgedNum = num;
      const c = new Uint16Array(2 * this.judgedN);
      c.set(this.judgedCode);
      this.judgedCode = c;
    }
    this.judgedNum[this.judgedN] = n;
    this.judgedCode[this.judgedN++] = code;
  }

  /** The verdict code of judged packet `n` of this epoch on this thread (binary search), 0 when it is not here. */
  private codeOf(n: number): number {
    const a = this.judgedNum;
    let lo = 0;
    let hi = this.judgedN - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const v = a[mid];
      if (v === n) return this.judgedCode[mid];
      if (v < n) lo = mid + 1;
      else hi = mid - 1;
    }
    return 0;
  }

  data(): PktmonTallyData {
    const ifaces: number[] = [];
    for (let g = 0; g < this.seen.length; g++) if (this.seen[g] === 1) ifaces.push(g);
    const { packets, copies, dropCount, agree, disagree, unknown, unlinked, same } = this;
    // this thread's streams move into this tally (kept for its own `components`), and so into what it posts
    for (const [path, names] of Object.entries(takeAllStreamComponents())) this.streams.set(path, names);
    return { packets, copies, ifaces, drops: this.drops.slice(), dropCount, agree, disagree, unknown, unlinked, same, streams: Object.fromEntries(this.streams) };
  }

  addData(d: PktmonTallyData): void {
    this.packets += d.packets;
    this.copies += d.copies;
    this.dropCount += d.dropCount;
    this.agree += d.agree;
    this.disagree += d.disagree;
    this.unknown += d.unknown;
    this.unlinked += d.unlinked;
    this.same += d.same;
    for (const g of d.ifaces) {
      if (g >= this.seen.length) this.seen = grow8(this.seen, g + 1);
      this.seen[g] = 1;
    }
    for (const [path, names] of Object.entries(d.streams ?? {})) this.streams.set(path, names);
    // a merged tally holds every thread's first LIST_MAX (the summary sorts and cuts)
    for (let k = 0; k < d.drops.length; k++) this.drops.push(d.drops[k]);
  }

  /**
   * The interfaces of capture `trace` as the thread that read it knew them (a thread's tally posted them, or
   * this thread read it: taken from io/pktmon.ts then), or undefined. For a stream (stdin, a FIFO) the only
   * source of its names: replay.ts names its components and resolves `--pktmon-component` with them.
   */
  components(trace: string): ComponentName[] | undefined {
    const here = takeStreamComponents(trace);
    return this.streams.get(trace) ?? here;
  }

  /** The `pktmon` summary key, or null when the capture had no pktmon packet. */
  summary(trace: string, ifaceName: (g: number) => string, view: string | undefined): PktmonSummary | null {
    if (this.packets + this.copies === 0) return null;
    const d = this.data();
    // threads add their drops in any order: the list in trace order, then cut
    const rows: number[][] = [];
    for (let k = 0; k + ROW - 1 < d.drops.length; k += ROW) rows.push(d.drops.slice(k, k + ROW));
    rows.sort((a, b) => a[0] - b[0]);
    const drops: PktmonSummary['drops'] = { records: this.dropCount, agree: this.agree, disagree: this.disagree, unknown: this.unknown, list: [] };
    for (const [rec, judged, g, reason, j] of rows.slice(0, LIST_MAX)) {
      const verdict = j === 0 ? null : (j - 1) & 7;
      drops.list.push({
        trace,
        packet: rec,
        judged: judged === 0 ? null : judged,
        component: ifaceName(g),
        pktmon_reason: reason === 0 ? null : pktmonDropReason(reason - 1),
        verdict: verdict === null ? null : VERDICT_NAMES[verdict],
        reason: j === 0 ? null : reasonCode((j - 1) >>> 3),
        agree: verdict === null ? null : verdict === V.DROPPED,
      });
    }
    return { packets: this.packets, copies: this.copies, copies_unlinked: this.unlinked, components: d.ifaces.map(ifaceName), view: view ?? 'first', drops };
  }
}

/** Fewest back-to-back repeats that make the `pktmon-duplicates` warning (see `pktmonSameDiagnostic`). */
export const SAME_MIN = 8;

/**
 * The diagnostic for a capture without packet ids whose packets repeat one another back to back (a third or
 * more of the first SAME_SAMPLE: what pktmon's own `pktmon etl2pcap` writes for a packet seen at several
 * components; io/pktmon.ts `sampleSame`), or null. `packets`: the capture's packet count. At least SAME_MIN
 * repeats are needed: an ordinary tiny capture (3 packets, one retransmitted) is no sign of pktmon's converter,
 * while the smallest the converter writes for a few packets at 3 components already repeats more than that.
 */
export function pktmonSameDiagnostic(t: PktmonTally, packets: number, source: string): { code: string; severity: 'warning'; message: string; source: string } | null {
  const sample = Math.min(packets, SAME_SAMPLE);
  if (t.packets + t.copies > 0 || t.same < SAME_MIN || 3 * t.same < sample) return null;
  return {
    code: 'pktmon-duplicates',
    severity: 'warning',
    message: `${t.same} of the first ${sample} packets repeat the packet before byte for byte: this looks like pktmon's own converter ('pktmon etl2pcap' / 'pktmon pcapng'), which writes no packet ids and no component per packet, so each packet is judged once per component it was seen at (UNCONFIRMED: without ids the copies cannot be told apart). Convert the ETL with 'pktmon etl2pcap --component-id N' (one component) or with microsoft/etl2pcapng 1.12+ (packet ids: judged once)`,
    source,
  };
}

/** The `pktmon` key of the JSON summary. */
export interface PktmonSummary {
  packets: number;
  copies: number;
  copies_unlinked: number;
  components: string[];
  view: string;
  drops: {
    records: number;
    agree: number;
    disagree: number;
    unknown: number;
    list: { trace: string; packet: number; judged: number | null; component: string; pktmon_reason: string | null; verdict: string | null; reason: string | null; agree: boolean | null }[];
  };
}

/** The summary's text lines for it. */
export function pktmonText(p: PktmonSummary): string {
  const lines = [
    `pktmon capture detected: ${p.components.length} components, view = ${p.view === 'first' ? 'the first component each packet was seen at' : `component ${p.view}`}`,
    `  ${p.packets} packets judged once, ${p.copies} copies linked to them (pktmon-copy)${p.copies_unlinked > 0 ? `, ${p.copies_unlinked} of them before (or without) their packet's appearance at the view's component` : ''}`,
    `  components: ${p.components.join(', ')}`,
    `  pktmon drops: ${p.drops.records} (emulator agrees ${p.drops.agree}, disagrees ${p.drops.disagree}${p.drops.unknown > 0 ? `, not judged ${p.drops.unknown}` : ''})`,
  ];
  for (const d of p.drops.list.slice(0, 10)) {
    const pk = d.pktmon_reason ?? 'no reason in the file';
    // copy_of null: the record's packet was not judged before it (at the view's component): nothing to compare
    const em = d.judged === null ? 'not linked (its packet was not judged before this record)' : d.verdict === null ? 'not judged' : `${d.verdict}${d.reason !== null ? ` (${d.reason})` : ''}`;
    lines.push(`    packet ${d.packet} at ${d.component}: pktmon dropped (${pk}); emulator: ${em}${d.agree === null ? '' : d.agree ? ' - agree' : ' - DISAGREE'}`);
  }
  if (p.drops.list.length > 10) lines.push(`    ... ${p.drops.records - 10} more`);
  return lines.join('\n') + '\n';
}

function grow8(a: Uint8Array, min: number): Uint8Array {
  const g = new Uint8Array(Math.max(min, a.length * 2, 16));
  g.set(a);
  return g;
}

/** Marks that say a Batch packet is a pktmon one (for callers that test a column without this module's types). */
export const PKTMON_MARKS = { PK_PACKET, PK_DROP };

/**
 * The HTML report's pktmon section (src/report/html.ts; '' for a capture that is not pktmon's): the counts,
 * the components, and every listed drop record with pktmon's reason beside the emulator's verdict and reason.
 * `esc` is the report's HTML escaper (names come from the capture).
 */
export function pktmonHtml(p: PktmonSummary | undefined, esc: (s: string) => string): string {
  if (p === undefined) return '';
  const rows = p.drops.list.map(
    (d) =>
      `<tr data-pktmon-drop="${d.packet}" class="${d.agree === null ? 'unknown' : d.agree ? 'agree' : 'disagree'}"><td class="n">${d.packet}</td><td class="n">${d.judged ?? ''}</td><td>${esc(d.component)}</td><td>${esc(d.pktmon_reason ?? 'no reason in the file')}</td><td>${esc(d.verdict ?? 'not judged')}</td><td>${esc(d.reason ?? '')}</td><td>${d.agree === null ? '?' : d.agree ? 'agree' : 'disagree'}</td></tr>`,
  );
  return `<h2>pktmon capture</h2><p id="pktmon">${p.components.length} components (${p.components.map(esc).join(', ')}); view: ${esc(p.view === 'first' ? 'the first component each packet was seen at' : p.view)}.
${p.packets} packets judged once, ${p.copies} copies linked to them. pktmon drops: ${p.drops.records}, the emulator agrees on ${p.drops.agree}, disagrees on ${p.drops.disagree}.</p>${
    rows.length > 0
      ? `<table id="pktmon-drops"><tr><th>packet</th><th>judged as</th><th>component</th><th>pktmon drop reason</th><th>emulator verdict</th><th>emulator reason</th><th></th></tr>${rows.join('')}</table>`
      : ''
  }`;
}

/** Several traces' `pktmon` parts as one (multi-trace replay and `vfp-emu merge`): counts added, lists joined in trace order and cut. */
export function mergePktmon(parts: readonly PktmonSummary[]): PktmonSummary {
  const views = [...new Set(parts.map((p) => p.view))];
  const components = [...new Set(parts.flatMap((p) => p.components))];
  const out: PktmonSummary = { packets: 0, copies: 0, copies_unlinked: 0, components, view: views.join(', '), drops: { records: 0, agree: 0, disagree: 0, unknown: 0, list: [] } };
  for (const p of parts) {
    out.packets += p.packets;
    out.copies += p.copies;
    out.copies_unlinked += p.copies_unlinked;
    out.drops.records += p.drops.records;
    out.drops.agree += p.drops.agree;
    out.drops.disagree += p.drops.disagree;
    out.drops.unknown += p.drops.unknown;
    for (const d of p.drops.list) if (out.drops.list.length < LIST_MAX) out.drops.list.push(d);
  }
  return out;
}
