/**
 * The teaching page's UI (plain DOM, no framework): draws what native-free/core.ts computes.
 *
 * Uses: the elements of native-free/index.html (by id), the embedded Lesson, and core.ts's Session.
 * On start it replays the lesson and shows one table row per packet (n, the packet in words, verdict,
 * reason with its sentence, node, ingress → egress, the packet as it leaves); clicking a row (or Enter,
 * or the arrow keys) opens the `explain` walk of that packet under it. A user can drop or choose their
 * own capture and cluster files and replay them the same way, and download the output trace as pcapng.
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
  safeMessage,
  type ClusterText,
  type Lesson,
  type PacketRow,
  type RunInput,
  type RunResult,
} from '../core';

/** Rows drawn at first and per "show more" click. */
const ROWS_PER_PAGE = 1000;

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
  drawn: number;
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
  run(`Lesson: ${lesson.name}`, lessonInput(lesson), lesson);
}

/** Replays `input` and draws it; a bad input leaves the previous replay on screen and says why. */
function run(title: string, input: RunInput, lesson: Lesson | null): void {
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
  shown = { title, input, session, result, lesson, open: 0, drawn: 0 };
  drawScenario();
  drawSummary();
  drawTable();
  if (result.rows.length > 0) openRow(1, false);
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
  counts.replaceChildren(el('span', 'count-total', `${r.packets} packets:`));
  for (const v of VERDICT_NAMES) {
    const n = r.verdicts[v];
    if (n > 0) counts.append(el('span', `verdict v-${v}`, `${v} ${n}`));
  }
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

function drawTable(): void {
  const s = shown as Shown;
  const body = byId('packet-rows');
  body.replaceChildren();
  s.drawn = 0;
  drawMoreRows();
  const more = byId<HTMLButtonElement>('more-rows');
  more.onclick = () => drawMoreRows();
}

function drawMoreRows(): void {
  const s = shown as Shown;
  const body = byId('packet-rows');
  const upto = Math.min(s.result.rows.length, s.drawn + ROWS_PER_PAGE);
  for (let k = s.drawn; k < upto; k++) body.append(rowElement(s.result.rows[k]));
  s.drawn = upto;
  const more = byId<HTMLButtonElement>('more-rows');
  const left = s.result.rows.length - s.drawn;
  more.hidden = left === 0;
  more.textContent = `Show ${Math.min(left, ROWS_PER_PAGE)} more packets (${left} not shown)`;
  const note = byId('rows-note');
  note.hidden = s.result.packets <= MAX_ROWS;
  note.textContent = `The table holds the first ${MAX_ROWS} of ${s.result.packets} packets; the counts above and the download cover them all.`;
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
  if (lp !== undefined && lp.why !== '') what.append(el('div', 'ref', `“${lp.why}”`));
  tr.append(what);
  const verdict = el('td', 'verdict-cell');
  verdict.append(el('span', `verdict v-${r.verdict}`, r.verdict));
  if (lp !== undefined) {
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

/** Opens the explanation of packet `n` under its row (closing the one that was open). */
function openRow(n: number, focus: boolean): void {
  const s = shown as Shown;
  document.getElementById('explain-row')?.remove();
  document.querySelector('tr.packet.open')?.classList.remove('open');
  while (n > s.drawn && s.drawn < s.result.rows.length) drawMoreRows();
  const tr = document.getElementById(`packet-${n}`);
  if (tr === null) return;
  s.open = n;
  tr.classList.add('open');
  const row = s.result.rows[n - 1];
  const detail = el('tr');
  detail.id = 'explain-row';
  const td = el('td');
  td.colSpan = 7;
  const box = el('div', 'explain');
  box.append(el('h3', undefined, `Step by step: packet ${n}, ${row.words}`));
  if (row.reasonSentence !== null) {
    const callout = el('p', `callout v-${row.record.verdict}`);
    callout.append(el('strong', undefined, `${row.record.verdict}: `), el('span', undefined, row.reasonSentence));
    box.append(callout);
  }
  let text: string;
  try {
    text = s.session.explain(n);
  } catch (e) {
    text = errorMessage(e);
  }
  box.append(el('pre', 'explain-text', text));
  const nav = el('div', 'explain-nav');
  const prev = el('button', undefined, '◀ previous packet');
  prev.disabled = n <= 1;
  prev.addEventListener('click', () => openRow(n - 1, true));
  const next = el('button', undefined, 'next packet ▶');
  next.disabled = n >= s.result.rows.length;
  next.addEventListener('click', () => openRow(n + 1, true));
  nav.append(prev, next);
  box.append(nav);
  td.append(box);
  detail.append(td);
  tr.after(detail);
  if (focus) {
    tr.focus({ preventScroll: true });
    tr.scrollIntoView({ block: 'start', behavior: 'smooth' });
  }
}

function onKey(e: KeyboardEvent): void {
  const s = shown;
  if (s === null) return;
  const target = e.target as HTMLElement;
  const n = Number(target.dataset?.packet ?? s.open);
  if (e.key === 'Enter' || e.key === ' ') openRow(n, true);
  else if (e.key === 'ArrowDown' && n < s.result.rows.length) openRow(n + 1, true);
  else if (e.key === 'ArrowUp' && n > 1) openRow(n - 1, true);
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
