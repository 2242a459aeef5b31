/**
 * Does reading the capture ahead on another thread pay for a decide-only replay (issue 12, "decide-only
 * >= 3 Mpps")? A decide-only run on one thread reads each 1 MiB of the file with readSync (the kernel's
 * copy, about 50 ms of CPU for the 304 MB e2e trace), then decodes and decides the packets in place
 * (reader.ts `inPlace`). This bench times the same work two ways, alternating in one process on the e2e
 * trace (src/gen: 1M packets, 10k flows, as bench/e2e.ts), in ABBA order:
 *
 *   sync        each chunk read with readSync, then its packets decoded and decided (what replay does)
 *   read-ahead  two buffers: while the packets of one are decoded and decided, fs.read (libuv's thread
 *               pool, another core) fills the other with the next chunk; the loop awaits it at the switch
 *
 * Both walk the same chunks (runs of whole records of at most 1 MiB, found by a pass over the record
 * headers before the timed passes) with the same record walk, decodeRange and Dataplane.processWith on
 * 512-packet batches, with a fresh DataplaneState per pass; only the read differs. It prints the wall
 * and CPU time of each pass and the ratio read-ahead / sync per round (below 1: the overlap pays).
 *
 *   npm run build && node dist/bench/read-ahead.js [--packets N] [--flows N] [--rounds N] [--trace FILE --cluster FILE]
 *
 * Kept as the evidence for a REVERTED experiment: replay has no read-ahead. What it measured (ef05fd1): at
 * load 11 on the 2-vCPU machine, wall read-ahead/sync median 0.795 over 10 rounds (0.46-1.48), CPU equal
 * (the kernel copy is about 50 ms of CPU for the 304 MB trace either way). The read-ahead then built into
 * the source (95bb433: io/source.ts ReadAhead, runPipeline awaiting aheadReady) wrote the same summary but
 * did not prove faster end to end: the bundle's decide-only replay of the 1M trace, 9 alternating rounds
 * at load 8.6-10, wall on/off median 1.083, CPU 0.986; the copy it overlaps is about 50 ms of CPU, 6% of
 * the run at best. So 527fc31 reverted it (its message has these figures), keeping the commit to measure
 * again on a quiet machine. (3c3ab01, reverted next to it, is another experiment: the decide-only code-cache
 * training, not this one.)
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Batch, HEADROOM } from '../src/core/batch';
import { decodeRange } from '../src/decode/decoder';
import { clusterList } from '../src/gen/layout';
import { writeTraceFile } from '../src/gen/trace';
import { parseClusterText } from '../src/cluster/parse';
import { compileDataplane, type Dataplane } from '../src/vfp/engine';
import { resolveProfile } from '../src/vfp/profile';
import { Results } from '../src/vfp/results';

function arg(name: string, dflt: string): string {
  const k = process.argv.indexOf(`--${name}`);
  return k > 0 ? process.argv[k + 1] : dflt;
}

const CHUNK = 1 << 20;
const CAPACITY = 512;

/** A run of whole records: its file offset, bytes and packets. */
interface Chunk {
  at: number;
  bytes: number;
}

/** The chunks of a classic little-endian pcap file (16-byte record headers), each at most CHUNK bytes. */
function chunksOf(file: string): Chunk[] {
  const data = fs.readFileSync(file);
  if (data.readUInt32LE(0) !== 0xa1b2c3d4) throw new Error(`${file}: not a little-endian microsecond pcap`);
  const out: Chunk[] = [];
  let p = 24;
  let start = p;
  while (p + 16 <= data.length) {
    const rec = 16 + data.readUInt32LE(p + 8);
    if (p + rec - start > CHUNK) {
      out.push({ at: start, bytes: p - start });
      start = p;
    }
    p += rec;
  }
  if (p > start) out.push({ at: start, bytes: p - start });
  return out;
}

/** What one pass needs: the engine, a batch whose arena is the chunk's buffer, and the counts. */
class Decider {
  readonly b = new Batch({ capacity: CAPACITY, arenaBytes: 0 });
  readonly r = new Results(CAPACITY);
  readonly idx = new Uint32Array(CAPACITY);
  readonly st;
  packets = 0;

  constructor(readonly dp: Dataplane) {
    for (let k = 0; k < CAPACITY; k++) this.idx[k] = k;
    this.st = dp.createState(1024);
  }

  /** Decodes and decides the records of `bytes` bytes at HEADROOM in `buf`, in batches, in place. */
  chunk(buf: Uint8Array, view: DataView, bytes: number): void {
    const b = this.b;
    const w = b as unknown as { arena: Uint8Array; view: DataView };
    w.arena = buf;
    w.view = view;
    let p = HEADROOM;
    const end = HEADROOM + bytes;
    while (p < end) {
      b.reset(this.packets + 1);
      while (p < end && b.count < CAPACITY) {
        const caplen = view.getUint32(p + 8, true);
        const i = b.count++;
        const sec = view.getUint32(p, true);
        const frac = view.getUint32(p + 4, true);
        b.off[i] = p + 16;
        b.caplen[i] = caplen;
        b.wirelen[i] = view.getUint32(p + 12, true);
        b.tsHi[i] = sec;
        b.tsLo[i] = frac;
        b.ts[i] = sec + frac / 1e6;
        b.iface[i] = 0;
        b.linktype[i] = 1;
        p += 16 + caplen;
      }
      const n = b.count;
      decodeRange(b, 0, n);
      this.r.reset(n);
      this.dp.processWith(this.st, b, this.r, this.idx, n);
      this.packets += n;
    }
  }
}

function buffers(): { buf: Uint8Array; view: DataView } {
  const buf = new Uint8Array(HEADROOM + CHUNK);
  return { buf, view: new DataView(buf.buffer) };
}

function passSync(fd: number, chunks: Chunk[], d: Decider): void {
  const { buf, view } = buffers();
  for (const c of chunks) {
    fs.readSync(fd, buf, HEADROOM, c.bytes, c.at);
    d.chunk(buf, view, c.bytes);
  }
}

function readInto(fd: number, buf: Uint8Array, c: Chunk): Promise<number> {
  return new Promise((resolve, reject) => fs.read(fd, buf, HEADROOM, c.bytes, c.at, (e, n) => (e ? reject(e) : resolve(n))));
}

async function passAhead(fd: number, chunks: Chunk[], d: Decider): Promise<void> {
  const two = [buffers(), buffers()];
  let pending = chunks.length > 0 ? readInto(fd, two[0].buf, chunks[0]) : null;
  for (let k = 0; k < chunks.length; k++) {
    await pending;
    const cur = two[k & 1];
    pending = k + 1 < chunks.length ? readInto(fd, two[(k + 1) & 1].buf, chunks[k + 1]) : null;
    d.chunk(cur.buf, cur.view, chunks[k].bytes);
  }
}

async function main(): Promise<void> {
  const rounds = Number(arg('rounds', '5'));
  let trace = arg('trace', '');
  let clusterText = arg('cluster', '') === '' ? '' : fs.readFileSync(arg('cluster', ''), 'utf8');
  let dir = '';
  if (trace === '') {
    dir = fs.mkdtempSync(path.join(fs.existsSync('/dev/shm') ? '/dev/shm' : os.tmpdir(), 'vfp-ahead-'));
    trace = path.join(dir, 'trace.pcap');
    const g = writeTraceFile(trace, 'pcap', { packets: Number(arg('packets', '1000000')), flows: Number(arg('flows', '10000')), seed: 1 });
    clusterText = JSON.stringify(clusterList(g.layout));
  }
  try {
    const dp = compileDataplane(parseClusterText('cluster', clusterText), { profile: resolveProfile(undefined), seed: 1, view: 'pod' });
    const chunks = chunksOf(trace);
    console.log(`machine: ${os.cpus()[0]?.model ?? '?'} x ${os.cpus().length}, node ${process.version}, load ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`);
    console.log(`trace ${trace}: ${chunks.length} chunks of at most ${CHUNK} bytes; ${rounds} rounds, sync and read-ahead in each (ABBA order)`);
    const ratios: number[] = [];
    for (let r = 0; r < rounds; r++) {
      const t: string[] = [];
      const wall = [0, 0];
      // ABBA: the order flips every round, so that neither way always runs first
      const order = r % 2 === 0 ? [false, true] : [true, false];
      for (const ahead of order) {
        const fd = fs.openSync(trace, 'r');
        const d = new Decider(dp);
        const c0 = process.cpuUsage();
        const t0 = process.hrtime.bigint();
        if (ahead) await passAhead(fd, chunks, d);
        else passSync(fd, chunks, d);
        const ms = Number(process.hrtime.bigint() - t0) / 1e6;
        const c = process.cpuUsage(c0);
        fs.closeSync(fd);
        wall[ahead ? 1 : 0] = ms;
        t.push(`${ahead ? 'read-ahead' : 'sync'} ${ms.toFixed(0)} ms wall, ${((c.user + c.system) / 1000).toFixed(0)} ms CPU (${d.packets} packets)`);
      }
      ratios.push(wall[1] / wall[0]);
      console.log(`round ${r + 1}: ${t.join('; ')}; read-ahead / sync ${(wall[1] / wall[0]).toFixed(3)}`);
    }
    const sorted = [...ratios].sort((x, y) => x - y);
    console.log(`read-ahead / sync wall time: median ${sorted[Math.floor(sorted.length / 2)].toFixed(3)} (${ratios.map((x) => x.toFixed(3)).join(' ')}); load ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  } finally {
    if (dir !== '') fs.rmSync(dir, { recursive: true, force: true });
  }
}

void main();
