/**
 * Builds the teaching page's script: one self-contained file, native-free/dist/vfp-emu-page.js, that
 * native-free/index.html loads (from file:// too: nothing is fetched at run time).
 *
 *   node dist/native-free/build.js [--out FILE]
 *
 * Steps:
 *   1. Compile the page's TypeScript (native-free/ui/app.ts, native-free/core.ts and the modules of src/
 *      they import) with the TypeScript compiler API, in memory: the options of tsconfig.json plus the DOM
 *      library, which the rest of the project does not see. A type error stops the build.
 *   2. Collect the CommonJS modules the entry points require, transitively: the compiled ones, JSON files
 *      (the scenario schema) and the `yaml` package's CommonJS build from node_modules (pure JavaScript).
 *   3. Wrap each in `function (require, module, exports)` and add a tiny loader that resolves each
 *      module's requires through a table fixed at build time. Node built-ins are not bundled: requiring
 *      one throws, naming it and the module that asked (io/source.ts and io/writer.ts load node:fs lazily,
 *      on the file-descriptor path only). Two exceptions, which yaml's CommonJS build requires and has
 *      browser fallbacks for: `process` (it reads the debug switches process.env.LOG_TOKENS / LOG_STREAM
 *      and process.emitWarning) and `buffer` (its !!binary tag uses Buffer when there is one, else atob)
 *      get empty stand-ins.
 *   4. Embed the ICMP lesson (traces/04-icmp-lesson: its cluster files as text, its trace as base64,
 *      its packets' expected verdicts and the reference's words) as the Lesson of native-free/core.ts.
 *
 * The bundle sets `globalThis.vfpEmuPage` (the exports of core.ts plus `lesson`) and, where there is a
 * `document`, starts the page (ui/app.ts). The output depends only on the sources: same sources, same bytes.
 */

import * as fs from 'node:fs';
import { isBuiltin } from 'node:module';
import * as path from 'node:path';
import * as ts from 'typescript';
import { loadScenario } from '../src/scenario/scenario';
import type { Lesson } from './core';

/** The scenario the page opens with. */
export const LESSON_SCENARIO = '04-icmp-lesson';
/** Where the bundle goes by default, relative to the repository root. */
export const DEFAULT_OUT = 'native-free/dist/vfp-emu-page.js';

const ENTRY_CORE = 'native-free/core.js';
const ENTRY_APP = 'native-free/ui/app.js';

/** Built-ins the bundle stands in for (everything else throws when required). */
const BUILTIN_STANDINS: Record<string, string> = {
  buffer: 'module.exports = {};',
  process: 'module.exports = { env: {} };',
};

/** The repository root: the nearest folder above `from` with a package.json. */
export function repoRoot(from: string = __dirname): string {
  let dir = from;
  while (!fs.existsSync(path.join(dir, 'package.json'))) {
    const up = path.dirname(dir);
    if (up === dir) throw new Error(`no package.json above ${from}`);
    dir = up;
  }
  return dir;
}

const posix = (p: string): string => p.split(path.sep).join('/');

/** Step 1: the page's modules compiled to CommonJS, by id (path from the root, `.js`/`.json`). */
function compilePage(root: string, warn: (message: string) => void): Map<string, string> {
  const configFile = path.join(root, 'tsconfig.json');
  const read = ts.readConfigFile(configFile, (f) => ts.sys.readFile(f));
  if (read.error) throw new Error(ts.flattenDiagnosticMessageText(read.error.messageText, '\n'));
  const raw = read.config as { compilerOptions?: Record<string, unknown> };
  const outDir = path.join(root, '.page-build'); // never written: emit goes to memory
  const config = {
    ...raw,
    compilerOptions: { ...raw.compilerOptions, lib: ['ES2022', 'DOM'], sourceMap: false, declaration: false, outDir, rootDir: '.', noEmitOnError: false },
    include: [],
    files: ['native-free/ui/app.ts', 'native-free/core.ts'],
  };
  const parsed = ts.parseJsonConfigFileContent(config, ts.sys, root, undefined, configFile);
  const program = ts.createProgram(parsed.fileNames, parsed.options);
  const diagnostics = [...parsed.errors, ...ts.getPreEmitDiagnostics(program)];
  const host: ts.FormatDiagnosticsHost = { getCanonicalFileName: (f) => f, getCurrentDirectory: () => root, getNewLine: () => '\n' };
  const pageDir = path.join(root, 'native-free') + path.sep;
  const ours = diagnostics.filter((d) => d.file === undefined || path.resolve(d.file.fileName).startsWith(pageDir));
  if (ours.length > 0) throw new Error(`the page does not compile:\n${ts.formatDiagnostics(ours, host)}`);
  // Type errors elsewhere are the project build's to report (`tsc -p .` also emits despite them).
  if (diagnostics.length > 0) warn(`type errors outside native-free/ (the bundle is built anyway, as tsc would):\n${ts.formatDiagnostics(diagnostics, host)}`);
  const out = new Map<string, string>();
  const result = program.emit(undefined, (file, text) => {
    if (file.endsWith('.js') || file.endsWith('.json')) out.set(posix(path.relative(outDir, file)), text);
  });
  if (result.emitSkipped) throw new Error('the page compiled but TypeScript emitted nothing');
  return out;
}

interface Module {
  id: string;
  code: string;
  /** Request string -> module id (`builtin:NAME` for Node built-ins). */
  deps: Record<string, string>;
}

const REQUIRE = /\brequire\((['"])([^'"\n]+)\1\)/g;

/** Steps 2 and 3: every module reachable from the entries, sorted by id. */
function collectModules(root: string, compiled: Map<string, string>, entries: string[]): Module[] {
  const text = (id: string): string | undefined => {
    const c = compiled.get(id);
    if (c !== undefined) return c;
    const file = path.join(root, id);
    return id.startsWith('node_modules/') && fs.existsSync(file) && fs.statSync(file).isFile() ? fs.readFileSync(file, 'utf8') : undefined;
  };
  const resolve = (from: string, req: string): string => {
    if (isBuiltin(req)) return `builtin:${req.replace(/^node:/, '')}`;
    if (req.startsWith('.')) {
      const base = path.posix.join(path.posix.dirname(from), req);
      for (const c of [base, `${base}.js`, `${base}.json`, `${base}/index.js`]) if (text(c) !== undefined) return c;
      throw new Error(`${from}: cannot find '${req}'`);
    }
    return posix(path.relative(root, require.resolve(req, { paths: [root] })));
  };
  const modules = new Map<string, Module>();
  const queue = [...entries];
  while (queue.length > 0) {
    const id = queue.pop() as string;
    if (modules.has(id)) continue;
    const src = text(id);
    if (src === undefined) throw new Error(`module ${id} not found`);
    const deps: Record<string, string> = {};
    let code: string;
    if (id.endsWith('.json')) code = `module.exports = ${JSON.stringify(JSON.parse(src))};`;
    else {
      code = src.replace(/^\/\/# sourceMappingURL=.*$/m, '').trimEnd();
      for (const m of code.matchAll(REQUIRE)) {
        const to = resolve(id, m[2]);
        deps[m[2]] = to;
        if (!to.startsWith('builtin:')) queue.push(to);
      }
    }
    modules.set(id, { id, code, deps });
  }
  return [...modules.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

/** Step 4: the embedded lesson, read from traces/ with the scenario loader. */
export function readLesson(root: string, id: string = LESSON_SCENARIO): Lesson {
  const traces = path.join(root, 'traces');
  const s = loadScenario(path.join(traces, id));
  const traceFile = path.join(s.dir, 'trace.pcapng');
  return {
    id,
    name: s.name,
    about: s.about.trim(),
    view: s.view,
    seed: s.seed,
    windows: s.windows,
    cluster: s.clusterFiles.map((f) => ({ name: posix(path.relative(traces, f)), text: fs.readFileSync(f, 'utf8') })),
    trace: { name: posix(path.relative(traces, traceFile)), base64: fs.readFileSync(traceFile).toString('base64') },
    packets: s.packets.map((p) => ({ send: p.send, expect: [p.expectVerdict, p.expectReason].filter((x) => x !== null).join(' '), why: p.why })),
  };
}

const LOADER = `
  var cache = {};
  function load(id, from) {
    var hit = cache[id];
    if (hit !== undefined) return hit.exports;
    var module = { exports: {} };
    if (id.indexOf('builtin:') === 0) {
      var name = id.slice(8);
      if (!Object.prototype.hasOwnProperty.call(standins, name)) {
        throw new Error('node:' + name + ' is a Node.js module; the page cannot use it (required by ' + from + ')');
      }
      cache[id] = module;
      standins[name](module);
      return module.exports;
    }
    var def = defs[id];
    cache[id] = module;
    def[0].call(module.exports, function (req) {
      var to = def[1][req];
      if (to === undefined) throw new Error('module ' + req + ' was not bundled (required by ' + id + ')');
      return load(to, id);
    }, module, module.exports);
    return module.exports;
  }
`;

/**
 * The whole bundle as text. A type error in native-free/ throws; type errors elsewhere go to `warn`
 * (default: stderr) and the bundle is built anyway.
 */
export function bundleText(root: string = repoRoot(), warn: (message: string) => void = (m) => process.stderr.write(m + '\n')): string {
  const compiled = compilePage(root, warn);
  const modules = collectModules(root, compiled, [ENTRY_CORE, ENTRY_APP]);
  const lesson = readLesson(root);
  const parts: string[] = [];
  parts.push(
    '/* vfp-emu teaching page: the emulator core, the page and the ICMP lesson in one file.',
    ' * Generated by native-free/build.ts (node dist/native-free/build.js) from src/, native-free/ and',
    ` * traces/${LESSON_SCENARIO}; do not edit. Bundled: ${modules.filter((m) => m.id.startsWith('node_modules/')).length} modules of node_modules/yaml (ISC license), ${modules.length} modules in all. */`,
    '(function (globalObject) {',
    '  var defs = {',
  );
  for (const m of modules) {
    parts.push(`${JSON.stringify(m.id)}: [function (require, module, exports) {\n${m.code}\n}, ${JSON.stringify(m.deps)}],`);
  }
  parts.push('  };', '  var standins = {');
  for (const [name, code] of Object.entries(BUILTIN_STANDINS)) parts.push(`    ${JSON.stringify(name)}: function (module) { ${code} },`);
  parts.push('  };', LOADER);
  parts.push(
    `  var lesson = ${JSON.stringify(lesson)};`,
    `  var core = load(${JSON.stringify(ENTRY_CORE)}, 'the bundle');`,
    '  globalObject.vfpEmuPage = Object.assign({}, core, { lesson: lesson });',
    `  if (typeof document !== 'undefined') load(${JSON.stringify(ENTRY_APP)}, 'the bundle').startPage(lesson);`,
    "})(typeof globalThis !== 'undefined' ? globalThis : this);",
    '',
  );
  return parts.join('\n');
}

/** Builds the bundle into `out` (default native-free/dist/vfp-emu-page.js under the root); returns the path. */
export function buildPage(opts: { root?: string; out?: string; warn?: (message: string) => void } = {}): string {
  const root = opts.root ?? repoRoot();
  const out = path.resolve(root, opts.out ?? DEFAULT_OUT);
  const text = bundleText(root, opts.warn);
  fs.mkdirSync(path.dirname(out), { recursive: true });
  fs.writeFileSync(out, text);
  return out;
}

if (require.main === module) {
  const args = process.argv.slice(2);
  const at = args.indexOf('--out');
  if ((at >= 0 && args[at + 1] === undefined) || args.some((a, k) => a !== '--out' && args[k - 1] !== '--out')) {
    process.stderr.write('usage: node dist/native-free/build.js [--out FILE]\n');
    process.exitCode = 2;
  } else {
    try {
      const file = buildPage({ out: at >= 0 ? path.resolve(args[at + 1]) : undefined });
      process.stdout.write(`wrote ${file} (${fs.statSync(file).size} bytes); open native-free/index.html in a browser\n`);
    } catch (e) {
      process.stderr.write(`build failed: ${(e as Error).message}\n`);
      process.exitCode = 1;
    }
  }
}
