/**
 * PowerShell output that is not JSON, recognised so that it is refused by name (exit 2) instead of being read
 * as YAML or reported as "cannot tell what kind":
 *
 * - the default table and list views (`Get-HnsPolicyList` with no `| ConvertTo-Json`): lines such as
 *   `Policies : {@{ExternalPort=55680; ... Type=ELB; VIPs=System.Object[]}}` (projectcalico/calico#8465),
 *   `ID : 5E28...` list lines with the names padded to one column (microsoft/SDN#582 `Get-HNSNetwork`), or a
 *   column header over a `----` rule. Such text has lost data (`System.Object[]` stands for a whole list), so
 *   nothing can be read from it;
 * - `hnsdiag list all` / `list endpoints` text (names and IDs under `Networks:` / `Endpoints:` titles);
 * - JSON written by `ConvertTo-Json` at its default depth 2: deeper objects become the strings
 *   `"System.Collections.Hashtable"` or `"@{Type=ELB; ...}"` and lists `"System.Object[]"` (the same data loss).
 *
 * The answer names the command to run, chosen from the words the text holds (an ELB / References text is a
 * policy list, IsRemoteEndpoint / IPAddress an endpoint, ManagementIP / Subnets / Ipams a network,
 * FrontendVIPs / PortMappings a v2 load balancer).
 */

import { InputError } from '../core/errors';
import type { Field } from './source';

/** UTF-8 byte length (no Buffer: this module also runs in the browser page). */
function utf8Length(s: string): number {
  return new TextEncoder().encode(s).length;
}

/** The command whose output `text` looks like. */
export function psCommandFor(text: string): string {
  if (/FrontendVIPs|PortMappings|HostComputeEndpoints/i.test(text)) return 'the same command | ConvertTo-Json -Depth 10';
  if (/Type=ELB|References|VIPs|ELB/i.test(text)) return 'Get-HnsPolicyList | ConvertTo-Json -Depth 10';
  if (/IsRemoteEndpoint|IPAddress|IpConfigurations|VirtualNetwork/i.test(text)) return 'Get-HnsEndpoint | ConvertTo-Json -Depth 10';
  if (/ManagementIP|Subnets|Ipams|DrMacAddress|MacPools|AddressPrefix|\b(L2Bridge|Overlay|NAT)\b/i.test(text)) return 'Get-HnsNetwork | ConvertTo-Json -Depth 10';
  return 'Get-HnsNetwork / Get-HnsEndpoint / Get-HnsPolicyList | ConvertTo-Json -Depth 10';
}

/** How many lines are looked at. */
const SCAN_LINES = 40;
/** A PowerShell list line: `Name<spaces> : value` (the name padded so the colons line up). */
const LIST_LINE = /^[A-Za-z][A-Za-z0-9]*\s+: /;
/** A table's rule under its header: runs of `-` separated by spaces. */
const TABLE_RULE = /^-{2,}(\s+-{2,})*\s*$/;
/** What only PowerShell's formatter writes: hashtables and lists rendered as `@{...}` / `System.Object[]`. */
const PS_VALUE = /@\{[A-Za-z]+=|System\.Object\[\]|System\.Collections\./;

/** A section title of `hnsdiag list ...` output (`Networks:`, `Endpoints:`, `Namespaces:`, `LoadBalancers:`). */
const HNSDIAG_SECTION = /^(Networks|Endpoints|Namespaces|LoadBalancers|Load Balancers|Policies|Routes):\s*$/;
/** The column header under it: `Name  ID  Virtual Network Name`, `ID | Endpoint IDs`. */
const HNSDIAG_HEADER = /^(Name|ID)(\s{2,}|\s*\|\s*)\S/;

/**
 * The character offset of the first section of `hnsdiag list ...` output (hnsdiag.exe, on every Windows node;
 * sig-windows-tools#84 shows `hnsdiag.exe list all`), or -1: a section title over its column header. That
 * text holds only names and IDs, no address, MAC or policy, so nothing can be read from it.
 */
function hnsdiagAt(lines: readonly string[]): number {
  let at = 0;
  for (let k = 0; k + 1 < lines.length; k++) {
    if (HNSDIAG_SECTION.test(lines[k].replace(/\r$/, '').trim()) && HNSDIAG_HEADER.test(lines[k + 1].trim())) return at;
    at += lines[k].length + 1;
  }
  return -1;
}

/**
 * Throws (exit 2, naming the file and the byte offset of the first telling line) when `text` is PowerShell's
 * table or list view, or hnsdiag's list output. JSON texts (`{` / `[` first) are left to the JSON reader and
 * `checkPsDepth`.
 */
export function refusePowerShellText(file: string, text: string): void {
  const body = text.replace(/^\uFEFF/, '');
  const first = body.trimStart()[0];
  if (first === '{' || first === '[') return;
  // PowerShell's formatter shows itself in the first lines; a big YAML file is not scanned further
  const lines = body.slice(0, 64 * 1024).split('\n').slice(0, SCAN_LINES);
  const hit = powerShellHit(lines);
  if (hit === null) return;
  throw new InputError(file, { offset: utf8Length(body.slice(0, Math.max(0, hit.at))) }, hit.message(body));
}

/**
 * microsoft/SDN's Kubernetes/windows/debug/collectlogs.ps1 (@ 242fb0c3) writes network.txt and endpoint.txt as a
 * `Select ...` table (`> network.txt`) followed by the whole dump (`Get-hnsnetwork | Convertto-json -Depth 20
 * >> network.txt`). When `text` is PowerShell's table or list output followed, from the start of a line, by a JSON
 * document that runs to the end, returns the text with the part before it blanked (every character but line
 * ends made a space, so offsets, lines and columns of the JSON stay those of the file) and the JSON's first
 * line; else null.
 */
export function jsonAfterPowerShellText(text: string): { text: string; line: number } | null {
  const body = text.replace(/^\uFEFF/, '');
  const first = body.trimStart()[0];
  if (first === '{' || first === '[') return null;
  const start = body.search(/^[[{]/m);
  if (start <= 0) return null;
  const head = body.slice(0, start);
  if (powerShellHit(head.split('\n').slice(0, SCAN_LINES)) === null) return null;
  try {
    JSON.parse(body.slice(start));
  } catch {
    return null;
  }
  const bom = text.length - body.length;
  return { text: text.slice(0, bom) + head.replace(/[^\n]/g, ' ') + body.slice(start), line: head.split('\n').length };
}

/** Where PowerShell's formatter (or hnsdiag) shows itself in the first lines, and what to say; or null. */
function powerShellHit(lines: readonly string[]): { at: number; message: (body: string) => string } | null {
  const diag = hnsdiagAt(lines);
  if (diag >= 0) {
    return {
      at: diag,
      message: () =>
        "this is hnsdiag's list output: it holds names and IDs only (no address, MAC or policy), so nothing can be read from it; run `Get-HnsNetwork | ConvertTo-Json -Depth 10 > network.json` on the node, and the same for Get-HnsEndpoint (endpoints) and Get-HnsPolicyList (load balancers), and give those files",
    };
  }
  let at = 0;
  let listLines = 0;
  let firstList = -1;
  let hit: { at: number; what: string } | null = null;
  for (let k = 0; k < lines.length && hit === null; k++) {
    const line = lines[k].replace(/\r$/, '');
    const rule = line.trim();
    if (TABLE_RULE.test(rule) && rule !== '---' && k > 0 && lines[k - 1].trim() !== '') {
      hit = { at: at - lines[k - 1].length - 1, what: 'table' };
    } else if (LIST_LINE.test(line)) {
      if (firstList < 0) firstList = at;
      if (++listLines >= 2 || PS_VALUE.test(line)) hit = { at: firstList, what: 'list' };
    } else if (PS_VALUE.test(line) && !line.trimStart().startsWith('#')) {
      hit = { at, what: 'list' };
    }
    at += lines[k].length + 1;
  }
  if (hit === null) return null;
  const what = hit.what;
  return {
    at: hit.at,
    message: (body) => `this is PowerShell's ${what} output, not JSON: it shows lists as System.Object[] and loses the data; run \`${psCommandFor(body)} > file.json\` and give that file`,
  };
}

const TRUNCATED = /^(System\.Collections\.\S+|System\.Object\[\]|@\{.*\})$/s;

/** The first string value that ConvertTo-Json wrote for an object it did not descend into, or null. */
function truncatedValue(f: Field, budget: { n: number }): Field | null {
  if (--budget.n < 0) return null;
  const v = f.value;
  if (typeof v === 'string') return TRUNCATED.test(v.trim()) ? f : null;
  if (Array.isArray(v)) {
    for (const item of f.items()) {
      const hit = truncatedValue(item, budget);
      if (hit) return hit;
    }
  } else if (f.isObject()) {
    for (const k of f.keys()) {
      const hit = truncatedValue(f.get(k), budget);
      if (hit) return hit;
    }
  }
  return null;
}

/**
 * Fails (exit 2, naming the field) when an HNS JSON document was cut at ConvertTo-Json's default depth 2:
 * a value such as `"System.Collections.Hashtable"` or `"@{Type=ELB; ...}"` stands where an object was.
 * Looks at no more than 200000 values (an HNS dump of a busy node holds a few thousand).
 */
export function checkPsDepth(root: Field): void {
  const hit = truncatedValue(root, { n: 200000 });
  if (hit === null) return;
  const text = JSON.stringify(root.value).slice(0, 20000);
  hit.fail(
    `ConvertTo-Json stopped at its default depth (2) here and wrote ${JSON.stringify(String(hit.value).slice(0, 60))} for an object or list; run \`${psCommandFor(text)} > file.json\` (-Depth 10) and give that file`,
  );
}
