/**
 * The output trace of `replay --out`: every input packet as it finally leaves (forwarded, no-return), as it
 * reaches the pod or host (delivered), or as it arrived (dropped, ignored), in input order, as pcapng.
 *
 * One interface per egress point, named `<node> <egress>` (`win-1 wire`, `win-1 pod/default/client-0`,
 * `win-1 host`), plus `<node> drop` for the packets a node dropped and `not emulated` for ignored ones
 * (`not emulated (link type N)` for those of another link layer than Ethernet, e.g. an ARP in a Linux
 * cooked capture: the engine frames every IP packet as Ethernet, so only ignored ones keep their own).
 * Each packet carries, as etl2pcapng does for pktmon captures: a comment `packet N: <verdict> [<reason>:
 * <sentence>]`, epb_flags direction (1 inbound = delivered, 2 outbound = forwarded/no-return), and for drops
 * epb_verdict type 2 value 1 (dropped by the OS), so Wireshark can filter `frame.verdict`.
 *
 * Interface names come from the config (node and pod names): each is escaped by core/safe-text.ts
 * `safeText` (Wireshark and tshark print if_name and if_description to people and terminals) and capped
 * at IFACE_NAME_MAX bytes, ending in `…` when cut (`ifaceName`). The pcapng format holds 65535 bytes per
 * option, which io/writer.ts enforces for any string; the lower cap here keeps an interface block small
 * (the pipeline reserves room for one per packet of a batch) and the names readable, and a name is still
 * told apart by its first kilobyte. When a config name makes an egress point's name longer than the cap,
 * `replay --out` says so once in the summary's diagnostics (`egressNameDiagnostic`, code
 * `output-field-truncated`), and the file stays readable.
 *
 * Uses: the batch after the engine ran (bytes rewritten in place), Results, the Dataplane's names.
 * Timestamps keep the input's units (the first interface's resolution; other units are converted exactly).
 */
import type { Batch } from '../core/batch';
import { createWriter, type ByteSink, type CaptureWriter } from '../io/writer';
import type { InterfaceInfo } from '../io/reader';
import { secFracToTicks, ticksToSecFrac, tsResult, tsresolFromUnits } from '../io/timestamps';
import { reasonCode, reasonSentence, V, VERDICT_NAMES } from '../vfp/reasons';
import type { Results } from '../vfp/results';
import type { Dataplane } from '../vfp/engine';
import type { Diagnostic } from '../cluster/model';
import { capText, safeText, shortText, utf8Length } from '../core/safe-text';

/** Most UTF-8 bytes of an egress point's interface name in the output trace (see the module comment). */
export const IFACE_NAME_MAX = 1024;

/** The if_name of egress point `text` (`win-1 pod/default/web-0`): escaped, capped at IFACE_NAME_MAX bytes. */
export function ifaceName(text: string): string {
  return capText(safeText(text), IFACE_NAME_MAX);
}

/** Bytes of the longest escaped name among node names (`nodes`) or endpoint names, and that name. */
function longestName(dp: Dataplane, nodes: boolean): { bytes: number; name: string } {
  const count = nodes ? dp.c.nodes.length : 3 + dp.c.pods.length;
  let best = { bytes: 0, name: '' };
  for (let k = 0; k < count; k++) {
    const name = (nodes ? dp.nodeName(k) : dp.endpointName(k)) ?? '';
    const bytes = utf8Length(safeText(name));
    if (bytes > best.bytes) best = { bytes, name };
  }
  return best;
}

/** Bytes of the longest egress point text `<node> <endpoint>` of the cluster, escaped and not capped. */
export function longestEgressName(dp: Dataplane): number {
  return longestName(dp, true).bytes + 1 + longestName(dp, false).bytes;
}

/**
 * The `output-field-truncated` warning when some egress point's interface name would be longer than
 * IFACE_NAME_MAX bytes (a node or pod name of the config is that long), else null: one diagnostic for the
 * run, naming the longest name.
 */
export function egressNameDiagnostic(dp: Dataplane): Diagnostic | null {
  const node = longestName(dp, true);
  const ep = longestName(dp, false);
  if (node.bytes + 1 + ep.bytes <= IFACE_NAME_MAX) return null;
  const which = node.bytes >= ep.bytes ? `node ${shortText(node.name)}` : `${shortText(ep.name)}`;
  return {
    code: 'output-field-truncated',
    severity: 'warning',
    message: `the output trace's interface names (if_name, if_description) are cut at ${IFACE_NAME_MAX} bytes, ending in '…': ${which} makes one of ${node.bytes + 1 + ep.bytes} bytes (the file stays readable)`,
    source: which,
  };
}

/**
 * epb_verdict for drops, as etl2pcapng writes it: type 2 (Linux eBPF XDP) then its 8-byte value 1 (the
 * pcapng spec's u64, little-endian like the rest of the file). tshark refuses any other length for type 2
 * ("XDP verdict option length 2 is != 9") and stops reading the file there.
 */
const DROP_VERDICT = new Uint8Array([2, 1, 0, 0, 0, 0, 0, 0, 0]);

export class OutTrace {
  private readonly w: CaptureWriter;
  private readonly ifaceByKey = new Map<string, number>();
  private outUnits = 0;
  private outResol = 6;

  /** `file`: a path, or a ByteSink (a MemorySink: the browser page builds the file in memory). */
  constructor(
    file: string | ByteSink,
    private readonly dp: Dataplane,
  ) {
    this.w = createWriter(file, 'pcapng');
  }

  private iface(key: string, linkType: number): number {
    let k = this.ifaceByKey.get(key);
    if (k === undefined) {
      const name = ifaceName(key);
      k = this.w.addInterface({ linkType, tsresol: this.outResol, name, description: `vfp-emu egress point ${name}` });
      this.ifaceByKey.set(key, k);
    }
    return k;
  }

  /** Write the batch's packets (after the engine ran on it). */
  writeBatch(b: Batch, r: Results, inIfaces: readonly InterfaceInfo[]): void {
    if (this.outUnits === 0) {
      const first = inIfaces[b.iface[0]] ?? inIfaces[0];
      const units = first?.tsUnitsPerSec ?? 1e6;
      const resol = tsresolFromUnits(units);
      this.outUnits = resol !== null && units <= 1e9 ? units : 1e9;
      this.outResol = tsresolFromUnits(this.outUnits) ?? 9;
    }
    for (let i = 0; i < b.count; i++) {
      const n = b.firstNumber + i;
      const verdict = r.verdict[i];
      const node = r.node[i] >= 0 ? this.dp.nodeName(r.node[i]) : '';
      let key: string;
      const linkType = b.linktype[i];
      if (verdict === V.IGNORED) key = linkType === 1 ? 'not emulated' : `not emulated (link type ${linkType})`;
      else if (verdict === V.DROPPED) key = `${node} drop`;
      else key = `${node} ${r.egress[i] >= 0 ? this.dp.endpointName(r.egress[i]) : 'wire'}`;
      let comment = `packet ${n}: ${VERDICT_NAMES[verdict]}`;
      if (r.reason[i] !== 0) comment += ` ${reasonCode(r.reason[i])}: ${reasonSentence(r.reason[i])}`;
      this.timestamp(b, i, inIfaces);
      const dropped = verdict === V.DROPPED;
      this.w.writePacket(b.arena.subarray(b.off[i], b.off[i] + b.caplen[i]), {
        tsHi: tsResult[0],
        tsLo: tsResult[1],
        wirelen: b.wirelen[i],
        iface: this.iface(key, linkType),
        noTimestamp: Number.isNaN(b.ts[i]),
        options: {
          comments: [comment],
          flags: verdict === V.DELIVERED ? 1 : verdict === V.FORWARDED || verdict === V.NO_RETURN ? 2 : 0,
          verdicts: dropped ? [DROP_VERDICT] : undefined,
        },
      });
    }
  }

  /** Packet i's timestamp in the output units, into tsResult. */
  private timestamp(b: Batch, i: number, inIfaces: readonly InterfaceInfo[]): void {
    const info = inIfaces[b.iface[i]];
    if (info === undefined || Number.isNaN(b.ts[i])) {
      tsResult[0] = 0;
      tsResult[1] = 0;
      return;
    }
    if (info.tsKind === 'sec-frac') {
      secFracToTicks(b.tsHi[i], b.tsLo[i], info.tsUnitsPerSec, this.outUnits);
    } else if (info.tsUnitsPerSec === this.outUnits) {
      tsResult[0] = b.tsHi[i];
      tsResult[1] = b.tsLo[i];
    } else {
      ticksToSecFrac(b.tsHi[i], b.tsLo[i], info.tsUnitsPerSec, this.outUnits);
      secFracToTicks(tsResult[0], tsResult[1], this.outUnits, this.outUnits);
    }
  }

  close(): void {
    this.w.close();
  }
}
