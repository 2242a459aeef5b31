/**
 * Mutators of the fuzz harness (src/fuzz): captures at three levels, cluster configs at two.
 *
 * Why a mutation fuzzer of our own rather than fast-check: the inputs that reach deep into the readers,
 * the decoder and the engine are real captures and real configs with a few bytes or values wrong, and
 * a generator of whole structures would have to re-describe pcap, pcapng, Ethernet, IP, VXLAN, DNS and
 * every cluster format to get there. A byte-level mutator seeded from the real files (bit flips, bytes
 * and words set to interesting values, length fields +/- small deltas, truncation, chunk duplication and
 * removal, splicing two inputs) gets there in one step, and knowing where the records are lets most
 * mutations land inside packet headers instead of killing the file at its first block. No dependency to
 * add, and an input is a pure function of (seed, index), so a crash is reproduced from two numbers
 * (bench/fuzz.ts also saves its bytes). Shrinking is by hand (the reproducers are small seeds anyway).
 *
 * Capture mutations (`mutateCapture`), applied in this order so that each sees a valid layout:
 *   packet data  inside one packet's bytes (headers mostly): bit flips, interesting bytes and words,
 *                tokens from the dictionary (addresses and ports of the cluster, bytes of other packets at
 *                the same offset), a reversed IPv4 packet (addresses, ports and MACs swapped: a reply);
 *   records      whole packet records duplicated, dropped, swapped, taken from another capture; record
 *                header fields (caplen, wire length, block length, interface id) +/- small deltas;
 *   raw bytes    anywhere in the file (`mutateBytes`).
 * Config mutations (`mutateConfig`): raw bytes of the text, or the parsed documents (JSON or YAML) with
 * values replaced by other types and edge values, keys dropped or renamed, list items duplicated, values
 * moved from another field of the same name; re-serialized.
 */
import { Prng } from '../gen/prng';
import { yaml } from '../cluster/yaml';

/** One packet record of a capture: where its block starts and ends, where its packet bytes are. */
interface CaptureRecord {
  start: number;
  end: number;
  data: number;
  dataLen: number;
}

/** A capture's record layout (of a valid prefix: parsing stops at the first record that does not fit). */
interface CaptureLayout {
  pcapng: boolean;
  le: boolean;
  /** Bytes before the first record (pcap file header; pcapng: none, SHB and IDBs are records of kind 0). */
  headerEnd: number;
  /** Every record (pcapng: every block), in file order; `packet` ones carry packet bytes. */
  records: CaptureRecord[];
  /** Indices into `records` of the packet records. */
  packets: number[];
}

/** A seed capture: its bytes (a valid prefix of the file, see `captureSeed`) and layout. */
export interface CaptureSeed {
  name: string;
  bytes: Uint8Array;
  layout: CaptureLayout;
}

const u32 = (b: Uint8Array, o: number, le: boolean): number =>
  le ? (b[o] | (b[o + 1] << 8) | (b[o + 2] << 16) | (b[o + 3] << 24)) >>> 0 : ((b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3]) >>> 0;

/** The record layout of `b` as far as it parses (`limit`: stop after that many bytes), or null if not a capture. */
function captureLayout(b: Uint8Array, limit = Infinity): CaptureLayout | null {
  if (b.length < 24) return null;
  const be = u32(b, 0, false);
  if (be === 0x0a0d0d0a) return pcapngLayout(b, limit);
  for (const le of [true, false]) {
    const m = u32(b, 0, le);
    if (m === 0xa1b2c3d4 || m === 0xa1b23c4d || m === 0xa1b2cd34) return pcapLayout(b, le, m === 0xa1b2cd34 ? 24 : 16, limit);
  }
  return null;
}

function pcapLayout(b: Uint8Array, le: boolean, hdr: number, limit: number): CaptureLayout {
  const records: CaptureRecord[] = [];
  let p = 24;
  while (p + hdr <= b.length && p < limit) {
    const caplen = u32(b, p + 8, le);
    if (caplen > 262144 || p + hdr + caplen > b.length) break;
    records.push({ start: p, end: p + hdr + caplen, data: p + hdr, dataLen: caplen });
    p += hdr + caplen;
  }
  return { pcapng: false, le, headerEnd: 24, records, packets: records.map((_, k) => k) };
}

function pcapngLayout(b: Uint8Array, limit: number): CaptureLayout {
  const records: CaptureRecord[] = [];
  const packets: number[] = [];
  let le = true;
  let first = true;
  let p = 0;
  while (p + 12 <= b.length && p < limit) {
    const typeBE = u32(b, p, false);
    if (typeBE === 0x0a0d0d0a) le = u32(b, p + 8, true) === 0x1a2b3c4d;
    else if (first) break;
    first = false;
    const type = u32(b, p, le);
    const len = u32(b, p + 4, le);
    if (len < 12 || len % 4 !== 0 || p + len > b.length) break;
    let data = p + 8;
    let dataLen = 0;
    if ((type === 6 || type === 2) && len >= 32) {
      data = p + 28;
      dataLen = Math.min(u32(b, p + 20, le), len - 32);
    } else if (type === 3 && len >= 16) {
      data = p + 12;
      dataLen = Math.min(u32(b, p + 8, le), len - 16);
    }
    if (dataLen > 0) packets.push(records.length);
    records.push({ start: p, end: p + len, data, dataLen });
    p += len;
  }
  return { pcapng: true, le, headerEnd: 0, records, packets };
}

/**
 * A seed from a capture file's bytes: at most `maxBytes` of it, cut at a record boundary so the seed
 * itself is valid (small seeds keep the fuzzer at thousands of inputs per second; the records after the
 * cut are the same kind as those before it). Null when the bytes are not a capture.
 */
export function captureSeed(name: string, bytes: Uint8Array, maxBytes = 32768): CaptureSeed | null {
  const full = captureLayout(bytes, maxBytes);
  if (full === null) return null;
  let keep = full.records.length;
  while (keep > 1 && full.records[keep - 1].end > maxBytes) keep--;
  const end = keep > 0 ? full.records[keep - 1].end : full.headerEnd;
  // a copy as a plain Uint8Array: a Buffer's slice() is a view, and the mutators copy with slice()
  const cut = new Uint8Array(bytes.subarray(0, bytes.length <= maxBytes ? bytes.length : Math.max(end, Math.min(bytes.length, full.headerEnd))));
  const layout = captureLayout(cut);
  return layout === null ? null : { name, bytes: cut, layout };
}

// ---- raw bytes ----------------------------------------------------------------------------------

const BYTES = [0, 1, 0x7f, 0x80, 0xff, 0xfe, 0x40, 0x20];
const WORDS = [0, 1, 0x7fff, 0x8000, 0xffff, 0xfffe, 0x0800, 0x86dd, 0x8100, 0x88a8, 53, 4789, 6081, 8472, 80, 443, 0x4000, 0x2000];
const DWORDS = [0, 1, 0x7fffffff, 0x80000000, 0xffffffff, 0xfffffffe, 0x40000, 0x40001, 16, 12, 28, 32];

function put16(b: Uint8Array, o: number, v: number, le: boolean): void {
  if (o + 2 > b.length) return;
  b[o + (le ? 0 : 1)] = v & 0xff;
  b[o + (le ? 1 : 0)] = (v >>> 8) & 0xff;
}

function put32(b: Uint8Array, o: number, v: number, le: boolean): void {
  if (o + 4 > b.length) return;
  for (let k = 0; k < 4; k++) b[o + (le ? k : 3 - k)] = (v >>> (8 * k)) & 0xff;
}

/** Small delta, never 0: -8..-1, 1..8. */
function delta(r: Prng): number {
  const d = r.range(1, 8);
  return r.below(2) === 0 ? -d : d;
}

/**
 * One in-place change at `o` of `b` (no length change): flip, interesting byte/word/dword, +/- delta, or a
 * nibble set to 0, 1, 5, 6 or 15 (the header-length and version nibbles of IPv4 and TCP).
 */
function pokeAt(r: Prng, b: Uint8Array, o: number): void {
  if (o >= b.length) return;
  const le = r.below(2) === 0;
  switch (r.below(7)) {
    case 6: {
      const v = [0, 1, 5, 6, 15][r.below(5)];
      b[o] = r.below(2) === 0 ? (b[o] & 0xf0) | v : (b[o] & 0x0f) | (v << 4);
      break;
    }
    case 0:
      b[o] ^= 1 << r.below(8);
      break;
    case 1:
      b[o] = BYTES[r.below(BYTES.length)];
      break;
    case 2:
      put16(b, o, WORDS[r.below(WORDS.length)], le);
      break;
    case 3:
      put32(b, o, DWORDS[r.below(DWORDS.length)], le);
      break;
    case 4:
      if (o + 2 <= b.length) put16(b, o, ((le ? b[o] | (b[o + 1] << 8) : (b[o] << 8) | b[o + 1]) + delta(r)) & 0xffff, le);
      break;
    default:
      if (o + 4 <= b.length) put32(b, o, (u32(b, o, le) + delta(r)) >>> 0, le);
  }
}

/** A position in `b`: uniform, or 4-aligned (pcapng lengths), or in the first 64 bytes (file headers). */
function position(r: Prng, n: number): number {
  const k = r.below(4);
  if (k === 0) return r.below(Math.min(n, 64));
  const o = r.below(n);
  return k === 1 ? o & ~3 : o;
}

/** Concatenation of the parts. */
function concat(parts: readonly Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** One raw-byte mutation of `b` (returns a new array when the length changes). `other`: for splicing. */
function mutateOnce(r: Prng, b: Uint8Array, other: Uint8Array): Uint8Array {
  const n = b.length;
  if (n === 0) return r.below(2) === 0 ? other.slice(0, r.below(other.length + 1)) : b;
  const op = r.below(10);
  if (op < 5) {
    pokeAt(r, b, position(r, n));
    return b;
  }
  const at = position(r, n);
  const len = 1 + r.below(Math.min(n - at, r.below(2) === 0 ? 16 : 4096));
  switch (op) {
    case 5: // truncate
      return b.slice(0, at);
    case 6: // remove a chunk
      return concat([b.subarray(0, at), b.subarray(at + len)]);
    case 7: // duplicate a chunk in place
      return concat([b.subarray(0, at + len), b.subarray(at, at + len), b.subarray(at + len)]);
    case 8: {
      // splice: this one's head, the other's tail
      const from = r.below(other.length + 1);
      return concat([b.subarray(0, at), other.subarray(from, from + 65536)]);
    }
    default: {
      // insert random bytes
      const ins = r.fill(new Uint8Array(r.range(1, 16)));
      return concat([b.subarray(0, at), ins, b.subarray(at)]);
    }
  }
}

/** 1..4 raw-byte mutations of a copy of `b`. */
function mutateBytes(r: Prng, b: Uint8Array, other: Uint8Array): Uint8Array {
  let out: Uint8Array = b.slice();
  const k = 1 + (r.below(8) === 0 ? r.below(4) : r.below(2));
  for (let j = 0; j < k; j++) out = mutateOnce(r, out, other);
  return out;
}

// ---- captures ------------------------------------------------------------------------------------

/** An offset in a packet of `len` bytes, mostly in its first 80 (the headers). */
function headerOffset(r: Prng, len: number): number {
  return r.below(4) === 0 ? r.below(len) : r.below(Math.min(len, 80));
}

/** The packet at data offset `d`, length `n`, turned into its reply: MACs, IPv4 addresses and ports swapped. */
function reverse(b: Uint8Array, d: number, n: number): void {
  const swap = (x: number, y: number, k: number): void => {
    if (d + y + k > d + n) return;
    for (let j = 0; j < k; j++) {
      const t = b[d + x + j];
      b[d + x + j] = b[d + y + j];
      b[d + y + j] = t;
    }
  };
  swap(0, 6, 6);
  if (n < 34 || b[d + 12] !== 0x08 || b[d + 13] !== 0) return;
  swap(26, 30, 4);
  const l4 = 14 + (b[d + 14] & 15) * 4;
  swap(l4, l4 + 2, 2);
}

/** One mutation inside the bytes of packet record `rec` (its length stays). */
function mutatePacket(r: Prng, b: Uint8Array, rec: CaptureRecord, seeds: readonly CaptureSeed[], dict: readonly Uint8Array[]): void {
  const n = rec.dataLen;
  const o = headerOffset(r, n);
  const op = r.below(8);
  if (op < 4) pokeAt(r, b.subarray(rec.data, rec.data + n), o);
  else if (op < 6 && dict.length > 0) {
    const t = dict[r.below(dict.length)];
    if (o + t.length <= n) b.set(t, rec.data + o);
  } else if (op === 6) {
    // bytes of another packet at the same offset (its addresses, ports, flags)
    const s = seeds[r.below(seeds.length)];
    if (s.layout.packets.length === 0) return;
    const q = s.layout.records[s.layout.packets[r.below(s.layout.packets.length)]];
    const k = [1, 2, 4, 6, 16][r.below(5)];
    if (o + k <= n && o + k <= q.dataLen) b.set(s.bytes.subarray(q.data + o, q.data + o + k), rec.data + o);
  } else reverse(b, rec.data, n);
}

/**
 * One change of record `rec`'s header fields (a length or the interface id, +/- delta or interesting), or,
 * one time in three, anywhere in a record that carries no packet (pcapng SHB, IDB: if_tsresol,
 * if_tsoffset, snaplen, link type; NRB, ISB).
 */
function mutateRecordHeader(r: Prng, b: Uint8Array, L: CaptureLayout, rec: CaptureRecord): void {
  if (r.below(3) === 0 && L.records.length > L.packets.length) {
    let k = r.below(L.records.length);
    while (L.records[k].dataLen > 0) k = (k + 1) % L.records.length;
    const other = L.records[k];
    pokeAt(r, b.subarray(other.start, other.end), 8 + r.below(Math.max(1, other.end - other.start - 12)));
    return;
  }
  const fields = L.pcapng ? [4, 8, 20, 24, rec.end - rec.start - 4] : [8, 12, 0, 4];
  const o = rec.start + fields[r.below(fields.length)];
  if (r.below(2) === 0) put32(b, o, (u32(b, o, L.le) + delta(r)) >>> 0, L.le);
  else put32(b, o, DWORDS[r.below(DWORDS.length)], L.le);
}

/** The records rearranged: one duplicated, dropped, swapped with another or taken from another seed. */
function rearrange(r: Prng, b: Uint8Array, L: CaptureLayout, seeds: readonly CaptureSeed[]): Uint8Array {
  const recs = L.records.map((x) => b.subarray(x.start, x.end));
  const pk = L.packets;
  const k = pk[r.below(pk.length)];
  switch (r.below(4)) {
    case 0:
      recs.splice(k + r.below(recs.length - k + 1), 0, recs[k]);
      break;
    case 1:
      recs.splice(k, 1);
      break;
    case 2: {
      const j = pk[r.below(pk.length)];
      [recs[k], recs[j]] = [recs[j], recs[k]];
      break;
    }
    default: {
      const s = seeds[r.below(seeds.length)];
      const same = s.layout.pcapng === L.pcapng && s.layout.le === L.le && s.layout.packets.length > 0;
      if (!same) break;
      const q = s.layout.records[s.layout.packets[r.below(s.layout.packets.length)]];
      recs.splice(k, 0, s.bytes.subarray(q.start, q.end));
    }
  }
  return concat([b.subarray(0, L.headerEnd), ...recs, b.subarray(L.records[L.records.length - 1].end)]);
}

/**
 * A mutated copy of `seed` (see the module comment): packet-data changes (most inputs), then maybe a
 * record-header change or rearrangement, then maybe raw-byte changes. `seeds`: for splicing and
 * cross-over; `dict`: byte tokens to write into packets (addresses and ports). `gentle` (the engine
 * target): file-structure changes 4 times rarer, so that most inputs reach the engine whole.
 */
export function mutateCapture(r: Prng, seed: CaptureSeed, seeds: readonly CaptureSeed[], dict: readonly Uint8Array[], gentle = false): Uint8Array {
  const L = seed.layout;
  const rare = gentle ? 4 : 1;
  let b: Uint8Array = seed.bytes.slice();
  const hasPackets = L.packets.length > 0;
  if (hasPackets && r.below(4) !== 0) {
    const k = r.range(1, 4);
    for (let j = 0; j < k; j++) mutatePacket(r, b, L.records[L.packets[r.below(L.packets.length)]], seeds, dict);
  }
  if (hasPackets && r.below(8 * rare) === 0) mutateRecordHeader(r, b, L, L.records[L.packets[r.below(L.packets.length)]]);
  if (hasPackets && r.below(5) === 0) b = rearrange(r, b, L, seeds);
  if (!hasPackets || r.below(4 * rare) === 0) b = mutateBytes(r, b, seeds[r.below(seeds.length)].bytes);
  return b;
}

// ---- configs ------------------------------------------------------------------------------------

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

const EDGE_STRINGS = ['', ' ', '0', '-1', 'null', 'true', '~', '__proto__', 'constructor', 'toString', '10.244.1.300', '10.244.1.0/33', '10.244.1.5/24', '0.0.0.0/0', '::ffff:10.0.0.1', 'fe80::1%eth0', '1e309', '0x10', '65536', '\u202e\u0007\u009b', 'a\nb: c', 'x'.repeat(300), 'n'.repeat(65536)];
const EDGE_NUMBERS = [0, -1, 1, 65535, 65536, 2 ** 31, 2 ** 32, 2 ** 53, 1.5, -0.5, 1e308];

/** An edge value of some type (the replacement for a value). */
function edgeValue(r: Prng, old: Json): Json {
  switch (r.below(7)) {
    case 0:
    case 1:
      return EDGE_STRINGS[r.below(EDGE_STRINGS.length)];
    case 2:
      return typeof old === 'number' ? old + delta(r) : EDGE_NUMBERS[r.below(EDGE_NUMBERS.length)];
    case 3:
      return r.below(3) === 0 ? null : r.below(2) === 0;
    case 4:
      return [];
    case 5:
      return {};
    default:
      return r.below(2) === 0 ? [structuredClone(old)] : { value: structuredClone(old) };
  }
}

interface Slot {
  parent: Json[] | { [k: string]: Json };
  key: string | number;
}

/** Every (container, key) of the tree, depth first. */
function slots(v: Json, out: Slot[]): Slot[] {
  if (Array.isArray(v)) v.forEach((x, k) => (out.push({ parent: v, key: k }), slots(x, out)));
  else if (v !== null && typeof v === 'object') for (const k of Object.keys(v)) out.push({ parent: v, key: k }), slots(v[k], out);
  return out;
}

const get = (s: Slot): Json => (s.parent as Record<string | number, Json>)[s.key];
const set = (s: Slot, x: Json): void => {
  (s.parent as Record<string | number, Json>)[s.key] = x;
};

/** One change of the tree of documents `docs` (changed in place). */
function mutateTree(r: Prng, docs: Json[]): void {
  const all = slots(docs, []);
  if (all.length === 0) return;
  const s = all[r.below(all.length)];
  const op = r.below(6);
  if (op < 2) set(s, edgeValue(r, get(s)));
  else if (op === 2) {
    if (Array.isArray(s.parent)) s.parent.splice(s.key as number, 1);
    else delete s.parent[s.key as string];
  } else if (op === 3) {
    // a list item twice (a duplicate pod, port, address), or a value copied into another key
    if (Array.isArray(s.parent)) s.parent.splice(s.key as number, 0, structuredClone(get(s)));
    else {
      const keys = all.filter((x) => !Array.isArray(x.parent)).map((x) => x.key as string);
      s.parent[keys[r.below(keys.length)]] = structuredClone(get(s));
    }
  } else if (op === 4) {
    // the value of another field of the same name (another pod's IP, another Service's port)
    const same = all.filter((x) => x.key === s.key && x !== s);
    if (same.length > 0) set(s, structuredClone(get(same[r.below(same.length)])));
    else set(s, edgeValue(r, get(s)));
  } else if (!Array.isArray(s.parent)) {
    // a renamed key (a typo, another key of the documents, or one every object has)
    const v = get(s);
    delete s.parent[s.key as string];
    const keys = all.filter((x) => !Array.isArray(x.parent)).map((x) => x.key as string);
    const k = r.below(4);
    const to = k === 0 ? `${String(s.key)}x` : k === 1 ? ['__proto__', 'constructor', 'toString'][r.below(3)] : keys[r.below(keys.length)];
    Object.defineProperty(s.parent, to, { value: v, enumerable: true, writable: true, configurable: true });
  }
}

/** The documents of `text`: JSON, or YAML (several documents); null when it parses as neither. */
function parseDocs(text: string): { json: boolean; docs: Json[] } | null {
  const t = text.replace(/^\ufeff/, '').trimStart();
  if (t.startsWith('{') || t.startsWith('[')) {
    try {
      return { json: true, docs: [JSON.parse(t) as Json] };
    } catch {
      return null;
    }
  }
  try {
    const docs = yaml().parseAllDocuments(t);
    if (!Array.isArray(docs) || docs.some((d) => d.errors.length > 0)) return null;
    return { json: false, docs: docs.map((d) => d.toJS({ maxAliasCount: 100 }) as Json) };
  } catch {
    return null;
  }
}

/** The documents back as text, in their own syntax. */
function serialize(json: boolean, docs: Json[]): string {
  if (json) return JSON.stringify(docs[0], null, 2);
  return docs.map((d) => yaml().stringify(d, { aliasDuplicateObjects: false })).join('---\n');
}

/**
 * Literals the JSON and YAML parsers read in their own ways: numbers out of range or in other bases,
 * YAML's special floats, tags (binary, set, ordered map, timestamp), anchors and aliases, a merge key.
 */
const LITERALS = ['1e400', '-0', '12345678901234567890', '0x1F', '0o17', '.inf', '-.inf', '.nan', '~', 'null', '__proto__', 'constructor', '!!binary aGVsbG8=', '!!set {a, b}', '!!omap [a: 1]', '!!timestamp 2001-12-14', '!!float 1', '!!str', '!!int', '&a x', '*a', '<<: {a: 1}', '"\\u0000"', '"\\ud800"', '[]', '{}', '[[[[[[[[]]]]]]]]'];

/** One word of the text (a key, value or number) replaced with one of LITERALS. */
function replaceToken(r: Prng, text: string): string {
  const words = [...text.matchAll(/[A-Za-z0-9_.:/-]+/g)];
  if (words.length === 0) return text;
  const w = words[r.below(words.length)];
  const at = w.index ?? 0;
  return text.slice(0, at) + LITERALS[r.below(LITERALS.length)] + text.slice(at + w[0].length);
}

/**
 * A mutated copy of a config text: mostly the parsed documents with 1..3 changes (see `mutateTree`);
 * else 1..3 words replaced with special literals (`replaceToken`); else (or when it does not parse:
 * subnet.env) 1..4 raw-byte changes of its UTF-8 bytes.
 */
export function mutateConfig(r: Prng, text: string, other: string): string {
  const how = r.below(6);
  if (how === 4) {
    let t = text;
    for (let k = r.range(1, 3); k > 0; k--) t = replaceToken(r, t);
    return t;
  }
  const parsed = how < 4 ? parseDocs(text) : null;
  if (parsed !== null) {
    const k = r.range(1, 3);
    for (let j = 0; j < k; j++) mutateTree(r, parsed.docs);
    return serialize(parsed.json, parsed.docs);
  }
  const enc = new TextEncoder();
  return new TextDecoder('utf-8').decode(mutateBytes(r, enc.encode(text), enc.encode(other)));
}

/** The PRNG for input `index` of a run with `seed` (inputs are independent: any one is made again alone). */
export function inputPrng(seed: number, index: number): Prng {
  let h = Math.imul((seed >>> 0) ^ 0x5bd1e995, 0x9e3779b1);
  h = Math.imul(h ^ (h >>> 15), 0x85ebca6b);
  return new Prng(((h ^ (h >>> 13)) ^ index) >>> 0);
}
