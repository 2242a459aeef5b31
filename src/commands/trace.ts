/**
 * `vfp-emu trace FLOW --cluster FILE...` (issue 13, "Ask about a flow, no capture needed"; as ovn-trace and
 * ofproto/trace answer it): FLOW is one packet in the packet-line notation of traces/*\/scenario.yaml
 * (src/scenario/packet-line.ts: `tcp 10.244.1.5:49800 > 203.0.113.10:80 S`, `icmp 10.244.1.5 > 8.8.8.8
 * echo`; a TCP flow without flags is a SYN). It is walked as `explain` walks a captured packet (packet 1 of
 * an empty flow table), then the reply the far end answers with (vfp/trace-reply.ts) is walked with the same
 * dataplane state (packet 2: the NAT and load-balancer flows the request made apply), and the conversation
 * is judged:
 *   works          the request arrives and the reply comes back to the sender as its connection expects;
 *   request-dropped / request-ignored   the request is dropped / touches no emulated node;
 *   no-return      the request leaves, but nothing carries its reply back (its reason says why and what to do);
 *   reply-dropped  the reply reaches the node and is dropped;
 *   reply-mismatch the reply comes back with other addresses or ports than the sender's connection has;
 *   no-reply-expected   nothing answers this packet (an ICMP error, a TCP RST): the request's fate alone;
 *   reply-not-walked    the reply is not built (IPv6 inside VXLAN, not IP): `works` is null.
 * IPv6 (dual-stack l2bridge) is walked and judged the same way, on the engine's stateless IPv6 model
 * (step-ipv6.ts: bridged / routed by address, the IPv6 ClusterIP LB's reverse NAT recomputed from its hash,
 * no flow table, ACL or SNAT walked); what such a verdict rests on is listed under Assumed (IPV6_ASSUMED).
 * A conversation that works while a walk carried warnings (e.g. dns-pqdn-unresolvable: the DNS query arrives,
 * the name does not resolve) says "works at the packet level" and names each warning with its sentence;
 * `warnings` lists their codes (request's, then reply's) whatever the verdict. A packet nothing answers (an
 * ICMP error, a TCP RST) is no-reply-expected even when it leaves no-return: no reply is lost.
 * What breaks it is named: node, rule (its `Id` as `vfp-emu rules` prints it), layer, group, reason and the
 * reason's sentence (src/vfp/reasons.ts: the one home of the advice). Where a profile setting decides the
 * outcome (WHAT_IF: the UNCONFIRMED facts src/vfp/profile.ts makes settings), the flow is walked again with
 * the setting flipped and the answer is shown with the `--windows` value that gives it. What the walk
 * assumes about the world outside the node (the far end answers; the underlay routes what the profile says)
 * is listed with the profile settings that decide it.
 *
 * Exit status: 0 (the question was answered, whatever the answer); 2 for a bad FLOW (what is wrong and what
 * is accepted) or bad cluster input.
 */
import { Batch, HEADROOM, MAX_CAPLEN } from '../core/batch';
import { UsageError } from '../core/errors';
import { safeText } from '../core/safe-text';
import { writeStdout } from '../core/stdout';
import { flagInt, flagList, flagString, type ParsedArgs } from '../cli-args';
import { decodeBatch, type DecodeOptions } from '../decode/decoder';
import { DEFAULT_MAX_CONFIG_BYTES } from '../cluster/limits';
import { loadClusterFiles } from '../cluster/load';
import { runDiagnostics } from '../cluster/diagnostics';
import type { Cluster, Diagnostic } from '../cluster/model';
import { buildPacketLine, LINE_PROTOCOLS, PacketLineError } from '../scenario/packet-line';
import type { Dataplane } from '../vfp/engine';
import { reasonId, reasonSentence } from '../vfp/reasons';
import { resolveProfile, withSetting, type WindowsProfile } from '../vfp/profile';
import { Results } from '../vfp/results';
import { nodesForAddresses, worthRestricting } from '../vfp/trace-nodes';
import { planReply, replyMismatch, type ReplyPlan } from '../vfp/trace-reply';
import { flowHit, walkOf, walkText, type Detail, type Walk, type WalkRule } from '../vfp/walk';
import { compileChosen, decodeOptionsFor } from './dataplane';

/** Trace time of the request (2026-01-01T00:00:00Z, the scenarios' default start); the reply 1 ms later. */
const T0 = 1767225600;

export interface TraceOptions {
  windows?: string;
  seed: number;
  view: 'pod' | 'wire';
  maxConfigBytes?: number;
  detail: Detail;
  /** `--vxlan-port`: UDP ports carrying VXLAN besides 4789 and the network's own (as replay's). */
  vxlanPorts?: number[];
  /** `--all-nodes`: compile every Windows node (as replay's; default on a big cluster: the nodes FLOW leads to). */
  allNodes?: boolean;
}

/** What breaks a conversation: the walk, node, rule (as `rules` lists it), layer and group, and the reason. */
export interface BrokenBy {
  walk: 'request' | 'reply';
  node: string | null;
  rule: WalkRule | null;
  layer: string | null;
  group: string | null;
  reason: string | null;
  sentence: string | null;
  /** Decided by a unified flow table hit (the fast path: no layer walked). */
  byFlow: boolean;
}

export interface Conversation {
  /** Null: not known (the reply is not walked: IPv6 inside VXLAN, a packet that is not IP). */
  works: boolean | null;
  code: 'works' | 'request-dropped' | 'request-ignored' | 'no-return' | 'reply-dropped' | 'reply-ignored' | 'reply-mismatch' | 'no-reply-expected' | 'reply-not-walked';
  text: string;
  broken_by: BrokenBy | null;
  /** The warning codes the request's and the reply's walks carried (reasons.ts), each once. */
  warnings: string[];
}

/** One walked conversation: the request, the reply (null when there is none, `reply_plan` says why) and the verdict. */
interface Walked {
  request: Walk;
  requestText: string;
  plan: ReplyPlan;
  reply: Walk | null;
  replyText: string;
  verdict: Conversation;
  /** The config diagnostics of the cluster for this profile (as `vfp-emu rules` lists them). */
  diagnostics: Diagnostic[];
  /** The request is IPv6: the verdict rests on the engine's stateless IPv6 model (IPV6_ASSUMED). */
  ipv6: boolean;
}

/**
 * A profile setting that changes the outcome of a reason (src/vfp/profile.ts says what each one is and why
 * it is UNCONFIRMED or what the page says); the what-if walks the flow with it set to `value`.
 */
const WHAT_IF: Readonly<Record<string, { key: keyof WindowsProfile; value: string }>> = {
  'icmp-not-transposed': { key: 'icmpSnat', value: 'true' },
  'pod-ip-not-routable': { key: 'underlayRoutesPodCidrs', value: 'true' },
  'node-to-service-ip': { key: 'nodeToClusterIp', value: 'true' },
  'nodeport-local-access': { key: 'localNodePortAccess', value: 'true' },
  'flannel-node-to-remote-pod': { key: 'flannelNodeToRemotePod', value: 'true' },
  'lb-too-many-destinations': { key: 'maxLbDestinations', value: '1024' },
  'outboundnat-reply-unmatched': { key: 'outsideReplySnat', value: 'true' },
};

/**
 * What an IPv6 conversation's verdict rests on (src/vfp/step-ipv6.ts, lb6.ts): the engine bridges and routes
 * IPv6 by address and keeps no state for it; a reply to a pod's own IPv6 address is taken to reach its node
 * (for IPv4 the profile's underlayRoutesPodCidrs decides that; IPv6 return routing is not modelled).
 */
const IPV6_ASSUMED =
  'IPv6: the engine models it statelessly (src/vfp/step-ipv6.ts): each packet is bridged or routed by its addresses on l2bridge, ' +
  "the IPv6 ClusterIP load balancer DNATs the request and un-DNATs the reply from the same hash (no connection is kept, lb6.ts); no flow table, " +
  'ACL, SNAT or NodePort/externalIP LB is walked for IPv6; the network is taken to carry a reply to a pod\'s IPv6 address back to its node ' +
  '(IPv6 return routing is not modelled): the verdict rests on that model';

/** The profile settings that decide a reply's fate outside what the node's rules say (shown as assumed). */
const REPLY_SETTINGS: readonly (keyof WindowsProfile)[] = ['icmpSnat', 'icmpUntransposedLeaves', 'underlayRoutesPodCidrs', 'outsideReplySnat'];

const FLOW_SYNTAX = `<proto> <src>[:port] > <dst>[:port] [FLAGS] [key=value]... with proto ${LINE_PROTOCOLS.join(', ')} (e.g. 'tcp 10.244.1.5:49800 > 203.0.113.10:80 S', 'icmp 10.244.1.5 > 8.8.8.8 echo', 'udp 10.244.1.5:53000 > 10.96.0.10:53'; quote it: > is the shell's)`;

/**
 * FLOW as the packet line it is walked as (a TCP flow without flags is a SYN), and its frame; a bad FLOW (the
 * parser's PacketLineError: it range-checks every value, len= too) is a UsageError. Any other error is a bug
 * and stays one (exit 70). A frame larger than MAX_CAPLEN (the most a capture record or a Batch slot holds)
 * is refused too, though the parser's len= limit (the 16-bit IP length) keeps every line below it.
 */
export function flowFrame(flow: string): { line: string; frame: Uint8Array } {
  const words = flow.trim().split(/\s+/);
  let line = words.join(' ');
  if (words[0]?.toLowerCase() === 'tcp' && !line.includes('|') && !words.slice(4).some((w) => /^[SAFRPUEC]+$/.test(w))) line += ' S';
  let frame: Uint8Array;
  try {
    frame = buildPacketLine(line);
  } catch (e) {
    if (e instanceof PacketLineError) throw new UsageError(`trace: FLOW '${flow}': ${e.message}; a FLOW is ${FLOW_SYNTAX}`);
    throw e;
  }
  if (frame.length > MAX_CAPLEN) throw new UsageError(`trace: FLOW '${flow}': the frame is ${frame.length} bytes, more than the ${MAX_CAPLEN} a packet may have: lower len=`);
  return { line, frame };
}

/** A one-packet batch holding `frame` as packet `number` at trace time `ts`, decoded. */
function frameBatch(frame: Uint8Array, number: number, ts: number, decode: DecodeOptions): Batch {
  const b = new Batch({ capacity: 1, arenaBytes: MAX_CAPLEN + HEADROOM + 8 }); // flowFrame keeps a frame within MAX_CAPLEN
  b.reset(number);
  const i = b.alloc(frame.length);
  b.arena.set(frame, b.off[i]);
  b.wirelen[i] = frame.length;
  b.ts[i] = ts;
  b.linktype[i] = 1; // Ethernet
  decodeBatch(b, decode);
  return b;
}

/** Walks `frame` (number `n`) through `dp` with its state as it is; returns the batch (rewritten), the Results row and the walk. */
function walkFrame(dp: Dataplane, frame: Uint8Array, n: number, decode: DecodeOptions, detail: Detail): { b: Batch; r: Results; walk: Walk; full: Walk; text: string; byFlow: boolean } {
  const b = frameBatch(frame, n, T0 + (n - 1) / 1000, decode);
  const r = new Results(1);
  r.reset(1);
  const e = dp.explainWalk(b, 0, r);
  const full = walkOf(dp.c, e, r, 0, 'full'); // the verdict reads every step, whatever the detail shown
  const walk = detail === 'full' ? full : walkOf(dp.c, e, r, 0, detail);
  return { b, r, walk, full, text: walkText(walk, e), byFlow: flowHit(e) };
}

/** The addresses a FLOW holds (for compiling only the nodes it leads to on a big cluster, vfp/trace-nodes.ts). */
function flowNodes(cluster: Cluster, frame: Uint8Array, decode: DecodeOptions): ReturnType<typeof nodesForAddresses> {
  if (!worthRestricting(cluster)) return null;
  const b = frameBatch(frame, 1, T0, decode);
  const v4 = new Set<number>([b.src4[0], b.dst4[0]]);
  if (b.innerIpVer[0] === 4) [b.innerSrc4[0], b.innerDst4[0]].forEach((x) => v4.add(x));
  const a = b.arena;
  const o = b.off[0];
  let mac = 0;
  for (let k = 0; k < 6; k++) mac = mac * 256 + a[o + k];
  return nodesForAddresses(cluster, { v4, dstMacs: new Set([mac]), v6: b.ipVer[0] === 6 }, 'FLOW');
}

/** The request, the reply and the verdict of `frame` through a freshly compiled dataplane. */
function walkConversation(cluster: Cluster, frame: Uint8Array, opts: TraceOptions): Walked {
  const decode = decodeOptionsFor(opts.vxlanPorts ?? [], cluster);
  const { dataplane } = compileChosen(cluster, opts, opts.allNodes === true ? undefined : (c) => flowNodes(c, frame, decode));
  const req = walkFrame(dataplane, frame, 1, decode, opts.detail);
  const plan = planReply(dataplane.c, req.b, req.r, decode);
  const rep = plan.line !== null ? walkFrame(dataplane, buildPacketLine(plan.line), 2, decode, opts.detail) : null;
  const sent = (): Batch => frameBatch(frame, 1, T0, decode); // the request as sent (req.b's bytes are rewritten)
  const mismatch = rep !== null && plan.line !== null && plan.arrives && rep.walk.final.verdict !== 'dropped' ? replyMismatch(sent(), rep.b, decode) : null;
  const p = dataplane.profile;
  const diagnostics = runDiagnostics(cluster, { maxLbDestinations: p.maxLbDestinations, dsrSupported: p.dsr }, dataplane.diagnostics);
  const verdict = judge({ walk: req.full, byFlow: req.byFlow }, plan, rep !== null ? { walk: rep.full, byFlow: rep.byFlow } : null, mismatch);
  return { request: req.walk, requestText: req.text, plan, reply: rep?.walk ?? null, replyText: rep?.text ?? '', verdict, diagnostics, ipv6: req.b.ipVer[0] === 6 };
}

/**
 * Where walk `w` was decided: its node, deciding rule and that rule's layer and group; with no deciding rule
 * (a layer's default action let it through, or it was decided before any layer), the layer and group walked
 * last before the first warning or error (e.g. SLB_NAT_LAYER, whose SNAT rules carry no ICMP).
 */
function brokenBy(which: 'request' | 'reply', { walk: w, byFlow }: Judged): BrokenBy {
  const f = w.final;
  const at = f.rule !== null ? [...w.steps].reverse().find((s) => s.rule?.id === f.rule!.id && s.rule.name === f.rule!.name) : undefined;
  let layer: string | null = at?.layer ?? null;
  let group: string | null = at?.group ?? null;
  if (at === undefined) {
    for (const s of w.steps) {
      if (s.kind === 'warning' || s.kind === 'error') break;
      if (s.layer !== null) [layer, group] = [s.layer, s.group ?? group];
    }
  }
  return { walk: which, node: f.node, rule: f.rule, layer, group, reason: f.reason, sentence: f.sentence, byFlow };
}

/** The words of where it breaks: `node win-1, rule NAME (Id 7) in layer L, group G: reason`. */
function brokenText(b: BrokenBy): string {
  const where = `${b.layer !== null ? ` layer ${b.layer}` : ''}${b.group !== null ? `, group ${b.group}` : ''}`;
  const none = b.byFlow ? 'no rule: the unified flow the request made decided it' : 'no rule';
  const rule = b.rule !== null ? `rule ${b.rule.name} (Id ${b.rule.id})${where !== '' ? ` in${where}` : ''}` : where !== '' ? `no rule matched in${where} (the layer's default action)` : none;
  return `node ${b.node ?? '-'}, ${rule}${b.reason !== null ? `: ${b.reason}` : ''}`;
}

/** A walk as judge reads it: every step, and whether a unified flow table hit decided it (walk.ts flowHit). */
interface Judged {
  walk: Walk;
  byFlow: boolean;
}

/** The conversation's verdict from the two walks (module comment lists the codes), with the walks' warnings. */
function judge(req: Judged, plan: ReplyPlan, rep: Judged | null, mismatch: string | null): Conversation {
  const verdict = judgeWalks(req, plan, rep, mismatch);
  const warnings = [...new Set([...req.walk.final.warnings, ...(rep?.walk.final.warnings ?? [])])];
  if (warnings.length > 0 && verdict.works === true) verdict.text = `${verdict.text.replace(/^works end to end: /, 'works at the packet level: ')}; ${warningsText(warnings)}`;
  return { ...verdict, warnings };
}

/** `warning: CODE: sentence; warning: ...` (reasons.ts holds the sentences). */
function warningsText(codes: string[]): string {
  return codes.map((c) => `warning: ${c}: ${reasonSentence(reasonId(c))}`).join('; ');
}

function judgeWalks(reqJ: Judged, plan: ReplyPlan, repJ: Judged | null, mismatch: string | null): Omit<Conversation, 'warnings'> {
  const req = reqJ.walk;
  const rep = repJ?.walk ?? null;
  const v = req.final.verdict;
  const fail = (code: Conversation['code'], text: string, b: BrokenBy | null): Omit<Conversation, 'warnings'> => ({ works: false, code, text, broken_by: b });
  if (v === 'ignored') return fail('request-ignored', `nothing to walk: ${req.final.sentence ?? 'the request is not judged'}`, null);
  if (v === 'dropped') return fail('request-dropped', 'fails: the request is dropped', brokenBy('request', reqJ));
  const unanswered = plan.line === null && plan.answered; // nothing answers it (checked before no-return: no reply is lost)
  if (v === 'no-return' && !unanswered) return fail('no-return', 'fails: the request leaves, but no reply comes back', brokenBy('request', reqJ));
  if (plan.line === null || rep === null) {
    const why = plan.line === null ? plan.why : '';
    return { works: unanswered ? true : null, code: unanswered ? 'no-reply-expected' : 'reply-not-walked', text: `the request is ${v} (${req.final.egress ?? '-'} at ${req.final.node ?? '-'}${req.final.reason !== null ? `: ${req.final.reason}` : ''}); no reply: ${why}`, broken_by: null };
  }
  const rv = rep.final.verdict;
  if (rv === 'dropped') return fail('reply-dropped', 'fails: the request arrives, but its reply is dropped', brokenBy('reply', repJ!));
  if (rv === 'ignored' || rv === 'no-return') return fail('reply-ignored', `fails: the request arrives, but its reply is ${rv}`, brokenBy('reply', repJ!));
  if (mismatch !== null) return fail('reply-mismatch', `fails: the reply reaches the sender as ${mismatch}, which is not the connection it opened`, brokenBy('reply', repJ!));
  return { works: true, code: 'works', text: `works end to end: the request is ${v} (${req.final.egress ?? '-'} at ${req.final.node ?? '-'}) and the reply is ${rv} (${rep.final.egress ?? '-'} at ${rep.final.node ?? '-'})`, broken_by: null };
}

/** Two verdicts that answer the same (the what-if is not shown when flipping the setting changes nothing). */
function sameAnswer(a: Conversation, b: Conversation): boolean {
  return a.code === b.code && a.works === b.works && a.text === b.text && a.broken_by?.reason === b.broken_by?.reason;
}

/** What the walk assumes about the world outside the node, and the profile settings that decide it. */
function assumptions(w: Walked, profile: WindowsProfile): string[] {
  const out = [`profile ${profile.name}: ${REPLY_SETTINGS.map((k) => `${k}=${String(profile[k])}`).join(', ')} (src/vfp/profile.ts; --windows help)`];
  if (w.ipv6) out.push(IPV6_ASSUMED);
  if (w.plan.line !== null) out.push(`${w.plan.how}, at once (no flow has expired)`);
  if (w.plan.line !== null && !w.plan.arrives) out.push('the reply does not reach the node (the request was no-return); its walk shows what the node would do if the network carried it back');
  const facts = w.diagnostics.filter((d) => d.code === 'config-assumed').map((d) => d.source);
  if (facts.length > 0) out.push(`facts no input states (config-assumed; \`vfp-emu rules\` and --format json give each value): ${facts.join(', ')}`);
  const other = w.diagnostics.length - facts.length;
  if (other > 0) out.push(`${other} other config diagnostic(s) (--format json, \`vfp-emu rules\`): ${[...new Set(w.diagnostics.filter((d) => d.code !== 'config-assumed').map((d) => d.code))].join(', ')}`);
  return out;
}

interface TraceAnswer {
  flow: string;
  line: string;
  main: Walked;
  whatIf: { windows: string; verdict: Conversation } | null;
  assumed: string[];
}

/** Walks FLOW and, when a profile setting decides what broke it, again with that setting flipped. */
export function traceFlow(flow: string, clusterFiles: string[], opts: TraceOptions): TraceAnswer {
  const { line, frame } = flowFrame(flow);
  if (clusterFiles.length === 0) throw new UsageError('give the cluster with --cluster FILE (repeatable)');
  const { cluster } = loadClusterFiles(clusterFiles, { maxConfigBytes: opts.maxConfigBytes });
  const profile = resolveProfile(opts.windows);
  const main = walkConversation(cluster, frame, opts);
  const reason = main.verdict.broken_by?.reason ?? null;
  const flip = reason !== null ? WHAT_IF[reason] : undefined;
  let whatIf: TraceAnswer['whatIf'] = null;
  if (flip !== undefined && String(profile[flip.key]) !== flip.value) {
    const windows = withSetting(opts.windows, flip.key, flip.value);
    const verdict = walkConversation(cluster, frame, { ...opts, windows }).verdict;
    if (!sameAnswer(verdict, main.verdict)) whatIf = { windows, verdict };
  }
  return { flow, line, main, whatIf, assumed: assumptions(main, profile) };
}

/** The answer as JSON: {flow, line, request, reply_plan, reply, verdict, what_if, assumed, diagnostics}. */
export function traceJson(t: TraceAnswer): string {
  const m = t.main;
  const plan = m.plan.line !== null ? { line: m.plan.line, from: m.plan.from, how: m.plan.how, arrives: m.plan.arrives } : { line: null, why: m.plan.why, answered: m.plan.answered };
  const diagnostics = m.diagnostics.map((d) => ({ code: d.code, source: d.source, message: d.message }));
  return JSON.stringify({ flow: t.flow, line: t.line, request: m.request, reply_plan: plan, reply: m.reply, verdict: m.verdict, what_if: t.whatIf, assumed: t.assumed, diagnostics }, null, 2) + '\n';
}

/** The answer in words: the request's walk, the reply's, then the verdict, what breaks it, the what-if and what was assumed. */
export function traceText(t: TraceAnswer): string {
  const m = t.main;
  const own = (...lines: string[]): string => lines.map(safeText).join('\n') + '\n'; // the walks' texts are escaped already
  let text = own(`Request: ${t.line}`, '') + m.requestText + '\n';
  if (m.plan.line !== null) text += own(`Reply: ${m.plan.line}`, `(${m.plan.how}${m.plan.arrives ? '' : '; it would not reach the node: the request was no-return'})`, '') + m.replyText + '\n';
  else text += own(`Reply: none (${m.plan.why})`, '');
  const lines = [`Conversation: ${m.verdict.text}`];
  const b = m.verdict.broken_by;
  if (b !== null) {
    lines.push(`Broken at: the ${b.walk}, ${brokenText(b)}`);
    if (b.sentence !== null) lines.push(`Why, and what to change: ${b.sentence}`);
  }
  if (t.whatIf !== null) lines.push(`What if (--windows ${t.whatIf.windows}): ${t.whatIf.verdict.text}`);
  lines.push('Assumed:', ...t.assumed.map((x) => `  - ${x}`));
  return text + own(...lines);
}

export async function runTraceCommand(a: ParsedArgs): Promise<number> {
  const flow = a.positional.join(' ').trim();
  if (flow === '') throw new UsageError(`trace needs a FLOW: ${FLOW_SYNTAX}`);
  const answer = traceFlow(flow, flagList(a, 'cluster'), {
    windows: flagString(a, 'windows'),
    seed: flagInt(a, 'seed', 1),
    view: (flagString(a, 'view') ?? 'pod') as 'pod' | 'wire',
    maxConfigBytes: flagInt(a, 'max-config-bytes', DEFAULT_MAX_CONFIG_BYTES),
    detail: (flagString(a, 'detail') ?? 'full') as Detail,
    vxlanPorts: flagList(a, 'vxlan-port').map(Number),
    allNodes: a.flags.has('all-nodes'),
  });
  writeStdout(flagString(a, 'format') === 'json' ? traceJson(answer) : traceText(answer));
  return 0;
}
