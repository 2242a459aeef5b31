/**
 * Every scenario in traces/: its committed trace is what scenario.yaml builds, and replaying it against
 * its cluster inputs gives, packet by packet, the verdict, reason, warnings and fields its author wrote
 * down from the reference (the `why:` of each packet).
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { listScenarios, loadScenario, tracesDir, type Scenario } from '../src/scenario/scenario';
import { writeScenarioTrace, scenarioTracePath } from '../src/scenario/build-traces';
import { replay, type ReplaySummary } from '../src/commands/replay';

type Rec = Record<string, unknown>;

function field(rec: Rec, dotted: string): unknown {
  let v: unknown = rec;
  for (const k of dotted.split('.')) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Rec)[k];
  }
  return v;
}

async function runScenario(s: Scenario, tmp: string): Promise<{ records: Rec[]; summary: ReplaySummary }> {
  const verdicts = path.join(tmp, `${path.basename(s.dir)}.jsonl`);
  const out = await replay({
    trace: scenarioTracePath(s),
    clusterFiles: s.clusterFiles,
    verdicts,
    out: path.join(tmp, `${path.basename(s.dir)}.pcapng`),
    workers: 1,
    windows: s.windows,
    seed: s.seed,
    view: s.view,
    failOn: [],
    vxlanPorts: [],
  });
  assert.equal(out.status, 0);
  const records = fs
    .readFileSync(verdicts, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Rec);
  return { records, summary: out.summary };
}

describe('scenarios (traces/)', () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'vfp-scen-'));
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));
  const dirs = listScenarios(tracesDir());

  it('there is one scenario per numbered behaviour of the VFP issue', () => {
    assert.ok(dirs.length >= 9, `only ${dirs.length} scenarios`);
  });

  for (const dir of dirs) {
    const s = loadScenario(dir);
    describe(`${path.basename(dir)}: ${s.name}`, () => {
      it('its committed trace.pcapng is what scenario.yaml builds', () => {
        const rebuilt = path.join(tmp, `${path.basename(dir)}-rebuilt.pcapng`);
        writeScenarioTrace(s, rebuilt);
        assert.ok(fs.readFileSync(rebuilt).equals(fs.readFileSync(scenarioTracePath(s))), 'run `npm run traces` and commit');
      });

      it('every packet gets the verdict, reason, warnings and fields the reference gives', async () => {
        const { records, summary } = await runScenario(s, tmp);
        assert.equal(records.length, s.packets.length, 'one verdict per packet');
        assert.equal(summary.packets, s.packets.length);
        const problems: string[] = [];
        s.packets.forEach((p, k) => {
          const rec = records[k];
          const at = `packet ${k + 1} (${p.send})`;
          if (rec.packet !== k + 1) problems.push(`${at}: record number ${String(rec.packet)}`);
          if (rec.verdict !== p.expectVerdict || rec.reason !== p.expectReason) {
            problems.push(`${at}: got ${String(rec.verdict)} ${String(rec.reason)}, want ${p.expectVerdict} ${String(p.expectReason)}`);
          }
          const warnings = (rec.warnings as string[]).slice().sort();
          for (const w of p.warn) if (!warnings.includes(w)) problems.push(`${at}: missing warning ${w} (has ${warnings.join(',') || 'none'})`);
          for (const [key, want] of Object.entries(p.check)) {
            let expected: unknown = want;
            if (typeof want === 'string' && /^@\d+$/.test(want)) expected = field(records[Number(want.slice(1)) - 1], key);
            const got = field(rec, key);
            // `null` in a check means "absent or null" (e.g. out.outer of a packet that left unencapsulated).
            const same = Array.isArray(expected)
              ? JSON.stringify(got) === JSON.stringify(expected)
              : got === expected || (expected === null && got === undefined);
            if (!same) problems.push(`${at}: ${key} = ${JSON.stringify(got)}, want ${JSON.stringify(expected)}`);
          }
        });
        const codes = new Set(summary.diagnostics.map((d) => d.code));
        for (const d of s.diagnostics) if (!codes.has(d)) problems.push(`summary diagnostics lack ${d} (have ${[...codes].join(', ') || 'none'})`);
        assert.deepEqual(problems, []);
      });
    });
  }
});
