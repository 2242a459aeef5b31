/**
 * `replay --workers N` writes the same bytes for N = 1, 2, 3, 4: the verdict records and the output pcapng
 * are compared by SHA-256, on every scenario in traces/ and on a generated 1M-packet trace (the project's
 * generator, 10k flows, with its kubectl cluster), and they are the bytes the single-threaded reference
 * loop (test/pipeline-reference.ts: the string writers of test/reference/) writes. The summaries agree too.
 */
import { strict as assert } from 'node:assert';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { replay, type ReplayOptions, type ReplaySummary } from '../src/commands/replay';
import { clusterList } from '../src/gen/layout';
import { writeTraceFile } from '../src/gen/trace';
import { scenarioTracePath } from '../src/scenario/build-traces';
import { listScenarios, loadScenario, tracesDir } from '../src/scenario/scenario';
import { referenceReplay } from './pipeline-reference';

function sha(file: string): string {
  return createHash('sha256').update(fs.readFileSync(file)).digest('hex');
}

interface Run {
  verdicts: string;
  out: string;
  summary: Omit<ReplaySummary, 'elapsed_s' | 'pps'>;
}

/**
 * Replays with `workers` threads, writing the verdict records (unless `outOnly`: then `verdicts` is '';
 * with two workers the split worker then reads the capture itself) and the output pcapng.
 */
async function run(base: Omit<ReplayOptions, 'workers' | 'verdicts' | 'out'>, workers: number, dir: string, outOnly = false): Promise<Run> {
  const verdicts = outOnly ? undefined : path.join(dir, `w${workers}.jsonl`);
  const out = path.join(dir, `w${workers}.pcapng`);
  const res = await replay({ ...base, workers, verdicts, out });
  const { elapsed_s, pps, ...summary } = res.summary;
  void elapsed_s;
  void pps;
  const r = { verdicts: verdicts === undefined ? '' : sha(verdicts), out: sha(out), summary };
  if (verdicts !== undefined) fs.rmSync(verdicts);
  fs.rmSync(out);
  return r;
}

describe('pipeline determinism (--workers 1..4 give byte-identical outputs)', function () {
  this.timeout(300_000);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'vfp-pipeline-'));
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  for (const dir of listScenarios(tracesDir())) {
    const s = loadScenario(dir);
    it(`scenario ${path.basename(dir)}: N = 1, 2, 3, 4 and the reference loop write the same files`, async () => {
      const base = { trace: scenarioTracePath(s), clusterFiles: s.clusterFiles, windows: s.windows, seed: s.seed, view: s.view, failOn: [], vxlanPorts: [] };
      const ref = { verdicts: path.join(tmp, 'ref.jsonl'), out: path.join(tmp, 'ref.pcapng') };
      const packets = referenceReplay({ ...base, ...ref });
      assert.ok(packets > 0);
      const want = { verdicts: sha(ref.verdicts), out: sha(ref.out) };
      const first = await run(base, 1, tmp);
      assert.deepEqual({ verdicts: first.verdicts, out: first.out }, want, '--workers 1 differs from the reference loop');
      assert.equal(first.summary.packets, packets);
      for (const w of [2, 3, 4]) {
        const r = await run(base, w, tmp);
        assert.equal(r.verdicts, want.verdicts, `--workers ${w}: verdict records differ`);
        assert.equal(r.out, want.out, `--workers ${w}: output pcapng differs`);
        assert.deepEqual(r.summary, first.summary, `--workers ${w}: summary differs`);
      }
      for (const w of [1, 2, 3]) {
        const r = await run(base, w, tmp, true);
        assert.equal(r.out, want.out, `--workers ${w} without --verdicts: output pcapng differs`);
        assert.deepEqual(r.summary, first.summary, `--workers ${w} without --verdicts: summary differs`);
      }
    });
  }

  it('a generated 1M-packet trace (10k flows, the traffic and size mix): N = 1, 2, 3, 4 write the same files', async () => {
    const trace = path.join(tmp, 'gen-1m.pcap');
    const cluster = path.join(tmp, 'gen-1m-cluster.json');
    // what `node dist/src/gen/cli.js --out T --packets 1000000 --flows 10000 --seed 11 --cluster-out C` writes
    const g = writeTraceFile(trace, 'pcap', { packets: 1_000_000, flows: 10_000, seed: 11 });
    fs.writeFileSync(cluster, JSON.stringify(clusterList(g.layout), null, 2) + '\n');
    const base = { trace, clusterFiles: [cluster], windows: undefined, seed: 1, view: 'pod' as const, failOn: [], vxlanPorts: [] };
    const first = await run(base, 1, tmp);
    assert.equal(first.summary.packets, 1_000_000);
    assert.ok(first.summary.verdicts.forwarded > 0 && first.summary.verdicts.delivered > 0 && first.summary.verdicts.dropped > 0, JSON.stringify(first.summary.verdicts));
    assert.ok(Object.keys(first.summary.services).length >= 4, 'the trace reaches the Services');
    for (const w of [2, 3, 4]) {
      const r = await run(base, w, tmp);
      assert.equal(r.verdicts, first.verdicts, `--workers ${w}: verdict records differ`);
      assert.equal(r.out, first.out, `--workers ${w}: output pcapng differs`);
      assert.deepEqual(r.summary, first.summary, `--workers ${w}: summary differs`);
    }
    const two = await run(base, 2, tmp, true); // the split worker reads
    assert.equal(two.out, first.out, '--workers 2 without --verdicts: output pcapng differs');
    assert.deepEqual(two.summary, first.summary, '--workers 2 without --verdicts: summary differs');
    fs.rmSync(trace);
  });

  it('a generated l2bridge trace replayed in the wire view, against the reference loop: N = 1, 2, 3 write its bytes', async () => {
    const trace = path.join(tmp, 'gen-l2.pcap');
    const cluster = path.join(tmp, 'gen-l2-cluster.json');
    const g = writeTraceFile(trace, 'pcap', { packets: 60_000, flows: 3_000, seed: 5, network: 'l2bridge' });
    fs.writeFileSync(cluster, JSON.stringify(clusterList(g.layout), null, 2) + '\n');
    const base = { trace, clusterFiles: [cluster], windows: undefined, seed: 3, view: 'wire' as const, failOn: [], vxlanPorts: [] };
    const ref = { verdicts: path.join(tmp, 'ref.jsonl'), out: path.join(tmp, 'ref.pcapng') };
    referenceReplay({ ...base, ...ref });
    const want = { verdicts: sha(ref.verdicts), out: sha(ref.out) };
    for (const w of [1, 2, 3]) {
      const r = await run(base, w, tmp);
      assert.deepEqual({ verdicts: r.verdicts, out: r.out }, want, `--workers ${w} differs from the reference loop`);
    }
  });
});
