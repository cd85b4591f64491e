import { lowerBound, upperBound } from '../core/sorted.js';
import type { CleanStep } from './context.js';

export interface BotFilterDeps {
  /** Half-width of the density window, ms. */
  radiusMs: number;
  /** Events of one user within ±radius that make a burst no human produces. */
  minEvents: number;
}

/** User agents of crawlers, monitors and scripted clients. */
export const CRAWLER_UA =
  /bot\b|bot\/|crawl|spider|slurp|scrap|headless|phantomjs|python-requests|python-urllib|curl\/|wget|httpclient|okhttp|go-http-client|java\/|libwww|facebookexternalhit|monitor|pingdom|lighthouse/i;

/**
 * Crawler and bot-burst filtering. `crawler`: the user agent is a known crawler or script (flagged
 * when the event is decoded). `bot_burst`: at least `minEvents` events of the same user within
 * ±`radiusMs` of this one (default 8 within ±5 s: a human does not act every 1.25 s for seconds on
 * end). The density is counted over events that passed id de-duplication.
 */
export function createBotFilterStep(deps: BotFilterDeps): CleanStep {
  return (e, ctx) => {
    if (e.bot === 1) return { type: 'drop', reason: 'crawler' };
    const times = ctx.times;
    const lo = lowerBound(times, e.t - deps.radiusMs);
    const hi = upperBound(times, e.t + deps.radiusMs);
    if (hi - lo >= deps.minEvents) return { type: 'drop', reason: 'bot_burst' };
    return { type: 'ok', value: e };
  };
}
