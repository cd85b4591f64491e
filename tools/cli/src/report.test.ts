import { RunAccumulator } from '@personastream/evaluator';
import { describe, expect, it } from 'vitest';
import { formatReport } from './report.js';

describe('formatReport', () => {
  it('prints raw_items beside the other baselines, both retentions and the ECE', () => {
    const r = new RunAccumulator('r', { tenant: 't' }).report({
      info: { raw_tag_avg_at_k: 0.5 },
      baselines: {
        prior: { tag_avg_at_k: 0.3, acc_ex: 0.2, per_dimension: { age_band: 0.25 } },
        raw_items: { tag_avg_at_k: 0.6, acc_ex: 0.4, ece: 0.125, per_dimension: { age_band: 0.75 } },
      },
    });
    r.tag_avg_at_k = 0.9;
    r.tag_per_dimension = { age_band: 0.5 };
    r.retention = 1.5;
    r.retention_vs_unfiltered = 1.8;
    r.ece = 0.0625;
    const text = formatReport(r);
    expect(text).toMatch(/tag Avg@k\s+0\.9000\s+0\.7325\s+0\.3000\s+—\s+0\.6000/);
    expect(text).toMatch(/retention\s+1\.5000\s+\(÷ raw_items; vs unfiltered input 1\.8000\)/);
    expect(text).toMatch(/ECE \(10 bins\)\s+0\.0625\s+\(raw_items 0\.1250\)/);
    expect(text).toMatch(/age_band\s+0\.500\s+█+·+\s+0\.250\s+0\.750/);
  });
});
