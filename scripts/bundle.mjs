/**
 * The CLI as one file (issue 12, start-up): `npm run build` runs `tsc -p .`, then this script, which bundles
 * the compiled JavaScript (dist/src, so the bundle runs exactly the code tsc emitted) with esbuild into
 *
 *   dist/bundle/vfp-emu.js  the CLI (package.json `bin`): every module of src/ in one file
 *   dist/bundle/worker.js   the pipeline worker (src/pipeline/worker.ts): pipeline.ts starts
 *                           `path.join(__dirname, 'worker.js')`, which next to the bundle is this file
 *   dist/bundle/yaml.js     the `yaml` package, required by the two files above (`require("./yaml.js")`)
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

const common = { bundle: true, platform: 'node', target: 'node20', format: 'cjs', logLevel: 'warning', absWorkingDir: root, metafile: true };

const results = await Promise.all([
  esbuild.build({
    ...common,
    // the entry runs the CLI; cli.ts's own `require.main === module` is false inside a bundle
    stdin: { contents: "require('./cli').runAsMain(process.argv.slice(2));", resolveDir: path.join(root, 'dist', 'src'), sourcefile: 'vfp-emu.js', loader: 'js' },
    banner: { js: '#!/usr/bin/env node' },
    outfile: path.join(out, 'vfp-emu.js'),
    plugins: [yamlBeside],
  }),
  esbuild.build({ ...common, entryPoints: [path.join(root, 'dist', 'src', 'pipeline', 'worker.js')], outfile: path.join(out, 'worker.js'), plugins: [yamlBeside] }),
  esbuild.build({ ...common, entryPoints: ['yaml'], outfile: path.join(out, 'yaml.js') }),
]);

// The CLI and the worker must not carry a copy of the yaml package (it is the file beside them).
for (const r of results.slice(0, 2)) {
  const copied = Object.keys(r.metafile.inputs).filter((f) => f.includes('node_modules/'));
  if (copied.length > 0) {
    process.stderr.write(`scripts/bundle.mjs: a package was bundled into the CLI: ${copied.slice(0, 3).join(', ')}\n`);
    process.exit(1);
  }
}
