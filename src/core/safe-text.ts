/**
 * Safe text: the one home for making strings we did not write ourselves (names from cluster configs,
 * DNS names from packets, file names from the command line) safe where a person or a terminal reads them,
 * and for capping what goes into a length-limited field of an output file.
 *
 * Escaping for people and terminals (`safeText`): every character that could move the cursor, clear the
 * screen, set a title, start a terminal sequence, forge a line or a column, or reorder or hide text is
 * shown as a visible escape, so nothing is lost and nothing is hidden:
 * - a backslash as `\\` (so an escape can never be forged by the name itself);
 * - C0 controls (U+0000-U+001F, ESC, CR, LF and TAB included) and DEL: `\a \b \t \n \v \f \r` for 7-13,
 *   else three octal digits (`\033` for ESC, `\177` for DEL);
 * - C1 controls U+0080-U+009F (U+009B is a one-character CSI), every Unicode format character
 *   (category Cf: the bidi embeddings and overrides U+202A-U+202E, isolates U+2066-U+2069, marks U+200E,
 *   U+200F, U+061C, zero-width U+200B-U+200D and U+2060-U+2064, the BOM U+FEFF, the soft hyphen U+00AD,
 *   tag characters ...), the line and paragraph separators U+2028/U+2029 and lone surrogates:
 *   `\u` and four upper-case hex digits (`\u009B`, `\u202E`), `\U` and eight for those above U+FFFF.
 * This is the form tshark 4.0 prints DNS names in (its format_text), so `decode`'s dns_qname still matches
 * tshark, except for the backslash, which tshark leaves as it is. Printable text, ASCII or not
 * (accents, CJK, emoji, U+00A0), is left as it is: it can be read, and it cannot hide or forge anything.
 * A string with nothing to escape is returned as it is (one regular-expression test, no copy).
 *
 * Escaping for JSON read by programs and by `cat` (`jsonSafe`, `jsonText`): JSON.stringify escapes C0
 * and lone surrogates but lets DEL, C1, format characters and U+2028/U+2029 through. Those are written as
 * JSON `\u` escapes, which a JSON reader turns back into the same characters: the values are unchanged
 * (a Service named `web\u202E` keeps that name in the verdict records) and the raw bytes hold no control
 * or bidi character.
 *
 * Caps (`capUtf8`, `capText`): a value longer than a field holds is cut at a UTF-8 character boundary
 * and ends with `…` (U+2026, 3 bytes), the whole at most the cap. Writers that cut say so (see
 * io/writer.ts `truncatedFields` and the `output-field-truncated` diagnostic of replay).
 */

/** Characters `safeText` escapes (see the module comment). */
const UNSAFE = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Cs}\\]/u;
const UNSAFE_ALL = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Cs}\\]/gu;
/** Characters JSON.stringify leaves raw that `jsonSafe` escapes. */
const JSON_UNSAFE = /[\u007f-\u009f\p{Cf}\u2028\u2029]/u;
const JSON_UNSAFE_ALL = /[\u007f-\u009f\p{Cf}\u2028\u2029]/gu;

const C_ESCAPES: Record<number, string> = { 7: '\\a', 8: '\\b', 9: '\\t', 10: '\\n', 11: '\\v', 12: '\\f', 13: '\\r' };

function hex(n: number, digits: number): string {
  return n.toString(16).toUpperCase().padStart(digits, '0');
}

/** The visible escape of one unsafe character (a whole code point, or a lone surrogate). */
function escapeChar(ch: string): string {
  const c = ch.codePointAt(0) as number;
  if (c === 0x5c) return '\\\\';
  if (c < 0x20 || c === 0x7f) return C_ESCAPES[c] ?? '\\' + c.toString(8).padStart(3, '0');
  return c > 0xffff ? '\\U' + hex(c, 8) : '\\u' + hex(c, 4);
}

/** `s` with every control, format, separator and backslash character shown as a visible escape (module comment). */
export function safeText(s: string): string {
  return UNSAFE.test(s) ? s.replace(UNSAFE_ALL, escapeChar) : s;
}

/** The JSON `\u` escape(s) of one character (two for a character above U+FFFF), lower-case as JSON.stringify writes them. */
function jsonEscape(ch: string): string {
  let out = '';
  for (let k = 0; k < ch.length; k++) out += '\\u' + ch.charCodeAt(k).toString(16).padStart(4, '0');
  return out;
}

/**
 * A JSON text (from JSON.stringify) with DEL, C1, format characters and U+2028/U+2029 written as `\u`
 * escapes: the same value for a JSON reader, no raw control or bidi character for a terminal. Those
 * characters can only occur inside strings of a JSON text, where a `\u` escape stands for them.
 */
export function jsonSafe(json: string): string {
  return JSON_UNSAFE.test(json) ? json.replace(JSON_UNSAFE_ALL, jsonEscape) : json;
}

/** `s` as a JSON string literal safe to `cat` (jsonSafe), or `null`. */
export function jsonText(s: string | null): string {
  return s === null ? 'null' : jsonSafe(JSON.stringify(s));
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();
/** `…` in UTF-8: the mark a cut value ends with. */
const CUT_MARK = Uint8Array.of(0xe2, 0x80, 0xa6);

/**
 * `bytes` (UTF-8) if they fit in `max` bytes (the same array: `capUtf8(b, m) !== b` says it was cut), else
 * a copy cut at a character boundary and ending with `…`, `max` bytes at most. `max` is 3 or more.
 */
export function capUtf8(bytes: Uint8Array, max: number): Uint8Array {
  if (bytes.length <= max) return bytes;
  let cut = max - CUT_MARK.length;
  while (cut > 0 && (bytes[cut] & 0xc0) === 0x80) cut--;
  const out = new Uint8Array(cut + CUT_MARK.length);
  out.set(bytes.subarray(0, cut));
  out.set(CUT_MARK, cut);
  return out;
}

/** The UTF-8 length of `s`. */
export function utf8Length(s: string): number {
  return encoder.encode(s).length;
}

/** `s` if its UTF-8 form fits in `max` bytes, else cut as capUtf8 cuts it (ending with `…`). */
export function capText(s: string, max: number): string {
  const bytes = encoder.encode(s);
  const capped = capUtf8(bytes, max);
  return capped === bytes ? s : decoder.decode(capped);
}

/** At most `chars` code points of `s` (then `…`): a long name quoted in a message. */
export function shortText(s: string, chars = 60): string {
  if (s.length <= chars) return s;
  const points = Array.from(s.slice(0, 2 * chars));
  return points.length <= chars && s.length <= 2 * chars ? s : points.slice(0, chars).join('') + '…';
}

/**
 * A message for the terminal (stderr): each line through `safeText`, the line breaks kept. Error messages
 * quote file names and config values, so they are escaped as the outputs are.
 */
export function safeMessage(s: string): string {
  return s.split('\n').map(safeText).join('\n');
}
