import {
  create,
  type DescField,
  type DescMessage,
  fromBinary,
  isFieldSet,
  type MessageShape,
  ScalarType,
  toBinary,
} from '@bufbuild/protobuf';
import { type Persona, PersonaSchema, PersonaUpdateSchema, TagSetSchema } from '@personastream/contracts';
import { describe, expect, it } from 'vitest';
import { loadModel } from '../model-file.js';
import { createBuiltinBackend } from './builtin/backend.js';
import { encodePersona, encodePersonaUpdate } from './encode.js';
import { flippedDimensions, tagValuesOfPersonaBytes } from './flips.js';
import { applyWindow, type PersonaState } from './state.js';
import { syntheticUsers } from './synthetic.js';

const edge = create(PersonaSchema, {
  tenant: 'tënant/ü',
  userId: '用户-😀',
  version: 2 ** 32 - 1,
  updatedMs: -0,
  tags: [
    {
      dimension: 'd',
      value: '',
      confidence: Number.NaN,
      sinceMs: 1e300,
      evidence: [{}, { count: 300, detail: 'x'.repeat(20_000) }],
    },
    { dimension: '', value: 'v', confidence: 0, sinceMs: -1.5 },
  ],
  summary: 's'.repeat(200),
  windowsSeen: 127,
  eventsSeen: 128,
  model: 'm',
  lastEventTimeMs: 1_764_000_000_000.25,
});

function builtinPersonas(): Persona[] {
  const backend = createBuiltinBackend(loadModel());
  const out: Persona[] = [];
  for (const u of syntheticUsers({ users: 3, seed: 5, tenant: 't', windowsPerUser: 6 })) {
    let state: PersonaState | undefined;
    for (const w of u.windows) {
      const r = applyWindow(state, w, backend, { nowMs: 1_764_000_000_123 });
      state = r.state;
      out.push(r.persona);
    }
  }
  return out;
}

describe('hand-written encoders', () => {
  const personas = [create(PersonaSchema), edge, ...builtinPersonas()];

  it('encode personas exactly like toBinary (builtin personas, defaults, edge values, non-ASCII)', () => {
    for (const p of personas) expect(Buffer.from(encodePersona(p))).toEqual(Buffer.from(toBinary(PersonaSchema, p)));
  });

  it('encode updates around an encoded persona exactly like toBinary', () => {
    for (const p of personas.slice(0, 6)) {
      for (const fields of [
        {
          windowId: 'w-1',
          runId: 'r',
          tombstone: false,
          samples: [],
          semantizedBytes: 10,
          rawBytes: 2 ** 31,
          semantizedTokens: 0,
          rawTokens: 7,
          ingestTimeMs: 1.5,
          early: true,
          firstEntryMs: 1_764_000_000_000,
          flipped: 3,
        },
        {
          windowId: '',
          runId: '',
          tombstone: true,
          samples: [create(TagSetSchema, { tags: p.tags }), create(TagSetSchema)],
          semantizedBytes: 0,
          rawBytes: 0,
          semantizedTokens: 1,
          rawTokens: 0,
          ingestTimeMs: 0,
          early: false,
          firstEntryMs: -0,
          flipped: 0,
        },
      ]) {
        const direct = toBinary(PersonaUpdateSchema, create(PersonaUpdateSchema, { ...fields, persona: p }));
        expect(Buffer.from(encodePersonaUpdate(encodePersona(p), fields))).toEqual(Buffer.from(direct));
      }
    }
  });

  it('cover every field of Persona and PersonaUpdate (each filled by reflection with a non-default value)', () => {
    for (let seed = 1; seed <= 3; seed++) {
      const update = filled(PersonaUpdateSchema, seed);
      const persona = update.persona as Persona;
      expect(unsetFields(PersonaSchema, persona)).toEqual([]);
      expect(unsetFields(PersonaUpdateSchema, update)).toEqual([]);
      expect(Buffer.from(encodePersona(persona))).toEqual(Buffer.from(toBinary(PersonaSchema, persona)));
      // The update itself is the fields object: a field the encoder forgets is missing from its bytes.
      expect(Buffer.from(encodePersonaUpdate(encodePersona(persona), update))).toEqual(
        Buffer.from(toBinary(PersonaUpdateSchema, update)),
      );
    }
  });

  it('rejects what is not a uint32, as toBinary does', () => {
    expect(() => encodePersona(create(PersonaSchema, { version: 1.5 }))).toThrow();
    expect(() => toBinary(PersonaSchema, create(PersonaSchema, { version: 1.5 }))).toThrow();
  });
});

/** A non-default value of a scalar type (`seed` varies it; varints take several bytes). */
function scalarValue(t: ScalarType, seed: number): unknown {
  switch (t) {
    case ScalarType.STRING:
      return `s${seed}-é-${'x'.repeat(seed * 40)}`;
    case ScalarType.BOOL:
      return true;
    case ScalarType.DOUBLE:
    case ScalarType.FLOAT:
      return 1_764_000_000_000.5 * seed;
    case ScalarType.BYTES:
      return new Uint8Array([seed, 0, 255]);
    case ScalarType.INT64:
    case ScalarType.UINT64:
    case ScalarType.FIXED64:
    case ScalarType.SFIXED64:
    case ScalarType.SINT64:
      return BigInt(300 * seed);
    default:
      return 300 * seed + 2 ** 20;
  }
}

/** A message of `schema` with every field set to a non-default value, nested messages too (lists: 2 elements). */
function filled<Desc extends DescMessage>(schema: Desc, seed: number, depth = 0): MessageShape<Desc> {
  if (depth > 4) throw new Error(`message nesting too deep at ${schema.typeName}`);
  const msg = create(schema) as Record<string, unknown>;
  const value = (f: DescField, k: number): unknown => {
    if (f.fieldKind === 'scalar' || (f.fieldKind === 'list' && f.listKind === 'scalar'))
      return scalarValue(f.scalar as ScalarType, seed + k);
    if (f.fieldKind === 'message' || (f.fieldKind === 'list' && f.listKind === 'message'))
      return filled(f.message as DescMessage, seed + k, depth + 1);
    if (f.fieldKind === 'enum' || (f.fieldKind === 'list' && f.listKind === 'enum'))
      return f.enum.values[f.enum.values.length - 1]?.number;
    throw new Error(`filled: field kind ${f.fieldKind} of ${schema.typeName}.${f.name} not handled`);
  };
  for (const f of schema.fields) {
    if (f.oneof) throw new Error(`filled: oneof field ${schema.typeName}.${f.name} not handled`);
    msg[f.localName] = f.fieldKind === 'list' ? [value(f, 0), value(f, 1)] : value(f, 0);
  }
  return msg as MessageShape<Desc>;
}

/** Names of the fields of `msg` that are not set (reflection). */
function unsetFields<Desc extends DescMessage>(schema: Desc, msg: MessageShape<Desc>): string[] {
  return schema.fields.filter((f) => !isFieldSet(msg, f)).map((f) => f.name);
}

describe('reading tag values and flips', () => {
  const personas = [create(PersonaSchema), edge, ...builtinPersonas(), filled(PersonaSchema, 2)];

  it('reads the (dimension, value) of every tag from persona bytes like fromBinary', () => {
    for (const p of personas) {
      const bytes = toBinary(PersonaSchema, p);
      const expected = fromBinary(PersonaSchema, bytes).tags.map((t) => ({ dimension: t.dimension, value: t.value }));
      expect(tagValuesOfPersonaBytes(bytes)).toEqual(expected);
    }
    const bytes = toBinary(PersonaSchema, edge);
    const tagAt = bytes.indexOf(0x2a);
    // Cut inside a double, inside a tag's string, inside a tag.
    for (const cut of [bytes.length - 5, tagAt + 4, tagAt + 20]) {
      expect(() => tagValuesOfPersonaBytes(bytes.subarray(0, cut))).toThrow(/truncated|malformed/);
    }
  });

  it('counts the dimensions whose value set changed (order of values ignored; a dimension that appears or goes counts)', () => {
    const t = (pairs: string[]) =>
      pairs.map((p) => ({ dimension: p.split('=')[0] as string, value: p.split('=')[1] as string }));
    expect(flippedDimensions(t(['a=1', 'i=x', 'i=y']), t(['i=y', 'a=1', 'i=x']))).toBe(0);
    expect(flippedDimensions(t(['a=1', 'i=x', 'i=y']), t(['a=2', 'i=x']))).toBe(2);
    expect(flippedDimensions(t(['a=1']), t(['a=1', 'b=2']))).toBe(1);
    expect(flippedDimensions(t(['a=1', 'b=2']), t([]))).toBe(2);
    expect(flippedDimensions([], [])).toBe(0);
  });
});
