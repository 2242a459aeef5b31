/**
 * The `yaml` package, loaded on first use: it takes about 35 ms to load, which a run whose cluster files
 * are all JSON (kubectl -o json, Get-HnsNetwork, cni.conf) need not pay.
 */
import type * as Yaml from 'yaml';

let loaded: typeof Yaml | undefined;

export function yaml(): typeof Yaml {
  return (loaded ??= require('yaml') as typeof Yaml);
}
