/**
 * A walk as data: the Trace one packet's explanation records (explain.ts, written by trace-text.ts's
 * TextTracer) given as steps, for `vfp-emu explain --format json` and `vfp-emu trace` (both, text and JSON,
 * at `--detail summary|full`). One function, `walkOf`, turns a walked packet into data for both commands;
 * `walkText` prints it: at `full` exactly what explain has always printed (Trace.format), at `summary` one
 * line per hop (a node the packet crosses).
 *
 * A step (`WalkStep`): the node, port, layer and group it happens in (their bare names, as `vfp-emu rules`
 * prints them), the rule it names (friendly name and `Id` as `vfp-emu rules` prints them), the action (the
 * words of an action line), the words of the line, and the packet after the step (its tracked 5-tuple; the
 * closing `final.packet` also shows the Ethernet and VXLAN headers). A hop (`detail: summary`) folds a node's
 * steps into one: its entry port, every rule that matched and every action, the last error or warning.
 *
 * JSON keeps names exactly as the config files hold them (JSON writes control characters as `\u` escapes);
 * the text form passes every line through core/safe-text.ts `safeText`, as explain does.
 */

import { safeText } from '../core/safe-text';
import type { CompiledDataplane } from './compile';
import type { ExplainedPacket } from './engine';
import { T_ACTION, T_GROUP, T_LAYER, T_NODE, T_PORT, type TraceLine } from './explain';
import type { Rule } from './objects';
import { VERDICT_NAMES, reasonCode, reasonSentence, warningCodes } from './reasons';
import type { Results } from './results';
import { endpointName } from './trace-text';

export type Detail = 'summary' | 'full';

const KIND_NAMES = ['node', 'port', 'layer', 'group', 'rule', 'action', 'detail', 'warning', 'error'] as const;
export type StepKind = (typeof KIND_NAMES)[number] | 'hop';

/** A rule as `vfp-emu rules` lists it: `Friendly name : NAME, Id : ID`, with its priority and type. */
export interface WalkRule {
  name: string;
  id: number;
  priority: number;
  type: string;
}

export interface WalkStep {
  kind: StepKind;
  node: string | null;
  port: string | null;
  layer: string | null;
  group: string | null;
  rule: WalkRule | null;
  /** The action's words (an action line; a hop: its actions joined by '; '), else null. */
  action: string | null;
  text: string;
  /** The packet after the step (protocol, addresses, ports, TCP flags / ICMP type). */
  packet: string;
  /** A hop only: every rule that matched in the node, in order. */
  rules?: WalkRule[];
}

/** The outcome of the walk: the verdict record's fields, and explain's closing lines. */
export interface WalkFinal {
  verdict: string;
  reason: string | null;
  /** The reason's sentence (reasons.ts), null without a reason. */
  sentence: string | null;
  node: string | null;
  ingress: string | null;
  egress: string | null;
  service: string | null;
  backend: string | null;
  warnings: string[];
  /** The rule that decided (Results.rule), null for a layer's default action or none. */
  rule: WalkRule | null;
  /** `Final packet:` of explain (with the Ethernet and VXLAN headers). */
  packet: string;
  /** `Unified flow:` of explain. */
  unified_flow: string;
  /** `Actions:` of explain. */
  actions: string;
}

export interface Walk {
  /** The packet's number (explain: in the trace; trace: 1 the request, 2 the reply). */
  number: number;
  input: string;
  detail: Detail;
  steps: WalkStep[];
  final: WalkFinal;
}

export function ruleData(r: Rule): WalkRule {
  return { name: r.name, id: r.local, priority: r.priority, type: r.type };
}

/** The packet `e` walked (row `i` of `r` its verdict) as data at `detail`. */
export function walkOf(c: CompiledDataplane, e: ExplainedPacket, r: Results, i: number, detail: Detail): Walk {
  const full = fullSteps(e);
  return { number: e.number, input: e.input, detail, steps: detail === 'full' ? full : hops(full, e.trace.recorded), final: finalOf(c, e, r, i) };
}

/** Whether a unified flow table hit decided packet `e` (the fast path: no layer walked). */
export function flowHit(e: ExplainedPacket): boolean {
  return e.trace.recorded.some((l) => l.tag === 'flow-hit');
}

/** One step per line of the trace, each with where it happens and the packet after it. */
function fullSteps(e: ExplainedPacket): WalkStep[] {
  const lines = e.trace.recorded;
  const where: (string | null)[] = [null, null, null, null]; // node, port, layer, group by kind
  const depthOf: number[] = [-1, -1, -1, -1];
  const steps: WalkStep[] = [];
  lines.forEach((l: TraceLine, j: number) => {
    const opens = l.kind <= T_GROUP;
    for (let k = 0; k < 4; k++) if (depthOf[k] >= l.depth) [where[k], depthOf[k]] = [null, -1];
    if (opens) [where[l.kind], depthOf[l.kind]] = [l.name ?? l.text, l.depth];
    steps.push({
      kind: KIND_NAMES[l.kind],
      node: where[T_NODE],
      port: where[T_PORT],
      layer: where[T_LAYER],
      group: where[T_GROUP],
      rule: l.rule !== undefined ? ruleData(l.rule) : null,
      action: l.kind === T_ACTION ? l.text : null,
      text: l.text,
      packet: lines[j + 1]?.packet ?? e.after,
    });
  });
  return steps;
}

/** The steps (one per line of `lines`) folded into one per hop (a node line opens a hop; lines before the first node are one of their own). */
function hops(steps: WalkStep[], lines: readonly TraceLine[]): WalkStep[] {
  const out: WalkStep[] = [];
  const notes: { sw: string; problem: string }[] = [];
  let hop: WalkStep | null = null;
  steps.forEach((s, j) => {
    if (hop === null || s.kind === 'node') {
      hop = { kind: 'hop', node: s.node, port: null, layer: null, group: null, rule: null, action: null, text: '', packet: s.packet, rules: [] };
      out.push(hop);
      notes.push({ sw: '', problem: '' });
    }
    foldInto(hop, s, lines[j], notes[notes.length - 1]);
  });
  out.forEach((h, k) => (h.text = hopText(h, notes[k])));
  return out;
}

/** Adds step `s` (of trace line `l`) to its hop: entry port, rules, actions; `note` keeps the switch's decision and the last error or warning. */
function foldInto(hop: WalkStep, s: WalkStep, l: TraceLine, note: { sw: string; problem: string }): void {
  hop.packet = s.packet;
  if (hop.port === null && s.port !== null) hop.port = s.port;
  if (s.rule !== null) {
    hop.rules!.push(s.rule);
    [hop.rule, hop.layer, hop.group] = [s.rule, s.layer, s.group];
  }
  if (s.action !== null) hop.action = hop.action === null ? s.action : `${hop.action}; ${s.action}`;
  if (l.tag === 'switch') note.sw = s.text;
  if (s.kind === 'error' || s.kind === 'warning') note.problem = `${s.kind}: ${s.text}`;
}

/** A hop in a line: `node win-1: in PORT; rule A #3, B #7; SNAT ...; switch: ...; error: ...`. */
function hopText(h: WalkStep, note: { sw: string; problem: string }): string {
  const parts: string[] = [];
  if (h.port !== null) parts.push(`in ${h.port}`);
  if (h.rules!.length > 0) parts.push(`rule ${h.rules!.map((r) => `${r.name} #${r.id}`).join(', ')}`);
  if (h.action !== null) parts.push(h.action);
  if (note.sw !== '') parts.push(note.sw);
  if (note.problem !== '') parts.push(note.problem);
  return `${h.node !== null ? `node ${h.node}: ` : ''}${parts.join('; ')}`;
}

function finalOf(c: CompiledDataplane, e: ExplainedPacket, r: Results, i: number): WalkFinal {
  const tail = (prefix: string): string => e.trace.tail.find((t) => t.startsWith(prefix))?.slice(prefix.length) ?? '';
  const reason = r.reason[i];
  const be = r.backend[i];
  const rule = r.rule[i] >= 0 ? c.rules[r.rule[i]] : undefined;
  return {
    verdict: VERDICT_NAMES[r.verdict[i]],
    reason: reasonCode(reason),
    sentence: reason ? reasonSentence(reason) : null,
    node: c.nodes[r.node[i]]?.name ?? null,
    ingress: endpointName(c, r.ingress[i]),
    egress: endpointName(c, r.egress[i]),
    service: r.service[i] >= 0 ? (c.services[r.service[i]] ?? null) : null,
    backend: be >= 0 ? `${c.backends[be].includes(':') ? `[${c.backends[be]}]` : c.backends[be]}:${c.backendPorts[be]}` : null,
    warnings: warningCodes(r.warnings[i]),
    rule: rule !== undefined ? ruleData(rule) : null,
    packet: tail('Final packet: '),
    unified_flow: tail('Unified flow: '),
    actions: tail('Actions: '),
  };
}

/** What `vfp-emu explain` prints for a walked packet: `Packet N: INPUT`, the tree, the closing lines. */
export function explainedText(e: ExplainedPacket): string {
  return `Packet ${e.number}: ${e.input}\n\n${e.trace.format()}`;
}

/**
 * The walk in words: at `full` what explain prints (`Packet N: INPUT`, the tree, the closing lines); at
 * `summary` one line per hop instead of the tree.
 */
export function walkText(w: Walk, e: ExplainedPacket): string {
  if (w.detail === 'full') return explainedText(e);
  const head = `Packet ${w.number}: ${e.input}\n\n`;
  const lines = w.steps.map((s) => s.text);
  return head + [...lines, '', ...e.trace.tail].map(safeText).join('\n') + '\n';
}
