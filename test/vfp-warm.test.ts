/**
 * The batch's warm pass (step-warm.ts) is a pure speed step: a trace decided with the pass always and never
 * gives the same verdict rows and the same rewritten bytes (issue 12: every output byte unchanged).
 */
import { strict as assert } from 'node:assert';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Batch } from '../src/core/batch';
import { decodeRange } from '../src/decode/decoder';
import { clusterList } from '../src/gen/layout';
import { writeTraceFile } from '../src/gen/trace';
import { parseClusterText } from '../src/cluster/parse';
import { openCapture } from '../src/io/reader';
import { compileDataplane } from '../src/vfp/engine';
import { resolveProfile } from '../src/vfp/profile';
import { Results } from '../src/vfp/results';
import { warmPolicy } from '../src/vfp/step-warm';

/** The digest of every Results row and every packet's bytes after the engine, the warm pass at `minConnections`. */
function decideAll(trace: string, layoutJson: string, minConnections: number): { digest: string; hits: number } {
  const saved = warmPolicy.minConnections;
  warmPolicy.minConnections = minConnections;
  try {
    const dp = compileDataplane(parseClusterText('generated cluster', layoutJson), { profile: resolveProfile(undefined), seed: 1, view: 'pod' });
    const st = dp.createState(16);
    const b = new Batch({ capacity: 512, arenaBytes: 1 << 20 });
    const r = new Results(b.capacity);
    const idx = new Uint32Array(b.capacity).map((_, k) => k);
    const h = createHash('sha256');
    const reader = openCapture(trace);
    for (let got = reader.next(b); got > 0; got = reader.next(b)) {
      decodeRange(b, 0, got);
      r.reset(got);
      dp.processWith(st, b, r, idx, got);
      for (const col of [r.verdict, r.reason, r.warnings, r.node, r.ingress, r.egress, r.service, r.backend, r.encap, r.outerSrc, r.outerDst, r.outerDport, r.vni, r.flow, r.rule]) {
        h.update(new Uint8Array(col.buffer, 0, got * col.BYTES_PER_ELEMENT));
      }
      for (let i = 0; i < got; i++) h.update(b.arena.subarray(b.off[i], b.off[i] + b.caplen[i]));
    }
    reader.close();
    return { digest: h.digest('hex'), hits: st.counters.fastPath };
  } finally {
    warmPolicy.minConnections = saved;
  }
}

describe('the warm pass (step-warm.ts)', function () {
  this.timeout(300_000);
  it('changes no verdict row and no byte: a generated trace decided with the pass always and never', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vfp-warm-'));
    try {
      const trace = path.join(dir, 'trace.pcap');
      const gen = writeTraceFile(trace, 'pcap', { packets: 30_000, flows: 3_000, seed: 7 });
      const layout = JSON.stringify(clusterList(gen.layout));
      const on = decideAll(trace, layout, 0);
      const off = decideAll(trace, layout, Infinity);
      assert.ok(on.hits > 20_000, `the trace takes the fast path (${on.hits} hits)`);
      assert.equal(on.hits, off.hits);
      assert.equal(on.digest, off.digest);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
