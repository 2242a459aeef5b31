/**
 * Writes dist/bundle/main.code-cache (src/bundle-loader.ts says why): compiles dist/bundle/main.js the way
 * dist/bundle/vfp-emu.js does (loadMain, no cache yet), runs the commands whose start-up issue 12 measures
 * (the embedded lesson, explain, rules, decode on the lesson's files) and a multi-trace replay on two
 * threads (the lesson's and 01-l2bridge's traces: the main thread's part of it; its worker thread runs
 * main.js too, src/commands/multi-worker-loop.ts) in this process, and saves V8's code for every function
 * they compiled. Run by scripts/bundle.mjs with a temp dir as cwd (the lesson writes
 * ./vfp-out/) and stdout ignored. A command that fails fails the build.
 */
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const { createRequire } = require('node:module');

const root = path.resolve(__dirname, '..');
const dir = path.join(root, 'dist', 'bundle');
const { loadMain, CODE_CACHE_FILE, MAIN_FILE } = require(path.join(root, 'dist', 'src', 'bundle-loader.js'));

async function main() {
  fs.rmSync(path.join(dir, CODE_CACHE_FILE), { force: true });
  const m = loadMain(dir, createRequire(path.join(dir, MAIN_FILE)));
  const t = (p) => path.join(root, 'traces', p);
  const lesson = t('04-icmp-lesson/trace.pcapng');
  const cluster = ['kubectl.json', 'cni.conf', 'net-conf.json'].flatMap((f) => ['--cluster', t(`_clusters/l2bridge/${f}`)]);
  const multi = ['replay', lesson, t('01-l2bridge/trace.pcapng'), ...cluster, '--summary', 'json', '--workers', '2'];
  for (const argv of [['replay'], ['explain', lesson, ...cluster, '--packet', '3'], ['rules', ...cluster], ['decode', lesson], multi]) {
    await m.runAsMain(argv);
    if (process.exitCode !== 0 && process.exitCode !== undefined) throw new Error(`vfp-emu ${argv[0]} exited ${process.exitCode}`);
  }
  fs.writeFileSync(path.join(dir, CODE_CACHE_FILE), m.script.createCachedData());
}

main().then(
  () => {
    process.exitCode = 0;
  },
  (e) => {
    process.stderr.write(`scripts/code-cache.js: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exitCode = 1;
  },
);
