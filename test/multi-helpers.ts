/** What replay-multi.test and merge.test share: the CLI run in a folder, their traces, summaries and text without their timings. */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { clusterList } from '../src/gen/layout';
import { writeTraceFile } from '../src/gen/trace';

const repo = path.resolve(__dirname, '..', '..');
/** The built CLI (dist/src/cli.js). */
export const cli = path.join(repo, 'dist', 'src', 'cli.js');

/** `vfp-emu ARGS` run in `cwd` (optionally with `input` on stdin): its exit status and output. */
export function run(args: string[], cwd: string, input?: string | Buffer) {
  const r = spawnSync(process.execPath, [cli, ...args], { cwd, encoding: 'utf8', ...(input !== undefined ? { input } : {}) });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/**
 * Generated traces `names` in `dir` (pcapng when the name ends in `ng`; seeds `firstSeed`, `firstSeed + 1`, ...),
 * and at `cluster` the kubectl List of the first one's layout.
 */
export function writeTraces(dir: string, names: readonly string[], cluster: string, o: { packets: number; flows: number; firstSeed: number }): void {
  names.forEach((n, k) => {
    const gen = writeTraceFile(path.join(dir, n), n.endsWith('ng') ? 'pcapng' : 'pcap', { packets: o.packets, flows: o.flows, seed: o.firstSeed + k });
    if (k === 0) fs.writeFileSync(cluster, JSON.stringify(clusterList(gen.layout)));
  });
}

/** A summary without its timings (elapsed_s, pps: the only fields allowed to differ between runs). */
export function untimed(s: Record<string, unknown>): Record<string, unknown> {
  const { elapsed_s, pps, ...rest } = s;
  void elapsed_s;
  void pps;
  if (Array.isArray(rest.traces)) rest.traces = (rest.traces as Record<string, unknown>[]).map(untimed);
  return rest;
}

/** Text output without the timing line (`N packets in X s (R packets/s)`). */
export function untimedText(t: string): string {
  return t.replace(/^\d+ packets in [\d.]+ s \(\d+ packets\/s\)$/m, 'N packets in T s');
}
