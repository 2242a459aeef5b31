/**
 * KubeletConfiguration (apiVersion kubelet.config.k8s.io/v1beta1; a node's `/var/lib/kubelet/config.yaml`,
 * `c:\var\lib\kubelet\config.yaml` on Windows, or kubeadm's `kube-system/kubelet-config` ConfigMap under its
 * `kubelet` key), the parts that reach the data plane:
 *
 * - `clusterDomain`: the domain of the pods' DNS search list (`<ns>.svc.<domain>`), which decides which dotted
 *   names are FQDNs; without it the emulator derives the domain from a CNI search entry or takes cluster.local,
 *   a `config-assumed` fact. Empty (the kubelet's own default) states nothing.
 * - `clusterDNS`: the DNS servers the kubelet hands the runtime. containerd passes them to the CNI plugin as
 *   runtimeConfig `dns` when the config declares the `dns` capability, and the plugin then prefers them to the
 *   config's own `dns.Nameservers` (containernetworking/plugins pkg/hns/netconf.go `GetDNS`: "If runtime dns
 *   values are there use that else use cni conf supplied dns"). Whether a node's config declares the capability
 *   is not tracked, so a CNI config's servers, when given, win (a weak setting here); they change no verdict.
 *
 * Keys are case-sensitive, as Kubernetes decodes them. Every other key is named in one info diagnostic: read,
 * no data-plane effect emulated (never skipped in silence).
 */

import type { Draft } from '../draft';
import type { Field } from '../source';

export function looksLikeKubelet(root: Field): boolean {
  return root.isObject() && root.get('kind').value === 'KubeletConfiguration';
}

/** A DNS domain as the kubelet's search list uses it (RFC 1123 labels; a trailing dot allowed). */
const DOMAIN = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?(\.[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)*\.?$/;

export function importKubelet(root: Field, draft: Draft): void {
  const unused = root.keys().filter((k) => !['apiVersion', 'kind', 'clusterDomain', 'clusterDNS'].includes(k));
  if (unused.length > 0) draft.note('config-ignored', 'info', `KubeletConfiguration keys with no data-plane effect emulated, read and not used: ${unused.join(', ')}`, root.where);
  const domain = root.get('clusterDomain');
  if (!domain.absent && domain.string() !== '') {
    const d = domain.string().toLowerCase();
    if (!DOMAIN.test(d) || d.length > 253) domain.fail(`clusterDomain ${JSON.stringify(domain.value)} is not a DNS domain (lowercase labels of letters, digits and '-', separated by dots)`);
    draft.settings.put('clusterDomain', d.replace(/\.$/, ''), domain.where);
  }
  const dns = root.get('clusterDNS');
  if (!dns.absent) {
    const servers = dns.items().map((x) => x.ip());
    if (servers.length > 0) draft.settings.put('network.dnsServers', servers, dns.where, true);
  }
}
