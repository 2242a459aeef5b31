/**
 * `vfp-emu rules --cluster FILE... [--node NAME]`: the VFP ports, layers, groups and rules HNS would
 * program on each emulated Windows node for this cluster, printed like `vfpctrl /list-rule`, followed by
 * the config diagnostics.
 */
import { UsageError } from '../core/errors';
import { writeStdout } from '../core/stdout';
import { flagInt, flagList, flagString, type ParsedArgs } from '../cli-args';
import { DEFAULT_MAX_CONFIG_BYTES } from '../cluster/limits';
import { runDiagnostics } from '../cluster/diagnostics';
import type { Cluster } from '../cluster/model';
import type { NodeChoice } from '../vfp/compile';
import { diagnosticLine, prepareDataplane } from './dataplane';

/**
 * `--node NAME`: only that node is compiled (compile.ts CompileOptions.only; its rule Ids are numbers on the
 * node, so its listing is the one `rules` without --node prints for it). Refused when no Windows node has the name.
 */
function oneNode(cluster: Cluster, node: string): NodeChoice {
  if (!cluster.nodes.some((n) => n.name === node && n.windows)) {
    const names = cluster.nodes.filter((n) => n.windows).map((n) => n.name);
    throw new UsageError(`--node ${node}: no such Windows node (Windows nodes: ${names.join(', ') || 'none'})`);
  }
  return { names: new Set([node]), why: `--node ${node} lists that node alone`, source: '--node' };
}

export async function runRulesCommand(a: ParsedArgs): Promise<number> {
  if (a.positional.length > 0) throw new UsageError(`rules takes no positional argument (got '${a.positional[0]}')`);
  const node = flagString(a, 'node');
  const { dataplane, cluster } = prepareDataplane(
    flagList(a, 'cluster'),
    { windows: flagString(a, 'windows'), seed: 1, view: 'pod', maxConfigBytes: flagInt(a, 'max-config-bytes', DEFAULT_MAX_CONFIG_BYTES) },
    node === undefined ? undefined : (c) => oneNode(c, node),
  );
  let text = ''; // the last piece written (where the diagnostics start)
  dataplane.writeRules(node, (t) => {
    writeStdout(t);
    text = t;
  });
  const p = dataplane.profile;
  const diagnostics = runDiagnostics(cluster, { maxLbDestinations: p.maxLbDestinations, dsrSupported: p.dsr }, dataplane.diagnostics);
  if (diagnostics.length > 0) {
    const gap = text.endsWith('\n\n') ? '' : text.endsWith('\n') ? '\n' : '\n\n';
    writeStdout(`${gap}CONFIG DIAGNOSTICS\n` + diagnostics.map((d) => diagnosticLine(d) + '\n').join(''));
  }
  return 0;
}
