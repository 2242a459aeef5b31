/**
 * `replay --report FILE.html` (issue 13, "An HTML report"): one self-contained file, no network fetch (inline
 * CSS and SVG, no script): verdict and reason counts, the failing flows table, per-Service backend spread
 * as a chart (packets per backend, max/min ratio), packets per node and verdict, and for the first packet of
 * each of the first PATHS_DRAWN failing flows its path through nodes, ports, layers, groups and the rules
 * that matched, drawn as SVG boxes from the walk as data (src/vfp/walk.ts, walked by explain-paths.ts, drawn by
 * path-diagram.ts, which the teaching page draws its lesson with too).
 *
 * Every string from a packet, a config or a file name goes through `esc` (HTML-escaped after core/safe-text.ts
 * `safeText`: control and bidi characters visible, then `& < > " '` as entities), in text and attributes
 * alike. The numbers carry `data-` attributes naming what they count (`data-verdict`, `data-reason`,
 * `data-node`, `data-service` + `data-backend`, `data-flow`): the test reads them back from Chromium's DOM and
 * compares them with the JSON summary. The report's bytes are the same for every --workers (the summary's
 * are; the diagrams come from one explain replay of each trace).
 */
import * as fs from 'node:fs';
import { safeText } from '../core/safe-text';
import { compileChosen, decodeOptionsFor } from '../commands/dataplane';
import { loadClusterFiles } from '../cluster/load';
import type { ReplayOptions, ReplaySummary } from '../commands/replay';
import { pktmonHtml } from './pktmon';
import type { Cluster } from '../cluster/model';
import { openCapture } from '../io/reader';
import { resolveProfile } from '../vfp/profile';
import { reasonId, reasonSentence, VERDICT_NAMES } from '../vfp/reasons';
import type { Walk } from '../vfp/walk';
import { walkPackets } from './explain-paths';
import { esc, pathFigure } from './path-diagram';
import { flowText, type FailingFlow } from './failing-summary';

/** Failing flows whose first packet is drawn. */
export const PATHS_DRAWN = 10;

export { esc };

const VERDICT_COLOURS: Record<string, string> = { delivered: '#2e7d32', forwarded: '#1565c0', 'no-return': '#ef6c00', dropped: '#c62828', ignored: '#757575' };

const CSS = `body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#222;max-width:1200px}
h1{font-size:22px}h2{font-size:18px;margin-top:28px;border-bottom:1px solid #ccc}
table{border-collapse:collapse;margin:8px 0}td,th{border:1px solid #ddd;padding:3px 8px;text-align:left;vertical-align:top}
td.n{text-align:right;font-variant-numeric:tabular-nums}tr.cmd td{border-top:none;padding-bottom:8px}code{font-size:12px;word-break:break-all}
.meta{color:#555}.why{color:#555;font-size:12px}figure{margin:12px 0}figcaption{font-weight:600}
svg text{font:12px system-ui,sans-serif}`;

/** The parts of the summary a report reads (one trace's or several traces'). */
type Summary = Pick<ReplaySummary, 'packets' | 'verdicts' | 'reasons' | 'warnings' | 'services' | 'nodes' | 'failing_flows'> & Pick<Partial<ReplaySummary>, 'pktmon'>;

/**
 * The report of a run: `traces`, the traces replayed; `total`, their summary; `errors`, their input errors.
 * Reads each trace with a failing flow drawn once more (explain), with `cluster` when given (else loaded again).
 */
export function htmlReport(traces: readonly string[], total: Summary, opts: ReplayOptions, errors: readonly string[], cluster?: Cluster): string {
  const drawn = (total.failing_flows?.list ?? []).slice(0, PATHS_DRAWN);
  const paths = pathsOf(drawn, opts, cluster);
  const parts = [
    '<!DOCTYPE html>',
    '<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">',
    `<title>vfp-emu replay report</title><style>${CSS}</style></head><body>`,
    '<h1>vfp-emu replay report</h1>',
    `<p class="meta">trace${traces.length === 1 ? '' : 's'}: ${traces.map(esc).join(', ')}<br>cluster: ${opts.clusterFiles.map(esc).join(', ')}<br>`,
    `windows profile: ${esc(resolveProfile(opts.windows).name)}, seed ${opts.seed}, view ${esc(opts.view)}</p>`,
    ...errors.map((e) => `<p class="error">input error (everything before it was replayed): ${esc(e)}</p>`),
    verdictSection(total),
    reasonSection(total),
    failingSection(total),
    serviceSection(total),
    nodeSection(total),
    pktmonHtml(total.pktmon, esc),
    pathSection(drawn, paths),
    '</body></html>',
  ];
  return parts.join('\n') + '\n';
}

function verdictSection(s: Summary): string {
  const rows = VERDICT_NAMES.map((v) => `<tr data-verdict="${v}"><td>${v}</td><td class="n">${s.verdicts[v] ?? 0}</td></tr>`);
  const max = Math.max(1, ...VERDICT_NAMES.map((v) => s.verdicts[v] ?? 0));
  const bars = VERDICT_NAMES.map((v, k) => {
    const w = Math.round(((s.verdicts[v] ?? 0) / max) * 400);
    return `<text x="0" y="${k * 24 + 15}">${v}</text><rect x="90" y="${k * 24 + 3}" width="${w}" height="16" fill="${VERDICT_COLOURS[v]}"/><text x="${96 + w}" y="${k * 24 + 15}">${s.verdicts[v] ?? 0}</text>`;
  });
  return `<h2>Verdicts (${s.packets} packets)</h2><table id="verdicts"><tr><th>verdict</th><th>packets</th></tr>${rows.join('')}</table>
<svg role="img" aria-label="packets per verdict" width="600" height="${VERDICT_NAMES.length * 24}">${bars.join('')}</svg>`;
}

function reasonSection(s: Summary): string {
  const row = (code: string, n: number, kind: string): string =>
    `<tr data-${kind}="${esc(code)}"><td>${esc(code)}</td><td class="n">${n}</td><td class="why">${esc(reasonId(code) > 0 ? reasonSentence(reasonId(code)) : '')}</td></tr>`;
  const reasons = Object.entries(s.reasons).map(([c, n]) => row(c, n, 'reason'));
  const warnings = Object.entries(s.warnings).map(([c, n]) => row(c, n, 'warning'));
  if (reasons.length + warnings.length === 0) return '<h2>Reasons</h2><p>No packet has a reason or a warning.</p>';
  return `<h2>Reasons</h2><table id="reasons"><tr><th>reason</th><th>packets</th><th>why</th></tr>${reasons.join('')}</table>${
    warnings.length > 0 ? `<h3>Warnings</h3><table id="warnings"><tr><th>warning</th><th>packets</th><th>why</th></tr>${warnings.join('')}</table>` : ''
  }`;
}

function failingSection(s: Summary): string {
  const f = s.failing_flows;
  if (f === undefined || f.flows === 0) return '<h2>Failing flows</h2><p id="no-failing">No packet was dropped and none left without a way back.</p>';
  const rows = f.list.map(
    (e, k) =>
      `<tr data-flow="${k}"><td>${esc(e.trace)}</td><td>${esc(flowText(e.flow))}</td><td>${e.verdict}</td><td title="${esc(e.sentence)}">${esc(e.reason ?? '')}</td>` +
      `<td>${esc(e.node ?? '')}</td><td class="n first">${e.first_packet}</td><td class="n packets">${e.packets}</td></tr>` +
      (e.explain !== null ? `<tr class="cmd"><td colspan="7">step by step: <code>${esc(e.explain)}</code></td></tr>` : ''),
  );
  const more = f.flows - f.list.length;
  return `<h2>Failing flows (<span id="failing-flows">${f.flows}</span> flows, <span id="failing-packets">${f.packets}</span> packets)</h2>
<p class="meta">Grouped by 5-tuple as the packet entered and reason, most packets first; the reasons' sentences are in the table above (and in each reason's tooltip).${more > 0 ? ` The first ${f.list.length} are listed; ${more} more are not.` : ''}</p>
<table id="failing"><tr><th>trace</th><th>flow</th><th>verdict</th><th>reason</th><th>node</th><th>first packet</th><th>packets</th></tr>${rows.join('')}</table>`;
}

function serviceSection(s: Summary): string {
  const svcs = Object.entries(s.services);
  if (svcs.length === 0) return '<h2>Services</h2><p>No packet was load-balanced.</p>';
  const figs = svcs.map(([name, { backends }]) => {
    const counts = Object.entries(backends);
    const max = Math.max(...counts.map(([, n]) => n));
    const min = Math.min(...counts.map(([, n]) => n));
    const ratio = min > 0 ? (max / min).toFixed(2) : 'inf';
    const bars = counts.map(([b, n], k) => {
      const w = Math.round((n / Math.max(1, max)) * 360);
      return `<text x="0" y="${k * 22 + 14}">${esc(b)}</text><rect x="200" y="${k * 22 + 3}" width="${w}" height="15" fill="#1565c0"/><text x="${206 + w}" y="${k * 22 + 14}">${n}</text>`;
    });
    const cells = counts.map(([b, n]) => `<tr data-backend="${esc(b)}"><td>${esc(b)}</td><td class="n">${n}</td></tr>`).join('');
    return `<figure data-service="${esc(name)}"><figcaption>${esc(name)}: max/min <span class="ratio">${ratio}</span> over ${counts.length} backend${counts.length === 1 ? '' : 's'}</figcaption>
<svg role="img" aria-label="packets per backend" width="640" height="${counts.length * 22}">${bars.join('')}</svg><table>${cells}</table></figure>`;
  });
  return `<h2>Services: packets per backend</h2>${figs.join('\n')}`;
}

function nodeSection(s: Summary): string {
  const nodes = Object.entries(s.nodes ?? {});
  if (nodes.length === 0) return '<h2>Nodes</h2><p>No packet reached an emulated node.</p>';
  const head = `<tr><th>node</th>${VERDICT_NAMES.map((v) => `<th>${v}</th>`).join('')}</tr>`;
  const rows = nodes.map(([name, c]) => `<tr data-node="${esc(name)}"><td>${esc(name)}</td>${VERDICT_NAMES.map((v) => `<td class="n" data-verdict="${v}">${c[v] ?? 0}</td>`).join('')}</tr>`);
  return `<h2>Nodes: packets per verdict</h2><table id="nodes">${head}${rows.join('')}</table>`;
}

/** Each drawn flow's path (explain of its first packet), by list position; null where it cannot be drawn. */
function pathsOf(drawn: readonly FailingFlow[], opts: ReplayOptions, cluster?: Cluster): (Walk | string)[] {
  const out: (Walk | string)[] = drawn.map(() => 'not drawn');
  const byTrace = new Map<string, number[]>();
  drawn.forEach((e, k) => byTrace.set(e.trace, [...(byTrace.get(e.trace) ?? []), k]));
  for (const [trace, ks] of byTrace) {
    // a second read of stdin or a FIFO would wait for data that never comes (or drain what another reader needs)
    if (drawn[ks[0]].explain === null) {
      // vfp-emu live without --save: no file holds the packets (failing-summary.ts)
      for (const k of ks) out[k] = 'not drawn: the captured packets were not saved; add --save FILE to get the paths and explain commands';
      continue;
    }
    const streams = [trace, ...(cluster === undefined ? opts.clusterFiles : [])].filter((f) => !isRegularFile(f));
    if (streams.length > 0) {
      for (const k of ks) out[k] = `not drawn: ${streams.map((f) => (f === '-' ? 'stdin' : f)).join(', ')} cannot be read again; run the explain command with the same input`;
      continue;
    }
    try {
      const c = cluster ?? loadClusterFiles(opts.clusterFiles, { maxConfigBytes: opts.maxConfigBytes }).cluster;
      const dp = compileChosen(c, opts).dataplane;
      const reader = openCapture(trace, { strictSnaplen: opts.strictSnaplen ?? true });
      try {
        const walks = walkPackets(reader, dp, decodeOptionsFor(opts.vxlanPorts, c), ks.map((k) => drawn[k].first_packet));
        for (const k of ks) out[k] = walks.get(drawn[k].first_packet) ?? 'the trace ended before this packet';
      } finally {
        reader.close();
      }
    } catch (e) {
      for (const k of ks) out[k] = `not drawn: ${(e as Error).message}`;
    }
  }
  return out;
}

function isRegularFile(f: string): boolean {
  try {
    return f !== '-' && fs.statSync(f).isFile();
  } catch {
    return false;
  }
}

function pathSection(drawn: readonly FailingFlow[], paths: readonly (Walk | string)[]): string {
  if (drawn.length === 0) return '';
  const figs = drawn.map((e, k) => {
    const p = paths[k];
    const body = typeof p === 'string' ? `<p>${esc(p)}</p>` : pathFigure(p, { width: 1100 });
    return `<figure class="path" data-path="${k}"><figcaption>${esc(flowText(e.flow))}: ${e.verdict} ${esc(e.reason ?? '')} (packet ${e.first_packet} of ${esc(e.trace)})</figcaption>${body}</figure>`;
  });
  return `<h2>Paths of the first packet of each failing flow (first ${drawn.length})</h2>${figs.join('\n')}`;
}
