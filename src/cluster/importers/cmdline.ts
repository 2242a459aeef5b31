/**
 * kube-proxy command lines as Windows nodes start it (kubeproxy-flags.ts reads the flags):
 * - a file holding the command line: `kube-proxy.exe --v=4 --proxy-mode=kernelspace ...`, or PowerShell's
 *   `& "$env:CONTAINER_SANDBOX_MOUNT_POINT/kube-proxy/kube-proxy.exe" --flag=... `` (backtick continuations, as
 *   sig-windows-tools' hostprocess start.ps1 builds it), or `wins cli process run --path .../kube-proxy.exe
 *   --args "..."` (sig-windows-tools kubeadm/kube-proxy/kube-proxy.yml @ 12a6e44a, rancher wins);
 * - a script (a ConfigMap's run-script.ps1, a container's `-c` script, a node's kubeproxystart.ps1) in which
 *   such a command is one line.
 * Detection is by content: the file's first command (comment lines skipped) runs a program whose file name
 * is kube-proxy or kube-proxy.exe (any path, quotes, a leading `&`), directly or through wins.
 * Other commands of the file are named in an info diagnostic (read, not used), never dropped silently.
 */

import { InputError } from '../../core/errors';
import type { Draft } from '../draft';
import type { Field, Where } from '../source';
import { applyKubeNetworkEnv, importKubeProxyArgs, type Arg } from './kubeproxy-flags';
import { dialectOf, shellCommands, ShellSyntaxError, type Command, type Word } from './shell-words';

/** The file name of a program path (`C:\k\kube-proxy.exe`, `"$env:X/kube-proxy/kube-proxy.exe"`), lower case. */
function programName(word: string): string {
  const w = word.replace(/^&/, '');
  return w.slice(Math.max(w.lastIndexOf('/'), w.lastIndexOf('\\')) + 1).toLowerCase();
}

const isKubeProxy = (word: string): boolean => programName(word) === 'kube-proxy' || programName(word) === 'kube-proxy.exe';

/** The words of a command without a leading PowerShell call operator `&` or sh `NAME=value` prefixes. */
function program(cmd: Command): Word[] {
  if (cmd.words[0].text === '&') return cmd.words.slice(1);
  let i = 0;
  while (i < cmd.words.length - 1 && /^[A-Za-z_][A-Za-z0-9_]*=/.test(cmd.words[i].text)) i++;
  return cmd.words.slice(i);
}

/** An environment variable a command line sets (`$env:KUBE_NETWORK="Calico"`, `export KUBE_NETWORK=x`, `set X=y`, `X=y cmd`). */
export interface EnvSetting {
  name: string;
  value: string;
  dynamic: boolean;
  line: number;
  start: number;
}

/** The variables one command sets, before or instead of running a program. */
function envSettings(cmd: Command): EnvSetting[] {
  const w = cmd.words;
  const one = (name: string, value: string, dynamic: boolean, at: Word): EnvSetting => ({ name, value, dynamic, line: cmd.line, start: at.start });
  const ps = /^\$env:([A-Za-z_][A-Za-z0-9_]*)(=[\s\S]*)?$/i.exec(w[0].text);
  if (ps !== null) {
    // The name itself made the word dynamic; the value is dynamic when it holds a `$` of its own.
    const value = ps[2] !== undefined ? ps[2].slice(1) : w[1]?.text === '=' ? (w[2]?.text ?? '') : (w[1]?.text ?? '').replace(/^=/, '');
    return [one(ps[1], value, value.includes('$'), w[0])];
  }
  const out: EnvSetting[] = [];
  const from = w[0].text === 'export' || w[0].text.toLowerCase() === 'set' ? 1 : 0;
  for (let i = from; i < w.length; i++) {
    const m = /^([A-Za-z_][A-Za-z0-9_]*)=([\s\S]*)$/.exec(w[i].text);
    if (m === null) break;
    out.push(one(m[1], m[2], w[i].dynamic, w[i]));
  }
  return out;
}

/** True when a command only sets variables. */
function onlySetsEnv(cmd: Command): boolean {
  const env = envSettings(cmd);
  return env.length > 0 && (/^\$env:/i.test(cmd.words[0].text) || program(cmd).length === 0 || env.length === cmd.words.length - (cmd.words[0].text === 'export' || cmd.words[0].text.toLowerCase() === 'set' ? 1 : 0));
}

/** The value of `--name value` / `--name=value` among `words` (wins' own flags), or undefined. */
function winsFlag(words: Word[], name: string): Word | undefined {
  for (let i = 0; i < words.length; i++) {
    const t = words[i].text;
    if (t === `--${name}` && i + 1 < words.length) return words[i + 1];
    if (t.startsWith(`--${name}=`)) return { ...words[i], text: t.slice(name.length + 3) };
  }
  return undefined;
}

/** How a found kube-proxy command reaches its arguments: directly, or through `wins ... --args "..."`. */
export interface KubeProxyCommand {
  line: number;
  /** The argument words after the program name (from --args, re-split, for wins). */
  args: Word[];
  via: 'direct' | 'wins';
}

/** How a command runs kube-proxy: directly, through wins, or not at all. */
function runsKubeProxy(cmd: Command): 'direct' | 'wins' | null {
  const words = program(cmd);
  if (words.length === 0) return null;
  if (isKubeProxy(words[0].text)) return 'direct';
  const wins = programName(words[0].text);
  if ((wins !== 'wins' && wins !== 'wins.exe') || !words.some((w) => w.text === 'run')) return null;
  const path = winsFlag(words, 'path');
  return path !== undefined && isKubeProxy(path.text) ? 'wins' : null;
}

/** The kube-proxy invocation in one command, or null. Throws ShellSyntaxError when wins' --args does not split. */
function kubeProxyOf(cmd: Command, text: string): KubeProxyCommand | null {
  const how = runsKubeProxy(cmd);
  if (how === null) return null;
  const words = program(cmd);
  if (how === 'direct') return { line: cmd.line, args: words.slice(1), via: 'direct' };
  const argsWord = winsFlag(words, 'args');
  if (argsWord === undefined) return { line: cmd.line, args: [], via: 'wins' };
  // wins hands --args to the program as one string, split at blanks (UNCONFIRMED: rancher/wins not read;
  // quotes inside --args are honoured as a shell would); the variables the shell expanded in
  // it are still written out (`$env:NODE_NAME`), so re-splitting marks the words that hold them.
  const quoted = text[argsWord.start] === '"' || text[argsWord.start] === "'";
  const inner = shellCommands(argsWord.text, dialectOf(text), argsWord.start + (quoted ? 1 : 0)).flatMap((c) => c.words);
  return { line: cmd.line, args: inner, via: 'wins' };
}

/** Every kube-proxy command of a text, the KUBE_NETWORK settings, and the other commands (their first word and line). */
export function findKubeProxyCommands(text: string): { found: KubeProxyCommand[]; kubeNetwork: EnvSetting[]; others: string[]; yqEdits: string[] } {
  const found: KubeProxyCommand[] = [];
  const kubeNetwork: EnvSetting[] = [];
  const others: string[] = [];
  const yqEdits: string[] = [];
  for (const cmd of shellCommands(text)) {
    const w = program(cmd).map((x) => x.text);
    // `yq w -i FILE KEY VALUE` (yq v3): the script edits kube-proxy's config file before starting it.
    if (w.length >= 5 && programName(w[0]).startsWith('yq') && w[1] === 'w') yqEdits.push(w.slice(w[2] === '-i' ? 3 : 2).join(' '));
    kubeNetwork.push(...envSettings(cmd).filter((e) => e.name.toUpperCase() === 'KUBE_NETWORK'));
    const kp = kubeProxyOf(cmd, text);
    if (kp !== null) found.push(kp);
    else if (!onlySetsEnv(cmd) || !envSettings(cmd).some((e) => e.name.toUpperCase() === 'KUBE_NETWORK')) others.push(`line ${cmd.line}: ${program(cmd)[0]?.text ?? '&'}`);
  }
  return { found, kubeNetwork, others, yqEdits };
}

const KUBE_PROXY_NAME = /kube-proxy/i;

/** True when the text's first command runs kube-proxy (the detection of a command-line file). */
export function looksLikeKubeProxyCommandLine(text: string): boolean {
  const head = text.slice(0, 8192);
  // Its first command names kube-proxy: a text that does not is none, told without splitting 8 KB into shell
  // words (10-40 ms cold for every kubectl JSON file; issue 12 start-up). Not seen: a name written with
  // quotes or escapes inside it (kube"-"proxy), which no start script does.
  if (!KUBE_PROXY_NAME.test(head)) return false;
  const dialect = dialectOf(head);
  let cmds: Command[] = [];
  // A quote closed past the head (or never): split up to the quote, in the head's dialect.
  for (let end = head.length; cmds.length === 0 && end > 0; ) {
    try {
      cmds = shellCommands(head.slice(0, end), dialect);
      break;
    } catch (e) {
      if (!(e instanceof ShellSyntaxError)) throw e;
      end = Math.min(e.at, end - 1);
    }
  }
  // Variables set before it (`$env:KUBE_NETWORK="Calico"`) do not count as the first command.
  const first = cmds.find((c) => !onlySetsEnv(c));
  return first !== undefined && runsKubeProxy(first) !== null;
}

/** Env KUBE_NETWORK as the command lines set it: the network name kube-proxy falls back to (domain.md 1.2). */
function applyKubeNetwork(list: EnvSetting[], draft: Draft, where: (e: EnvSetting) => Where): void {
  for (const e of list) applyKubeNetworkEnv(draft, e.dynamic ? null : e.value, `=${e.value}`, where(e));
}

/** Lines of a text, found once: the 1-based line of an index by binary search (a file may hold many arguments). */
function lineIndex(text: string): (index: number) => number {
  const starts = [0];
  for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) starts.push(i + 1);
  return (index) => {
    let lo = 0;
    let hi = starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (starts[mid] <= index) lo = mid;
      else hi = mid - 1;
    }
    return lo + 1;
  };
}

/** Byte offset, line and column of an index in a text (for an error: once per run). */
function position(text: string, index: number): { offset: number; line: number; col: number } {
  const before = text.slice(0, index);
  const nl = before.lastIndexOf('\n');
  return { offset: new TextEncoder().encode(before).length, line: lineIndex(before)(index), col: index - nl };
}

/** A command-line file: every kube-proxy command in it read; errors name the byte offset, line and flag. */
export function importKubeProxyCommandFile(file: string, text: string, draft: Draft): void {
  const body = text.replace(/^\uFEFF/, '');
  let result: ReturnType<typeof findKubeProxyCommands>;
  try {
    result = findKubeProxyCommands(body);
  } catch (e) {
    if (!(e instanceof ShellSyntaxError)) throw e;
    const p = position(body, e.at);
    throw new InputError(file, { offset: p.offset }, `${e.message} (line ${p.line}, column ${p.col})`);
  }
  applyKubeNetwork(result.kubeNetwork, draft, (e) => ({ file, path: `line ${e.line} KUBE_NETWORK` }));
  const lineOf = lineIndex(body);
  for (const kp of result.found) {
    const args: Arg[] = kp.args.map((w) => {
      const flag = w.text.replace(/=[\s\S]*$/, '');
      return {
        text: w.text,
        dynamic: w.dynamic,
        where: { file, path: `line ${lineOf(w.start)} ${flag}` },
        fail: (detail: string): never => {
          const p = position(body, w.start);
          throw new InputError(file, { offset: p.offset }, `${detail} (line ${p.line}, column ${p.col})`);
        },
      };
    });
    importKubeProxyArgs(args, draft, `the command line of ${file} (line ${kp.line})`, { file, path: `line ${kp.line}` });
  }
  if (result.others.length > 0) {
    draft.note('config-ignored', 'info', `commands that do not run kube-proxy, read and not used: ${result.others.join('; ')}`, file);
  }
}

/**
 * A script file that starts kube-proxy among other commands (a node's `c:\\k\\kubeproxystart.ps1` as aks-engine
 * writes it: `$env:KUBE_NETWORK = "l2bridge"`, a wait loop for the HNS network, then `c:\\k\\kube-proxy.exe
 * --v=3 --proxy-mode=kernelspace ...`), which is no YAML kubectl output and whose first command is not
 * kube-proxy: read as a command-line file when it runs kube-proxy on exactly one line; returns false when it
 * runs it on none (or does not split into commands). A script that runs it on several lines (an if/else on a
 * setting read when it runs) is refused naming them: which one runs is not known here.
 */
export function importKubeProxyScriptFile(file: string, text: string, draft: Draft): boolean {
  const body = text.replace(/^\uFEFF/, '');
  let found: KubeProxyCommand[];
  try {
    found = findKubeProxyCommands(body).found;
  } catch (e) {
    if (!(e instanceof ShellSyntaxError)) throw e;
    return false;
  }
  if (found.length === 0) return false;
  if (found.length > 1) {
    const lines = found.map((k) => k.line).join(', ');
    throw new InputError(file, { fieldPath: `line ${found[1].line}` }, `the script runs kube-proxy on ${found.length} lines (${lines}); which one runs is decided when the script runs, so it is not read: give the command line it runs instead (a file holding \`kube-proxy.exe --flag=value ...\`)`);
  }
  importKubeProxyCommandFile(file, text, draft);
  return true;
}

/**
 * A script held in a config field (a ConfigMap's run-script.ps1, a container's `-c` / `-Command` string):
 * its kube-proxy commands are read; returns false when it runs none. Errors name the field and the line.
 */
export function importKubeProxyScript(f: Field, script: string, draft: Draft): boolean {
  let result: ReturnType<typeof findKubeProxyCommands>;
  try {
    result = findKubeProxyCommands(script);
  } catch (e) {
    if (!(e instanceof ShellSyntaxError)) throw e;
    return false;
  }
  if (result.found.length === 0) return false;
  applyKubeNetwork(result.kubeNetwork, draft, (e) => ({ file: f.where.file, path: `${f.where.path} line ${e.line} KUBE_NETWORK` }));
  const lineOf = lineIndex(script);
  for (const kp of result.found) {
    const args: Arg[] = kp.args.map((w) => {
      const line = lineOf(w.start);
      const where: Where = { file: f.where.file, path: `${f.where.path} line ${line}` };
      return { text: w.text, dynamic: w.dynamic, where, fail: (detail: string): never => f.fail(`line ${line} of the script: ${detail}`) };
    });
    importKubeProxyArgs(args, draft, `the script at ${f.where.path} (line ${kp.line})`, { file: f.where.file, path: `${f.where.path} line ${kp.line}` });
  }
  if (result.yqEdits.length > 0) {
    draft.note('config-ignored', 'info', `the script edits kube-proxy's config file with yq before starting it (${result.yqEdits.join('; ')}); a config file given with --cluster is read as given, without these edits`, f.where);
  }
  return true;
}
