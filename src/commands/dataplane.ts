/**
 * What replay, explain and rules share: the cluster inputs read and compiled for a profile, the decoder's
 * VXLAN ports, a diagnostic as a line of text. A module of its own so that explain and rules load neither
 * the replay pipeline nor the scenario reader (issue 12, start-up); replay.ts re-exports it.
 */
import { UsageError } from '../core/errors';
import { safeText } from '../core/safe-text';
import { loadClusterFiles } from '../cluster/load';
import type { Cluster, Diagnostic } from '../cluster/model';
import type { DecodeOptions } from '../decode/decoder';
import type { NodeChoice } from '../vfp/compile';
import { compileDataplane, type Dataplane } from '../vfp/engine';
import { resolveProfile } from '../vfp/profile';

/**
 * Reads the cluster inputs and compiles them for the profile (shared by replay, explain, rules; the
 * pipeline's workers compile the loaded Cluster the same way, see src/pipeline/worker.ts). `choose` picks
 * the Windows nodes to compile once the cluster is read (rules: `--node`; replay, explain: the nodes the
 * trace reaches, vfp/trace-nodes.ts); absent or null: every node. `digests`: each file's SHA-256 (cluster/load.ts).
 */
export function prepareDataplane(
  clusterFiles: string[],
  opts: { windows?: string; seed: number; view: 'pod' | 'wire'; maxConfigBytes?: number },
  choose?: (cluster: Cluster) => NodeChoice | null,
): { cluster: Cluster; dataplane: Dataplane; only: NodeChoice | null; digests: string[] } {
  if (clusterFiles.length === 0) throw new UsageError('give the cluster with --cluster FILE (repeatable)');
  const { cluster, digests } = loadClusterFiles(clusterFiles, { maxConfigBytes: opts.maxConfigBytes });
  return { ...compileChosen(cluster, opts, choose), digests };
}

/** The compile half of prepareDataplane, for a Cluster already loaded (multi-trace replay loads it once per thread). */
export function compileChosen(
  cluster: Cluster,
  opts: { windows?: string; seed: number; view: 'pod' | 'wire' },
  choose?: (cluster: Cluster) => NodeChoice | null,
): { cluster: Cluster; dataplane: Dataplane; only: NodeChoice | null } {
  const only = choose?.(cluster) ?? null;
  const dataplane = compileDataplane(cluster, { profile: resolveProfile(opts.windows), seed: opts.seed, view: opts.view, only });
  return { cluster, dataplane, only };
}

/**
 * What the decoder takes for VXLAN: UDP 4789, the `--vxlan-port` ports, and the cluster network's own VXLAN
 * port (an HNS VxlanPort policy or a scenario's `vxlanPort` may make it another), so the network's own
 * tunnel is decapsulated without the flag. UDP 8472 (Linux flannel's default) needs no flag either:
 * step-input.ts `foreignVxlan` judges it.
 */
export function decodeOptionsFor(vxlanPorts: number[], cluster: Cluster): DecodeOptions {
  const ports = [...vxlanPorts];
  const own = cluster.network.vxlanPort;
  if (own !== 4789 && !ports.includes(own)) ports.push(own);
  return { vxlanPorts: ports.length > 0 ? ports : undefined };
}

/**
 * One config diagnostic as a line of text (the summary, report.txt, `vfp-emu rules`): its source and
 * message hold names from the config files, escaped by core/safe-text.ts `safeText`.
 */
export function diagnosticLine(d: Diagnostic): string {
  return `  ${d.code} [${safeText(d.source)}]: ${safeText(d.message)}`;
}
