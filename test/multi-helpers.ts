/** What replay-multi.test and merge.test share: summaries and text without their timings. */

/** A summary without its timings (elapsed_s, pps: the only fields allowed to differ between runs). */
export function untimed(s: Record<string, unknown>): Record<string, unknown> {
  const { elapsed_s, pps, ...rest } = s;
  void elapsed_s;
  void pps;
  if (Array.isArray(rest.traces)) rest.traces = (rest.traces as Record<string, unknown>[]).map(untimed);
  return rest;
}

/** Text output without the timing line (`N packets in X s (R packets/s)`). */
export function untimedText(t: string): string {
  return t.replace(/^\d+ packets in [\d.]+ s \(\d+ packets\/s\)$/m, 'N packets in T s');
}
