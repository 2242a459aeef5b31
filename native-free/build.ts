/**
 * Builds the teaching page's script: one self-contained file, native-free/dist/vfp-emu-page.js, that
 * native-free/index.html loads (from file:// too: nothing is fetched at run time).
 *
 *   node dist/native-free/build.js [--out FILE]
 *
 * Steps:
 *   1. Type-check the page (native-free/ui/app.ts, native-free/core.ts, against the modules of src/ they
 *      import) with the TypeScript compiler API, no emit, with the options of tsconfig.json plus the DOM
 *      library, which the rest of the project does not see (tsconfig.json leaves native-free/ui/ out). A type
 *      error in the page's files, or in how they use src/, stops the build, naming the file and line; the
 *      bodies of src/ are `tsc -p .`'s to check (`npm run build`, which comes first).
 *   2. Bundle the same sources with esbuild (a devDependency, as scripts/bundle.mjs uses it): one IIFE, ES2022,
 *      TypeScript read directly (esbuild strips the types; step 1 checked them), the `yaml` package's
 *      CommonJS build (its `node` export, as Node loads it) from node_modules. Node built-ins are not
 *      bundled: each becomes a small module that throws when it is required, naming it and the module that
 *      asked (io/source.ts and io/writer.ts load node:fs lazily, on the file-descriptor path only, which the
 *      page never takes). Two exceptions, which yaml's CommonJS build requires and has browser fallbacks for:
 *      `process` (it reads the debug switches process.env.LOG_TOKENS / LOG_STREAM and process.emitWarning)
 *      and `buffer` (its !!binary tag uses Buffer when there is one, else atob) get empty stand-ins.
 *      Symlinks are kept as paths (`preserveSymlinks`): a worktree whose node_modules is a symlink builds
 *      the same bytes as a clone with its own.
 *   3. Embed the ICMP lesson (traces/04-icmp-lesson: its cluster files as text, its trace as base64,
 *      its packets' expected verdicts and the reference's words) as the Lesson of native-free/core.ts.
 *
 * The bundle sets `globalThis.vfpEmuPage` (the exports of core.ts plus `lesson`) and, where there is a
 * `document`, starts the page (ui/app.ts). The output depends only on the sources: same sources, same bytes.
 * It used to be built by compiling with the TypeScript API and wrapping each CommonJS module by hand (about
 * 10 s on the development machine, most of it the emit); esbuild bundles in well under a second, the type
 * check takes the rest (native-free/README.md has the figures).
 */

import * as esbuild from 'esbuild';
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

const ENTRIES = ['native-free/ui/app.ts', 'native-free/core.ts'];

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

/** Step 1: the page's sources type-checked (no emit); throws with tsc's messages when there is an error. */
export function typeCheck(root: string): void {
  const configFile = path.join(root, 'tsconfig.json');
  const read = ts.readConfigFile(configFile, (f) => ts.sys.readFile(f));
  if (read.error) throw new Error(ts.flattenDiagnosticMessageText(read.error.messageText, '\n'));
  const raw = read.config as { compilerOptions?: Record<string, unknown> };
  const config = {
    ...raw,
    compilerOptions: { ...raw.compilerOptions, lib: ['ES2022', 'DOM', 'DOM.Iterable'], types: [], noEmit: true, sourceMap: false, declaration: false, incremental: false },
    include: [],
    files: ENTRIES,
  };
  const parsed = ts.parseJsonConfigFileContent(config, ts.sys, root, undefined, configFile);
  const program = ts.createProgram(parsed.fileNames, parsed.options);
  // The page's own files in full; the modules of src/ they import are checked as far as the page uses their
  // types (their bodies are `tsc -p .`'s to check: the project build, which runs before this one).
  const pageDir = path.join(root, 'native-free') + path.sep;
  const page = program.getSourceFiles().filter((f) => path.resolve(f.fileName).startsWith(pageDir));
  const diagnostics = [
    ...parsed.errors,
    ...program.getOptionsDiagnostics(),
    ...program.getGlobalDiagnostics(),
    ...page.flatMap((f) => [...program.getSyntacticDiagnostics(f), ...program.getSemanticDiagnostics(f)]),
  ];
  if (diagnostics.length === 0) return;
  const host: ts.FormatDiagnosticsHost = { getCanonicalFileName: (f) => f, getCurrentDirectory: () => root, getNewLine: () => '\n' };
  throw new Error(`the page does not type-check:\n${ts.formatDiagnostics(diagnostics, host)}`);
}

/** Node built-ins as modules that throw when required (two stand-ins: BUILTIN_STANDINS). */
const builtins: esbuild.Plugin = {
  name: 'node-builtins',
  setup(build) {
    build.onResolve({ filter: /.*/ }, (args) => {
      if (!isBuiltin(args.path)) return undefined;
      const name = args.path.replace(/^node:/, '');
      const from = posix(path.relative(build.initialOptions.absWorkingDir ?? '.', args.importer));
      return { path: Object.hasOwn(BUILTIN_STANDINS, name) ? name : `${name} from ${from}`, namespace: 'node-builtin' };
    });
    build.onLoad({ filter: /.*/, namespace: 'node-builtin' }, (args) => {
      const standin = BUILTIN_STANDINS[args.path];
      if (standin !== undefined) return { contents: standin, loader: 'js' };
      const [name, from] = args.path.split(' from ');
      const message = `node:${name} is a Node.js module; the page cannot use it (required by ${from})`;
      return { contents: `throw new Error(${JSON.stringify(message)});`, loader: 'js' };
    });
  },
};

/** Step 2 and 3: the page, its modules and the lesson bundled by esbuild (module comment). */
async function bundle(root: string, lesson: Lesson): Promise<string> {
  const entry = [
    "import * as core from './native-free/core';",
    "import { startPage } from './native-free/ui/app';",
    `const lesson = ${JSON.stringify(lesson)};`,
    'globalThis.vfpEmuPage = Object.assign({}, core, { lesson: lesson });',
    "if (typeof document !== 'undefined') startPage(lesson);",
  ].join('\n');
  const result = await esbuild.build({
    stdin: { contents: entry, resolveDir: root, sourcefile: 'vfp-emu-page-entry.js', loader: 'js' },
    absWorkingDir: root,
    bundle: true,
    write: false,
    format: 'iife',
    platform: 'neutral',
    target: 'es2022',
    conditions: ['node'],
    mainFields: ['main'],
    preserveSymlinks: true,
    charset: 'utf8',
    logLevel: 'silent',
    plugins: [builtins],
    banner: {
      js: [
        '/* vfp-emu teaching page: the emulator core, the page and the ICMP lesson in one file.',
        ' * Generated by native-free/build.ts (node dist/native-free/build.js) from src/, native-free/ and',
        ` * traces/${LESSON_SCENARIO} with esbuild; do not edit. Bundles the yaml package (ISC license). */`,
      ].join('\n'),
    },
  });
  return result.outputFiles[0].text;
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

/**
 * The whole bundle as text. A type error in the page stops it (step 1; the former build also printed the
 * errors of src/ it saw, which `tsc -p .` reports anyway).
 */
export async function bundleText(root: string = repoRoot()): Promise<string> {
  typeCheck(root);
  return bundle(root, readLesson(root));
}

/** Builds the bundle into `out` (default native-free/dist/vfp-emu-page.js under the root); returns the path. */
export async function buildPage(opts: { root?: string; out?: string; skipTypeCheck?: boolean } = {}): Promise<string> {
  const root = opts.root ?? repoRoot();
  const out = path.resolve(root, opts.out ?? DEFAULT_OUT);
  if (opts.skipTypeCheck !== true) typeCheck(root);
  const text = await bundle(root, readLesson(root));
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
    const started = Date.now();
    buildPage({ out: at >= 0 ? path.resolve(args[at + 1]) : undefined }).then(
      (file) => process.stdout.write(`wrote ${file} (${fs.statSync(file).size} bytes, ${((Date.now() - started) / 1000).toFixed(1)} s); open native-free/index.html in a browser\n`),
      (e: unknown) => {
        process.stderr.write(`build failed: ${(e as Error).message}\n`);
        process.exitCode = 1;
      },
    );
  }
}
