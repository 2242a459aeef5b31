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
 * No object per packet: verdicts of judged pktmon packets in a Uint16Array by packet number.
 */
import { PK_COPY_UNSEEN, PK_DROP, PK_PACKET, PK_REASON_SHIFT, type Batch } from '../core/batch';
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
  /** Per judged packet number n: at [n] 1 + verdict + 8 * reason (0: not a judged pktmon packet here). */
  judged: Uint16Array;
  /** Drop records, flat: [record number, judged number (0: unseen), interface, pktmon reason + 1 (0: none)]. */
  drops: number[];
  dropCount: number;
  unlinked: number;
}

export class PktmonTally {
  packets = 0;
  copies = 0;
  dropCount = 0;
  /** Copies whose judged appearance is not before them (null copy_of). */
  unlinked = 0;
  private seen: Uint8Array = new Uint8Array(0);
  private judged: Uint16Array = new Uint16Array(0);
  private readonly drops: number[] = [];

  /** Counts packets `idx[0..m)` of `b` (their verdicts in `r`). */
  collect(b: Batch, r: Results, idx: Uint32Array, m: number): void {
    const info = b.pkInfo;
    for (let k = 0; k < m; k++) {
      const i = idx[k];
      const inf = info[i];
      if (inf === 0) continue;
      this.one(b, r, i, inf);
    }
  }

  private one(b: Batch, r: Results, i: number, inf: number): void {
    const n = b.firstNumber + i;
    const g = b.iface[i];
    if (g >= this.seen.length) this.seen = grow8(this.seen, g + 1);
    this.seen[g] = 1;
    const copyOf = b.pkCopyOf[i];
    if (copyOf === 0) {
      this.packets++;
      if (n >= this.judged.length) this.judged = grow16(this.judged, n + 1);
      this.judged[n] = 1 + r.verdict[i] + 8 * r.reason[i];
    } else {
      this.copies++;
      if (copyOf === PK_COPY_UNSEEN) this.unlinked++;
    }
    if ((inf & PK_DROP) !== 0) {
      this.dropCount++;
      // every record is kept (4 numbers each), so agree/disagree count them all; only the list is cut (summary)
      this.drops.push(n, copyOf === 0 ? n : copyOf === PK_COPY_UNSEEN ? 0 : copyOf, g, inf >>> PK_REASON_SHIFT);
    }
  }

  data(): PktmonTallyData {
    const ifaces: number[] = [];
    for (let g = 0; g < this.seen.length; g++) if (this.seen[g] === 1) ifaces.push(g);
    return { packets: this.packets, copies: this.copies, ifaces, judged: this.judged, drops: this.drops.slice(), dropCount: this.dropCount, unlinked: this.unlinked };
  }

  addData(d: PktmonTallyData): void {
    this.packets += d.packets;
    this.copies += d.copies;
    this.dropCount += d.dropCount;
    this.unlinked += d.unlinked;
    for (const g of d.ifaces) {
      if (g >= this.seen.length) this.seen = grow8(this.seen, g + 1);
      this.seen[g] = 1;
    }
    if (d.judged.length > this.judged.length) this.judged = grow16(this.judged, d.judged.length);
    for (let n = 0; n < d.judged.length; n++) if (d.judged[n] !== 0) this.judged[n] = d.judged[n];
    for (let k = 0; k < d.drops.length; k++) this.drops.push(d.drops[k]);
  }

  /** The `pktmon` summary key, or null when the capture had no pktmon packet. */
  summary(trace: string, ifaceName: (g: number) => string, view: string | undefined): PktmonSummary | null {
    if (this.packets + this.copies === 0) return null;
    const d = this.data();
    // threads add their drops in any order: the list in trace order, then cut
    const rows: number[][] = [];
    for (let k = 0; k + 3 < d.drops.length; k += 4) rows.push(d.drops.slice(k, k + 4));
    rows.sort((a, b) => a[0] - b[0]);
    const drops: PktmonSummary['drops'] = { records: this.dropCount, agree: 0, disagree: 0, unknown: 0, list: [] };
    for (const [rec, judged, g, reason] of rows) {
      const j = judged > 0 && judged < this.judged.length ? this.judged[judged] : 0;
      const verdict = j === 0 ? null : (j - 1) & 7;
      const why = j === 0 ? null : reasonCode((j - 1) >>> 3);
      const agree = verdict === null ? null : verdict === V.DROPPED;
      if (agree === null) drops.unknown++;
      else if (agree) drops.agree++;
      else drops.disagree++;
      if (drops.list.length < LIST_MAX) {
        drops.list.push({
          trace,
          packet: rec,
          judged: judged === 0 ? null : judged,
          component: ifaceName(g),
          pktmon_reason: reason === 0 ? null : pktmonDropReason(reason - 1),
          verdict: verdict === null ? null : VERDICT_NAMES[verdict],
          reason: why,
          agree,
        });
      }
    }
    return { packets: this.packets, copies: this.copies, copies_unlinked: this.unlinked, components: d.ifaces.map(ifaceName), view: view ?? 'first', drops };
  }
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

function grow16(a: Uint16Array, min: number): Uint16Array {
  const g = new Uint16Array(Math.max(min, a.length * 2, 1024));
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
