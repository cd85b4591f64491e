import { describe, expect, it } from 'vitest';
import {
  accounted,
  activeUsers,
  dueEvents,
  eventTimeS,
  metricValue,
  quantile,
  soakPlan,
  startMaxEnd,
  WindowTally,
} from './plan.js';

describe('live soak plan', () => {
  const plan = soakPlan({ rate: 400, durationS: 60, sessionS: 6, usersPerS: 20 });

  it('derives sessions from the rate and the arrivals', () => {
    expect(plan.eventsPerSession).toBe(20);
    expect(plan.users).toBe(54 * 20 + 1);
    expect(plan.events).toBe(plan.users * 20);
    expect(plan.concurrentUsers).toBe(120);
    expect(plan.spacingS).toBeCloseTo(6 / 19);
    // the last user's last event is at the end of the run
    expect(eventTimeS(plan, plan.users - 1, 19)).toBeCloseTo(60);
    expect(() => soakPlan({ rate: 0, durationS: 60, sessionS: 6, usersPerS: 20 })).toThrow(/--rate/);
    expect(() => soakPlan({ rate: 10, durationS: 6, sessionS: 6, usersPerS: 1 })).toThrow(/--session-s/);
  });

  it('hands out every event exactly once, in time order, over any slicing of the run', () => {
    const seen = new Set<string>();
    let last = -1;
    for (let t = 0; t < 61; t += 0.37) {
      for (const e of dueEvents(plan, t, t + 0.37)) {
        const key = `${e.user}/${e.k}`;
        expect(seen.has(key)).toBe(false);
        seen.add(key);
        const at = eventTimeS(plan, e.user, e.k);
        expect(at).toBeGreaterThanOrEqual(last);
        last = at;
      }
    }
    expect(seen.size).toBe(plan.events);
    expect(dueEvents(plan, 0, 0)).toEqual([{ user: 0, k: 0 }]);
  });

  it('holds the steady rate in the middle of the run', () => {
    expect(dueEvents(plan, 30, 31).length).toBe(400);
    expect(dueEvents(plan, 0, 1).length).toBeLessThan(400);
  });

  it('counts users active since a time', () => {
    const last = new Float64Array([0, 1000, 5000, 9000]);
    expect(activeUsers(last, 4000)).toBe(2);
    expect(activeUsers(last, 1)).toBe(3);
  });

  it('summarises samples and quantiles', () => {
    expect(quantile([], 0.5)).toBeNull();
    expect(quantile([1, 2, 3, 4], 0.5)).toBe(2);
    expect(quantile([1, 2, 3, 4], 0.99)).toBe(4);
    expect(startMaxEnd([null, 3, 9.04, 5])).toEqual({ start: 3, max: 9, end: 5 });
    expect(startMaxEnd([null])).toEqual({ start: null, max: null, end: null });
  });

  it('accounts final windows once each, with their drops, and not early windows', () => {
    const t = new WindowTally();
    t.add({ windowId: 'e1', provisional: true, eventCount: 5, dropped: {} });
    t.add({ windowId: 'w1', provisional: false, eventCount: 7, dropped: { bot: 2, dup: 1 } });
    t.add({ windowId: 'w1', provisional: false, eventCount: 7, dropped: { bot: 2, dup: 1 } });
    t.add({ windowId: 'w2', provisional: false, eventCount: 3, dropped: {} });
    expect([t.finalWindows, t.earlyWindows, t.finalWindowEvents, t.dropped]).toEqual([2, 1, 10, 3]);
    expect(accounted({ finalWindowEvents: 10, dropped: 3, orphans: 2, dlq: 1 })).toBe(16);
  });

  it('reads a metric from the Prometheus text, summed over labels', () => {
    const text = [
      '# HELP semantizer_state_users users',
      'semantizer_state_users{service="semantizer"} 12',
      'semantizer_orphan_events_total{reason="a"} 2',
      'semantizer_orphan_events_total{reason="b"} 3',
      'semantizer_orphan_events_totalx 100',
    ].join('\n');
    expect(metricValue(text, 'semantizer_state_users')).toBe(12);
    expect(metricValue(text, 'semantizer_orphan_events_total')).toBe(5);
    expect(metricValue(text, 'semantizer_missing')).toBeNull();
  });
});
