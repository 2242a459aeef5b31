/**
 * Command-line parsing for `vfp-emu` (DESIGN.md, CONTRACT: command line). No dependency: the grammar is
 * small, and every error must be a UsageError naming the flag (exit status 2).
 *
 * Flags take their value as the next word or after `=` (`--workers 2`, `--workers=2`). Flags that may
 * repeat collect into arrays. Unknown flags are errors, never silently ignored.
 */
import { UsageError } from './core/errors';

type Command = 'replay' | 'decode' | 'explain' | 'rules' | 'merge' | 'help' | 'version';

interface FlagSpec {
  /** Takes a value (else a boolean switch). */
  value: boolean;
  repeat?: boolean;
  /** Allowed values, when closed. */
  oneOf?: readonly string[];
  /** Value must be an integer in [min, max]. */
  int?: [number, number];
}

const VXLAN_PORT: FlagSpec = { value: true, repeat: true, int: [1, 65535] };
/** Most bytes one --cluster file may hold (src/cluster/limits.ts; default 64 MiB). */
const MAX_CONFIG_BYTES: FlagSpec = { value: true, int: [1, 2 ** 53 - 1] };

/** The flags each command accepts (HELP shows each of them in that command's usage). */
export const SPECS: Readonly<Record<Exclude<Command, 'help' | 'version'>, Readonly<Record<string, FlagSpec>>>> = {
  replay: {
    '--vxlan-port': VXLAN_PORT,
    '--cluster': { value: true, repeat: true },
    '--verdicts': { value: true },
    '--out': { value: true },
    '--report': { value: true },
    '--summary': { value: true, oneOf: ['text', 'json'] },
    '--workers': { value: true, int: [1, 256] },
    '--windows': { value: true },
    '--seed': { value: true, int: [0, 2 ** 32 - 1] },
    '--view': { value: true, oneOf: ['pod', 'wire'] },
    '--fail-on': { value: true, repeat: true },
    '--max-config-bytes': MAX_CONFIG_BYTES,
    '--progress': { value: false },
    '--no-progress': { value: false },
    '--lenient-snaplen': { value: false },
    '--all-nodes': { value: false },
  },
  decode: {
    '--vxlan-port': VXLAN_PORT,
    '--lenient-snaplen': { value: false },
    '--format': { value: true, oneOf: ['tsv', 'jsonl'] },
  },
  explain: {
    '--vxlan-port': VXLAN_PORT,
    '--cluster': { value: true, repeat: true },
    '--packet': { value: true, int: [1, 2 ** 53 - 1] },
    '--max-config-bytes': MAX_CONFIG_BYTES,
    '--windows': { value: true },
    '--seed': { value: true, int: [0, 2 ** 32 - 1] },
    '--view': { value: true, oneOf: ['pod', 'wire'] },
    '--lenient-snaplen': { value: false },
    '--all-nodes': { value: false },
  },
  rules: {
    '--cluster': { value: true, repeat: true },
    '--node': { value: true },
    '--max-config-bytes': MAX_CONFIG_BYTES,
    '--windows': { value: true },
  },
  merge: {
    '--summary': { value: true, oneOf: ['text', 'json'] },
    '--out': { value: true },
  },
};

export interface ParsedArgs {
  command: Command;
  positional: string[];
  /** Single-valued flags by name without the dashes (`workers`), repeated ones as arrays. */
  flags: Map<string, string | string[] | true>;
}

export function parseArgs(argv: string[]): ParsedArgs {
  const [first, ...rest] = argv;
  if (first === undefined || first === 'help' || first === '--help' || first === '-h') {
    return { command: 'help', positional: [], flags: new Map() };
  }
  if (first === '--version' || first === 'version') return { command: 'version', positional: [], flags: new Map() };
  if (!(first in SPECS)) throw new UsageError(`unknown command '${first}' (expected replay, decode, explain, rules or merge; see vfp-emu help)`);
  const command = first as keyof typeof SPECS;
  const specs = SPECS[command];
  const flags = new Map<string, string | string[] | true>();
  const positional: string[] = [];
  for (let k = 0; k < rest.length; k++) {
    const word = rest[k];
    if (word === '--help' || word === '-h') return { command: 'help', positional: [command], flags: new Map() };
    if (/^-[A-Za-z]/.test(word)) throw new UsageError(`${command}: unknown flag ${word}: flags have two dashes${hintFor(`-${word.slice(1)}`, command)} (a file whose name starts with - is given as ./${word})`);
    if (word === '-' || !word.startsWith('--')) {
      positional.push(word);
      continue;
    }
    const eq = word.indexOf('=');
    const name = eq < 0 ? word : word.slice(0, eq);
    const spec = specs[name];
    if (spec === undefined) throw new UsageError(`${command}: unknown flag ${name}${hintFor(name, command)} (see vfp-emu help)`);
    const key = name.slice(2);
    if (!spec.value) {
      if (eq >= 0) throw new UsageError(`${command}: ${name} takes no value`);
      flags.set(key, true);
      continue;
    }
    let value: string | undefined;
    if (eq >= 0) value = word.slice(eq + 1);
    else value = rest[++k];
    if (value === undefined) throw new UsageError(`${command}: ${name} needs a value`);
    if (spec.oneOf && !spec.oneOf.includes(value)) {
      throw new UsageError(`${command}: ${name} must be one of ${spec.oneOf.join(', ')} (got '${value}')`);
    }
    if (spec.int) {
      const n = Number(value);
      if (!/^\d+$/.test(value) || !Number.isSafeInteger(n) || n < spec.int[0] || n > spec.int[1]) {
        throw new UsageError(`${command}: ${name} must be an integer from ${spec.int[0]} to ${spec.int[1]} (got '${value}')`);
      }
    }
    if (spec.repeat) {
      const prev = flags.get(key);
      if (Array.isArray(prev)) prev.push(value);
      else flags.set(key, [value]);
    } else {
      if (flags.has(key)) throw new UsageError(`${command}: ${name} given twice`);
      flags.set(key, value);
    }
  }
  return { command, positional, flags };
}

/** Edit distance (insert, delete, substitute, swap two neighbours), for the hint of a misspelt flag. */
function distance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i, ...new Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0][j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[a.length][b.length];
}

/**
 * The hint after an unknown flag: the command's flag it is a misspelling of (`--clutser`, `--Cluster`, `-cluster`:
 * at most 2 edits, or 1 for short names), else the commands that take it as spelt (`replay --node`), else ''.
 */
function hintFor(name: string, command: keyof typeof SPECS): string {
  const lower = name.toLowerCase();
  let best: string | undefined;
  let bestD = Infinity;
  for (const flag of Object.keys(SPECS[command])) {
    const dist = distance(lower, flag);
    if (dist < bestD && dist <= (flag.length > 6 ? 2 : 1)) [best, bestD] = [flag, dist];
  }
  if (best !== undefined) return `; did you mean ${best}?`;
  const others = (Object.keys(SPECS) as (keyof typeof SPECS)[]).filter((c) => c !== command && name in SPECS[c]);
  return others.length > 0 ? `; ${name} is a flag of ${others.join(', ')}, not ${command}` : '';
}

/** Value of a single-valued flag, or undefined. */
export function flagString(a: ParsedArgs, key: string): string | undefined {
  const v = a.flags.get(key);
  return typeof v === 'string' ? v : undefined;
}

export function flagList(a: ParsedArgs, key: string): string[] {
  const v = a.flags.get(key);
  return Array.isArray(v) ? v : [];
}

export function flagInt(a: ParsedArgs, key: string, dflt: number): number {
  const v = flagString(a, key);
  return v === undefined ? dflt : Number(v);
}

export const HELP = `vfp-emu: replay packet traces through an emulation of the Windows VFP data plane

Usage:
  vfp-emu replay [TRACE...] [--cluster FILE]... [--verdicts FILE] [--out FILE] [--report FILE]
                 [--summary text|json] [--workers N] [--windows PROFILE] [--seed N]
                 [--view pod|wire] [--fail-on REASON|dropped]... [--vxlan-port P]...
                 [--progress | --no-progress] [--lenient-snaplen] [--max-config-bytes N] [--all-nodes]
  vfp-emu decode TRACE [--format tsv|jsonl] [--vxlan-port P]... [--lenient-snaplen]
  vfp-emu explain TRACE --cluster FILE... --packet N [--windows PROFILE] [--seed N] [--view pod|wire]
                 [--vxlan-port P]... [--lenient-snaplen] [--max-config-bytes N] [--all-nodes]
  vfp-emu rules --cluster FILE... [--node NAME] [--windows PROFILE] [--max-config-bytes N]
  vfp-emu merge SUMMARY.json... [--summary json|text] [--out FILE]

replay with no TRACE runs the embedded default scenario (a pod pinging and curling the same
external host) and writes its outputs under ./vfp-out/. TRACE '-' reads pcap or pcapng from stdin.
--cluster may repeat; each file's kind (kubectl List or objects, CNI config, flannel net-conf.json or
subnet.env, KubeProxyConfiguration, KubeletConfiguration, HNS JSON, scenario YAML) is detected from
its content.
--max-config-bytes N: the most bytes one --cluster file may hold (default 67108864, 64 MiB); a
larger file is bad input (exit 2), but a kubectl List in JSON in a regular file is streamed and only
each of its objects is held to this (stdin and FIFOs are read whole). Configs may nest 256 levels and hold strings of up to 1 MiB.
--windows PROFILE: ws2019, ws2022 (the default), ws2025 or future, optionally with overrides
(ws2022:icmpSnat=true,maxLbDestinations=128); --windows help lists what each one changes.
--workers N: threads (default: 1 for the embedded lesson and a trace file under 4 MiB, and for a
decide-only run (no --verdicts, no --out) on 2 cores or fewer; else the cores available); 2: the
main thread decides every packet and a worker writes them; 3 or more: the flow table in shards.
Outputs are the same for every N.
--progress shows packets, rate and ETA on stderr (default: when stderr is a terminal).
--report FILE.html (a name ending in .html or .htm) writes an HTML report: counts, failing flows,
backend spread per Service, per-node counts, the first failing packets' paths; any other name: text.
On a big cluster (10k load balancers or more) replay and explain compile only the Windows nodes the
trace's addresses lead to (a nodes-compiled diagnostic names the others); --all-nodes compiles every one.

Several traces: replay A.pcap B.pcapng, a folder (its *.pcap, *.pcapng and *.cap files), or a
quoted glob ('caps/*.pcapng', '**' for sub-folders); folders and globs sorted by name. Each trace
is replayed alone (its own flow table), one worker thread per trace up to --workers (default: the
cores available). One summary over all (totals, then per trace; --summary json adds "traces"), one
--report; --out DIR and --verdicts DIR name folders that get NAME.pcapng and NAME.jsonl per trace
(NAME: the trace's file name without .pcap/.pcapng/.cap; two traces of one NAME are refused).
--fail-on applies to the totals. No --progress line for several traces.
merge adds up the --summary json outputs of replays run elsewhere (one per machine or Kubernetes
Job pod) into the summary one replay over all their traces prints (elapsed_s and pps aside); it
refuses summaries of another cluster, --windows, --seed, --view, --vxlan-port or version, naming
the file and the fingerprint field. It prints JSON unless --summary text; --out FILE writes it.

A record whose caplen exceeds its interface's snaplen is bad input (exit 2); --lenient-snaplen
accepts it as tshark and tcpdump do.

/dev/stdout may be an output (replay's summary then goes to stderr); an output naming an input or
another output is refused.

Exit status: 0 done; 1 the run completed but --fail-on matched; 2 bad usage or bad input, or an output
that cannot be written; 130 / 143 replay stopped by SIGINT / SIGTERM (its outputs end whole after the
packets judged); 70 an internal error (a bug: please report it). A closed stdout (| head) ends the run
quietly.
`;
