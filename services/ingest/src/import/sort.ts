import { once } from 'node:events';
import { createReadStream, createWriteStream, type WriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

/** One event line to sort: its event time, id (tie-break), user id and canonical JSON. */
export interface SortItem {
  t: number;
  id: string;
  userId: string;
  json: string;
}

function compare(a: SortItem, b: SortItem): number {
  return a.t - b.t || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}

function encodeLine(it: SortItem): string {
  // the header array and canonical JSON never contain a raw tab (JSON escapes control characters)
  return `${JSON.stringify([it.t, it.id, it.userId])}\t${it.json}\n`;
}

function decodeLine(line: string): SortItem {
  const tab = line.indexOf('\t');
  const [t, id, userId] = JSON.parse(line.slice(0, tab)) as [number, string, string];
  return { t, id, userId, json: line.slice(tab + 1) };
}

async function writeLines(path: string, items: Iterable<SortItem>): Promise<void> {
  const out: WriteStream = createWriteStream(path);
  let buf = '';
  for (const it of items) {
    buf += encodeLine(it);
    if (buf.length > 1 << 20) {
      if (!out.write(buf)) await once(out, 'drain');
      buf = '';
    }
  }
  out.end(buf);
  await once(out, 'close');
}

async function* readLines(path: string): AsyncGenerator<SortItem> {
  const rl = createInterface({ input: createReadStream(path), crlfDelay: Number.POSITIVE_INFINITY });
  for await (const line of rl) if (line !== '') yield decodeLine(line);
}

/** k-way merge of sorted streams with a binary heap. */
async function* merge(sources: AsyncGenerator<SortItem>[]): AsyncGenerator<SortItem> {
  const heap: Array<{ item: SortItem; src: AsyncGenerator<SortItem> }> = [];
  const less = (i: number, j: number) =>
    compare((heap[i] as { item: SortItem }).item, (heap[j] as { item: SortItem }).item) < 0;
  const swap = (i: number, j: number) => {
    const x = heap[i] as (typeof heap)[number];
    heap[i] = heap[j] as (typeof heap)[number];
    heap[j] = x;
  };
  const up = (i: number) => {
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!less(i, p)) break;
      swap(i, p);
      i = p;
    }
  };
  const down = (i: number) => {
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < heap.length && less(l, m)) m = l;
      if (r < heap.length && less(r, m)) m = r;
      if (m === i) return;
      swap(i, m);
      i = m;
    }
  };
  for (const src of sources) {
    const n = await src.next();
    if (!n.done) {
      heap.push({ item: n.value, src });
      up(heap.length - 1);
    }
  }
  while (heap.length > 0) {
    const top = heap[0] as (typeof heap)[number];
    yield top.item;
    const n = await top.src.next();
    if (n.done) {
      const last = heap.pop() as (typeof heap)[number];
      if (heap.length > 0) {
        heap[0] = last;
        down(0);
      }
    } else {
      top.item = n.value;
      down(0);
    }
  }
}

/**
 * Sorts event lines by (event time, event id) with bounded memory: up to `chunkSize` lines are held
 * and sorted in memory; beyond that, sorted runs are spilled to temp files and merged (at most
 * `fanIn` files at a time, in several passes if needed). The same input always yields the same order.
 */
export class ExternalSorter {
  private buffer: SortItem[] = [];
  private runs: string[] = [];
  private dir: string | undefined;
  private seq = 0;

  constructor(
    private readonly chunkSize = 200_000,
    private readonly fanIn = 64,
    private readonly tmpRoot = tmpdir(),
  ) {}

  /** Lines added so far. */
  count = 0;

  async add(item: SortItem): Promise<void> {
    this.buffer.push(item);
    this.count++;
    if (this.buffer.length >= this.chunkSize) await this.spill();
  }

  private async runPath(): Promise<string> {
    this.dir ??= await mkdtemp(join(this.tmpRoot, 'ps-import-sort-'));
    return join(this.dir, `run-${this.seq++}.txt`);
  }

  private async spill(): Promise<void> {
    if (this.buffer.length === 0) return;
    const items = this.buffer.sort(compare);
    this.buffer = [];
    const path = await this.runPath();
    await writeLines(path, items);
    this.runs.push(path);
  }

  /** The sorted lines; removes the temp files when done (also when the consumer stops early). */
  async *sorted(): AsyncGenerator<SortItem> {
    try {
      if (this.runs.length === 0) {
        const items = this.buffer.sort(compare);
        this.buffer = [];
        yield* items;
        return;
      }
      await this.spill();
      while (this.runs.length > this.fanIn) {
        const group = this.runs.splice(0, this.fanIn);
        const path = await this.runPath();
        const out = createWriteStream(path);
        let buf = '';
        for await (const it of merge(group.map(readLines))) {
          buf += encodeLine(it);
          if (buf.length > 1 << 20) {
            if (!out.write(buf)) await once(out, 'drain');
            buf = '';
          }
        }
        out.end(buf);
        await once(out, 'close');
        await Promise.all(group.map((g) => rm(g, { force: true })));
        this.runs.push(path);
      }
      yield* merge(this.runs.map(readLines));
    } finally {
      if (this.dir) await rm(this.dir, { recursive: true, force: true });
      this.dir = undefined;
      this.runs = [];
    }
  }
}
