/**
 * Facts the emulator filled in because no input gave them (merge.ts `derive`: the plugin, the network mode,
 * the OutBoundNAT ExceptionList, SourceVIPs, MACs, kube-proxy's DSR and feature gates, the network name,
 * the VNI, ClusterIPs, NodePorts, ...) as `config-assumed` diagnostics (severity info), so the summary (text
 * and JSON), `vfp-emu rules`, report.txt and the teaching page show what was assumed.
 *
 * Grouped per kind: facts with the same path pattern (`pods[*].mac`: the object names in brackets made `*`)
 * and the same way of deriving them are one diagnostic, with a count and the first EXAMPLES of them, so a
 * 100-node cluster with 2,000 pods gives a handful of lines, not thousands. Order: first appearance in the
 * merge (deterministic for the same inputs).
 */

import type { Diagnostic } from './model';

/** One filled-in fact: its path, value, how it was derived, and the grouping key of that way (`how` without per-object values). */
export interface AssumedFact {
  path: string;
  value: string;
  how: string;
  kind: string;
}

export const ASSUMED_CODE = 'config-assumed';

const EXAMPLES = 3;

/** `pods[default/web-0].mac` -> `pods[*].mac`. */
function pattern(path: string): string {
  return path.replace(/\[[^\]]*\]/g, '[*]');
}

/** What the objects of a pattern are called (`pods[*].mac` -> pods, `services[*].ports[*].nodePort` -> ports). */
function noun(pat: string): string {
  const m = /([A-Za-z]+)\[\*\][^[]*$/.exec(pat);
  return m ? m[1] : 'objects';
}

export function assumedDiagnostics(facts: readonly AssumedFact[]): Diagnostic[] {
  const groups = new Map<string, AssumedFact[]>();
  for (const f of facts) {
    const key = `${pattern(f.path)}\u0000${f.kind}`;
    const g = groups.get(key);
    if (g) g.push(f);
    else groups.set(key, [f]);
  }
  const out: Diagnostic[] = [];
  for (const g of groups.values()) {
    const first = g[0];
    if (g.length === 1) {
      out.push({ code: ASSUMED_CODE, severity: 'info', message: `no input states ${first.path}; using ${first.value} (${first.how})`, source: first.path });
      continue;
    }
    const pat = pattern(first.path);
    const examples = g.slice(0, EXAMPLES).map((f) => `${f.path} = ${f.value}`).join(', ');
    const more = g.length > EXAMPLES ? `, and ${g.length - EXAMPLES} more` : '';
    out.push({ code: ASSUMED_CODE, severity: 'info', message: `no input states ${pat} of ${g.length} ${noun(pat)}; each derived (${first.kind}), e.g. ${examples}${more}`, source: pat });
  }
  return out;
}
