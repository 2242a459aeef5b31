/**
 * The settings that stand for UNCONFIRMED facts of issue 11's path rules (src/vfp/profile.ts) change what a
 * user sees: each replays a scenario of traces/ with the setting flipped and checks the verdict the other
 * reading gives (the scenario itself checks the default).
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadScenario, tracesDir } from '../src/scenario/scenario';
import { scenarioTracePath } from '../src/scenario/build-traces';
import { decodeOptionsFor, replay } from '../src/commands/replay';
import type { Cluster } from '../src/cluster/model';

type Rec = { verdict: string; reason: string | null; out?: { src?: string } };

async function verdicts(dir: string, windows: string): Promise<Rec[]> {
  const s = loadScenario(path.join(tracesDir(), dir));
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'vfp-paths-'));
  try {
    const file = path.join(tmp, 'v.jsonl');
    const out = await replay({
      trace: scenarioTracePath(s),
      clusterFiles: s.clusterFiles,
      verdicts: file,
      out: path.join(tmp, 'o.pcapng'),
      workers: 1,
      windows,
      seed: s.seed,
      view: s.view,
      failOn: [],
      vxlanPorts: [],
    });
    assert.equal(out.status, 0);
    return fs
      .readFileSync(file, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Rec);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

describe('path rules: the settings of their UNCONFIRMED facts', () => {
  it('foreignVxlanDropped=false: VXLAN on UDP 8472 reaches the host as plain UDP', async () => {
    const v = await verdicts('17-vxlan-port', 'ws2022:foreignVxlanDropped=false');
    assert.deepEqual([v[0].verdict, v[0].reason], ['delivered', null]);
    const d = await verdicts('17-vxlan-port', 'ws2022');
    assert.deepEqual([d[0].verdict, d[0].reason], ['dropped', 'vni-mismatch']);
  });

  it('underlayRoutesPodCidrs=true: a pod IP to a management-subnet host is forwarded, not no-return', async () => {
    const v = await verdicts('19-return-path', 'ws2022:underlayRoutesPodCidrs=true');
    assert.deepEqual([v[0].verdict, v[0].reason, v[0].out?.src], ['forwarded', null, '10.244.1.5']);
  });

  it('outsideReplySnat=true: the reply to an outside client leaves SNATed to the node IP', async () => {
    const v = await verdicts('19-return-path', 'ws2022:outsideReplySnat=true');
    assert.deepEqual([v[4].verdict, v[4].reason, v[4].out?.src], ['forwarded', null, '10.127.130.11']);
  });

  it("the decoder takes the network's own VXLAN port for VXLAN without --vxlan-port", () => {
    const net = (vxlanPort: number) => ({ network: { vxlanPort } }) as unknown as Cluster;
    assert.deepEqual(decodeOptionsFor([], net(4790)).vxlanPorts, [4790]);
    assert.equal(decodeOptionsFor([], net(4789)).vxlanPorts, undefined);
    assert.deepEqual(decodeOptionsFor([8472], net(4790)).vxlanPorts, [8472, 4790]);
  });
});
