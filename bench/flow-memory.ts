/**
 * Memory of `vfp-emu replay` on generated traces streamed through a pipe (issue 9: the flow table is
 * bounded). The generator (src/gen/cli.js --out -) writes the trace to the replay's stdin (`replay -`),
 * so no trace file is stored; the replay's resident set is sampled from /proc every half second.
 *
 *  1. `never-close`: --flows N TCP and ICMP flows (pod to pod, 4 packets each: SYN, SYN-ACK, ACK, data;
 *     or echo, reply, echo, reply) that never close, all open at once, within 40 s of trace time (nothing
 *     expires): the flow table holds all of them until the profile's maxConnections (default 2^21) makes
 *     it evict. Prints the summary's flows_evicted and the replay's peak RSS (VmHWM).
 *  2. `stream`: --gb GB of pcap (1500-byte IP packets, the default traffic mix, --flows flows, 5000
 *     open at a time, 100 us between packets): flows close and expire as the trace goes on. Prints the
 *     bytes streamed, the RSS first (at 20% of the run) / last / peak and samples in between: flat
 *     memory is last within a few percent of first.
 *
 *   npm run build && node dist/bench/flow-memory.js never-close [--flows 1000000] [--windows SPEC] [--workers N]
 *   npm run build && node dist/bench/flow-memory.js stream [--gb 10] [--flows 200000] [--workers N]
 *
 * Not part of `npm test` (the 10 GB stream takes minutes).
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { clusterList } from '../src/gen/layout';
import { TraceGenerator, type TraceOptions } from '../src/gen/trace';

function arg(name: string, dflt: string): string {
  const k = process.argv.indexOf(`--${name}`);
  return k > 0 ? process.argv[k + 1] : dflt;
}

const MiB = 1048576;

/** VmRSS and VmHWM of process `pid` in bytes (0 when it is gone). */
function rssOf(pid: number): { rss: number; hwm: number } {
  try {
    const s = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (key: string): number => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(s)?.[1] ?? 0) * 1024;
    return { rss: kb('VmRSS'), hwm: kb('VmHWM') };
  } catch {
    return { rss: 0, hwm: 0 };
  }
}

interface Sample {
  seconds: number;
  rss: number;
}

/** Streams the generator's trace for `opts` into `vfp-emu replay -`; samples the replay's RSS. */
async function streamReplay(opts: TraceOptions, genArgs: string[], replayArgs: string[]): Promise<{ summary: Record<string, unknown>; samples: Sample[]; hwm: number; seconds: number; bytes: number }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vfp-flow-memory-'));
  try {
    const cluster = path.join(dir, 'cluster.json');
    fs.writeFileSync(cluster, JSON.stringify(clusterList(new TraceGenerator(opts).layout)));
    const root = path.join(__dirname, '..');
    const gen = spawn(process.execPath, [path.join(root, 'src/gen/cli.js'), '--out', '-', ...genArgs], { stdio: ['ignore', 'pipe', 'inherit'] });
    const rep = spawn(process.execPath, [path.join(root, 'src/cli.js'), 'replay', '-', '--cluster', cluster, '--summary', 'json', '--no-progress', ...replayArgs], { stdio: ['pipe', 'pipe', 'inherit'] });
    gen.stdout.pipe(rep.stdin);
    let bytes = 0;
    gen.stdout.on('data', (d: Buffer) => (bytes += d.length));
    let out = '';
    rep.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const t0 = Date.now();
    const samples: Sample[] = [];
    let hwm = 0;
    const timer = setInterval(() => {
      const m = rssOf(rep.pid as number);
      if (m.rss > 0) samples.push({ seconds: (Date.now() - t0) / 1000, rss: m.rss });
      if (m.hwm > hwm) hwm = m.hwm;
    }, 500);
    const code = await new Promise<number>((resolve) => rep.on('exit', (c) => resolve(c ?? -1)));
    clearInterval(timer);
    if (code !== 0) throw new Error(`replay exited ${code}`);
    return { summary: JSON.parse(out) as Record<string, unknown>, samples, hwm, seconds: (Date.now() - t0) / 1000, bytes };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

function workerArgs(): string[] {
  const w = arg('workers', '');
  return w === '' ? [] : ['--workers', w];
}

async function neverClose(): Promise<void> {
  const flows = Number(arg('flows', '1000000'));
  const windows = arg('windows', '');
  const mix = { 'pod-service': 0, 'pod-pod': 9, 'external-tcp': 0, 'external-udp': 0, 'icmp-external': 0, 'icmp-pod': 1, dns: 0 };
  const opts: TraceOptions = { packets: flows * 4, flows, seed: 5, mix };
  const mixText = Object.entries(mix).map(([k, v]) => `${k}=${v}`).join(',');
  const r = await streamReplay(opts, ['--packets', String(opts.packets), '--flows', String(flows), '--seed', '5', '--mix', mixText], [...(windows ? ['--windows', windows] : []), ...workerArgs()]);
  console.log(`${flows} flows that never close (${opts.packets} packets, pod to pod TCP and pings, all open at once), windows ${windows || 'default'}:`);
  console.log(`  ${r.summary.packets} packets in ${r.seconds.toFixed(1)} s; flows_evicted ${r.summary.flows_evicted}; verdicts ${JSON.stringify(r.summary.verdicts)}`);
  console.log(`  replay peak RSS (VmHWM) ${(r.hwm / MiB).toFixed(0)} MiB`);
}

/** Mean bytes per packet in a pcap of `opts` (record header included), from its first 100k packets. */
function meanRecordBytes(opts: TraceOptions): number {
  const g = new TraceGenerator({ ...opts, packets: 100_000 });
  const buf = new Uint8Array(2048);
  let n = 0;
  let bytes = 0;
  for (let len = g.next(buf, 0); len >= 0; len = g.next(buf, 0)) {
    bytes += len + 16;
    n++;
  }
  return bytes / n;
}

async function stream(): Promise<void> {
  const gb = Number(arg('gb', '10'));
  const flows = Number(arg('flows', '200000'));
  const shape: TraceOptions = { packets: 0, flows, seed: 9, concurrency: 5000, meanGapUs: 100, sizes: [{ size: 1500, weight: 1 }] };
  const packets = Math.round((gb * 1e9) / meanRecordBytes({ ...shape, flows: Math.min(flows, 1000) }));
  const opts: TraceOptions = { ...shape, packets };
  const r = await streamReplay(opts, ['--packets', String(packets), '--flows', String(flows), '--seed', '9', '--concurrency', '5000', '--gap-us', '100', '--sizes', '1500:1'], workerArgs());
  const s = r.samples;
  const first = s.find((x) => x.seconds >= r.seconds * 0.2) ?? s[0];
  const last = s[s.length - 1];
  const peak = s.reduce((m, x) => Math.max(m, x.rss), 0);
  console.log(
    `stream: ${(r.bytes / 1e9).toFixed(2)} GB of pcap (${r.summary.packets} packets, ${flows} flows, 5000 open at a time, ${((packets * 100) / 1e6 / 60).toFixed(0)} min of trace time) in ${r.seconds.toFixed(0)} s; flows_evicted ${r.summary.flows_evicted}`,
  );
  console.log(`  replay RSS: first ${(first.rss / MiB).toFixed(0)} MiB (at ${first.seconds.toFixed(0)} s, 20% of the run), last ${(last.rss / MiB).toFixed(0)} MiB (at ${last.seconds.toFixed(0)} s), peak ${(peak / MiB).toFixed(0)} MiB (VmHWM ${(r.hwm / MiB).toFixed(0)} MiB)`);
  const step = Math.max(1, Math.floor(s.length / 12));
  console.log(`  samples: ${s.filter((_, k) => k % step === 0).map((x) => `${x.seconds.toFixed(0)}s ${(x.rss / MiB).toFixed(0)}`).join(', ')} (MiB)`);
}

const mode = process.argv[2];
const run = mode === 'never-close' ? neverClose : mode === 'stream' ? stream : null;
if (run === null) {
  console.error('usage: node dist/bench/flow-memory.js never-close|stream [--flows N] [--gb N] [--windows SPEC] [--workers N]');
  process.exitCode = 2;
} else {
  console.log(`machine: ${os.cpus()[0]?.model ?? '?'}, ${os.availableParallelism()} cores, ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB, node ${process.version}, load ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  run().catch((e: unknown) => {
    console.error(e);
    process.exitCode = 1;
  });
}
