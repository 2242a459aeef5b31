/**
 * Which kind of cluster input a file is, told from its content (never from its name), and the dispatch to
 * the importer of that kind. A file may hold several documents (`---`); each is detected on its own.
 * Order matters where shapes overlap: scenario and KubeProxyConfiguration (by apiVersion/kind) before other
 * Kubernetes objects, CNI configs (cniVersion / plugin type) before net-conf.json (Network / Backend),
 * HNS objects last. subnet.env is recognised from the raw text (KEY=VALUE lines with FLANNEL_ keys), and so
 * is a kube-proxy command line (its first command runs kube-proxy or kube-proxy.exe: importers/cmdline.ts).
 */

import type { Draft } from './draft';
import { importCni, looksLikeCni } from './importers/cni';
import { importNetConf, importSubnetEnv, looksLikeNetConf, looksLikeSubnetEnv } from './importers/flannel';
import { importHns, looksLikeHns } from './importers/hns';
import { importKubectl, importKubectlItem, isKubectlList, looksLikeKubectl } from './importers/kubectl';
import { importKubeProxy, looksLikeKubeProxy } from './importers/kubeproxy';
import { importKubelet, looksLikeKubelet } from './importers/kubelet';
import { importKubeProxyCommandFile, importKubeProxyScriptFile, looksLikeKubeProxyCommandLine } from './importers/cmdline';
import { importScenario, looksLikeScenario } from './importers/scenario';
import { InputError } from '../core/errors';
import { noDocumentText, parseDocuments, type Field, type SourceDoc } from './source';
import { checkPsDepth, jsonAfterPowerShellText, refusePowerShellText } from './ps-output';

export type InputKind = 'scenario' | 'kube-proxy' | 'kube-proxy-cmdline' | 'kubelet' | 'kubectl' | 'cni' | 'flannel-net-conf' | 'flannel-subnet-env' | 'hns';

/** The kinds, in words, for the "cannot tell" error. */
export const KIND_NAMES =
  'kubectl output (a List or single Node, Pod, Service, EndpointSlice, Endpoints, ConfigMap, kube-proxy DaemonSet; JSON or YAML), ' +
  'a CNI config (win-bridge, win-overlay, flannel; .conf or .conflist), flannel net-conf.json, flannel subnet.env, ' +
  'a KubeProxyConfiguration or kube-proxy command line (kube-proxy.exe --flag=..., wins cli process run --args "..."), a KubeletConfiguration, HNS JSON (Get-HnsNetwork, Get-HnsEndpoint, Get-HnsPolicyList, HCN v2 load balancers, a list of endpoint policies), ' +
  'or a vfp-emu scenario (apiVersion: vfp-emu/v1, kind: Scenario)';

/** The kind of one parsed document, or null. */
function detectKind(doc: SourceDoc): InputKind | null {
  const exact = doc.root(false);
  const loose = doc.root(true);
  if (looksLikeScenario(exact)) return 'scenario';
  if (looksLikeKubeProxy(exact)) return 'kube-proxy';
  if (looksLikeKubelet(exact)) return 'kubelet';
  if (looksLikeKubectl(exact)) return 'kubectl';
  if (looksLikeCni(loose)) return 'cni';
  if (looksLikeNetConf(loose)) return 'flannel-net-conf';
  if (looksLikeHns(loose)) return 'hns';
  return null;
}

/** Imports one document; returns its kind, or null (nothing imported) when the kind is not recognised. */
function importDocument(doc: SourceDoc, draft: Draft): InputKind | null {
  const kind = detectKind(doc);
  switch (kind) {
    case 'scenario':
      importScenario(doc.root(false), draft);
      break;
    case 'kube-proxy':
      importKubeProxy(doc.root(false), draft);
      break;
    case 'kubelet':
      importKubelet(doc.root(false), draft);
      break;
    case 'kubectl':
      importKubectl(doc.root(false), draft, (inner, d) => importDocument(inner, d) !== null);
      break;
    case 'cni':
      importCni(doc.root(true), draft);
      break;
    case 'flannel-net-conf':
      importNetConf(doc.root(true), draft);
      break;
    case 'hns':
      importHns(doc.root(true), draft);
      break;
    default:
      break;
  }
  return kind;
}

/**
 * The List kind when a document whose `items` were left out (an empty list in their place) is a kubectl
 * List, as importText would import it; else null (stream-list.ts then reads the file whole).
 */
export function kubectlListKind(envelope: SourceDoc): string | null {
  if (detectKind(envelope) !== 'kubectl') return null;
  const root = envelope.root(false);
  return isKubectlList(root) ? root.get('kind').string() : null;
}

/** Imports one item of a streamed kubectl List (`item` is a document whose prefix is `items[k]`). */
export function importListItem(item: SourceDoc, listKind: string, draft: Draft): void {
  importKubectlItem(item.root(false), listKind, draft, (inner, d) => importDocument(inner, d) !== null);
}

/**
 * parseDocuments, or 'script' when a text that is no YAML is a script that runs kube-proxy on one line (read as
 * a command-line file), with a hint when it names kube-proxy otherwise: a start script (start.ps1) that builds
 * kube-proxy's arguments in variables (`Invoke-Expression "$kproxy $argList"`) runs a command line known only
 * when it runs; the user can give that command line instead.
 */
function parseKubeProxyHint(file: string, text: string, draft: Draft): SourceDoc[] | 'script' {
  try {
    return parseDocuments(file, text);
  } catch (e) {
    if (e instanceof InputError && /not valid YAML/.test(e.message) && /kube-proxy(\.exe)?\b/i.test(text)) {
      if (importKubeProxyScriptFile(file, text, draft)) return 'script';
      throw new InputError(file, { offset: e.offset }, `${e.message.slice(e.message.indexOf(': ') + 2)}; this looks like a script that starts kube-proxy: give the command line it runs instead (a file holding \`kube-proxy.exe --flag=value ...\`)`);
    }
    throw e;
  }
}

/**
 * Refuses by name (exit 2) the files an admin has at hand that describe no node's data plane, with what to give
 * instead, rather than "cannot tell what kind":
 * - a kubeconfig (`kind: Config` with `clusters`): how to reach the API server, no cluster object;
 * - the configuration of Microsoft/SDN's installer `Kubernetes/windows/kubeadm/KubeCluster.ps1` (its examples
 *   `Kubeclustervxlan.json`, `Kubeclusterbridge.json` there @ 242fb0c3: top-level `Cri`, `Cni`, `Kubernetes`,
 *   `Install`): what to install, not what the node runs (the installer writes the CNI config to `cni.conf` in
 *   `GetCniConfigPath`, Kubernetes/windows/helper.v2.psm1, under the install destination, and starts kube-proxy).
 */
function refuseKnownOther(root: Field): void {
  if (!root.isObject()) return;
  if (root.get('kind').value === 'Config' && root.has('clusters')) {
    root.get('kind').fail('this is a kubeconfig (how to reach the API server): it holds no cluster object; give the cluster\'s objects instead, e.g. `kubectl get nodes,pods,services,endpointslices -A -o yaml > cluster.yaml`');
  }
  if (root.has('cni') && root.has('kubernetes') && (root.has('cri') || root.has('install'))) {
    root.get('cni').fail('this is the configuration of Microsoft/SDN\'s KubeCluster.ps1 installer, not what a node runs; give the CNI config it writes on the node (cni/config/cni.conf under its Install.Destination, e.g. C:/kubeadm/cni/config/cni.conf), the kube-proxy command line it starts, and `kubectl get nodes,pods,services,endpointslices -A -o yaml` output');
  }
}

/** kubectl's table header (`kubectl get nodes -o wide`, `kubectl get pods -A`): NAME and an upper-case column. */
const KUBECTL_TABLE = /^(NAMESPACE\s{2,})?NAME\s{2,}(READY|STATUS|TYPE|CLUSTER-IP|ENDPOINTS|ADDRESSTYPE|DATA|AGE|PORTS|DESIRED)\b/;
/** `kubectl describe` output: `Name:` padded to a column, then the other padded titles. */
const KUBECTL_DESCRIBE = /^Name:\s{2,}\S/;
const DESCRIBE_TITLE = /^(Namespace|Labels|Annotations|Roles|Selector|Type|Addresses|PodCIDR|IP|Endpoints|Port|TargetPort|Status|Node):\s/m;

/**
 * Refuses (exit 2, at its first line) kubectl's human-readable output (`kubectl get ...` without `-o`, `kubectl
 * describe ...`): it lacks the objects' fields (a table shows a few columns), so nothing can be read from it;
 * the answer is the command that gives them. Such text parsed as a YAML string or failed, "cannot tell".
 */
function refuseKubectlText(file: string, text: string): void {
  const body = text.replace(/^\uFEFF/, '');
  const lead = body.length - body.trimStart().length;
  // The first line only: never split the whole text (a 120 MB kubectl dump is millions of lines; issue 12)
  const eol = body.indexOf('\n', lead);
  const first = body.slice(lead, eol < 0 ? body.length : eol).replace(/\r$/, '');
  const table = KUBECTL_TABLE.test(first);
  if (!table && !(KUBECTL_DESCRIBE.test(first) && DESCRIBE_TITLE.test(body.slice(0, 8192)))) return;
  const offset = new TextEncoder().encode(body.slice(0, lead)).length;
  throw new InputError(file, { offset }, `this is kubectl's ${table ? 'table output (kubectl get without -o)' : 'describe output'}, which shows only some fields; run \`kubectl get nodes,pods,services,endpointslices -A -o yaml > cluster.yaml\` and give that file`);
}

/** Detects and imports every document of one file's text; returns the kinds found, in order. */
export function importText(file: string, text: string, draft: Draft): InputKind[] {
  draft.sources.push(file);
  if (looksLikeSubnetEnv(text)) {
    importSubnetEnv(file, text, draft);
    return ['flannel-subnet-env'];
  }
  if (looksLikeKubeProxyCommandLine(text)) {
    importKubeProxyCommandFile(file, text, draft);
    return ['kube-proxy-cmdline'];
  }
  const afterTable = jsonAfterPowerShellText(text);
  if (afterTable !== null) {
    draft.note('hns-ps-table-skipped', 'info', `PowerShell's table or list output before the JSON (lines 1-${afterTable.line - 1}: collectlogs.ps1 writes a Select summary, then the ConvertTo-Json dump) is skipped; the JSON from line ${afterTable.line} is read`, { file, path: `line ${afterTable.line}` });
    text = afterTable.text;
  } else refusePowerShellText(file, text);
  refuseKubectlText(file, text);
  const docs = parseKubeProxyHint(file, text, draft);
  if (docs === 'script') return ['kube-proxy-cmdline'];
  if (docs.length === 0) throw new InputError(file, {}, `${noDocumentText(text)}; expected ${KIND_NAMES}`);
  const kinds: InputKind[] = [];
  for (const doc of docs) {
    // A script that YAML reads as one plain string (no `key: value` line): its kube-proxy command, if any
    if (docs.length === 1 && typeof doc.root().value === 'string' && importKubeProxyScriptFile(file, text, draft)) return ['kube-proxy-cmdline'];
    const kind = importDocument(doc, draft);
    if (kind === null) checkPsDepth(doc.root(true));
    if (kind === null) refuseKnownOther(doc.root(true));
    if (kind === null) return doc.root().fail(`cannot tell what kind of cluster input this is; expected one of: ${KIND_NAMES}`);
    kinds.push(kind);
  }
  return kinds;
}
