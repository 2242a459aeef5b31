/**
 * A small JSON Schema interpreter for the keywords the scenario schema uses
 * (traces/schema/scenario.schema.json): $ref (local), type, const, enum, properties, required,
 * additionalProperties, patternProperties, items, minItems, minimum, maximum, minLength, pattern, anyOf.
 * The scenario importer validates with the schema file itself, so the documented schema and the code
 * cannot drift apart; a keyword outside this set makes the constructor throw rather than be ignored.
 * Failures name the file, the field path and the line, through Field.fail.
 */

import { describe, type Field } from './source';

type SchemaObj = { [k: string]: unknown };
type Schema = boolean | SchemaObj;

const KEYWORDS = new Set([
  '$schema', '$id', '$defs', '$ref', '$comment', 'title', 'description', 'default', 'examples',
  'type', 'const', 'enum', 'properties', 'required', 'additionalProperties', 'patternProperties',
  'items', 'minItems', 'minimum', 'maximum', 'minLength', 'pattern', 'anyOf',
]);

interface Problem {
  field: Field;
  message: string;
}

function jsonType(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  return typeof v;
}

const TYPE_WORDS: Record<string, string> = {
  object: 'an object',
  array: 'a list',
  string: 'a string',
  integer: 'an integer',
  number: 'a number',
  boolean: 'true or false',
  null: 'null',
};

export class SchemaValidator {
  constructor(private readonly root: SchemaObj) {
    this.checkKeywords(root, '#');
  }

  /** Throws InputError at the first place `f` does not match the schema. */
  validate(f: Field): void {
    const p = this.check(this.root, f);
    if (p) p.field.fail(p.message);
  }

  /** The problem with `f`, or null when it matches. */
  problem(f: Field): string | null {
    const p = this.check(this.root, f);
    return p ? `${p.field.pathText || '(document)'}: ${p.message}` : null;
  }

  private checkKeywords(s: Schema, at: string): void {
    if (typeof s === 'boolean') return;
    for (const k of Object.keys(s)) if (!KEYWORDS.has(k)) throw new Error(`scenario schema ${at}: keyword ${k} is not supported by src/cluster/schema.ts`);
    const sub = (x: unknown, where: string) => this.checkKeywords(x as Schema, where);
    for (const group of ['$defs', 'properties', 'patternProperties']) {
      const g = s[group] as SchemaObj | undefined;
      if (g) for (const k of Object.keys(g)) sub(g[k], `${at}/${group}/${k}`);
    }
    if (s.items !== undefined) sub(s.items, `${at}/items`);
    if (s.additionalProperties !== undefined) sub(s.additionalProperties, `${at}/additionalProperties`);
    if (Array.isArray(s.anyOf)) s.anyOf.forEach((x, i) => sub(x, `${at}/anyOf/${i}`));
  }

  private resolve(s: Schema): Schema {
    while (typeof s === 'object' && typeof s.$ref === 'string') {
      const ref = s.$ref as string;
      const m = /^#\/\$defs\/(.+)$/.exec(ref);
      const defs = this.root.$defs as SchemaObj | undefined;
      if (!m || !defs || defs[m[1]] === undefined) throw new Error(`scenario schema: unresolvable $ref ${ref}`);
      s = defs[m[1]] as Schema;
    }
    return s;
  }

  /** What a schema accepts, in words (for "expected a or b" messages). */
  private words(s: Schema): string {
    s = this.resolve(s);
    if (typeof s === 'boolean') return s ? 'anything' : 'nothing';
    if (typeof s.description === 'string' && s.description.length < 80) return s.description;
    if (s.const !== undefined) return JSON.stringify(s.const);
    if (Array.isArray(s.enum)) return `one of ${s.enum.join(', ')}`;
    if (typeof s.type === 'string') return TYPE_WORDS[s.type] ?? s.type;
    return 'a value';
  }

  /** True when `s` would accept a value of this JSON type at all (to pick the closest anyOf branch). */
  private typeFits(s: Schema, v: unknown): boolean {
    s = this.resolve(s);
    if (typeof s === 'boolean') return s;
    const t = jsonType(v);
    if (typeof s.type === 'string') return s.type === t || (s.type === 'number' && t === 'integer');
    if (s.const !== undefined) return jsonType(s.const) === t;
    if (Array.isArray(s.enum)) return s.enum.some((e) => jsonType(e) === t);
    return true;
  }

  private check(schema: Schema, f: Field): Problem | null {
    const s = this.resolve(schema);
    if (s === true) return null;
    if (s === false) return { field: f, message: 'this key is not allowed here' };
    const v = f.value;
    if (Array.isArray(s.anyOf)) {
      const alts = s.anyOf as Schema[];
      const problems: Problem[] = [];
      for (const alt of alts) {
        const p = this.check(alt, f);
        if (!p) {
          problems.length = 0;
          break;
        }
        problems.push(p);
      }
      if (problems.length > 0) {
        const fitting = alts.map((a, i) => (this.typeFits(a, v) ? i : -1)).filter((i) => i >= 0);
        if (fitting.length === 1) return problems[fitting[0]];
        return { field: f, message: `expected ${alts.map((a) => this.words(a)).join(' or ')}, found ${describe(v)}` };
      }
    }
    if (s.type !== undefined) {
      const t = jsonType(v);
      const ok = s.type === t || (s.type === 'number' && t === 'integer');
      if (!ok) return { field: f, message: `expected ${TYPE_WORDS[s.type as string] ?? s.type}, found ${describe(v)}` };
    }
    if (s.const !== undefined && v !== s.const) return { field: f, message: `must be ${JSON.stringify(s.const)}, found ${describe(v)}` };
    if (Array.isArray(s.enum) && !s.enum.includes(v)) return { field: f, message: `${describe(v)} is not one of ${s.enum.join(', ')}` };
    if (typeof v === 'string') {
      if (typeof s.minLength === 'number' && v.length < s.minLength) return { field: f, message: v === '' ? 'must not be empty' : `must be at least ${s.minLength} characters` };
      if (typeof s.pattern === 'string' && !new RegExp(s.pattern).test(v)) {
        return { field: f, message: `${JSON.stringify(v)} is not ${typeof s.description === 'string' ? s.description : `of the form ${s.pattern}`}` };
      }
    }
    if (typeof v === 'number') {
      const min = s.minimum as number | undefined;
      const max = s.maximum as number | undefined;
      if ((min !== undefined && v < min) || (max !== undefined && v > max)) return { field: f, message: `${v} is out of range ${min ?? '-∞'}..${max ?? '∞'}` };
    }
    if (Array.isArray(v)) {
      if (typeof s.minItems === 'number' && v.length < s.minItems) return { field: f, message: `needs at least ${s.minItems} item(s)` };
      if (s.items !== undefined) {
        for (const item of f.items()) {
          const p = this.check(s.items as Schema, item);
          if (p) return p;
        }
      }
    }
    if (jsonType(v) === 'object') {
      const props = (s.properties ?? {}) as SchemaObj;
      const patterns = Object.entries((s.patternProperties ?? {}) as SchemaObj).map(([k, sub]) => [new RegExp(k), sub] as const);
      for (const req of (s.required ?? []) as string[]) {
        if ((v as SchemaObj)[req] === undefined) return { field: f, message: `${req} is required` };
      }
      for (const key of Object.keys(v as SchemaObj)) {
        const child = f.get(key);
        if (props[key] !== undefined) {
          const p = this.check(props[key] as Schema, child);
          if (p) return p;
          continue;
        }
        const pat = patterns.find(([re]) => re.test(key));
        if (pat) {
          const p = this.check(pat[1] as Schema, child);
          if (p) return p;
          continue;
        }
        if (s.additionalProperties === false) {
          const known = Object.keys(props);
          return { field: child, message: `unknown key ${JSON.stringify(key)}${known.length > 0 ? `; expected one of: ${known.join(', ')}` : ''}` };
        }
        if (s.additionalProperties !== undefined) {
          const p = this.check(s.additionalProperties as Schema, child);
          if (p) return p;
        }
      }
    }
    return null;
  }
}
