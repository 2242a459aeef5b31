/**
 * The decide-only replay (`replay TRACE --summary json`, no --verdicts, no --out; issue 12): its summary is
 * the summary of the full run (with --verdicts and --out) for every worker count, on every scenario of
 * traces/ and on generated overlay and l2bridge traces (VXLAN pushes and pops: the prepends the in-place
 * reader must leave room for); a run cut short (a bad record, --fail-on, a stop) counts what a full run
 * counts; and the CLI runs it on one thread unless told otherwise.
 */
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { defaultWorkers, replay, SMALL_TRACE_BYTES, type ReplayOptions, type ReplaySummary } from '../src/commands/replay';
import { clusterList } from '../src/gen/layout';
import { writeTraceFile } from '../src/gen/trace';
import { listScenarios, loadScenario, tracesDir } from '../src/scenario/scenario';

const repo = path.resolve(__dirname, '..', '..');
const cli = path.join(repo, 'dist', 'src', 'cli.js');

type Base = Omit<ReplayOptions, 'workers' | 'verdicts' | 'out'>;

/** The summary without its timing. */
function counts(s: ReplaySummary): Omit<ReplaySummary, 'elapsed_s' | 'pps'> {
  const { elapsed_s, pps, ...rest } = s;
  void elapsed_s;
  void pps;
  return rest;
}

describe('pipeline: decide-only runs count what full runs count', function () {
  this.timeout(300_000);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'vfp-decide-'));
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  /** The full run's summary (W = 1, --verdicts and --out) and its status. */
  const full = async (base: Base): Promise<{ summary: ReturnType<typeof counts>; status: number }> => {
    const r = await replay({ ...base, workers: 1, verdicts: path.join(tmp, 'v.jsonl'), out: path.join(tmp, 'o.pcapng') });
    return { summary: counts(r.summary), status: r.status };
  };
  const decideOnly = async (base: Base, workers: number): Promise<{ summary: ReturnType<typeof counts>; status: number }> => {
    const r = await replay({ ...base, workers });
    return { summary: counts(r.summary), status: r.status };
  };
  const same = async (base: Base, what: string, workers = [1, 2, 3, 4]): Promise<void> => {
    const want = await full(base);
    assert.ok(want.summary.packets > 0, `${what}: no packet`);
    for (const w of workers) assert.deepEqual(await decideOnly(base, w), want, `${what}: decide-only with --workers ${w} differs from the full run`);
  };

  it('every scenario of traces/: --workers 1..4', async () => {
    for (const dir of listScenarios(tracesDir())) {
      const s = loadScenario(dir);
      const base: Base = { trace: path.join(dir, 'trace.pcapng'), clusterFiles: s.clusterFiles, windows: s.windows, seed: s.seed, view: s.view, failOn: [], vxlanPorts: [] };
      await same(base, path.basename(dir));
    }
  });

  for (const network of ['overlay', 'l2bridge'] as const) {
    it(`a generated ${network} trace (100k packets, pcap and pcapng): --workers 1..4`, async () => {
      for (const format of ['pcap', 'pcapng'] as const) {
        const trace = path.join(tmp, `gen-${network}.${format}`);
        const cluster = path.join(tmp, `gen-${network}.json`);
        const g = writeTraceFile(trace, format, { packets: 100_000, flows: 4_000, seed: 3, network });
        fs.writeFileSync(cluster, JSON.stringify(clusterList(g.layout)) + '\n');
        for (const view of ['pod', 'wire'] as const) {
          const base: Base = { trace, clusterFiles: [cluster], windows: undefined, seed: 2, view, failOn: [], vxlanPorts: [] };
          await same(base, `${network} ${format} ${view}`, format === 'pcap' ? [1, 2, 3, 4] : [1, 2]);
        }
        fs.rmSync(trace);
      }
    });
  }

  it('a trace cut inside a record: the packets before it are counted as in a full run, status 2, same error', async () => {
    const whole = path.join(tmp, 'whole.pcap');
    const cut = path.join(tmp, 'cut.pcap');
    const cluster = path.join(tmp, 'cut.json');
    const g = writeTraceFile(whole, 'pcap', { packets: 20_000, flows: 500, seed: 4 });
    fs.writeFileSync(cluster, JSON.stringify(clusterList(g.layout)) + '\n');
    const bytes = fs.readFileSync(whole);
    fs.writeFileSync(cut, bytes.subarray(0, Math.floor(bytes.length * 0.6)));
    const base: Base = { trace: cut, clusterFiles: [cluster], windows: undefined, seed: 1, view: 'pod', failOn: [], vxlanPorts: [] };
    const want = await full(base);
    assert.equal(want.status, 2);
    const fullErr = (await replay({ ...base, workers: 1, out: path.join(tmp, 'o.pcapng') })).error?.message;
    for (const w of [1, 2, 3]) {
      const r = await replay({ ...base, workers: w });
      assert.deepEqual({ summary: counts(r.summary), status: r.status }, want, `--workers ${w}`);
      assert.equal(r.error?.message, fullErr, `--workers ${w}: the error`);
    }
  });

  it('--fail-on: status 1 and the same counts; a stop: verdicts add up to the packets counted, interrupted', async () => {
    const trace = path.join(tmp, 'fail.pcap');
    const cluster = path.join(tmp, 'fail.json');
    const g = writeTraceFile(trace, 'pcap', { packets: 50_000, flows: 1_000, seed: 6 });
    fs.writeFileSync(cluster, JSON.stringify(clusterList(g.layout)) + '\n');
    const base: Base = { trace, clusterFiles: [cluster], windows: undefined, seed: 1, view: 'pod', failOn: ['icmp-not-transposed'], vxlanPorts: [] };
    const want = await full(base);
    assert.equal(want.status, 1);
    for (const w of [1, 2, 3]) assert.deepEqual(await decideOnly(base, w), want, `--fail-on, --workers ${w}`);
    for (const w of [1, 2]) {
      const stop = new AbortController();
      const r = await replay({ ...base, failOn: [], workers: w, stop: stop.signal }, (packets) => {
        if (packets >= 5_000) stop.abort('SIGINT');
      });
      assert.equal(r.summary.interrupted, 'SIGINT', `--workers ${w}`);
      assert.ok(r.summary.packets >= 5_000 && r.summary.packets < 50_000, `--workers ${w}: stopped after ${r.summary.packets}`);
      const sum = Object.values(r.summary.verdicts).reduce((a, b) => a + b, 0);
      assert.equal(sum, r.summary.packets, `--workers ${w}: verdicts add up to the packets`);
    }
  });

  it('the CLI: decide-only runs on one thread by default on 2 cores or fewer; the summary JSON is the full run\'s', () => {
    const trace = path.join(tmp, 'cli.pcap');
    const cluster = path.join(tmp, 'cli.json');
    const g = writeTraceFile(trace, 'pcap', { packets: 30_000, flows: 800, seed: 8 });
    fs.writeFileSync(cluster, JSON.stringify(clusterList(g.layout)) + '\n');
    assert.ok(fs.statSync(trace).size >= SMALL_TRACE_BYTES, 'a trace big enough for workers by default');
    const cores = os.availableParallelism();
    assert.equal(defaultWorkers(trace), cores <= 2 ? 1 : cores);
    const run = (extra: string[], input?: Buffer): { json: Record<string, unknown>; status: number | null } => {
      const from = input === undefined ? trace : '-';
      const r = spawnSync(process.execPath, [cli, 'replay', from, '--cluster', cluster, '--summary', 'json', '--no-progress', ...extra], { encoding: 'utf8', input, maxBuffer: 64 << 20 });
      const json = JSON.parse(r.stdout) as Record<string, unknown>;
      delete json.elapsed_s;
      delete json.pps;
      return { json, status: r.status };
    };
    const want = run(['--out', path.join(tmp, 'cli.pcapng'), '--verdicts', path.join(tmp, 'cli.jsonl')]);
    assert.equal(want.json.packets, 30_000);
    assert.deepEqual(run([]), want);
    assert.deepEqual(run(['--workers', '2']), want);
    // from stdin (a stream: read in place too, with --workers 1)
    const stdin = run(['--workers', '1'], fs.readFileSync(trace));
    // (the failing flows name their trace, and their explain commands read it)
    const traceless = (j: Record<string, unknown>): string => JSON.stringify({ ...j, fingerprint: undefined, trace: undefined }).replace(/"(trace|explain)":"[^"]*"/g, '');
    assert.equal(stdin.status, want.status);
    assert.equal(traceless(stdin.json), traceless(want.json));
  });
});
