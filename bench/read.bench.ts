/**
 * Read and read+decode throughput: the same generated trace (src/gen, IMIX sizes) as pcap and pcapng,
 * read whole by our reader (alone, and with decodeBatch filling every column), by pcap-parser (pcap only;
 * it does not decode, so the read+decode ratio against it is conservative) and by
 * `tcpdump -r FILE -w /dev/null` when tcpdump is installed; packets/s side by side, best of 3 runs. The
 * `read (slot)` row reads as `replay --workers 1` with outputs does: the read buffer in the slot's
 * ArrayBuffer beside the arena (reader.ts ReaderOptions `buffer`: each packet copied with copyWithin),
 * alternated with the plain copying read (a typed array per packet for `set`) in the same rounds.
 * Issue 2's targets: read+decode >= 5x pcap-parser and >= 0.5x the tcpdump copy rate.
 *
 *   npm run build && node dist/bench/read.bench.js [PACKETS]     (default 1000000)
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as pcapParser from 'pcap-parser';
import { Batch } from '../src/core/batch';
import { writeTraceFile } from '../src/gen/trace';
import { openCapture } from '../src/io/reader';
import { decodeBatch } from '../src/decode/decoder';
import { Slot, SlotLayout } from '../src/pipeline/slot';

function ours(file: string): number {
  return countAll(openCapture(file), new Batch());
}

/** Reads every batch of `r` into `b`: the packets, after checking that bytes came. */
function countAll(r: ReturnType<typeof openCapture>, b: Batch): number {
  let n = 0;
  let bytes = 0;
  while (r.next(b) > 0) {
    n += b.count;
    for (let i = 0; i < b.count; i++) bytes += b.caplen[i];
  }
  r.close();
  if (r.error) throw r.error;
  if (bytes === 0) throw new Error('no bytes');
  return n;
}

/** Reads `file` into a pipeline slot whose read buffer lies beside its arena (as pipeline.ts at W = 1 with outputs). */
function oursSlot(file: string): number {
  const slot = new Slot(new SlotLayout({ capacity: 512, arenaBytes: 1 << 20, verdictBytes: 0, traceBytes: 0, idbBytes: 0, regions: 1, readBytes: 1 << 20 }));
  return countAll(openCapture(file, { buffer: slot.readBuf }), slot.batch);
}

function oursDecoded(file: string): number {
  const r = openCapture(file);
  const b = new Batch();
  let n = 0;
  let tcp = 0;
  while (r.next(b) > 0) {
    decodeBatch(b);
    n += b.count;
    for (let i = 0; i < b.count; i++) if (b.proto[i] === 6) tcp++;
  }
  r.close();
  if (r.error) throw r.error;
  if (tcp === 0) throw new Error('decoded no TCP');
  return n;
}

function viaPcapParser(file: string): Promise<number> {
  return new Promise((resolve, reject) => {
    let n = 0;
    const p = pcapParser.parse(file);
    p.on('packetData', () => n++);
    p.on('error', reject);
    p.on('end', () => resolve(n));
  });
}

function viaTcpdump(file: string): number | null {
  const r = spawnSync('tcpdump', ['-r', file, '-w', '/dev/null'], { encoding: 'utf8' });
  if (r.error || r.status !== 0) return null;
  return -1; // tcpdump does not print a count with -w; the caller knows it
}

async function best<T>(runs: number, f: () => T | Promise<T>): Promise<{ ms: number; value: T }> {
  let ms = Infinity;
  let value!: T;
  for (let k = 0; k < runs; k++) {
    const t0 = process.hrtime.bigint();
    value = await f();
    ms = Math.min(ms, Number(process.hrtime.bigint() - t0) / 1e6);
  }
  return { ms, value };
}

async function main(): Promise<void> {
  const packets = Number(process.argv[2] ?? 1000000);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vfp-read-bench-'));
  try {
    console.log(`machine: ${os.cpus()[0]?.model ?? '?'} x${os.cpus().length}, node ${process.version}`);
    for (const format of ['pcap', 'pcapng'] as const) {
      const file = path.join(dir, `trace.${format}`);
      const gen = writeTraceFile(file, format, { packets, seed: 1 });
      const mb = gen.bytes / 1e6;
      console.log(`\n${format}: ${packets} packets, ${mb.toFixed(1)} MB (generated in ${gen.elapsedMs.toFixed(0)} ms)`);
      const a = await best(3, () => ours(file));
      if (a.value !== packets) throw new Error(`read ${a.value} packets`);
      const pps = (n: number, ms: number) => (n / (ms / 1000) / 1e6).toFixed(2) + ' Mpkt/s';
      console.log(`  vfp-emu read         ${a.ms.toFixed(0).padStart(6)} ms  ${pps(packets, a.ms)}  ${(mb / (a.ms / 1000)).toFixed(0)} MB/s`);
      // the slot's read buffer against the plain read, alternated (5 rounds each, best of each)
      let plain = Infinity;
      let inSlot = Infinity;
      for (let round = 0; round < 5; round++) {
        plain = Math.min(plain, (await best(1, () => ours(file))).ms);
        inSlot = Math.min(inSlot, (await best(1, () => oursSlot(file))).ms);
      }
      console.log(`  vfp-emu read (slot)  ${inSlot.toFixed(0).padStart(6)} ms  ${pps(packets, inSlot)}  ${(inSlot / plain).toFixed(2)}x the plain read's time (alternated)`);
      const d = await best(3, () => oursDecoded(file));
      if (d.value !== packets) throw new Error(`read+decode ${d.value} packets`);
      console.log(`  vfp-emu read+decode  ${d.ms.toFixed(0).padStart(6)} ms  ${pps(packets, d.ms)}`);
      if (format === 'pcap') {
        const p = await best(3, () => viaPcapParser(file));
        if (p.value !== packets) throw new Error(`pcap-parser read ${p.value}`);
        console.log(
          `  pcap-parser          ${p.ms.toFixed(0).padStart(6)} ms  ${pps(packets, p.ms)}  ratio read ${(p.ms / a.ms).toFixed(1)}x, read+decode ${(p.ms / d.ms).toFixed(1)}x`,
        );
      }
      const t = await best(3, () => viaTcpdump(file));
      if (t.value === null) console.log('  tcpdump -r -w /dev/null: not installed');
      else
        console.log(
          `  tcpdump -w /dev/null ${t.ms.toFixed(0).padStart(6)} ms  ${pps(packets, t.ms)}  ratio read ${(t.ms / a.ms).toFixed(2)}x, read+decode ${(t.ms / d.ms).toFixed(2)}x`,
        );
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

void main();
