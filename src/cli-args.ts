/**
 * Command-line parsing and help for `vfp-emu` (DESIGN.md, CONTRACT: command line). No dependency: the grammar
 * is small, and every error must be a UsageError naming the flag (exit status 2).
 *
 * One table, COMMANDS, is the source of both the parser and the help (issue 13, "A CLI that fits in pipes and
 * habits"): each command's operands, one line of help per flag, its notes and examples. Adding a command
 * is one entry there (and its case in cli.ts); adding a flag is one line in its command's `flags`, whose
 * `help` the type requires. test/cli-help.test.ts checks that every flag the parser takes is in the printed
 * help and the reverse, and that README's commands section shows the same flags.
 *
 * Grammar:
 * - Flags take their value as the next word or after `=` (`--workers 2`, `--workers=2`); a next word that is
 *   itself a flag (`--out --verdicts x`) is refused, not taken as a file name (`--out=--odd` or `./--odd`
 *   name such a file). Flags that may repeat collect into arrays; any other flag given twice is refused.
 * - Short options: only `-h` (`--help`, every command) and `-q` (`--quiet`, replay) exist, as the table's
 *   `short` says. No `-o`: replay has three outputs, and one letter would hide which. Any other `-x`, and
 *   any unknown `--flag`, is refused as an option (exit 2 naming it), never read as a file name.
 * - `-` alone is an operand (TRACE `-` is stdin); `--` ends the options: every word after it is an operand
 *   (`vfp-emu decode -- -odd.pcap`).
 * - `vfp-emu COMMAND --help`, `vfp-emu COMMAND -h` and `vfp-emu help COMMAND` print that command's help;
 *   `vfp-emu`, `vfp-emu help`, `--help` and `-h` the list of commands.
 */
import { UsageError } from './core/errors';

export interface FlagSpec {
  /** Takes a value (else a boolean switch). */
  value: boolean;
  repeat?: boolean;
  /** Allowed values, when closed. */
  oneOf?: readonly string[];
  /** Value must be an integer in [min, max]. */
  int?: [number, number];
  /** The value's name in the help (FILE, PROFILE); default: the `oneOf` values joined by |, N for `int`, else VALUE. */
  arg?: string;
  /** One line of help: what the flag does and its default (a repeatable flag gets "(repeatable)" appended). */
  help: string;
  /** Its one-letter form (`-q`), when it has one (see the module comment for the ones that exist). */
  short?: string;
}

export interface CommandSpec {
  /** One line for the list of commands. */
  summary: string;
  /** What follows the command in its usage line, before [OPTIONS] (`[TRACE...]`). */
  operands: string;
  flags: Readonly<Record<string, FlagSpec>>;
  /** Paragraphs after the options: the operands, and how the flags combine. */
  notes: readonly string[];
  /** Command lines that run as shown from the package's folder (the first of each command is run by a test). */
  examples: readonly string[];
}

const HELP_FLAG: FlagSpec = { value: false, short: '-h', help: 'print this help and exit' };
const VXLAN_PORT: FlagSpec = { value: true, repeat: true, int: [1, 65535], arg: 'P', help: 'a UDP port that carries VXLAN besides 4789' };
const CLUSTER: FlagSpec = {
  value: true,
  repeat: true,
  arg: 'FILE',
  help: "a cluster input, its kind read from its content: kubectl output, CNI config, flannel net-conf.json or subnet.env, kube-proxy's config or command line, HNS JSON, scenario YAML",
};
/** Most bytes one --cluster file may hold (src/cluster/limits.ts; default 64 MiB). */
const MAX_CONFIG_BYTES: FlagSpec = {
  value: true,
  int: [1, 2 ** 53 - 1],
  help: 'the most bytes one --cluster file may hold (default 67108864, 64 MiB; a kubectl List in JSON in a regular file is streamed, each object held to it)',
};
const WINDOWS: FlagSpec = {
  value: true,
  arg: 'PROFILE',
  help: 'the Windows build: ws2019, ws2022 (default), ws2025 or future, optionally with overrides (ws2022:icmpSnat=true,maxLbDestinations=128); --windows help lists them',
};
const SEED: FlagSpec = { value: true, int: [0, 2 ** 32 - 1], help: "the seed of the emulator's random choices (a load balancer's backend pick); default 1" };
/** `--pktmon-component` (src/io/pktmon.ts): replay and explain, so explain walks what replay judged. */
const PKTMON_COMPONENT = { value: true, arg: 'NAME|N', help: 'a pktmon capture (etl2pcapng): judge each packet at this component (if_name, if_description or interface index N); default: the first component it was seen at; its other copies are pktmon-copy' } as const;
const VIEW: FlagSpec = { value: true, oneOf: ['pod', 'wire'], help: 'pod (default): packets as their senders sent them; wire: as they cross the node (a reply to OutboundNAT is to the node IP)' };
const LENIENT_SNAPLEN: FlagSpec = { value: false, help: "accept a record whose caplen exceeds its interface's snaplen, as tshark and tcpdump do (default: bad input, exit 2)" };
const ALL_NODES: FlagSpec = { value: false, help: "compile every Windows node (default on a big cluster: only the nodes the packets' addresses lead to)" };

const LESSON = 'traces/04-icmp-lesson/trace.pcapng';
const FORMAT_WALK: FlagSpec = { value: true, oneOf: ['text', 'json'], help: 'text (default) or the walk as JSON data: steps (node, port, layer, group, rule, action, packet after each step)' };
const DETAIL: FlagSpec = { value: true, oneOf: ['summary', 'full'], help: 'full (default): every layer and rule; summary: one line per node crossed' };
const L2BRIDGE = '--cluster traces/_clusters/l2bridge/kubectl.json --cluster traces/_clusters/l2bridge/cni.conf --cluster traces/_clusters/l2bridge/net-conf.json';

/**
 * Every command, its flags and its help (see the module comment). A new command (issue 13's `trace`, `live`)
 * is one entry here, its case in cli.ts `run` (tsc refuses the switch without it) and its usage line in
 * README's commands section (test/cli-help.test.ts compares them); a new flag is one line with its `help`.
 */
export const COMMANDS = {
  replay: {
    summary: 'judge every packet of one or more captures as a Windows node would; summary, verdicts, output pcapng, report',
    operands: '[TRACE...]',
    flags: {
      '--cluster': CLUSTER,
      '--verdicts': { value: true, arg: 'FILE', help: 'write one JSON line per packet (verdict, reason, the packet before and after); - for stdout' },
      '--out': { value: true, arg: 'FILE', help: 'write the packets as they leave the node, as pcapng with a comment per packet; - for stdout' },
      '--report': { value: true, arg: 'FILE', help: 'write the report of the run: HTML when FILE ends in .html or .htm (counts, failing flows, backend spread per Service, per-node counts, the first failing packets\' paths), else text; - for stdout (text)' },
      '--summary': { value: true, oneOf: ['text', 'json'], help: 'the summary on stdout as text (default) or JSON (what vfp-emu merge reads)' },
      '--workers': { value: true, int: [1, 256], help: 'threads (default: 1 for a trace under 4 MiB, else the cores available); the outputs are the same for every N' },
      '--windows': WINDOWS,
      '--seed': SEED,
      '--view': VIEW,
      '--pktmon-component': PKTMON_COMPONENT,
      '--fail-on': { value: true, repeat: true, arg: 'VERDICT|REASON', help: 'exit 1 when a packet gets this verdict (dropped, no-return, ...) or reason code (icmp-not-transposed, ...)' },
      '--vxlan-port': VXLAN_PORT,
      '--max-config-bytes': MAX_CONFIG_BYTES,
      '--progress': { value: false, help: 'show packets, rate and ETA on stderr (default: when stderr is a terminal)' },
      '--no-progress': { value: false, help: 'never show the progress line' },
      '--lenient-snaplen': LENIENT_SNAPLEN,
      '--all-nodes': ALL_NODES,
      '--quiet': { value: false, short: '-q', help: 'print nothing but errors: no summary, no progress (the exit status says the rest)' },
      '--help': HELP_FLAG,
    },
    notes: [
      'With no TRACE: the embedded lesson (a pod pinging and curling the same external host), its outputs under ./vfp-out/ ' +
        '(verdicts.jsonl, out.pcapng, report.txt). TRACE - reads pcap or pcapng from stdin (tcpdump -w - | vfp-emu replay - ...).',
      "Several traces: replay A.pcap B.pcapng, a folder (its *.pcap, *.pcapng and *.cap files) or a quoted glob ('caps/*.pcapng', " +
        "'**' for sub-folders), taken sorted by path. Each trace is replayed alone (its own flow table), one thread per trace up to " +
        '--workers; one summary over all (totals, then per trace), one --report; --out DIR and --verdicts DIR name folders that get ' +
        "NAME.pcapng and NAME.jsonl per trace (NAME: the trace's file name without .pcap/.pcapng/.cap). --fail-on applies to the totals. " +
        'Several traces cannot share stdout: --out - and --verdicts - are refused there.',
      'Outputs: - (or /dev/stdout) writes that output to stdout; the summary and the lesson\'s story then go to stderr, so stdout carries ' +
        'that output alone, and --summary is refused. Two outputs on stdout are refused, as is an output naming an input or another ' +
        'output. Each output file is written to a temporary file beside it and renamed when whole. A closed stdout (| head) ends the run quietly.',
      'Exit status: 0 done; 1 --fail-on matched; 2 bad usage or bad input (the message names the file and the byte offset or ' +
        'field path; every packet before the fault is still judged and written); 130 / 143 stopped by SIGINT / SIGTERM (the outputs ' +
        'end whole); 70 an internal error (a bug: please report it).',
    ],
    examples: [
      'vfp-emu replay',
      `vfp-emu replay ${LESSON} ${L2BRIDGE} --fail-on dropped --summary json`,
      `vfp-emu replay ${LESSON} ${L2BRIDGE} --verdicts - --quiet | head -1`,
      `vfp-emu replay ${LESSON} ${L2BRIDGE} --out - | tshark -r -`,
      'tcpdump -i eth0 -w - | vfp-emu replay - --cluster kubectl.json --cluster cni.conf',
    ],
  },
  decode: {
    summary: 'print the decoded fields of every packet of a capture (the CONTRACT columns), as TSV or JSON lines',
    operands: 'TRACE',
    flags: {
      '--format': { value: true, oneOf: ['tsv', 'jsonl'], help: 'tab-separated columns with a header line (default), or one JSON object per line' },
      '--vxlan-port': VXLAN_PORT,
      '--lenient-snaplen': LENIENT_SNAPLEN,
      '--help': HELP_FLAG,
    },
    notes: ['TRACE is a pcap or pcapng file, or - for stdin. Exit status: 0 done; 2 bad input (every packet before the fault is printed first).'],
    examples: [`vfp-emu decode ${LESSON}`, `vfp-emu decode ${LESSON} --format jsonl | head -1`],
  },
  explain: {
    summary: 'walk one packet of a capture through the node step by step: ports, layers, groups, rules, and why',
    operands: 'TRACE',
    flags: {
      '--cluster': CLUSTER,
      '--packet': { value: true, int: [1, 2 ** 53 - 1], help: 'the packet to walk, numbered from 1 as Wireshark numbers them (required)' },
      '--windows': WINDOWS,
      '--seed': SEED,
      '--view': VIEW,
      '--vxlan-port': VXLAN_PORT,
      '--lenient-snaplen': LENIENT_SNAPLEN,
      '--max-config-bytes': MAX_CONFIG_BYTES,
      '--all-nodes': ALL_NODES,
      '--pktmon-component': PKTMON_COMPONENT,
      '--format': FORMAT_WALK,
      '--detail': DETAIL,
      '--help': HELP_FLAG,
    },
    notes: ['The packets before N are replayed first (the flow table they leave decides N), so N is judged as replay judges it. TRACE - reads stdin.'],
    examples: [`vfp-emu explain ${LESSON} ${L2BRIDGE} --packet 1`],
  },
  trace: {
    summary: 'walk a flow given as a packet line, no capture needed, then its reply: does the conversation work end to end, what breaks it, what to change',
    operands: 'FLOW',
    flags: {
      '--cluster': CLUSTER,
      '--windows': WINDOWS,
      '--seed': SEED,
      '--view': VIEW,
      '--format': FORMAT_WALK,
      '--detail': DETAIL,
      '--max-config-bytes': MAX_CONFIG_BYTES,
      '--vxlan-port': VXLAN_PORT,
      '--all-nodes': ALL_NODES,
      '--help': HELP_FLAG,
    },
    notes: [
      "FLOW is one packet in the notation of traces/*/scenario.yaml: 'tcp 10.244.1.5:49800 > 203.0.113.10:80 S', " +
        "'icmp 10.244.1.5 > 8.8.8.8 echo', 'udp A:P > B:P'. The request is walked as explain walks a packet, then the reply the far end " +
        'would send (same state: the NAT and load-balancer flows the request made apply); the verdict says whether the conversation works, ' +
        'the rule that breaks it and what to change, with a what-if when a --windows setting decides it. Exit status: 0 done; 2 bad usage or bad input.',
    ],
    examples: [`vfp-emu trace 'icmp 10.244.1.5 > 203.0.113.10 echo' ${L2BRIDGE}`],
  },
  rules: {
    summary: 'print the VFP ports, layers, groups and rules HNS would program on each Windows node, like vfpctrl /list-rule',
    operands: '',
    flags: {
      '--cluster': CLUSTER,
      '--node': { value: true, arg: 'NAME', help: 'list this Windows node alone (default: every Windows node)' },
      '--windows': WINDOWS,
      '--max-config-bytes': MAX_CONFIG_BYTES,
      '--help': HELP_FLAG,
    },
    notes: ['The config diagnostics (what the emulator assumed, what looks wrong) follow the rules.'],
    examples: [`vfp-emu rules ${L2BRIDGE}`],
  },
  merge: {
    summary: 'add up replay --summary json outputs made elsewhere (one per machine or Job pod) into one summary',
    operands: 'SUMMARY.json...',
    flags: {
      '--summary': { value: true, oneOf: ['json', 'text'], help: 'print the merged summary as JSON (default; it merges again) or as text' },
      '--out': { value: true, arg: 'FILE', help: 'write the merged summary to FILE, whole (default, or -: stdout)' },
      '--help': HELP_FLAG,
    },
    notes: [
      'The sum is what one replay over all those traces prints (elapsed_s and pps aside). Summaries of another cluster, --windows, ' +
        '--seed, --view, --vxlan-port, --pktmon-component or vfp-emu version are refused, naming the file and the fingerprint field. A SUMMARY of - is read from stdin (one at most).',
    ],
    examples: ['vfp-emu merge node1.json node2.json --summary text'],
  },
  live: {
    summary: 'capture on a network interface and judge the packets as they come (needs the optional package cap and root); the same outputs as replay',
    operands: '',
    flags: {
      '--iface': { value: true, arg: 'IF', help: 'the network interface to capture on (required; ip link lists them)' },
      '--cluster': CLUSTER,
      '--filter': { value: true, arg: 'BPF', help: "a capture filter in tcpdump's syntax ('ip and not port 22'); default: every packet" },
      '--count': { value: true, int: [1, 2 ** 53 - 1], help: 'stop after N packets (default: until Ctrl-C, or --duration)' },
      '--duration': { value: true, int: [1, 2147483], arg: 'S', help: 'stop after S seconds, at most 2147483 (24.8 days: the longest timer Node holds) (default: until Ctrl-C, or --count)' },
      '--verdicts': { value: true, arg: 'FILE', help: 'write one JSON line per packet, as replay does; - for stdout' },
      '--out': { value: true, arg: 'FILE', help: 'write the packets as they leave the node, as replay does (pcapng); - for stdout' },
      '--report': { value: true, arg: 'FILE', help: 'write the report of the run, as replay does (HTML when FILE ends in .html or .htm)' },
      '--save': { value: true, arg: 'FILE', help: "write the packets as captured to a pcap file; the failing flows' explain commands then name it" },
      '--summary': { value: true, oneOf: ['text', 'json'], help: 'the summary at the end on stdout as text (default) or JSON' },
      '--windows': WINDOWS,
      '--seed': SEED,
      '--view': VIEW,
      '--fail-on': { value: true, repeat: true, arg: 'VERDICT|REASON', help: 'exit 1 when a packet gets this verdict or reason code, as replay' },
      '--vxlan-port': VXLAN_PORT,
      '--max-config-bytes': MAX_CONFIG_BYTES,
      '--quiet': { value: false, help: 'print nothing but errors: no rolling view, no summary' },
      '--help': HELP_FLAG,
    },
    notes: [
      'Packets are captured with libpcap through the npm package cap (an optional dependency): when it is missing or its build ' +
        'failed, live exits 2 saying how to get it (apt-get install libpcap-dev && npm rebuild cap). Capturing needs root or CAP_NET_RAW.',
      'Packets are judged in batches as they come: when 512 are queued, or 100 ms after the first of them was captured. While it runs, ' +
        'stderr shows the verdict counts and the first failing flows, redrawn once a second on a terminal (else one line a second ' +
        'while packets come). Packets captured faster than they are judged wait in a queue (16384 packets, 32 MiB); what finds it ' +
        'full is lost, and the view and the summary say how many ("N packets lost: capture queue full"). Every Windows node of the cluster is compiled.',
      'Ctrl-C (SIGINT) or SIGTERM ends the capture: the packets captured so far are judged, every output is closed whole and the ' +
        'summary printed (exit 130 / 143); a second one ends at once, the unfinished outputs removed. Exit status otherwise as replay: ' +
        '0 done (--count or --duration reached), 1 --fail-on matched, 2 bad usage (no such interface, no permission, cap missing).',
    ],
    examples: [
      `vfp-emu live --iface lo --duration 1 ${L2BRIDGE}`,
      'sudo vfp-emu live --iface eth0 --cluster kubectl.json --cluster cni.conf --filter "not port 22" --out live-out.pcapng --save live.pcap',
    ],
  },
} satisfies Record<string, CommandSpec>;

export type CommandName = keyof typeof COMMANDS;
type Command = CommandName | 'help' | 'version';

/** The flags each command accepts (derived from COMMANDS; kept for the callers that look flags up by command). */
export const SPECS: Readonly<Record<CommandName, Readonly<Record<string, FlagSpec>>>> = Object.fromEntries(
  Object.entries(COMMANDS).map(([name, c]) => [name, c.flags]),
) as unknown as Record<CommandName, Record<string, FlagSpec>>;

const isCommand = (word: string): word is CommandName => Object.prototype.hasOwnProperty.call(COMMANDS, word);

export interface ParsedArgs {
  command: Command;
  positional: string[];
  /** Single-valued flags by name without the dashes (`workers`), repeated ones as arrays. */
  flags: Map<string, string | string[] | true>;
}

const helpFor = (command?: CommandName): ParsedArgs => ({ command: 'help', positional: command === undefined ? [] : [command], flags: new Map() });

export function parseArgs(argv: string[]): ParsedArgs {
  const [first, ...rest] = argv;
  if (first === undefined || first === '--help' || first === '-h') return helpFor();
  if (first === 'help') return helpCommand(rest);
  if (first === '--version' || first === 'version') return { command: 'version', positional: [], flags: new Map() };
  if (!isCommand(first)) throw new UsageError(`unknown command '${first}' (expected ${commandList()}; see vfp-emu help)`);
  const specs = COMMANDS[first].flags as Readonly<Record<string, FlagSpec>>;
  const flags = new Map<string, string | string[] | true>();
  const positional: string[] = [];
  let operandsOnly = false;
  for (let k = 0; k < rest.length; k++) {
    const word = rest[k];
    if (operandsOnly || word === '-' || !word.startsWith('-')) {
      positional.push(word);
      continue;
    }
    if (word === '--') {
      operandsOnly = true;
      continue;
    }
    const eq = word.startsWith('--') ? word.indexOf('=') : -1;
    const name = longName(first, eq < 0 ? word : word.slice(0, eq));
    const spec = specs[name];
    if (name === '--help') return helpFor(first);
    if (!spec.value) {
      if (eq >= 0) throw new UsageError(`${first}: ${name} takes no value`);
      flags.set(name.slice(2), true);
      continue;
    }
    const value = eq >= 0 ? word.slice(eq + 1) : rest[++k];
    if (value === undefined || value === '') throw new UsageError(`${first}: ${name} needs a value${value === '' ? ' (it is empty)' : ''}`);
    if (eq < 0 && value !== '-' && /^-(-|[A-Za-z])/.test(value)) {
      throw new UsageError(`${first}: ${name} needs a value, not the flag ${value} (a value that starts with - is given as ${name}=${value})`);
    }
    checkValue(first, name, spec, value);
    setFlag(flags, first, name, spec, value);
  }
  oneStdin(first, positional, flags);
  return { command: first, positional, flags };
}

/** stdin (`-`) can be read by one input only: the second reader would find it empty. */
function oneStdin(command: CommandName, positional: readonly string[], flags: ReadonlyMap<string, string | string[] | true>): void {
  const uses: string[] = positional.filter((p) => p === '-').map(() => (command === 'merge' ? 'a SUMMARY' : 'TRACE'));
  const cluster = flags.get('cluster');
  if (Array.isArray(cluster)) for (const c of cluster) if (c === '-') uses.push('--cluster');
  if (uses.length > 1) throw new UsageError(`${command}: stdin (-) is given ${uses.length} times (${uses.join(', ')}): one input only can read it; give the others as files`);
}

/** `vfp-emu help [COMMAND]`. */
function helpCommand(rest: string[]): ParsedArgs {
  if (rest.length === 0) return helpFor();
  if (rest.length > 1 || !isCommand(rest[0])) throw new UsageError(`help: '${rest.join(' ')}' is not a command (commands: ${commandList()})`);
  return helpFor(rest[0]);
}

function commandList(): string {
  const names = Object.keys(COMMANDS);
  return `${names.slice(0, -1).join(', ')} or ${names[names.length - 1]}`;
}

/** The long name of `word` (a flag as written: `--cluster`, `-q`) for `command`; throws a UsageError for a flag it does not take. */
function longName(command: CommandName, word: string): string {
  const specs = COMMANDS[command].flags as Readonly<Record<string, FlagSpec>>;
  if (word.startsWith('--')) {
    if (Object.prototype.hasOwnProperty.call(specs, word)) return word;
    throw new UsageError(`${command}: unknown flag ${word}${hintFor(word, command)} (see vfp-emu ${command} --help)`);
  }
  for (const [name, spec] of Object.entries(specs)) if (spec.short === word) return name;
  const shorts = Object.values(specs).flatMap((s) => (s.short === undefined ? [] : [s.short]));
  throw new UsageError(
    `${command}: unknown flag ${word}: flags have two dashes${hintFor(`-${word.slice(1)}`, command)}; its short options are ${shorts.join(', ')} ` +
      `(a file whose name starts with - is given as ./${word})`,
  );
}

/** Checks a flag's value against its spec (closed list, integer range); throws a UsageError listing what is accepted. */
function checkValue(command: CommandName, name: string, spec: FlagSpec, value: string): void {
  if (spec.oneOf && !spec.oneOf.includes(value)) {
    throw new UsageError(`${command}: ${name} must be one of ${spec.oneOf.join(', ')} (got '${value}')`);
  }
  if (spec.int) {
    const n = Number(value);
    if (!/^\d+$/.test(value) || !Number.isSafeInteger(n) || n < spec.int[0] || n > spec.int[1]) {
      throw new UsageError(`${command}: ${name} must be an integer from ${spec.int[0]} to ${spec.int[1]} (got '${value}')`);
    }
  }
}

function setFlag(flags: Map<string, string | string[] | true>, command: CommandName, name: string, spec: FlagSpec, value: string): void {
  const key = name.slice(2);
  if (spec.repeat) {
    const prev = flags.get(key);
    if (Array.isArray(prev)) prev.push(value);
    else flags.set(key, [value]);
    return;
  }
  if (flags.has(key)) throw new UsageError(`${command}: ${name} given twice`);
  flags.set(key, value);
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


/** Help lines are wrapped to this width. */
const WIDTH = 100;
/** The flag column of a command's help is at most this wide; a longer flag puts its help on the next line. */
const FLAG_COLUMN = 30;

/** `text` wrapped to WIDTH, every line but the first indented by `indent` spaces (the first starts at column `at`). */
function wrap(text: string, indent: number, at = indent): string {
  const lines: string[] = [];
  let line = '';
  let col = at;
  for (const word of text.split(' ')) {
    if (line !== '' && col + 1 + word.length > WIDTH) {
      lines.push(line);
      line = '';
      col = indent;
    }
    line += (line === '' ? '' : ' ') + word;
    col += (line === word ? 0 : 1) + word.length;
  }
  lines.push(line);
  return lines.join('\n' + ' '.repeat(indent));
}

/** The placeholder of a flag's value in the help (`FILE`, `tsv|jsonl`, `N`). */
function argName(spec: FlagSpec): string {
  return spec.arg ?? (spec.oneOf ? spec.oneOf.join('|') : spec.int ? 'N' : 'VALUE');
}

/** A flag as its help line shows it: `-q, --quiet`, `    --cluster FILE`. */
function flagForm(name: string, spec: FlagSpec): string {
  return `${spec.short !== undefined ? `${spec.short}, ` : '    '}${name}${spec.value ? ` ${argName(spec)}` : ''}`;
}

/** `vfp-emu COMMAND --help`: usage, one line per flag, notes, examples. */
export function commandHelp(command: CommandName): string {
  const c: CommandSpec = COMMANDS[command];
  const out = [`vfp-emu ${command}: ${c.summary}`, '', `Usage: vfp-emu ${command}${c.operands === '' ? '' : ` ${c.operands}`} [OPTIONS]`, '', 'Options:'];
  const forms = Object.entries(c.flags).map(([name, spec]) => [flagForm(name, spec), spec] as const);
  const column = Math.min(FLAG_COLUMN, Math.max(...forms.map(([f]) => f.length)) + 2);
  for (const [form, spec] of forms) {
    const help = spec.help + (spec.repeat ? ' (repeatable)' : '');
    const left = `  ${form}`;
    if (left.length + 2 > column + 2) out.push(left, ' '.repeat(column + 2) + wrap(help, column + 2));
    else out.push(left.padEnd(column + 2) + wrap(help, column + 2));
  }
  for (const note of c.notes) out.push('', wrap(note, 0));
  out.push('', 'Examples:', ...c.examples.map((e) => `  ${e}`), '');
  return out.join('\n');
}

/** `vfp-emu --help`: the commands, and what holds for all of them. */
export function topHelp(): string {
  const names = Object.keys(COMMANDS) as CommandName[];
  const width = Math.max(...names.map((n) => n.length)) + 2;
  return [
    'vfp-emu: replay packet traces through an emulation of the Windows VFP data plane',
    '',
    'Usage: vfp-emu COMMAND [ARGS...]',
    '       vfp-emu help COMMAND   (or vfp-emu COMMAND --help): the flags of COMMAND, one line each, and examples',
    '       vfp-emu --version',
    '',
    'Commands:',
    ...names.map((n) => `  ${n.padEnd(width)}${wrap(COMMANDS[n].summary, width + 2, width + 2)}`),
    '',
    wrap(
      'Flags have two dashes and take their value as the next word or after = (--workers 2, --workers=2). The short options are ' +
        '-h (--help) and -q (replay --quiet); any other -x is refused, never read as a file name. - alone is stdin as a TRACE and ' +
        'stdout as an output; -- ends the options (vfp-emu decode -- -odd.pcap).',
      0,
    ),
    '',
    wrap(
      'Exit status: 0 done; 1 the run completed but --fail-on matched; 2 bad usage or bad input (the message names the file and ' +
        'the byte offset or field path); 130 / 143 replay stopped by SIGINT / SIGTERM; 70 an internal error (a bug: please report ' +
        'it). A closed stdout (| head) ends a command quietly.',
      0,
    ),
    '',
    'Start with: vfp-emu replay   (the embedded lesson; its outputs under ./vfp-out/)',
    '',
  ].join('\n');
}
