/**
 * The fuzz harness's seed inputs, read from the repository and the shared corpus (src/fuzz):
 *   captures   ../shared/corpus/real/*.pcap|pcapng (absent: left out, and `corpusMissing` says so) and
 *              traces/* /trace.pcapng, each cut to a valid prefix of at most 32 KiB (mutate.ts captureSeed);
 *   scenarios  traces/* with scenario.yaml: the cluster files it names, its view, profile and seed, and
 *              its trace (the engine target replays mutations of it against that cluster);
 *   configs    groups of cluster files read together: each scenario's list, and each file of
 *              test/fixtures-cluster alone and after the overlay cluster of traces/_clusters (partial
 *              inputs, such as an HNS endpoint list, only make sense next to a whole cluster).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadScenario, listScenarios } from '../scenario/scenario';
import { captureSeed, type CaptureSeed } from './mutate';

/** The repository's root (this file runs from dist/src/fuzz or from src/fuzz). */
function repoRoot(): string {
  for (const up of ['../../..', '../..']) {
    const p = path.resolve(__dirname, up);
    if (fs.existsSync(path.join(p, 'traces')) && fs.existsSync(path.join(p, 'package.json'))) return p;
  }
  throw new Error('fuzz: cannot find the repository root (traces/) from ' + __dirname);
}

/** The shared real-capture corpus next to the repository (read-only). */
function corpusDir(): string {
  return path.resolve(repoRoot(), '..', 'shared', 'corpus', 'real');
}

/** A config file's name (as errors name it) and text. */
interface ConfigFile {
  name: string;
  text: string;
}

/** Cluster files read together (one `--cluster` list). */
type ConfigGroup = ConfigFile[];

export interface ScenarioSeed {
  name: string;
  files: ConfigGroup;
  view: 'pod' | 'wire';
  windows: string | undefined;
  seed: number;
  trace: CaptureSeed;
}

export interface Seeds {
  captures: CaptureSeed[];
  scenarios: ScenarioSeed[];
  configs: ConfigGroup[];
  /** Set when ../shared/corpus/real is absent (the readers are fuzzed on traces/ alone). */
  corpusMissing: string | null;
}

const readConfig = (file: string): ConfigFile => ({ name: file, text: fs.readFileSync(file, 'utf8') });

function captureSeeds(root: string, corpus: string): { seeds: CaptureSeed[]; missing: string | null } {
  const files: string[] = [];
  let missing: string | null = null;
  if (fs.existsSync(corpus)) {
    for (const f of fs.readdirSync(corpus).sort()) if (/\.(pcap|pcapng)$/.test(f)) files.push(path.join(corpus, f));
  } else missing = `the real corpus ${corpus} is absent: captures from traces/ only`;
  for (const d of listScenarios(path.join(root, 'traces'))) files.push(path.join(d, 'trace.pcapng'));
  const seeds: CaptureSeed[] = [];
  for (const f of files) {
    const s = captureSeed(f, fs.readFileSync(f));
    if (s !== null) seeds.push(s);
  }
  return { seeds, missing };
}

/** Every seed input (see the module comment). */
export function loadSeeds(): Seeds {
  const root = repoRoot();
  const { seeds: captures, missing } = captureSeeds(root, corpusDir());
  const scenarios: ScenarioSeed[] = listScenarios(path.join(root, 'traces')).map((dir) => {
    const s = loadScenario(dir);
    const trace = captureSeed(path.join(dir, 'trace.pcapng'), fs.readFileSync(path.join(dir, 'trace.pcapng')));
    if (trace === null) throw new Error(`fuzz: ${dir}/trace.pcapng is not a capture`);
    return { name: path.basename(dir), files: s.clusterFiles.map(readConfig), view: s.view, windows: s.windows, seed: s.seed, trace };
  });
  const overlay = ['kubectl.yaml', 'cni.conf', 'net-conf.json'].map((f) => readConfig(path.join(root, 'traces', '_clusters', 'overlay', f)));
  const configs: ConfigGroup[] = scenarios.map((s) => s.files);
  const fixtures = path.join(root, 'test', 'fixtures-cluster');
  for (const f of fs.readdirSync(fixtures).sort()) {
    if (!fs.statSync(path.join(fixtures, f)).isFile()) continue; // real/: public files, fuzzed by their own tests' inputs
    const file = readConfig(path.join(fixtures, f));
    configs.push([file], [...overlay, file]);
  }
  return { captures, scenarios, configs, corpusMissing: missing };
}
