/**
 * Start-up time of the CLI (issue 12 "Start-up": the embedded lesson, `explain` and `decode` on a small
 * file within 2x the wall time of `node -e 0`, medians of alternating runs on the same machine).
 *
 *   npm run bench:startup -- [--rounds N] [--base DIR] [--no-tsc] [--json]
 *
 * Each round (default 15) runs, one after the other so that a busy spell of the shared machine hits all
 * alike:
 *   node -e 0                                      the floor: Node's own start-up
 *   node CLI replay                                the embedded lesson (10 packets), outputs in a temp dir
 *   node CLI explain TRACE --cluster ... --packet 1   on the lesson's trace (3 KB) and cluster (JSON)
 *   node CLI explain (yaml) ...                    packet 1 of traces/02-overlay, whose kubectl objects are
 *                                                  YAML (4 KB): what loading and running the yaml package costs
 *   node CLI decode TRACE                          the same trace
 *   node CLI replay (decide-only)                  100 generated packets of the e2e trace's kind on their
 *                                                  generated cluster, --summary json, no output file
 * for CLI = dist/bundle/vfp-emu.js (the bundle, package.json `bin`; scripts/bundle.mjs) and, unless
 * --no-tsc, CLI = dist/src/cli.js (the tsc build the tests spawn).
 * The wall time of each run (spawn to exit, from process.hrtime) is taken; the figures are the medians
 * over the rounds and each command's ratio to the `node -e 0` median (the target: at most 2). Where
 * /usr/bin/time is installed each run goes through it and the mean CPU time (user + system; GNU time prints
 * it to 10 ms, hence the mean) and its ratio to `node -e 0`'s follow (`cpu`): on a busy shared machine the wall time swings with the others'
 * load, the CPU time much less, so a change of a few ms shows there first. The CPU
 * model, cores and load average at the start and end go with them. A command that exits non-zero stops
 * the bench (a broken build must not pass for a fast one). `--base DIR` adds the commands of another
 * build (DIR/dist/bundle/vfp-emu.js, or DIR/dist/src/cli.js when it has no bundle, e.g. the previous
 * commit built in a temp dir) to every round, so a change is shown as the ratio of both builds to the
 * same `node -e 0`, measured alternately in one run; its lesson is its own (its traces/), its explain and
 * decode read the same files as ours; the last lines give each bundle command's wall and CPU time as a
 * ratio to the base's (`this build / base`).
 * `--json` adds one JSON object on the last line.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { clusterList } from '../src/gen/layout';
import { writeTraceFile } from '../src/gen/trace';

const ROOT = path.resolve(__dirname, '..', '..');
const CLI = path.join(ROOT, 'dist', 'src', 'cli.js');
const BUNDLE = path.join(ROOT, 'dist', 'bundle', 'vfp-emu.js');
const TRACE = path.join(ROOT, 'traces', '04-icmp-lesson', 'trace.pcapng');
const CLUSTER = ['kubectl.json', 'cni.conf', 'net-conf.json'].flatMap((f) => [
  '--cluster',
  path.join(ROOT, 'traces', '_clusters', 'l2bridge', f),
]);
const OVERLAY_TRACE = path.join(ROOT, 'traces', '02-overlay', 'trace.pcapng');
const OVERLAY = ['kubectl.yaml', 'cni.conf', 'net-conf.json'].flatMap((f) => ['--cluster', path.join(ROOT, 'traces', '_clusters', 'overlay', f)]);

interface Case {
  name: string;
  args: string[];
}

/** The commands of the build whose CLI is `cli`, their names ending in `tag`. */
function commands(cli: string, tag: string): Case[] {
  return [
    { name: `replay (lesson)${tag}`, args: [cli, 'replay'] },
    { name: `explain${tag}`, args: [cli, 'explain', TRACE, ...CLUSTER, '--packet', '1'] },
    { name: `explain (yaml)${tag}`, args: [cli, 'explain', OVERLAY_TRACE, ...OVERLAY, '--packet', '1'] },
    { name: `decode${tag}`, args: [cli, 'decode', TRACE] },
    { name: `replay (decide-only)${tag}`, args: [cli, 'replay', GEN.trace, '--cluster', GEN.cluster, '--summary', 'json'] },
  ];
}

/**
 * The decide-only replay's files (`writeGenerated`): the first 100 packets of the e2e trace's kind (src/gen,
 * as bench/e2e.ts's start-up job, 50 flows) and its generated cluster (JSON), in the run's temp dir: what
 * a replay of a big capture with no output file costs before and around its first batch.
 */
const GEN = { trace: '', cluster: '' };
function writeGenerated(dir: string): void {
  GEN.trace = path.join(dir, 'gen.pcap');
  GEN.cluster = path.join(dir, 'gen-cluster.json');
  const g = writeTraceFile(GEN.trace, 'pcap', { packets: 100, flows: 50, seed: 1 });
  fs.writeFileSync(GEN.cluster, JSON.stringify(clusterList(g.layout)));
}

function parseArgs(argv: string[]): { rounds: number; json: boolean; base: string | null; tsc: boolean } {
  const o = { rounds: 15, json: false, base: null as string | null, tsc: true };
  for (let k = 0; k < argv.length; k++) {
    if (argv[k] === '--rounds') {
      o.rounds = Number(argv[++k]);
      if (!Number.isInteger(o.rounds) || o.rounds < 1) fail('--rounds: give a whole number, 1 or more');
    } else if (argv[k] === '--base' && k + 1 < argv.length) o.base = path.resolve(argv[++k]);
    else if (argv[k] === '--json') o.json = true;
    else if (argv[k] === '--no-tsc') o.tsc = false;
    else fail(`unknown argument ${argv[k]} (use --rounds N, --base DIR, --no-tsc, --json)`);
  }
  return o;
}

function fail(message: string): never {
  process.stderr.write(`bench/startup: ${message}\n`);
  process.exit(2);
}

/** GNU time, which reports a child's CPU seconds (user + system), when the machine has it. */
const TIME = fs.existsSync('/usr/bin/time') ? '/usr/bin/time' : null;

/**
 * One run's wall time in ms and, with GNU time, its CPU time in ms (user + system: what the run itself
 * did, less swayed than the wall time by the other processes of a busy shared machine); the cwd is a temp
 * dir so replay's ./vfp-out/ lands there. GNU time's line is the last of stderr.
 */
function timeOne(c: Case, cwd: string): { wall: number; cpu: number | null } {
  const [cmd, args] = TIME === null ? [process.execPath, c.args] : [TIME, ['-f', '%U %S', process.execPath, ...c.args]];
  const t0 = process.hrtime.bigint();
  const r = spawnSync(cmd, args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
  const wall = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) fail(`${c.name} exited ${r.status}: ${r.stderr.toString().slice(0, 400)}`);
  if (TIME === null) return { wall, cpu: null };
  const [u, sy] = r.stderr.toString().trim().split('\n').pop()!.split(' ').map(Number);
  return { wall, cpu: (u + sy) * 1000 };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

function machine(): string {
  const cpus = os.cpus();
  return `${cpus[0]?.model ?? 'unknown CPU'}, ${cpus.length} cores, node ${process.versions.node}`;
}

function load(): string {
  return os.loadavg().map((x) => x.toFixed(2)).join(' ');
}

/**
 * With --base: each bundle command's median wall time and mean CPU time as a ratio to the base build's same
 * command, measured in the same rounds (below 1: this build is faster).
 */
function versusBase(cases: Case[], medians: number[], cpuMeans: (number | null)[]): string[] {
  const lines = ['this build / base (same rounds):'];
  cases.forEach((c, k) => {
    if (!c.name.endsWith(' bundle')) return;
    const b = cases.findIndex((x) => x.name === c.name.replace(/ bundle$/, ' base'));
    if (b < 0) return;
    const cpu = cpuMeans[k] !== null && cpuMeans[b] !== null ? `  cpu ${((cpuMeans[k] as number) / (cpuMeans[b] as number)).toFixed(2)}x` : '';
    lines.push(`  ${c.name.replace(/ bundle$/, '').padEnd(24)} wall ${(medians[k] / medians[b]).toFixed(2)}x${cpu}`);
  });
  return lines;
}

function main(): void {
  const o = parseArgs(process.argv.slice(2));
  for (const f of [BUNDLE, CLI]) if (!fs.existsSync(f)) fail(`${f} is missing: build first (npm run build)`);
  const baseCli = o.base === null ? null : [path.join(o.base, 'dist', 'bundle', 'vfp-emu.js'), path.join(o.base, 'dist', 'src', 'cli.js')].find((f) => fs.existsSync(f));
  if (baseCli === undefined) fail(`${o.base}/dist has no CLI: build the base first`);
  const cwd = fs.mkdtempSync(path.join(os.tmpdir(), 'vfp-startup-'));
  writeGenerated(cwd);
  const CASES: Case[] = [
    { name: 'node -e 0', args: ['-e', '0'] },
    ...commands(BUNDLE, ' bundle'),
    ...(o.tsc ? commands(CLI, ' tsc') : []),
    ...(baseCli === null ? [] : commands(baseCli, ' base')),
  ];
  if (baseCli !== null) process.stdout.write(`base: ${baseCli}\n`);
  const loadBefore = load();
  const times: number[][] = CASES.map(() => []);
  const cpus: number[][] = CASES.map(() => []);
  try {
    for (const c of CASES) timeOne(c, cwd); // warm the file cache once
    for (let r = 0; r < o.rounds; r++) {
      // alternate the order every round so no case always follows another
      const order = r % 2 ? [...CASES.keys()].reverse() : [...CASES.keys()];
      for (const k of order) {
        const t = timeOne(CASES[k], cwd);
        times[k].push(t.wall);
        if (t.cpu !== null) cpus[k].push(t.cpu);
      }
    }
  } finally {
    fs.rmSync(cwd, { recursive: true, force: true });
  }
  const medians = times.map(median);
  const floor = medians[0];
  // the mean: GNU time prints CPU seconds to 10 ms, so a median of a few runs would move in 10 ms steps
  const cpuMeans = cpus.map((c) => (c.length === 0 ? null : c.reduce((a, b) => a + b, 0) / c.length));
  const lines = [`machine: ${machine()}`, `load average: ${loadBefore} (start), ${load()} (end)`, `rounds: ${o.rounds}`];
  CASES.forEach((c, k) => {
    const ratio = medians[k] / floor;
    const verdict = k === 0 ? '' : ratio <= 2 ? '  ok (<= 2x)' : '  over 2x';
    const cpu = cpuMeans[k] === null ? '' : `  cpu ${(cpuMeans[k] as number).toFixed(0).padStart(4)} ms ${((cpuMeans[k] as number) / (cpuMeans[0] as number)).toFixed(2)}x`;
    lines.push(`${c.name.padEnd(26)} median ${medians[k].toFixed(1).padStart(7)} ms  min ${Math.min(...times[k]).toFixed(1).padStart(7)} ms  ${ratio.toFixed(2)}x${verdict}${cpu}`);
  });
  if (baseCli !== null) lines.push(...versusBase(CASES, medians, cpuMeans));
  process.stdout.write(lines.join('\n') + '\n');
  if (o.json) {
    const out = CASES.map((c, k) => ({ name: c.name, medianMs: medians[k], ratio: medians[k] / floor, runsMs: times[k], cpuMeanMs: cpuMeans[k] }));
    process.stdout.write(JSON.stringify({ machine: machine(), load: [loadBefore, load()], cases: out }) + '\n');
  }
}

main();
