/**
 * Many captures at once (issue 12): `vfp-emu replay DIR` over 8 generated captures (src/gen, one cluster,
 * seeds 1-8: one node's or one window's traffic each) with `--workers 1` (the traces one after another on
 * the main thread) against `--workers 2` (this thread and one worker thread, one trace each at a time), as a
 * user runs it (a whole process of the bundle, package.json `bin`, wall clock, `--out DIR --summary json`).
 * Target on the 2-core machine: >= 1.8x.
 *
 *   npm run bench:multi -- [--traces 8] [--packets 100000] [--rounds 5] [--flows N] [--base DIR] [--tsc]
 *                          [--pad-nodes N --pad-pods P]
 *
 * The commands alternate in each round (their order swapped every round), so that a busy spell of the
 * shared machine hits all alike; the figures are the median and the best round of each, and the ratios
 * W1/W2 of both. The load average before and after goes with them. CPU seconds (user + sys, from
 * /usr/bin/time when it is there) show the work each did, and the cores each round got (CPU / wall).
 *
 * The control: each round also runs a pure-CPU loop twice on one thread, then once on each of two worker
 * threads, and prints its wall ratio (2.0 on 2 free cores) and its CPU ratio (2 threads / 1 thread: 1.0
 * when two threads do the same work in the same CPU time). On this VM the control's CPU ratio is about
 * 1.37 (the two vCPUs slow each other down: shared core or cache, or the host's other tenants), which is
 * then the machine's share of the replay's CPU ratio W2/W1, not the program's: the line "the program's own
 * extra CPU" divides one by the other.
 *
 * `--base DIR` adds another build (DIR/dist/bundle/vfp-emu.js, or DIR/dist/src/cli.js when it has no
 * bundle: e.g. the previous commit built in a worktree) to every round, both builds' W1 and W2 alternating
 * with ours; each build's figures, and new/base per worker count (the median of each round's own ratio).
 * `--tsc` times dist/src/cli.js (the tsc build the tests spawn) instead of the bundle.
 * `--pad-nodes N --pad-pods P` add N Linux nodes with P pods each to the cluster (pods as kubectl prints
 * them, with `last-applied-configuration` and managedFields: about 2 KB each), so that loading the cluster
 * weighs as a real one does (a worker that loads it again pays it again). Files go to /dev/shm when it
 * exists (the disk is not what is measured).
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { clusterList } from '../src/gen/layout';
import { writeTraceFile } from '../src/gen/trace';

function arg(name: string, dflt: number): number {
  const k = process.argv.indexOf(`--${name}`);
  return k > 0 ? Number(process.argv[k + 1]) : dflt;
}

function argString(name: string): string | null {
  const k = process.argv.indexOf(`--${name}`);
  return k > 0 && k + 1 < process.argv.length ? process.argv[k + 1] : null;
}

const TIME = fs.existsSync('/usr/bin/time') ? '/usr/bin/time' : null;
const ROOT = path.resolve(__dirname, '..', '..');

/** The CLI of the build at `root`: its bundle, else (or with --tsc) its tsc build. */
function cliOf(root: string, tsc: boolean): string {
  const bundle = path.join(root, 'dist', 'bundle', 'vfp-emu.js');
  const cli = !tsc && fs.existsSync(bundle) ? bundle : path.join(root, 'dist', 'src', 'cli.js');
  if (!fs.existsSync(cli)) {
    process.stderr.write(`bench/multi: ${root}/dist has no CLI: build it first\n`);
    process.exit(2);
  }
  return cli;
}

interface Timed {
  wall: number;
  cpu: number | null;
}

/** One whole `vfp-emu replay` run: wall seconds, and CPU seconds when /usr/bin/time is there. */
function timeRun(cli: string, args: string[]): Timed {
  const t0 = process.hrtime.bigint();
  const r = TIME !== null ? spawnSync(TIME, ['-f', 'CPU %U %S', process.execPath, cli, ...args], { encoding: 'utf8' }) : spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8' });
  const wall = Number(process.hrtime.bigint() - t0) / 1e9;
  if (r.status !== 0) throw new Error(`replay failed (${r.status}): ${r.stderr}`);
  const m = /CPU ([\d.]+) ([\d.]+)/.exec(r.stderr ?? '');
  return { wall, cpu: m === null ? null : Number(m[1]) + Number(m[2]) };
}

/**
 * The control (see the module comment): the same pure-CPU loop twice on one thread, then once on each of two
 * worker threads, in a child process: wall ratio one/two, and CPU ratio two/one (process CPU time of each part).
 */
function spin(): { wall: number; cpu: number } {
  const code = `
const { Worker } = require('node:worker_threads');
const body = 'let x = 0; for (let i = 0; i < 2e8; i++) x += i % 7; require("node:worker_threads").parentPort?.postMessage(x);';
const spin = new Function(body.replace('require("node:worker_threads").parentPort?.postMessage(x);', 'return x;'));
const cpu = (c) => c.user + c.system;
let c0 = process.cpuUsage(); let t0 = process.hrtime.bigint(); spin(); spin();
const one = Number(process.hrtime.bigint() - t0) / 1e9; const cOne = cpu(process.cpuUsage(c0));
c0 = process.cpuUsage(); t0 = process.hrtime.bigint();
let done = 0;
for (let k = 0; k < 2; k++) new Worker(body, { eval: true }).on('message', () => { if (++done === 2) { console.log(one / (Number(process.hrtime.bigint() - t0) / 1e9), cpu(process.cpuUsage(c0)) / cOne); process.exit(0); } });`;
  const r = spawnSync(process.execPath, ['-e', code], { encoding: 'utf8' });
  const [wall, cpu] = r.stdout.trim().split(' ').map(Number);
  return { wall, cpu };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 === 1 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

function load(): string {
  return os.loadavg().map((x) => x.toFixed(2)).join(' ');
}

/** `n` Linux nodes of `pods` pods each (see the module comment), as kubectl prints them. */
export function padding(n: number, pods: number): object[] {
  const items: object[] = [];
  for (let k = 0; k < n; k++) {
    const name = `pad-node-${k + 1}`;
    const ip = `10.127.${131 + (k >> 8)}.${k & 255}`;
    const mac = `00:15:5d:7e:${((k >> 8) & 255).toString(16).padStart(2, '0')}:${(k & 255).toString(16).padStart(2, '0')}`;
    items.push({
      apiVersion: 'v1',
      kind: 'Node',
      metadata: { name, labels: { 'kubernetes.io/os': 'linux', 'kubernetes.io/hostname': name }, annotations: { 'flannel.alpha.coreos.com/backend-type': 'vxlan', 'flannel.alpha.coreos.com/public-ip': ip, 'flannel.alpha.coreos.com/backend-data': JSON.stringify({ VNI: 4096, VtepMAC: mac }) } },
      spec: { podCIDR: `10.244.${10 + k}.0/24`, podCIDRs: [`10.244.${10 + k}.0/24`] },
      status: { addresses: [{ type: 'InternalIP', address: ip }, { type: 'Hostname', address: name }], nodeInfo: { operatingSystem: 'linux' } },
    });
    for (let j = 0; j < pods; j++) {
      const pod = `pad-${k + 1}-${j + 1}`;
      const spec = { nodeName: name, containers: [{ name: 'app', image: 'registry.k8s.io/e2e-test-images/agnhost:2.47', ports: [{ containerPort: 8080, protocol: 'TCP' }], resources: { requests: { cpu: '100m', memory: '64Mi' } } }] };
      items.push({
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: {
          name: pod,
          namespace: 'pad',
          labels: { app: `pad-${k + 1}` },
          annotations: { 'kubectl.kubernetes.io/last-applied-configuration': JSON.stringify({ apiVersion: 'v1', kind: 'Pod', metadata: { name: pod, namespace: 'pad' }, spec }) },
          managedFields: [{ manager: 'kubectl-client-side-apply', operation: 'Update', apiVersion: 'v1', fieldsType: 'FieldsV1', fieldsV1: { 'f:metadata': { 'f:annotations': {}, 'f:labels': { 'f:app': {} } }, 'f:spec': { 'f:containers': {} } } }],
        },
        spec,
        status: { phase: 'Running', hostIP: ip, podIP: `10.244.${10 + k}.${2 + j}`, podIPs: [{ ip: `10.244.${10 + k}.${2 + j}` }], conditions: [{ type: 'Ready', status: 'True' }] },
      });
    }
  }
  return items;
}

/** Writes the traces and the cluster into `dir`; returns the captures' folder and the cluster file. */
function prepare(dir: string, traces: number, packets: number, flows: number): { caps: string; cluster: string } {
  const caps = path.join(dir, 'caps');
  fs.mkdirSync(caps);
  const cluster = path.join(dir, 'cluster.json');
  let bytes = 0;
  for (let k = 0; k < traces; k++) {
    const gen = writeTraceFile(path.join(caps, `node-${k + 1}.pcap`), 'pcap', { packets, flows, seed: k + 1 });
    bytes += gen.bytes;
    if (k === 0) {
      const list = clusterList(gen.layout) as { items: object[] };
      list.items.push(...padding(arg('pad-nodes', 0), arg('pad-pods', 0)));
      fs.writeFileSync(cluster, JSON.stringify(list, null, 2));
    }
  }
  console.log(`${traces} captures of ${packets} packets (${flows} flows each), ${(bytes / 1e6).toFixed(1)} MB in all, in ${dir}; cluster ${(fs.statSync(cluster).size / 1e6).toFixed(2)} MB`);
  return { caps, cluster };
}

interface Build {
  label: string;
  cli: string;
  res: Record<number, Timed[]>;
}

function buildLine(b: Build, w: number, total: number): string {
  const walls = b.res[w].map((t) => t.wall);
  const cpus = b.res[w].map((t) => t.cpu).filter((c): c is number => c !== null);
  const cpu = cpus.length > 0 ? `, CPU ${median(cpus).toFixed(2)} s` : '';
  return `${b.label} workers ${w}: median ${median(walls).toFixed(2)} s (${(total / median(walls) / 1e6).toFixed(2)} Mpps), best ${Math.min(...walls).toFixed(2)} s${cpu}`;
}

/** The figures of one build over the rounds: W1 against W2, wall and CPU, against the control. */
function summarise(b: Build, total: number, spinCpu: number): void {
  console.log(`\n${buildLine(b, 1, total)}\n${buildLine(b, 2, total)}`);
  const walls = (w: number): number[] => b.res[w].map((t) => t.wall);
  const paired = median(walls(1).map((x, r) => x / walls(2)[r]));
  const best = Math.min(...walls(1)) / Math.min(...walls(2));
  console.log(`${b.label} speed-up workers 1 -> 2: median of the rounds' ratios ${paired.toFixed(2)}x, best ${best.toFixed(2)}x (target >= 1.8x)`);
  const cpu = (w: number): number[] => b.res[w].map((t) => t.cpu).filter((c): c is number => c !== null);
  if (cpu(1).length > 0 && cpu(2).length > 0) {
    const ratio = median(cpu(2)) / median(cpu(1));
    // 2 x CPU1/CPU2: what 2 free cores would give if both threads stay busy; the control's CPU ratio is the machine's share of CPU2/CPU1
    console.log(`${b.label} CPU seconds workers 2 / workers 1: ${ratio.toFixed(2)} (2 free cores at most ${((2 * median(cpu(1))) / median(cpu(2))).toFixed(2)}x); the program's own extra CPU (over the control's ${spinCpu.toFixed(2)}): ${(ratio / spinCpu).toFixed(2)}x`);
  }
}

/** Each build's W1 and W2 and the control, `rounds` times, the order of the runs reversed every other round. */
function runRounds(builds: Build[], rounds: number, args: (w: number, b: number) => string[]): { wall: number; cpu: number }[] {
  const spins: { wall: number; cpu: number }[] = [];
  const runs = builds.flatMap((b, k) => [1, 2].map((w) => ({ b, k, w })));
  for (let r = 0; r < rounds; r++) {
    for (const { b, k, w } of r % 2 === 0 ? runs : [...runs].reverse()) b.res[w].push(timeRun(b.cli, args(w, k)));
    spins.push(spin());
    const used = (t: Timed): string => (t.cpu === null ? '' : ` (${t.cpu.toFixed(2)} CPU s, ${(t.cpu / t.wall).toFixed(2)} cores)`);
    const parts = builds.map((b) => `${b.label}: W1 ${b.res[1][r].wall.toFixed(2)} s${used(b.res[1][r])}, W2 ${b.res[2][r].wall.toFixed(2)} s${used(b.res[2][r])}, ${(b.res[1][r].wall / b.res[2][r].wall).toFixed(2)}x`);
    console.log(`round ${r + 1}: ${parts.join('; ')}; control ${spins[r].wall.toFixed(2)}x wall, ${spins[r].cpu.toFixed(2)} CPU (load ${load()})`);
  }
  return spins;
}

function main(): void {
  const traces = arg('traces', 8);
  const packets = arg('packets', 100_000);
  const rounds = arg('rounds', 5);
  const flows = arg('flows', Math.max(1, Math.floor(packets / 100)));
  const tsc = process.argv.includes('--tsc');
  const baseDir = argString('base');
  const builds: Build[] = [{ label: 'new', cli: cliOf(ROOT, tsc), res: { 1: [], 2: [] } }];
  if (baseDir !== null) builds.push({ label: 'base', cli: cliOf(path.resolve(baseDir), tsc), res: { 1: [], 2: [] } });
  const dir = fs.mkdtempSync(path.join(fs.existsSync('/dev/shm') ? '/dev/shm' : os.tmpdir(), 'vfp-bench-multi-'));
  try {
    const { caps, cluster } = prepare(dir, traces, packets, flows);
    console.log(`${os.cpus()[0]?.model ?? '?'}, ${os.availableParallelism()} cores; load average at start ${load()}`);
    for (const b of builds) console.log(`${b.label}: ${b.cli}`);
    console.log('');
    const args = (w: number, k: number): string[] => ['replay', caps, '--cluster', cluster, '--out', path.join(dir, `out${k}-${w}`), '--summary', 'json', '--no-progress', '--workers', String(w)];
    const spins = runRounds(builds, rounds, args);
    const spinCpu = median(spins.map((s) => s.cpu));
    for (const b of builds) summarise(b, traces * packets, spinCpu);
    if (builds.length === 2) {
      for (const w of [1, 2]) {
        const ratios = builds[0].res[w].map((t, r) => builds[1].res[w][r].wall / t.wall);
        const cpuRatios = builds[0].res[w].map((t, r) => (t.cpu !== null && builds[1].res[w][r].cpu !== null ? (builds[1].res[w][r].cpu as number) / t.cpu : NaN));
        console.log(`workers ${w}: new is ${median(ratios).toFixed(2)}x as fast as base (median of the rounds' base/new wall ratios), base/new CPU ${median(cpuRatios).toFixed(2)}`);
      }
    }
    console.log(`\ncontrol, a pure-CPU loop on 2 threads against 1: median ${median(spins.map((s) => s.wall)).toFixed(2)}x wall (what the machine gave 2 threads), CPU 2 threads / 1 thread ${spinCpu.toFixed(2)}; load average at end ${load()}`);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

if (require.main === module) main();
