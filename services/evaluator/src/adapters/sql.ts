/**
 * The ONE place where values become SQL text. ClickHouse 18.16 has no server-side query parameters
 * (`{name:Type}` needs ≥ 19), so every value that goes into a query is bound here: strings are
 * quoted and escaped, numbers are checked finite, identifiers are validated and back-quoted. Build
 * queries with the {@link sql} tagged template; it escapes every interpolated value by its type and
 * never lets raw text in except another `sql` fragment or an {@link ident}.
 *
 * Valid on 18.16 and current releases: `'…'` string literals with backslash escapes (`\\`, `\'`,
 * `\n`, `\r`, `\t`, `\0`, `\xHH`), `[…]` array literals, `` `…` `` quoted identifiers.
 */

/** A piece of SQL text whose values are already escaped. */
export class SqlFragment {
  constructor(readonly text: string) {}
  toString(): string {
    return this.text;
  }
}

/** An identifier (database, table or column name) to interpolate into {@link sql}. */
export class SqlIdentifier {
  constructor(readonly parts: readonly string[]) {}
}

export type SqlValue =
  | string
  | number
  | bigint
  | boolean
  | null
  | undefined
  | SqlFragment
  | SqlIdentifier
  | readonly SqlValue[];

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** A string literal: `'…'` with `\`, `'` and control characters escaped (UTF-8 passes through). */
export function sqlString(value: string): string {
  let out = "'";
  for (const ch of value) {
    const code = ch.codePointAt(0) as number;
    switch (ch) {
      case '\\':
        out += '\\\\';
        break;
      case "'":
        out += "\\'";
        break;
      case '\n':
        out += '\\n';
        break;
      case '\r':
        out += '\\r';
        break;
      case '\t':
        out += '\\t';
        break;
      case '\0':
        out += '\\0';
        break;
      default:
        if (code < 0x20 || code === 0x7f) out += `\\x${code.toString(16).padStart(2, '0')}`;
        else if (code >= 0xd800 && code <= 0xdfff)
          out += '\ufffd'; // lone surrogate: not valid UTF-8
        else out += ch;
    }
  }
  return `${out}'`;
}

/** A number literal; throws for NaN and ±Infinity (they would not round-trip as literals). */
export function sqlNumber(value: number | bigint): string {
  if (typeof value === 'bigint') return value.toString();
  if (!Number.isFinite(value)) throw new TypeError(`cannot bind ${value} as a SQL number`);
  if (Object.is(value, -0)) return '0';
  return String(value);
}

/** An array literal `[…]` of strings or numbers (nested arrays allowed). */
export function sqlArray(values: readonly SqlValue[]): string {
  return `[${values.map((v) => sqlValue(v)).join(', ')}]`;
}

/**
 * A quoted identifier: each dot-separated part must match `[A-Za-z_][A-Za-z0-9_]*` (anything else is
 * rejected rather than escaped) and is back-quoted: `db.table` → `` `db`.`table` ``.
 */
export function sqlIdentifier(...parts: string[]): string {
  const all = parts.flatMap((p) => p.split('.'));
  if (all.length === 0) throw new TypeError('empty SQL identifier');
  for (const p of all) {
    if (!IDENTIFIER.test(p)) throw new TypeError(`invalid SQL identifier ${JSON.stringify(p)}`);
  }
  return all.map((p) => `\`${p}\``).join('.');
}

/** Marks a name as an identifier for {@link sql}. */
export function ident(...parts: string[]): SqlIdentifier {
  sqlIdentifier(...parts); // validate early
  return new SqlIdentifier(parts);
}

/** Any supported value as SQL text. */
export function sqlValue(value: SqlValue): string {
  if (value === null || value === undefined) return 'NULL';
  if (value instanceof SqlFragment) return value.text;
  if (value instanceof SqlIdentifier) return sqlIdentifier(...value.parts);
  if (Array.isArray(value)) return sqlArray(value);
  switch (typeof value) {
    case 'string':
      return sqlString(value);
    case 'number':
    case 'bigint':
      return sqlNumber(value);
    case 'boolean':
      return value ? '1' : '0';
    default:
      throw new TypeError(`cannot bind a ${typeof value} in SQL`);
  }
}

/**
 * Tagged template: `sql\`SELECT * FROM ${ident('runs')} WHERE run_id = ${id}\`` escapes every
 * interpolated value by its type. Fragments nest; plain strings are always string literals.
 */
export function sql(strings: TemplateStringsArray, ...values: SqlValue[]): SqlFragment {
  let text = strings[0] ?? '';
  for (let i = 0; i < values.length; i++) text += sqlValue(values[i]) + (strings[i + 1] ?? '');
  return new SqlFragment(text);
}

/** Joins fragments with a separator (e.g. `, ` or ` AND `). */
export function sqlJoin(fragments: readonly SqlFragment[], separator: string): SqlFragment {
  if (!/^[\s,]*(AND|OR|,)?[\s,]*$/i.test(separator)) throw new TypeError(`unsupported SQL separator ${separator}`);
  return new SqlFragment(fragments.map((f) => f.text).join(separator));
}
