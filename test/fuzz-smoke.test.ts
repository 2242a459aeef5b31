/**
 * The fuzz harness (src/fuzz) in `npm test`: a bounded run with a fixed seed over every target (readers +
 * decoder on mutations of the real corpus and traces/, every cluster importer on mutations of traces/
 * and test/fixtures-cluster configs, the engine on mutations of the scenario traces, two of them with
 * 2 and 3 threads as well), and the harness's
 * own promises: an input is the same bytes every time, and the engine checks see a lost verdict record or
 * output packet. bench/fuzz.ts runs the long campaign (1M inputs).
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Batch } from '../src/core/batch';
import { Fuzzer, targetOf, type Finding } from '../src/fuzz/campaign';
import { loadSeeds } from '../src/fuzz/seeds';
import { checkOutTrace, checkVerdicts, FuzzFailure, TARGETS } from '../src/fuzz/targets';

/**
 * Inputs of the smoke run: the first 2,000 (1,500 readers, 300 cluster, 200 engine: campaign.ts TURNS),
 * then only the readers inputs up to index 8,000 (6,000 readers in all: they are fast, and a bug that
 * needs two header fields at once takes thousands; an IPv4 header length of 60 made to throw was first
 * met at input 5,844). 10-25 s on the shared machine.
 */
const INPUTS = 2000;
const READERS_UP_TO = 8000;
const SEED = 20261205;

describe('fuzz harness (smoke run)', function () {
  this.timeout(120_000);
  let fuzzer: Fuzzer;
  before(() => {
    // a generous per-input limit: the shared machine is sometimes 10x slower than usual; the two engine
    // inputs of the first block of 20 also run with 2 and 3 threads (the same output bytes)
    fuzzer = new Fuzzer(SEED, 5000, loadSeeds(), 100);
  });
  after(() => fuzzer.close());

  it(`${INPUTS} inputs of seed ${SEED} and its readers inputs up to ${READERS_UP_TO}: no crash, no hang, every invariant holds, every target reached`, async function () {
    assert.equal(fuzzer.makeInput(6).threads, true, 'input 6 (engine) also runs with threads');
    if (fuzzer.seeds.corpusMissing !== null) console.log(`      (${fuzzer.seeds.corpusMissing})`);
    const findings: Finding[] = [];
    for (let i = 0; i < READERS_UP_TO; i++) {
      if (i >= INPUTS && targetOf(i) !== 'readers') continue;
      const f = await fuzzer.step(i);
      if (f !== null) findings.push(f);
    }
    const seen = findings.map((f) => `input ${f.index} (${f.input.target}, ${f.kind}): ${f.message}\n${f.stack.split('\n').slice(1, 4).join('\n')}`);
    assert.deepEqual(seen, [], `replay one with new Fuzzer(${SEED}).makeInput(index); bench/fuzz.ts saves the files`);
    for (const t of TARGETS) {
      const s = fuzzer.stats.get(t)!;
      assert.ok(s.tried >= INPUTS / 20, `${t}: only ${s.tried} inputs`);
      // the mutations keep enough inputs valid to reach past the first error check
      assert.ok(s.tried - s.rejected >= s.tried / 10, `${t}: ${s.rejected} of ${s.tried} inputs rejected`);
    }
  });

  it('an input is a function of (seed, index) alone: made again, in another order, the same bytes', function () {
    const again = new Fuzzer(SEED, 5000, fuzzer.seeds);
    try {
      for (const i of [1999, 3, 6, 0, 16]) {
        const a = fuzzer.makeInput(i);
        const b = again.makeInput(i);
        assert.equal(a.target, b.target);
        assert.deepEqual(a.files, b.files, `input ${i}`);
      }
      const other = new Fuzzer(SEED + 1, 5000, fuzzer.seeds);
      assert.notDeepEqual(other.makeInput(0).files, fuzzer.makeInput(0).files, 'another seed, other inputs');
      other.close();
    } finally {
      again.close();
    }
  });

  it('the engine checks see a lost verdict record, a misnumbered one and a lost output packet', function () {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'vfp-fuzz-smoke-'));
    try {
      const records = ['{"packet":1,"verdict":"dropped"}', '{"packet":2,"verdict":"forwarded"}'];
      const v = path.join(tmp, 'v.jsonl');
      fs.writeFileSync(v, records.join('\n') + '\n');
      assert.deepEqual(checkVerdicts(v, 2), ['dropped', 'forwarded']);
      assert.throws(() => checkVerdicts(v, 3), FuzzFailure);
      fs.writeFileSync(v, [records[1], records[0]].join('\n') + '\n');
      assert.throws(() => checkVerdicts(v, 2), /numbered 2/);
      // a scenario trace is no replay output: its packets carry no `packet N: <verdict>` comment
      const trace = path.resolve(__dirname, '..', '..', 'traces', '01-l2bridge', 'trace.pcapng');
      assert.throws(() => checkOutTrace(trace, ['delivered'], new Batch()), /output packet 1: comment/);
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });
});
