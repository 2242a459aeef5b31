/**
 * What a finished Cluster implies on Windows, as the summary's `diagnostics` ({code, message, source,
 * severity}). Codes are the CONTRACT reason codes; messages quote the Kubernetes page and the HNS /
 * kube-proxy errors (domain.md 1.3, 1.7, 1.9, 5). Pure: same cluster and options, same list, same order.
 *
 * - host-network-unsupported (warning): a hostNetwork pod on a Windows node that is not a HostProcess pod.
 *   Only HostProcess containers (kubernetes.io "Create a Windows HostProcess Pod", stable in 1.26;
 *   `WindowsSecurityContextOptions.hostProcess`: "if HostProcess is true then HostNetwork must also be set to
 *   true") run in the host's network on Windows; KEP-3503 (kubernetes/enhancements#3507: "Today it is possible
 *   to set hostNetwork=true for Windows pods but it doesn't change anything (unless the pod contains
 *   hostProcess containers)") added the WindowsHostNetwork gate for the others, alpha in 1.26 and deprecated in
 *   1.33 (pkg/features/kube_features.go). Both kinds are emulated as the node's own traffic (the pod has the
 *   node's IP and MAC, no pod port): the warning tells a classic hostNetwork pod's user that Windows does not
 *   do what Linux does for it.
 * - local-policy-requires-dsr (warning): externalTrafficPolicy Local on an externally reachable Service on a
 *   Windows build without DSR (the profile's `dsr`). kube-proxy's winkernel `newServiceInfo` sets
 *   `localTrafficDSR := spec.externalTrafficPolicy == Local` and forces it (and preserve-destination) off only
 *   when `hcn.DsrSupported()` fails: NOT when kube-proxy runs without `--enable-dsr` / WinDSR, which only make
 *   the ClusterIP load balancer DSR (kubernetes/kubernetes pkg/proxy/winkernel/proxier.go `newServiceInfo`, the
 *   version with `hcnImpl.DsrSupported()` and `isAllEndpointsTerminating`; loadbalancer.go @ 26d2859e:
 *   NodePort/ExternalIP `isDSR: svcInfo.localTrafficDSR`, ClusterIP `isDSR: proxier.isDSR`; domain.md 1.7).
 *   The page's "Local Traffic Policy in non-DSR mode" is read as that: a Windows build whose HNS has no DSR.
 *   Then it is treated as Cluster (all endpoints, no DSR, client IP not kept) and every flow through those
 *   load balancers carries the same warning (compile.ts reads `localTrafficDsr` below).
 * - affinity-timeout-ignored (warning): sessionAffinityConfig.clientIP.timeoutSeconds is set.
 * - lb-too-many-destinations (error): not here: the destination limit is per HNS load balancer (a NodePort
 *   LB of an ETP Local Service holds only its node's endpoints), so the VFP compiler, which builds them,
 *   reports it (src/vfp/compile.ts buildLb / noteTooMany) from the same refusals the verdicts show.
 * - no-endpoints (warning): not here either: which endpoints kube-proxy takes depends on the load balancer
 *   and the node (a Service with ingress IPs whose endpoints all terminate keeps its ClusterIP LB with the
 *   serving terminating ones and loses the others), so the compiler reports it from its refusals
 *   (src/vfp/compile.ts selectEndpoints / buildLb / noteNoEndpoints).
 * - mac-spoofing-disabled (error): an l2bridge Windows node with MAC spoofing off.
 */

import { ASSUMED_CODE } from './assumed';
import type { Cluster, Diagnostic, ServiceModel } from './model';

export interface DiagnosticOptions {
  /**
   * Most destinations in one load balancer rule (the Windows profile's). Unused here since the limit is
   * checked per built load balancer by the compiler (lb-too-many-destinations); kept for callers.
   */
  maxLbDestinations?: number;
  /** Whether the Windows build supports DSR at all (the profile's); default true. */
  dsrSupported?: boolean;
}

/**
 * The codes clusterDiagnostics produces (refreshDiagnostics replaces exactly these), and the load-balancer
 * codes the compiler produces (a cluster's own list never holds them).
 */
export const IMPLIED_CODES = new Set([
  'host-network-unsupported',
  'local-policy-requires-dsr',
  'affinity-timeout-ignored',
  'lb-too-many-destinations',
  'no-endpoints',
  'mac-spoofing-disabled',
]);

/**
 * kube-proxy's `localTrafficDSR` for `svc` on a Windows build with (`dsrSupported`) or without DSR: the one
 * rule the compiler (which load balancers are DSR with local endpoints) and the summary's warning share.
 */
export function localTrafficDsr(svc: ServiceModel, dsrSupported: boolean): boolean {
  return svc.externalTrafficPolicy === 'Local' && dsrSupported;
}

export function clusterDiagnostics(cluster: Cluster, opts: DiagnosticOptions = {}): Diagnostic[] {
  const dsrSupported = opts.dsrSupported ?? true;
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
    if (p.hostNetwork && !p.hostProcess && windowsNodes.has(p.node)) {
      out.push({
        code: 'host-network-unsupported',
        severity: 'warning',
        message: `pod ${p.namespace}/${p.name} uses hostNetwork on Windows node ${p.node}: "Host networking mode" is not supported on Windows nodes; only HostProcess containers (securityContext.windowsOptions.hostProcess: true) get the host's network (for other pods the WindowsHostNetwork feature gate, KEP-3503, was alpha in 1.26 and is deprecated since 1.33); its traffic is emulated as the node's own (host)`,
        source: `pod ${p.namespace}/${p.name}`,
      });
    }
  }

  for (const s of cluster.services) {
    const ref = `${s.namespace}/${s.name}`;
    const source = `service ${ref}`;
    const external = s.type === 'NodePort' || s.type === 'LoadBalancer' || s.externalIPs.length > 0;
    if (s.externalTrafficPolicy === 'Local' && external && !localTrafficDsr(s, dsrSupported)) {
      out.push({
        code: 'local-policy-requires-dsr',
        severity: 'warning',
        message: `service ${ref} has externalTrafficPolicy: Local but this Windows build has no DSR (kube-proxy's hcn.DsrSupported() fails): "Local Traffic Policy in non-DSR mode" is not supported on Windows, so it is treated as Cluster; the client IP is not kept and traffic may go to endpoints on other nodes`,
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
