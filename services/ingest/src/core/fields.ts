import { EventType } from '@personastream/contracts';
import { type FieldIssue, LIMITS } from './types.js';

/** A plain JSON object (not an array, not null). */
export type JsonObject = Record<string, unknown>;

export function isObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The value under the first present name (proto3 JSON accepts both `userId` and `user_id`). */
export function pick(obj: JsonObject, camel: string, snake?: string): unknown {
  const v = obj[camel];
  if (v !== undefined || snake === undefined) return v;
  return obj[snake];
}

/**
 * Reads an optional string. `null`/absent → `''`. Numbers are taken as their decimal text only when
 * `coerceNumber` (Segment ids are sometimes numbers). Records an issue and returns `''` otherwise.
 */
export function readString(
  v: unknown,
  field: string,
  issues: FieldIssue[],
  opts: { required?: boolean; max?: number; coerceNumber?: boolean } = {},
): string {
  let s: string;
  if (v === undefined || v === null) s = '';
  else if (typeof v === 'string') s = v;
  else if (opts.coerceNumber && typeof v === 'number' && Number.isFinite(v)) s = String(v);
  else {
    issues.push({ field, reason: 'invalid_type' });
    return '';
  }
  if (opts.required && s.trim() === '') {
    issues.push({ field, reason: 'required' });
    return '';
  }
  if (s.length > (opts.max ?? LIMITS.text)) {
    issues.push({ field, reason: 'too_long' });
    return '';
  }
  return s;
}

/** Reads an optional finite number (proto3 JSON also allows numeric strings). Absent → 0. */
export function readNumber(
  v: unknown,
  field: string,
  issues: FieldIssue[],
  opts: { required?: boolean; min?: number; max?: number; integer?: boolean } = {},
): number {
  let n: number;
  if (v === undefined || v === null || v === '') {
    if (opts.required) issues.push({ field, reason: 'required' });
    return 0;
  }
  if (typeof v === 'number') n = v;
  else if (typeof v === 'string' && /^-?\d+(\.\d+)?([eE][+-]?\d+)?$/.test(v.trim())) n = Number(v);
  else {
    issues.push({ field, reason: typeof v === 'string' ? 'invalid_format' : 'invalid_type' });
    return 0;
  }
  if (!Number.isFinite(n) || (opts.integer && !Number.isInteger(n))) {
    issues.push({ field, reason: 'invalid_format' });
    return 0;
  }
  if ((opts.min !== undefined && n < opts.min) || (opts.max !== undefined && n > opts.max)) {
    issues.push({ field, reason: 'out_of_range' });
    return 0;
  }
  return n;
}

/** Event type names accepted besides the enum number: `EVENT_TYPE_ITEM_VIEW`, `ITEM_VIEW`, `item_view`. */
const TYPE_BY_NAME = new Map<string, EventType>();
for (const [name, value] of Object.entries(EventType)) {
  if (typeof value !== 'number') continue;
  TYPE_BY_NAME.set(name, value);
  TYPE_BY_NAME.set(`EVENT_TYPE_${name}`, value);
}

/** Parses an event type; records `required` (absent/UNSPECIFIED), `unknown_value` or `invalid_type`. */
export function readEventType(v: unknown, field: string, issues: FieldIssue[]): EventType {
  let t: EventType | undefined;
  if (v === undefined || v === null || v === '') t = EventType.UNSPECIFIED;
  else if (typeof v === 'number') t = Number.isInteger(v) && EventType[v] !== undefined ? (v as EventType) : undefined;
  else if (typeof v === 'string') t = TYPE_BY_NAME.get(v.trim().toUpperCase());
  else {
    issues.push({ field, reason: 'invalid_type' });
    return EventType.UNSPECIFIED;
  }
  if (t === undefined) {
    issues.push({ field, reason: 'unknown_value' });
    return EventType.UNSPECIFIED;
  }
  if (t === EventType.UNSPECIFIED) issues.push({ field, reason: 'required' });
  return t;
}

/**
 * Device class from what platforms send: `mobile`/`phone`/`ios`/`android` → mobile, `tablet`/`ipad`
 * → tablet, `desktop`/`web`/`pc`/`mac`/`windows`/`linux` → desktop, `''` → `''`; anything else undefined.
 */
export function normaliseDevice(raw: string): string | undefined {
  if (raw === 'mobile' || raw === 'desktop' || raw === 'tablet' || raw === '') return raw; // the common case
  const s = raw.trim().toLowerCase();
  if (s === '') return '';
  if (/^(mobile|phone|smartphone|ios|iphone|android|handset)$/.test(s)) return 'mobile';
  if (/^(tablet|ipad|android[-_ ]?tablet)$/.test(s)) return 'tablet';
  if (/^(desktop|web|browser|pc|mac|macos|osx|windows|linux|computer|laptop)$/.test(s)) return 'desktop';
  return undefined;
}

/** Device class guessed from a user agent (used only when the platform sent no device type). */
export function deviceFromUserAgent(ua: string): string {
  if (ua === '') return '';
  if (/iPad|Tablet|Nexus (7|9|10)|SM-T\d|Kindle|Silk/i.test(ua)) return 'tablet';
  if (/Mobi|iPhone|iPod|Android|Windows Phone|BlackBerry/i.test(ua)) return 'mobile';
  if (/Windows NT|Macintosh|X11|Linux|CrOS/i.test(ua)) return 'desktop';
  return '';
}

/**
 * Free properties: string values kept, numbers and booleans turned into text, nested objects and
 * arrays as compact JSON; `null` skipped. Key and value lengths and the entry count are limited.
 */
export function readProperties(
  v: unknown,
  field: string,
  issues: FieldIssue[],
  into: Record<string, string> = {},
  opts: { skip?: ReadonlySet<string>; prefix?: string; strict?: boolean } = {},
): Record<string, string> {
  if (v === undefined || v === null) return into;
  if (!isObject(v)) {
    issues.push({ field, reason: 'invalid_type' });
    return into;
  }
  for (const [k, raw] of Object.entries(v)) {
    if (opts.skip?.has(k) || raw === null || raw === undefined) continue;
    let s: string;
    if (typeof raw === 'string') s = raw;
    else if (opts.strict) {
      issues.push({ field: `${field}.${k}`, reason: 'invalid_type' });
      continue;
    } else if (typeof raw === 'number' || typeof raw === 'boolean') s = String(raw);
    else s = JSON.stringify(raw);
    const key = `${opts.prefix ?? ''}${k}`;
    if (key.length > LIMITS.propertyKey || s.length > LIMITS.propertyValue) {
      issues.push({ field: `${field}.${k}`, reason: 'too_long' });
      continue;
    }
    into[key] = s;
  }
  if (Object.keys(into).length > LIMITS.properties) issues.push({ field, reason: 'too_long' });
  return into;
}

/** A category given as a list or as one string `A > B > C` (also `A/B/C`). */
export function readCategoryPath(v: unknown, field: string, issues: FieldIssue[]): string[] {
  if (v === undefined || v === null || v === '') return [];
  let parts: unknown[];
  if (typeof v === 'string') parts = v.split(/\s*(?:>|\/)\s*/);
  else if (Array.isArray(v)) parts = v;
  else {
    issues.push({ field, reason: 'invalid_type' });
    return [];
  }
  const path: string[] = [];
  for (const p of parts) {
    if (typeof p !== 'string') {
      issues.push({ field, reason: 'invalid_type' });
      return [];
    }
    const t = p.trim();
    if (t === '') continue;
    if (t.length > LIMITS.text) {
      issues.push({ field, reason: 'too_long' });
      return [];
    }
    path.push(t);
  }
  if (path.length > LIMITS.categoryLevels) {
    issues.push({ field, reason: 'too_long' });
    return [];
  }
  return path;
}
