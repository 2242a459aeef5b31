/**
 * `vfp-emu explain TRACE --cluster FILE... --packet N`: replays packets 1..N-1 silently (so the flow table,
 * NAT ports and TCP state are what they would be), then walks packet N through the nodes, ports, layers,
 * groups and rules in words, ending with the final packet, the cached flow and the actions (like
 * ovs-appctl ofproto/trace).
 */
import { Batch } from '../core/batch';
import { UsageError } from '../core/errors';
import { writeStdout } from '../core/stdout';
import { flagInt, flagList, flagString, type ParsedArgs } from '../cli-args';
import { decodeBatch } from '../decode/decoder';
import { openCapture } from '../io/reader';
import { Results } from '../vfp/results';
import { prepareDataplane } from './replay';
import { DEFAULT_MAX_CONFIG_BYTES } from '../cluster/limits';

/** The explanation of packet `packet` (1-based) of `trace`. Throws the reader's error if the file ends first. */
export function explainTrace(
  trace: string,
  clusterFiles: string[],
  packet: number,
  opts: { windows?: string; seed: number; view: 'pod' | 'wire'; vxlanPorts: number[]; strictSnaplen?: boolean; maxConfigBytes?: number },
): string {
  const { dataplane } = prepareDataplane(clusterFiles, opts);
  const reader = openCapture(trace, { strictSnaplen: opts.strictSnaplen ?? true });
  const batch = new Batch();
  const results = new Results(batch.capacity);
  const decodeOpts = { vxlanPorts: opts.vxlanPorts.length > 0 ? opts.vxlanPorts : undefined };
  try {
    for (;;) {
      const n = reader.next(batch);
      if (n === 0) break;
      const last = batch.firstNumber + n - 1;
      if (last < packet) {
        decodeBatch(batch, decodeOpts);
        dataplane.process(batch, results);
        continue;
      }
      // The batch holding packet N: the packets before it one at a time, then N with a trace.
      const target = packet - batch.firstNumber;
      batch.count = target + 1;
      decodeBatch(batch, decodeOpts);
      results.reset(batch.count);
      const idx = new Uint32Array(target);
      for (let k = 0; k < target; k++) idx[k] = k;
      dataplane.processWith(dataplane.state, batch, results, idx, target);
      return dataplane.explainPacket(batch, target, results);
    }
  } finally {
    reader.close();
  }
  if (reader.error !== null) throw reader.error;
  throw new UsageError(`--packet ${packet}: the trace has only ${reader.packetsRead} packets`);
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
  });
  writeStdout(text.endsWith('\n') ? text : text + '\n');
  return 0;
}
