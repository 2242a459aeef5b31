/**
 * One counter system (src/vfp/counters.ts): the engine counts every packet it decides, the shards' counters
 * are merged as plain data, and the summary reads them. These tests hold the summary to what a user can
 * check by hand: its verdict, reason, warning and per-backend counts are the counts of the verdict records
 * written in the same run, for 1, 2 and 3 workers (one state, the split, a chain of shards).
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { replay, type ReplayOptions, type ReplaySummary } from '../src/commands/replay';
import { clusterList } from '../src/gen/layout';
import { writeTraceFile } from '../src/gen/trace';
import { scenarioTracePath } from '../src/scenario/build-traces';
import { listScenarios, loadScenario, tracesDir } from '../src/scenario/scenario';
import { backendKey, Counters } from '../src/vfp/counters';
import { VERDICT_NAMES, warningBit, reasonId } from '../src/vfp/reasons';

interface VerdictLine {
  verdict: string;
  reason: string | null;
  warnings: string[];
  service: string | null;
  backend: string | null;
}

/** The summary's counting fields, as the records of `file` give them. */
function countRecords(file: string): Pick<ReplaySummary, 'packets' | 'verdicts' | 'reasons' | 'warnings' | 'services'> {
  const lines = fs.readFileSync(file, 'utf8').split('\n').filter((l) => l !== '');
  const verdicts: { [v: string]: number } = Object.fromEntries(VERDICT_NAMES.map((v) => [v, 0]));
  const reasons: { [code: string]: number } = {};
  const warnings: { [code: string]: number } = {};
  const services: ReplaySummary['services'] = {};
  for (const line of lines) {
    const r = JSON.parse(line) as VerdictLine;
    verdicts[r.verdict]++;
    if (r.reason !== null) reasons[r.reason] = (reasons[r.reason] ?? 0) + 1;
    for (const w of r.warnings) warnings[w] = (warnings[w] ?? 0) + 1;
    if (r.service !== null && r.backend !== null) {
      const b = (services[r.service] ??= { backends: {} }).backends;
      b[r.backend] = (b[r.backend] ?? 0) + 1;
    }
  }
  // the summary lists reasons and warnings in reason-table order
  const byId = (m: { [code: string]: number }): { [code: string]: number } =>
    Object.fromEntries(Object.entries(m).sort((a, b) => reasonId(a[0]) - reasonId(b[0])));
  return { packets: lines.length, verdicts, reasons: byId(reasons), warnings: byId(warnings), services };
}

function summaryCounts(s: ReplaySummary): Pick<ReplaySummary, 'packets' | 'verdicts' | 'reasons' | 'warnings' | 'services'> {
  return { packets: s.packets, verdicts: s.verdicts, reasons: s.reasons, warnings: s.warnings, services: s.services };
}

describe('counters: the summary counts what the verdict records say', function () {
  this.timeout(300_000);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'vfp-counters-'));
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  const check = async (base: Omit<ReplayOptions, 'workers' | 'verdicts'>, name: string): Promise<ReplaySummary> => {
    let first: ReplaySummary | null = null;
    for (const workers of [1, 2, 3]) {
      const verdicts = path.join(tmp, `${name}-w${workers}.jsonl`);
      const { summary } = await replay({ ...base, workers, verdicts });
      assert.deepEqual(summaryCounts(summary), countRecords(verdicts), `${name}, --workers ${workers}`);
      fs.rmSync(verdicts);
      first ??= summary;
    }
    return first as ReplaySummary;
  };

  let warned = 0;
  for (const dir of listScenarios(tracesDir())) {
    const s = loadScenario(dir);
    it(`scenario ${path.basename(dir)}: verdicts, reasons, warnings and backends, for 1, 2 and 3 workers`, async () => {
      const summary = await check({ trace: scenarioTracePath(s), clusterFiles: s.clusterFiles, windows: s.windows, seed: s.seed, view: s.view, failOn: [], vxlanPorts: [] }, path.basename(dir));
      warned += Object.keys(summary.warnings).length;
    });
  }

  it('the scenarios between them count some warnings (so the warning counts above were put to the test)', () => {
    assert.ok(warned > 0);
  });

  it('a generated trace (40k packets, 2k flows, the traffic mix): every Service balanced, counted per backend as the records say', async () => {
    const trace = path.join(tmp, 'gen.pcap');
    const gen = writeTraceFile(trace, 'pcap', { packets: 40_000, flows: 2_000, seed: 3 });
    const cluster = path.join(tmp, 'gen-cluster.json');
    fs.writeFileSync(cluster, JSON.stringify(clusterList(gen.layout)));
    const summary = await check({ trace, clusterFiles: [cluster], windows: undefined, seed: 1, view: 'pod', failOn: [], vxlanPorts: [] }, 'gen');
    assert.ok(Object.keys(summary.services).length >= 2, JSON.stringify(Object.keys(summary.services)));
  });
});

describe('counters: one packet, counted once', () => {
  it('a packet with two warnings counts once in each; its service and backend once (apart per Service when they share a backend); its rule once', () => {
    const c = new Counters(4, 8);
    const warn = warningBit(reasonId('affinity-timeout-ignored')) | warningBit(reasonId('dns-pqdn-unresolvable'));
    assert.ok(warn !== 0 && (warn & (warn - 1)) !== 0, 'two warning bits');
    c.packet(1, 0, warn, 2, 7, 3);
    c.packet(3, reasonId('acl-blocked'), 0, -1, -1, -1);
    assert.deepEqual(c.byVerdict(), { delivered: 0, forwarded: 1, 'no-return': 0, dropped: 1, ignored: 0 });
    assert.deepEqual(c.byReason(), { 'acl-blocked': 1 });
    assert.deepEqual(Object.keys(c.byWarning()).sort(), ['affinity-timeout-ignored', 'dns-pqdn-unresolvable']);
    assert.deepEqual(Object.values(c.byWarning()), [1, 1]);
    assert.deepEqual(c.backends(), [[backendKey(2, 7), 1]]);
    // a backend ip:port that two Services share: counted apart for each
    c.packet(1, 0, 0, 3, 7, -1);
    c.packet(1, 0, 0, 3, 7, -1);
    c.packet(1, 0, 0, 2, 7, -1);
    assert.deepEqual(c.backends(), [[backendKey(2, 7), 2], [backendKey(3, 7), 2]]);
    assert.deepEqual([...c.rulePackets], [0, 0, 0, 1]);
    assert.equal(c.packets(), 5);
  });

  it('merged as plain data (as workers post them), they add up; counters of differently compiled rules are refused', () => {
    const a = new Counters(2, 4);
    const b = new Counters(2, 4);
    a.packet(0, 0, 0, 1, 1, 0);
    b.packet(0, 0, 0, 1, 1, 0);
    b.packet(4, reasonId('not-ip'), 0, -1, -1, -1);
    b.fastPath = 5;
    const sum = new Counters(2);
    sum.add(structuredClone(a.data()));
    sum.add(structuredClone(b.data()));
    assert.equal(sum.packets(), 3);
    assert.deepEqual(sum.backends(), [[backendKey(1, 1), 2]]);
    assert.deepEqual([...sum.rulePackets], [2, 0]);
    assert.equal(sum.fastPath, 5);
    assert.throws(() => new Counters(3).add(a.data()), /shards compiled differently/);
  });
});
