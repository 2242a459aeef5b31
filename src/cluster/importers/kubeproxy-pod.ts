/**
 * A DaemonSet or Pod manifest whose container runs kube-proxy (kubectl.ts hands the pod spec here).
 * A container runs kube-proxy when its `command` + `args` (one argv entry each, not split by a shell)
 * start with a program named kube-proxy(.exe), when a shell it runs (`sh -c`, `pwsh -Command`, `cmd /c`)
 * is given a script with a kube-proxy line (cmdline.ts), or when its image is a kube-proxy image
 * (repository name `kube-proxy`: sig-windows-tools' HostProcess image starts kube-proxy from its own
 * start.ps1, so its flags are not in the manifest: an info diagnostic says so).
 * `$(VAR)` in command and args is expanded from the container's `env` values as the kubelet does (`$$` is a
 * `$`); a variable set from `valueFrom` (spec.nodeName, status.podIP) is a placeholder (kubeproxy-flags.ts).
 * Env `KUBE_NETWORK` is the network name kube-proxy falls back to when --network-name is empty (domain.md 1.2;
 * kubernetes pkg/proxy/winkernel/proxier.go, cited in sig-windows-tools hostprocess/flannel/kube-proxy/
 * kube-proxy.yml @ 03f99247). A manifest with `nodeSelector: kubernetes.io/os: linux` is the Linux nodes'
 * kube-proxy: an info diagnostic, nothing applied to Windows nodes.
 * Sets what kubeproxy-flags.ts sets, and proxy.kubeNetworkEnv.
 */

import type { Draft } from '../draft';
import type { Field } from '../source';
import { importKubeProxyScript } from './cmdline';
import { applyKubeNetworkEnv, importKubeProxyArgs, type Arg } from './kubeproxy-flags';

const SHELLS = new Set(['sh', 'bash', 'pwsh', 'powershell', 'cmd', 'pwsh.exe', 'powershell.exe', 'cmd.exe']);

function baseName(s: string): string {
  return s.slice(Math.max(s.lastIndexOf('/'), s.lastIndexOf('\\')) + 1).toLowerCase();
}

/** The container's literal env values (a `valueFrom` variable maps to null: known only on the node). */
function envOf(container: Field): Map<string, { value: string | null; field: Field }> {
  const env = new Map<string, { value: string | null; field: Field }>();
  for (const e of container.get('env').optItems()) {
    const name = e.object().get('name').required('name').string();
    const v = e.get('value');
    env.set(name, { value: v.absent ? (e.get('valueFrom').absent ? '' : null) : v.string(), field: v.absent ? e : v });
  }
  return env;
}

/** The kubelet's `$(VAR)` expansion of one command/args entry. */
function expand(f: Field, env: Map<string, { value: string | null }>): Arg {
  let dynamic = false;
  const text = f.string().replace(/\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)/g, (all, name: string | undefined) => {
    if (name === undefined) return '$';
    const v = env.get(name)?.value;
    if (v === undefined || v === null) {
      dynamic = true;
      return all;
    }
    return v;
  });
  return { text, dynamic, where: f.where, fail: (detail: string): never => f.fail(detail) };
}

function isLinuxOnly(podSpec: Field): boolean {
  const sel = podSpec.get('nodeSelector');
  if (!sel.isObject()) return false;
  const os = sel.get('kubernetes.io/os').value ?? sel.get('beta.kubernetes.io/os').value;
  return os === 'linux';
}

/** Reads one container; returns true when it runs kube-proxy. */
function importContainer(c: Field, draft: Draft, what: string): boolean {
  c.object();
  const env = envOf(c);
  const argv = [...c.get('command').optItems(), ...c.get('args').optItems()].map((f) => ({ f, arg: expand(f, env) }));
  const prog = argv.length > 0 ? baseName(argv[0].arg.text) : '';
  let runs = false;
  if (prog === 'kube-proxy' || prog === 'kube-proxy.exe') {
    importKubeProxyArgs(argv.slice(1).map((a) => a.arg), draft, `${what} container ${c.get('name').optString() ?? ''}`, c.where);
    runs = true;
  } else if (SHELLS.has(prog)) {
    const i = argv.findIndex((a) => /^(-c|-command|\/c)$/i.test(a.arg.text));
    if (i > 0 && i + 1 < argv.length) runs = importKubeProxyScript(argv[i + 1].f, argv[i + 1].arg.text, draft);
  }
  const image = c.get('image').optString() ?? '';
  const repo = baseName(image.replace(/[:@].*$/, ''));
  if (!runs && repo !== 'kube-proxy') return false;
  if (!runs) {
    const how = argv.length > 0 ? `runs \`${argv.map((a) => a.arg.text).join(' ')}\`, which starts kube-proxy` : "has no command: its image's entrypoint starts kube-proxy";
    draft.note('config-ignored', 'info', `${what}: the kube-proxy container (image ${image}) ${how}, so kube-proxy's flags are not in this manifest; give its command line with --cluster (a file holding it, or the ConfigMap holding the script)`, c.where);
  }
  const net = env.get('KUBE_NETWORK');
  if (net !== undefined) applyKubeNetworkEnv(draft, net.value, ` of ${what} (valueFrom)`, net.field.where);
  return true;
}

/** Reads the kube-proxy containers of a pod spec; returns true when one runs kube-proxy. */
export function importKubeProxyPodSpec(podSpec: Field, draft: Draft, what: string): boolean {
  if (podSpec.absent) return false;
  podSpec.object();
  const containers = podSpec.get('containers').optItems();
  if (isLinuxOnly(podSpec)) {
    const kp = containers.some((c) => c.isObject() && baseName(String(c.get('image').value ?? '').replace(/[:@].*$/, '')) === 'kube-proxy');
    if (kp) draft.note('config-ignored', 'info', `${what} runs kube-proxy on Linux nodes (nodeSelector kubernetes.io/os: linux); not applied to Windows nodes`, podSpec.get('nodeSelector').where);
    return kp;
  }
  let any = false;
  for (const c of containers) if (importContainer(c, draft, what)) any = true;
  return any;
}
