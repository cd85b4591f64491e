import { create, toBinary } from '@bufbuild/protobuf';
import { EventRecordSchema } from '@personastream/contracts';
import { describe, expect, it } from 'vitest';
import { runContext } from './behaviour.js';
import { simulatorConfig } from './config.js';
import { eventRecordBinary } from './event-binary.js';
import { toBehaviorEvent } from './event-json.js';
import { simulateRawUser } from './run.js';

const config = simulatorConfig({ users: 6, seed: 5 });
const ctx = runContext(config);

function reference(raw: ReturnType<typeof simulateRawUser>, e: Parameters<typeof eventRecordBinary>[2]): Uint8Array {
  const rec = create(EventRecordSchema, {
    kind: { case: 'event', value: toBehaviorEvent(ctx.catalogue, raw.json, e) },
  });
  return toBinary(EventRecordSchema, rec);
}

describe('eventRecordBinary', () => {
  it('equals protobuf-es toBinary for every event of several users', () => {
    let checked = 0;
    for (let i = 0; i < config.users; i++) {
      const raw = simulateRawUser(ctx, i);
      for (const e of raw.behaviour.events) {
        expect(Buffer.from(eventRecordBinary(ctx.catalogue, raw.json, e)).equals(Buffer.from(reference(raw, e)))).toBe(
          true,
        );
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(500);
  });

  it('equals toBinary for unusual properties and event numbers (parsed instead of scanned)', () => {
    const raw = simulateRawUser(ctx, 1);
    const base = raw.behaviour.events.find((e) => e.props !== null) ?? raw.behaviour.events[0];
    if (!base) throw new Error('no event');
    const props = [
      '{}',
      '{"page":"home"}',
      '{"2":"digit key first","a":"b"}',
      '{"q":"say \\"hi\\""}',
      '{"city":"Zürich","price":"€5"}',
      '{"a":"1","b":"2","c":"3","d":"4"}',
      `{"long":"${'x'.repeat(300)}"}`,
      '{ "spaced": "out" }',
      '{"k":"first","b":"x","k":"last"}',
    ];
    for (const p of props)
      for (const seq of [0, 9, 10, 99, 100, 12345]) {
        const e = { ...base, props: p, seq };
        const fast = eventRecordBinary(ctx.catalogue, raw.json, e);
        expect(Buffer.from(fast).equals(Buffer.from(reference(raw, e))), `${p} #${seq}`).toBe(true);
      }
  });

  it('returns independent views: later events never overwrite earlier ones', () => {
    const raw = simulateRawUser(ctx, 2);
    const outs = raw.behaviour.events.map((e) => eventRecordBinary(ctx.catalogue, raw.json, e));
    const copies = outs.map((o) => Buffer.from(o));
    for (const e of raw.behaviour.events) eventRecordBinary(ctx.catalogue, raw.json, e);
    outs.forEach((o, i) => {
      expect(Buffer.from(o).equals(copies[i] as Buffer)).toBe(true);
    });
  });
});
