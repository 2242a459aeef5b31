/**
 * loadCluster: the `--cluster FILE...` entry point. Reads each file (a missing or unreadable file is an
 * InputError naming it), decodes it (UTF-8, or UTF-16 with a byte-order mark: what Windows PowerShell 5.1's
 * `Get-HnsNetwork | ConvertTo-Json > hns.json` writes) and hands the texts to parseClusterTexts (parse.ts).
 */

import { readFileSync } from 'node:fs';
import { InputError } from '../core/errors';
import type { Cluster } from './model';
import { decodeClusterFile, parseClusterTexts, type ClusterText, type LoadOptions } from './parse';

export { decodeClusterFile };

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
