/**
 * Cluster inputs from texts: the file-system-free entry point (the browser page hands texts in, decoded
 * from a file's bytes with decodeClusterFile; loadCluster in load.ts reads files and calls this). Each
 * text's kind is detected from its content (detect.ts), all are merged into one Draft in order, and
 * finalizeCluster (merge.ts) derives, validates and diagnoses.
 */

import { importText, type InputKind } from './detect';
import { Draft } from './draft';
import { finalizeCluster, type FinalizeOptions } from './merge';
import type { Cluster } from './model';

export type LoadOptions = FinalizeOptions;

export interface ClusterText {
  /** Name used in errors and `sources` (a file path, or a label the caller chose). */
  name: string;
  text: string;
}

/**
 * Text of a file's bytes: UTF-16LE/BE when a BOM says so (Windows PowerShell 5.1's `>` writes UTF-16LE with a
 * BOM), else UTF-16 without a BOM when the first two characters are ASCII with a NUL high (LE) or low (BE)
 * byte (what a UTF-16 writer without a preamble gives, e.g. .NET `new UnicodeEncoding(false, false)`;
 * `[Text.Encoding]::Unicode` itself writes a BOM; no UTF-8 config starts with a NUL), else UTF-8 (a UTF-8
 * BOM is dropped later).
 */
export function decodeClusterFile(bytes: Uint8Array): string {
  if (bytes.length >= 2 && bytes[0] === 0xff && bytes[1] === 0xfe) return new TextDecoder('utf-16le').decode(bytes.subarray(2));
  if (bytes.length >= 2 && bytes[0] === 0xfe && bytes[1] === 0xff) return new TextDecoder('utf-16be').decode(bytes.subarray(2));
  const ascii = (x: number) => x >= 0x09 && x < 0x80;
  if (bytes.length >= 4 && ascii(bytes[0]) && bytes[1] === 0 && ascii(bytes[2]) && bytes[3] === 0) return new TextDecoder('utf-16le').decode(bytes);
  if (bytes.length >= 4 && bytes[0] === 0 && ascii(bytes[1]) && bytes[2] === 0 && ascii(bytes[3])) return new TextDecoder('utf-16be').decode(bytes);
  return new TextDecoder('utf-8').decode(bytes);
}

/** Merges several texts (later ones add objects; a different scalar setting replaces an earlier one). */
export function parseClusterTexts(inputs: readonly ClusterText[], opts: LoadOptions = {}): Cluster {
  const draft = new Draft();
  for (const input of inputs) importText(input.name, input.text, draft);
  return finalizeCluster(draft, opts);
}

/** One text to a Cluster. */
export function parseClusterText(name: string, text: string, opts: LoadOptions = {}): Cluster {
  return parseClusterTexts([{ name, text }], opts);
}

/** The kinds of each document of a text, without merging (for `vfp-emu rules` and tests). */
export function detectClusterText(name: string, text: string): InputKind[] {
  return importText(name, text, new Draft());
}
