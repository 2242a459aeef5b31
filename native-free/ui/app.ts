/**
 * The teaching page's UI (plain DOM, no framework): draws what native-free/core.ts computes.
 *
 * Uses: the elements of native-free/index.html (by id), the embedded Lesson, and core.ts's Session.
 * On start it replays the lesson and shows one table row per packet (n, the packet in words, verdict,
 * reason with its sentence, node, ingress → egress, the packet as it leaves); clicking a row (or Enter,
 * or the arrow keys) opens the walk of that packet under it: the path diagram the HTML report draws
 * (src/report/path-diagram.ts, from the walk as data) with explain's text beside it. On the lesson, two
 * what-ifs (core.ts LESSON_WHAT_IFS) replay it with another cluster input or profile and mark each packet
 * whose verdict or reason changes, with what it was. The verdict buttons above the table filter it (with
 * the counts); the table shows PAGE_ROWS rows at a time, paged, so a capture of any size draws at most that
 * many rows (the core keeps rows for the first MAX_ROWS packets; the counts cover all). A user can drop or
 * choose their own capture and cluster files and replay them the same way, and download the output trace.
 *
 * Compiled only by native-free/build.ts (with the DOM library); the rest of the project never sees it.
 */

import {
  Session,
  WINDOWS_PROFILES,
  DEFAULT_PROFILE,
  decodeClusterFile,
  lessonInput,
  looksLikeCapture,
  errorMessage,
  MAX_ROWS,
  VERDICT_NAMES,
  LESSON_WHAT_IFS,
  changedRows,
  pathSvg,
  safeMessage,
  whatIfInput,
  type ClusterText,
  type Lesson,
  type PacketRow,
  type RunInput,
  type RunResult,
} from '../core';

/** Rows of one page of the table: the most the table ever draws (the rule that keeps a big capture responsive). */
export const PAGE_ROWS = 100;
/** Width of the path diagram in the explain row (it fits beside the text in a 1024-pixel window). */
const DIAGRAM_WIDTH = 540;

/** An element holding `text` as text (never HTML), escaped as the CLI escapes names, line by line: a U+202E in a pod name cannot reorder a cell. */
function el<K extends keyof HTMLElementTagNameMap>(tag: K, cls?: string, text?: string): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  if (cls !== undefined) e.className = cls;
  if (text !== undefined) e.textContent = safeMessage(text);
  return e;
}

function byId<T extends HTMLElement = HTMLElement>(id: string): T {
  const e = document.getElementById(id);
  if (e === null) throw new Error(`index.html has no #${id}`);
  return e as T;
}

function bytesText(n: number): string {
  return n < 1024 ? `${n} B` : n < 1 << 20 ? `${(n / 1024).toFixed(1)} KiB` : `${(n / (1 << 20)).toFixed(1)} MiB`;
}

/** What is on screen: the input, its replay, and which row is open. */
interface Shown {
  title: string;
  input: RunInput;
  session: Session;
  result: RunResult;
  /** The lesson's packets (expected verdict and the reference's words), when the lesson is shown. */
  lesson: Lesson | null;
  open: number;
  /** The what-ifs applied (LESSON_WHAT_IFS ids) and, when some are, the packets they change: packet -> what it was. */
  whatIfs: string[];
  changed: Map<number, string>;
  /** The verdict shown ('' all) and the indices into result.rows it selects; the page of them drawn. */
  filter: string;
  view: number[];
  page: number;
}

let shown: Shown | null = null;

/** The user's files, sorted by what they look like. */
const mine: { trace: { name: string; bytes: Uint8Array } | null; cluster: (ClusterText & { size: number })[] } = { trace: null, cluster: [] };

export function startPage(lesson: Lesson): void {
  fillProfiles();
  byId('back-to-lesson').addEventListener('click', () => showLesson(lesson));
  byId('replay-mine').addEventListener('click', () => replayMine());
  byId('download-out').addEventListener('click', () => downloadOut());
  const input = byId<HTMLInputElement>('file-input');
  input.addEventListener('change', () => {
    if (input.files !== null) void addFiles(Array.from(input.files));
    input.value = '';
  });
  const drop = byId('drop-zone');
  drop.addEventListener('dragover', (e) => {
    e.preventDefault();
    drop.classList.add('over');
  });
  drop.addEventListener('dragleave', () => drop.classList.remove('over'));
  drop.addEventListener('drop', (e) => {
    e.preventDefault();
    drop.classList.remove('over');
    if (e.dataTransfer !== null) void addFiles(Array.from(e.dataTransfer.files));
  });
  // A file dropped anywhere else must not make the browser navigate away from the page.
  window.addEventListener('dragover', (e) => e.preventDefault());
  window.addEventListener('drop', (e) => e.preventDefault());
  byId('packet-table').addEventListener('keydown', (e) => onKey(e));
  byId('page-prev').addEventListener('click', () => showPage((shown as Shown).page - 1));
  byId('page-next').addEventListener('click', () => showPage((shown as Shown).page + 1));
  for (const w of LESSON_WHAT_IFS) {
    const box = byId<HTMLInputElement>(`whatif-${w.id}`);
    box.addEventListener('change', () => applyWhatIfs(lesson));
  }
  drawMine();
  showLesson(lesson);
}

function fillProfiles(): void {
  const sel = byId<HTMLSelectElement>('opt-windows');
  for (const p of WINDOWS_PROFILES) {
    const o = el('option', undefined, p.name);
    o.value = p.name;
    o.title = p.description;
    o.selected = p.name === DEFAULT_PROFILE;
    sel.append(o);
  }
}

function showError(message: string | null): void {
  const box = byId('error');
  box.textContent = message ?? '';
  box.hidden = message === null;
}

function showLesson(lesson: Lesson): void {
  for (const w of LESSON_WHAT_IFS) byId<HTMLInputElement>(`whatif-${w.id}`).checked = false;
  run(`Lesson: ${lesson.name}`, lessonInput(lesson), lesson);
}

/** Replays the lesson with the what-ifs ticked and marks the packets whose verdict or reason changes. */
function applyWhatIfs(lesson: Lesson): void {
  const ids = LESSON_WHAT_IFS.filter((w) => byId<HTMLInputElement>(`whatif-${w.id}`).checked).map((w) => w.id);
  let input = lessonInput(lesson);
  try {
    for (const id of ids) input = whatIfInput(input, id);
  } catch (e) {
    showError(errorMessage(e));
    return;
  }
  const base = ids.length === 0 ? null : new Session(lessonInput(lesson)).replay();
  run(`Lesson: ${lesson.name}`, input, lesson, ids, base);
}

/** Replays `input` and draws it; a bad input leaves the previous replay on screen and says why. */
function run(title: string, input: RunInput, lesson: Lesson | null, whatIfs: string[] = [], base: RunResult | null = null): void {
  let session: Session;
  let result: RunResult;
  try {
    session = new Session(input);
    result = session.replay();
  } catch (e) {
    showError(errorMessage(e));
    if (!(e instanceof Error && (e.name === 'InputError' || e.name === 'UsageError'))) console.error(e);
    if (shown !== null) drawScenario(); // the previous replay stays on screen
    return;
  } finally {
    document.body.classList.remove('busy');
  }
  showError(result.error === null ? null : `The capture is damaged: ${result.error}. Every packet before the fault was replayed.`);
  const changed = base === null ? new Map<number, string>() : changedRows(base, result);
  const open = shown !== null && shown.lesson !== null && lesson !== null ? shown.open : 1;
  shown = { title, input, session, result, lesson, open: 0, whatIfs, changed, filter: '', view: [], page: 0 };
  drawScenario();
  drawWhatIfs();
  drawSummary();
  setFilter('');
  if (result.rows.length > 0) openRow(Math.min(Math.max(open, 1), result.rows.length), false);
}

function drawScenario(): void {
  const s = shown as Shown;
  byId('scenario-name').textContent = s.title;
  const about = byId('scenario-about');
  about.textContent = s.lesson !== null ? s.lesson.about : '';
  about.hidden = s.lesson === null;
  const src = byId('scenario-sources');
  src.textContent = `trace ${s.input.trace.name} (${bytesText(s.input.trace.bytes.length)}); cluster ${s.input.cluster.map((c) => c.name).join(', ')}; view ${s.input.view ?? 'pod'}, Windows profile ${s.input.windows ?? DEFAULT_PROFILE}, seed ${s.input.seed ?? 1}`;
}

function drawSummary(): void {
  const r = (shown as Shown).result;
  const counts = byId('verdict-counts');
  counts.replaceChildren(el('span', 'count-total', 'Show:'));
  const chip = (filter: string, label: string): void => {
    const b = el('button', `chip${filter === '' ? '' : ` verdict v-${filter}`}`, label);
    b.type = 'button';
    b.dataset.filter = filter;
    b.setAttribute('aria-pressed', 'false');
    b.addEventListener('click', () => setFilter(filter));
    counts.append(b);
  };
  chip('', `all ${r.packets} packets`);
  for (const v of VERDICT_NAMES) if (r.verdicts[v] > 0) chip(v, `${v} ${r.verdicts[v]}`);
  const why = byId('why-list');
  why.replaceChildren();
  for (const x of r.reasons) {
    const li = el('li');
    li.append(el('code', 'reason-code', x.code), el('span', 'reason-count', ` (${x.packets} packet${x.packets === 1 ? '' : 's'}) `), el('span', 'reason-sentence', x.sentence));
    why.append(li);
  }
  for (const x of r.warnings) {
    const li = el('li', 'warning');
    li.append(el('code', 'reason-code', x.code), el('span', 'reason-count', ` (warning, ${x.packets}) `), el('span', 'reason-sentence', x.sentence));
    why.append(li);
  }
  byId('why').hidden = r.reasons.length === 0 && r.warnings.length === 0;
  const diag = byId('diagnostics-list');
  diag.replaceChildren();
  for (const d of r.diagnostics) {
    const li = el('li');
    li.append(el('code', 'reason-code', d.code), el('span', undefined, ` ${d.message} `), el('span', 'source', `[${d.source}]`));
    diag.append(li);
  }
  byId('diagnostics').hidden = r.diagnostics.length === 0;
  const dl = byId<HTMLButtonElement>('download-out');
  dl.textContent = `Download the output trace (pcapng, ${bytesText(r.outPcapng.length)})`;
}

/** The what-if panel: on the lesson only; what the ticked ones change. */
function drawWhatIfs(): void {
  const s = shown as Shown;
  byId('whatif').hidden = s.lesson === null;
  const note = byId('whatif-result');
  if (s.whatIfs.length === 0) {
    note.textContent = 'Tick a what-if: the lesson is replayed with it and each packet whose verdict changes is marked.';
    return;
  }
  const cli = LESSON_WHAT_IFS.filter((w) => s.whatIfs.includes(w.id)).map((w) => w.cli).join('; ');
  const changes = [...s.changed].map(([n, was]) => {
    const r = s.result.rows[n - 1].record;
    return `packet ${n}: ${was} → ${[r.verdict, r.reason].filter((x) => x !== null).join(' ')}`;
  });
  note.textContent = `${cli}. ${changes.length === 0 ? 'No verdict changes.' : `${changes.length} packet${changes.length === 1 ? '' : 's'} change: ${changes.join('; ')}.`}`;
}

/** Shows the rows of verdict `filter` ('' all), from the first page. */
function setFilter(filter: string): void {
  const s = shown as Shown;
  s.filter = filter;
  s.view = [];
  s.result.rows.forEach((row, k) => {
    if (filter === '' || row.record.verdict === filter) s.view.push(k);
  });
  for (const b of byId('verdict-counts').querySelectorAll<HTMLButtonElement>('button.chip')) b.setAttribute('aria-pressed', String(b.dataset.filter === filter));
  showPage(0);
}

/** Draws page `page` of the current view (PAGE_ROWS rows) and the pager. */
function showPage(page: number): void {
  const s = shown as Shown;
  const pages = Math.max(1, Math.ceil(s.view.length / PAGE_ROWS));
  s.page = Math.min(Math.max(page, 0), pages - 1);
  const body = byId('packet-rows');
  body.replaceChildren();
  const from = s.page * PAGE_ROWS;
  for (const k of s.view.slice(from, from + PAGE_ROWS)) body.append(rowElement(s.result.rows[k]));
  byId('pager').hidden = pages === 1;
  byId('page-info').textContent = `rows ${s.view.length === 0 ? 0 : from + 1}–${Math.min(from + PAGE_ROWS, s.view.length)} of ${s.view.length}, page ${s.page + 1} of ${pages}`;
  byId<HTMLButtonElement>('page-prev').disabled = s.page === 0;
  byId<HTMLButtonElement>('page-next').disabled = s.page === pages - 1;
  const note = byId('rows-note');
  note.hidden = s.result.packets <= MAX_ROWS;
  note.textContent = `The table holds the first ${MAX_ROWS} of ${s.result.packets} packets; the counts above and the download cover them all.`;
  if (s.open > 0) markOpen(s.open);
}

function rowElement(row: PacketRow): HTMLTableRowElement {
  const r = row.record;
  const s = shown as Shown;
  const tr = el('tr', 'packet');
  tr.id = `packet-${r.packet}`;
  tr.tabIndex = 0;
  tr.dataset.packet = String(r.packet);
  tr.dataset.verdict = r.verdict;
  tr.dataset.reason = r.reason ?? '';
  tr.append(el('td', 'n', String(r.packet)));
  const what = el('td', 'what');
  what.append(el('div', 'words', row.words));
  const lp = s.lesson?.packets[r.packet - 1];
  const was = s.changed.get(r.packet);
  // a what-if changed this packet: the lesson's words are about it without the what-if, and say so (dimmed)
  if (lp !== undefined && lp.why !== '') what.append(was === undefined ? el('div', 'ref', `“${lp.why}”`) : el('div', 'ref stale', `the lesson says (without the what-if): “${lp.why}”`));
  tr.append(what);
  const verdict = el('td', 'verdict-cell');
  verdict.append(el('span', `verdict v-${r.verdict}`, r.verdict));
  if (was !== undefined) {
    tr.classList.add('changed');
    verdict.append(el('div', 'was', `was: ${was}`));
  }
  if (lp !== undefined && s.whatIfs.length === 0) {
    // (the reference's words are about the lesson as it is; under a what-if the change is what is marked)
    const got = [r.verdict, r.reason].filter((x) => x !== null).join(' ');
    const ok = got === lp.expect;
    verdict.append(el('div', ok ? 'expect ok' : 'expect bad', ok ? '✓ as the reference says' : `✗ the scenario expects ${lp.expect}`));
  }
  tr.append(verdict);
  const reason = el('td', 'reason');
  if (r.reason !== null) reason.append(el('code', 'reason-code', r.reason), el('div', 'reason-sentence', row.reasonSentence ?? ''));
  for (const w of row.warnings) reason.append(el('code', 'reason-code warning', w.code), el('div', 'reason-sentence warning', w.sentence));
  tr.append(reason);
  tr.append(el('td', 'node', r.node ?? '—'));
  tr.append(el('td', 'path', `${r.ingress ?? '—'} → ${r.egress ?? '—'}`));
  const out = el('td', 'out', row.outWords ?? '—');
  if (r.service !== null) out.append(el('div', 'service', `service ${r.service} → ${r.backend ?? 'no backend'}`));
  tr.append(out);
  tr.addEventListener('click', () => openRow(r.packet, true));
  return tr;
}

/** Marks the row of packet `n` open and puts its explanation under it, when it is on the page drawn. */
function markOpen(n: number): void {
  document.getElementById('explain-row')?.remove();
  document.querySelector('tr.packet.open')?.classList.remove('open');
  const tr = document.getElementById(`packet-${n}`);
  if (tr === null) return;
  tr.classList.add('open');
  tr.after(explainRow(n));
}

/** Opens the explanation of packet `n` under its row (closing the one that was open), turning to its page. */
function openRow(n: number, focus: boolean): void {
  const s = shown as Shown;
  const at = s.view.indexOf(n - 1);
  if (at < 0) return; // filtered out
  s.open = n;
  if (Math.floor(at / PAGE_ROWS) !== s.page) showPage(Math.floor(at / PAGE_ROWS));
  else markOpen(n);
  const tr = document.getElementById(`packet-${n}`);
  if (focus && tr !== null) {
    tr.focus({ preventScroll: true });
    tr.scrollIntoView({ block: 'start', behavior: 'smooth' });
  }
}

/** The explanation of packet `n`: the path diagram and, beside it, the verdict's sentence and explain's text. */
function explainRow(n: number): HTMLTableRowElement {
  const s = shown as Shown;
  const row = s.result.rows[n - 1];
  const detail = el('tr');
  detail.id = 'explain-row';
  const td = el('td');
  td.colSpan = 7;
  const box = el('div', 'explain');
  box.append(el('h3', undefined, `Step by step: packet ${n}, ${row.words}`));
  const grid = el('div', 'explain-grid');
  const diagram = el('div', 'diagram');
  const side = el('div', 'explain-side');
  if (row.reasonSentence !== null) {
    const callout = el('p', `callout v-${row.record.verdict}`);
    callout.append(el('strong', undefined, `${row.record.verdict}: `), el('span', undefined, row.reasonSentence));
    side.append(callout);
  }
  try {
    const { text, walk } = s.session.walk(n);
    diagram.innerHTML = pathSvg(walk, { width: DIAGRAM_WIDTH, fontSize: 13 }); // every string in it is escaped (path-diagram.ts)
    side.append(el('pre', 'explain-text', text));
  } catch (e) {
    side.append(el('p', 'error', errorMessage(e)));
  }
  const nav = el('div', 'explain-nav');
  const prev = el('button', undefined, '◀ previous packet');
  prev.disabled = s.view.indexOf(n - 1) <= 0;
  prev.addEventListener('click', () => step(n, -1));
  const next = el('button', undefined, 'next packet ▶');
  next.disabled = s.view.indexOf(n - 1) >= s.view.length - 1;
  next.addEventListener('click', () => step(n, 1));
  nav.append(prev, next);
  grid.append(diagram, side);
  box.append(nav, grid);
  td.append(box);
  detail.append(td);
  return detail;
}

/** Opens the packet `by` rows before or after packet `n` in the current view. */
function step(n: number, by: number): void {
  const s = shown as Shown;
  const k = s.view[s.view.indexOf(n - 1) + by];
  if (k !== undefined) openRow(k + 1, true);
}

function onKey(e: KeyboardEvent): void {
  const s = shown;
  if (s === null) return;
  const target = e.target as HTMLElement;
  const n = Number(target.dataset?.packet ?? s.open);
  if (e.key === 'Enter' || e.key === ' ') openRow(n, true);
  else if (e.key === 'ArrowDown') step(n, 1);
  else if (e.key === 'ArrowUp') step(n, -1);
  else return;
  e.preventDefault();
}

async function addFiles(files: File[]): Promise<void> {
  for (const f of files) {
    const bytes = new Uint8Array(await f.arrayBuffer());
    if (looksLikeCapture(bytes)) mine.trace = { name: f.name, bytes };
    else {
      mine.cluster = mine.cluster.filter((c) => c.name !== f.name);
      mine.cluster.push({ name: f.name, text: decodeClusterFile(bytes), size: bytes.length });
    }
  }
  drawMine();
}

function drawMine(): void {
  const list = byId('my-files');
  list.replaceChildren();
  const item = (label: string, name: string, size: number, remove: () => void): void => {
    const li = el('li');
    const x = el('button', 'remove', '✕');
    x.title = `remove ${name}`;
    x.addEventListener('click', () => {
      remove();
      drawMine();
    });
    li.append(el('span', 'kind', label), el('span', 'name', name), el('span', 'size', bytesText(size)), x);
    list.append(li);
  };
  if (mine.trace !== null) item('trace', mine.trace.name, mine.trace.bytes.length, () => (mine.trace = null));
  for (const c of mine.cluster) item('cluster', c.name, c.size, () => (mine.cluster = mine.cluster.filter((d) => d !== c)));
  const btn = byId<HTMLButtonElement>('replay-mine');
  btn.disabled = mine.trace === null || mine.cluster.length === 0;
  byId('my-files-hint').textContent =
    mine.trace === null ? 'Add a capture (pcap or pcapng).' : mine.cluster.length === 0 ? 'Add the cluster files (kubectl YAML/JSON, cni.conf, net-conf.json, ...).' : 'Ready.';
}

function replayMine(): void {
  if (mine.trace === null || mine.cluster.length === 0) return;
  const seed = Number(byId<HTMLInputElement>('opt-seed').value);
  const input: RunInput = {
    trace: mine.trace,
    cluster: mine.cluster.map((c) => ({ name: c.name, text: c.text })),
    view: byId<HTMLSelectElement>('opt-view').value === 'wire' ? 'wire' : 'pod',
    seed: Number.isInteger(seed) ? seed : 1,
    windows: byId<HTMLSelectElement>('opt-windows').value,
  };
  // The replay runs on this thread: say so and let the browser paint before it starts.
  byId('scenario-name').textContent = `Replaying ${mine.trace.name}…`;
  document.body.classList.add('busy');
  byId('results').scrollIntoView({ block: 'start' });
  setTimeout(() => run(`Your capture: ${input.trace.name}`, input, null), 30);
}

function downloadOut(): void {
  const s = shown;
  if (s === null) return;
  const blob = new Blob([s.result.outPcapng.slice()], { type: 'application/vnd.tcpdump.pcap' });
  const url = URL.createObjectURL(blob);
  const a = el('a');
  a.href = url;
  a.download = `${s.input.trace.name.replace(/^.*\//, '').replace(/\.(pcapng|pcap|cap)$/i, '')}-out.pcapng`;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}
