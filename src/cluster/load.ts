/**
 * loadCluster: the `--cluster FILE...` entry point. Reads each file (a missing or unreadable file is an
 * InputError naming it), decodes it (UTF-8, or UTF-16 with a byte-order mark: what Windows PowerShell 5.1's
 * `Get-HnsNetwork | ConvertTo-Json > hns.json` writes) and hands the texts to parseClusterTexts (parse.ts).
 */

import { readFileSync } from 'node:fs';
import { InputError } from '../core/errors';
import type { Cluster } from './model';
import { parseClusterTexts, type ClusterText, type LoadOptions } from './parse';

/** Text of a file's bytes: UTF-16LE/BE when a BOM says so, else UTF-8 (a UTF-8 BOM is dropped later). */
export function decodeClusterFile(bytes: Uint8Array): string {
  if (bytes.length >= 2 && bytes[0] === 0xff && bytes[1] === 0xfe) return new TextDecoder('utf-16le').decode(bytes.subarray(2));
  if (bytes.length >= 2 && bytes[0] === 0xfe && bytes[1] === 0xff) return new TextDecoder('utf-16be').decode(bytes.subarray(2));
  return new TextDecoder('utf-8').decode(bytes);
}

export function loadCluster(files: readonly string[], opts: LoadOptions = {}): Cluster {
  const texts: ClusterText[] = files.map((file) => {
    let bytes: Uint8Array;
    try {
      bytes = readFileSync(file === '-' ? 0 : file);
    } catch (e) {
      throw new InputError(file, {}, `cannot read the file: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
    return { name: file, text: decodeClusterFile(bytes) };
  });
  return parseClusterTexts(texts, opts);
}
