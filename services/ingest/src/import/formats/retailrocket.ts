import { existsSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { EventType, type GroundTruth } from '@personastream/contracts';
import { newEvent, newItem } from '../../core/messages.js';
import { readLines, splitCsv } from '../lines.js';
import type { Converted, ImportSource, SourceContext } from '../types.js';

const TYPES: Readonly<Record<string, EventType>> = {
  view: EventType.ITEM_VIEW,
  addtocart: EventType.ADD_TO_CART,
  transaction: EventType.PURCHASE,
};

async function locate(path: string): Promise<{ dir: string; events: string }> {
  const s = await stat(path).catch(() => undefined);
  if (!s) throw new Error(`retailrocket: ${path} does not exist`);
  const events = s.isDirectory() ? join(path, 'events.csv') : path;
  if (!existsSync(events)) throw new Error(`retailrocket: ${events} does not exist`);
  return { dir: dirname(events), events };
}

/**
 * RetailRocket e-commerce dataset: `events.csv` (`timestamp,visitorid,event,itemid,transactionid`,
 * timestamp in ms) → ITEM_VIEW (view), ADD_TO_CART (addtocart), PURCHASE (transaction, quantity 1,
 * `properties.transaction_id`). Event id `rr-<visitor>-<timestamp>-<event>-<item>` (the file has
 * none; identical rows collapse into one id, which de-duplication then drops).
 * When `category_tree.csv` and `item_properties_part*.csv` sit beside it, items get the category
 * path of their latest `categoryid` (root first, numeric ids as in the file); the item → category map
 * is held in memory (one entry per item), events are streamed. No labels: no truth.
 */
export async function retailrocketSource(path: string): Promise<ImportSource> {
  const { dir, events } = await locate(path);
  const treePath = join(dir, 'category_tree.csv');
  const propFiles = ['item_properties_part1.csv', 'item_properties_part2.csv', 'item_properties.csv']
    .map((f) => join(dir, f))
    .filter((f) => existsSync(f));
  const withCategories = existsSync(treePath) && propFiles.length > 0;

  async function categories(ctx: SourceContext): Promise<(item: string) => string[]> {
    if (!withCategories) return () => [];
    const parent = new Map<string, string>();
    for await (const line of readLines(treePath, { onBytes: ctx.onBytes })) {
      const [id, p] = splitCsv(line);
      if (id && /^\d+$/.test(id)) parent.set(id, p ?? '');
    }
    const latest = new Map<string, { t: number; cat: string }>();
    for (const f of propFiles) {
      for await (const line of readLines(f, { onBytes: ctx.onBytes })) {
        if (!line.includes(',categoryid,')) continue;
        const [ts, item, , value] = splitCsv(line);
        if (!item || !value) continue;
        const t = Number(ts);
        const prev = latest.get(item);
        if (!prev || t >= prev.t) latest.set(item, { t, cat: value });
      }
    }
    const pathCache = new Map<string, string[]>();
    const pathOf = (cat: string): string[] => {
      const cached = pathCache.get(cat);
      if (cached) return cached;
      const path: string[] = [];
      const seen = new Set<string>();
      for (let c: string | undefined = cat; c && !seen.has(c) && path.length < 10; c = parent.get(c)) {
        seen.add(c);
        path.unshift(c);
      }
      pathCache.set(cat, path);
      return path;
    };
    return (item) => {
      const c = latest.get(item);
      return c ? pathOf(c.cat) : [];
    };
  }

  return {
    source: 'retailrocket',
    license:
      'RetailRocket recommender system dataset (Kaggle, retailrocket/ecommerce-dataset), CC BY-NC-SA 4.0: non-commercial use, attribution, share alike.',
    description: 'E-commerce clickstream (views, add-to-carts, transactions) of anonymous visitors; no persona labels.',
    labelledDimensions: [],
    files: [events, ...(withCategories ? [treePath, ...propFiles] : [])],
    config: { categories: withCategories ? 'latest categoryid per item, path from category_tree.csv' : 'none' },

    async *events(ctx): AsyncGenerator<Converted> {
      const categoryOf = await categories(ctx);
      let header = true;
      for await (const line of readLines(events, { onBytes: ctx.onBytes })) {
        if (header) {
          header = false;
          if (line.startsWith('timestamp')) continue;
        }
        if (line.trim() === '') continue;
        const [ts, visitor, kind, item, transaction] = splitCsv(line);
        const type = TYPES[kind ?? ''];
        const t = Number(ts);
        if (!visitor || !item) yield { skip: 'malformed_line' };
        else if (type === undefined) yield { skip: 'unknown_event' };
        else if (!Number.isFinite(t) || t <= 0) yield { skip: 'invalid_timestamp' };
        else {
          const properties: Record<string, string> = {};
          if (transaction) properties.transaction_id = transaction;
          yield {
            event: newEvent({
              eventId: `rr-${visitor}-${ts}-${kind}-${item}`,
              tenant: ctx.tenant,
              userId: visitor,
              eventTimeMs: t,
              type,
              item: newItem({ id: item, categoryPath: categoryOf(item) }),
              quantity: type === EventType.PURCHASE || type === EventType.ADD_TO_CART ? 1 : 0,
              properties,
              runId: ctx.runId,
            }),
          };
        }
      }
    },

    async *truths(): AsyncGenerator<GroundTruth> {},
  };
}
