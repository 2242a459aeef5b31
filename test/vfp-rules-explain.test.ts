/**
 * `vfp-emu rules` prints the objects the engine walks: for every packet of every scenario in traces/,
 * each rule `explain` names (NAME #ID) is a rule `rules` prints for that node with that id, under a layer
 * of that name on the port the explanation says it walked.
 */

import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parse } from 'yaml';

const repo = path.resolve(__dirname, '../..');
const cli = path.join(repo, 'dist', 'src', 'cli.js');

function run(args: string[]): string {
  const r = spawnSync(process.execPath, [cli, ...args], { cwd: repo, encoding: 'utf8' });
  assert.equal(r.status, 0, `vfp-emu ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

/** node -> port -> layer -> rule ids by name, from `rules`. */
function listing(text: string): Map<string, Map<string, Map<string, Map<string, number>>>> {
  const out = new Map<string, Map<string, Map<string, Map<string, number>>>>();
  let node: Map<string, Map<string, Map<string, number>>> | undefined;
  let port: Map<string, Map<string, number>> | undefined;
  let layer: Map<string, number> | undefined;
  for (const line of text.split('\n')) {
    let m: RegExpMatchArray | null;
    if ((m = line.match(/^NODE : (\S+)/))) out.set(m[1], (node = new Map()));
    else if ((m = line.match(/^PORT : (\S+)/))) node!.set(m[1], (port = new Map()));
    else if ((m = line.match(/^ {2}LAYER : (\S+)/))) port!.set(m[1], (layer = new Map()));
    else if ((m = line.match(/^ {8}Friendly name : (\S+), Id : (\d+)/))) layer!.set(m[1], Number(m[2]));
  }
  return out;
}

const scenarios = fs.readdirSync(path.join(repo, 'traces')).filter((d) => /^\d/.test(d));

describe('rules and explain name the same objects', () => {
  for (const name of scenarios) {
    it(`${name}: every rule explain names is printed by rules, same node, port, layer and id`, function () {
      this.timeout(120_000);
      const dir = path.join(repo, 'traces', name);
      const sc = parse(fs.readFileSync(path.join(dir, 'scenario.yaml'), 'utf8')) as { cluster: string[]; packets: unknown[]; view?: string; windows?: string };
      const clusterArgs = sc.cluster.flatMap((c) => ['--cluster', path.join(dir, c)]);
      const windows = sc.windows ? ['--windows', sc.windows] : [];
      const extra = [...(sc.view ? ['--view', sc.view] : []), ...windows];
      const rules = listing(run(['rules', ...clusterArgs, ...windows]));
      let named = 0;
      for (let n = 1; n <= sc.packets.length; n++) {
        const text = run(['explain', path.join(dir, 'trace.pcapng'), ...clusterArgs, ...extra, '--packet', String(n)]);
        let node = '';
        let port = '';
        let layer = '';
        for (const line of text.split('\n')) {
          let m: RegExpMatchArray | null;
          if ((m = line.match(/^node\("(.+)"\)$/))) node = m[1];
          else if ((m = line.match(/^\s*layer (\S+) \(port (\S+), (IN|OUT)\)$/))) [layer, port] = [m[1], m[2]];
          else if ((m = line.match(/^\s*rule (\S+) #(\d+) \(/))) {
            const id = rules.get(node)?.get(port)?.get(layer)?.get(m[1]);
            assert.equal(id, Number(m[2]), `${name} packet ${n}: rule ${m[1]} #${m[2]} in layer ${layer} of port ${port} on ${node} is not what rules prints (${id})`);
            named++;
          }
        }
      }
      assert.ok(named > 0, `${name}: no rule named in any explanation`);
    });
  }
});
