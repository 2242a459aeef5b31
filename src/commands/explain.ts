/**
 * `vfp-emu explain TRACE --cluster FILE... --packet N`: replays packets 1..N-1 silently (so the flow table,
 * NAT ports and TCP state are what they would be), then walks packet N through the nodes, ports, layers,
 * groups and rules in words, ending with the final packet, the cached flow and the actions (like
 * ovs-appctl ofproto/trace).
 */
import { UsageError } from '../core/errors';
import { writeStdout } from '../core/stdout';
import { flagInt, flagList, flagString, type ParsedArgs } from '../cli-args';
import { openCapture } from '../io/reader';
import { pktmonFinishView, pktmonReader } from '../io/pktmon';
import { walkPacket } from '../pipeline/explain-loop';
import { walkOf, walkText, type Detail } from '../vfp/walk';
import { decodeOptionsFor, prepareDataplane } from './dataplane';
import { traceNodes } from '../vfp/trace-nodes';
import { DEFAULT_MAX_CONFIG_BYTES } from '../cluster/limits';

/**
 * The explanation of packet `packet` (1-based) of `trace` (pipeline/explain-loop.ts `walkPacket`, as the
 * page explains): text (at `detail` full, what explain has always printed; summary, a line per hop) or, with
 * `format` json, the walk as data (vfp/walk.ts: `{packet, input, detail, steps, final}`). Throws the reader's
 * error if the file ends first.
 */
export function explainTrace(
  trace: string,
  clusterFiles: string[],
  packet: number,
  opts: { windows?: string; seed: number; view: 'pod' | 'wire'; vxlanPorts: number[]; strictSnaplen?: boolean; maxConfigBytes?: number; allNodes?: boolean; format?: 'text' | 'json'; detail?: Detail; pktmonComponent?: string },
): string {
  const { cluster, dataplane } = prepareDataplane(clusterFiles, opts, opts.allNodes === true ? undefined : (c) => traceNodes(c, trace, opts.vxlanPorts, opts.strictSnaplen ?? true, packet));
  // a pktmon capture's copies are not walked again (src/io/pktmon.ts): judged at the component replay judged them at
  const reader = pktmonReader(openCapture(trace, { strictSnaplen: opts.strictSnaplen ?? true }), { component: opts.pktmonComponent });
  const decodeOpts = decodeOptionsFor(opts.vxlanPorts, cluster);
  let w: ReturnType<typeof walkPacket>;
  try {
    w = walkPacket(reader, dataplane, decodeOpts, packet);
    pktmonFinishView(reader); // a --pktmon-component no interface names is refused, as by replay
  } finally {
    reader.close();
  }
  if (w === null) throw new UsageError(`--packet ${packet}: the trace has only ${reader.packetsRead} packets`);
  const walk = walkOf(dataplane.c, w.walked, w.results, w.index, opts.detail ?? 'full');
  if (opts.format === 'json') return JSON.stringify(walk, null, 2) + '\n';
  return walkText(walk, w.walked);
}

export async function runExplainCommand(a: ParsedArgs): Promise<number> {
  if (a.positional.length !== 1) throw new UsageError('explain takes exactly one TRACE');
  const packet = flagInt(a, 'packet', 0);
  if (packet < 1) throw new UsageError('explain needs --packet N (1-based)');
  const text = explainTrace(a.positional[0], flagList(a, 'cluster'), packet, {
    windows: flagString(a, 'windows'),
    seed: flagInt(a, 'seed', 1),
    view: (flagString(a, 'view') ?? 'pod') as 'pod' | 'wire',
    vxlanPorts: flagList(a, 'vxlan-port').map(Number),
    strictSnaplen: !a.flags.has('lenient-snaplen'),
    maxConfigBytes: flagInt(a, 'max-config-bytes', DEFAULT_MAX_CONFIG_BYTES),
    allNodes: a.flags.has('all-nodes'),
    format: (flagString(a, 'format') ?? 'text') as 'text' | 'json',
    detail: (flagString(a, 'detail') ?? 'full') as Detail,
    pktmonComponent: flagString(a, 'pktmon-component'),
  });
  writeStdout(text.endsWith('\n') ? text : text + '\n');
  return 0;
}
