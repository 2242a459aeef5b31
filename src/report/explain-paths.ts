/**
 * The paths the HTML report draws (issue 13): several packets of one trace explained in one read of it,
 * and each explanation as data for a diagram.
 *
 * `explainPackets` is explain-loop.ts's replay for several packets: every packet decided in order with one
 * Dataplane, the chosen ones with a trace (Dataplane.explainPacket decides the packet as `process` does,
 * so the packets after it see the state a replay leaves).
 *
 * `parseExplain` is a small adapter from explain's text (src/vfp/explain.ts `Trace.format`: `node("N")`
 * and its underline, then `port`, `layer`, `group`, `rule`, `action:`, ` -> `, ` >> `, ` >>>> ... <<<<`
 * lines indented two spaces per level, a blank line, the closing `Final packet:` ... lines) to steps. The
 * walk-as-data of `vfp-emu trace` (src/vfp/walk.ts, built alongside) is where it should come from once that
 * lands: the diagram needs only node, kind, depth and text per step, which that tree holds.
 */
import { Batch } from '../core/batch';
import { decodeBatch, type DecodeOptions } from '../decode/decoder';
import type { CaptureReader } from '../io/reader';
import type { Dataplane } from '../vfp/engine';
import { Results } from '../vfp/results';

/** The explanations of `packets` (1-based numbers) of the trace `reader` reads, by number; the caller closes the reader. */
export function explainPackets(reader: CaptureReader, dp: Dataplane, decode: DecodeOptions, packets: readonly number[]): Map<number, string> {
  const want = [...new Set(packets)].sort((a, b) => a - b);
  const out = new Map<number, string>();
  const batch = new Batch();
  const results = new Results(batch.capacity);
  const idx = new Uint32Array(batch.capacity);
  let w = 0;
  while (w < want.length) {
    const n = reader.next(batch);
    if (n === 0) break;
    const first = batch.firstNumber;
    decodeBatch(batch, decode);
    results.reset(n);
    let from = 0;
    for (; w < want.length && want[w] < first + n; w++) {
      const t = want[w] - first;
      let m = 0;
      for (let i = from; i < t; i++) idx[m++] = i;
      dp.processWith(dp.state, batch, results, idx, m);
      out.set(want[w], dp.explainPacket(batch, t, results));
      from = t + 1;
    }
    let m = 0;
    for (let i = from; i < n; i++) idx[m++] = i;
    dp.processWith(dp.state, batch, results, idx, m);
  }
  return out;
}

export type StepKind = 'port' | 'layer' | 'group' | 'rule' | 'action' | 'detail' | 'warn' | 'error';

export interface PathStep {
  kind: StepKind;
  depth: number;
  text: string;
}

export interface PacketPath {
  /** `Packet N: ...` */
  head: string;
  nodes: { name: string; steps: PathStep[] }[];
  /** Final packet, unified flow, actions, verdict. */
  tail: string[];
}

const PREFIXES: [string, StepKind][] = [
  ['port ', 'port'],
  ['layer ', 'layer'],
  ['group ', 'group'],
  ['rule ', 'rule'],
  ['action: ', 'action'],
];

/** One line of the body as a step (null: not a step line). */
function stepOf(line: string): PathStep | null {
  const body = line.trimStart();
  const depth = Math.floor((line.length - body.length) / 2);
  if (body.startsWith('>>>> ')) return { kind: 'error', depth, text: body.slice(5).replace(/ <<<<$/, '') };
  if (body.startsWith('>> ')) return { kind: 'warn', depth, text: body.slice(3) };
  if (body.startsWith('-> ')) return { kind: 'detail', depth, text: body.slice(3) };
  for (const [p, kind] of PREFIXES) if (body.startsWith(p)) return { kind, depth, text: body.slice(p.length) };
  return null;
}

/** explain's text as a path (see the module comment). */
export function parseExplain(text: string): PacketPath {
  const lines = text.split('\n');
  const path: PacketPath = { head: lines[0] ?? '', nodes: [], tail: [] };
  let k = 1;
  let inTail = false;
  for (; k < lines.length; k++) {
    const line = lines[k];
    const node = /^node\("(.*)"\)$/.exec(line);
    if (node !== null && /^-+$/.test(lines[k + 1] ?? '')) {
      path.nodes.push({ name: node[1], steps: [] });
      k++;
      inTail = false;
      continue;
    }
    if (line === '') {
      if (path.nodes.length > 0) inTail = true;
      continue;
    }
    const step = inTail ? null : stepOf(line);
    if (step !== null && path.nodes.length > 0) path.nodes[path.nodes.length - 1].steps.push(step);
    else {
      inTail = true;
      path.tail.push(line);
    }
  }
  return path;
}
