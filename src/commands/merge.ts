/**
 * `vfp-emu merge SUMMARY.json... [--summary json|text] [--out FILE]` (issue 12, "Many captures at once"):
 * the `--summary json` outputs of replays made elsewhere (another machine, one Kubernetes Job pod per node)
 * as one summary, equal to what one `vfp-emu replay` over all those traces prints, save the timings
 * (summary-merge.ts says how each field is merged, and why elapsed_s and pps differ).
 *
 * Each file is read whole: one JSON object, a single-trace summary (with `trace` and `fingerprint`) or a
 * merged one (with `traces`, which may be merged again). Everything merge reads is checked; a file that is
 * not such a summary is bad input, exit 2 naming the file and the field path (`b.json at verdicts.dropped:
 * must be a count`). A summary without a `fingerprint` (made before vfp-emu had one), or with one that differs
 * from the first file's in a field (another cluster's files, another --windows profile, seed, view, VXLAN
 * ports or vfp-emu version), is refused naming both files and the field: such counts do not add up.
 * A merged summary whose `packets` is not the sum of its traces', verdicts that do not sum to `packets`, or a
 * field replay does not write (merge would drop it; in the fingerprint and services too), is refused too (edited by hand, or made by a vfp-emu of another version).
 * The same trace path in two summaries is allowed: one Job pod per node may each replay /data/capture.pcap.
 * A `vfp-emu live` summary is one too; its `capture_lost` (packets the capture lost) is added up (summary-merge.ts).
 *
 * Output: JSON by default (the form merge reads, so merged summaries merge again), `--summary text` the text
 * replay prints for several traces; on stdout, or `--out FILE` (written whole: a temporary file renamed,
 * output-files.ts; an --out that is one of the inputs is refused, output-paths.ts).
 */
import * as fs from 'node:fs';
import { InputError, UsageError } from '../core/errors';
import { jsonSafe } from '../core/safe-text';
import { writeStdout } from '../core/stdout';
import { flagString, type ParsedArgs } from '../cli-args';
import { AtomicOutput } from '../pipeline/output-files';
import { VERDICT_NAMES } from '../vfp/reasons';
import { checkOutputPaths } from './output-paths';
import { multiSummaryText } from './multi-replay';
import { FAILING_ENTRY_KEYS, FAILING_KEYS } from '../report/failing-summary';
import { captureLostLine, FINGERPRINT_KEYS, fingerprintDiff, mergeSummaries, type AnySummary, type Fingerprint } from './summary-merge';

type Json = unknown;

/** Checks one value at a field path of `file`; throws InputError naming both. */
class Checker {
  constructor(readonly file: string) {}

  fail(at: string, detail: string): never {
    throw new InputError(this.file, { fieldPath: at === '' ? '(top level)' : at }, detail);
  }

  object(v: Json, at: string): Record<string, Json> {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) this.fail(at, 'must be an object');
    return v as Record<string, Json>;
  }

  count(v: Json, at: string): number {
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) this.fail(at, 'must be a count (a whole number, 0 or more)');
    return v;
  }

  number(v: Json, at: string): number {
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) this.fail(at, 'must be a number, 0 or more');
    return v;
  }

  string(v: Json, at: string): string {
    if (typeof v !== 'string') this.fail(at, 'must be a string');
    return v;
  }

  counts(v: Json, at: string): Record<string, number> {
    const o = this.object(v, at);
    for (const [k, n] of Object.entries(o)) this.count(n, `${at}.${k}`);
    return o as Record<string, number>;
  }
}

/** The fields of a `traces[]` entry (summary-merge.ts TraceSummary), of a single-trace and of a merged summary. */
const COUNT_KEYS = ['packets', 'interrupted', 'stdout_closed', 'error', 'verdicts', 'reasons', 'warnings', 'services', 'flows_evicted', 'flow_share_limit', 'elapsed_s', 'pps'];
const TRACE_KEYS = new Set(['trace', 'pktmon', ...COUNT_KEYS]);
const SINGLE_KEYS = new Set([...COUNT_KEYS, 'diagnostics', 'trace', 'fingerprint', 'failing_flows', 'nodes', 'pktmon', 'capture_lost']);
const MERGED_KEYS = new Set([...COUNT_KEYS.filter((k) => k !== 'error'), 'diagnostics', 'fingerprint', 'traces', 'failing_flows', 'nodes', 'pktmon', 'capture_lost']);
/** A live summary's `capture_lost` (src/commands/live.ts): both counts, nothing else. */
const CAPTURE_LOST_FIELDS = new Set(['queue_full', 'truncated']);
const PKTMON_FIELDS = new Set(['packets', 'copies', 'copies_unlinked', 'components', 'view', 'drops']);
const PKTMON_DROP_FIELDS = new Set(['records', 'agree', 'disagree', 'unknown', 'list']);
const FAILING_FIELDS = new Set<string>(FAILING_KEYS);
const FAILING_ENTRY_FIELDS = new Set<string>(FAILING_ENTRY_KEYS);
const FLOW_FIELDS = new Set(['proto', 'src', 'sport', 'dst', 'dport', 'icmp_type']);
const SERVICE_KEYS = new Set(['backends']);
const FINGERPRINT_FIELDS = new Set<string>(FINGERPRINT_KEYS);

/** A field merge does not know would be dropped from the merged summary: refused by name instead. */
function onlyKnown(c: Checker, o: Record<string, Json>, known: ReadonlySet<string>, at: string): void {
  for (const k of Object.keys(o)) if (!known.has(k)) c.fail(at === '' ? k : `${at}.${k}`, 'not a field of a vfp-emu replay summary (merge would drop it)');
}

/** The counts every summary and every `traces[]` entry holds. */
function checkCounts(c: Checker, o: Record<string, Json>, at: string): void {
  const p = at === '' ? '' : `${at}.`;
  c.count(o.packets, `${p}packets`);
  const v = c.counts(o.verdicts, `${p}verdicts`);
  for (const name of Object.keys(v)) if (!(VERDICT_NAMES as readonly string[]).includes(name)) c.fail(`${p}verdicts.${name}`, `not a verdict (${VERDICT_NAMES.join(', ')})`);
  let judged = 0;
  for (const name of VERDICT_NAMES) judged += c.count(v[name], `${p}verdicts.${name}`);
  if (judged !== o.packets) c.fail(`${p}verdicts`, `sum to ${judged}, but packets is ${o.packets as number}: every packet has one verdict`);
  c.counts(o.reasons, `${p}reasons`);
  c.counts(o.warnings, `${p}warnings`);
  const services = c.object(o.services, `${p}services`);
  for (const [svc, s] of Object.entries(services)) {
    const entry = c.object(s, `${p}services.${svc}`);
    onlyKnown(c, entry, SERVICE_KEYS, `${p}services.${svc}`);
    c.counts(entry.backends, `${p}services.${svc}.backends`);
  }
  c.count(o.flows_evicted, `${p}flows_evicted`);
  if (o.flow_share_limit !== undefined) c.count(o.flow_share_limit, `${p}flow_share_limit`);
  c.number(o.elapsed_s, `${p}elapsed_s`);
  c.number(o.pps, `${p}pps`);
  if (o.interrupted !== undefined && o.interrupted !== 'SIGINT' && o.interrupted !== 'SIGTERM') c.fail(`${p}interrupted`, 'must be SIGINT or SIGTERM');
  if (o.error !== undefined) c.string(o.error, `${p}error`);
}

/**
 * `failing_flows` (issue 13, src/report/failing-summary.ts): counts, and each entry's fields; its packets must be
 * the dropped and no-return verdicts' count (absent: a summary of a vfp-emu before issue 13, refused by its
 * fingerprint's version anyway).
 */
function checkFailing(c: Checker, v: Json, o: Record<string, Json>): void {
  if (v === undefined) return;
  const f = c.object(v, 'failing_flows');
  onlyKnown(c, f, FAILING_FIELDS, 'failing_flows');
  c.count(f.flows, 'failing_flows.flows');
  const packets = c.count(f.packets, 'failing_flows.packets');
  const verdicts = o.verdicts as Record<string, number>;
  if (packets !== verdicts['dropped'] + verdicts['no-return']) c.fail('failing_flows.packets', `is ${packets}, but verdicts hold ${verdicts['dropped'] + verdicts['no-return']} dropped and no-return packets`);
  c.count(f.untracked_packets, 'failing_flows.untracked_packets');
  if (!Array.isArray(f.list)) c.fail('failing_flows.list', 'must be a list');
  (f.list as Json[]).forEach((e, k) => {
    const at = `failing_flows.list[${k}]`;
    const x = c.object(e, at);
    onlyKnown(c, x, FAILING_ENTRY_FIELDS, at);
    for (const s of ['trace', 'verdict', 'sentence'] as const) c.string(x[s], `${at}.${s}`);
    if (x.explain !== null) c.string(x.explain, `${at}.explain`); // null: vfp-emu live without --save
    if (x.reason !== null) c.string(x.reason, `${at}.reason`);
    if (x.node !== null) c.string(x.node, `${at}.node`);
    c.count(x.first_packet, `${at}.first_packet`);
    c.count(x.packets, `${at}.packets`);
    const flow = c.object(x.flow, `${at}.flow`);
    onlyKnown(c, flow, FLOW_FIELDS, `${at}.flow`);
    c.count(flow.proto, `${at}.flow.proto`);
    c.string(flow.src, `${at}.flow.src`);
    c.string(flow.dst, `${at}.flow.dst`);
    for (const p of ['sport', 'dport'] as const) if (flow[p] !== null) c.count(flow[p], `${at}.flow.${p}`);
    if (flow.icmp_type !== undefined) c.count(flow.icmp_type, `${at}.flow.icmp_type`);
  });
}

function checkFingerprint(c: Checker, v: Json): Fingerprint {
  if (v === undefined) c.fail('fingerprint', 'missing: this summary was made by a vfp-emu without fingerprints; replay its trace again to merge it');
  const f = c.object(v, 'fingerprint');
  onlyKnown(c, f, FINGERPRINT_FIELDS, 'fingerprint');
  for (const k of ['version', 'cluster', 'windows', 'view'] as const) c.string(f[k], `fingerprint.${k}`);
  c.count(f.seed, 'fingerprint.seed');
  if (!Array.isArray(f.vxlan_ports)) c.fail('fingerprint.vxlan_ports', 'must be a list of ports');
  (f.vxlan_ports as Json[]).forEach((p, k) => c.count(p, `fingerprint.vxlan_ports[${k}]`));
  if (f.pktmon_component !== undefined) c.string(f.pktmon_component, 'fingerprint.pktmon_component');
  return Object.fromEntries(FINGERPRINT_KEYS.flatMap((k) => (f[k] !== undefined ? [[k, f[k]]] : []))) as unknown as Fingerprint;
}

/**
 * The JSON of one summary file. Any read error is bad input naming the file (a folder: give a file); a file
 * whose first non-space byte is not `{` is not a summary, said with that byte rather than JSON.parse's excerpt
 * of what may be binary.
 */
function parseSummaryFile(file: string): Json {
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(file === '-' ? 0 : file); // - is stdin (one SUMMARY at most: cli-args oneStdin)
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? 'EIO';
    throw new InputError(file, {}, code === 'EISDIR' ? 'is a folder; give a summary file' : `cannot read it (${code})`);
  }
  let k = 0;
  while (k < bytes.length && (bytes[k] === 0x20 || bytes[k] === 0x09 || bytes[k] === 0x0a || bytes[k] === 0x0d)) k++;
  if (k === bytes.length) throw new InputError(file, {}, 'is empty; give the output of vfp-emu replay --summary json');
  if (bytes[k] !== 0x7b) {
    throw new InputError(file, { offset: k }, `not a JSON summary (starts with byte 0x${bytes[k].toString(16).padStart(2, '0')}); give the output of vfp-emu replay --summary json`);
  }
  try {
    return JSON.parse(bytes.toString('utf8'));
  } catch (e) {
    throw new InputError(file, {}, `not JSON (${(e as Error).message}); give the output of vfp-emu replay --summary json`);
  }
}

/** `pktmon` (issue 13, src/report/pktmon.ts): its counts, components, view and drop list. */
function checkPktmon(c: Checker, v: Json, at: string): void {
  const p = c.object(v, at);
  onlyKnown(c, p, PKTMON_FIELDS, at);
  for (const k of ['packets', 'copies', 'copies_unlinked'] as const) c.count(p[k], `${at}.${k}`);
  c.string(p.view, `${at}.view`);
  if (!Array.isArray(p.components)) c.fail(`${at}.components`, 'must be a list');
  (p.components as Json[]).forEach((s, k) => c.string(s, `${at}.components[${k}]`));
  const d = c.object(p.drops, `${at}.drops`);
  onlyKnown(c, d, PKTMON_DROP_FIELDS, `${at}.drops`);
  for (const k of ['records', 'agree', 'disagree', 'unknown'] as const) c.count(d[k], `${at}.drops.${k}`);
  if (!Array.isArray(d.list)) c.fail(`${at}.drops.list`, 'must be a list');
  (d.list as Json[]).forEach((e, k) => c.object(e, `${at}.drops.list[${k}]`));
}

/** One summary file, checked (see the module comment). */
export function readSummary(file: string): { summary: AnySummary; fingerprint: Fingerprint } {
  const c = new Checker(file);
  const doc = parseSummaryFile(file);
  const o = c.object(doc, '');
  onlyKnown(c, o, o.traces === undefined ? SINGLE_KEYS : MERGED_KEYS, '');
  checkCounts(c, o, '');
  if (!Array.isArray(o.diagnostics)) c.fail('diagnostics', 'must be a list');
  (o.diagnostics as Json[]).forEach((d, k) => {
    const x = c.object(d, `diagnostics[${k}]`);
    for (const f of ['code', 'message', 'source'] as const) c.string(x[f], `diagnostics[${k}].${f}`);
  });
  const fingerprint = checkFingerprint(c, o.fingerprint);
  checkFailing(c, o.failing_flows, o);
  if (o.pktmon !== undefined) checkPktmon(c, o.pktmon, 'pktmon');
  if (o.capture_lost !== undefined) {
    const l = c.object(o.capture_lost, 'capture_lost');
    onlyKnown(c, l, CAPTURE_LOST_FIELDS, 'capture_lost');
    for (const k of CAPTURE_LOST_FIELDS) c.count(l[k], `capture_lost.${k}`);
  }
  if (o.nodes !== undefined) {
    for (const [name, counts] of Object.entries(c.object(o.nodes, 'nodes'))) {
      const v = c.counts(counts, `nodes.${name}`);
      for (const k of Object.keys(v)) if (!(VERDICT_NAMES as readonly string[]).includes(k)) c.fail(`nodes.${name}.${k}`, `not a verdict (${VERDICT_NAMES.join(', ')})`);
    }
  }
  if (o.traces === undefined) c.string(o.trace, 'trace');
  else {
    if (!Array.isArray(o.traces)) c.fail('traces', 'must be a list');
    let sum = 0;
    (o.traces as Json[]).forEach((t, k) => {
      const x = c.object(t, `traces[${k}]`);
      onlyKnown(c, x, TRACE_KEYS, `traces[${k}]`);
      if (x.pktmon !== undefined) checkPktmon(c, x.pktmon, `traces[${k}].pktmon`);
      c.string(x.trace, `traces[${k}].trace`);
      checkCounts(c, x, `traces[${k}]`);
      sum += x.packets as number;
    });
    if (sum !== o.packets) c.fail('packets', `is ${o.packets as number}, but its traces hold ${sum} packets`);
  }
  return { summary: o as unknown as AnySummary, fingerprint };
}

/** A fingerprint field's value in words (an absent pktmon_component: made without --pktmon-component). */
function fingerprintValue(v: unknown): string {
  return v === undefined ? 'absent' : JSON.stringify(v);
}

/** Summaries of `files` merged, after checking that they share one fingerprint. */
export function mergeFiles(files: readonly string[]): ReturnType<typeof mergeSummaries> {
  const read = files.map((f) => ({ file: f, ...readSummary(f) }));
  const first = read[0];
  for (const r of read.slice(1)) {
    const k = fingerprintDiff(first.fingerprint, r.fingerprint);
    if (k !== null) {
      throw new InputError(
        r.file,
        { fieldPath: `fingerprint.${k}` },
        `${fingerprintValue(r.fingerprint[k])}, but ${first.file} has ${fingerprintValue(first.fingerprint[k])}: summaries of another cluster, profile, seed, view, pktmon component or version do not add up`,
      );
    }
  }
  return mergeSummaries(
    read.map((r) => r.summary),
    first.fingerprint,
  );
}

/** `vfp-emu merge` from the command line. */
export function runMergeCommand(a: ParsedArgs): number {
  if (a.positional.length === 0) throw new UsageError('merge takes one or more SUMMARY.json files (the output of vfp-emu replay --summary json)');
  const out = flagString(a, 'out');
  if (out !== undefined) checkOutputPaths(a.positional.map((f) => ({ what: 'summary', path: f })), [{ what: '--out', path: out }]);
  const merged = mergeFiles(a.positional);
  const text = flagString(a, 'summary') === 'text' ? multiSummaryText(merged) + captureLostLine(merged.capture_lost) : jsonSafe(JSON.stringify(merged)) + '\n';
  if (out !== undefined) AtomicOutput.writeFile(out, text);
  else writeStdout(text);
  return 0;
}
