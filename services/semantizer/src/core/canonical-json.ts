import { type BehaviorEvent, EventTypeSchema } from '@personastream/contracts';

/**
 * A fast, byte-identical twin of `canonicalEventJson` (protobuf-es `toJsonString` of a BehaviorEvent):
 * fields in field-number order, proto3 JSON names, implicit-presence zero values omitted (+0 omitted,
 * -0 written as 0), enums by name (unknown numbers as numbers), NaN/±Infinity as strings.
 * `canonical-json.test.ts` checks equality against the reference on thousands of random events.
 * Raw bytes and raw tokens of HPR-Bench are measured over these lines.
 */
export function fastCanonicalEventJson(e: BehaviorEvent): string {
  nonAscii = false;
  let s = '{';
  let sep = '';
  if (e.eventId !== '') {
    s += `"eventId":${str(e.eventId)}`;
    sep = ',';
  }
  if (e.tenant !== '') {
    s += `${sep}"tenant":${str(e.tenant)}`;
    sep = ',';
  }
  if (e.userId !== '') {
    s += `${sep}"userId":${str(e.userId)}`;
    sep = ',';
  }
  if (!isZero(e.eventTimeMs)) {
    s += `${sep}"eventTimeMs":${dbl(e.eventTimeMs)}`;
    sep = ',';
  }
  if (e.type !== 0) {
    s += `${sep}"type":${enumName(e.type)}`;
    sep = ',';
  }
  const item = e.item;
  if (item !== undefined) {
    s += `${sep}"item":{`;
    let isep = '';
    if (item.id !== '') {
      s += `"id":${str(item.id)}`;
      isep = ',';
    }
    if (item.categoryPath.length > 0) {
      s += `${isep}"categoryPath":[`;
      for (let i = 0; i < item.categoryPath.length; i++) s += (i > 0 ? ',' : '') + str(item.categoryPath[i] as string);
      s += ']';
      isep = ',';
    }
    if (item.brand !== '') {
      s += `${isep}"brand":${str(item.brand)}`;
      isep = ',';
    }
    if (!isZero(item.price)) {
      s += `${isep}"price":${dbl(item.price)}`;
      isep = ',';
    }
    if (item.currency !== '') {
      s += `${isep}"currency":${str(item.currency)}`;
      isep = ',';
    }
    if (item.title !== '') s += `${isep}"title":${str(item.title)}`;
    s += '}';
    sep = ',';
  }
  if (e.query !== '') {
    s += `${sep}"query":${str(e.query)}`;
    sep = ',';
  }
  const c = e.context;
  if (c !== undefined) {
    s += `${sep}"context":{`;
    let csep = '';
    if (c.device !== '') {
      s += `"device":${str(c.device)}`;
      csep = ',';
    }
    if (c.sessionId !== '') {
      s += `${csep}"sessionId":${str(c.sessionId)}`;
      csep = ',';
    }
    if (c.channel !== '') {
      s += `${csep}"channel":${str(c.channel)}`;
      csep = ',';
    }
    if (c.userAgent !== '') {
      s += `${csep}"userAgent":${str(c.userAgent)}`;
      csep = ',';
    }
    if (c.locale !== '') s += `${csep}"locale":${str(c.locale)}`;
    s += '}';
    sep = ',';
  }
  const json = propertiesJson(e.properties);
  if (json !== undefined) {
    if (!ASCII.test(json)) nonAscii = true;
    s += `${sep}"properties":${json}`;
    sep = ',';
  }
  if (!isZero(e.dwellMs)) {
    s += `${sep}"dwellMs":${dbl(e.dwellMs)}`;
    sep = ',';
  }
  if (e.rating !== 0) {
    s += `${sep}"rating":${e.rating}`;
    sep = ',';
  }
  if (e.quantity !== 0) {
    s += `${sep}"quantity":${e.quantity}`;
    sep = ',';
  }
  if (e.runId !== '') {
    s += `${sep}"runId":${str(e.runId)}`;
    sep = ',';
  }
  if (!isZero(e.receivedTimeMs)) s += `${sep}"receivedTimeMs":${dbl(e.receivedTimeMs)}`;
  return `${s}}`;
}

/** JSON of a properties map as protobuf-es writes it, or undefined when empty. */
export function propertiesJson(props: { [key: string]: string }): string | undefined {
  const keys = Object.keys(props);
  if (keys.length === 0) return undefined;
  // Same key order as protobuf-es, which builds a fresh object from the map's entries.
  const o: Record<string, string> = {};
  for (const k of keys) o[k] = props[k] as string;
  return JSON.stringify(o);
}

/** +0 is the implicit-presence zero value; -0 is not (protobuf-es `isScalarZeroValue`). */
export function isZero(v: number): boolean {
  return v === 0 && 1 / v > 0;
}

const SAFE = /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/;
// biome-ignore lint/suspicious/noControlCharactersInRegex: the ASCII range includes control characters
const ASCII = /^[\x00-\x7f]*$/;

/** Set by the last `fastCanonicalEventJson` call: true when its output has non-ASCII characters. */
let nonAscii = false;

/** UTF-8 byte length of the line the last `fastCanonicalEventJson` call returned (no rescan for ASCII). */
export function lastLineByteLength(line: string): number {
  return nonAscii ? Buffer.byteLength(line, 'utf8') : line.length;
}

export function str(v: string): string {
  if (SAFE.test(v)) return `"${v}"`;
  if (!ASCII.test(v)) nonAscii = true;
  return JSON.stringify(v);
}

export function dbl(v: number): string {
  if (Number.isNaN(v)) return '"NaN"';
  if (v === Number.POSITIVE_INFINITY) return '"Infinity"';
  if (v === Number.NEGATIVE_INFINITY) return '"-Infinity"';
  return JSON.stringify(v);
}

const ENUM_NAMES = new Map<number, string>(EventTypeSchema.values.map((v) => [v.number, `"${v.name}"`]));

export function enumName(v: number): string {
  return ENUM_NAMES.get(v) ?? String(v);
}

/**
 * UTF-8 byte length of `fastCanonicalEventJson(e)` without building the line (the hot path when
 * tokens are not counted). Mirrors the serializer field by field; tested for equality.
 */
export function canonicalEventJsonBytes(e: BehaviorEvent): number {
  let n = 2;
  let k = 0;
  // `"name":` plus a comma before every field but the first
  const f = (name: number) => {
    n += name + 3 + (k++ > 0 ? 1 : 0);
  };
  if (e.eventId !== '') {
    f(7);
    n += strBytes(e.eventId);
  }
  if (e.tenant !== '') {
    f(6);
    n += strBytes(e.tenant);
  }
  if (e.userId !== '') {
    f(6);
    n += strBytes(e.userId);
  }
  if (!isZero(e.eventTimeMs)) {
    f(11);
    n += dblBytes(e.eventTimeMs);
  }
  if (e.type !== 0) {
    f(4);
    n += (ENUM_NAMES.get(e.type) ?? String(e.type)).length;
  }
  const item = e.item;
  if (item !== undefined) {
    f(4);
    let m = 2;
    let j = 0;
    const g = (name: number) => {
      m += name + 3 + (j++ > 0 ? 1 : 0);
    };
    if (item.id !== '') {
      g(2);
      m += strBytes(item.id);
    }
    if (item.categoryPath.length > 0) {
      g(12);
      m += 2 + item.categoryPath.length - 1;
      for (const c of item.categoryPath) m += strBytes(c);
    }
    if (item.brand !== '') {
      g(5);
      m += strBytes(item.brand);
    }
    if (!isZero(item.price)) {
      g(5);
      m += dblBytes(item.price);
    }
    if (item.currency !== '') {
      g(8);
      m += strBytes(item.currency);
    }
    if (item.title !== '') {
      g(5);
      m += strBytes(item.title);
    }
    n += m;
  }
  if (e.query !== '') {
    f(5);
    n += strBytes(e.query);
  }
  const c = e.context;
  if (c !== undefined) {
    f(7);
    let m = 2;
    let j = 0;
    const g = (name: number) => {
      m += name + 3 + (j++ > 0 ? 1 : 0);
    };
    if (c.device !== '') {
      g(6);
      m += strBytes(c.device);
    }
    if (c.sessionId !== '') {
      g(9);
      m += strBytes(c.sessionId);
    }
    if (c.channel !== '') {
      g(7);
      m += strBytes(c.channel);
    }
    if (c.userAgent !== '') {
      g(9);
      m += strBytes(c.userAgent);
    }
    if (c.locale !== '') {
      g(6);
      m += strBytes(c.locale);
    }
    n += m;
  }
  const props = e.properties;
  const keys = Object.keys(props);
  if (keys.length > 0) {
    f(10);
    let m = 2 + keys.length - 1;
    let plain = true;
    for (const key of keys) {
      if (key === '__proto__') plain = false;
      m += strBytes(key) + 1 + strBytes(props[key] as string);
    }
    if (!plain) {
      const o: Record<string, string> = {};
      for (const key of keys) o[key] = props[key] as string;
      m = Buffer.byteLength(JSON.stringify(o), 'utf8');
    }
    n += m;
  }
  if (!isZero(e.dwellMs)) {
    f(7);
    n += dblBytes(e.dwellMs);
  }
  if (e.rating !== 0) {
    f(6);
    n += String(e.rating).length;
  }
  if (e.quantity !== 0) {
    f(8);
    n += String(e.quantity).length;
  }
  if (e.runId !== '') {
    f(5);
    n += strBytes(e.runId);
  }
  if (!isZero(e.receivedTimeMs)) {
    f(14);
    n += dblBytes(e.receivedTimeMs);
  }
  return n;
}

function strBytes(v: string): number {
  return SAFE.test(v) ? v.length + 2 : Buffer.byteLength(JSON.stringify(v), 'utf8');
}

function dblBytes(v: number): number {
  if (Number.isNaN(v)) return 5;
  if (v === Number.POSITIVE_INFINITY) return 10;
  if (v === Number.NEGATIVE_INFINITY) return 11;
  if (Number.isInteger(v) && v >= 0 && v < 1e15) return intDigits(v);
  return String(v).length;
}

/**
 * Decimal digits of a non-negative integer: a few comparisons with exact powers of ten below 1e15
 * (times are 13 digits: a loop would take 13 steps), counting on above.
 */
export function intDigits(v: number): number {
  if (v < 1e5) return v < 10 ? 1 : v < 100 ? 2 : v < 1e3 ? 3 : v < 1e4 ? 4 : 5;
  if (v < 1e10) return v < 1e6 ? 6 : v < 1e7 ? 7 : v < 1e8 ? 8 : v < 1e9 ? 9 : 10;
  if (v < 1e15) return v < 1e11 ? 11 : v < 1e12 ? 12 : v < 1e13 ? 13 : v < 1e14 ? 14 : 15;
  let d = 16;
  let p = 1e16;
  while (v >= p) {
    d++;
    p *= 10;
  }
  return d;
}
