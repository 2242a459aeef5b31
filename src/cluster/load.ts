/**
 * loadCluster: the `--cluster FILE...` entry point. Reads each file (a missing or unreadable file is an
 * InputError naming it) and hands the texts to parseClusterTexts (parse.ts).
 */

import { readFileSync } from 'node:fs';
import { InputError } from '../core/errors';
import type { Cluster } from './model';
import { parseClusterTexts, type ClusterText, type LoadOptions } from './parse';

export function loadCluster(files: readonly string[], opts: LoadOptions = {}): Cluster {
  const texts: ClusterText[] = files.map((file) => {
    let text: string;
    try {
      text = readFileSync(file === '-' ? 0 : file, 'utf8');
    } catch (e) {
      throw new InputError(file, {}, `cannot read the file: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
    return { name: file, text };
  });
  return parseClusterTexts(texts, opts);
}
