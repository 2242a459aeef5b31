/**
 * The engine on the end-to-end trace, in this process: the trace e2e.ts uses (src/gen: 1M packets, 10k
 * flows, the default traffic mix) is written once to a file, then each pass reads it through the real
 * reader in 512-packet batches (the pipeline's batch size) with a fresh DataplaneState, and times the
 * three steps apart: read, decode, engine (Dataplane.processWith). Unlike the micro-suites, the flow table
 * here lives beside a stream of packet bytes, as in `vfp-emu replay`, so cache misses show as they do there.
 *
 * It prints ns per packet for each step, best and median of `--runs` passes, then the flow table's bytes
 * per connection (FlowTable.bytesPerConnection after the last pass) and how many lookups hit (the engine
 * figure is a flow-table hit's cost only when nearly all do: at 1M flows give 10M packets or more). The machines are shared and
 * noisy (the same build varies by 2x from one minute to the next): compare two builds by running them
 * alternately, never against numbers from another day.
 *
 *   npm run build && node dist/bench/engine-trace.js [--packets N] [--flows N] [--runs N] [--warm on|off|ab] [--against DIR]
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Batch } from '../src/core/batch';
import { decodeRange } from '../src/decode/decoder';
import { clusterList } from '../src/gen/layout';
import { writeTraceFile } from '../src/gen/trace';
import { parseClusterText } from '../src/cluster/parse';
import { openCapture } from '../src/io/reader';
import { compileDataplane } from '../src/vfp/engine';
import { resolveProfile } from '../src/vfp/profile';
import { Results } from '../src/vfp/results';
import { warmPolicy } from '../src/vfp/step-warm';

function arg(name: string, dflt: number): number {
  const k = process.argv.indexOf(`--${name}`);
  return k > 0 ? Number(process.argv[k + 1]) : dflt;
}

const packets = arg('packets', 1_000_000);
const flows = arg('flows', 10_000);
const runs = arg('runs', 5);
// `--warm on|off|ab`: the batch's warm pass always or never (step-warm.ts warmPolicy), or alternately from
// pass to pass (on first), the two compared in this one process; else the engine's rule
const warmAt = process.argv.indexOf('--warm');
const warm = warmAt > 0 ? process.argv[warmAt + 1] : '';
if (warm === 'on' || warm === 'off') warmPolicy.minConnections = warm === 'off' ? Infinity : 0;
// `--against DIR`: another build (a tree with dist/, e.g. a `git worktree` of the old revision, built) whose
// engine takes every other pass (this build's first), both in this one process on the same trace and
// reader: the pairs' ratios this/other are less moved by the neighbours' load than separate processes
const againstAt = process.argv.indexOf('--against');
const against = againstAt > 0 ? path.resolve(process.argv[againstAt + 1]) : '';
const base = fs.existsSync('/dev/shm') ? '/dev/shm' : os.tmpdir();
const dir = fs.mkdtempSync(path.join(base, 'vfp-engine-'));
try {
  const trace = path.join(dir, 'trace.pcap');
  const gen = writeTraceFile(trace, 'pcap', { packets, flows, seed: 1 });
  const cluster = parseClusterText('generated cluster', JSON.stringify(clusterList(gen.layout)));
  const dp = compileDataplane(cluster, { profile: resolveProfile(undefined), seed: 1, view: 'pod' });
  const b = new Batch({ capacity: 512, arenaBytes: 1 << 20 });
  const r = new Results(b.capacity);
  const other = against === '' ? null : otherEngine(against, JSON.stringify(clusterList(gen.layout)), b.capacity);
  const idx = new Uint32Array(b.capacity);
  for (let k = 0; k < idx.length; k++) idx[k] = k;
  console.log(`machine: ${os.cpus()[0]?.model ?? '?'}, node ${process.version}, load ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  console.log(`trace: ${packets} packets, ${gen.flows} flows (the e2e trace); ${runs} passes, each with a fresh state\n`);
  const steps = ['read', 'decode', 'engine'];
  const ns: number[][] = steps.map(() => []);
  /** CPU time (user + system, process.cpuUsage) of the engine step per packet: less moved than wall time by other processes taking the core. */
  const cpu: number[] = [];
  let table = '';
  for (let run = 0; run < runs; run++) {
    if (warm === 'ab') warmPolicy.minConnections = run % 2 === 0 ? 0 : Infinity;
    const theirs = other !== null && run % 2 === 1;
    const eng = theirs ? other!.dp : dp;
    const res = theirs ? other!.r : r;
    const st = eng.createState(1024);
    const reader = openCapture(trace);
    const t = [0n, 0n, 0n];
    let cpuUs = 0;
    let n = 0;
    for (;;) {
      const t0 = process.hrtime.bigint();
      const got = reader.next(b);
      const t1 = process.hrtime.bigint();
      if (got === 0) break;
      decodeRange(b, 0, got);
      const t2 = process.hrtime.bigint();
      // the CPU clock (a getrusage syscall, ~2 us: ~4 ns a packet) is read outside the engine's wall-time window
      const c0 = process.cpuUsage();
      const t3 = process.hrtime.bigint();
      res.reset(got);
      eng.processWith(st, b, res, idx, got);
      const t4 = process.hrtime.bigint();
      const c1 = process.cpuUsage(c0);
      cpuUs += c1.user + c1.system;
      t[0] += t1 - t0;
      t[1] += t2 - t1;
      t[2] += t4 - t3;
      n += got;
    }
    reader.close();
    for (let k = 0; k < 3; k++) ns[k].push(Number(t[k]) / n);
    cpu.push((cpuUs * 1000) / n);
    const ct = st.counters;
    table =
      `flow table: ${st.flows.bytesPerConnection().toFixed(1)} bytes per connection (${st.flows.live} live, capacity ${st.flows.capacity}); ${ct.fastPath} flow hits, ${ct.slowPath} slow paths (${((100 * ct.fastPath) / (ct.fastPath + ct.slowPath)).toFixed(1)}% hits)\n` +
      `hits per packet: ${(ct.fastPath / n).toFixed(3)} (a packet crossing two emulated nodes looks up twice), slow paths per packet ${(ct.slowPath / n).toFixed(4)}`;
  }
  for (let k = 0; k < 3; k++) {
    const sorted = [...ns[k]].sort((x, y) => x - y);
    console.log(`${steps[k].padEnd(8)} best ${sorted[0].toFixed(1).padStart(7)} ns/packet   median ${sorted[Math.floor(sorted.length / 2)].toFixed(1).padStart(7)}   (${ns[k].map((x) => x.toFixed(0)).join(' ')})`);
  }
  const sortedCpu = [...cpu].sort((x, y) => x - y);
  console.log(`engine CPU time best ${sortedCpu[0].toFixed(1).padStart(7)} ns/packet   median ${sortedCpu[Math.floor(sortedCpu.length / 2)].toFixed(1).padStart(7)}   (${cpu.map((x) => x.toFixed(0)).join(' ')})`);
  if (warm === 'ab') console.log(pairedText('warm on/off', ns[2], cpu));
  if (other !== null) console.log(pairedText(`this build / ${against}`, ns[2], cpu));
  console.log(table);
} finally {
  fs.rmSync(dir, { recursive: true, force: true });
}

/** The engine of the build at `root` (its dist/), with the cluster `layoutJson` and its own Results. */
function otherEngine(root: string, layoutJson: string, capacity: number): { dp: ReturnType<typeof compileDataplane>; r: Results } {
  /* eslint-disable @typescript-eslint/no-require-imports */
  const src = path.join(root, 'dist', 'src');
  const e = require(path.join(src, 'vfp', 'engine')) as typeof import('../src/vfp/engine');
  const pr = require(path.join(src, 'vfp', 'profile')) as typeof import('../src/vfp/profile');
  const pc = require(path.join(src, 'cluster', 'parse')) as typeof import('../src/cluster/parse');
  const rs = require(path.join(src, 'vfp', 'results')) as typeof import('../src/vfp/results');
  const wm = require(path.join(src, 'vfp', 'step-warm')) as Partial<typeof import('../src/vfp/step-warm')>;
  /* eslint-enable @typescript-eslint/no-require-imports */
  if (wm.warmPolicy !== undefined) wm.warmPolicy.minConnections = warmPolicy.minConnections; // `--warm on|off` for both
  const dp = e.compileDataplane(pc.parseClusterText('generated cluster', layoutJson), { profile: pr.resolveProfile(undefined), seed: 1, view: 'pod' });
  return { dp, r: new rs.Results(capacity) };
}

/** Passes in pairs (`--warm ab`: on, off; `--against`: this build, the other) as ratios of wall and CPU time, and their medians. */
function pairedText(what: string, wall: number[], cpuNs: number[]): string {
  const w: number[] = [];
  const c: number[] = [];
  for (let k = 0; k + 1 < wall.length; k += 2) {
    w.push(wall[k] / wall[k + 1]);
    c.push(cpuNs[k] / cpuNs[k + 1]);
  }
  const med = (a: number[]): string => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)].toFixed(3);
  return `${what} per pair: wall ${w.map((x) => x.toFixed(3)).join(' ')} (median ${med(w)}), CPU ${c.map((x) => x.toFixed(3)).join(' ')} (median ${med(c)})`;
}
