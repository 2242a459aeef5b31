/**
 * The fuzz bench: N inputs of the fuzz harness (src/fuzz) spread over its targets (readers + decoder,
 * cluster importers, engine; campaign.ts says how they take turns and why), then what it found:
 *
 *   npm run build && node dist/bench/fuzz.js [--inputs 1000000] [--seed 1] [--out DIR] [--from K]
 *                                            [--hang-ms 2000] [--stall-s 30] [--threads-every 250]
 *   (or `npm run fuzz -- --inputs N --seed S`)
 *
 * Prints inputs tried, rejected (the exit-2 path), crashes, hangs and inputs/s per target, the wall
 * time and the peak RSS (process.resourceUsage().maxRSS, the worker included), and the folder where
 * each finding's input files and finding.json (seed, index, message, stack) are saved; exit status 1
 * when anything was found. An input that returns after more than --hang-ms counts as a hang; one that
 * never returns is caught by a watchdog: the inputs run on a worker thread that publishes the index it
 * is on, and when that index has not moved for --stall-s the main thread terminates the worker, saves
 * that input (made again from seed and index) as a hang, and goes on with a new worker after it.
 * `--threads-every T`: in every T-th block of 20 inputs, the engine inputs are replayed with 2 and 3
 * threads too and their outputs compared with one thread's (0: never; a thread takes ~0.1 s to start).
 *
 * Measured on the shared 2-core machine (load 12-17 from other work), 1M inputs, seed 7, the harness of
 * commit c134554: readers 750,000 inputs (214,177 rejected, 0 crashes, 2,570/s), cluster 150,000
 * (115,862 rejected, 1 crash: a YAML alias without its anchor, test/fuzz-regressions.test.ts; 98/s),
 * engine 100,000 (6,868 rejected, 0 crashes, 182/s); 0 hangs; 2,378 s; peak RSS 246 MB. The harness of
 * commit 2c13f33 (special literals, nibbles, every capture through the engine, 2 and 3 threads for 800
 * engine inputs), 1M inputs, seed 9, machine at load 2: readers 750,000 (209,702 rejected, 0 crashes,
 * 7,822/s), cluster 150,000 (115,708 rejected, 94 crashes, all the unresolved alias; 313/s), engine
 * 100,000 (8,322 rejected, 0 crashes, 356/s); 0 hangs; 858 s; peak RSS 435 MB. The same 1M inputs (seed 9)
 * on the merged issue-9 code (the alias fixed), run at nice 19 beside two builds and test runs: readers
 * 750,000 (209,702 rejected, 0 crashes, 6,348/s), cluster 150,000 (116,958 rejected, 0 crashes, 1 hang:
 * input 745,496 took 3.6 s against the 2 s limit while tsc ran beside it, and takes 0.28 s alone; 230/s),
 * engine 100,000 (8,322 rejected, 0 crashes, 226/s); 1,214 s; peak RSS 350 MB. It also showed yaml's
 * warning for a complex key (`? [a]`), since refused as bad input (test/cluster-limits.test.ts).
 * `--from K` starts at input K (input K of a run is the same whatever came before it). A line a minute
 * says which input it is on.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { Fuzzer, saveFinding, targetOf } from '../src/fuzz/campaign';
import { loadSeeds } from '../src/fuzz/seeds';
import { TARGETS } from '../src/fuzz/targets';

interface Job {
  seed: number;
  from: number;
  to: number;
  hangMs: number;
  threadsEvery: number;
  out: string;
  /** [0]: the index being run; [1]: 1 when the job is done. */
  progress: SharedArrayBuffer;
  /** Per target: tried, rejected, crashes, hangs, seconds. */
  stats: SharedArrayBuffer;
}

const FIELDS = ['tried', 'rejected', 'crashes', 'hangs', 'seconds'] as const;

interface FindingNote {
  kind: string;
  target: string;
  index: number;
  message: string;
  folder: string;
}

/** The worker: runs inputs from..to-1, publishing the current index and the counts as it goes. */
async function runJob(job: Job): Promise<void> {
  const fuzzer = new Fuzzer(job.seed, job.hangMs, loadSeeds(), job.threadsEvery);
  const at = new Int32Array(job.progress);
  const stats = new Float64Array(job.stats);
  try {
    for (let i = job.from; i < job.to; i++) {
      Atomics.store(at, 0, i);
      const f = await fuzzer.step(i);
      if (f !== null) {
        const note: FindingNote = { kind: f.kind, target: f.input.target, index: i, message: f.message, folder: saveFinding(job.out, job.seed, f) };
        parentPort?.postMessage(note);
      }
      const t = TARGETS.indexOf(targetOf(i));
      const s = fuzzer.stats.get(TARGETS[t]) as Record<(typeof FIELDS)[number], number>;
      for (let k = 0; k < FIELDS.length; k++) stats[t * FIELDS.length + k] = s[FIELDS[k]];
    }
  } finally {
    fuzzer.close();
    Atomics.store(at, 1, 1);
  }
}

function arg(argv: string[], name: string, dflt: number): number {
  const k = argv.indexOf(name);
  if (k < 0) return dflt;
  const v = Number(argv[k + 1]);
  if (!Number.isFinite(v) || v < 0) throw new Error(`${name} takes a number, not '${argv[k + 1]}'`);
  return v;
}

/** Runs job [from, to) on a worker; resolves with where it stopped (to, or the index it hung on). */
function runWorker(job: Job, stallMs: number, notes: FindingNote[]): Promise<{ stoppedAt: number; hung: boolean }> {
  return new Promise((resolve, reject) => {
    const w = new Worker(__filename, { workerData: job });
    const at = new Int32Array(job.progress);
    let last = job.from;
    let since = Date.now();
    let hungAt = -1;
    let shown = Date.now();
    const timer = setInterval(() => {
      const i = Atomics.load(at, 0);
      if (Date.now() - shown >= 60_000) {
        shown = Date.now();
        const st = new Float64Array(job.stats);
        let crashes = 0;
        let hangs = 0;
        for (let t = 0; t < TARGETS.length; t++) {
          crashes += st[t * FIELDS.length + 2];
          hangs += st[t * FIELDS.length + 3];
        }
        const rss = Math.round(process.resourceUsage().maxRSS / 1024);
        console.log(`  ... input ${i} (${new Date().toISOString().slice(11, 19)} UTC): ${crashes} crashes, ${hangs} hangs this worker; peak RSS ${rss} MB`);
      }
      if (i !== last) {
        last = i;
        since = Date.now();
      } else if (Atomics.load(at, 1) === 0 && Date.now() - since > stallMs) {
        clearInterval(timer);
        hungAt = i;
        void w.terminate();
      }
    }, 250);
    w.on('message', (n: FindingNote) => {
      notes.push(n);
      console.log(`  ${n.kind} (${n.target}) at input ${n.index}: ${n.message.slice(0, 200)}\n    saved in ${n.folder}`);
    });
    w.on('error', (e) => {
      clearInterval(timer);
      reject(e);
    });
    w.on('exit', () => {
      clearInterval(timer);
      resolve(hungAt >= 0 ? { stoppedAt: hungAt, hung: true } : { stoppedAt: job.to, hung: false });
    });
  });
}

async function main(argv: string[]): Promise<number> {
  const inputs = arg(argv, '--inputs', 1_000_000);
  const seed = arg(argv, '--seed', 1);
  const from = arg(argv, '--from', 0);
  const hangMs = arg(argv, '--hang-ms', 2000);
  const stallMs = arg(argv, '--stall-s', 30) * 1000;
  const threadsEvery = arg(argv, '--threads-every', 250);
  const k = argv.indexOf('--out');
  const out = path.resolve(k >= 0 ? argv[k + 1] : `fuzz-findings-seed${seed}`);
  fs.mkdirSync(out, { recursive: true });
  const probe = new Fuzzer(seed, hangMs, loadSeeds(), threadsEvery);
  console.log(`fuzz: seed ${seed}, inputs ${from}..${from + inputs - 1}; ${probe.seeds.captures.length} captures, ${probe.seeds.scenarios.length} scenarios, ${probe.seeds.configs.length} config groups; findings go to ${out}`);
  if (probe.seeds.corpusMissing !== null) console.log(`fuzz: ${probe.seeds.corpusMissing}`);
  const totals = new Float64Array(TARGETS.length * FIELDS.length);
  const notes: FindingNote[] = [];
  const t0 = Date.now();
  let at = from;
  const end = from + inputs;
  while (at < end) {
    const job: Job = { seed, from: at, to: end, hangMs, threadsEvery, out, progress: new SharedArrayBuffer(8), stats: new SharedArrayBuffer(totals.length * 8) };
    new Int32Array(job.progress)[0] = at;
    const r = await runWorker(job, stallMs, notes);
    const s = new Float64Array(job.stats);
    for (let j = 0; j < totals.length; j++) totals[j] += s[j];
    if (!r.hung) break;
    const input = probe.makeInput(r.stoppedAt);
    const folder = saveFinding(out, seed, { index: r.stoppedAt, kind: 'hang', message: `no return within ${stallMs / 1000} s`, stack: '', input });
    totals[TARGETS.indexOf(input.target) * FIELDS.length + 3]++;
    totals[TARGETS.indexOf(input.target) * FIELDS.length + 0]++;
    console.log(`  hang (${input.target}) at input ${r.stoppedAt}: no return within ${stallMs / 1000} s\n    saved in ${folder}`);
    at = r.stoppedAt + 1;
  }
  probe.close();
  const wall = (Date.now() - t0) / 1000;
  console.log('\ntarget    inputs  rejected  crashes  hangs  inputs/s');
  let tried = 0;
  let crashes = 0;
  let hangs = 0;
  TARGETS.forEach((t, j) => {
    const [n, rej, crash, hang, secs] = FIELDS.map((_, f) => totals[j * FIELDS.length + f]);
    tried += n;
    crashes += crash;
    hangs += hang;
    console.log(`${t.padEnd(8)} ${String(n).padStart(7)} ${String(rej).padStart(9)} ${String(crash).padStart(8)} ${String(hang).padStart(6)} ${(secs > 0 ? Math.round(n / secs) : 0).toString().padStart(9)}`);
  });
  const rssMb = Math.round(process.resourceUsage().maxRSS / 1024);
  console.log(`total    ${tried} inputs tried, ${crashes} crashes (broken invariants included), ${hangs} hangs; ${wall.toFixed(0)} s wall; peak RSS ${rssMb} MB`);
  console.log(`findings: ${notes.length === 0 && hangs === 0 ? 'none' : out}`);
  return crashes + hangs > 0 ? 1 : 0;
}

if (isMainThread) {
  main(process.argv.slice(2)).then(
    (code) => (process.exitCode = code),
    (e: unknown) => {
      console.error(e);
      process.exitCode = 2;
    },
  );
} else void runJob(workerData as Job);
