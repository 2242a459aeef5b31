/**
 * The CLI as one file (issue 12, start-up): `npm run build` runs `tsc -p .`, then this script, which bundles
 * the compiled JavaScript (dist/src, so the bundle runs exactly the code tsc emitted) with esbuild into
 *
 *   dist/bundle/main.js     the CLI: every module of src/ in one file (exports cli.ts's runAsMain, and
 *                           runMultiWorker of src/commands/multi-worker-loop.ts for the file below)
 *   dist/bundle/vfp-emu.js  the command (package.json `bin`): src/bundle-loader.ts, which runs main.js with
 *   dist/bundle/main.code-cache  V8's code cache of main.js, written by scripts/code-cache.js after a run
 *                           of the lesson, explain, rules and decode (a cache that does not fit is ignored)
 *   dist/bundle/worker.js   the pipeline worker (src/pipeline/worker.ts): pipeline.ts starts
 *                           `path.join(__dirname, 'worker.js')`, which next to the bundle is this file
 *   dist/bundle/multi-worker.js  a multi-trace replay's thread, started by multi-replay.ts as
 *                           `path.join(__dirname, 'multi-worker.js')` in the same way: a loader like
 *                           vfp-emu.js that runs main.js's runMultiWorker with main.code-cache (the
 *                           worker shares the CLI's code and its cache instead of a bundle of its own)
 *   dist/bundle/yaml.js     the `yaml` package, required by main.js and worker.js (`require("./yaml.js")`)
 *                           only when a YAML text is read (src/cluster/yaml.ts): the 72 files of the
 *                           package, about a quarter of the code, cost a run on JSON inputs nothing
 *
 * Why: loading ~170 files through Node's module loader (resolve, read, wrap, compile each) was most of
 * the start-up of `vfp-emu replay`, `explain` and `decode` (bench/startup.ts has the figures). The tsc
 * build (dist/src/cli.js) stays as it is: tests spawn it, and test/bundle.test.ts runs both builds on the
 * same commands and compares every output byte. dist/bundle sits two levels under the package root like
 * dist/src, so traces/ (src/scenario/scenario.ts `tracesDir`) and package.json are found the same way.
 * The bundle is not minified: an internal error's stack keeps our function names.
 */
import * as esbuild from 'esbuild';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const out = path.join(root, 'dist', 'bundle');

/** `require('yaml')` in our code becomes `require('./yaml.js')`, the package's own bundle beside it. */
const yamlBeside = {
  name: 'yaml-beside',
  setup(build) {
    build.onResolve({ filter: /^yaml$/ }, () => ({ path: './yaml.js', external: true }));
  },
};

/**
 * `node:worker_threads` and `node:os` in main.js become a module that loads the real one on its first
 * property read (a Proxy; tsc's output reads `node_worker_threads_1.Worker` where it is used, and
 * `__importStar` returns a module marked `__esModule` as it is). Loading them took about 5 ms of CPU (15
 * ms of wall time on the busy 2-core machine) of every run, and a run on one thread (the lesson, explain,
 * rules, decode, a small trace: src/commands/replay.ts defaultWorkers) never uses worker_threads, nor os
 * but for a signal's exit status or a spool's temp dir. Not in worker.js: a worker reads workerData at once.
 */
const lazyBuiltins = {
  name: 'lazy-builtins',
  setup(build) {
    build.onResolve({ filter: /^node:(worker_threads|os)$/ }, (a) => (a.namespace === 'lazy-builtin' ? { path: a.path, external: true } : { path: a.path, namespace: 'lazy-builtin' }));
    build.onLoad({ filter: /.*/, namespace: 'lazy-builtin' }, (a) => ({
      contents: `let m; const real = () => (m ??= require(${JSON.stringify(a.path)})); module.exports = new Proxy({}, { get: (_, k) => (k === '__esModule' ? true : real()[k]) });`,
      loader: 'js',
    }));
  },
};

// cap (live capture, src/io/live-source.ts) stays a package beside the bundle: an optional native module,
// required only when `vfp-emu live` runs, and absent wherever its build failed or was not wanted
const common = { bundle: true, platform: 'node', target: 'node20', format: 'cjs', logLevel: 'warning', absWorkingDir: root, metafile: true, external: ['cap'] };

const src = path.join(root, 'dist', 'src');
/** Index in `results` of the yaml package's own build (the one build that may hold a package). */
const YAML_BUILD = 3;
const results = await Promise.all([
  esbuild.build({
    ...common,
    // module.exports: the CLI's exports (runAsMain), which the loader below runs
    stdin: {
      // runMultiWorker's module is required when it is called, not when main.js loads (the CLI's start-up)
      contents: "module.exports = { runAsMain: require('./cli').runAsMain, runMultiWorker: () => require('./commands/multi-worker-loop').runMultiWorker() };",
      resolveDir: src,
      sourcefile: 'main.js',
      loader: 'js',
    },
    outfile: path.join(out, 'main.js'),
    plugins: [yamlBeside, lazyBuiltins],
  }),
  esbuild.build({ ...common, entryPoints: [path.join(src, 'pipeline', 'worker.js')], outfile: path.join(out, 'worker.js'), plugins: [yamlBeside] }),
  esbuild.build({
    ...common,
    // a multi-trace replay's worker thread: main.js's runMultiWorker, run with main.js's code cache
    stdin: { contents: "require('./bundle-loader').loadMain(__dirname, require).runMultiWorker();", resolveDir: src, sourcefile: 'multi-worker.js', loader: 'js' },
    outfile: path.join(out, 'multi-worker.js'),
  }),
  esbuild.build({ ...common, entryPoints: ['yaml'], outfile: path.join(out, 'yaml.js') }),
  esbuild.build({
    ...common,
    // the command: main.js run with its code cache (src/bundle-loader.ts), its require resolving from here
    stdin: { contents: "require('./bundle-loader').loadMain(__dirname, require).runAsMain(process.argv.slice(2));", resolveDir: src, sourcefile: 'vfp-emu.js', loader: 'js' },
    banner: { js: '#!/usr/bin/env node' },
    outfile: path.join(out, 'vfp-emu.js'),
  }),
]);

// The CLI, the worker and the loader must not carry a copy of the yaml package (it is the file beside them).
for (const r of results.filter((_, k) => k !== YAML_BUILD)) {
  const copied = Object.keys(r.metafile.inputs).filter((f) => f.includes('node_modules/'));
  if (copied.length > 0) {
    process.stderr.write(`scripts/bundle.mjs: a package was bundled into the CLI: ${copied.slice(0, 3).join(', ')}\n`);
    process.exit(1);
  }
}

// V8's code cache of main.js, from a run of the lesson, explain, rules and decode (scripts/code-cache.js)
const cacheRun = fs.mkdtempSync(path.join(os.tmpdir(), 'vfp-code-cache-')); // the lesson writes vfp-out/ here
const cache = spawnSync(process.execPath, [path.join(root, 'scripts', 'code-cache.js')], { cwd: cacheRun, stdio: ['ignore', 'ignore', 'inherit'] });
fs.rmSync(cacheRun, { recursive: true, force: true });
if (cache.status !== 0) process.exit(1);
