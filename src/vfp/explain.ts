/**
 * The explain trace: a tree of words recorded while one packet goes through the engine, printed like Open
 * vSwitch's `ofproto/trace` (style.md §3): nodes, ports, layers and groups can hold children; rules,
 * actions, details, warnings and errors are leaves. The engine records only when a Trace is attached
 * (`if (T !== null)` around every call), so processing without explain costs one null test per step.
 *
 * Printed form:
 *   node("win-1")              a node the packet visits, underlined
 *   port ... / layer ... / group ...   indented two spaces per level
 *     rule NAME (priority, type)       the rule that matched
 *     -> detail                        something the engine looked at
 *     >> warning                       a warning reason
 *     >>>> error <<<<                  what dropped it
 * and it always ends with `Final packet:`, `Unified flow:` and `Actions:` lines (engine.ts fills them).
 *
 * The texts hold names from the cluster's config files (nodes, pods, Services, rules named after them):
 * `format` passes every line through core/safe-text.ts `safeText`, so control characters, C1 controls and
 * bidi overrides print as visible escapes and a name cannot forge a line of the explanation.
 */

import { safeText } from '../core/safe-text';
import type { Rule } from './objects';

export const T_NODE = 0;
export const T_PORT = 1;
export const T_LAYER = 2;
export const T_GROUP = 3;
export const T_RULE = 4;
export const T_ACTION = 5;
export const T_DETAIL = 6;
export const T_WARN = 7;
export const T_ERROR = 8;

/**
 * One line of the tree. Besides its words, what walk.ts gives as data (`--format json`): `name`, the bare name
 * of the node, port, layer or group it opens (the text adds the direction); `rule`, the rule a T_RULE line
 * names (its `Id` as `vfp-emu rules` prints it); `packet`, the tracked packet tuple when the line was written
 * (before the step's own rewrite: walk.ts takes the next line's as the packet after an action).
 */
export interface TraceLine {
  depth: number;
  kind: number;
  text: string;
  name?: string;
  rule?: Rule;
  packet?: string;
  /** What a T_DETAIL line records, for walk.ts and trace.ts to read without matching its words. */
  tag?: LineTag;
}

/** `switch`: the switch's forwarding decision (deliver to a port, out to the wire); `flow-hit`: a unified flow table hit. */
export type LineTag = 'switch' | 'flow-hit';

export class Trace {
  private lines: TraceLine[] = [];
  private depth = 0;
  /** Closing lines (Final packet, Unified flow, Actions, Dropped at). */
  tail: string[] = [];
  /**
   * The packet's tracked tuple now, in words (trace-text.ts TextTracer sets it from the PacketCtx): each line
   * records it, for walk.ts. Null: lines hold none.
   */
  snapshot: (() => string) | null = null;

  /** The lines recorded, in order (walk.ts reads them as data). */
  get recorded(): readonly TraceLine[] {
    return this.lines;
  }

  /** Opens a node that can hold children (T_NODE, T_PORT, T_LAYER, T_GROUP); `name`: its bare name for walk.ts. */
  open(kind: number, text: string, name?: string): void {
    this.lines.push(this.line(kind, text, name, undefined));
    this.depth++;
  }

  private line(kind: number, text: string, name: string | undefined, rule: Rule | undefined): TraceLine {
    const l: TraceLine = { depth: this.depth, kind, text };
    if (name !== undefined) l.name = name;
    if (rule !== undefined) l.rule = rule;
    if (this.snapshot !== null) l.packet = this.snapshot();
    return l;
  }

  close(): void {
    if (this.depth > 0) this.depth--;
  }

  /** Closes back to depth `d` (after an early return inside nested nodes). */
  closeTo(d: number): void {
    this.depth = Math.min(this.depth, d);
  }

  get level(): number {
    return this.depth;
  }

  /** Adds a leaf (T_RULE, T_ACTION, T_DETAIL, T_WARN, T_ERROR); `rule`: the rule a T_RULE line names; `tag`: what the line records. */
  leaf(kind: number, text: string, rule?: Rule, tag?: LineTag): void {
    const l = this.line(kind, text, undefined, rule);
    if (tag !== undefined) l.tag = tag;
    this.lines.push(l);
  }

  format(): string {
    const out: string[] = [];
    for (const l of this.lines) {
      if (l.kind === T_NODE) {
        if (out.length > 0) out.push('');
        const head = `node("${l.text}")`;
        out.push(head, '-'.repeat(safeText(head).length));
        continue;
      }
      const pad = '  '.repeat(Math.max(0, l.depth - 1));
      switch (l.kind) {
        case T_PORT:
          out.push(`${pad}port ${l.text}`);
          break;
        case T_LAYER:
          out.push(`${pad}layer ${l.text}`);
          break;
        case T_GROUP:
          out.push(`${pad}group ${l.text}`);
          break;
        case T_RULE:
          out.push(`${pad}rule ${l.text}`);
          break;
        case T_ACTION:
          out.push(`${pad}action: ${l.text}`);
          break;
        case T_DETAIL:
          out.push(`${pad} -> ${l.text}`);
          break;
        case T_WARN:
          out.push(`${pad} >> ${l.text}`);
          break;
        default:
          out.push(`${pad} >>>> ${l.text} <<<<`);
      }
    }
    out.push('', ...this.tail);
    return out.map(safeText).join('\n') + '\n';
  }
}
