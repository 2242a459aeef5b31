/**
 * A fuzz run (src/fuzz): input i of a run with seed S is made from the seeds by `makeInput(S, i)` alone
 * (mutate.ts inputPrng), goes to target `targetOf(i)` and ends 'ok', 'rejected' (exit-2 path), a crash
 * (any other exception) or a broken invariant (FuzzFailure); one that takes longer than `hangMs` counts
 * as a hang (checked after it returns: bench/fuzz.ts runs the inputs in a child process to catch one
 * that never returns). Shared by test/fuzz-smoke.test.ts and bench/fuzz.ts.
 *
 * The targets take turns by input index, weighted by what an input costs (measured on the 2-core machine:
 * readers about 2,300 inputs/s, cluster 150/s (YAML parsing dominates), engine 90/s: it writes and reads
 * three files): readers 15, cluster 3, engine 2 out of every 20, so that 1M inputs take under an hour.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Batch } from '../core/batch';
import type { Prng } from '../gen/prng';
import { inputPrng, mutateCapture, mutateConfig } from './mutate';
import { loadSeeds, type Seeds } from './seeds';
import { ENGINE_PROFILES, EngineRig, FuzzFailure, runCluster, runReaders, TARGETS, type FuzzInput, type Outcome, type TargetName } from './targets';

const TURNS: readonly TargetName[] = (() => {
  const t: TargetName[] = new Array<TargetName>(20).fill('readers');
  for (const k of [3, 9, 16]) t[k] = 'cluster';
  for (const k of [6, 13]) t[k] = 'engine';
  return t;
})();

/** The target of input `index`. */
export function targetOf(index: number): TargetName {
  return TURNS[index % TURNS.length];
}

export interface Finding {
  index: number;
  kind: 'crash' | 'hang' | 'invariant';
  message: string;
  stack: string;
  input: FuzzInput;
}

interface TargetStats {
  tried: number;
  rejected: number;
  crashes: number;
  hangs: number;
  /** Seconds spent running this target's inputs (making them included). */
  seconds: number;
}

/** Runs inputs against the targets; holds the seeds, the reused batch and the engine's temp folder. */
export class Fuzzer {
  readonly seeds: Seeds;
  readonly stats = new Map<TargetName, TargetStats>(TARGETS.map((t) => [t, { tried: 0, rejected: 0, crashes: 0, hangs: 0, seconds: 0 }]));
  private readonly batch = new Batch({ capacity: 256, arenaBytes: 4 << 20 });
  private readonly tmp: string;
  private readonly engine: EngineRig;
  private readonly dict: Uint8Array[];

  /**
   * `hangMs`: the time after which an input that returned counts as a hang. `threadsEvery`: every that
   * many inputs, an engine input is replayed with 2 and 3 threads too (0: never; threads take ~0.1 s to start).
   */
  constructor(
    readonly seed: number,
    readonly hangMs = 2000,
    seeds: Seeds = loadSeeds(),
    readonly threadsEvery = 0,
  ) {
    this.seeds = seeds;
    // the engine target writes three files per input: in memory (tmpfs) where there is one
    this.tmp = fs.mkdtempSync(path.join(fs.existsSync('/dev/shm') ? '/dev/shm' : os.tmpdir(), 'vfp-fuzz-'));
    this.engine = new EngineRig(seeds.scenarios, this.tmp);
    this.dict = addressTokens(seeds);
  }

  /** Input `index` of this run (the same bytes every time). */
  makeInput(index: number): FuzzInput {
    const r = inputPrng(this.seed, index);
    const target = targetOf(index);
    if (target === 'readers') return this.readersInput(r);
    if (target === 'engine') return this.engineInput(r, this.threadsEvery > 0 && Math.floor(index / TURNS.length) % this.threadsEvery === 0);
    return this.clusterInput(r);
  }

  private readersInput(r: Prng): FuzzInput {
    const s = this.seeds;
    const seed = s.captures[r.below(s.captures.length)];
    const bytes = mutateCapture(r, seed, s.captures, this.dict);
    return { target: 'readers', files: [{ name: path.basename(seed.name), bytes }], strictSnaplen: r.below(2) === 0 };
  }

  /**
   * A scenario, and mostly its own trace; one time in four another capture (other link types, timestamp
   * resolutions, sections: what the output encoder must carry over); half the time with the scenario's
   * own profile and view, else another profile or the other view.
   */
  private engineInput(r: Prng, threads: boolean): FuzzInput {
    const s = this.seeds;
    const sc = s.scenarios[r.below(s.scenarios.length)];
    const pool = r.below(4) === 0 ? s.captures : s.scenarios.map((x) => x.trace);
    const base = pool === s.captures ? pool[r.below(pool.length)] : sc.trace;
    const files = [{ name: 'trace.pcapng', bytes: mutateCapture(r, base, pool, this.dict, true) }];
    const k = r.below(2 * (ENGINE_PROFILES.length + 1));
    const other = k < ENGINE_PROFILES.length ? { windows: ENGINE_PROFILES[k] } : k === ENGINE_PROFILES.length ? { view: sc.view === 'pod' ? ('wire' as const) : ('pod' as const) } : {};
    return { target: 'engine', scenario: sc.name, files, ...other, ...(threads ? { threads } : {}) };
  }

  /** A group of config files with one of them mutated (a scenario's group names the scenario: seeds.ts puts them first). */
  private clusterInput(r: Prng): FuzzInput {
    const s = this.seeds;
    const g = r.below(s.configs.length);
    const group = s.configs[g];
    const k = r.below(group.length);
    const other = s.configs[r.below(s.configs.length)];
    const enc = new TextEncoder();
    const files = group.map((f, j) => ({
      name: path.basename(f.name),
      bytes: enc.encode(j === k ? mutateConfig(r, f.text, other[r.below(other.length)].text) : f.text),
    }));
    return { target: 'cluster', files, scenario: g < s.scenarios.length ? s.scenarios[g].name : undefined };
  }

  /** Runs one input: its outcome, or throws what the target threw. */
  async runInput(input: FuzzInput): Promise<Outcome> {
    if (input.target === 'readers') return runReaders(input.files[0].name, input.files[0].bytes, input.strictSnaplen ?? true, this.batch);
    if (input.target === 'engine') return this.engine.run({ scenario: input.scenario as string, windows: input.windows, view: input.view }, input.files[0].bytes, input.threads === true);
    const sc = input.scenario !== undefined ? this.engine.scenario(input.scenario) : undefined;
    const c = runCluster(input.files, sc ?? {});
    if (sc === undefined || c.cluster === undefined || c.dp === undefined) return c.outcome;
    return this.engine.replay(c.cluster, c.dp, sc.windows, sc.view, sc.seed, sc.trace.bytes);
  }

  /** Makes and runs input `index`, counting it; a finding is returned (null when the input passed). */
  async step(index: number): Promise<Finding | null> {
    const t0 = performance.now();
    const input = this.makeInput(index);
    const st = this.stats.get(input.target) as TargetStats;
    st.tried++;
    let finding: Finding | null = null;
    try {
      if ((await this.runInput(input)) === 'rejected') st.rejected++;
    } catch (e) {
      const err = e instanceof Error ? e : new Error(String(e));
      finding = { index, kind: e instanceof FuzzFailure ? 'invariant' : 'crash', message: `${err.name}: ${err.message}`, stack: err.stack ?? '', input };
      st.crashes++;
    }
    const ms = performance.now() - t0;
    st.seconds += ms / 1000;
    // starting 3 worker threads takes seconds on a busy machine: ten times the limit for those inputs
    const limit = input.threads === true ? 10 * this.hangMs : this.hangMs;
    if (finding === null && ms > limit) {
      finding = { index, kind: 'hang', message: `took ${Math.round(ms)} ms (limit ${limit} ms)`, stack: '', input };
      st.hangs++;
    }
    return finding;
  }

  close(): void {
    fs.rmSync(this.tmp, { recursive: true, force: true });
  }
}

/** IPv4 addresses (4 bytes) and ports (2 bytes) named in the cluster configs: tokens the mutator writes into packets. */
function addressTokens(s: Seeds): Uint8Array[] {
  const seen = new Set<string>();
  const out: Uint8Array[] = [];
  for (const g of s.configs) {
    for (const f of g) {
      for (const m of f.text.matchAll(/\b(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\b/g)) {
        const key = m[0];
        if (seen.has(key) || m.slice(1).some((x) => Number(x) > 255)) continue;
        seen.add(key);
        out.push(Uint8Array.of(+m[1], +m[2], +m[3], +m[4]));
      }
      for (const m of f.text.matchAll(/\b(?:port|targetPort|nodePort|containerPort)"?:\s*(\d{1,5})\b/g)) {
        const p = Number(m[1]);
        if (p > 65535 || seen.has(`:${p}`)) continue;
        seen.add(`:${p}`);
        out.push(Uint8Array.of(p >>> 8, p & 0xff));
      }
    }
  }
  return out;
}

/** Writes a finding's input files and what happened to `dir/<kind>-<target>-<index>/`; returns that folder. */
export function saveFinding(dir: string, seed: number, f: Finding): string {
  const folder = path.join(dir, `${f.kind}-${f.input.target}-${f.index}`);
  fs.mkdirSync(folder, { recursive: true });
  for (const file of f.input.files) fs.writeFileSync(path.join(folder, file.name), file.bytes);
  const i = f.input;
  const info = { seed, index: f.index, target: i.target, scenario: i.scenario ?? null, windows: i.windows ?? null, view: i.view ?? null, threads: i.threads ?? false, strictSnaplen: i.strictSnaplen ?? null, kind: f.kind, message: f.message, files: f.input.files.map((x) => x.name), stack: f.stack.split('\n') };
  fs.writeFileSync(path.join(folder, 'finding.json'), JSON.stringify(info, null, 2) + '\n');
  return folder;
}

/** A saved finding (a folder `saveFinding` wrote, or a reproducer under test/fixtures-fuzz) as an input again. */
export function loadFinding(folder: string): FuzzInput {
  const info = JSON.parse(fs.readFileSync(path.join(folder, 'finding.json'), 'utf8')) as {
    target: TargetName;
    scenario: string | null;
    windows: string | null;
    view: 'pod' | 'wire' | null;
    threads?: boolean;
    strictSnaplen: boolean | null;
    files: string[];
  };
  return {
    target: info.target,
    scenario: info.scenario ?? undefined,
    windows: info.windows ?? undefined,
    view: info.view ?? undefined,
    threads: info.threads === true ? true : undefined,
    strictSnaplen: info.strictSnaplen ?? undefined,
    files: info.files.map((name) => ({ name, bytes: new Uint8Array(fs.readFileSync(path.join(folder, name))) })),
  };
}
