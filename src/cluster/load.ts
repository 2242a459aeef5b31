/**
 * loadCluster: the `--cluster FILE...` entry point. Reads each file (a missing or unreadable file is an
 * InputError naming it), decodes it (UTF-8, or UTF-16 with a byte-order mark: what Windows PowerShell 5.1's
 * `Get-HnsNetwork | ConvertTo-Json > hns.json` writes) and hands the texts to parseClusterTexts (parse.ts).
 * A file is read with a bounded loop, never more than `maxConfigBytes` + 1 bytes (limits.ts), so a device
 * or FIFO that never ends (`--cluster /dev/zero`) is refused at the cap instead of filling memory.
 */

import { closeSync, openSync, readSync } from 'node:fs';
import { InputError } from '../core/errors';
import type { Cluster } from './model';
import { DEFAULT_MAX_CONFIG_BYTES } from './limits';
import { decodeClusterFile, parseClusterTexts, type ClusterText, type LoadOptions } from './parse';

export { decodeClusterFile };

export interface LoadFileOptions extends LoadOptions {
  /** Most bytes one cluster file may hold (default DEFAULT_MAX_CONFIG_BYTES, 64 MiB). */
  maxConfigBytes?: number;
}

const CHUNK = 1 << 20;

/** Sleeps `ms` milliseconds on this thread (a non-blocking stdin that has no data yet). */
function pause(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** Reads up to `max` bytes of `fd`; throws (naming the file) when there is more. */
function readBounded(file: string, fd: number, max: number): Uint8Array {
  const chunks: Buffer[] = [];
  let total = 0;
  for (;;) {
    const buf = Buffer.allocUnsafe(Math.min(CHUNK, max + 1 - total));
    let n: number;
    try {
      n = readSync(fd, buf, 0, buf.length, null);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EAGAIN') {
        pause(5);
        continue;
      }
      throw e;
    }
    if (n === 0) break;
    chunks.push(buf.subarray(0, n));
    total += n;
    if (total > max) {
      throw new InputError(file, { offset: max }, `the file is larger than ${max} bytes, the most a cluster input may hold (--max-config-bytes N raises it); it was not read further`);
    }
  }
  return Buffer.concat(chunks, total);
}

/** The bytes of one cluster file (`-`: stdin). */
function readClusterFile(file: string, max: number): Uint8Array {
  let fd: number;
  try {
    fd = file === '-' ? 0 : openSync(file, 'r');
  } catch (e) {
    throw new InputError(file, {}, `cannot read the file: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  try {
    return readBounded(file, fd, max);
  } catch (e) {
    if (e instanceof InputError) throw e;
    throw new InputError(file, {}, `cannot read the file: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  } finally {
    if (fd !== 0) closeSync(fd);
  }
}

export function loadCluster(files: readonly string[], opts: LoadFileOptions = {}): Cluster {
  const max = opts.maxConfigBytes ?? DEFAULT_MAX_CONFIG_BYTES;
  const texts: ClusterText[] = files.map((file) => ({ name: file, text: decodeClusterFile(readClusterFile(file, max)) }));
  return parseClusterTexts(texts, opts);
}
