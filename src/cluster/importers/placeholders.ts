/**
 * Template placeholders in configs that real nodes are set up from, so that a template read before it is
 * filled in is named as such (`config-placeholder`, a warning) instead of being refused or read as a value:
 *   - an empty string where an address or prefix belongs (sig-windows-tools
 *     hostprocess/flannel/flanneld/flannel-overlay.yml @ 03f99247: `"DestinationPrefix": ""`,
 *     `"ProviderAddress": ""`; its flanneld/start.ps1 fills them in on the node);
 *   - an ALLCAPS sed token (`FLANNEL_VERSION`, `KUBERNETES_SERVICE_HOST_VALUE`, `KUBE_PROXY_VERSION`:
 *     sig-windows-tools guides/flannel.md seds them), alone or inside a string;
 *   - a `{{NAME}}` token (microsoft/windows-container-networking example/l2bridge-dualstack-cni-template.conf);
 *   - prose such as `"ip of host"` (same repo, example/flannel_overlay.conf) or `<node-ip>`.
 * An empty list where a template leaves it to a start script (`"Exceptions": []`) is told apart by the
 * caller, which knows the field. Only strings that fail to parse as what the field needs are checked, so a
 * real value is never taken for a placeholder.
 */

import type { Draft } from '../draft';
import type { Field } from '../source';

const MUSTACHE = /\{\{\s*([^{}]*?)\s*\}\}/;
const SED_TOKEN = /(?:^|[^A-Za-z0-9_])([A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+)(?![A-Za-z0-9_])/;
const ANGLE = /<[^<>]+>/;
const PROSE = /^(?:the )?(?:ip|ip address|address|ipv4|ipv6|prefix|subnet|cidr)(?: address)? of (?:the )?[a-z -]+$/i;

/** What the placeholder in this string is (quoted, for messages), or null when the string is not one. */
export function placeholderIn(value: unknown): string | null {
  if (typeof value !== 'string') return null;
  if (value.trim() === '') return 'empty ("")';
  const m = MUSTACHE.exec(value);
  if (m) return `the template token ${JSON.stringify(m[0])}`;
  const sed = SED_TOKEN.exec(value);
  if (sed) return `the sed token ${JSON.stringify(sed[1])}`;
  const a = ANGLE.exec(value);
  if (a) return `the placeholder ${JSON.stringify(a[0])}`;
  if (PROSE.test(value.trim())) return `the placeholder text ${JSON.stringify(value)}`;
  return null;
}

/**
 * When `f` holds a placeholder: a `config-placeholder` warning naming the field and the placeholder, plus
 * (when `assumed` is given) the value the run assumes instead, and true. False when `f` is no placeholder.
 */
export function notePlaceholder(f: Field, draft: Draft, assumed: string): boolean {
  const what = placeholderIn(f.value);
  if (what === null) return false;
  draft.note(
    'config-placeholder',
    'warning',
    `the value is ${what}: a template not yet filled in; the run continues and ${assumed}`,
    f.where,
  );
  return true;
}

/** A template's empty list (`"Exceptions": []`), named as a placeholder with what is assumed. */
export function noteEmptyList(f: Field, draft: Draft, assumed: string): void {
  draft.note('config-placeholder', 'warning', `an empty list in a template (a start script fills it in on the node); the run continues and ${assumed}`, f.where);
}
