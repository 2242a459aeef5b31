/**
 * One packet's path as a diagram (issue 13: the HTML report's paths and the teaching page's lesson draw the
 * same picture from the same data). The input is the walk as data of src/vfp/walk.ts (`walkOf` at
 * `detail: full`: what `vfp-emu explain --format json` and `vfp-emu trace --format json` print), never
 * explain's text parsed back.
 *
 * The picture (`pathSvg`, an SVG string): the packet as it came in at the top, then a box per node, inside
 * it a box per port, layer, group, matched rule, action, warning and error, indented as explain indents
 * them (port, layer, group, then what happens inside); the rule that decided the packet (the walk's
 * `final.rule`) is drawn in bold with a thick border (`class="step rule decided"`); a step after which the
 * packet's tracked 5-tuple changed (a NAT, a decapsulation) shows the packet after it; at the bottom the
 * packet as it leaves and the verdict. explain's `->` detail lines are left out of the boxes (the text of
 * explain beside or under the diagram has them). Long texts wrap inside their box at word boundaries;
 * nothing is cut.
 *
 * `pathFigure` adds, as HTML around the SVG, explain's first line (`Packet N: INPUT`) and its closing lines
 * (`Final packet:`, `Unified flow:`, `Actions:`, `Verdict:`).
 *
 * Every string from a walk (names from configs, DNS names from packets) goes through `esc`: core/safe-text.ts
 * `safeText` (control and bidi characters made visible), then `& < > " '` as entities, in text and attributes
 * alike; the output is safe to put into an HTML page as it is (the page sets it as innerHTML). No Node API:
 * the page's bundle holds this module.
 */
import { safeText } from '../core/safe-text';
import type { Walk, WalkStep } from '../vfp/walk';

/** `s` for HTML text or a quoted attribute (module comment). */
export function esc(s: string): string {
  return safeText(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

export interface DiagramOptions {
  /** Width of the SVG in pixels (the report: 1100; the page: the width of its diagram column). */
  width?: number;
  /** Font size in pixels (text lines are 1.35 of it apart). */
  fontSize?: number;
}

const FILL: Record<string, string> = {
  port: '#e3f2fd',
  layer: '#fff8e1',
  group: '#f3e5f5',
  rule: '#e8f5e9',
  action: '#e0f7fa',
  error: '#ffebee',
  warning: '#fff3e0',
};
const VERDICT_FILL: Record<string, string> = { delivered: '#e8f5e9', forwarded: '#e3f2fd', 'no-return': '#fff3e0', dropped: '#ffebee', ignored: '#eeeeee' };
const INDENT = 16;
const PAD = 6;

/** A box to draw: its kind (CSS class), indent level, title (full text) and lines. */
interface Box {
  cls: string;
  level: number;
  title: string;
  lines: string[];
  fill: string;
  bold: boolean;
}

/** Indent level of a step: port 0, layer 1, group 2; anything else one below the innermost of them it is in. */
function levelOf(s: WalkStep): number {
  if (s.kind === 'port') return 0;
  if (s.kind === 'layer') return 1;
  if (s.kind === 'group') return 2;
  if (s.group !== null) return 3;
  if (s.layer !== null) return 2;
  return s.port !== null ? 1 : 0;
}

/** `text` cut into lines of at most `max` characters, at spaces where there are some (a long word is split). */
export function wrapText(text: string, max: number): string[] {
  const out: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    let w = word;
    while (w.length > max) {
      if (line !== '') out.push(line);
      out.push(w.slice(0, max));
      w = w.slice(max);
      line = '';
    }
    if (line === '') line = w;
    else if (line.length + 1 + w.length <= max) line += ` ${w}`;
    else {
      out.push(line);
      line = w;
    }
  }
  if (line !== '' || out.length === 0) out.push(line);
  return out;
}

/** The walk's steps grouped by node: a `node` step opens a group (steps before any node are one of their own). */
function byNode(w: Walk): { name: string | null; steps: WalkStep[] }[] {
  const out: { name: string | null; steps: WalkStep[] }[] = [];
  for (const s of w.steps) {
    if (s.kind === 'node' || out.length === 0) out.push({ name: s.kind === 'node' ? s.text : null, steps: [] });
    if (s.kind !== 'node' && s.kind !== 'detail') out[out.length - 1].steps.push(s);
  }
  return out;
}

/** The boxes of one node's steps; `before` is the packet before the first of them (a changed packet is shown). */
function boxesOf(steps: readonly WalkStep[], w: Walk, before: string, chars: (level: number) => number): { boxes: Box[]; after: string } {
  const boxes: Box[] = [];
  let packet = before;
  const decided = w.final.rule;
  for (const s of steps) {
    const level = levelOf(s);
    const label = `${s.kind}: ${s.text}`;
    const isDecider = s.kind === 'rule' && decided !== null && s.rule !== null && s.rule.id === decided.id && s.rule.name === decided.name;
    const lines = wrapText(label, chars(level));
    if (s.packet !== packet && (s.kind === 'action' || s.kind === 'rule' || s.kind === 'error')) lines.push(...wrapText(`packet now: ${s.packet}`, chars(level)));
    packet = s.packet;
    boxes.push({ cls: `step ${s.kind}${isDecider ? ' decided' : ''}`, level, title: `${s.kind} ${s.text}`, lines, fill: FILL[s.kind] ?? '#ffffff', bold: isDecider });
  }
  return { boxes, after: packet };
}

/** SVG `<text>` lines from (x, y), `dy` apart. */
function textLines(lines: readonly string[], x: number, y: number, dy: number, attrs = ''): string {
  return lines.map((l, k) => `<text x="${x}" y="${y + k * dy}"${attrs}>${esc(l)}</text>`).join('');
}

/** The walk `w` (detail `full`) as SVG (module comment). */
export function pathSvg(w: Walk, opts: DiagramOptions = {}): string {
  const width = opts.width ?? 1100;
  const fs = opts.fontSize ?? 12;
  const lh = Math.round(fs * 1.35);
  const charW = fs * 0.6; // a generous average for system-ui, so wrapped lines stay inside their box
  const chars = (level: number): number => Math.max(12, Math.floor((width - 24 - level * INDENT - 2 * PAD) / charW));
  const parts: string[] = [];
  let y = 2;
  const band = (cls: string, lines: string[], fill: string): void => {
    const h = lines.length * lh + 2 * PAD;
    parts.push(`<g class="${cls}"><rect x="2" y="${y}" width="${width - 4}" height="${h}" rx="6" fill="${fill}" stroke="#455a64"/>${textLines(lines, 12, y + PAD + fs, lh)}</g>`);
    y += h + 6;
  };
  band('packet-in', wrapText(`in: ${w.input}`, chars(0)), '#ffffff');
  let packet = w.steps[0]?.packet ?? w.input;
  for (const node of byNode(w)) {
    const { boxes, after } = boxesOf(node.steps, w, packet, chars);
    packet = after;
    const top = y;
    const inner: string[] = [];
    let sy = top + lh + PAD + 4;
    for (const b of boxes) {
      const x = 12 + b.level * INDENT;
      const h = b.lines.length * lh + PAD;
      const weight = b.bold ? ' font-weight="bold"' : '';
      inner.push(
        `<g class="${b.cls}"><title>${esc(b.title)}</title><rect x="${x}" y="${sy}" width="${width - x - 12}" height="${h}" rx="3" fill="${b.fill}" stroke="${b.bold ? '#1b5e20' : '#90a4ae'}" stroke-width="${b.bold ? 3 : 1}"/>` +
          `${textLines(b.lines, x + PAD, sy + fs + 2, lh, weight)}</g>`,
      );
      sy += h + 4;
    }
    const name = node.name === null ? 'before any node' : `node ${node.name}`;
    parts.push(`<g class="node"><rect x="2" y="${top}" width="${width - 4}" height="${sy - top + 4}" rx="6" fill="#fafafa" stroke="#455a64"/><text x="12" y="${top + fs + 4}" font-weight="bold">${esc(name)}</text>${inner.join('')}</g>`);
    y = sy + 10;
  }
  const f = w.final;
  const verdict = `verdict: ${f.verdict}${f.reason !== null ? ` (${f.reason})` : ''}${f.rule !== null ? `, decided by rule ${f.rule.name} #${f.rule.id}` : ''}`;
  const out = f.verdict === 'dropped' ? 'out: nothing leaves (dropped)' : f.verdict === 'ignored' ? 'out: no emulated node touched it' : `out: ${f.packet}`;
  band('packet-out', [...wrapText(out, chars(0)), ...wrapText(verdict, chars(0))], VERDICT_FILL[f.verdict] ?? '#ffffff');
  return `<svg role="img" aria-label="path of packet ${w.number} through nodes, ports and layers" width="${width}" height="${y}" viewBox="0 0 ${width} ${y}" font-family="system-ui,sans-serif" font-size="${fs}">${parts.join('')}</svg>`;
}

/** explain's closing lines (vfp/trace-text.ts explainTail) from the walk's `final`: `Final packet:` ... `Verdict:`, the reason's sentence, warnings, Service. */
export function tailLines(w: Walk): string[] {
  const f = w.final;
  const out = [`Final packet: ${f.packet}`, `Unified flow: ${f.unified_flow}`, `Actions: ${f.actions}`, `Verdict: ${f.verdict}${f.reason !== null ? ` (${f.reason})` : ''}`];
  if (f.sentence !== null && (f.verdict === 'dropped' || f.verdict === 'no-return')) out.push(`${f.verdict === 'dropped' ? `Dropped at node ${f.node ?? '-'}` : 'No return'}: ${f.sentence}`);
  if (f.warnings.length > 0) out.push(`Warnings: ${f.warnings.join(', ')}`);
  if (f.service !== null) out.push(`Service: ${f.service} -> backend ${f.backend}`);
  return out;
}

/** The diagram with explain's first and closing lines as HTML around it (module comment). */
export function pathFigure(w: Walk, opts: DiagramOptions = {}): string {
  return `<p class="meta">${esc(`Packet ${w.number}: ${w.input}`)}</p>${pathSvg(w, opts)}<p class="why">${tailLines(w).map(esc).join('<br>')}</p>`;
}
