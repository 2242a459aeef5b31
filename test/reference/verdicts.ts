/**
 * The REFERENCE writer of the verdict records (test only): the string-based writer the pipeline's byte
 * encoder (src/pipeline/verdict-encoder.ts) replaced, kept as the oracle of test/pipeline-reference.ts.
 *
 * The verdict record of `replay --verdicts` (DESIGN.md, CONTRACT: verdict record): one JSON object per
 * input packet, in input order, keys in the contract's order.
 *
 * `flow` is the packet as it was captured (taken by `FlowSnapshot.take` after decode, before the engine
 * rewrote it); `out` is the packet as it finally leaves or arrives, read back from the rewritten bytes
 * (the batch is decoded again after the engine ran). Extensions to the contract, all additive:
 * `flow`/`out` carry `icmp_type`/`icmp_code` for ICMP, and `out.eth` the Ethernet addresses as they leave
 * (the L2bridge MAC rewrite shows there).
 *
 * Names (node, ingress, egress, service) come from the config files and are written by core/safe-text.ts
 * `jsonText`: C1 controls, bidi overrides and other format characters as JSON `\u` escapes, so a JSON
 * reader gets the names unchanged and `cat verdicts.jsonl` shows no raw control or bidi character.
 */
import { FlowColumns, PF, type Batch } from '../../src/core/batch';
import { jsonText } from '../../src/core/safe-text';
import { ipv4Text, ipv6Text, macText } from '../../src/decode/format';
import { reasonCode, V, VERDICT_NAMES, warningCodes } from '../../src/vfp/reasons';
import type { Results } from '../../src/vfp/results';
import type { Dataplane } from '../../src/vfp/engine';

/** The decoded L3/L4 tuple of each packet of a batch (core/batch.ts FlowColumns), copied before the engine rewrites the packets. */
export class FlowSnapshot extends FlowColumns {
  /** Copies the tuple of every packet of `b`. */
  take(b: Batch): void {
    this.takeRange(b, 0, b.count);
  }
}

function tuple(
  ipVer: number,
  proto: number,
  flags: number,
  src: string,
  dst: string,
  sport: number,
  dport: number,
  icmpType: number,
  icmpCode: number,
): string {
  const ports = (flags & PF.HAS_PORTS) !== 0;
  let s = `{"proto":${proto},"src":"${src}","sport":${ports ? sport : 'null'},"dst":"${dst}","dport":${ports ? dport : 'null'}`;
  if ((flags & PF.HAS_ICMP) !== 0) s += `,"icmp_type":${icmpType},"icmp_code":${icmpCode}`;
  void ipVer;
  return s;
}

function flowJson(f: FlowSnapshot, i: number, b: Batch): string {
  const v = f.ipVer[i];
  if (v !== 4 && v !== 6) return 'null';
  const src = v === 4 ? ipv4Text(f.src4[i]) : ipv6Text(f.addr6, i * 32);
  const dst = v === 4 ? ipv4Text(f.dst4[i]) : ipv6Text(f.addr6, i * 32 + 16);
  void b;
  return tuple(v, f.proto[i], f.flags[i], src, dst, f.sport[i], f.dport[i], f.icmpType[i], f.icmpCode[i]) + '}';
}

/** `out` from the re-decoded (rewritten) packet: the inner packet when encapsulated, plus `outer`. */
function outJson(b: Batch, r: Results, i: number): string {
  const verdict = r.verdict[i];
  if (verdict === V.DROPPED || verdict === V.IGNORED) return 'null';
  const a = b.arena;
  const base = b.off[i];
  const enc = r.encap[i] === 1 && (b.flags[i] & PF.TUNNEL) !== 0;
  let s: string;
  if (enc) {
    const v = b.innerIpVer[i];
    const l3 = base + b.innerL3Off[i];
    const src = v === 4 ? ipv4Text(b.innerSrc4[i]) : ipv6Text(a, l3 + 8);
    const dst = v === 4 ? ipv4Text(b.innerDst4[i]) : ipv6Text(a, l3 + 24);
    const ports = (b.flags[i] & PF.INNER_PORTS) !== 0;
    s = `{"proto":${b.innerProto[i]},"src":"${src}","sport":${ports ? b.innerSport[i] : 'null'},"dst":"${dst}","dport":${ports ? b.innerDport[i] : 'null'}`;
    const l2 = b.innerL2Off[i];
    if (l2 >= 0) s += `,"eth":{"src":"${macText(a, base + l2 + 6)}","dst":"${macText(a, base + l2)}"}`;
    s += `,"outer":{"src":"${ipv4Text(r.outerSrc[i])}","dst":"${ipv4Text(r.outerDst[i])}","dport":${r.outerDport[i]},"vni":${r.vni[i]}}}`;
    return s;
  }
  const v = b.ipVer[i];
  if (v !== 4 && v !== 6) return 'null';
  const l3 = base + b.l3Off[i];
  const src = v === 4 ? ipv4Text(b.src4[i]) : ipv6Text(a, l3 + 8);
  const dst = v === 4 ? ipv4Text(b.dst4[i]) : ipv6Text(a, l3 + 24);
  s = tuple(v, b.proto[i], b.flags[i], src, dst, b.sport[i], b.dport[i], b.icmpType[i], b.icmpCode[i]);
  const l2 = b.l2Off[i];
  if (l2 >= 0 && b.linktype[i] === 1) s += `,"eth":{"src":"${macText(a, base + l2 + 6)}","dst":"${macText(a, base + l2)}"}`;
  return s + '}';
}

/**
 * The verdict records of a batch, one line each. Call after the engine ran and the batch was decoded
 * again; `f` holds the tuples as captured.
 */
export function verdictLines(b: Batch, r: Results, f: FlowSnapshot, dp: Dataplane): string {
  let out = '';
  for (let i = 0; i < b.count; i++) {
    const reason = r.reason[i];
    const warns = warningCodes(r.warnings[i]);
    out +=
      `{"packet":${b.firstNumber + i},"verdict":"${VERDICT_NAMES[r.verdict[i]]}","reason":${reason === 0 ? 'null' : `"${reasonCode(reason)}"`}` +
      `,"warnings":[${warns.map((w) => `"${w}"`).join(',')}]` +
      `,"node":${jsonText(r.node[i] >= 0 ? dp.nodeName(r.node[i]) : null)}` +
      `,"ingress":${jsonText(r.ingress[i] >= 0 ? dp.endpointName(r.ingress[i]) : null)}` +
      `,"egress":${jsonText(r.egress[i] >= 0 ? dp.endpointName(r.egress[i]) : null)}` +
      `,"flow":${flowJson(f, i, b)}` +
      `,"out":${outJson(b, r, i)}` +
      `,"service":${jsonText(r.service[i] >= 0 ? dp.serviceName(r.service[i]) : null)}` +
      `,"backend":${jsonText(r.backend[i] >= 0 ? dp.backendName(r.backend[i]) : null)}}\n`;
  }
  return out;
}
