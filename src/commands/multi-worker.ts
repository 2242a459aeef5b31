/**
 * The entry of a multi-trace replay's worker thread in the tsc build (dist/src/commands/multi-worker.js,
 * started by multi-replay.ts as `path.join(__dirname, 'multi-worker.js')`): multi-worker-loop.ts says what it
 * does. The bundle's dist/bundle/multi-worker.js runs the same function from main.js (scripts/bundle.mjs).
 */
import { runMultiWorker } from './multi-worker-loop';

runMultiWorker();
