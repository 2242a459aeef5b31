/**
 * The output encoders' modules (out-trace-encoder.ts, verdict-encoder.ts, and bytes.ts under them), loaded
 * on first use: a decide-only replay (no --out, no --verdicts) never loads them (issue 12, start-up of a
 * replay). bytes.ts builds its digit tables at load time (a 10,000-step loop that V8 runs in its
 * interpreter and then compiles on the stack): in the bundle, with its code cache, loading the two
 * encoders took the largest share of `replay`'s module loading (dist/bundle/main.js with a timer around
 * each module's body, 7 runs of a 100-packet decide-only replay: out-trace-encoder 19.9 ms of wall time
 * at best, of which bytes.js 19.1, against 45 ms for the whole replay command's modules).
 * The modules are in the bundle all the same (esbuild bundles a `require` of a relative path and runs the
 * module's body where it is first called), and in the page's bundle (native-free/build.ts) too.
 * Only types are imported here at the top: `import type` is erased by tsc.
 */
import type * as OutTraceModule from './out-trace-encoder';
import type * as VerdictModule from './verdict-encoder';

let outTrace: typeof OutTraceModule | null = null;
let verdict: typeof VerdictModule | null = null;

/** src/pipeline/out-trace-encoder.ts, loaded on the first call. */
export function outTraceEncoderModule(): typeof OutTraceModule {
  return (outTrace ??= require('./out-trace-encoder') as typeof OutTraceModule);
}

/** src/pipeline/verdict-encoder.ts, loaded on the first call. */
export function verdictEncoderModule(): typeof VerdictModule {
  return (verdict ??= require('./verdict-encoder') as typeof VerdictModule);
}
