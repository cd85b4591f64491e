import { create, toBinary } from '@bufbuild/protobuf';
import {
  PersonaSchema,
  PersonaUpdateRecordSchema,
  SemantizedWindowSchema,
  WindowRecordSchema,
} from '@personastream/contracts';
import { describe, expect, it } from 'vitest';
import {
  addContent,
  compareStates,
  emptyState,
  normalPersona,
  normalRow,
  normalUpdate,
  normalWindow,
} from './compare.js';

const persona = (version: number, updatedMs: number, summary = 'likes running') =>
  create(PersonaSchema, { tenant: 't', userId: 'u1', version, updatedMs, summary });
const update = (version: number, updatedMs: number, entry: number, summary?: string) =>
  toBinary(
    PersonaUpdateRecordSchema,
    create(PersonaUpdateRecordSchema, {
      kind: {
        case: 'update',
        value: {
          persona: persona(version, updatedMs, summary),
          windowId: `w${version}`,
          ingestTimeMs: entry,
          firstEntryMs: entry,
        },
      },
    }),
  );
const window = (seq: number, ingestTimeMs: number, eventCount = 3) =>
  toBinary(
    WindowRecordSchema,
    create(WindowRecordSchema, {
      kind: {
        case: 'window',
        value: create(SemantizedWindowSchema, { tenant: 't', userId: 'u1', runId: 'r', seq, ingestTimeMs, eventCount }),
      },
    }),
  );

describe('chaos end-state normalisation', () => {
  it('blanks only wall-clock fields', () => {
    expect(normalPersona(toBinary(PersonaSchema, persona(3, 1)))).toBe(
      normalPersona(toBinary(PersonaSchema, persona(3, 2))),
    );
    expect(normalPersona(toBinary(PersonaSchema, persona(3, 1)))).not.toBe(
      normalPersona(toBinary(PersonaSchema, persona(3, 1, 'likes tennis'))),
    );
    const a = normalUpdate(update(2, 10, 5));
    const b = normalUpdate(update(2, 99, 7));
    expect(a?.key).toBe('t/u1#v2');
    expect(a?.content).toBe(b?.content);
    expect(normalUpdate(update(2, 10, 5, 'other'))?.content).not.toBe(a?.content);
    expect(normalWindow(window(4, 1))?.key).toBe('t/u1#r#s4');
    expect(normalWindow(window(4, 1))?.content).toBe(normalWindow(window(4, 2))?.content);
    expect(normalWindow(window(4, 1, 5))?.content).not.toBe(normalWindow(window(4, 1))?.content);
    const marker = toBinary(
      WindowRecordSchema,
      create(WindowRecordSchema, { kind: { case: 'endOfRun', value: { runId: 'r' } } }),
    );
    expect(normalWindow(marker)).toBeUndefined();
    const row = normalRow('user_scores', { tenant: 't', user_id: 'u1', written_ms: 5, tag_score: 0.5 });
    expect(row.key).toBe('user_scores:t/u1');
    expect(row).toEqual(normalRow('user_scores', { written_ms: 9, tag_score: 0.5, user_id: 'u1', tenant: 't' }));
  });
});

describe('chaos comparison', () => {
  it('counts lost, duplicated (two contents, or a key the reference lacks) and diverged keys', () => {
    const ref = emptyState();
    const got = emptyState();
    for (const k of ['a', 'b', 'c', 'd']) addContent(ref, 'updates', k, `x${k}`);
    addContent(got, 'updates', 'a', 'xa'); // equal
    addContent(got, 'updates', 'a', 'xa'); // delivered twice, same content: fine
    addContent(got, 'updates', 'b', 'xb');
    addContent(got, 'updates', 'b', 'other'); // one version, two contents
    addContent(got, 'updates', 'c', 'changed'); // diverged
    // d lost
    addContent(got, 'updates', 'e', 'xe'); // a version the reference never issued
    addContent(ref, 'personas', 'u', 'p');
    addContent(got, 'personas', 'u', 'p');
    const v = compareStates(ref, got);
    expect(v.parts.updates).toMatchObject({ keys: 4, lost: 1, duplicated: 2, diverged: 1 });
    expect(v.parts.updates.examples.lost).toEqual(['d']);
    expect(v.parts.updates.examples.duplicated).toHaveLength(2);
    expect(v.parts.updates.examples.duplicated[1]).toBe('e');
    expect(v.parts.personas).toMatchObject({ keys: 1, lost: 0, duplicated: 0, diverged: 0 });
    expect(v).toMatchObject({ lost: 1, duplicated: 2, diverged: 1, referenceInconsistent: 0 });
    expect(compareStates(ref, ref)).toMatchObject({ lost: 0, duplicated: 0, diverged: 0 });
  });

  it('names the fields that differ', () => {
    const ref = emptyState();
    const got = emptyState();
    const a = normalRow('runs', { tenant: 't', run_id: 'r', updates: 10, events: 5 });
    const b = normalRow('runs', { tenant: 't', run_id: 'r', updates: 12, events: 5 });
    addContent(ref, 'rows', a.key, a.content);
    addContent(got, 'rows', b.key, b.content);
    expect(compareStates(ref, got).parts.rows.examples.diverged).toEqual(['runs:t/r (updates: 10 → 12)']);
    const p1 = normalUpdate(update(2, 10, 5));
    const p2 = normalUpdate(update(2, 10, 5, 'other'));
    addContent(ref, 'updates', p1?.key as string, p1?.content as string);
    addContent(got, 'updates', p1?.key as string, p1?.content as string);
    addContent(got, 'updates', p2?.key as string, p2?.content as string);
    expect(compareStates(ref, got).parts.updates.examples.duplicated).toEqual([
      't/u1#v2 (persona: {"tenant":"t","userId":"u1","version":2,"summary":"likes running"} → {"tenant":"t","userId":"u1","version":2,"summary":"other"})',
    ]);
  });
});
