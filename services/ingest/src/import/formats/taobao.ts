import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { EventType, type GroundTruth } from '@personastream/contracts';
import { newEvent, newItem } from '../../core/messages.js';
import { readLines } from '../lines.js';
import type { Converted, ImportSource } from '../types.js';

const TYPES: Readonly<Record<string, EventType>> = {
  pv: EventType.ITEM_VIEW,
  buy: EventType.PURCHASE,
  cart: EventType.ADD_TO_CART,
  fav: EventType.FAVORITE,
};

/**
 * Taobao User Behavior (`UserBehavior.csv`, no header: `user,item,category,behavior,timestamp`, unix
 * seconds) → ITEM_VIEW (pv), PURCHASE (buy, quantity 1), ADD_TO_CART (cart, quantity 1), FAVORITE
 * (fav); category path `[<category id>]`; event id `tb-<user>-<item>-<behavior>-<timestamp>`.
 * Rows with timestamps outside the documented window are kept as they are (replay validation
 * judges them). No labels: no truth.
 */
export async function taobaoSource(path: string): Promise<ImportSource> {
  const s = await stat(path).catch(() => undefined);
  if (!s) throw new Error(`taobao: ${path} does not exist`);
  const file = s.isDirectory() ? join(path, 'UserBehavior.csv') : path;
  if (!(await stat(file).catch(() => undefined))) throw new Error(`taobao: ${file} does not exist`);
  return {
    source: 'taobao-userbehavior',
    license:
      'Taobao User Behavior dataset (Alibaba, Tianchi dataset 649): research use only under the Tianchi terms; cite Zhu et al., "Learning Tree-based Deep Model for Recommender Systems", KDD 2018.',
    description:
      'Taobao clickstream (page views, purchases, carts, favorites) of about one million users; no persona labels.',
    labelledDimensions: [],
    files: [file],
    config: {},

    async *events(ctx): AsyncGenerator<Converted> {
      for await (const line of readLines(file, { onBytes: ctx.onBytes })) {
        if (line.trim() === '') continue;
        const f = line.split(',');
        const [user, item, category, behavior, ts] = f;
        const type = TYPES[behavior ?? ''];
        const seconds = Number(ts);
        if (f.length < 5 || !user || !item) yield { skip: 'malformed_line' };
        else if (type === undefined) yield { skip: 'unknown_event' };
        else if (!Number.isFinite(seconds) || seconds <= 0) yield { skip: 'invalid_timestamp' };
        else {
          yield {
            event: newEvent({
              eventId: `tb-${user}-${item}-${behavior}-${ts}`,
              tenant: ctx.tenant,
              userId: user,
              eventTimeMs: seconds * 1000,
              type,
              item: newItem({ id: item, categoryPath: category ? [category] : [] }),
              quantity: type === EventType.PURCHASE || type === EventType.ADD_TO_CART ? 1 : 0,
              runId: ctx.runId,
            }),
          };
        }
      }
    },

    async *truths(): AsyncGenerator<GroundTruth> {},
  };
}
