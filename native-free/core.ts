/**
 * The teaching page's core: the emulator on bytes in memory, with no file system, no Node API and no DOM,
 * so it runs in a browser (native-free/ui/app.ts draws it) and in a bare JavaScript context (the test).
 *
 * Uses: the replay loop of `vfp-emu replay` and `vfp-emu explain` itself (src/pipeline/replay-loop.ts:
 * the one-thread Runner with its verdict record and pcapng encoders and its counters, and `explainPacket`)
 * on the capture reader on bytes (io/reader.ts openCaptureBytes), with the cluster inputs from texts
 * (cluster/parse.ts). The rows' records are the verdict encoder's JSONL bytes, parsed; the output pcapng
 * is the encoder's blocks after the section header, kept in a MemorySink (io/writer.ts).
 * Sets nothing global. `Session.replay()` returns one row per packet (the CONTRACT verdict record plus the
 * packet in words and the reason sentences), the counts, the config diagnostics and the output pcapng;
 * `Session.explain(n)` replays packets 1..n-1 and returns the ofproto/trace-like walk of packet n.
 *
 * The embedded lesson (traces/04-icmp-lesson) is put into the bundle by native-free/build.ts as a Lesson.
 */

import { PF, type Batch } from '../src/core/batch';
import { InputError, UsageError } from '../src/core/errors';
import { decodeClusterFile, parseClusterTexts, type ClusterText } from '../src/cluster/parse';
import { runDiagnostics } from '../src/cluster/diagnostics';
import type { Cluster, Diagnostic } from '../src/cluster/model';
import type { DecodeOptions } from '../src/decode/decoder';
import { packetFields } from '../src/decode/format';
import { openCaptureBytes, type CaptureReader } from '../src/io/reader';
import { MemorySink } from '../src/io/writer';
import { sectionHeaderBlock } from '../src/pipeline/out-trace-encoder';
import { InlineRunner, slotSpec } from '../src/pipeline/replay-loop';
import { walkPacket } from '../src/pipeline/explain-loop';
import type { Slot } from '../src/pipeline/slot';
import { compileDataplane, type Dataplane } from '../src/vfp/engine';
import { DEFAULT_PROFILE, PROFILES, resolveProfile, withSetting } from '../src/vfp/profile';
import { VERDICT_NAMES, reasonId, reasonSentence } from '../src/vfp/reasons';
import { explainedText, walkOf, type Walk } from '../src/vfp/walk';

export { decodeClusterFile, DEFAULT_PROFILE, VERDICT_NAMES };
/** Names from configs and packets shown on the page go through the CLI's escaper (control, C1 and bidi characters made visible). */
export { safeMessage } from '../src/core/safe-text';
export type { ClusterText, Diagnostic, Walk };
/** The path diagram the HTML report draws (src/report/path-diagram.ts): the page draws the same. */
export { pathSvg, tailLines } from '../src/report/path-diagram';

/** The Windows profiles a user can pick (`--windows`), with their descriptions. */
export const WINDOWS_PROFILES: readonly { name: string; description: string }[] = Object.values(PROFILES).map((p) => ({
  name: p.name,
  description: p.description,
}));

/** A scenario of traces/ as the bundle embeds it (built by native-free/build.ts). */
export interface Lesson {
  /** Folder name under traces/, e.g. `04-icmp-lesson`. */
  id: string;
  name: string;
  about: string;
  view: 'pod' | 'wire';
  seed: number;
  windows: string | undefined;
  /** The cluster inputs, named by their path under traces/. */
  cluster: ClusterText[];
  /** The trace as base64 (a page opened from file:// cannot fetch local files). */
  trace: { name: string; base64: string };
  /** Per packet: the scenario's packet line, the expected verdict and the reference's words. */
  packets: { send: string; expect: string; why: string }[];
}

/** What to replay. */
export interface RunInput {
  trace: { name: string; bytes: Uint8Array };
  cluster: ClusterText[];
  view?: 'pod' | 'wire';
  seed?: number;
  /** A Windows profile spec (`ws2022`, `ws2022:icmpSnat=true`); default DEFAULT_PROFILE. */
  windows?: string;
}

/** The CONTRACT verdict record (DESIGN.md), as pipeline/verdict-encoder.ts writes it. */
export interface VerdictRecord {
  packet: number;
  verdict: string;
  reason: string | null;
  warnings: string[];
  node: string | null;
  ingress: string | null;
  egress: string | null;
  flow: Tuple | null;
  out: (Tuple & { outer?: { src: string; dst: string; dport: number; vni: number } }) | null;
  service: string | null;
  backend: string | null;
}

export interface Tuple {
  proto: number;
  src: string;
  sport: number | null;
  dst: string;
  dport: number | null;
  icmp_type?: number;
  icmp_code?: number;
}

/** One row of the page's table. */
export interface PacketRow {
  record: VerdictRecord;
  /** The packet as captured, in words: `icmp echo 10.244.1.5 → 203.0.113.10`. */
  words: string;
  /** The packet as it leaves (or reaches the pod), in words; null for dropped and ignored. */
  outWords: string | null;
  /** The reason's sentence (reasons.ts), null when there is no reason. */
  reasonSentence: string | null;
  /** Each warning code with its sentence. */
  warnings: { code: string; sentence: string }[];
}

export interface RunResult {
  /** The first MAX_ROWS packets (a table of millions of rows helps nobody; the counts cover every packet). */
  rows: PacketRow[];
  packets: number;
  verdicts: Record<string, number>;
  /** Reason code -> packets, with the sentence. */
  reasons: { code: string; packets: number; sentence: string }[];
  warnings: { code: string; packets: number; sentence: string }[];
  diagnostics: Diagnostic[];
  /** The capture's fault (file and byte offset), when it has one; every packet before it was replayed. */
  error: string | null;
  /** Every input packet as it leaves / arrives, pcapng (what `replay --out` writes). */
  outPcapng: Uint8Array;
}

/** Most rows `replay` returns. */
export const MAX_ROWS = 20000;

/** Bytes of a base64 text (no atob: the core also runs outside browsers). */
export function base64Bytes(text: string): Uint8Array {
  const clean = text.replace(/[^A-Za-z0-9+/]/g, '');
  const out = new Uint8Array(Math.floor((clean.length * 3) / 4));
  let acc = 0;
  let bits = 0;
  let o = 0;
  for (let k = 0; k < clean.length; k++) {
    const c = clean.charCodeAt(k);
    const v = c >= 97 ? c - 71 : c >= 65 ? c - 65 : c >= 48 ? c + 4 : c === 43 ? 62 : 63;
    acc = (acc << 6) | v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = (acc >> bits) & 0xff;
    }
  }
  return out.subarray(0, o);
}

/** The replay input of an embedded lesson. */
export function lessonInput(lesson: Lesson): RunInput {
  return {
    trace: { name: lesson.trace.name, bytes: base64Bytes(lesson.trace.base64) },
    cluster: lesson.cluster,
    view: lesson.view,
    seed: lesson.seed,
    windows: lesson.windows,
  };
}

/** True when the bytes start like a pcap or pcapng file (to sort dropped files into trace and cluster). */
export function looksLikeCapture(bytes: Uint8Array): boolean {
  if (bytes.length < 4) return false;
  const be = ((bytes[0] << 24) | (bytes[1] << 16) | (bytes[2] << 8) | bytes[3]) >>> 0;
  const le = ((bytes[3] << 24) | (bytes[2] << 16) | (bytes[1] << 8) | bytes[0]) >>> 0;
  const magics = [0xa1b2c3d4, 0xa1b23c4d, 0xa1b2cd34];
  return be === 0x0a0d0d0a || magics.includes(be) || magics.includes(le);
}

/**
 * What to tell the user about an error: the message of an error the input caused (InputError names the
 * file and the byte offset or field path; UsageError a bad option) as it is, anything else as a fault of
 * the emulator.
 */
export function errorMessage(e: unknown): string {
  if (e instanceof InputError || e instanceof UsageError) return e.message;
  return `vfp-emu failed (a bug, please report it with the input): ${e instanceof Error ? e.message : String(e)}`;
}

const ICMP4_TYPES: Record<number, string> = { 0: 'echo-reply', 3: 'unreachable', 5: 'redirect', 8: 'echo', 11: 'time-exceeded' };
const ICMP6_TYPES: Record<number, string> = { 1: 'unreachable', 2: 'packet-too-big', 3: 'time-exceeded', 128: 'echo', 129: 'echo-reply', 135: 'neighbor-solicit', 136: 'neighbor-advert' };
const PROTOS: Record<number, string> = { 1: 'icmp', 6: 'tcp', 17: 'udp', 58: 'icmp6', 132: 'sctp' };
const ETHER_TYPES: Record<number, string> = { 0x0806: 'ARP', 0x88cc: 'LLDP', 0x8035: 'RARP' };
/** TCP flag bits and letters in the order the scenarios write them (`S`, `SA`, `PA`, `FA`). */
const TCP_FLAGS: readonly [number, string][] = [[0x02, 'S'], [0x01, 'F'], [0x04, 'R'], [0x08, 'P'], [0x10, 'A'], [0x20, 'U'], [0x40, 'E'], [0x80, 'C']];

function endpoint(ip: string, port: number | null | undefined): string {
  if (port === null || port === undefined) return ip;
  return ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`;
}

/** `icmp echo`, `tcp`, `udp`, `proto 47`. */
function protoWords(proto: number, icmpType: number | undefined): string {
  const name = PROTOS[proto] ?? `proto ${proto}`;
  if (icmpType === undefined) return name;
  const t = (proto === 58 ? ICMP6_TYPES : ICMP4_TYPES)[icmpType];
  return `${name} ${t ?? `type ${icmpType}`}`;
}

function tcpFlags(bits: number): string {
  let s = '';
  for (const [bit, letter] of TCP_FLAGS) if ((bits & bit) !== 0) s += letter;
  return s === '' ? 'none' : s;
}

/** Packet `i` of a decoded batch, in words (before the engine rewrites it). */
function packetWords(b: Batch, i: number): string {
  const f = packetFields(b, i, b.firstNumber + i);
  const flags = b.flags[i];
  if (f.l3_src === undefined || f.l3_dst === undefined || f.proto === undefined) {
    if ((flags & PF.UNSUPPORTED_LINKTYPE) !== 0) return `link type ${b.linktype[i]} (not decoded)`;
    const et = b.ethType[i];
    if (et === 0) return (flags & PF.TRUNCATED) !== 0 ? 'truncated frame' : 'not IP';
    return `${ETHER_TYPES[et] ?? 'EtherType'} 0x${et.toString(16).padStart(4, '0')}`;
  }
  let s = `${protoWords(f.proto, f.icmp_type)} ${endpoint(f.l3_src, f.sport)} → ${endpoint(f.l3_dst, f.dport)}`;
  if (f.proto === 6 && (flags & PF.HAS_PORTS) !== 0) s += ` [${tcpFlags(b.tcpFlags[i])}]`;
  if (f.vni !== undefined) {
    s += ` (${(flags & PF.GENEVE) !== 0 ? 'geneve' : 'vxlan'} vni ${f.vni}`;
    if (f.inner_src !== undefined && f.inner_dst !== undefined) {
      const ip = (flags & PF.INNER_PORTS) !== 0;
      s += `: ${PROTOS[b.innerProto[i]] ?? `proto ${b.innerProto[i]}`} ${endpoint(f.inner_src, ip ? b.innerSport[i] : null)} → ${endpoint(f.inner_dst, ip ? b.innerDport[i] : null)}`;
    }
    s += ')';
  }
  if (f.dns_qname !== undefined) s += ` dns ${f.dns_qname}`;
  const bad = f.flags.filter((x) => x !== 'fragment');
  if ((flags & PF.FRAGMENT) !== 0) s += ' fragment';
  if (bad.length > 0) s += ` (${bad.join(', ')})`;
  return s;
}

/** The `out` of a verdict record in words: `10.127.130.11:49800 → 203.0.113.10:80`, plus the outer header. */
export function outWords(out: VerdictRecord['out']): string | null {
  if (out === null) return null;
  let s = `${endpoint(out.src, out.sport)} → ${endpoint(out.dst, out.dport)}`;
  if (out.outer !== undefined) s += ` in vxlan ${out.outer.src} → ${out.outer.dst}:${out.outer.dport} vni ${out.outer.vni}`;
  return s;
}

/** A trace and its cluster, ready to be replayed and explained as often as the page needs. */
export class Session {
  readonly cluster: Cluster;
  private readonly input: RunInput;
  private readonly decodeOpts: DecodeOptions = {};

  /** Parses the cluster inputs; throws InputError (file and field path) for a bad one, UsageError for a bad profile. */
  constructor(input: RunInput) {
    if (input.cluster.length === 0) throw new UsageError('give the cluster inputs (kubectl YAML/JSON, cni.conf, net-conf.json, ...)');
    resolveProfile(input.windows);
    this.input = input;
    this.cluster = parseClusterTexts(input.cluster);
  }

  private dataplane(): Dataplane {
    const i = this.input;
    return compileDataplane(this.cluster, { profile: resolveProfile(i.windows), seed: i.seed ?? 1, view: i.view ?? 'pod' });
  }

  private reader(): CaptureReader {
    return openCaptureBytes(this.input.trace.name, this.input.trace.bytes);
  }

  /** Replays the whole trace, as `vfp-emu replay --verdicts --out` does. Throws InputError for a bad file header. */
  replay(): RunResult {
    const dp = this.dataplane();
    const profile = resolveProfile(this.input.windows);
    const reader = this.reader();
    const table = new RowTable();
    const sink = new MemorySink();
    const shb = sectionHeaderBlock();
    sink.write(shb, shb.length);
    const write = (s: Slot, verdictBytes: number, traceBytes: number): void => {
      table.addRecords(s.verdictOut, verdictBytes);
      sink.write(s.traceOut, traceBytes);
    };
    const spec = slotSpec(dp, { verdicts: true, trace: true }, 1);
    const run = new InlineRunner(reader, dp, { decode: this.decodeOpts, failVerdicts: [], failReasons: [] }, spec, write, (b) => table.addWords(b));
    try {
      while (run.step() > 0);
    } finally {
      reader.close();
    }
    const counts = run.finish().counters; // the engine counted every packet it decided (src/vfp/counters.ts)
    return {
      rows: table.rows,
      packets: run.packetsRead(),
      verdicts: counts.byVerdict(),
      reasons: counted(counts.byReason()),
      warnings: counted(counts.byWarning()),
      diagnostics: runDiagnostics(this.cluster, { maxLbDestinations: profile.maxLbDestinations, dsrSupported: profile.dsr }, dp.diagnostics),
      error: run.error()?.message ?? null,
      outPcapng: sink.bytes(),
    };
  }

  /**
   * The explanation of packet `packet` (1-based), as `vfp-emu explain --packet N` gives it: packets 1..N-1
   * are replayed silently (flow table, NAT ports, TCP state), then N is walked with a trace.
   */
  explain(packet: number): string {
    return this.walk(packet).text;
  }

  /**
   * Packet `packet` walked as `explain` walks it (see `explain`): its text, and the walk as data
   * (src/vfp/walk.ts at detail full, what `vfp-emu explain --format json` prints) for the path diagram.
   */
  walk(packet: number): { text: string; walk: Walk } {
    if (!Number.isInteger(packet) || packet < 1) throw new UsageError(`packet ${packet}: give a packet number from 1`);
    const reader = this.reader();
    const dp = this.dataplane();
    let w: ReturnType<typeof walkPacket>;
    try {
      w = walkPacket(reader, dp, this.decodeOpts, packet);
    } finally {
      reader.close();
    }
    if (w === null) throw new UsageError(`packet ${packet}: the trace has only ${reader.packetsRead} packets`);
    return { text: explainedText(w.walked), walk: walkOf(dp.c, w.walked, w.results, w.index, 'full') };
  }
}

/**
 * The lesson's what-ifs (issue 13): the same questions `vfp-emu replay` and `trace` answer with another
 * `--windows` or `--cluster` input, asked of the lesson by replaying it with that input (`whatIfInput`).
 *   exception   the lesson's CNI config with LESSON_HOST/32 added to its OutBoundNAT ExceptionList (the file
 *               a user would pass to `replay --cluster` instead of cni.conf);
 *   icmp-snat   the profile with ICMP SNAT on: `--windows ws2022:icmpSnat=true` (src/vfp/profile.ts reads the
 *               spec; `trace` shows this what-if for icmp-not-transposed).
 */
export const LESSON_WHAT_IFS: readonly { id: 'exception' | 'icmp-snat'; label: string; cli: string }[] = [
  { id: 'exception', label: 'Add 203.0.113.10 to the ExceptionList', cli: "the lesson's cni.conf with 203.0.113.10/32 added to its OutBoundNAT ExceptionList, then `vfp-emu replay TRACE --cluster <that file> ...`" },
  { id: 'icmp-snat', label: "Turn the profile's ICMP SNAT on", cli: 'vfp-emu replay TRACE --cluster ... --windows ws2022:icmpSnat=true' },
];

/** The external host of the ICMP lesson (traces/04-icmp-lesson). */
export const LESSON_HOST = '203.0.113.10';

/**
 * The cluster texts with `cidr` added to every OutBoundNAT `ExceptionList` of a JSON CNI config (win-bridge
 * and win-overlay `policies`, their `AdditionalArgs`); a UsageError when none has one.
 */
export function withException(cluster: readonly ClusterText[], cidr: string): ClusterText[] {
  let added = 0;
  const visit = (v: unknown): void => {
    if (Array.isArray(v)) v.forEach(visit);
    else if (v !== null && typeof v === 'object') {
      for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
        if (k === 'ExceptionList' && Array.isArray(x)) {
          if (!x.includes(cidr)) x.push(cidr);
          added++;
        } else visit(x);
      }
    }
  };
  const out = cluster.map((c) => {
    let doc: unknown;
    try {
      doc = JSON.parse(c.text);
    } catch {
      return c; // YAML or another kind of input: no CNI config
    }
    const before = added;
    visit(doc);
    return added === before ? c : { name: c.name, text: JSON.stringify(doc, null, 2) };
  });
  if (added === 0) throw new UsageError(`no OutBoundNAT ExceptionList in ${cluster.map((c) => c.name).join(', ')} to add ${cidr} to`);
  return out;
}

/** The input of what-if `id` (LESSON_WHAT_IFS) applied to `input`. */
export function whatIfInput(input: RunInput, id: string): RunInput {
  if (id === 'exception') return { ...input, cluster: withException(input.cluster, `${LESSON_HOST}/32`) };
  if (id === 'icmp-snat') return { ...input, windows: withSetting(input.windows, 'icmpSnat', 'true') };
  throw new UsageError(`unknown what-if '${id}' (known: ${LESSON_WHAT_IFS.map((w) => w.id).join(', ')})`);
}

/** The packets whose verdict or reason differ between two replays of the same trace: packet number -> the first's `verdict reason`. */
export function changedRows(before: RunResult, after: RunResult): Map<number, string> {
  const out = new Map<number, string>();
  const words = (r: VerdictRecord): string => [r.verdict, r.reason].filter((x) => x !== null).join(' ');
  const n = Math.min(before.rows.length, after.rows.length);
  for (let k = 0; k < n; k++) {
    const [a, b] = [before.rows[k].record, after.rows[k].record];
    if (words(a) !== words(b)) out.set(a.packet, words(a));
  }
  return out;
}

/** Reason code -> packets, with the sentence, for the reasons (or warnings) counted. */
function counted(byCode: Record<string, number>): RunResult['reasons'] {
  return Object.entries(byCode).map(([code, packets]) => ({ code, packets, sentence: reasonSentence(reasonId(code)) }));
}

/**
 * The page's table: the first MAX_ROWS packets, each in words (taken from the batch as decoded, before the
 * engine rewrites it: `addWords`) and with its verdict record (the verdict encoder's JSONL bytes of the
 * same batch, parsed: `addRecords`).
 */
class RowTable {
  readonly rows: PacketRow[] = [];
  private words: string[] = [];
  private readonly text = new TextDecoder('utf-8');

  /** Per batch, once decoded: the words of the packets that get a row. */
  addWords(b: Batch): void {
    const keep = Math.max(0, Math.min(b.count, MAX_ROWS - this.rows.length));
    this.words = [];
    for (let i = 0; i < keep; i++) this.words.push(packetWords(b, i));
  }

  /** Per batch, once encoded: the rows of the packets `addWords` put in words, from the records' bytes. */
  addRecords(records: Uint8Array, bytes: number): void {
    const keep = this.words.length;
    if (keep === 0) return;
    let end = 0;
    for (let line = 0; line < keep; line++) end = records.indexOf(10, end) + 1;
    const lines = this.text.decode(records.subarray(0, Math.min(end, bytes))).split('\n');
    for (let i = 0; i < keep; i++) {
      const record = JSON.parse(lines[i]) as VerdictRecord;
      this.rows.push({
        record,
        words: this.words[i],
        outWords: outWords(record.out),
        reasonSentence: record.reason === null ? null : reasonSentence(reasonId(record.reason)),
        warnings: record.warnings.map((code) => ({ code, sentence: reasonSentence(reasonId(code)) })),
      });
    }
    this.words = [];
  }
}
