/**
 * The `yaml` package, loaded on first use: it takes about 35 ms to load, which a run whose cluster files
 * are all JSON (kubectl -o json, Get-HnsNetwork, cni.conf) need not pay. YAML cluster files inside the
 * subset of yaml-subset.ts (kubectl -o yaml, manifests) are read without it; it reads the others, and gives
 * the line and column of an error in any YAML file (source.ts).
 */
import type * as Yaml from 'yaml';

let loaded: typeof Yaml | undefined;

export function yaml(): typeof Yaml {
  return (loaded ??= require('yaml') as typeof Yaml);
}
