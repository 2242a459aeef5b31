/**
 * Kubernetes objects as `kubectl get -o json|yaml` prints them: a `List` (or `NodeList`, `PodList`, ...) or
 * single objects, of Nodes, Pods, Services, EndpointSlices, legacy Endpoints, and ConfigMaps that carry a
 * flannel net-conf.json / cni-conf.json or a kube-proxy config.conf (those are imported as their own kind)
 * or a script that starts kube-proxy, and DaemonSets / Pods whose container runs kube-proxy (its flags and
 * env KUBE_NETWORK: kubeproxy-pod.ts).
 * Other kinds are skipped with an info diagnostic. Keys are case-sensitive, as the API server decodes them.
 *
 * Node annotations read: flannel's `flannel.alpha.coreos.com/backend-data` ({"VNI":4096,"VtepMAC":...}: the
 * node's DR MAC), `.../public-ip` (its provider address), `.../backend-type` (vxlan -> overlay, host-gw ->
 * l2bridge), and the emulator's own `vfp-emu/mac` (host NIC MAC), `vfp-emu/mac-spoofing` ("false" when the
 * VM adapter has MAC spoofing off) and `vfp-emu/source-vip` (kube-proxy --source-vip of that node).
 */

import type { Draft, EndpointFacts, FactSet } from '../draft';
import type { EndpointModel, Protocol } from '../model';
import { parseEmbedded, type Field, type SourceDoc } from '../source';
import { checkMetadata, checkServicePorts, k8sName, nodePodCidr, stringMap, type NameRule } from '../validate';
import { ipFamily } from '../../core/ip';
import { importKubeProxyScript } from './cmdline';
import { importKubeProxyPodSpec } from './kubeproxy-pod';

/** Imports a document found inside another (ConfigMap data); returns false when its kind is not recognised. */
type EmbeddedImporter = (doc: SourceDoc, draft: Draft) => boolean;

const PROTOCOLS = ['TCP', 'UDP', 'SCTP'] as const;

export function looksLikeKubectl(root: Field): boolean {
  if (!root.isObject()) return false;
  const kind = root.get('kind').value;
  const apiVersion = root.get('apiVersion').value;
  if (typeof kind !== 'string') return false;
  if (kind.endsWith('List') && Array.isArray(root.get('items').value)) return true;
  return typeof apiVersion === 'string' && root.get('metadata').isObject();
}

export function importKubectl(root: Field, draft: Draft, embed: EmbeddedImporter): void {
  const kind = root.get('kind').string();
  if (isKubectlList(root)) {
    for (const item of root.get('items').items()) importKubectlItem(item, kind, draft, embed);
    return;
  }
  importObject(root, kind, draft, embed);
}

/** Whether a kubectl document is a List (List, PodList, ...) whose `items` are imported one by one. */
export function isKubectlList(root: Field): boolean {
  const kind = root.get('kind').string();
  return kind === 'List' || (kind.endsWith('List') && !root.get('items').absent);
}

/** One element of a List of kind `listKind` (also the streamed List's items, stream-list.ts). */
export function importKubectlItem(item: Field, listKind: string, draft: Draft, embed: EmbeddedImporter): void {
  item.object();
  const k = item.get('kind');
  // Typed lists (PodList) omit the items' kind; take it from the list.
  const itemKind = k.absent && listKind !== 'List' ? listKind.slice(0, -4) : k.required('kind').string();
  importObject(item, itemKind, draft, embed);
}

function importObject(obj: Field, kind: string, draft: Draft, embed: EmbeddedImporter): void {
  switch (kind) {
    case 'Node':
      return importNode(obj, draft);
    case 'Pod':
      importKubeProxyPodSpec(obj.get('spec'), draft, `Pod ${String(obj.at('metadata', 'name').value)}`);
      return importPod(obj, draft);
    case 'DaemonSet':
      if (importKubeProxyPodSpec(obj.at('spec', 'template', 'spec'), draft, `DaemonSet ${String(obj.at('metadata', 'name').value)}`)) return;
      return draft.note('config-ignored', 'info', `DaemonSet objects that do not run kube-proxy do not affect the data plane; skipped`, obj.where);
    case 'Service':
      return importService(obj, draft);
    case 'EndpointSlice':
      return importEndpointSlice(obj, draft);
    case 'Endpoints':
      return importEndpoints(obj, draft);
    case 'ConfigMap':
      return importConfigMap(obj, draft, embed);
    default:
      draft.note('config-ignored', 'info', `${kind} objects do not affect the data plane; skipped`, obj.where);
  }
}

/** The object's namespace and name, with its metadata checked as the API server does (validate.ts). */
function metaName(obj: Field, rule: NameRule): { namespace: string; name: string; meta: Field } {
  const meta = obj.get('metadata').required('metadata').object();
  return { ...checkMetadata(meta, rule), meta };
}

function annotation(meta: Field, key: string): Field {
  const a = meta.get('annotations');
  return a.absent ? a : a.object().get(key);
}

function label(meta: Field, key: string): Field {
  const l = meta.get('labels');
  return l.absent ? l : l.object().get(key);
}

function importNode(obj: Field, draft: Draft): void {
  const { name, meta } = metaName(obj, 'subdomain');
  const node = draft.node({ by: 'name', name }, obj.where);
  const f = node.facts;
  const osLabel = [label(meta, 'kubernetes.io/os'), label(meta, 'beta.kubernetes.io/os'), obj.at('status', 'nodeInfo', 'operatingSystem')].find((x) => !x.absent);
  f.put('windows', osLabel ? osLabel.string().toLowerCase() === 'windows' : false, osLabel ? osLabel.where : obj.where, !osLabel);

  const addresses = obj.at('status', 'addresses').optItems();
  const internal = addresses.filter((a) => a.object().get('type').value === 'InternalIP').map((a) => a.get('address').required('address'));
  const v4 = internal.find((a) => typeof a.value === 'string' && a.value.includes('.')) ?? internal[0];
  if (v4) f.put('internalIP', v4.ip(), v4.where);

  const spec = obj.get('spec');
  const podCIDR = spec.absent ? spec : spec.get('podCIDR');
  const given = podCIDR.absent ? undefined : nodePodCidr(podCIDR, draft);
  if (given !== undefined) f.put('podCIDR', given, podCIDR.where);
  else if (!spec.absent) {
    const first = spec.get('podCIDRs').optItems().find((c) => typeof c.value === 'string' && c.value.includes('.'));
    const cidr = first ? nodePodCidr(first, draft) : undefined;
    if (first && cidr !== undefined) f.put('podCIDR', cidr, first.where);
  }

  const backendData = annotation(meta, 'flannel.alpha.coreos.com/backend-data');
  if (!backendData.absent && backendData.value !== 'null' && backendData.value !== '') {
    let parsed: unknown;
    try {
      parsed = JSON.parse(backendData.string());
    } catch (e) {
      backendData.fail(`not valid JSON: ${(e as Error).message}`);
    }
    const data = backendData.withValue(parsed);
    if (data.isObject()) {
      const vtep = data.get('VtepMAC');
      if (!vtep.absent && vtep.value !== '') f.put('drMac', vtep.withValue(vtep.value).mac(), backendData.where);
      const vni = data.get('VNI');
      if (!vni.absent) f.put('flannelVni', vni.int(0, 0xffffff), backendData.where);
    }
  }
  const publicIp = annotation(meta, 'flannel.alpha.coreos.com/public-ip');
  if (!publicIp.absent && publicIp.value !== '') f.put('providerAddress', publicIp.ip(), publicIp.where);
  const backendType = annotation(meta, 'flannel.alpha.coreos.com/backend-type');
  if (!backendType.absent && backendType.value !== '') {
    const t = backendType.string();
    if (t === 'vxlan' || t === 'host-gw') {
      draft.settings.put('network.mode', t === 'vxlan' ? 'overlay' : 'l2bridge', backendType.where, true);
      draft.settings.put('network.plugin', 'flannel', backendType.where, true);
    }
  }
  const mac = annotation(meta, 'vfp-emu/mac');
  if (!mac.absent) f.put('mac', mac.mac(), mac.where);
  const spoof = annotation(meta, 'vfp-emu/mac-spoofing');
  if (!spoof.absent) f.put('macSpoofing', spoof.bool(true), spoof.where);
  const vip = annotation(meta, 'vfp-emu/source-vip');
  if (!vip.absent && vip.value !== '') f.put('sourceVip', vip.ip(), vip.where);
}

function importPod(obj: Field, draft: Draft): void {
  const { namespace, name } = metaName(obj, 'subdomain');
  const status = obj.get('status');
  const phase = status.absent ? undefined : status.get('phase').optString();
  if (phase === 'Succeeded' || phase === 'Failed') {
    draft.note('config-ignored', 'info', `pod ${namespace}/${name} has finished (${phase}); its IP may be reused, so it is skipped`, obj.where);
    return;
  }
  const podIP = status.absent ? status : status.get('podIP');
  if (podIP.absent || podIP.value === '') {
    draft.note('config-ignored', 'info', `pod ${namespace}/${name} has no IP yet (status.podIP is empty); skipped`, obj.where);
    return;
  }
  const pod = draft.pod(namespace, name, obj.where);
  const ip = podIP.ip();
  pod.facts.put('ip', ip, podIP.where);
  const ips = status.get('podIPs').optItems().map((x) => x.object().get('ip').required('ip').ip()).filter((x) => x !== ip);
  if (ips.length > 0) pod.facts.put('ips', ips, status.get('podIPs').where);
  const spec = obj.get('spec');
  if (!spec.absent) {
    const node = spec.get('nodeName');
    if (!node.absent && node.value !== '') pod.facts.put('node', k8sName(node, 'subdomain'), node.where);
    const host = spec.get('hostNetwork');
    if (!host.absent) pod.facts.put('hostNetwork', host.bool(), host.where);
    if (hostProcessPod(spec, !host.absent && host.bool())) pod.facts.put('hostProcess', true, spec.where);
  }
}

/**
 * Whether a Pod's containers are Windows HostProcess containers (`securityContext.windowsOptions.hostProcess`
 * at pod level, inherited, or on each container), refusing what the API server refuses
 * (kubernetes/kubernetes pkg/apis/core/validation/validation.go `validateWindowsHostProcessPod`): a container
 * value that differs from the pod's ("pod hostProcess value must be identical if both are specified"), a mix
 * of HostProcess and other containers ("If pod contains any hostProcess containers then all containers must
 * be HostProcess containers"), HostProcess without hostNetwork ("hostNetwork must be true if pod contains any
 * hostProcess containers"). init and ephemeral containers count as the API server's VisitContainers does.
 */
function hostProcessPod(spec: Field, hostNetwork: boolean): boolean {
  const hp = (owner: Field): Field => owner.at('securityContext', 'windowsOptions', 'hostProcess');
  const podField = hp(spec);
  const podValue = podField.absent ? undefined : podField.bool();
  let count = 0;
  let hostProcess = 0;
  for (const list of ['initContainers', 'containers', 'ephemeralContainers']) {
    for (const c of spec.get(list).optItems()) {
      count++;
      const f = hp(c.object());
      const v = f.absent ? undefined : f.bool();
      if (podValue !== undefined && v !== undefined && v !== podValue) f.fail(`pod hostProcess value must be identical if both are specified, was ${podValue} (the API server refuses this pod)`);
      if (v ?? podValue) hostProcess++;
    }
  }
  if (hostProcess === 0) return false;
  if (hostProcess !== count) spec.fail('If pod contains any hostProcess containers then all containers must be HostProcess containers (the API server refuses this pod)');
  if (!hostNetwork) spec.get('hostNetwork').fail('hostNetwork must be true if pod contains any hostProcess containers (the API server refuses this pod)');
  return true;
}

function importService(obj: Field, draft: Draft): void {
  const { namespace, name, meta } = metaName(obj, 'service');
  const svc = draft.service(namespace, name, obj.where);
  const f = svc.facts;
  const spec = obj.get('spec').required('spec').object();
  // Not used (endpoints come from EndpointSlices), but a selector that is no map of labels is refused.
  stringMap(spec.get('selector'), true);
  const typeField = spec.get('type');
  const type = typeField.absent ? 'ClusterIP' : typeField.oneOf(['ClusterIP', 'NodePort', 'LoadBalancer', 'ExternalName'] as const);
  f.put('type', type, typeField.absent ? spec.where : typeField.where);
  importClusterIps(spec, type, f);

  const ports = spec.get('ports').optItems().map((p) => {
    p.object();
    const port = p.get('port').required('port').int(1, 65535);
    const proto = p.get('protocol');
    const target = p.get('targetPort');
    let targetPort: number | string = port;
    if (!target.absent) targetPort = typeof target.value === 'string' && !/^\d+$/.test(target.value) ? target.name() : target.int(1, 65535, true);
    const nodePort = p.get('nodePort');
    return {
      name: p.get('name').optString() ?? '',
      protocol: proto.absent ? ('TCP' as Protocol) : proto.oneOf(PROTOCOLS),
      port,
      targetPort,
      nodePort: nodePort.absent || nodePort.value === 0 ? null : nodePort.int(1, 65535),
      where: p.where,
    };
  });
  checkServicePorts(spec.get('ports'), ports);
  f.put('ports', ports, spec.get('ports').where);
  f.put('externalIPs', spec.get('externalIPs').optItems().map((x) => x.ip()), spec.get('externalIPs').where);

  const ingress: string[] = [];
  for (const ing of obj.at('status', 'loadBalancer', 'ingress').optItems()) {
    const ip = ing.object().get('ip');
    if (ip.absent || ip.value === '') {
      draft.note('config-ignored', 'info', `service ${namespace}/${name}: load balancer ingress without an IP (hostname only) is skipped, as kube-proxy does`, ing.where);
      continue;
    }
    ingress.push(ip.ip());
  }
  f.put('ingressIPs', ingress, obj.at('status', 'loadBalancer', 'ingress').where);

  const aff = spec.get('sessionAffinity');
  f.put('sessionAffinity', aff.absent ? 'None' : aff.oneOf(['None', 'ClientIP'] as const), aff.where);
  const timeout = spec.at('sessionAffinityConfig', 'clientIP', 'timeoutSeconds');
  f.put('affinityTimeoutSeconds', timeout.absent ? null : timeout.int(1, 86400), timeout.where);
  const etp = spec.get('externalTrafficPolicy');
  f.put('externalTrafficPolicy', etp.absent ? 'Cluster' : etp.oneOf(['Cluster', 'Local'] as const), etp.where);
  const itp = spec.get('internalTrafficPolicy');
  f.put('internalTrafficPolicy', itp.absent ? 'Cluster' : itp.oneOf(['Cluster', 'Local'] as const), itp.where);
  const hc = spec.get('healthCheckNodePort');
  f.put('healthCheckNodePort', hc.absent ? null : hc.int(1, 65535), hc.where);
  const pd = annotation(meta, 'preserve-destination');
  f.put('preserveDestination', !pd.absent && pd.value === 'true', pd.where);
}

/**
 * spec.clusterIP, spec.clusterIPs and spec.ipFamilies (dual stack). The API server keeps
 * `clusterIPs[0] == clusterIP` and one address per family, in `ipFamilies` order (kubernetes.io
 * "IPv4/IPv6 dual-stack"); a file that breaks this is refused by field. `clusterIP` alone (older
 * objects) stays the one address; `clusterIPs` alone gives `clusterIP` its first entry.
 */
function importClusterIps(spec: Field, type: string, f: FactSet): void {
  const cip = spec.get('clusterIP');
  const list = spec.get('clusterIPs');
  const fams = spec.get('ipFamilies');
  const families = fams.optItems().map((x) => x.oneOf(['IPv4', 'IPv6'] as const));
  if (families.length > 2 || (families.length === 2 && families[0] === families[1])) fams.fail('ipFamilies holds at most one IPv4 and one IPv6 entry');
  f.put('ipFamilies', families, fams.where);
  const none = (x: Field) => x.absent || x.value === '' || x.value === 'None';
  if (type === 'ExternalName' || (none(cip) && (list.absent || (Array.isArray(list.value) && (list.value.length === 0 || list.value[0] === 'None'))))) {
    f.put('clusterIP', null, cip.where);
    f.put('clusterIPs', [], list.where);
    return;
  }
  const items = list.optItems();
  const ips = items.map((x) => x.ip());
  if (ips.length > 2) list.fail('clusterIPs holds at most two addresses (one per family)');
  if (ips.length === 2 && ipFamily(ips[0]) === ipFamily(ips[1])) items[1].fail(`${ips[1]} is of the same family as ${ips[0]}: a dual-stack Service has one cluster IP per family`);
  ips.forEach((ip, k) => {
    if (families[k] !== undefined && ipFamily(ip) !== (families[k] === 'IPv4' ? 4 : 6)) items[k].fail(`${ip} is not an ${families[k]} address, and ipFamilies[${k}] is ${families[k]}`);
  });
  const primary = none(cip) ? ips[0] : cip.ip();
  if (ips.length > 0 && ips[0] !== primary) items[0].fail(`clusterIPs[0] is ${ips[0]} but clusterIP is ${primary}: the API server keeps them equal`);
  f.put('clusterIP', primary, none(cip) ? list.where : cip.where);
  f.put('clusterIPs', ips.length > 0 ? ips : [primary], list.absent ? cip.where : list.where);
}

function podRef(ref: Field): string | null {
  if (ref.absent) return null;
  ref.object();
  if (ref.get('kind').value !== 'Pod') return null;
  const ns = ref.get('namespace');
  return `${ns.absent ? 'default' : ns.name()}/${ref.get('name').required('name').name()}`;
}

function importEndpointSlice(obj: Field, draft: Draft): void {
  const { namespace, name, meta } = metaName(obj, 'subdomain');
  const svcLabel = label(meta, 'kubernetes.io/service-name');
  if (svcLabel.absent) {
    draft.note('config-ignored', 'info', `EndpointSlice ${namespace}/${name} has no kubernetes.io/service-name label, so it belongs to no Service; skipped`, obj.where);
    return;
  }
  const addressType = obj.get('addressType');
  const at = addressType.absent ? 'IPv4' : addressType.oneOf(['IPv4', 'IPv6', 'FQDN'] as const);
  if (at === 'FQDN') {
    draft.note('config-ignored', 'info', `EndpointSlice ${namespace}/${name} has FQDN addresses, which kube-proxy does not program; skipped`, addressType.where);
    return;
  }
  const ports: Record<string, number> = {};
  for (const p of obj.get('ports').optItems()) {
    p.object();
    const port = p.get('port');
    if (port.absent) continue;
    ports[p.get('name').optString() ?? ''] = port.int(1, 65535);
  }
  const endpoints: EndpointFacts[] = [];
  // One Where per slice (not per endpoint): slices can hold thousands of endpoints, and errors about them
  // are raised here, where the field is at hand.
  const sliceWhere = obj.where;
  for (const e of obj.get('endpoints').optItems()) {
    e.object();
    const addr = e.get('addresses').required('addresses').items();
    if (addr.length === 0) e.get('addresses').fail('an endpoint needs at least one address');
    const cond = e.get('conditions');
    // API semantics: a nil `ready` means ready; nil `serving` follows `ready`; nil `terminating` means false.
    const ready = cond.absent ? true : cond.get('ready').optBool() ?? true;
    const serving = cond.absent ? ready : cond.get('serving').optBool() ?? ready;
    const terminating = cond.absent ? false : cond.get('terminating').optBool() ?? false;
    const node = e.get('nodeName');
    const ip = addr[0].ip();
    if (ipFamily(ip) !== (at === 'IPv4' ? 4 : 6)) addr[0].fail(`${ip} is not an ${at} address, and the EndpointSlice's addressType is ${at}`);
    endpoints.push({
      ip,
      node: node.absent || node.value === '' ? null : k8sName(node, 'subdomain'),
      ready,
      serving,
      terminating,
      ports: { ...ports },
      pod: podRef(e.get('targetRef')),
      where: sliceWhere,
    });
  }
  draft.slices.push({ namespace, service: svcLabel.name(), legacy: false, where: obj.where, endpoints });
}

function importEndpoints(obj: Field, draft: Draft): void {
  const { namespace, name } = metaName(obj, 'subdomain');
  const endpoints: EndpointFacts[] = [];
  for (const subset of obj.get('subsets').optItems()) {
    subset.object();
    const ports: Record<string, number> = {};
    for (const p of subset.get('ports').optItems()) ports[p.object().get('name').optString() ?? ''] = p.get('port').required('port').int(1, 65535);
    const add = (list: Field, ready: boolean) => {
      for (const a of list.optItems()) {
        a.object();
        const node = a.get('nodeName');
        const e: Partial<EndpointModel> & { where: typeof a.where } = {
          ip: a.get('ip').required('ip').ip(),
          node: node.absent ? null : k8sName(node, 'subdomain'),
          ready,
          serving: ready,
          terminating: false,
          ports: { ...ports },
          pod: podRef(a.get('targetRef')),
          where: a.where,
        };
        endpoints.push(e);
      }
    };
    add(subset.get('addresses'), true);
    add(subset.get('notReadyAddresses'), false);
  }
  draft.slices.push({ namespace, service: name, legacy: true, where: obj.where, endpoints });
}

/**
 * Of a ConfigMap carrying both CNI forms (sig-windows-tools kubeadm/flannel/flannel-overlay.yml @ 12a6e44a:
 * `cni-conf.json` for dockershim, `cni-conf-containerd.json` for containerd; its run.ps1 picks one per node by
 * whether `0-containerd-nat.json` exists), the key that is not used: the dockershim one unless the ConfigMap's
 * annotation `vfp-emu/container-runtime: docker` says the nodes run Docker (Kubernetes removed dockershim in
 * 1.24, so containerd is the default).
 */
function unusedCniKey(meta: Field, data: Field, draft: Draft): string | null {
  if (!data.has('cni-conf.json') || !data.has('cni-conf-containerd.json')) return null;
  const rt = annotation(meta, 'vfp-emu/container-runtime');
  const docker = !rt.absent && rt.oneOf(['docker', 'containerd'] as const) === 'docker';
  const [used, unused] = docker ? ['cni-conf.json', 'cni-conf-containerd.json'] : ['cni-conf-containerd.json', 'cni-conf.json'];
  const why = docker ? 'the annotation vfp-emu/container-runtime: docker' : 'containerd nodes, the default (annotate the ConfigMap vfp-emu/container-runtime: docker for dockershim nodes)';
  draft.note('cni-form-chosen', 'info', `the ConfigMap carries both CNI forms; ${used} is used, for ${why}, and ${unused} is not applied`, data.get(unused).where);
  return unused;
}

/**
 * Whether an embedded config text is JSON by Kubernetes' content rule: its first non-space character is `{`
 * (kubernetes/apimachinery pkg/util/yaml/decoder.go `IsJSONBuffer`, which the universal decoder kube-proxy
 * and the kubelet read their config files with uses to pick the JSON decoder over the YAML one). Such a text
 * (the generated cluster's kube-proxy `config.conf`, kubeadm ConfigMaps written by tools) is read with
 * JSON.parse, so a run never loads the yaml package for it (issue 12, start-up); a text that is not valid
 * JSON falls back to YAML (parseConfigMapText).
 */
function jsonText(text: string): boolean {
  return /^\s*\{/.test(text);
}

/** The kinds of config the emulator reads whose files Kubernetes decodes as JSON when they start with `{`. */
const JSON_DECODED_KINDS: ReadonlySet<unknown> = new Set(['KubeProxyConfiguration', 'KubeletConfiguration']);

/**
 * The parsed value of a ConfigMap key's text, or null for a text that is not a config (skipped). A `.json`
 * key must be JSON. A text starting with `{` is read as JSON first (jsonText); if it is not valid JSON it is
 * read as YAML, as flow-style YAML (`{level: debug, retries: 3}`, an application's settings in a
 * `kubectl get cm -A -o yaml` dump) is, and refused only when it is a kube-proxy or kubelet config: their
 * decoder takes such a text as JSON and refuses it too. Other YAML that does not parse is skipped.
 */
function parseConfigMapText(f: Field, text: string, isJson: boolean): unknown {
  const asJson = isJson || jsonText(text);
  const parsed = parseEmbedded(f, text, asJson);
  if (!('error' in parsed)) return parsed.value;
  if (isJson) f.fail(`not valid JSON: ${parsed.error}`);
  if (!asJson) return null;
  const asYaml = parseEmbedded(f, text, false);
  if ('error' in asYaml) return null;
  const v = asYaml.value;
  if (v !== null && typeof v === 'object' && JSON_DECODED_KINDS.has((v as { kind?: unknown }).kind)) {
    f.fail(`not valid JSON: ${parsed.error} (a ${String((v as { kind?: unknown }).kind)} text starting with "{" is decoded as JSON by kube-proxy and the kubelet)`);
  }
  return v;
}

/** ConfigMap keys whose text may be a cluster input of its own (kube-flannel-cfg, kube-proxy's config.conf, kubelet-config's kubelet). */
function importConfigMap(obj: Field, draft: Draft, embed: EmbeddedImporter): void {
  const { namespace, name, meta } = metaName(obj, 'subdomain');
  const data = obj.get('data');
  const unused = unusedCniKey(meta, data, draft);
  let used = false;
  for (const key of data.keys()) {
    if (key === unused) continue;
    const f = data.get(key);
    if (typeof f.value !== 'string') continue;
    const isJson = key.endsWith('.json');
    // kubeadm's kube-system/kubelet-config ConfigMap holds the KubeletConfiguration under the key `kubelet`
    if (!isJson && !key.endsWith('.conf') && !key.endsWith('.yaml') && key !== 'kubelet') {
      // A script (run-script.ps1) that starts kube-proxy: its command line is read (cmdline.ts).
      if (importKubeProxyScript(f, f.value, draft)) used = true;
      continue;
    }
    const parsed = parseConfigMapText(f, f.value, isJson);
    if (parsed === null) continue;
    if (embed(f.doc.embedded(f.path, parsed), draft)) used = true;
  }
  if (!used) draft.note('config-ignored', 'info', `ConfigMap ${namespace}/${name} holds no flannel, CNI, kube-proxy or kubelet config; skipped`, obj.where);
}
