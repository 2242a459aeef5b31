/**
 * What a finished Cluster implies on Windows, as the summary's `diagnostics` ({code, message, source,
 * severity}). Codes are the CONTRACT reason codes; messages quote the Kubernetes page and the HNS /
 * kube-proxy errors (domain.md 1.3, 1.7, 1.9, 5). Pure: same cluster and options, same list, same order.
 *
 * - host-network-unsupported (warning): a hostNetwork pod on a Windows node.
 * - local-policy-requires-dsr (warning): externalTrafficPolicy Local on an externally reachable Service while
 *   kube-proxy DSR is off (enableDSR false or WinDSR off, or the profile has no DSR). The page's behaviour:
 *   treated as Cluster. (Real kube-proxy turns DSR on for those load balancers when HNS supports it,
 *   domain.md 1.7; the page and the emulator treat the combination as unsupported.)
 * - affinity-timeout-ignored (warning): sessionAffinityConfig.clientIP.timeoutSeconds is set.
 * - lb-too-many-destinations (error): more ready endpoint addresses than one VFP LB rule takes.
 * - no-endpoints (warning): a Service with a ClusterIP and ports but no ready endpoint.
 * - mac-spoofing-disabled (error): an l2bridge Windows node with MAC spoofing off.
 */

import { ASSUMED_CODE } from './assumed';
import type { Cluster, Diagnostic } from './model';

export interface DiagnosticOptions {
  /** Most destinations in one load balancer rule (the Windows profile's; 64 on the page, 1024 on newer builds). */
  maxLbDestinations?: number;
  /** Whether the Windows build supports DSR at all (the profile's); default true. */
  dsrSupported?: boolean;
}

/** The codes clusterDiagnostics produces (refreshDiagnostics replaces exactly these). */
export const IMPLIED_CODES = new Set([
  'host-network-unsupported',
  'local-policy-requires-dsr',
  'affinity-timeout-ignored',
  'lb-too-many-destinations',
  'no-endpoints',
  'mac-spoofing-disabled',
]);

export function clusterDiagnostics(cluster: Cluster, opts: DiagnosticOptions = {}): Diagnostic[] {
  const max = opts.maxLbDestinations ?? 64;
  const dsrOn = cluster.proxy.enableDSR && cluster.proxy.featureGates.WinDSR && (opts.dsrSupported ?? true);
  const out: Diagnostic[] = [];
  const windowsNodes = new Set(cluster.nodes.filter((n) => n.windows).map((n) => n.name));

  for (const n of cluster.nodes) {
    if (n.windows && !n.macSpoofing && cluster.network.mode === 'l2bridge') {
      out.push({
        code: 'mac-spoofing-disabled',
        severity: 'error',
        message: `node ${n.name} has MAC spoofing off on its VM network adapter: on l2bridge the vSwitch drops frames carrying the pods' MACs, so its pods have no network connectivity (the page: "ensure that MAC spoofing is enabled on all the VM network adapter(s)")`,
        source: `node ${n.name}`,
      });
    }
  }

  for (const p of cluster.pods) {
    if (p.hostNetwork && windowsNodes.has(p.node)) {
      out.push({
        code: 'host-network-unsupported',
        severity: 'warning',
        message: `pod ${p.namespace}/${p.name} uses hostNetwork on Windows node ${p.node}: "Host networking mode" is not supported on Windows nodes; its traffic is emulated as the node's own (host)`,
        source: `pod ${p.namespace}/${p.name}`,
      });
    }
  }

  for (const s of cluster.services) {
    const ref = `${s.namespace}/${s.name}`;
    const source = `service ${ref}`;
    const external = s.type === 'NodePort' || s.type === 'LoadBalancer' || s.externalIPs.length > 0;
    if (s.externalTrafficPolicy === 'Local' && external && !dsrOn) {
      const why = !cluster.proxy.enableDSR ? 'kube-proxy runs without --enable-dsr' : !cluster.proxy.featureGates.WinDSR ? 'the WinDSR feature gate is off' : 'this Windows build has no DSR';
      out.push({
        code: 'local-policy-requires-dsr',
        severity: 'warning',
        message: `service ${ref} has externalTrafficPolicy: Local but ${why}: "Local Traffic Policy in non-DSR mode" is not supported on Windows, so it is treated as Cluster; the client IP is not kept and traffic may go to endpoints on other nodes`,
        source,
      });
    }
    if (s.affinityTimeoutSeconds !== null) {
      out.push({
        code: 'affinity-timeout-ignored',
        severity: 'warning',
        message: `service ${ref} sets sessionAffinityConfig.clientIP.timeoutSeconds: ${s.affinityTimeoutSeconds}: Windows does not support it (HNS load balancers have no affinity timeout), so it is ignored`,
        source,
      });
    }
    if (s.type === 'ExternalName' || s.clusterIP === null || s.ports.length === 0) continue;
    const ready = new Set(s.endpoints.filter((e) => e.ready).map((e) => e.ip));
    if (ready.size === 0) {
      out.push({
        code: 'no-endpoints',
        severity: 'warning',
        message: `service ${ref} has no ready endpoints: kube-proxy programs no load balancer for it ("Endpoint information not available for service, not applying any policy"), so connections to ${s.clusterIP} fail`,
        source,
      });
    } else if (ready.size > max) {
      out.push({
        code: 'lb-too-many-destinations',
        severity: 'error',
        message: `service ${ref} has ${ready.size} ready endpoints, more than the ${max} destinations one VFP load balancer rule takes: HNS refuses it ("Policy creation failed: hcnCreateLoadBalancer failed in Win32: The parameter is incorrect. (0x57)", "Unable to initialize VFP LB rule: invalid number of destinations."), so Windows nodes have no load balancer for ${s.clusterIP}`,
        source,
      });
    }
  }
  return out;
}

/**
 * Every config diagnostic of a run, as the summary's `diagnostics`, `vfp-emu rules` and the teaching page
 * list them: the merge's own first (config-override when two files disagree, config-mismatch, inputs
 * ignored, ...; in file order), then what the cluster implies on this Windows profile (clusterDiagnostics),
 * then what the VFP compiler found (`compiled`: Dataplane.diagnostics), and last the facts no input gave
 * (`config-assumed`, assumed.ts), so the problems come first.
 */
export function runDiagnostics(cluster: Cluster, opts: DiagnosticOptions = {}, compiled: readonly Diagnostic[] = []): Diagnostic[] {
  const own = cluster.diagnostics.filter((d) => !IMPLIED_CODES.has(d.code));
  return [...own.filter((d) => d.code !== ASSUMED_CODE), ...clusterDiagnostics(cluster, opts), ...compiled, ...own.filter((d) => d.code === ASSUMED_CODE)];
}

/** Replaces the implied diagnostics of `cluster` (after a Windows profile is chosen), keeping the merge's own (the assumed facts last). */
export function refreshDiagnostics(cluster: Cluster, opts: DiagnosticOptions = {}): void {
  cluster.diagnostics = runDiagnostics(cluster, opts);
}
