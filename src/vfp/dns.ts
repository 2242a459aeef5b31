/**
 * The Windows DNS suffix rule (the page, "DNS limitations"; domain.md §5i): a Windows pod has exactly one DNS
 * suffix, its namespace's (`<ns>.svc.<domain>`), and treats every name with a "." as fully qualified. So
 * `kubernetes` and `kubernetes.default.svc.cluster.local` resolve, but the in-betweens `kubernetes.default`
 * and `kubernetes.default.svc` get NXDOMAIN (warning dns-pqdn-unresolvable), as does a StatefulSet pod's
 * `<hostname>.<subdomain>` (`mysql-0.mysql`).
 *
 * A dotted partial name P (labels p0.p1...) is one a Kubernetes resolver completes with a search suffix
 * and Windows does not: P does not end in the cluster domain, and either
 *   - p1 is a namespace the cluster knows and the rest a prefix of `svc.<domain>` (`web.default`,
 *     `kube-dns.kube-system.svc`), or
 *   - p1 is a Service of namespace p2 (of the pod's own namespace when P has two labels) and the rest a
 *     prefix of `svc.<domain>` (`mysql-0.mysql`, `mysql-0.mysql.default.svc`: a headless Service's pod).
 * A query is flagged when its first question name is either
 *  (a) such a P, as Windows sends it; or
 *  (b) the first search-list expansion a Linux-style resolver makes of such a P, as a capture shows it:
 *      `<P>.<pod ns>.svc.<domain>` (`web.default.default.svc.cluster.local`): the application asked for P.
 * A name that is both (`mysql-0.mysql.default.svc.cluster.local`: the expansion of `mysql-0.mysql` and the
 * FQDN of pod mysql-0 of headless Service mysql) is the FQDN, which resolves, and is not flagged.
 * The resolver's own expansions of names that do resolve are not the user's query and are not flagged:
 * `<X>.<pod ns>.svc.<domain>` where X is itself an FQDN of the cluster domain
 * (`web.default.svc.cluster.local.default.svc.cluster.local`: the user asked for the FQDN, which resolves
 * once the expansions fail) or a name outside it (`example.com.default.svc.cluster.local`), and X plus
 * the other suffixes `svc.<domain>` / `<domain>` (only the first expansion is judged, so one user query
 * gives one warning). How a real resolver's expansions are told from a user's query is UNCONFIRMED (the
 * page says nothing): the rule above judges the name the user must have typed, whatever sent it.
 * Names outside the cluster domain (`example.com`) are ordinary FQDNs and are not flagged.
 *
 * Reads the name in place (wire format at `dnsOff`); allocates nothing. Label comparison is by FNV-1a of
 * the lower-cased label (namespace and Service names hashed the same way in compile.ts).
 */

const MAX_LABELS = 64;
const labelHash = new Uint32Array(MAX_LABELS);
const SVC = labelText('svc');

function labelText(s: string): number {
  let h = 0x811c9dc5;
  for (let k = 0; k < s.length; k++) h = Math.imul(h ^ (s.charCodeAt(k) & 0xff), 0x01000193);
  return h >>> 0;
}

/** The key of Service `svc` of namespace `ns` (both FNV-1a hashes) in the cluster's Service set. */
export function serviceKey(ns: number, svc: number): number {
  return (Math.imul(ns, 0x01000193) ^ svc) >>> 0;
}

/** FNV-1a hashes of the cluster domain labels, for `pqdnUnresolvable`. */
export function domainHashes(labels: readonly string[]): Uint32Array {
  return Uint32Array.from(labels.map((l) => labelText(l.toLowerCase())));
}

/**
 * Number of labels of the name at `a[o..end)` (hashes into the module scratch), or -1 when the name is cut,
 * compressed or too long. The root (empty name) has 0 labels.
 */
function readLabels(a: Uint8Array, o: number, end: number): number {
  let n = 0;
  let p = o;
  while (p < end) {
    const len = a[p];
    if (len === 0) return n;
    if ((len & 0xc0) !== 0 || n === MAX_LABELS || p + 1 + len > end) return -1;
    let h = 0x811c9dc5;
    for (let k = p + 1; k <= p + len; k++) {
      let c = a[k];
      if (c >= 65 && c <= 90) c += 32;
      h = Math.imul(h ^ c, 0x01000193);
    }
    labelHash[n++] = h >>> 0;
    p += 1 + len;
  }
  return -1;
}

/** The cluster names a query is judged against: namespace hashes, Service keys (`serviceKey`), domain label hashes. */
export interface DnsNames {
  namespaces: Set<number>;
  services: Set<number>;
  domain: Uint32Array;
}

/**
 * True when the DNS query name at `a[o..end)` is a dotted partial name a Windows pod in namespace
 * `podNs` (FNV-1a hash) cannot resolve, or the first search-list expansion of one (see the module comment).
 */
export function pqdnUnresolvable(a: Uint8Array, o: number, end: number, podNs: number, names: DnsNames): boolean {
  const n = readLabels(a, o, end);
  if (n < 2) return false;
  const d = names.domain.length;
  if (!endsInDomain(n, names.domain)) return partialName(n, podNs, names);
  // (b) <P>.<podNs>.svc.<domain>, P itself a dotted partial name (not an FQDN, not an outside name)
  const nsAt = n - d - 2;
  if (nsAt < 2 || labelHash[n - d - 1] !== SVC || labelHash[nsAt] !== podNs) return false;
  // <host>.<svc>.<podNs>.svc.<domain> with svc a Service of podNs: a pod's own FQDN, which resolves
  if (names.services.has(serviceKey(podNs, labelHash[nsAt - 1]))) return false;
  return !endsInDomain(nsAt, names.domain) && partialName(nsAt, podNs, names);
}

/** The first `m` labels of the scratch end in the cluster domain (and have a label before it). */
function endsInDomain(m: number, domain: Uint32Array): boolean {
  const d = domain.length;
  if (m <= d) return false;
  for (let k = 0; k < d; k++) if (labelHash[m - d + k] !== domain[k]) return false;
  return true;
}

/** The first `m` (>= 2) labels of the scratch, not ending in the domain, are a dotted partial name. */
function partialName(m: number, podNs: number, names: DnsNames): boolean {
  if (names.namespaces.has(labelHash[1]) && svcTail(2, m, names.domain)) return true;
  const ns = m > 2 ? labelHash[2] : podNs;
  return names.services.has(serviceKey(ns, labelHash[1])) && svcTail(3, m, names.domain);
}

/** Labels `from..m` of the scratch are a prefix of `svc.<domain>` (true when there are none). */
function svcTail(from: number, m: number, domain: Uint32Array): boolean {
  for (let k = from; k < m; k++) {
    const want = k === from ? SVC : domain[k - from - 1];
    if (want === undefined || labelHash[k] !== want) return false;
  }
  return true;
}
