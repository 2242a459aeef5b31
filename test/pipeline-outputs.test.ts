/**
 * The pipeline's byte encoders (src/pipeline/verdict-encoder.ts, out-trace-encoder.ts) against the
 * reference writers of test/reference/ on inputs the scenarios do not have: every capture of the real corpus
 * (../shared/corpus/real: both byte orders, nanosecond and other pcapng resolutions, several sections and
 * interfaces, Simple Packet Blocks without timestamps, other link types, VLANs, IPv6, truncated and
 * malformed packets, files that end in a fault), with one shard on the calling thread and with three worker
 * threads; and a trace read from stdin.
 */
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadCluster } from '../src/cluster/load';
import { replay } from '../src/commands/replay';
import { InputError } from '../src/core/errors';
import { runPipeline } from '../src/pipeline/pipeline';
import { compileDataplane } from '../src/vfp/engine';
import { resolveProfile } from '../src/vfp/profile';
import { writeTraceFile } from '../src/gen/trace';
import { clusterList } from '../src/gen/layout';
import { referenceReplay } from './pipeline-reference';

const repoRoot = path.resolve(__dirname, '..', '..');
const corpus = path.resolve(repoRoot, '..', 'shared', 'corpus', 'real');
const overlay = ['kubectl.yaml', 'cni.conf', 'net-conf.json'].map((f) => path.join(repoRoot, 'traces', '_clusters', 'overlay', f));

function sha(file: string): string {
  return createHash('sha256').update(fs.readFileSync(file)).digest('hex');
}

describe('pipeline outputs (byte encoders against the reference writers)', function () {
  this.timeout(300_000);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'vfp-pipeline-out-'));
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('every capture of the real corpus: one shard and three worker threads write what the reference loop writes', async function () {
    if (!fs.existsSync(corpus)) this.skip(); // the corpus lives next to the repository (../shared); absent here
    const files = fs.readdirSync(corpus).filter((f) => /\.(pcap|pcapng)$/.test(f)).sort();
    assert.ok(files.length > 50, `only ${files.length} captures`);
    // the cluster is loaded once and compiled afresh for every run (loading dominates such small runs)
    const cluster = loadCluster(overlay);
    const compile = () => compileDataplane(cluster, { profile: resolveProfile(undefined), seed: 1, view: 'pod' });
    let compared = 0;
    const problems: string[] = [];
    for (const [k, f] of files.entries()) {
      const trace = path.join(corpus, f);
      const ref = { verdicts: path.join(tmp, 'ref.jsonl'), out: path.join(tmp, 'ref.pcapng') };
      let refError: string | null = null;
      try {
        referenceReplay({ trace, clusterFiles: overlay, dataplane: compile(), seed: 1, view: 'pod', ...ref });
      } catch (e) {
        if (!(e instanceof InputError)) throw e;
        refError = e.message;
      }
      // worker threads take a moment to start: all pcapng files (the varied format) and every fourth pcap file
      const counts = f.endsWith('.pcapng') || k % 4 === 0 ? [1, 3] : [1];
      for (const workers of counts) {
        const mine = { verdicts: path.join(tmp, `w${workers}.jsonl`), out: path.join(tmp, `w${workers}.pcapng`) };
        try {
          const r = await runPipeline({ trace, cluster, windows: undefined, seed: 1, view: 'pod', dp: compile(), decode: {}, workers, failVerdicts: [], failReasons: [], ...mine });
          if (refError !== null) {
            problems.push(`${f}: the reference failed (${refError}), ${workers} shard(s) did not`);
            continue;
          }
          if (sha(mine.verdicts) !== sha(ref.verdicts)) problems.push(`${f}, ${workers} shard(s): verdict records differ`);
          if (sha(mine.out) !== sha(ref.out)) problems.push(`${f}, ${workers} shard(s): output pcapng differs`);
          assert.equal(r.tally.counters.packets(), r.packets, 'one verdict per packet');
          compared++;
        } catch (e) {
          if (!(e instanceof InputError)) throw e;
          if (refError !== e.message) problems.push(`${f}, ${workers} shard(s): ${e.message} (reference: ${refError ?? 'no error'})`);
        }
      }
    }
    assert.deepEqual(problems, []);
    assert.ok(compared > 100, `compared only ${compared} runs`);
  });

  it('reads the trace from stdin (-) and writes the same bytes as from the file, with worker threads', async () => {
    const trace = path.join(tmp, 'stdin.pcap');
    const cluster = path.join(tmp, 'stdin-cluster.json');
    const g = writeTraceFile(trace, 'pcap', { packets: 20000, flows: 500, seed: 9 });
    fs.writeFileSync(cluster, JSON.stringify(clusterList(g.layout)));
    const fromFile = { verdicts: path.join(tmp, 'file.jsonl'), out: path.join(tmp, 'file.pcapng') };
    await replay({ trace, clusterFiles: [cluster], seed: 1, view: 'pod', workers: 1, failOn: [], vxlanPorts: [], ...fromFile });
    const cli = path.join(repoRoot, 'dist', 'src', 'cli.js');
    const piped = { verdicts: path.join(tmp, 'pipe.jsonl'), out: path.join(tmp, 'pipe.pcapng') };
    const r = spawnSync(process.execPath, [cli, 'replay', '-', '--cluster', cluster, '--workers', '2', '--verdicts', piped.verdicts, '--out', piped.out, '--summary', 'json', '--no-progress'], {
      input: fs.readFileSync(trace),
      encoding: 'utf8',
    });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(JSON.parse(r.stdout).packets, 20000);
    assert.equal(sha(piped.verdicts), sha(fromFile.verdicts));
    assert.equal(sha(piped.out), sha(fromFile.out));
  });
});
