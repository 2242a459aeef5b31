/**
 * kube-proxy's command-line flags, read as kube-proxy reads them (kubernetes/kubernetes
 * cmd/kube-proxy/app/options.go @ 008b3652 `AddFlags` / `Complete`, init_windows.go @ 78fc8e44 `addOSFlags`;
 * pflag parsing): `--name=value` or `--name value`; a bool flag takes its value only with `=` (`--enable-dsr`
 * alone is true; `--enable-dsr false` leaves `false` as a positional argument, which kube-proxy refuses);
 * `_` in a name is `-` (WordSepNormalizeFunc); `-v` is the one single-dash flag.
 *
 * Read: --enable-dsr, --feature-gates (WinDSR, WinOverlay; other gates listed in an info diagnostic),
 * --source-vip, --network-name, --root-hnsendpoint-name, --forward-healthcheck-vip, --cluster-cidr (a weak
 * hint for the cluster CIDR), --proxy-mode (only kernelspace exists on Windows: a warning otherwise),
 * --hostname-override (trimmed and lower-cased, as processHostnameOverrideFlag does), --healthz-bind-address
 * and the deprecated --healthz-port, --config (a KubeProxyConfiguration file: a note to pass it too).
 * Every other kube-proxy flag is listed in one info diagnostic (no effect on the data plane); a flag
 * kube-proxy does not have is listed in a warning (kube-proxy would stop with "unknown flag").
 *
 * **Flags vs the config file** (options.go `Complete`): with `--config`, kube-proxy replaces the whole
 * flag-built configuration with the file's; only the logging flags (`--v`, ...) and `--hostname-override`
 * still apply (the flag help says "This parameter is ignored if a config file is specified by --config").
 * So with --config the other flags are not applied, and a warning names them. This follows the source read
 * (options.go @ 008b3652); that older versions behave the same is UNCONFIRMED (not read).
 * The flag list is that version's: a flag an older kube-proxy had and this one lacks is warned as unknown
 * (UNCONFIRMED per version; pflag stops on an unknown flag).
 *
 * A value the shell fills in when the script runs (`$vip`, `$env:NODE_NAME`, `$(...)`, an unresolved
 * `$(VAR)` of a Pod manifest) is a placeholder: a `config-placeholder` warning naming the flag; not applied.
 * A value that is wrong (`--enable-dsr=yes`, `--source-vip=10.0.0`) is bad input: exit 2 naming the file,
 * the flag and where it is.
 * Sets: proxy.{enableDSR, WinDSR, WinOverlay, sourceVip, networkName, rootHnsEndpointName,
 * forwardHealthCheckVip, healthzPort, hostname}, network.clusterCidrs (weak).
 */

import { normalizeIp, tryParseCidr, formatCidr } from '../../core/ip';
import type { Draft } from '../draft';
import type { Where } from '../source';
import { healthzPortOf, noteProxyMode } from './kubeproxy';

/** One argv entry of a kube-proxy command, with where it is and how to fail on it. */
export interface Arg {
  text: string;
  /** A shell or Kubernetes substitution the emulator cannot resolve. */
  dynamic: boolean;
  where: Where;
  /** Throws the InputError naming the file and this argument. */
  fail(detail: string): never;
}

/** Flags kube-proxy has that take no value (pflag NoOptDefVal "true"). */
const BOOL_FLAGS = new Set([
  'cleanup', 'bind-address-hard-fail', 'profiling', 'init-only', 'masquerade-all', 'iptables-localhost-nodeports', 'ipvs-strict-arp',
  'conntrack-tcp-be-liberal', 'windows-service', 'enable-dsr', 'forward-healthcheck-vip', 'logtostderr', 'alsologtostderr',
  'skip-headers', 'skip-log-headers', 'one-output', 'add-dir-header', 'help', 'h', 'version', 'log-text-split-stream', 'log-json-split-stream',
]);

/** Logging flags: the only ones (with --hostname-override) kube-proxy keeps when --config is given (copyLogsFromFlags). */
const LOG_FLAGS = new Set([
  'v', 'vmodule', 'log-flush-frequency', 'logging-format', 'log-text-split-stream', 'log-text-info-buffer-size', 'log-json-split-stream',
  'log-json-info-buffer-size', 'logtostderr', 'alsologtostderr', 'log-dir', 'log-file', 'log-file-max-size', 'skip-headers',
  'skip-log-headers', 'stderrthreshold', 'one-output', 'add-dir-header', 'log-backtrace-at',
]);

/** kube-proxy flags with no effect on what the data plane does (read, listed in one info diagnostic). */
const NO_EFFECT_FLAGS = new Set([
  ...LOG_FLAGS, 'write-config-to', 'cleanup', 'kubeconfig', 'master', 'kube-api-content-type', 'kube-api-burst', 'kube-api-qps',
  'bind-address', 'metrics-bind-address', 'metrics-port', 'bind-address-hard-fail', 'profiling', 'show-hidden-metrics-for-version',
  'init-only', 'iptables-masquerade-bit', 'masquerade-all', 'iptables-localhost-nodeports', 'iptables-sync-period',
  'iptables-min-sync-period', 'ipvs-sync-period', 'ipvs-min-sync-period', 'ipvs-scheduler', 'ipvs-exclude-cidrs', 'ipvs-strict-arp',
  'ipvs-tcp-timeout', 'ipvs-tcpfin-timeout', 'ipvs-udp-timeout', 'detect-local-mode', 'pod-bridge-interface', 'pod-interface-name-prefix',
  'nodeport-addresses', 'oom-score-adj', 'conntrack-max-per-core', 'conntrack-min', 'conntrack-tcp-timeout-established',
  'conntrack-tcp-timeout-close-wait', 'conntrack-tcp-be-liberal', 'conntrack-udp-timeout', 'conntrack-udp-timeout-stream',
  'config-sync-period', 'windows-service', 'help', 'h', 'version',
]);

/** Flags this module applies (APPLY) besides --config. */
type Apply = (a: Arg, value: string, ctx: FlagContext) => void;

interface FlagContext {
  draft: Draft;
  /** Other feature gates seen, for the info diagnostic. */
  otherGates: string[];
}

/** Go strconv.ParseBool, which pflag uses. */
function goBool(a: Arg, flag: string, value: string): boolean {
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(value)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(value)) return false;
  return a.fail(`${flag}=${value}: not a boolean (Go's strconv.ParseBool takes true, false, 1, 0, t, f)`);
}

function ipValue(a: Arg, flag: string, value: string): string {
  const ip = normalizeIp(value.trim());
  if (ip === null) a.fail(`${flag}=${value}: not an IP address`);
  return ip as string;
}

const APPLY: Record<string, Apply> = {
  'enable-dsr': (a, v, { draft }) => draft.settings.put('proxy.enableDSR', goBool(a, '--enable-dsr', v), a.where),
  'forward-healthcheck-vip': (a, v, { draft }) => draft.settings.put('proxy.forwardHealthCheckVip', goBool(a, '--forward-healthcheck-vip', v), a.where),
  'source-vip': (a, v, { draft }) => {
    if (v !== '') draft.settings.put('proxy.sourceVip', ipValue(a, '--source-vip', v), a.where);
  },
  'network-name': (a, v, { draft }) => {
    if (v.trim() !== '') draft.settings.put('proxy.networkName', v, a.where);
  },
  'root-hnsendpoint-name': (a, v, { draft }) => {
    if (v.trim() !== '') draft.settings.put('proxy.rootHnsEndpointName', v, a.where);
  },
  'hostname-override': (a, v, { draft }) => {
    if (v.trim() === '') a.fail('--hostname-override: empty hostname-override is invalid (kube-proxy refuses it)');
    draft.settings.put('proxy.hostname', v.trim().toLowerCase(), a.where);
  },
  'cluster-cidr': (a, v, { draft }) => {
    const list = v.split(',').map((x) => {
      const c = tryParseCidr(x.trim());
      if (c === null) a.fail(`--cluster-cidr=${v}: ${JSON.stringify(x.trim())} is not a CIDR (address/prefix-length)`);
      return formatCidr(c!);
    });
    draft.settings.put('network.clusterCidrs', list.filter((c) => c.includes('.')), a.where, true);
  },
  'proxy-mode': (a, v, { draft }) => noteProxyMode(draft, v, `--proxy-mode=${v}`, a.where),
  'feature-gates': (a, v, ctx) => {
    for (const part of v.split(',')) {
      const kv = part.trim();
      if (kv === '') continue;
      const eq = kv.indexOf('=');
      if (eq < 0) a.fail(`--feature-gates: missing bool value for ${kv} (the form is Gate=true,Other=false)`);
      const gate = kv.slice(0, eq).trim();
      const on = goBool(a, `--feature-gates ${gate}`, kv.slice(eq + 1).trim());
      if (gate === 'WinDSR' || gate === 'WinOverlay') ctx.draft.settings.put(`proxy.${gate}`, on, a.where);
      else ctx.otherGates.push(`${gate}=${on}`);
    }
  },
  'healthz-bind-address': (a, v, { draft }) => {
    if (v === '') return;
    const port = healthzPortOf(v);
    if (port === null) return a.fail(`--healthz-bind-address=${v}: not host:port (like 0.0.0.0:10256)`);
    draft.settings.put('proxy.healthzPort', port, a.where);
  },
  'healthz-port': (a, v, { draft }) => {
    if (!/^\d+$/.test(v) || Number(v) > 65535) a.fail(`--healthz-port=${v}: not a port number`);
    if (Number(v) > 0) draft.settings.put('proxy.healthzPort', Number(v), a.where);
  },
};

/** One flag as written: its normalised name, value and the argument(s) it came from. */
interface Flag {
  name: string;
  value: string;
  dynamic: boolean;
  arg: Arg;
}

/** pflag's split of argv into flags; a positional argument is an error (kube-proxy "does not take any arguments"). */
function splitFlags(args: readonly Arg[]): Flag[] {
  const flags: Flag[] = [];
  for (let i = 0; i < args.length; i++) {
    const a: Arg = args[i];
    const t = a.text;
    const m = /^(--?)([^=]*)(?:=([\s\S]*))?$/.exec(t);
    if (t === '--' || m === null || m[2] === '') {
      a.fail(`kube-proxy takes no positional arguments, found ${JSON.stringify(t)}${i > 0 && BOOL_FLAGS.has(args[i - 1].text.replace(/^--?/, '')) ? ` (a bool flag takes its value only as ${args[i - 1].text}=${t})` : ''}`);
    }
    if (m[1] === '-' && m[2].length > 1) a.fail(`${t}: kube-proxy flags take two dashes (--${m[2]})`);
    const name = m[2].replace(/_/g, '-');
    let value = m[3];
    let dynamic = a.dynamic;
    if (value === undefined) {
      const takesValue = !BOOL_FLAGS.has(name) && (NO_EFFECT_FLAGS.has(name) || name in APPLY || name === 'config' || (i + 1 < args.length && !args[i + 1].text.startsWith('-')));
      if (!takesValue) value = 'true';
      else if (i + 1 < args.length) {
        value = args[++i].text;
        dynamic = args[i].dynamic;
      } else a.fail(`flag needs an argument: --${name}`);
    }
    flags.push({ name, value: value as string, dynamic, arg: a });
  }
  return flags;
}

/**
 * Env KUBE_NETWORK, the network name kube-proxy falls back to when --network-name is empty (domain.md 1.2),
 * as a command line or a manifest sets it (`written`: how, appended to "env KUBE_NETWORK" in the message): applied, or, when its value is
 * known only on the node (`value` null: a shell variable, a `valueFrom`), a `config-placeholder` warning.
 * The one home of the rule for cmdline.ts and kubeproxy-pod.ts.
 */
export function applyKubeNetworkEnv(draft: Draft, value: string | null, written: string, where: Where): void {
  if (value === null) draft.note('config-placeholder', 'warning', `env KUBE_NETWORK${written}: the value is filled in on the node when kube-proxy starts, so it is not known here and not applied`, where);
  else if (value.trim() !== '') draft.settings.put('proxy.kubeNetworkEnv', value, where);
}

/** A list for a message: the first 30, then how many more (a command line may hold thousands). */
function listed(items: string[]): string {
  return items.length > 30 ? `${items.slice(0, 30).join(' ')} and ${items.length - 30} more` : items.join(' ');
}

/**
 * Reads one kube-proxy command's arguments (after the program name) into the draft; `label` says where the
 * command was found (for the diagnostics), `source` is the Where diagnostics name.
 */
export function importKubeProxyArgs(args: readonly Arg[], draft: Draft, label: string, source: Where): void {
  const flags = splitFlags(args);
  const config = [...flags].reverse().find((f) => f.name === 'config' && f.value !== '');
  const ctx: FlagContext = { draft, otherGates: [] };
  const noEffect: string[] = [];
  const unknown: string[] = [];
  const ignored: string[] = [];
  for (const f of flags) {
    const shown = `--${f.name}=${f.value}`;
    if (f.name === 'config') continue;
    if (NO_EFFECT_FLAGS.has(f.name)) noEffect.push(shown);
    else if (!(f.name in APPLY)) unknown.push(shown);
    else if (config !== undefined && f.name !== 'hostname-override') ignored.push(shown);
    else if (f.dynamic) {
      const hint = f.name === 'source-vip' ? 'the node annotation vfp-emu/source-vip, or winkernel.sourceVip of a KubeProxyConfiguration' : 'a KubeProxyConfiguration, or this command line with the value written in';
      draft.note('config-placeholder', 'warning', `kube-proxy ${shown}: the value is filled in by the shell or the kubelet when the node starts kube-proxy, so it is not known here and not applied (give it in ${hint})`, f.arg.where);
    } else APPLY[f.name](f.arg, f.value, ctx);
  }
  if (config !== undefined) {
    draft.note('config-kube-proxy-config', ignored.length === 0 ? 'info' : 'warning', `${label} runs kube-proxy with --config=${config.value}: kube-proxy takes its settings from that KubeProxyConfiguration, so pass that file (or the kube-proxy ConfigMap holding it) with --cluster too${ignored.length > 0 ? `; kube-proxy ignores these flags because --config is given (only logging flags and --hostname-override apply): ${listed(ignored)}` : ''}`, config.arg.where);
  }
  if (ctx.otherGates.length > 0) draft.note('config-ignored', 'info', `kube-proxy feature gates with no Windows data-plane effect emulated: ${listed(ctx.otherGates)}`, source);
  if (noEffect.length > 0) draft.note('config-ignored', 'info', `kube-proxy flags with no effect on the data plane, read and not used: ${listed(noEffect)}`, source);
  if (unknown.length > 0) draft.note('config-kube-proxy-flags', 'warning', `${label}: flags kube-proxy does not have (kube-proxy stops with "unknown flag"; not used): ${listed(unknown)}`, source);
}
