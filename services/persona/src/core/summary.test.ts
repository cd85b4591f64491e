import { describe, expect, it } from 'vitest';
import { statedPhrase, writeSummary } from './summary.js';

const t = (dimension: string, value: string, confidence = 0.9, sinceMs = 0) => ({
  dimension,
  value,
  confidence,
  sinceMs,
  evidenceCount: 1,
});

describe('writeSummary', () => {
  it('states confident facts with their canonical phrases and dates life events', () => {
    const s = writeSummary(
      [
        t('life_stage', 'new_parent'),
        t('age_band', '25-34'),
        t('gender', 'female'),
        t('occupation_group', 'retired'),
        t('income_tier', 'mid'),
        t('price_sensitivity', 'medium'),
        t('shopping_style', 'bargain_hunter'),
        t('primary_device', 'mobile'),
        t('activity_pattern', 'evening'),
        t('engagement_level', 'regular'),
        t('trajectory', 'growing'),
        t('interests', 'cooking', 0.95),
        t('interests', 'travel', 0.8),
        t('life_events', 'new_baby', 0.9, Date.UTC(2026, 1, 14)),
      ],
      { threshold: 0.6, windows: 10, events: 100 },
    );
    expect(s).toContain('This user is a new parent, aged 25-34 and female.');
    expect(s).toContain('This user is retired and has mid income.');
    expect(s).toContain('moderately price sensitive and a bargain hunter');
    expect(s).toContain('mostly on mobile');
    expect(s).toContain('growing engagement');
    expect(s).toContain('interested in cooking and interested in travel');
    expect(s).toContain('had a new baby (since 2026-02-14)');
    const sentences = s.split(/(?<=\.)\s+/);
    expect(sentences.length).toBeGreaterThanOrEqual(3);
    expect(sentences.length).toBeLessThanOrEqual(6);
  });

  it('never states low-confidence or evidence-free facts, and still writes 3 sentences', () => {
    const s = writeSummary(
      [t('age_band', '18-24', 0.3), { ...t('gender', 'male'), evidenceCount: 0 }, t('interests', 'books', 0.9)],
      { threshold: 0.6, windows: 1, events: 4 },
    );
    expect(s).not.toContain('18-24');
    expect(s).not.toContain('male');
    expect(s).toContain('interested in books');
    expect(s.split(/(?<=\.)\s+/)).toHaveLength(3);
    expect(s).toContain('1 session and 4 events');
  });

  it('applies per-dimension thresholds before the global one', () => {
    const tags = [t('age_band', '35-44', 0.7), t('primary_device', 'desktop', 0.55), t('gender', 'female', 0.65)];
    const s = writeSummary(tags, {
      threshold: 0.6,
      thresholds: { age_band: 0.8, primary_device: 0.5 },
      windows: 3,
      events: 30,
    });
    expect(s).not.toContain('35-44');
    expect(s).toContain('desktop');
    expect(s).toContain('female');
  });

  it('never writes negated vocabulary', () => {
    expect(statedPhrase('price_sensitivity', 'low')).toBe('low price sensitivity');
    expect(statedPhrase('age_band', '55+')).toBe('aged 55+');
    const s = writeSummary([t('price_sensitivity', 'low')], { threshold: 0.5, windows: 2, events: 2 });
    expect(s).not.toMatch(/\bnot\b/);
  });
});
