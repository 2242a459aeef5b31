/**
 * The cluster a generated trace runs in: Windows nodes with pod subnets, one Linux node (control plane,
 * CoreDNS), pods, ClusterIP Services with backends, kube-dns, and external hosts. Built deterministically
 * from a few counts; `clusterList` renders it as a kubectl `List` (Nodes, Pods, Services, EndpointSlices,
 * and the kube-flannel-cfg and kube-proxy ConfigMaps carrying net-conf.json, cni-conf.json and the
 * KubeProxyConfiguration) that `vfp-emu replay --cluster` reads like any real cluster dump.
 *
 * Addressing (all fixed, so scenarios can name them):
 *   nodes        10.127.130.10 (linux-node-1), 10.127.130.11.. (win-node-1..)
 *   pod subnets  10.244.0.0/24 on the Linux node, 10.244.<k>.0/24 on win-node-<k>; pods from .10
 *   services     10.96.0.0/12: kubernetes 10.96.0.1, kube-dns 10.96.0.10, web-<s> 10.96.0.<100+s>
 *   external     203.0.113.<10+e> (TEST-NET-3)
 * MACs: pods and nodes get the MACs the emulator derives when an input does not give them
 * (src/cluster/mac.ts); the node NIC MAC and overlay DR MAC are also written as annotations.
 */

import { hyperVNodeMac, derivedDrMac, derivedMacPoolStart, linuxPodMac, overlayEndpointMac, poolEndpointMac } from '../cluster/mac';
import { ipv4ToU32, u32ToIpv4 } from '../packet/addr';

type GenNetwork = 'overlay' | 'l2bridge';

export interface LayoutOptions {
  /** Network mode of the Windows nodes: flannel vxlan over win-overlay (default) or flannel host-gw over win-bridge. */
  network?: GenNetwork;
  /** Windows nodes (default 2). */
  windowsNodes?: number;
  /** Pods per Windows node (default 8); raised when needed so that every flow gets its own client port. */
  podsPerNode?: number;
  /** Application pods on the Linux node, besides the two CoreDNS pods (default 4). */
  linuxPods?: number;
  /** ClusterIP Services `web-<s>` (TCP 80 -> 8080), besides kube-dns and kubernetes (default 4). */
  services?: number;
  /** Backends per Service (default 3), spread over all nodes. */
  backendsPerService?: number;
  /** External hosts (default 4). */
  externalHosts?: number;
}

interface GenNode {
  name: string;
  windows: boolean;
  ip: string;
  ip4: number;
  podCIDR: string;
  /** Host NIC MAC. */
  mac: string;
  /** Overlay distributed-router MAC. */
  drMac: string;
  /** The MAC pods on this node see as their gateway's (overlay: the DR MAC; l2bridge: the host NIC MAC). */
  gatewayMac: string;
  /** kube-proxy --source-vip (overlay Windows nodes: <subnet>.2), else null. */
  sourceVip: string | null;
}

interface GenPod {
  namespace: string;
  name: string;
  ip: string;
  ip4: number;
  /** Index into `nodes`. */
  node: number;
  mac: string;
  /** Pod labels: `app`, plus `backend-of-<service>: "true"` for each Service it backs (the Services' selectors). */
  labels: Record<string, string>;
}

interface GenServicePort {
  name: string;
  protocol: 'TCP' | 'UDP';
  port: number;
  targetPort: number;
}

interface GenService {
  namespace: string;
  name: string;
  clusterIP: string;
  ip4: number;
  ports: GenServicePort[];
  /** Indexes into `pods`; empty for `kubernetes`, whose endpoint is the API server. */
  backends: number[];
}

interface GenExternal {
  ip: string;
  ip4: number;
}

export interface ClusterLayout {
  network: GenNetwork;
  clusterCidr: string;
  serviceCidr: string;
  nodeCidr: string;
  vni: number;
  vxlanPort: number;
  /** Network name as flannel names it (flannel.4096 / cbr0). */
  networkName: string;
  nodes: GenNode[];
  pods: GenPod[];
  services: GenService[];
  externals: GenExternal[];
  /** Indexes of the pods on Windows nodes (the clients of generated flows). */
  windowsPods: number[];
  /** Index of kube-dns in `services`. */
  dnsService: number;
  /** Indexes of the `web-<s>` Services in `services`. */
  webServices: number[];
  /** Names DNS queries ask for (FQDNs, single labels, partial names, external names), with their A answer. */
  dnsNames: { name: string; answer: string | null }[];
  /** The API server endpoint behind the `kubernetes` Service. */
  apiServer: string;
}

const VNI = 4096;
const VXLAN_PORT = 4789;

function positive(name: string, v: number | undefined, dflt: number, min = 1, max = 250): number {
  const n = v ?? dflt;
  if (!Number.isInteger(n) || n < min || n > max) throw new RangeError(`${name} must be an integer in ${min}..${max}, got ${n}`);
  return n;
}

/**
 * Builds the cluster layout. `minClientPods` raises the pods per Windows node so that the Windows pods
 * together hold at least that many (the generator gives each flow its own client port, 16384 per pod).
 */
export function makeLayout(opts: LayoutOptions = {}, minClientPods = 0): ClusterLayout {
  const network = opts.network ?? 'overlay';
  if (network !== 'overlay' && network !== 'l2bridge') throw new RangeError(`network must be overlay or l2bridge, got ${String(network)}`);
  const nWin = positive('windowsNodes', opts.windowsNodes, 2, 1, 200);
  let perNode = positive('podsPerNode', opts.podsPerNode, 8, 1, 240);
  perNode = Math.max(perNode, Math.ceil(minClientPods / nWin));
  if (perNode > 240) throw new RangeError(`too many flows for ${nWin} Windows nodes (a /24 pod subnet holds 240 pods of 16384 client ports each); raise windowsNodes`);
  const nLinux = positive('linuxPods', opts.linuxPods, 4, 0, 200);
  const nSvc = positive('services', opts.services, 4, 1, 150);
  const nBack = positive('backendsPerService', opts.backendsPerService, 3, 1, 64);
  const nExt = positive('externalHosts', opts.externalHosts, 4, 1, 200);

  const nodes: GenNode[] = [];
  const addNode = (name: string, windows: boolean, idx: number, subnet: number): void => {
    const ip = `10.127.130.${10 + idx}`;
    const mac = hyperVNodeMac(ip);
    const drMac = derivedDrMac(ip);
    nodes.push({
      name,
      windows,
      ip,
      ip4: ipv4ToU32(ip),
      podCIDR: `10.244.${subnet}.0/24`,
      mac,
      drMac,
      gatewayMac: network === 'overlay' && windows ? drMac : mac,
      sourceVip: network === 'overlay' && windows ? `10.244.${subnet}.2` : null,
    });
  };
  addNode('linux-node-1', false, 0, 0);
  for (let k = 1; k <= nWin; k++) addNode(`win-node-${k}`, true, k, k);

  const pods: GenPod[] = [];
  const podMac = (node: GenNode, ip: string): string => {
    if (!node.windows) return linuxPodMac(ip);
    return network === 'overlay' ? overlayEndpointMac('0e:2a', ip) : poolEndpointMac(derivedMacPoolStart(node.ip), ip);
  };
  const addPod = (namespace: string, name: string, node: number, host: number, app: string): number => {
    const n = nodes[node];
    const base = ipv4ToU32(n.podCIDR.split('/')[0]);
    const ip = u32ToIpv4(base + host);
    pods.push({ namespace, name, ip, ip4: ipv4ToU32(ip), node, mac: podMac(n, ip), labels: { app } });
    return pods.length - 1;
  };
  const coredns = [addPod('kube-system', 'coredns-0', 0, 10, 'kube-dns'), addPod('kube-system', 'coredns-1', 0, 11, 'kube-dns')];
  const serverPods: number[] = [];
  for (let j = 0; j < nLinux; j++) serverPods.push(addPod('default', `linux-app-${j}`, 0, 12 + j, 'linux-app'));
  const windowsPods: number[] = [];
  for (let k = 1; k <= nWin; k++) {
    for (let j = 0; j < perNode; j++) {
      const p = addPod('default', `win-${k}-app-${j}`, k, 10 + j, 'win-app');
      windowsPods.push(p);
      serverPods.push(p);
    }
  }

  // Backends: walk the nodes round-robin so each Service spreads over nodes, taking each node's pods in order.
  const byNode: number[][] = nodes.map(() => []);
  for (const p of serverPods) byNode[pods[p].node].push(p);
  const next = nodes.map(() => 0);
  let rr = 0;
  const takeBackend = (): number => {
    for (;;) {
      const n = rr++ % nodes.length;
      if (byNode[n].length === 0) continue;
      return byNode[n][next[n]++ % byNode[n].length];
    }
  };

  const services: GenService[] = [];
  services.push({ namespace: 'default', name: 'kubernetes', clusterIP: '10.96.0.1', ip4: ipv4ToU32('10.96.0.1'), ports: [{ name: 'https', protocol: 'TCP', port: 443, targetPort: 6443 }], backends: [] });
  services.push({
    namespace: 'kube-system',
    name: 'kube-dns',
    clusterIP: '10.96.0.10',
    ip4: ipv4ToU32('10.96.0.10'),
    ports: [
      { name: 'dns', protocol: 'UDP', port: 53, targetPort: 53 },
      { name: 'dns-tcp', protocol: 'TCP', port: 53, targetPort: 53 },
    ],
    backends: coredns,
  });
  const webServices: number[] = [];
  for (let s = 0; s < nSvc; s++) {
    const backends: number[] = [];
    for (let r = 0; r < nBack; r++) {
      const p = takeBackend();
      if (!backends.includes(p)) backends.push(p);
    }
    const name = `web-${s}`;
    for (const p of backends) pods[p].labels[`backend-of-${name}`] = 'true';
    const ip = `10.96.0.${100 + s}`;
    webServices.push(services.length);
    services.push({ namespace: 'default', name, clusterIP: ip, ip4: ipv4ToU32(ip), ports: [{ name: 'http', protocol: 'TCP', port: 80, targetPort: 8080 }], backends });
  }

  const externals: GenExternal[] = [];
  for (let e = 0; e < nExt; e++) {
    const ip = `203.0.113.${10 + e}`;
    externals.push({ ip, ip4: ipv4ToU32(ip) });
  }

  const dnsNames: { name: string; answer: string | null }[] = [];
  for (const s of webServices) {
    const svc = services[s];
    dnsNames.push({ name: `${svc.name}.${svc.namespace}.svc.cluster.local`, answer: svc.clusterIP });
    dnsNames.push({ name: svc.name, answer: svc.clusterIP });
  }
  dnsNames.push({ name: 'kubernetes.default', answer: null }); // a dotted partial name: Windows pods get NXDOMAIN
  dnsNames.push({ name: 'kubernetes.default.svc.cluster.local', answer: '10.96.0.1' });
  for (let e = 0; e < Math.min(nExt, 4); e++) dnsNames.push({ name: `host${e}.example.com`, answer: externals[e].ip });

  return {
    network,
    clusterCidr: '10.244.0.0/16',
    serviceCidr: '10.96.0.0/12',
    nodeCidr: '10.127.130.0/24',
    vni: VNI,
    vxlanPort: VXLAN_PORT,
    networkName: network === 'overlay' ? `flannel.${VNI}` : 'cbr0',
    nodes,
    pods,
    services,
    externals,
    windowsPods,
    dnsService: 1,
    webServices,
    dnsNames,
    apiServer: '10.127.130.10',
  };
}

/** flannel's net-conf.json for the layout. */
function netConf(l: ClusterLayout): object {
  return {
    Network: l.clusterCidr,
    Backend: l.network === 'overlay' ? { Type: 'vxlan', VNI: l.vni, Port: l.vxlanPort } : { Type: 'host-gw' },
  };
}

/** The flannel CNI config (cni-conf.json) with its win-overlay / win-bridge delegate and HNS endpoint policies. */
function cniConf(l: ClusterLayout): object {
  const exceptions = [l.clusterCidr, l.serviceCidr, l.nodeCidr];
  return {
    name: l.networkName,
    cniVersion: '0.3.0',
    type: 'flannel',
    capabilities: { portMappings: true, dns: true },
    delegate: {
      type: l.network === 'overlay' ? 'win-overlay' : 'win-bridge',
      dns: { nameservers: [l.services[l.dnsService].clusterIP], search: ['default.svc.cluster.local', 'svc.cluster.local', 'cluster.local'] },
      policies: [
        { name: 'EndpointPolicy', value: { Type: 'OutBoundNAT', ExceptionList: exceptions } },
        { name: 'EndpointPolicy', value: { Type: 'ROUTE', DestinationPrefix: l.serviceCidr, NeedEncap: true } },
      ],
    },
  };
}

/** The KubeProxyConfiguration of the Windows nodes (kernelspace; WinOverlay on overlay). */
function kubeProxyConf(l: ClusterLayout): object {
  return {
    apiVersion: 'kubeproxy.config.k8s.io/v1alpha1',
    kind: 'KubeProxyConfiguration',
    mode: 'kernelspace',
    clusterCIDR: l.clusterCidr,
    featureGates: l.network === 'overlay' ? { WinOverlay: true } : {},
    winkernel: { networkName: l.networkName, enableDSR: false },
  };
}

/**
 * The layout as `kubectl get nodes,pods,services,endpointslices,configmaps -A -o json` would print it:
 * a `List` whose ConfigMaps carry net-conf.json, cni-conf.json and kube-proxy's config.conf.
 */
export function clusterList(l: ClusterLayout): object {
  const items: object[] = [];
  for (const n of l.nodes) {
    const annotations: Record<string, string> = {
      'flannel.alpha.coreos.com/backend-type': l.network === 'overlay' ? 'vxlan' : 'host-gw',
      'flannel.alpha.coreos.com/public-ip': n.ip,
      'vfp-emu/mac': n.mac,
    };
    if (l.network === 'overlay') annotations['flannel.alpha.coreos.com/backend-data'] = JSON.stringify({ VNI: l.vni, VtepMAC: n.drMac });
    if (n.sourceVip) annotations['vfp-emu/source-vip'] = n.sourceVip;
    const os = n.windows ? 'windows' : 'linux';
    items.push({
      apiVersion: 'v1',
      kind: 'Node',
      metadata: { name: n.name, labels: { 'kubernetes.io/os': os, 'kubernetes.io/hostname': n.name }, annotations },
      spec: { podCIDR: n.podCIDR, podCIDRs: [n.podCIDR] },
      status: {
        addresses: [
          { type: 'InternalIP', address: n.ip },
          { type: 'Hostname', address: n.name },
        ],
        nodeInfo: { operatingSystem: os },
      },
    });
  }
  for (const p of l.pods) {
    const n = l.nodes[p.node];
    items.push({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: p.name, namespace: p.namespace, labels: p.labels },
      spec: {
        nodeName: n.name,
        nodeSelector: { 'kubernetes.io/os': n.windows ? 'windows' : 'linux' },
        containers: [{ name: 'app', image: n.windows ? 'mcr.microsoft.com/windows/servercore:ltsc2022' : 'registry.k8s.io/e2e-test-images/agnhost:2.47' }],
      },
      status: { phase: 'Running', hostIP: n.ip, podIP: p.ip, podIPs: [{ ip: p.ip }] },
    });
  }
  for (const s of l.services) {
    const selector = s.name === 'kubernetes' ? undefined : s.name === 'kube-dns' ? { app: 'kube-dns' } : { [`backend-of-${s.name}`]: 'true' };
    items.push({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: s.name, namespace: s.namespace },
      spec: {
        type: 'ClusterIP',
        clusterIP: s.clusterIP,
        clusterIPs: [s.clusterIP],
        ...(selector ? { selector } : {}),
        ports: s.ports.map((p) => ({ name: p.name, protocol: p.protocol, port: p.port, targetPort: p.targetPort })),
        sessionAffinity: 'None',
      },
    });
    const endpoints =
      s.name === 'kubernetes'
        ? [{ addresses: [l.apiServer], conditions: { ready: true, serving: true, terminating: false } }]
        : s.backends.map((b) => {
            const p = l.pods[b];
            return {
              addresses: [p.ip],
              conditions: { ready: true, serving: true, terminating: false },
              nodeName: l.nodes[p.node].name,
              targetRef: { kind: 'Pod', namespace: p.namespace, name: p.name },
            };
          });
    items.push({
      apiVersion: 'discovery.k8s.io/v1',
      kind: 'EndpointSlice',
      metadata: { name: `${s.name}-gen`, namespace: s.namespace, labels: { 'kubernetes.io/service-name': s.name } },
      addressType: 'IPv4',
      endpoints,
      ports: s.ports.map((p) => ({ name: p.name, protocol: p.protocol, port: p.targetPort })),
    });
  }
  items.push({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'kube-flannel-cfg', namespace: 'kube-flannel' },
    data: { 'net-conf.json': JSON.stringify(netConf(l), null, 2), 'cni-conf.json': JSON.stringify(cniConf(l), null, 2) },
  });
  items.push({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'kube-proxy-windows', namespace: 'kube-system' },
    data: { 'config.conf': JSON.stringify(kubeProxyConf(l), null, 2) },
  });
  return { apiVersion: 'v1', kind: 'List', metadata: { resourceVersion: '' }, items };
}
