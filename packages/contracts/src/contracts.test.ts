import { create, fromBinary, fromJsonString, toBinary, toJsonString } from '@bufbuild/protobuf';
import { describe, expect, it } from 'vitest';
import { canonicalEventJson, endOfRun } from './codec.js';
import {
  BehaviorEventSchema,
  EventRecordSchema,
  EventType,
  GroundTruthSchema,
  PersonaSchema,
  PersonaUpdateRecordSchema,
  SemantizedWindowSchema,
  WindowRecordSchema,
} from './index.js';
import {
  checkTenantId,
  isLiveRun,
  LIVE_RUN_ID,
  parseUserKey,
  partitionForKey,
  runKey,
  splitOf,
  tenantIdProblem,
  userKey,
} from './keys.js';
import { mulberry32 } from './random.js';
import { DIMENSIONS, factPhrases } from './schema.js';

const event = create(BehaviorEventSchema, {
  eventId: 'e-1',
  tenant: 'acme',
  userId: 'u/1',
  eventTimeMs: 1767225600123,
  type: EventType.PURCHASE,
  item: { id: 'i-9', categoryPath: ['Sports', 'Running', 'Shoes'], brand: 'Stride', price: 89.5, currency: 'EUR' },
  query: '',
  context: { device: 'mobile', sessionId: 's-1', channel: 'app' },
  properties: { coupon: 'SPRING', gift: 'false' },
  dwellMs: 42000,
  quantity: 1,
  runId: 'r-1',
});

describe('protobuf contracts', () => {
  it('round-trips a BehaviorEvent through binary and JSON', () => {
    expect(fromBinary(BehaviorEventSchema, toBinary(BehaviorEventSchema, event))).toEqual(event);
    expect(fromJsonString(BehaviorEventSchema, toJsonString(BehaviorEventSchema, event))).toEqual(event);
  });

  it('round-trips records with oneof payloads', () => {
    const marker = endOfRun({ runId: 'r-1', partition: 2, totalPartitions: 4, records: 17, producer: 'simulator' });
    const rec = create(EventRecordSchema, { kind: { case: 'endOfRun', value: marker } });
    const back = fromBinary(EventRecordSchema, toBinary(EventRecordSchema, rec));
    expect(back.kind.case).toBe('endOfRun');
    expect(back.kind.value).toEqual(marker);

    const window = create(SemantizedWindowSchema, {
      windowId: 'w1',
      tenant: 'acme',
      userId: 'u1',
      startMs: 1,
      endMs: 2,
      actions: [{ action: 'view', category: 'Sports', count: 3 }],
      hourHistogram: Array.from({ length: 24 }, (_, i) => i),
      devices: { mobile: 3 },
      compression: { rawBytes: 1000, semantizedBytes: 20, tokenizer: 'cl100k_base' },
    });
    const wrec = create(WindowRecordSchema, { kind: { case: 'window', value: window } });
    expect(fromJsonString(WindowRecordSchema, toJsonString(WindowRecordSchema, wrec))).toEqual(wrec);

    const persona = create(PersonaSchema, {
      tenant: 'acme',
      userId: 'u1',
      version: 3,
      tags: [{ dimension: 'interests', value: 'sports', confidence: 0.8, evidence: [{ windowId: 'w1', count: 3 }] }],
      summary: 'This user is interested in sports.',
    });
    const urec = create(PersonaUpdateRecordSchema, { kind: { case: 'update', value: { persona, windowId: 'w1' } } });
    expect(fromBinary(PersonaUpdateRecordSchema, toBinary(PersonaUpdateRecordSchema, urec))).toEqual(urec);
  });

  it('tolerates unknown fields in binary (a newer producer) and can ignore them in JSON', () => {
    const bytes = toBinary(BehaviorEventSchema, event);
    // field 999, wire type 2 (length-delimited), payload "hi": a field this version does not know
    const tag = [0xba, 0x3e]; // (999 << 3) | 2 = 7994 as varint
    const unknown = new Uint8Array([...bytes, ...tag, 2, 0x68, 0x69]);
    const decoded = fromBinary(BehaviorEventSchema, unknown);
    expect(decoded.userId).toBe('u/1');
    // unknown fields are kept and written back out unchanged
    expect(toBinary(BehaviorEventSchema, decoded)).toEqual(unknown);

    const json = JSON.stringify({ ...JSON.parse(toJsonString(BehaviorEventSchema, event)), futureField: 1 });
    expect(() => fromJsonString(BehaviorEventSchema, json)).toThrow(/futureField/);
    expect(fromJsonString(BehaviorEventSchema, json, { ignoreUnknownFields: true }).eventId).toBe('e-1');
  });

  it('writes canonical event JSON with camelCase names and without defaults', () => {
    const line = canonicalEventJson(event);
    expect(line).not.toContain('\n');
    expect(JSON.parse(line)).toMatchObject({ eventId: 'e-1', type: 'EVENT_TYPE_PURCHASE', eventTimeMs: 1767225600123 });
    expect(line).not.toContain('rating');
  });

  it('decodes ground truth JSON', () => {
    const t = create(GroundTruthSchema, {
      userId: 'u1',
      tags: [{ dimension: 'life_events', value: 'new_baby', sinceMs: 5 }],
    });
    expect(fromJsonString(GroundTruthSchema, toJsonString(GroundTruthSchema, t))).toEqual(t);
  });
});

describe('keys and schema', () => {
  it('splits user keys on the first slash only', () => {
    expect(parseUserKey(userKey('acme', 'u/1'))).toEqual({ tenant: 'acme', userId: 'u/1' });
    expect(() => parseUserKey('nouser')).toThrow(/tenant\/user_id/);
  });

  it('partitions deterministically and evenly', () => {
    const counts = [0, 0, 0, 0];
    for (let i = 0; i < 4000; i++) counts[partitionForKey(`acme/u${i}`, 4)]! += 1;
    for (const c of counts) expect(c).toBeGreaterThan(800);
    expect(partitionForKey('acme/u1', 4)).toBe(partitionForKey('acme/u1', 4));
  });

  it('splits users about 80/20', () => {
    let test = 0;
    for (let i = 0; i < 5000; i++) if (splitOf(`u${i}`) === 'test') test++;
    expect(test / 5000).toBeGreaterThan(0.17);
    expect(test / 5000).toBeLessThan(0.23);
  });

  it('accepts tenant ids of the documented character set only', () => {
    for (const ok of ['acme', 'Acme-EU', 'shop_1', 'a.b', '7', 'x'.repeat(64)])
      expect(tenantIdProblem(ok)).toBeUndefined();
    for (const bad of ['', 'a/b', 'a:b', '{a}', 'a b', '-a', '.a', 'tënant', 'a\u0000', 'x'.repeat(65)]) {
      expect(tenantIdProblem(bad), bad).toBeDefined();
    }
    expect(() => checkTenantId('a/b', 'INGEST_API_KEYS')).toThrow(/INGEST_API_KEYS: tenant id "a\/b" must start/);
    // with "/" refused in tenants, two different (tenant, user) pairs never share a key
    expect(tenantIdProblem('a/b')).toBeDefined();
    expect(userKey('a', 'b/c')).toBe('a/b/c');
  });

  it('names the live run and keys runs by tenant', () => {
    expect(isLiveRun(LIVE_RUN_ID)).toBe(true);
    expect(isLiveRun('bench-1')).toBe(false);
    expect(runKey('acme', 'live')).not.toBe(runKey('globex', 'live'));
  });

  it('has a phrase for every value of every dimension', () => {
    for (const d of DIMENSIONS) for (const v of d.values) expect(factPhrases(d.name, v).length).toBeGreaterThan(0);
    expect(factPhrases('life_stage', 'new_parent')[0]).toBe('a new parent');
  });
});

describe('mulberry32', () => {
  it('gives the reference sequence for seed 1 and a different one for seed 2', () => {
    const r = mulberry32(1);
    expect([r(), r(), r()]).toEqual([0.6270739405881613, 0.002735721180215478, 0.5274470399599522]);
    const s = mulberry32(2);
    expect(s()).not.toBe(0.6270739405881613);
  });
});
