/**
 * Child process of test/io-stdin.test.ts: lists the capture on stdin like src/io/cat-cli.ts, after
 * making stdin non-blocking (touching process.stdin does that for a pipe), so that the reader has to
 * handle EAGAIN. Not a test file itself.
 */
import { catCapture } from '../src/io/cat-cli';
import { sourceStats } from '../src/io/source';

process.stdin.pause();
const chunks: string[] = [];
const code = catCapture('-', (s) => chunks.push(s), (s) => process.stderr.write(s));
process.stderr.write(`eagain-waits=${sourceStats.eagainWaits}\n`);
process.stdout.write(chunks.join(''), () => process.exit(code));
