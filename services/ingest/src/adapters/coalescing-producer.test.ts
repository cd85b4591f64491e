import type { OutRecord, StreamProducer } from '@personastream/stream';
import { describe, expect, it } from 'vitest';
import { coalescingProducer } from './coalescing-producer.js';

const rec = (k: string): OutRecord => ({ key: k, value: new Uint8Array([1]) });

describe('coalescingProducer', () => {
  it('combines sends of one turn per topic, and settles every caller with its combined send', async () => {
    const calls: Array<[string, string[]]> = [];
    let fail = false;
    const inner: StreamProducer = {
      send: async (topic, records) => {
        calls.push([topic, records.map((r) => r.key)]);
        if (fail) throw new Error('down');
      },
      close: async () => {},
    };
    const p = coalescingProducer(inner, { maxRecords: 3 });
    await Promise.all([
      p.send('a', [rec('1'), rec('2')]),
      p.send('a', [rec('3')]),
      p.send('b', [rec('4')]),
      p.send('a', [rec('5')]),
    ]);
    // 3 records reached maxRecords: sent at once; the rest together at the end of the turn
    expect(calls).toEqual([
      ['a', ['1', '2', '3']],
      ['b', ['4']],
      ['a', ['5']],
    ]);
    // with a linger, sends of later turns join the waiting group
    calls.length = 0;
    const lingering = coalescingProducer(inner, { lingerMs: 20 });
    const first = lingering.send('a', [rec('x')]);
    await new Promise((r) => setImmediate(r));
    await Promise.all([first, lingering.send('a', [rec('y')])]);
    expect(calls).toEqual([['a', ['x', 'y']]]);
    fail = true;
    const results = await Promise.allSettled([p.send('a', [rec('6')]), p.send('a', [rec('7')])]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
  });
});
