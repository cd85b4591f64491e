import { describe, expect, it } from 'vitest';
import { MemoryBroker } from './memory.js';
import { StreamRewind } from './rewind.js';

const bytes = (s: string) => new TextEncoder().encode(s);
const text = (b: Uint8Array) => new TextDecoder().decode(b);

describe('MemoryBroker', () => {
  it('keeps one key on one partition, in order', async () => {
    const broker = new MemoryBroker(4);
    const seen: string[] = [];
    const consumer = broker.consumer({ groupId: 'g', topics: ['t'] });
    await consumer.start(async (batch) => {
      for (const r of batch.records) if (r.key === 'a/1') seen.push(text(r.value));
    });
    await broker.producer().send(
      't',
      [1, 2, 3, 4, 5].map((i) => ({ key: 'a/1', value: bytes(String(i)) })),
    );
    await broker.drained();
    await consumer.stop();
    expect(seen).toEqual(['1', '2', '3', '4', '5']);
    expect(new Set(broker.read('t').map((r) => r.partition)).size).toBe(1);
  });

  it('redelivers a batch whose handler failed, without committing it', async () => {
    const broker = new MemoryBroker(1);
    let failures = 1;
    const handled: string[] = [];
    const consumer = broker.consumer({ groupId: 'g', topics: ['t'] });
    await consumer.start(async (batch) => {
      if (failures-- > 0) throw new Error('transient');
      handled.push(...batch.records.map((r) => text(r.value)));
    });
    await broker.producer().send('t', [{ key: 'k', value: bytes('x') }]);
    await broker.drained();
    await consumer.stop();
    expect(handled).toEqual(['x']);
  });

  it('a handler rejecting with StreamRewind is consumed again from that offset; partitionOffsets shows the commit', async () => {
    const broker = new MemoryBroker(1);
    const handled: string[] = [];
    let rewound = false;
    const consumer = broker.consumer({ groupId: 'g', topics: ['t'] });
    await consumer.start(async (batch) => {
      if (!rewound && batch.records[0]?.offset === '3') {
        rewound = true;
        throw new StreamRewind('1', 'state lost');
      }
      handled.push(...batch.records.map((r) => r.offset));
    });
    const admin = broker.admin();
    expect(await admin.partitionOffsets('g', 't')).toEqual([{ partition: 0, low: '0', high: '0' }]);
    await broker.producer().send(
      't',
      [0, 1, 2].map((i) => ({ key: 'k', value: bytes(String(i)) })),
    );
    await broker.drained();
    await broker.producer().send(
      't',
      [3, 4].map((i) => ({ key: 'k', value: bytes(String(i)) })),
    );
    await broker.drained();
    await consumer.stop();
    expect(handled).toEqual(['0', '1', '2', '1', '2', '3', '4']);
    expect(await admin.partitionOffsets('g', 't')).toEqual([{ partition: 0, low: '0', high: '5', committed: '5' }]);
  });

  it("reports a group's lag per partition: appended minus committed", async () => {
    const broker = new MemoryBroker(2);
    const admin = broker.admin();
    const total = async () => (await admin.groupLag('g', ['t'])).reduce((n, l) => n + l.lag, 0);
    await broker.producer().send(
      't',
      Array.from({ length: 7 }, (_, i) => ({ key: `u${i}`, value: bytes(String(i)) })),
    );
    expect((await admin.groupLag('g', ['t'])).map((l) => l.partition)).toEqual([0, 1]);
    expect(await total()).toBe(7);
    const consumer = broker.consumer({ groupId: 'g', topics: ['t'] });
    await consumer.start(async () => {});
    await broker.drained();
    await consumer.stop();
    expect(await total()).toBe(0);
    await broker.producer().send('t', [{ key: 'late', value: bytes('x') }]);
    expect(await total()).toBe(1);
    expect((await admin.groupLag('other', ['t'])).reduce((n, l) => n + l.lag, 0)).toBe(8);
    // a deleted group's offsets are gone: it would start from the beginning
    await admin.deleteGroups(['g', 'never-existed']);
    expect(await total()).toBe(8);
  });
});
