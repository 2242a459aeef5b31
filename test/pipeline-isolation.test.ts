/**
 * The property the pipeline's determinism rests on, checked directly: the state a shard key's packets
 * build never depends on any other key's packets. Every packet of a trace is decided once with one state
 * for everything (the single-threaded run), then again with one fresh DataplaneState per shard key
 * (`Dataplane.shardKey`), each key's packets alone and in trace order; every packet must get the same
 * verdict, reason, warnings, node, endpoints, service, backend and outer header, and the same bytes.
 * Port allocation (SNAT blocks), flow-table growth and expiry, and the counters are where such a
 * dependency would show. Traces: every scenario in traces/, and generated traces in both views.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { prepareDataplane } from '../src/commands/replay';
import { Batch } from '../src/core/batch';
import { decodeBatch } from '../src/decode/decoder';
import { clusterList } from '../src/gen/layout';
import { writeTraceFile } from '../src/gen/trace';
import { openCapture } from '../src/io/reader';
import { scenarioTracePath } from '../src/scenario/build-traces';
import { listScenarios, loadScenario, tracesDir } from '../src/scenario/scenario';
import { Results } from '../src/vfp/results';
import type { DataplaneState } from '../src/vfp/state';

/** The whole trace in one batch (these traces are small enough). */
function readAll(trace: string): Batch {
  const r = openCapture(trace);
  const size = fs.statSync(trace).size;
  const capacity = 200_000;
  const b = new Batch({ capacity, arenaBytes: size + capacity * 160 });
  try {
    const n = r.next(b);
    assert.ok(n > 0 && r.next(new Batch({ capacity: 1 })) === 0, 'the trace fits one batch');
    // next() on the second batch reset nothing of `b`
  } finally {
    r.close();
  }
  decodeBatch(b);
  return b;
}

const ROW = ['verdict', 'reason', 'warnings', 'node', 'ingress', 'egress', 'service', 'backend', 'encap', 'outerSrc', 'outerDst', 'outerDport', 'vni'] as const;

/** Problems found when each key's packets run alone (empty: none). */
function isolationProblems(trace: string, clusterFiles: string[], o: { windows?: string; seed: number; view: 'pod' | 'wire' }): { problems: string[]; keys: number } {
  const whole = readAll(trace);
  const alone = readAll(trace);
  const n = whole.count;
  const dpWhole = prepareDataplane(clusterFiles, o).dataplane;
  const rw = new Results(n);
  rw.reset(n);
  const all = new Uint32Array(n);
  for (let i = 0; i < n; i++) all[i] = i;
  dpWhole.processWith(dpWhole.createState(), whole, rw, all, n);

  const dp = prepareDataplane(clusterFiles, o).dataplane;
  const byKey = new Map<number, number[]>();
  for (let i = 0; i < n; i++) {
    const k = dp.shardKey(alone, i);
    let list = byKey.get(k);
    if (list === undefined) byKey.set(k, (list = []));
    list.push(i);
  }
  const ra = new Results(n);
  ra.reset(n);
  for (const list of byKey.values()) {
    const st: DataplaneState = dp.createState(16);
    dp.processWith(st, alone, ra, Uint32Array.from(list), list.length);
  }
  const problems: string[] = [];
  for (let i = 0; i < n && problems.length < 10; i++) {
    for (const col of ROW) {
      if (rw[col][i] !== ra[col][i]) problems.push(`packet ${i + 1} (key ${dp.shardKey(whole, i)}): ${col} ${ra[col][i]} alone, ${rw[col][i]} with every key`);
    }
    const a = alone.packet(i);
    const w = whole.packet(i);
    if (a.length !== w.length || !a.every((x, k) => x === w[k])) problems.push(`packet ${i + 1}: bytes differ`);
  }
  return { problems, keys: byKey.size };
}

describe('pipeline isolation (a shard key\'s state depends on no other key)', function () {
  this.timeout(300_000);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'vfp-isolation-'));
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  for (const dir of listScenarios(tracesDir())) {
    const s = loadScenario(dir);
    it(`scenario ${path.basename(dir)}: each key alone decides its packets as the whole run does`, () => {
      const { problems } = isolationProblems(scenarioTracePath(s), s.clusterFiles, { windows: s.windows, seed: s.seed, view: s.view });
      assert.deepEqual(problems, []);
    });
  }

  for (const [network, view] of [
    ['overlay', 'pod'],
    ['overlay', 'wire'],
    ['l2bridge', 'pod'],
    ['l2bridge', 'wire'],
  ] as const) {
    it(`a generated ${network} trace in the ${view} view (40k packets, 2k flows, the traffic mix): each key alone as the whole run`, () => {
      const trace = path.join(tmp, `${network}.pcap`);
      const cluster = path.join(tmp, `${network}.json`);
      const g = writeTraceFile(trace, 'pcap', { packets: 40_000, flows: 2_000, seed: 21, network, concurrency: 400 });
      fs.writeFileSync(cluster, JSON.stringify(clusterList(g.layout)));
      const { problems, keys } = isolationProblems(trace, [cluster], { seed: 2, view });
      assert.ok(keys >= 8, `only ${keys} keys`);
      assert.deepEqual(problems, []);
    });
  }
});
