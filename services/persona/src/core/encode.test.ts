import { create, toBinary } from '@bufbuild/protobuf';
import { type Persona, PersonaSchema, PersonaUpdateSchema, TagSetSchema } from '@personastream/contracts';
import { describe, expect, it } from 'vitest';
import { loadModel } from '../model-file.js';
import { createBuiltinBackend } from './builtin/backend.js';
import { encodePersona, encodePersonaUpdate } from './encode.js';
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
        },
      ]) {
        const direct = toBinary(PersonaUpdateSchema, create(PersonaUpdateSchema, { ...fields, persona: p }));
        expect(Buffer.from(encodePersonaUpdate(encodePersona(p), fields))).toEqual(Buffer.from(direct));
      }
    }
  });

  it('rejects what is not a uint32, as toBinary does', () => {
    expect(() => encodePersona(create(PersonaSchema, { version: 1.5 }))).toThrow();
    expect(() => toBinary(PersonaSchema, create(PersonaSchema, { version: 1.5 }))).toThrow();
  });
});
