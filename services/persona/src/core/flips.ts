/** A tag's dimension and value: what decides whether a dimension flipped. */
export interface TagValue {
  readonly dimension: string;
  readonly value: string;
}

/** Per dimension, its set of values as one comparable string (sorted, distinct). */
function valueSets(tags: readonly TagValue[]): Map<string, string> {
  const lists = new Map<string, string[]>();
  for (const t of tags) {
    const l = lists.get(t.dimension);
    if (l) l.push(t.value);
    else lists.set(t.dimension, [t.value]);
  }
  const out = new Map<string, string>();
  for (const [d, l] of lists) {
    if (l.length === 1) out.set(d, l[0] as string);
    else out.set(d, [...new Set(l)].sort().join('\u0000'));
  }
  return out;
}

/**
 * Dimensions whose set of values differs between two personas' tags (a dimension present in only one
 * of them counts): `PersonaUpdate.flipped`.
 */
export function flippedDimensions(before: readonly TagValue[], after: readonly TagValue[]): number {
  const a = valueSets(before);
  const b = valueSets(after);
  let n = 0;
  for (const [d, v] of a) if (b.get(d) !== v) n++;
  for (const d of b.keys()) if (!a.has(d)) n++;
  return n;
}

/**
 * The (dimension, value) of every tag of an encoded Persona (field 5, `Tag` fields 1 and 2), without
 * decoding the rest: the Redis store hands these to the next update instead of decoding the persona.
 */
export function tagValuesOfPersonaBytes(bytes: Uint8Array): TagValue[] {
  const buf = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: TagValue[] = [];
  let pos = 0;
  const varint = (): number => {
    let v = 0;
    let shift = 0;
    let b: number;
    do {
      if (pos >= buf.length) throw new Error('truncated persona bytes');
      b = buf[pos++] as number;
      if (shift < 28) v |= (b & 0x7f) << shift;
      else v += (b & 0x7f) * 2 ** shift;
      shift += 7;
    } while (b & 0x80);
    return v;
  };
  const skip = (wire: number, end: number): void => {
    if (wire === 0) varint();
    else if (wire === 1) pos += 8;
    else if (wire === 2) {
      const len = varint(); // read before `pos` is: `pos += varint()` would add to the old position
      pos += len;
    } else if (wire === 5) pos += 4;
    else throw new Error(`unsupported wire type ${wire} in persona bytes`);
    if (pos > end) throw new Error('truncated persona bytes');
  };
  while (pos < buf.length) {
    const tag = varint();
    if (tag !== 0x2a) {
      skip(tag & 7, buf.length);
      continue;
    }
    const len = varint();
    const end = pos + len;
    let dimension = '';
    let value = '';
    while (pos < end) {
      const t = varint();
      if (t === 0x0a || t === 0x12) {
        const n = varint();
        if (pos + n > end) throw new Error('truncated persona bytes');
        const s = buf.toString('utf8', pos, pos + n);
        pos += n;
        if (t === 0x0a) dimension = s;
        else value = s;
      } else skip(t & 7, end);
    }
    if (pos !== end) throw new Error('malformed tag in persona bytes');
    out.push({ dimension, value });
  }
  return out;
}
