/**
 * Shared helpers of the io tests: where the real-capture corpus is, reading a whole capture into plain
 * records, and tmp-file handling. Not a test file itself.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Batch } from '../src/core/batch';
import { InputError } from '../src/core/errors';
import { decodeBatch, type DecodeOptions } from '../src/decode/decoder';
import { CaptureReader, InterfaceInfo, openCapture, ReaderOptions } from '../src/io/reader';
import { formatEpoch } from '../src/io/timestamps';

/** Repository root (dist/test/.. /..). */
export const repoRoot = path.resolve(__dirname, '..', '..');
/** The developer corpus of real captures, next to the repository. */
export const corpusDir = path.resolve(repoRoot, '..', 'shared', 'corpus', 'real');

export function corpusPresent(): boolean {
  return fs.existsSync(path.join(corpusDir, 'ORACLE_STATUS.tsv'));
}

/** One packet as read, with copies of its bytes and options. */
export interface ReadPacket {
  n: number;
  caplen: number;
  wirelen: number;
  tsHi: number;
  tsLo: number;
  ts: number;
  iface: number;
  linktype: number;
  epoch: string;
  bytes: Buffer;
  options: unknown;
}

export interface ReadResult {
  reader: CaptureReader | null;
  packets: ReadPacket[];
  interfaces: InterfaceInfo[];
  /** The fault: thrown by openCapture or left in reader.error. */
  error: InputError | null;
}

/** Read a whole capture (small batches, so that batch boundaries are exercised too). */
export function readAll(file: string, opts: ReaderOptions = {}, batch = new Batch({ capacity: 7 })): ReadResult {
  let reader: CaptureReader;
  try {
    reader = openCapture(file, opts);
  } catch (e) {
    if (e instanceof InputError) return { reader: null, packets: [], interfaces: [], error: e };
    throw e;
  }
  const packets: ReadPacket[] = [];
  let expectFirst = 1;
  while (reader.next(batch) > 0) {
    if (batch.firstNumber !== expectFirst) throw new Error(`batch.firstNumber ${batch.firstNumber}, expected ${expectFirst}`);
    for (let i = 0; i < batch.count; i++) {
      const o = batch.options.get(i);
      packets.push({
        n: batch.firstNumber + i,
        caplen: batch.caplen[i],
        wirelen: batch.wirelen[i],
        tsHi: batch.tsHi[i],
        tsLo: batch.tsLo[i],
        ts: batch.ts[i],
        iface: batch.iface[i],
        linktype: batch.linktype[i],
        epoch: formatEpoch(batch, i, reader.interfaces[batch.iface[i]]),
        bytes: Buffer.from(batch.packet(i)),
        options: o === undefined ? undefined : normaliseOptions(o),
      });
    }
    expectFirst += batch.count;
  }
  reader.close();
  return { reader, packets, interfaces: reader.interfaces, error: reader.error };
}

/** Options as plain comparable values (bigint -> string, Uint8Array -> number[]). */
export function normaliseOptions(o: object): unknown {
  return JSON.parse(JSON.stringify(o, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v instanceof Uint8Array ? Array.from(v) : v)));
}

let tmpSeq = 0;
const tmpDir = path.join(os.tmpdir(), `vfp-io-test-${process.pid}`);
/** A fresh path in a per-process tmp folder (removed when the test run ends). */
export function tmpFile(name: string): string {
  fs.mkdirSync(tmpDir, { recursive: true });
  return path.join(tmpDir, `${tmpSeq++}-${name}`);
}

// Root-level hook (this module is loaded with the test files): remove the tmp folder at the end.
after(() => fs.rmSync(tmpDir, { recursive: true, force: true }));

/** Is a command on PATH? */
export function haveCommand(cmd: string): boolean {
  const dirs = (process.env.PATH ?? '').split(path.delimiter);
  return dirs.some((d) => {
    try {
      fs.accessSync(path.join(d, cmd), fs.constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

/** Read a TSV with a header line into objects. */
export function readTsv(file: string): Record<string, string>[] {
  const lines = fs.readFileSync(file, 'utf8').split('\n').filter((l) => l.length > 0);
  if (lines.length === 0) return [];
  const head = lines[0].split('\t');
  return lines.slice(1).map((l) => {
    const cells = l.split('\t');
    const row: Record<string, string> = {};
    head.forEach((h, k) => (row[h] = cells[k] ?? ''));
    return row;
  });
}

/** Packets in a capture (a reader, e.g. of bytes, or a file), read whole by our reader; asserts it met no fault. */
export function packetCount(from: CaptureReader | string): number {
  const reader = typeof from === 'string' ? openCapture(from) : from;
  const batch = new Batch({ capacity: 4096 });
  let n = 0;
  for (let k = reader.next(batch); k > 0; k = reader.next(batch)) n += k;
  reader.close();
  if (reader.error !== null) throw new Error(`our reader: ${reader.error.message}`);
  return n;
}

/** Runs `fn` and returns the InputError it throws (bad input: exit 2); fails the test otherwise. */
export function throwsInput(fn: () => unknown): InputError {
  try {
    fn();
  } catch (e) {
    if (e instanceof InputError) return e;
    throw new Error(`expected an InputError, got ${String(e)}`);
  }
  throw new Error('expected an InputError');
}

/** The bytes of a little-endian microsecond pcap of link type `linktype` holding `records` ([seconds, frame]). */
export function pcapBytes(linktype: number, snaplen: number, records: [number, Uint8Array][]): Buffer {
  const head = Buffer.alloc(24);
  head.writeUInt32LE(0xa1b2c3d4, 0);
  head.writeUInt16LE(2, 4);
  head.writeUInt16LE(4, 6);
  head.writeUInt32LE(snaplen, 16);
  head.writeUInt32LE(linktype, 20);
  const parts: Buffer[] = [head];
  for (const [sec, data] of records) {
    const h = Buffer.alloc(16);
    h.writeUInt32LE(sec, 0);
    h.writeUInt32LE(data.length, 8);
    h.writeUInt32LE(data.length, 12);
    parts.push(h, Buffer.from(data));
  }
  return Buffer.concat(parts);
}

/** Frame `bytes` (Ethernet) decoded alone, as row 0 of its own batch. */
export function decodeFrame(bytes: Uint8Array, opts: DecodeOptions = {}): Batch {
  const b = new Batch({ capacity: 1, arenaBytes: Math.max(1 << 20, bytes.length + 1024) });
  b.reset(1);
  const i = b.alloc(bytes.length);
  b.arena.set(bytes, b.off[i]);
  b.wirelen[i] = bytes.length;
  b.linktype[i] = 1;
  decodeBatch(b, opts);
  return b;
}
