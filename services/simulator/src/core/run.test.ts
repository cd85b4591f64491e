import { createHash } from 'node:crypto';
import { create, fromBinary, fromJsonString, toBinary } from '@bufbuild/protobuf';
import {
  BehaviorEventSchema,
  canonicalEventJson,
  DIMENSIONS,
  EventRecordSchema,
  EventType,
} from '@personastream/contracts';
import { describe, expect, it } from 'vitest';
import { Noise, runContext } from './behaviour.js';
import { ITEM_FACTOR_NAMES, ITEM_FACTORS } from './catalogue.js';
import { simulatorConfig } from './config.js';
import { eventRecordBinary } from './event-binary.js';
import { eventJson, toBehaviorEvent } from './event-json.js';
import { type SimRecord, simulateRawUser, simulateUserLines, simulateUsers, userRecords } from './run.js';

const config = simulatorConfig({ users: 25, seed: 11 });
const small = simulatorConfig({ users: 10, seed: 11 });

function runHash(c = config): string {
  const h = createHash('sha256');
  for (const { records } of simulateUsers(c)) {
    for (const r of records) {
      if (r.kind === 'event') h.update(`${canonicalEventJson(r.event)}\n`);
      else if (r.kind === 'malformed') h.update(`M ${r.key} ${r.reason} ${r.json}\n`);
      else h.update(`T ${JSON.stringify(r.truth.tags)} ${r.truth.referenceSummary}\n`);
    }
  }
  return h.digest('hex');
}

/**
 * Golden run hashes (10 users, seed 1). Generation must not change a byte unless a change means to;
 * then check the diff comes from that change only and update the hash in the same commit, saying why.
 * Last change: item-level taste (`itemTaste`, default 0.75) and `catalogueSeed` (default 1). With
 * itemTaste 0 the run is byte-identical to before item taste existed (GOLDEN.noTaste, unchanged).
 */
const GOLDEN = {
  noTaste: '4ebc88851d26ecda6aa74d6a4f60f5b5d669f10ad2edba04df1e8587f10456ea',
  defaults: 'e2e702d37a0c31afdf3e50c84969db4fba0be7cefc8d4ae5b53724a54bdfb36a',
};

describe('golden runs', { timeout: 30_000 }, () => {
  it('reproduces the run of before item taste with itemTaste 0 and catalogueSeed 1', () => {
    expect(runHash(simulatorConfig({ users: 10, seed: 1, itemTaste: 0, catalogueSeed: 1 }))).toBe(GOLDEN.noTaste);
  });

  it('matches the golden hash with the default config', () => {
    expect(runHash(simulatorConfig({ users: 10, seed: 1 }))).toBe(GOLDEN.defaults);
  });
});

describe('run generation', { timeout: 30_000 }, () => {
  it('is deterministic: same config ⇒ identical records; another seed differs', () => {
    const a = runHash(small);
    expect(runHash(small)).toBe(a);
    expect(runHash(simulatorConfig({ users: 10, seed: 12 }))).not.toBe(a);
  });

  it('generates each user independently of the others', () => {
    const all = [...simulateUsers(config)];
    const ctx = runContext(simulatorConfig({ users: 5000, seed: 11, runId: config.runId }));
    const alone = userRecords(simulateRawUser(ctx, 17));
    const strip = (rs: SimRecord[]) => rs.map((r) => (r.kind === 'event' ? canonicalEventJson(r.event) : r.kind));
    expect(strip(alone)).toEqual(strip(all[17]?.records ?? []));
  });

  it('renders canonical JSON directly, byte for byte equal to canonicalEventJson', () => {
    const ctx = runContext(config);
    let n = 0;
    for (let i = 0; i < 12; i++) {
      const raw = simulateRawUser(ctx, i);
      for (const e of raw.behaviour.events) {
        const msg = toBehaviorEvent(ctx.catalogue, raw.json, e);
        const fast = eventJson(ctx.catalogue, raw.json, e);
        if (fast !== canonicalEventJson(msg)) expect(fast).toBe(canonicalEventJson(msg));
        n++;
      }
      // The message objects are real protobuf-es messages: binary round trip through EventRecord.
      const first = toBehaviorEvent(ctx.catalogue, raw.json, raw.behaviour.events[0] as never);
      const rec = create(EventRecordSchema, { kind: { case: 'event', value: first } });
      const back = fromBinary(EventRecordSchema, toBinary(EventRecordSchema, rec));
      expect(back.kind.case === 'event' && canonicalEventJson(back.kind.value)).toBe(canonicalEventJson(first));
    }
    expect(n).toBeGreaterThan(1500);
    // The binary fast path (publishing) equals protobuf-es toBinary of EventRecord{event}.
    const raw = simulateRawUser(ctx, 3);
    let checked = 0;
    for (const e of raw.behaviour.events) {
      const rec = create(EventRecordSchema, {
        kind: { case: 'event', value: toBehaviorEvent(ctx.catalogue, raw.json, e) },
      });
      const fast = eventRecordBinary(ctx.catalogue, raw.json, e);
      const ref = toBinary(EventRecordSchema, rec);
      if (Buffer.compare(Buffer.from(fast), Buffer.from(ref)) !== 0) throw new Error(`binary differs for ${e.seq}`);
      checked++;
    }
    expect(checked).toBeGreaterThan(50);
    const lines = [...simulateUserLines(config)].slice(0, 3);
    const records = [...simulateUsers(config)].slice(0, 3);
    expect(lines.map((u) => u.lines)).toEqual(
      records.map((u) => u.records.flatMap((r) => (r.kind === 'event' ? [canonicalEventJson(r.event)] : []))),
    );
  });

  it('emits events in receipt order with late, out-of-order and duplicate deliveries', () => {
    let outOfOrder = 0;
    let duplicates = 0;
    let events = 0;
    for (const { userId, records } of simulateUsers(config)) {
      const seen = new Set<string>();
      let maxTime = 0;
      let lastReceived = 0;
      const bad: string[] = [];
      for (const r of records) {
        if (r.kind !== 'event') continue;
        const e = r.event;
        events++;
        if (!new RegExp(`^${config.runId}-${userId}-\\d+$`).test(e.eventId)) bad.push(`id ${e.eventId}`);
        if (e.userId !== userId || e.tenant !== 'demo' || e.runId !== config.runId) bad.push(`ids of ${e.eventId}`);
        if (e.receivedTimeMs < e.eventTimeMs) bad.push(`received before it happened: ${e.eventId}`);
        if (e.receivedTimeMs < lastReceived) bad.push(`not in receipt order: ${e.eventId}`);
        lastReceived = e.receivedTimeMs;
        if (e.eventTimeMs < maxTime) outOfOrder++;
        maxTime = Math.max(maxTime, e.eventTimeMs);
        if (seen.has(e.eventId)) duplicates++;
        seen.add(e.eventId);
        if (
          e.eventTimeMs < config.startTimeMs ||
          e.eventTimeMs >= config.startTimeMs + (config.horizonDays + 1) * 86_400_000
        )
          bad.push(`outside the horizon: ${e.eventId}`);
      }
      expect(bad).toEqual([]);
      const truth = records[records.length - 1];
      expect(truth?.kind).toBe('truth');
    }
    expect(outOfOrder / events).toBeGreaterThan(0.002);
    expect(duplicates / events).toBeGreaterThan(0.003);
  });

  it('covers the funnel, ratings, shares and devices; typo searches and noise kinds exist', () => {
    const types = new Set<EventType>();
    const devices = new Set<string>();
    let typos = 0;
    let tinyDwell = 0;
    for (const { records } of simulateUsers(config)) {
      for (const r of records) {
        if (r.kind !== 'event') continue;
        types.add(r.event.type);
        devices.add(r.event.context?.device ?? '');
        if (r.event.type === EventType.SEARCH && r.event.properties.results === '0') typos++;
        if (r.event.type === EventType.ITEM_VIEW && r.event.dwellMs < 1500) tinyDwell++;
      }
    }
    for (const t of [
      EventType.PAGE_VIEW,
      EventType.ITEM_VIEW,
      EventType.SEARCH,
      EventType.ADD_TO_CART,
      EventType.REMOVE_FROM_CART,
      EventType.PURCHASE,
      EventType.RATE,
      EventType.REVIEW,
      EventType.SHARE,
      EventType.FAVORITE,
    ])
      expect(types, EventType[t]).toContain(t);
    expect([...devices].sort()).toEqual(['desktop', 'mobile', 'tablet']);
    expect(typos).toBeGreaterThan(0);
    expect(tinyDwell).toBeGreaterThan(0);
    const ctx = runContext(config);
    const kinds = new Set<number>();
    for (let i = 0; i < 25; i++) for (const e of simulateRawUser(ctx, i).behaviour.events) kinds.add(e.noise);
    expect([...kinds].sort()).toEqual([Noise.none, Noise.duplicate, Noise.bot, Noise.accidental].sort());
  });

  it('adds malformed records that are not valid events, keyed like the user', () => {
    const c = simulatorConfig({ users: 20, seed: 3, malformedRate: 0.02 });
    const reasons = new Set<string>();
    let n = 0;
    for (const { userId, records } of simulateUsers(c)) {
      for (const r of records) {
        if (r.kind !== 'malformed') continue;
        n++;
        reasons.add(r.reason);
        expect(r.key).toBe(`demo/${userId}`);
        let valid = true;
        try {
          const e = fromJsonString(BehaviorEventSchema, r.json);
          valid = e.userId !== '' && e.eventId !== '' && e.eventTimeMs > 0;
        } catch {
          valid = false;
        }
        expect(valid, `${r.reason}: ${r.json.slice(0, 80)}`).toBe(false);
      }
    }
    expect(n).toBeGreaterThan(20);
    expect([...reasons].sort()).toEqual([
      'bad_timestamp',
      'missing_event_id',
      'missing_user_id',
      'truncated_json',
      'unknown_event_type',
    ]);
    expect(
      [...simulateUsers(simulatorConfig({ users: 5, malformedRate: 0 }))]
        .flatMap((u) => u.records)
        .some((r) => r.kind === 'malformed'),
    ).toBe(false);
  });

  it('never leaks truth labels into event payloads', () => {
    // Every schema value that is not also an everyday word of a catalogue path: snake_case values
    // (new_parent, night_owl, power_user, bargain_hunter, moved_home…) and a few single words.
    const labels = new Set<string>();
    for (const d of DIMENSIONS) for (const v of d.values) if (v.includes('_')) labels.add(v);
    for (const w of [
      'retiree',
      'empty nester',
      'night owl',
      'early bird',
      'power user',
      'bargain hunter',
      'impulse buyer',
      'brand loyal',
      'premium seeker',
      'price_sensitivity',
      'income_tier',
      'life_stage',
      'trajectory',
      'engagement',
    ])
      labels.add(w);
    const c = simulatorConfig({ users: 40, seed: 5 });
    let lines = 0;
    for (const u of simulateUserLines(c)) {
      for (const line of u.lines) {
        const lower = line.toLowerCase();
        for (const l of labels) if (lower.includes(l)) throw new Error(`label "${l}" leaked into ${line}`);
        lines++;
      }
      // The truth does carry them.
      const truthJson = JSON.stringify(u.truth.tags.map((t) => t.value));
      expect(truthJson.length).toBeGreaterThan(10);
    }
    expect(lines).toBeGreaterThan(4000);
    // Sanity: the scan would catch a leak.
    expect([...labels].some((l) => 'x new_parent y'.includes(l))).toBe(true);
  });

  it('averages a few hundred events per user with defaults', () => {
    const c = simulatorConfig({ users: 150, seed: 1 });
    let events = 0;
    for (const u of simulateUserLines(c)) events += u.lines.length;
    expect(events / 150).toBeGreaterThan(200);
    expect(events / 150).toBeLessThan(600);
  });

  it('keeps the catalogue across run seeds (catalogueSeed) and changes it with catalogueSeed', () => {
    const a = runContext(simulatorConfig({ users: 5, seed: 21 }));
    const b = runContext(simulatorConfig({ users: 5, seed: 22 }));
    const c = runContext(simulatorConfig({ users: 5, seed: 21, catalogueSeed: 2 }));
    expect(b.catalogue).toBe(a.catalogue);
    expect(a.catalogue.seed).toBe(1);
    expect(c.catalogue.seed).toBe(2);
    expect(c.catalogue.itemTitle).not.toEqual(a.catalogue.itemTitle);
  });

  it('item taste tilts listing views toward items whose factors suit the user; personas do not change', () => {
    const g = ITEM_FACTOR_NAMES.indexOf('gender');
    // Mean gender factor of the items a user viewed in listings, female minus male users.
    const tilt = (itemTaste: number) => {
      const ctx = runContext(simulatorConfig({ users: 40, seed: 4, itemTaste }));
      const sum = { female: 0, male: 0 };
      const n = { female: 0, male: 0 };
      const truths: string[] = [];
      for (let i = 0; i < 40; i++) {
        const raw = simulateRawUser(ctx, i);
        truths.push(JSON.stringify(raw.persona));
        for (const e of raw.behaviour.events) {
          if (e.type !== EventType.ITEM_VIEW || e.noise !== Noise.none || e.session.kind !== 'own') continue;
          sum[raw.persona.gender] += ctx.catalogue.itemFactors[e.item * ITEM_FACTORS + g] as number;
          n[raw.persona.gender]++;
        }
      }
      return { tilt: sum.female / n.female - sum.male / n.male, truths };
    };
    const off = tilt(0);
    const on = tilt(simulatorConfig().itemTaste);
    expect(Math.abs(off.tilt)).toBeLessThan(0.1);
    expect(on.tilt).toBeGreaterThan(0.3);
    expect(on.truths).toEqual(off.truths);
  });
});
