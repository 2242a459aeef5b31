/**
 * The `vfp-emu` command of the bundle (dist/bundle/vfp-emu.js, package.json `bin`; scripts/bundle.mjs): runs
 * the bundled CLI (dist/bundle/main.js) with V8's code cache (dist/bundle/main.code-cache), issue 12 start-up.
 *
 * Compiling the 780 KB bundle (a pre-parse of all of it) and then each function a command runs took a
 * good part of the start-up that was left. The build runs the lesson, explain, rules and decode once
 * (scripts/code-cache.js) and saves V8's code for the functions they compiled; a later run deserialises
 * that instead of parsing and compiling again. V8 checks the cache against its own version, its flags and
 * the source's length only, and rejects one that does not fit (another Node version, a bundle of another
 * length): the script then compiles as it would without a cache. `npm run build` always writes main.js and
 * its cache together (scripts/bundle.mjs); a main.js edited by hand to the same length is the one case V8
 * cannot tell, so edit src/ and rebuild, never dist/bundle. Node 20 has no compile cache of its own for CommonJS (module.enableCompileCache is
 * Node 22), hence `vm.Script` with `cachedData`, the way the v8-compile-cache package does it.
 * A multi-trace replay's worker thread (dist/bundle/multi-worker.js) loads main.js the same way, with the same
 * cache, and runs its `runMultiWorker` (issue 12, many captures: a worker no longer parses and compiles a
 * second bundle of the CLI without a cache).
 * Only node: modules are imported here: this file is bundled on its own.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vm from 'node:vm';

export const MAIN_FILE = 'main.js';
export const CODE_CACHE_FILE = 'main.code-cache';

/** The bundle's source as a function of Node's module wrapper (line numbers unchanged: the wrapper starts line 1). */
export function wrapSource(source: string): string {
  return `(function (exports, require, module, __filename, __dirname) {${source}\n})`;
}

/** What main.js exports (scripts/bundle.mjs): the CLI, and a multi-trace replay's worker thread (src/commands/multi-worker-loop.ts). */
export interface MainExports {
  runAsMain(argv: string[]): Promise<void>;
  runMultiWorker(): void;
}

export interface LoadedMain extends MainExports {
  script: vm.Script;
}

/**
 * Compiles and runs dist/bundle/main.js from `dir`, with the code cache beside it when there is one. Its
 * `require` resolves from `dir` (the worker and yaml.js beside it) and its __dirname is `dir`.
 */
export function loadMain(dir: string, req: NodeJS.Require): LoadedMain {
  const file = path.join(dir, MAIN_FILE);
  let cachedData: Buffer | undefined;
  try {
    cachedData = fs.readFileSync(path.join(dir, CODE_CACHE_FILE));
  } catch {
    cachedData = undefined; // no cache (a build without one): compiled as usual
  }
  const script = new vm.Script(wrapSource(fs.readFileSync(file, 'utf8')), { filename: file, cachedData });
  const mod = { exports: {} as MainExports };
  (script.runInThisContext() as (...a: unknown[]) => void)(mod.exports, req, mod, file, dir);
  return { script, runAsMain: mod.exports.runAsMain, runMultiWorker: mod.exports.runMultiWorker };
}
