/**
 * The Windows DNS suffix rule (the page, "DNS limitations"; domain.md §5i): a Windows pod has exactly one DNS
 * suffix, its namespace's (`<ns>.svc.<domain>`), and treats every name with a "." as fully qualified. So
 * `kubernetes` and `kubernetes.default.svc.cluster.local` resolve, but the in-betweens `kubernetes.default`
 * and `kubernetes.default.svc` get NXDOMAIN (warning dns-pqdn-unresolvable).
 *
 * A query is flagged when its first question name is either
 *  (a) a dotted partial name as Windows sends it: at least two labels, not ending in the cluster domain, the
 *      second label a namespace the cluster knows and the rest a prefix of `svc.<domain>`
 *      (`web.default`, `kube-dns.kube-system.svc`); or
 *  (b) the first search-list expansion a Linux resolver makes of such a name, as a Linux-side capture shows
 *      it: `<X>.<pod ns>.svc.<domain>` where X itself has a dot (`web.default.default.svc.cluster.local`):
 *      the application asked for the dotted name X, which Windows would not expand.
 * Names outside the cluster domain (`example.com`) are ordinary FQDNs and are not flagged.
 *
 * Reads the name in place (wire format at `dnsOff`); allocates nothing. Label comparison is by FNV-1a of
 * the lower-cased label (namespace names hashed the same way in compile.ts).
 */

const MAX_LABELS = 64;
const labelHash = new Uint32Array(MAX_LABELS);
const SVC = labelText('svc');

function labelText(s: string): number {
  let h = 0x811c9dc5;
  for (let k = 0; k < s.length; k++) h = Math.imul(h ^ (s.charCodeAt(k) & 0xff), 0x01000193);
  return h >>> 0;
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

/**
 * True when the DNS query name at `a[o..end)` is a dotted partial name a Windows pod in namespace
 * `podNs` (FNV-1a hash) cannot resolve (see the module comment). `namespaces` holds the hashes of every
 * namespace the cluster knows, `domain` the cluster domain label hashes.
 */
export function pqdnUnresolvable(a: Uint8Array, o: number, end: number, podNs: number, namespaces: Set<number>, domain: Uint32Array): boolean {
  const n = readLabels(a, o, end);
  if (n < 2) return false;
  const d = domain.length;
  let inDomain = n > d;
  for (let k = 0; inDomain && k < d; k++) if (labelHash[n - d + k] !== domain[k]) inDomain = false;
  if (inDomain) {
    // (b) <X>.<podNs>.svc.<domain> with X dotted
    const svcAt = n - d - 1;
    const nsAt = n - d - 2;
    return nsAt >= 2 && labelHash[svcAt] === SVC && labelHash[nsAt] === podNs;
  }
  // (a) <name>.<ns>[.svc[.<domain prefix>]]
  if (!namespaces.has(labelHash[1])) return false;
  for (let k = 2; k < n; k++) {
    const want = k === 2 ? SVC : domain[k - 3];
    if (want === undefined || labelHash[k] !== want) return false;
  }
  return true;
}
