/**
 * The one builder of the `vfp-emu explain ...` commands replay prints (issue 13): the lesson's "step by step"
 * hint and each failing flow's command. A printed command must run as printed after the README's install
 * (`npm ci && npm run build` in the clone), pasted into a shell in the folder replay ran in.
 *
 * Decision: the command starts the way this process was started, not `npx vfp-emu`. In the clone `npx
 * vfp-emu` finds no `vfp-emu` in node_modules/.bin (a package is not its own dependency) and would ask the
 * registry for a package of that name: another program, or none. So:
 * - run as a file (`node dist/bundle/vfp-emu.js`, the README's form; `node dist/src/cli.js`, the tests'):
 *   `node PATH`, PATH relative to the working folder when the file lies below it, else absolute;
 * - run through an npm bin link on PATH (`npm i -g`, then `vfp-emu ...`): the link's name alone;
 * - a bin link not on PATH (`npx vfp-emu` in a project that depends on it: node_modules/.bin/vfp-emu):
 *   `node node_modules/.bin/vfp-emu` (node runs the link's target).
 * Every argument is quoted for a POSIX shell (`shellQuote`). The same options as the replay (cluster files in
 * order, --windows, --seed, --view, --vxlan-port, --lenient-snaplen, --max-config-bytes, --pktmon-component) so that explain
 * decides as the replay did; not --all-nodes, which changes no decision (test/vfp-compile-nodes.test.ts), so
 * the commands of a run with and without it are the same bytes. A trace read from stdin (`-`) gives `explain -`: the capture must be
 * given on stdin again.
 *
 * No Node.js module but `path` is needed; the caller passes argv[1], cwd and PATH (worker threads get them
 * from the main thread: ReplayOptions.cli).
 */
import * as path from 'node:path';

/** `s` as one word for a POSIX shell: as it is when it holds only safe characters, else in single quotes. */
export function shellQuote(s: string): string {
  if (s !== '' && /^[A-Za-z0-9_@%+=:,./-]+$/.test(s)) return s;
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** How to start vfp-emu again, as this process was started (see the module comment). */
export function cliPrefix(argv1: string | undefined = process.argv[1], cwd = process.cwd(), pathVar = process.env.PATH ?? ''): string {
  if (argv1 === undefined || argv1 === '') return 'vfp-emu';
  const base = path.basename(argv1);
  if (!/\.[cm]?js$/.test(base)) {
    const dirs = pathVar.split(path.delimiter).filter((d) => d !== '').map((d) => path.resolve(d));
    if (dirs.includes(path.resolve(path.dirname(argv1)))) return shellQuote(base);
  }
  return `node ${shellQuote(shownPath(argv1, cwd))}`;
}

/** `p` relative to `cwd` when it lies below it, else absolute. */
function shownPath(p: string, cwd: string): string {
  const abs = path.resolve(cwd, p);
  const rel = path.relative(cwd, abs);
  return rel !== '' && !rel.startsWith('..') && !path.isAbsolute(rel) ? rel : abs;
}

/** What explain needs to decide as a replay did (a subset of ReplayOptions). */
export interface ExplainOptions {
  clusterFiles: readonly string[];
  windows?: string;
  seed: number;
  view: 'pod' | 'wire';
  vxlanPorts: readonly number[];
  strictSnaplen?: boolean;
  maxConfigBytes?: number;
  allNodes?: boolean;
  /** `--pktmon-component`: explain must judge a pktmon capture's packets at the component replay did. */
  pktmonComponent?: string;
  /** The command prefix (cliPrefix() of the main thread); default: this process's. */
  cli?: string;
}

import { DEFAULT_MAX_CONFIG_BYTES as DEFAULT_MAX_CONFIG } from '../cluster/limits';

/** `vfp-emu explain TRACE --cluster ... --packet N` for packet `packet` of `trace` (see the module comment). */
export function explainCommand(trace: string, packet: number, o: ExplainOptions, cwd = process.cwd()): string {
  const words = [o.cli ?? cliPrefix(), 'explain', shellQuote(trace === '-' ? '-' : shownPath(trace, cwd))];
  for (const f of o.clusterFiles) words.push('--cluster', shellQuote(f === '-' ? '-' : shownPath(f, cwd)));
  if (o.windows !== undefined) words.push('--windows', shellQuote(o.windows));
  if (o.seed !== 1) words.push('--seed', String(o.seed));
  if (o.view !== 'pod') words.push('--view', o.view);
  for (const p of o.vxlanPorts) words.push('--vxlan-port', String(p));
  if (o.strictSnaplen === false) words.push('--lenient-snaplen');
  if (o.maxConfigBytes !== undefined && o.maxConfigBytes !== DEFAULT_MAX_CONFIG) words.push('--max-config-bytes', String(o.maxConfigBytes));
  if (o.pktmonComponent !== undefined) words.push('--pktmon-component', shellQuote(o.pktmonComponent));
  words.push('--packet', String(packet));
  return words.join(' ');
}
