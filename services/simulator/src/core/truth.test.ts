import { DIMENSION_NAMES, factPhrases, splitOf } from '@personastream/contracts';
import { describe, expect, it } from 'vitest';
import { simulatorConfig } from './config.js';
import { samplePersona } from './persona-sampler.js';
import { groundTruth, keyFacts, referenceSummary } from './truth.js';

const config = simulatorConfig({ users: 300, seed: 4 });

describe('ground truth', () => {
  const personas = Array.from({ length: 300 }, (_, i) => samplePersona(config, i));

  it('has one tag per single-valued dimension, one per interest and per life event (with since)', () => {
    for (const p of personas) {
      const t = groundTruth(p, config);
      expect(t.userId).toBe(p.userId);
      expect(t.tenant).toBe('demo');
      expect(t.runId).toBe(config.runId);
      expect(t.split).toBe(splitOf(p.userId));
      const dims = new Set(t.tags.map((x) => x.dimension));
      for (const d of DIMENSION_NAMES) if (d !== 'life_events' || p.lifeEvents.length > 0) expect(dims).toContain(d);
      expect(t.tags.filter((x) => x.dimension === 'interests').map((x) => x.value)).toEqual(p.interests);
      const le = t.tags.filter((x) => x.dimension === 'life_events');
      expect(le.map((x) => [x.value, x.sinceMs])).toEqual(p.lifeEvents.map((e) => [e.kind, e.timeMs]));
      for (const x of t.tags) if (x.dimension !== 'life_events') expect(x.sinceMs).toBe(0);
    }
  });

  it('lists key facts: one per scored dimension value and one per life event', () => {
    for (const p of personas) {
      const facts = keyFacts(p);
      expect(facts).toHaveLength(11 + p.interests.length + p.lifeEvents.length);
    }
  });

  it('writes a 3–6 sentence reference summary stating every key fact and when life events began', () => {
    let withEvents = 0;
    for (const p of personas) {
      const s = referenceSummary(p, config);
      const sentences = s.split(/(?<=\.)\s+(?=[A-Z])/);
      expect(sentences.length).toBeGreaterThanOrEqual(3);
      expect(sentences.length).toBeLessThanOrEqual(6);
      const lower = s.toLowerCase();
      for (const f of keyFacts(p)) {
        const found = factPhrases(f.dimension, f.value).some((ph) => lower.includes(ph));
        expect(found, `${f.dimension}=${f.value} in "${s}"`).toBe(true);
      }
      for (const e of p.lifeEvents) {
        withEvents++;
        expect(s).toContain(new Date(e.timeMs).toISOString().slice(0, 10));
      }
    }
    expect(withEvents).toBeGreaterThan(50);
  });
});
