/**
 * core/safe-text.ts: the one escaper for text people and terminals read, the JSON escaping that keeps
 * values, and the UTF-8 caps of length-limited fields. The outputs that use them are tested as a user
 * runs them in test/text-outputs.test.ts.
 */
import { strict as assert } from 'node:assert';
import { capText, capUtf8, jsonSafe, jsonText, safeText, shortText } from '../src/core/safe-text';

/** Any character a terminal could act on, or that hides or reorders text. */
const RAW_UNSAFE = /[\u0000-\u001f\u007f-\u009f\u00ad\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2064\u2066-\u2069\ufeff]/u;

describe('safe text: safeText', () => {
  it('shows C0, DEL, C1, bidi and format characters as visible escapes (tshark form)', () => {
    assert.equal(safeText('a\x1b[2Jb'), 'a\\033[2Jb');
    assert.equal(safeText('\x07\x08\t\n\x0b\x0c\r\x00\x7f'), '\\a\\b\\t\\n\\v\\f\\r\\000\\177');
    assert.equal(safeText('x\u009b31m'), 'x\\u009B31m');
    assert.equal(safeText('\u202eevil\u202c'), '\\u202Eevil\\u202C');
    const marks = '\u200e\u200f\u061c\u2066\u2067\u2068\u2069\u202a\u202b\u202d\u200b\u200d\u2060\ufeff\u00ad\u2028\u2029';
    const out = safeText(marks);
    assert.doesNotMatch(out, RAW_UNSAFE);
    assert.equal(out.split('\\u').length - 1, marks.length, 'one escape per character');
    assert.equal(safeText('\u{E0001}'), '\\U000E0001', 'a format character above U+FFFF');
    assert.equal(safeText('a\ud800b'), 'a\\uD800b', 'a lone surrogate');
  });

  it('doubles a backslash, so a name cannot forge an escape', () => {
    assert.equal(safeText('web\\u202e'), 'web\\\\u202e');
    assert.notEqual(safeText('web\\u202E'), safeText('web\u202e'));
    assert.notEqual(safeText('a\\n'), safeText('a\n'));
  });

  it('keeps printable text, ASCII or not, and returns it unchanged', () => {
    const s = 'web-0.default été 東京 😀 a\u00a0b';
    assert.equal(safeText(s), s);
  });
});

describe('safe text: JSON', () => {
  it('jsonSafe writes DEL, C1, bidi and format characters as \\u escapes; a JSON reader gets the same value', () => {
    const v = { name: 'web\x1b[2J\u009b\u202e\u2066x\u2028y\u{E0001}\x7f\\u202e"', n: 1 };
    const json = jsonSafe(JSON.stringify(v));
    assert.doesNotMatch(json, RAW_UNSAFE);
    assert.match(json, /\\u009b/);
    assert.match(json, /\\u202e/);
    assert.deepEqual(JSON.parse(json), v);
    assert.equal(jsonText(null), 'null');
    assert.equal(JSON.parse(jsonText('a\u202eb')), 'a\u202eb');
    assert.equal(jsonText('plain'), '"plain"');
  });
});

describe('safe text: caps', () => {
  const enc = new TextEncoder();
  it('capUtf8 returns the same array when it fits, else cuts at a character boundary and ends with …', () => {
    const fits = enc.encode('short');
    assert.equal(capUtf8(fits, 5), fits);
    const long = enc.encode('é'.repeat(10)); // 20 bytes
    const cut = capUtf8(long, 10);
    assert.ok(cut.length <= 10);
    assert.equal(new TextDecoder('utf-8', { fatal: true }).decode(cut), 'ééé…', 'whole characters only, then the mark');
    const big = enc.encode('x'.repeat(70000));
    assert.equal(capUtf8(big, 65535).length, 65535);
  });

  it('capText and shortText', () => {
    assert.equal(capText('abc', 3), 'abc');
    assert.equal(capText('abcdef', 5), 'ab…');
    assert.equal(shortText('a'.repeat(100), 10), 'aaaaaaaaaa…');
    assert.equal(shortText('😀'.repeat(100), 3), '😀😀😀…');
    assert.equal(shortText('😀'.repeat(5), 5), '😀'.repeat(5));
  });
});
