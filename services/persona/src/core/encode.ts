import {
  delimitedFieldSize,
  doubleFieldSize,
  type Evidence,
  type Persona,
  stringFieldSize,
  type Tag,
  type TagSet,
  varintSize,
  writeDoubleField,
  writeStringField,
  writeVarint,
} from '@personastream/contracts';

/**
 * Hand-written protobuf encoders of the messages the update path writes for every window (Persona,
 * and a PersonaUpdate around an already encoded persona): the same bytes as `toBinary` (fields in
 * number order, proto3 defaults omitted), without its reflection. Two passes: sizes of the nested
 * messages first (kept in pre-order), then one write into a buffer of the exact size.
 */

/** The non-persona fields of a PersonaUpdate. */
export interface UpdateFields {
  windowId: string;
  runId: string;
  tombstone: boolean;
  samples: readonly TagSet[];
  semantizedBytes: number;
  rawBytes: number;
  semantizedTokens: number;
  rawTokens: number;
  ingestTimeMs: number;
  /** The update comes from an early window (a session in progress). */
  early: boolean;
  /** Entry time of the oldest event this update is the first to show (`ps-entry-first-ms`), 0 when unknown. */
  firstEntryMs: number;
  /** Dimensions whose value set changed against the previous version. */
  flipped: number;
}

function uint32(v: number): number {
  if (v !== v >>> 0) throw new Error(`invalid uint32: ${v}`);
  return v;
}

const u32Size = (v: number) => (v === 0 ? 0 : 1 + varintSize(uint32(v)));
// proto3 omits +0 but writes -0 (as protobuf-es does).

function evidenceSize(e: Evidence): number {
  return stringFieldSize(e.windowId) + stringFieldSize(e.detail) + u32Size(e.count);
}

/** Size of a tag; pushes the tag's size, then its evidences' sizes (pre-order). */
function tagSize(t: Tag, sizes: number[]): number {
  const at = sizes.length;
  sizes.push(0);
  let n =
    stringFieldSize(t.dimension) +
    stringFieldSize(t.value) +
    doubleFieldSize(t.confidence) +
    doubleFieldSize(t.sinceMs);
  for (const e of t.evidence) {
    const s = evidenceSize(e);
    sizes.push(s);
    n += delimitedFieldSize(s);
  }
  sizes[at] = n;
  return n;
}

function personaSize(p: Persona, sizes: number[]): number {
  let n =
    stringFieldSize(p.tenant) +
    stringFieldSize(p.userId) +
    u32Size(p.version) +
    doubleFieldSize(p.updatedMs) +
    stringFieldSize(p.summary) +
    u32Size(p.windowsSeen) +
    u32Size(p.eventsSeen) +
    stringFieldSize(p.model) +
    doubleFieldSize(p.lastEventTimeMs) +
    (p.early ? 2 : 0);
  for (const t of p.tags) n += delimitedFieldSize(tagSize(t, sizes));
  return n;
}

class Writer {
  pos = 0;
  next = 0;
  constructor(
    readonly buf: Buffer,
    readonly sizes: readonly number[],
  ) {}

  /** The written bytes as a plain Uint8Array (a view; no copy). */
  bytes(): Uint8Array {
    return new Uint8Array(this.buf.buffer, this.buf.byteOffset, this.pos);
  }

  varint(v: number): void {
    this.pos = writeVarint(this.buf, this.pos, v);
  }

  str(tag: number, s: string): void {
    this.pos = writeStringField(this.buf, this.pos, tag, s);
  }

  u32(tag: number, v: number): void {
    if (v === 0) return;
    this.buf[this.pos++] = tag;
    this.varint(v);
  }

  dbl(tag: number, v: number): void {
    this.pos = writeDoubleField(this.buf, this.pos, tag, v);
  }

  bool(tag: number, v: boolean): void {
    if (!v) return;
    this.buf[this.pos++] = tag;
    this.buf[this.pos++] = 1;
  }

  /** A nested message's tag and length (the length from the size pass). */
  open(tag: number): void {
    this.buf[this.pos++] = tag;
    this.varint(this.sizes[this.next++] as number);
  }

  tag(t: Tag): void {
    this.str(0x0a, t.dimension);
    this.str(0x12, t.value);
    this.dbl(0x19, t.confidence);
    for (const e of t.evidence) {
      this.open(0x22);
      this.str(0x0a, e.windowId);
      this.str(0x12, e.detail);
      this.u32(0x18, e.count);
    }
    this.dbl(0x29, t.sinceMs);
  }

  persona(p: Persona): void {
    this.str(0x0a, p.tenant);
    this.str(0x12, p.userId);
    this.u32(0x18, p.version);
    this.dbl(0x21, p.updatedMs);
    for (const t of p.tags) {
      this.open(0x2a);
      this.tag(t);
    }
    this.str(0x32, p.summary);
    this.u32(0x38, p.windowsSeen);
    this.u32(0x40, p.eventsSeen);
    this.str(0x4a, p.model);
    this.dbl(0x51, p.lastEventTimeMs);
    this.bool(0x58, p.early);
  }
}

/** `toBinary(PersonaSchema, p)` for a persona without unknown fields. */
export function encodePersona(p: Persona): Uint8Array {
  const sizes: number[] = [];
  const w = new Writer(Buffer.allocUnsafe(personaSize(p, sizes)), sizes);
  w.persona(p);
  return w.bytes();
}

/**
 * `toBinary(PersonaUpdateSchema, update)` for an update whose persona is already encoded
 * (`personaBytes`, field 1) and whose other fields are `f`.
 */
export function encodePersonaUpdate(personaBytes: Uint8Array, f: UpdateFields): Uint8Array {
  const sizes: number[] = [];
  const setSizes = f.samples.map((s) => {
    const at = sizes.length;
    sizes.push(0);
    let n = 0;
    for (const t of s.tags) n += delimitedFieldSize(tagSize(t, sizes));
    sizes[at] = n;
    return n;
  });
  let size =
    delimitedFieldSize(personaBytes.length) +
    stringFieldSize(f.windowId) +
    stringFieldSize(f.runId) +
    (f.tombstone ? 2 : 0) +
    u32Size(f.semantizedBytes) +
    u32Size(f.rawBytes) +
    u32Size(f.semantizedTokens) +
    u32Size(f.rawTokens) +
    doubleFieldSize(f.ingestTimeMs) +
    (f.early ? 2 : 0) +
    doubleFieldSize(f.firstEntryMs) +
    u32Size(f.flipped);
  for (const n of setSizes) size += delimitedFieldSize(n);
  const w = new Writer(Buffer.allocUnsafe(size), sizes);
  w.buf[w.pos++] = 0x0a;
  w.varint(personaBytes.length);
  w.buf.set(personaBytes, w.pos);
  w.pos += personaBytes.length;
  w.str(0x12, f.windowId);
  w.str(0x1a, f.runId);
  w.bool(0x20, f.tombstone);
  for (const s of f.samples) {
    w.open(0x2a);
    for (const t of s.tags) {
      w.open(0x0a);
      w.tag(t);
    }
  }
  w.u32(0x30, f.semantizedBytes);
  w.u32(0x38, f.rawBytes);
  w.u32(0x40, f.semantizedTokens);
  w.u32(0x48, f.rawTokens);
  w.dbl(0x51, f.ingestTimeMs);
  w.bool(0x58, f.early);
  w.dbl(0x61, f.firstEntryMs);
  w.u32(0x68, f.flipped);
  return w.bytes();
}
