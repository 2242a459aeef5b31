/**
 * Compiling only the Windows nodes needed (issue 12; compile.ts "Which nodes are compiled",
 * vfp/trace-nodes.ts): replaying every scenario of traces/ with only the nodes its trace reaches compiled
 * gives the same bytes in every output as compiling every node (verdicts, output trace, report, summary),
 * bar the `nodes-compiled` diagnostic that says which nodes were left out; `rules --node` prints for a node
 * what `rules` prints for it, rule Ids included.
 */
import { strict as assert } from 'node:assert';
import { execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { listScenarios, loadScenario, tracesDir, type Scenario } from '../src/scenario/scenario';
import { scenarioTracePath } from '../src/scenario/build-traces';
import { replay, type ReplaySummary } from '../src/commands/replay';
import { loadCluster } from '../src/cluster/load';
import { compileDataplane } from '../src/vfp/engine';
import { resolveProfile } from '../src/vfp/profile';
import { generateList } from '../bench/cluster-scale';

interface Run {
  files: Record<string, Buffer>;
  summary: ReplaySummary;
}

async function run(s: Scenario, dir: string, allNodes: boolean, workers: number): Promise<Run> {
  fs.mkdirSync(dir, { recursive: true });
  const names = { verdicts: 'v.jsonl', out: 'o.pcapng', report: 'r.txt' };
  const out = await replay({
    trace: scenarioTracePath(s),
    clusterFiles: s.clusterFiles,
    verdicts: path.join(dir, names.verdicts),
    out: path.join(dir, names.out),
    report: path.join(dir, names.report),
    workers,
    windows: s.windows,
    seed: s.seed,
    view: s.view,
    failOn: [],
    vxlanPorts: [],
    allNodes,
    alwaysRestrict: !allNodes,
  });
  assert.equal(out.status, 0);
  const files: Record<string, Buffer> = {};
  for (const [k, f] of Object.entries(names)) files[k] = fs.readFileSync(path.join(dir, f));
  return { files, summary: out.summary };
}

/** The text without the timing line and the nodes-compiled diagnostic (the report's only differences allowed). */
function comparable(report: string): string {
  return report
    .split('\n')
    .filter((l) => !/ packets in [0-9.]+ s /.test(l) && !l.includes('nodes-compiled ['))
    .join('\n');
}

function summaryOf(s: ReplaySummary): unknown {
  return { ...s, elapsed_s: 0, pps: 0, diagnostics: s.diagnostics.filter((d) => d.code !== 'nodes-compiled') };
}

describe('compile only the nodes needed (issue 12)', () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'vfp-cnodes-'));
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));
  const dirs = listScenarios(tracesDir());
  let restricted = 0;

  for (const dir of dirs) {
    const s = loadScenario(dir);
    const name = path.basename(dir);
    it(`${name}: every output byte is the same with only the trace's nodes compiled`, async () => {
      const all = await run(s, path.join(tmp, name, 'all'), true, 1);
      const some = await run(s, path.join(tmp, name, 'some'), false, 1);
      assert.ok(!all.summary.diagnostics.some((d) => d.code === 'nodes-compiled'), '--all-nodes left a node out');
      const note = some.summary.diagnostics.find((d) => d.code === 'nodes-compiled');
      if (note !== undefined) {
        restricted++;
        assert.match(note.message, /^compiled \d+ of \d+ Windows nodes \(.*\): the Windows nodes the trace's addresses lead to .*; not compiled: /);
      }
      assert.ok(all.files.verdicts.equals(some.files.verdicts), `${name}: verdicts differ`);
      assert.ok(all.files.out.equals(some.files.out), `${name}: output trace differs`);
      assert.equal(comparable(some.files.report.toString('utf8')), comparable(all.files.report.toString('utf8')));
      assert.deepEqual(summaryOf(some.summary), summaryOf(all.summary));
    });
  }

  it('some scenario compiles fewer nodes than the cluster has (the comparison above is not vacuous)', () => {
    assert.ok(restricted >= 1, `no scenario left a node out (${restricted})`);
  });

  it('with 3 workers (each compiles its own dataplane, of the same nodes) the outputs are the 1-worker run of every node', async () => {
    const s = loadScenario(dirs.find((d) => path.basename(d) === '03-outboundnat') ?? dirs[2]);
    const all = await run(s, path.join(tmp, 'w3', 'all'), true, 1);
    const some = await run(s, path.join(tmp, 'w3', 'some'), false, 3);
    assert.ok(all.files.verdicts.equals(some.files.verdicts));
    assert.ok(all.files.out.equals(some.files.out));
  });

  it('every scenario cluster compiled for one node has the diagnostics of the whole cluster, and that node its listing', () => {
    let checked = 0;
    for (const dir of dirs) {
      const s = loadScenario(dir);
      const cluster = loadCluster(s.clusterFiles);
      const opts = { profile: resolveProfile(s.windows), seed: s.seed, view: s.view };
      const whole = compileDataplane(cluster, opts);
      const text = (ds: { code: string; source: string; message: string }[]): string[] => ds.filter((d) => d.code !== 'nodes-compiled').map((d) => `${d.code} ${d.source} ${d.message}`);
      for (const n of whole.c.nodes) {
        const one = compileDataplane(cluster, { ...opts, only: { names: new Set([n.name]), why: 'test', source: '--node' } });
        assert.deepEqual(text(one.diagnostics), text(whole.diagnostics), `${path.basename(dir)} --node ${n.name}`);
        assert.equal(one.rulesText(n.name), whole.rulesText(n.name), `${path.basename(dir)} --node ${n.name}`);
        assert.deepEqual(one.c.backends, whole.c.backends);
        checked++;
      }
    }
    assert.ok(checked > dirs.length);
  });

  it('a small cluster is compiled whole without reading the trace ahead; a big one is restricted, and says so', async () => {
    const s = loadScenario(dirs.find((d) => path.basename(d) === '03-outboundnat') ?? dirs[2]);
    const small = await replay({ trace: scenarioTracePath(s), clusterFiles: s.clusterFiles, workers: 1, windows: s.windows, seed: s.seed, view: s.view, failOn: [], vxlanPorts: [] });
    assert.ok(!small.summary.diagnostics.some((d) => d.code === 'nodes-compiled'));
    const big = path.join(tmp, 'big.json'); // 10 nodes x 1002 Service ports: RESTRICT_FROM_LBS
    fs.writeFileSync(big, JSON.stringify(generateList({ nodes: 10, pods: 5, services: 1000 })));
    const out = await replay({ trace: scenarioTracePath(s), clusterFiles: [big], workers: 1, seed: 1, view: 'pod', failOn: [], vxlanPorts: [] });
    const note = out.summary.diagnostics.find((d) => d.code === 'nodes-compiled');
    assert.ok(note !== undefined && note.message.startsWith('compiled 0 of 10 Windows nodes (none)'), note?.message);
  });

  it('a trace that cannot be read twice (a FIFO, `<(...)`) is not read ahead: every node compiled, every packet replayed', async function () {
    if (process.platform === 'win32') this.skip();
    const s = loadScenario(dirs.find((d) => path.basename(d) === '03-outboundnat') ?? dirs[2]);
    const big = path.join(tmp, 'big-fifo.json');
    fs.writeFileSync(big, JSON.stringify(generateList({ nodes: 10, pods: 5, services: 1000 })));
    const opts = { clusterFiles: [big], workers: 1, seed: 1, view: 'pod' as const, failOn: [], vxlanPorts: [] };
    const file = await replay({ ...opts, trace: scenarioTracePath(s) });
    const fifo = path.join(tmp, 'trace.fifo');
    execFileSync('mkfifo', [fifo]);
    const writer = spawn('sh', ['-c', 'cat "$1" > "$2"', 'sh', scenarioTracePath(s), fifo]);
    const piped = await replay({ ...opts, trace: fifo });
    writer.kill();
    assert.ok(!piped.summary.diagnostics.some((d) => d.code === 'nodes-compiled'), 'a FIFO compiles every node');
    assert.equal(piped.summary.packets, file.summary.packets);
    assert.deepEqual(piped.summary.verdicts, file.summary.verdicts);
  });

  it('rules --node NAME lists a node as the whole listing does (same rule Ids), and compiles it alone', () => {
    const files = ['kubectl.yaml', 'cni.conf', 'net-conf.json'].map((f) => path.join(tracesDir(), '_clusters/overlay', f));
    const cluster = loadCluster(files);
    const opts = { profile: resolveProfile(undefined), seed: 1, view: 'pod' as const };
    const whole = compileDataplane(cluster, opts).rulesText();
    const win = cluster.nodes.filter((n) => n.windows).map((n) => n.name);
    assert.ok(win.length >= 2);
    for (const node of win) {
      const one = compileDataplane(cluster, { ...opts, only: { names: new Set([node]), why: 'test', source: '--node' } });
      assert.deepEqual(one.c.nodes.filter((n) => n.compiled).map((n) => n.name), [node]);
      const text = one.rulesText(node);
      assert.ok(text.includes(', Id : 0\n'));
      assert.ok(whole.includes(text), `${node}: its listing differs from its part of the whole listing`);
      assert.ok(one.c.rules.length < compileDataplane(cluster, opts).c.rules.length);
      assert.ok(one.diagnostics.some((d) => d.code === 'nodes-compiled' && d.message.startsWith(`compiled 1 of ${win.length} Windows nodes (${node})`)));
    }
  });
});
