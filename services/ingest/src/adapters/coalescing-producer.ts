import type { OutRecord, StreamProducer } from '@personastream/stream';

interface Pending {
  records: OutRecord[];
  resolve: () => void;
  reject: (err: unknown) => void;
}

export interface CoalescingOptions {
  /** Most records in one combined send (default 5000). */
  maxRecords?: number;
  /** How long the first waiting send waits for company, ms (default 0: the same event-loop turn). */
  lingerMs?: number;
}

/**
 * Wraps a producer so that the sends of concurrent requests made in the same event-loop turn go to
 * Kafka as one produce call per topic (fewer, larger requests: the broker round trip with acks=all
 * is paid once for all of them). Each caller's promise settles with the combined send that carried
 * its records, so "resolved" still means "acknowledged by every in-sync replica", and a failure is
 * reported to every caller whose records were in the failed send.
 */
export function coalescingProducer(inner: StreamProducer, options: CoalescingOptions = {}): StreamProducer {
  const maxRecords = options.maxRecords ?? 5000;
  const lingerMs = options.lingerMs ?? 0;
  const queues = new Map<string, Pending[]>();
  let queued = 0;
  let scheduled: NodeJS.Immediate | NodeJS.Timeout | undefined;

  const flush = () => {
    if (scheduled !== undefined) {
      if (lingerMs > 0) clearTimeout(scheduled as NodeJS.Timeout);
      else clearImmediate(scheduled as NodeJS.Immediate);
    }
    scheduled = undefined;
    queued = 0;
    for (const [topic, pending] of queues) {
      queues.delete(topic);
      let group: Pending[] = [];
      let count = 0;
      const sendGroup = (g: Pending[]) => {
        const records = g.length === 1 ? (g[0] as Pending).records : g.flatMap((p) => p.records);
        inner.send(topic, records).then(
          () => {
            for (const p of g) p.resolve();
          },
          (err: unknown) => {
            for (const p of g) p.reject(err);
          },
        );
      };
      for (const p of pending) {
        if (count > 0 && count + p.records.length > maxRecords) {
          sendGroup(group);
          group = [];
          count = 0;
        }
        group.push(p);
        count += p.records.length;
      }
      if (group.length > 0) sendGroup(group);
    }
  };

  return {
    send(topic, records) {
      if (records.length === 0) return Promise.resolve();
      return new Promise<void>((resolve, reject) => {
        let q = queues.get(topic);
        if (!q) {
          q = [];
          queues.set(topic, q);
        }
        q.push({ records, resolve, reject });
        queued += records.length;
        if (queued >= maxRecords) flush();
        else if (scheduled === undefined) scheduled = lingerMs > 0 ? setTimeout(flush, lingerMs) : setImmediate(flush);
      });
    },
    close: () => inner.close(),
  };
}
