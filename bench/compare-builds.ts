/**
 * Two builds side by side on the shared machine (issue 10: "within 5% of before, old and new builds
 * alternating in one run"): the build of git revision REV (default HEAD~1) and this tree's build.
 *
 *   npm run bench:compare -- [REV] [--rounds N] [--packets N] [--engine-runs N] [--e2e-runs N] [--no-e2e] [--no-1m] [--packets-1m N] [--json]
 *
 * REV is checked out into a temporary worktree under /tmp (`git worktree add --detach`, node_modules
 * linked to this tree's, `tsc -p .`), removed again at the end, also on Ctrl-C / SIGTERM: the running child
 * gets the signal, the worktree goes, the exit status is 130 (143 for SIGTERM); see `onSignal`. Then, for N rounds
 * (default 5), each build runs its own benches, the order of the two builds swapped every round so that a
 * busy spell of the machine hits both alike:
 *   dist/bench/engine-trace.js --flows 10000    the engine's ns/packet at 10k flows (median of its passes)
 *   dist/bench/engine-trace.js --flows 100000   the same at 100k flows
 *   dist/bench/engine-trace.js --flows 1000000 --packets 10000000 --runs 1
 *                                               the same at 1M flows (10 packets a flow: ~90% flow hits);
 *                                               `--packets-1m N` sets its packets, `--no-1m` leaves it out
 *   the engine's CPU time per packet            printed by engine-trace since issue 12 (10k, 100k and 1M flows;
 *                                               process.cpuUsage: less moved by a neighbour taking the core);
 *                                               both builds run this tree's engine-trace (sameEngineBench)
 *   the flow table's bytes per connection       printed by engine-trace (10k and 1M flows; builds whose
 *                                               engine-trace does not print it have no such figure)
 *   dist/bench/e2e.js --runs 1                  the replay rate (M packets/s) of `vfp-emu replay --out`,
 *                                               workers 1 and 2, with and without --verdicts, and of the
 *                                               decide-only replay (no output file), workers 1 and 2:
 *                                               this tree's e2e.js times each build's CLI (`--cli`), so
 *                                               both builds run the same bench and its newer rows; the
 *                                               --out and decide-only rows again through each build's
 *                                               bundle (dist/bundle/vfp-emu.js, the `vfp-emu` command),
 *                                               which both builds get (scripts/bundle.mjs, when the
 *                                               revision has it) after `tsc`
 * Each bench prints text (their formats, read here, are those of engine-trace.ts and e2e.ts); the figures
 * are the medians over the rounds, and the ratio new/old with the verdict against the 5% bound (for ns per
 * packet lower is better, for packets/s higher); the best round of each build and their ratio beside them
 * (less moved by a neighbour's load spike than the median when the rounds are few), and the median of each round's own new/old ratio (pairedText). The CPU model, cores and load average at the start and
 * end go with them. `--json` adds one JSON object with every figure and round on the last line.
 *
 * This tree must be built first (the npm script does it). The machines are shared and noisy: read the
 * per-round figures before trusting a ratio, and run again when the load average moved a lot.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const ROOT = path.resolve(__dirname, '..', '..');
const BOUND = 0.05;

interface Options {
  rev: string;
  rounds: number;
  packets: number | null;
  engineRuns: number;
  e2eRuns: number;
  e2e: boolean;
  json: boolean;
  big: boolean;
  packets1m: number;
}

/** Bad usage (an option, a revision): exit 2, as the CLI's. */
class UsageError extends Error {}

function parseArgs(argv: string[]): Options {
  const o: Options = { rev: 'HEAD~1', rounds: 5, packets: null, engineRuns: 3, e2eRuns: 1, e2e: true, json: false, big: true, packets1m: 10_000_000 };
  for (let k = 0; k < argv.length; k++) {
    const a = argv[k];
    const num = (): number => {
      const v = Number(argv[++k]);
      if (!Number.isInteger(v) || v < 1) throw new UsageError(`${a}: give a whole number, 1 or more`);
      return v;
    };
    if (a === '--rounds') o.rounds = num();
    else if (a === '--packets') o.packets = num();
    else if (a === '--engine-runs') o.engineRuns = num();
    else if (a === '--e2e-runs') o.e2eRuns = num();
    else if (a === '--no-e2e') o.e2e = false;
    else if (a === '--no-1m') o.big = false;
    else if (a === '--packets-1m') o.packets1m = num();
    else if (a === '--json') o.json = true;
    else if (!a.startsWith('-')) o.rev = a;
    else throw new UsageError(`unknown option ${a} (see bench/compare-builds.ts)`);
  }
  return o;
}

/**
 * Ctrl-C (SIGINT) and SIGTERM: the builds and benches run as child processes, one at a time (`run`,
 * asynchronous, so that the signal handler runs while a child does: with spawnSync it ran only after the
 * whole comparison, and a child killed by Ctrl-C only lost its round's figures). The signal is forwarded
 * to the running child (a terminal's Ctrl-C reaches it already; a `kill -INT` of this process alone does
 * not), and once it has exited the temporary worktree is removed and the process exits 130 (SIGINT; 143
 * for SIGTERM), as a shell reports a command ended by the signal.
 */
class Interrupted extends Error {}
let interrupted: NodeJS.Signals | null = null;
let child: ChildProcess | null = null;
/** Removes the temporary worktree (set once it exists). */
let cleanup: (() => void) | null = null;

function onSignal(sig: NodeJS.Signals): void {
  if (interrupted !== null) return;
  interrupted = sig;
  process.stderr.write(`compare-builds: ${sig}: stopping${child !== null ? ' the running bench' : ''}, removing the temporary worktree\n`);
  if (child !== null && child.exitCode === null && child.signalCode === null) {
    child.kill(sig);
    // a child that ignores the signal is not waited for long
    setTimeout(() => child?.kill('SIGKILL'), 5000).unref();
  } else stopNow();
}

/** Removes the worktree and exits with the signal's status. */
function stopNow(): never {
  cleanup?.();
  cleanup = null;
  process.exit(interrupted === 'SIGTERM' ? 143 : 130);
}

/** Runs `cmd` in `cwd` (the only child running), its stdout as the result; throws when it fails. */
function run(cmd: string, args: string[], cwd: string): Promise<string> {
  if (interrupted !== null) return Promise.reject(new Interrupted());
  return new Promise((resolve, reject) => {
    const c = spawn(cmd, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    child = c;
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    c.stdout.on('data', (d: Buffer) => out.push(d));
    c.stderr.on('data', (d: Buffer) => err.push(d));
    c.on('error', (e) => {
      child = null;
      reject(e);
    });
    c.on('close', (code, signal) => {
      child = null;
      if (interrupted !== null) return reject(new Interrupted());
      const stdout = Buffer.concat(out).toString('utf8');
      if (code !== 0) return reject(new Error(`${cmd} ${args.join(' ')} (in ${cwd}) failed with ${code ?? signal}:\n${stdout}\n${Buffer.concat(err).toString('utf8')}`));
      resolve(stdout);
    });
  });
}

/** git in this tree (quick commands: synchronous). */
function git(args: string[]): string {
  const r = spawnSync('git', args, { cwd: ROOT, encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`git ${args.join(' ')} failed with ${r.status ?? r.signal}:\n${r.stdout}\n${r.stderr}`);
  return r.stdout.trim();
}

interface Build {
  label: string;
  dir: string;
}

/** Checks out and builds `rev` under /tmp; returns the build and its removal (also set as `cleanup`, for a signal). */
async function buildRevision(rev: string): Promise<{ build: Build; remove: () => void }> {
  const sha = git(['rev-parse', '--verify', `${rev}^{commit}`]);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `vfp-compare-${sha.slice(0, 8)}-`));
  git(['worktree', 'add', '--detach', dir, sha]);
  const remove = (): void => {
    spawnSync('git', ['worktree', 'remove', '--force', dir], { cwd: ROOT });
    fs.rmSync(dir, { recursive: true, force: true });
  };
  cleanup = remove;
  try {
    fs.symlinkSync(fs.realpathSync(path.join(ROOT, 'node_modules')), path.join(dir, 'node_modules'));
    process.stderr.write(`building ${rev} (${sha.slice(0, 12)}) in ${dir} ...\n`);
    await run(process.execPath, [path.join(dir, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', '.'], dir);
    await bundle(dir);
    await sameEngineBench(dir);
  } catch (e) {
    remove();
    throw e;
  }
  return { build: { label: `${rev} (${sha.slice(0, 12)})`, dir }, remove };
}

/** The build's bundle (`npm run build`'s second step), when the revision has scripts/bundle.mjs. */
async function bundle(dir: string): Promise<void> {
  const script = path.join(dir, 'scripts', 'bundle.mjs');
  if (fs.existsSync(script)) await run(process.execPath, [script], dir);
}

/**
 * Both builds run this tree's engine-trace (as both run this tree's e2e.js): its compiled file goes over
 * the old build's, where it imports the old build's engine (its imports are relative), so an old build
 * also prints the figures added since (the engine's CPU time). Kept as built when it does not load there
 * (an engine API it uses is missing): a quick run of one pass says.
 */
async function sameEngineBench(dir: string): Promise<void> {
  const target = path.join(dir, 'dist', 'bench', 'engine-trace.js');
  const own = fs.readFileSync(target);
  fs.copyFileSync(path.join(ROOT, 'dist', 'bench', 'engine-trace.js'), target);
  try {
    await run(process.execPath, [target, '--packets', '2000', '--flows', '100', '--runs', '1'], dir);
  } catch (e) {
    if (e instanceof Interrupted) throw e;
    fs.writeFileSync(target, own);
    process.stderr.write(`  this tree's engine-trace does not run on the old build: the old build's own is used\n`);
  }
}

function currentLabel(): string {
  const sha = git(['rev-parse', 'HEAD']).slice(0, 12);
  const dirty = git(['status', '--porcelain', '--untracked-files=no']) !== '' ? ' + uncommitted changes' : '';
  return `this tree (${sha}${dirty})`;
}

/** A figure: its name, unit, and whether a higher value is better. */
interface Figure {
  name: string;
  unit: string;
  higherBetter: boolean;
}

const ENGINE_10K: Figure = { name: 'engine, 10k flows', unit: 'ns/packet', higherBetter: false };
const ENGINE_100K: Figure = { name: 'engine, 100k flows', unit: 'ns/packet', higherBetter: false };
const ENGINE_1M: Figure = { name: 'engine, 1M flows', unit: 'ns/packet', higherBetter: false };
const CPU_10K: Figure = { name: 'engine CPU time, 10k flows', unit: 'ns/packet', higherBetter: false };
const CPU_100K: Figure = { name: 'engine CPU time, 100k flows', unit: 'ns/packet', higherBetter: false };
const CPU_1M: Figure = { name: 'engine CPU time, 1M flows', unit: 'ns/packet', higherBetter: false };
const BYTES_10K: Figure = { name: 'flow table, 10k flows', unit: 'B/connection', higherBetter: false };
const BYTES_1M: Figure = { name: 'flow table, 1M flows', unit: 'B/connection', higherBetter: false };
const REPLAY = [
  { line: 'vfp-emu replay --out --workers 1', fig: { name: 'replay --out, workers 1', unit: 'M packets/s', higherBetter: true } },
  { line: 'vfp-emu replay --out --workers 2', fig: { name: 'replay --out, workers 2', unit: 'M packets/s', higherBetter: true } },
  { line: 'vfp-emu replay --out --verdicts --workers 1', fig: { name: 'replay --out --verdicts, workers 1', unit: 'M packets/s', higherBetter: true } },
  { line: 'vfp-emu replay --out --verdicts --workers 2', fig: { name: 'replay --out --verdicts, workers 2', unit: 'M packets/s', higherBetter: true } },
  { line: 'vfp-emu replay decide-only (--summary json) --workers 1', fig: { name: 'replay decide-only, workers 1', unit: 'M packets/s', higherBetter: true } },
  { line: 'vfp-emu replay decide-only (--summary json) --workers 2', fig: { name: 'replay decide-only, workers 2', unit: 'M packets/s', higherBetter: true } },
];
/** e2e.js's rows through the bundle (builds with one; a build without gets no figure for them). */
const REPLAY_BUNDLE = [
  { line: 'vfp-emu (bundle) replay --out --workers 1', fig: { name: 'bundle: replay --out, workers 1', unit: 'M packets/s', higherBetter: true } },
  { line: 'vfp-emu (bundle) replay --out --workers 2', fig: { name: 'bundle: replay --out, workers 2', unit: 'M packets/s', higherBetter: true } },
  { line: 'vfp-emu (bundle) replay decide-only --workers 1', fig: { name: 'bundle: replay decide-only, workers 1', unit: 'M packets/s', higherBetter: true } },
  { line: 'vfp-emu (bundle) replay decide-only --workers 2', fig: { name: 'bundle: replay decide-only, workers 2', unit: 'M packets/s', higherBetter: true } },
];

/** engine-trace.js's `engine   best X ns/packet   median Y` line: Y. */
function engineMedian(out: string): number {
  const m = /^engine\s+best\s+[\d.]+ ns\/packet\s+median\s+([\d.]+)/m.exec(out);
  if (m === null) throw new Error(`no engine line in engine-trace output:\n${out}`);
  return Number(m[1]);
}

/** engine-trace.js's `engine CPU time best X ns/packet   median Y` line: Y, or null (a build that does not print it). */
function engineCpu(out: string): number | null {
  const m = /^engine CPU time best\s+[\d.]+ ns\/packet\s+median\s+([\d.]+)/m.exec(out);
  return m === null ? null : Number(m[1]);
}

/** engine-trace.js's `flow table: B bytes per connection` line: B, or null (a build that does not print it). */
function tableBytes(out: string): number | null {
  const m = /^flow table: ([\d.]+) bytes per connection/m.exec(out);
  return m === null ? null : Number(m[1]);
}

/** e2e.js's `NAME   S s   R M packets/s` line of `name`: R (throws when there is none; `replayRateOrNull`: null). */
function replayRate(out: string, name: string): number {
  const r = replayRateOrNull(out, name);
  if (r === null) throw new Error(`no '${name}' line in e2e output:\n${out}`);
  return r;
}

function replayRateOrNull(out: string, name: string): number | null {
  for (const l of out.split('\n')) {
    if (!l.startsWith(name) || !/^\s/.test(l.slice(name.length))) continue;
    const m = /([\d.]+) M packets\/s/.exec(l);
    if (m !== null) return Number(m[1]);
  }
  return null;
}

/** One round of one build: every figure once. */
async function measure(b: Build, o: Options): Promise<Map<Figure, number>> {
  const figures = new Map<Figure, number>();
  const packets = o.packets !== null ? ['--packets', String(o.packets)] : [];
  // a run that fails (the shared machine: a file system or node_modules changing under it) loses its
  // figures for this round only; the others go on
  const bench = async (file: string, args: string[], take: (out: string) => void, from = b.dir): Promise<void> => {
    try {
      take(await run(process.execPath, [path.join(from, 'dist', 'bench', file), ...args, ...packets], b.dir));
    } catch (e) {
      if (e instanceof Interrupted) throw e;
      process.stderr.write(`  ${b.label}: ${file} ${args.join(' ')} failed, its figures skipped this round: ${(e as Error).message.split('\n')[0]}\n`);
    }
  };
  const engine = (fig: Figure, bytes: Figure | null, cpuFig: Figure | null = null) => (out: string): void => {
    figures.set(fig, engineMedian(out));
    const cpu = engineCpu(out);
    if (cpuFig !== null && cpu !== null) figures.set(cpuFig, cpu);
    const b = tableBytes(out);
    if (bytes !== null && b !== null) figures.set(bytes, b);
  };
  await bench('engine-trace.js', ['--flows', '10000', '--runs', String(o.engineRuns)], engine(ENGINE_10K, BYTES_10K, CPU_10K));
  await bench('engine-trace.js', ['--flows', '100000', '--runs', String(o.engineRuns)], engine(ENGINE_100K, null, CPU_100K));
  // its own packets first: engine-trace takes the first --packets
  if (o.big) await bench('engine-trace.js', ['--flows', '1000000', '--packets', String(o.packets1m), '--runs', '1'], engine(ENGINE_1M, BYTES_1M, CPU_1M));
  const cli = path.join(b.dir, 'dist', 'src', 'cli.js');
  const e2e = (out: string): void => {
    REPLAY.forEach((r) => figures.set(r.fig, replayRate(out, r.line)));
    for (const r of REPLAY_BUNDLE) {
      const v = replayRateOrNull(out, r.line);
      if (v !== null) figures.set(r.fig, v);
    }
  };
  if (o.e2e) await bench('e2e.js', ['--runs', String(o.e2eRuns), '--cli', cli], e2e, ROOT);
  return figures;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m] : (s[m - 1] + s[m]) / 2;
}

function machine(): string {
  return `${os.cpus()[0]?.model ?? '?'}, ${os.availableParallelism()} cores, node ${process.version}, load ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`;
}

interface Row {
  fig: Figure;
  old: number[];
  cur: number[];
}

/**
 * The median of the rounds' own new/old ratios: the two builds of a round run one after the other, so a
 * busy spell of the shared machine that spans a round cancels in its ratio, where it skews the medians of
 * the figures (the same build's 10k-flow figure once varied 2.6x between rounds of one run). Empty when a
 * run failed in some round (the rounds no longer pair up).
 */
function pairedText(r: Row): string {
  if (r.old.length !== r.cur.length) return '';
  return `; per-round ratios' median ${median(r.cur.map((x, k) => x / r.old[k])).toFixed(3)}`;
}

/** The report lines: per figure the medians, the ratio new/old and the verdict against BOUND, then the rounds. */
function report(rows: Row[]): string[] {
  const out = [`${'figure (medians of the rounds)'.padEnd(48)} ${'old'.padStart(9)} ${'new'.padStart(9)}  new/old  within ${BOUND * 100}%   best old / new, ratio; median of the rounds' ratios`];
  for (const r of rows) {
    if (r.old.length === 0 || r.cur.length === 0) {
      out.push(`${`${r.fig.name} (${r.fig.unit})`.padEnd(48)} no figure for one build (every run failed)`);
      continue;
    }
    const a = median(r.old);
    const b = median(r.cur);
    const ratio = b / a;
    const worse = r.fig.higherBetter ? ratio < 1 - BOUND : ratio > 1 + BOUND;
    const digits = r.fig.higherBetter ? 3 : 1;
    const best = (xs: number[]): number => (r.fig.higherBetter ? Math.max(...xs) : Math.min(...xs));
    const bestText = `${best(r.old).toFixed(digits)} / ${best(r.cur).toFixed(digits)}, ${(best(r.cur) / best(r.old)).toFixed(3)}`;
    out.push(`${`${r.fig.name} (${r.fig.unit})`.padEnd(48)} ${a.toFixed(digits).padStart(9)} ${b.toFixed(digits).padStart(9)}  ${ratio.toFixed(3).padStart(7)}  ${(worse ? 'NO (slower)' : 'yes').padEnd(11)}  ${bestText}${pairedText(r)}`);
  }
  out.push('', 'each round (old | new):');
  for (const r of rows) {
    const d = r.fig.higherBetter ? 3 : 1;
    out.push(`  ${r.fig.name.padEnd(46)} ${r.old.map((x) => x.toFixed(d)).join(' ')} | ${r.cur.map((x) => x.toFixed(d)).join(' ')}`);
  }
  return out;
}

async function main(): Promise<void> {
  const o = parseArgs(process.argv.slice(2));
  if (spawnSync('git', ['rev-parse', '--verify', '--quiet', `${o.rev}^{commit}`], { cwd: ROOT }).status !== 0) {
    throw new UsageError(`${o.rev}: not a commit of this repository (give a revision, e.g. HEAD~1 or a commit id)`);
  }
  const cur: Build = { label: currentLabel(), dir: ROOT };
  if (!fs.existsSync(path.join(ROOT, 'dist', 'bench', 'engine-trace.js'))) throw new Error('build this tree first (npm run bench:compare builds it)');
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  if (o.e2e) await bundle(ROOT); // this tree's dist/src as built, bundled (the old build gets the same)
  const { build: old, remove } = await buildRevision(o.rev);
  try {
    const start = machine();
    const rows = new Map<Figure, Row>();
    for (let k = 0; k < o.rounds; k++) {
      const order = k % 2 === 0 ? [old, cur] : [cur, old];
      for (const b of order) {
        process.stderr.write(`round ${k + 1}/${o.rounds}: ${b.label} ...\n`);
        for (const [fig, v] of await measure(b, o)) {
          const row = rows.get(fig) ?? { fig, old: [], cur: [] };
          (b === old ? row.old : row.cur).push(v);
          rows.set(fig, row);
        }
      }
    }
    const lines = [`machine at the start: ${start}`, `machine at the end:   ${machine()}`, `old: ${old.label}`, `new: ${cur.label}`];
    lines.push(`${o.rounds} rounds, builds alternating (old first in odd rounds); engine-trace ${o.engineRuns} passes per run${o.packets !== null ? `, ${o.packets} packets` : ''}${o.big ? `, 1M flows: ${o.packets1m} packets, 1 pass` : ''}; e2e --runs ${o.e2eRuns}`, '');
    lines.push(...report([...rows.values()]));
    console.log(lines.join('\n'));
    if (o.json) console.log(JSON.stringify({ old: old.label, new: cur.label, machine: os.cpus()[0]?.model, load: os.loadavg(), figures: [...rows.values()].map((r) => ({ ...r.fig, old: r.old, new: r.cur, ratio: median(r.cur) / median(r.old) })) }));
  } finally {
    remove();
    cleanup = null;
  }
}

main().catch((e: unknown) => {
  if (e instanceof Interrupted || interrupted !== null) stopNow();
  console.error(`compare-builds: ${e instanceof Error ? e.message : String(e)}`);
  process.exitCode = e instanceof UsageError ? 2 : 1;
});
