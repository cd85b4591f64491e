import type { RunReport } from '@personastream/evaluator';

const PAPER = { tag_avg_at_k: 0.7325, acc_ex: 0.7528, compression_bytes: 0.979 };

const f = (v: number | null | undefined, digits = 4) =>
  v === null || v === undefined || Number.isNaN(v) ? '—' : v.toFixed(digits);
const pct = (v: number | null | undefined) => (v === null || v === undefined ? '—' : `${(v * 100).toFixed(2)} %`);

/** The human-readable report of one run: our figures beside the paper's and the baselines. */
export function formatReport(r: RunReport): string {
  const prior = r.baselines.prior;
  const raw = r.baselines.raw_frequency;
  const items = r.baselines.raw_items;
  const lines = [
    '',
    `Run ${r.run_id}  (stack ${r.stack}, backend ${r.backend}, seed ${r.seed ?? '—'}, samples ${r.samples})`,
    `  users ${r.users} (scored: ${r.test_users}, ${r.scored_split === 'test' ? 'test split' : 'all users'}), events ${r.events}, persona updates ${r.updates}`,
    `  wall ${r.wall_s.toFixed(2)} s, ${Math.round(r.events_per_s).toLocaleString('en-US')} events/s`,
    '',
    '  metric               ours      paper     prior     raw-freq  raw-items',
    `  tag Avg@k            ${f(r.tag_avg_at_k)}    ${f(PAPER.tag_avg_at_k)}    ${f(prior?.tag_avg_at_k)}    ${f(raw?.tag_avg_at_k)}    ${f(items?.tag_avg_at_k)}`,
    `  Acc_Ex (summary)     ${f(r.acc_ex)}    ${f(PAPER.acc_ex)}    ${f(prior?.acc_ex)}    ${f(raw?.acc_ex)}    ${f(items?.acc_ex)}`,
    `  hallucination rate   ${f(r.hallucination_rate)}`,
    `  compression (bytes)  ${pct(r.compression_bytes)}   ${pct(PAPER.compression_bytes)}`,
    `  compression (tokens) ${pct(r.compression_tokens)}`,
    `  retention            ${f(r.retention)}    (÷ raw_items; vs unfiltered input ${f(r.retention_vs_unfiltered)})`,
    `  ECE (10 bins)        ${f(r.ece ?? r.calibration_ece)}${items?.ece === undefined || items.ece === null ? '' : `    (raw_items ${f(items.ece)})`}`,
    `  latency p50/p90/p99  ${latency(r)}`,
    `  freshness p50/p99    ${freshness(r)}`,
    '',
    '  per dimension:        ours   bar                   prior  raw-items',
    ...Object.entries(r.tag_per_dimension).map(
      ([d, v]) =>
        `    ${d.padEnd(18)} ${f(v, 3)}  ${bar(v)}  ${f(prior?.per_dimension?.[d], 3)}  ${f(items?.per_dimension?.[d], 3)}`,
    ),
    '',
  ];
  return lines.join('\n');
}

function latency(r: RunReport): string {
  const l = r.latency;
  if (!l || l.count === 0) return '—';
  return `${Math.round(l.p50_ms)} / ${Math.round(l.p90_ms)} / ${Math.round(l.p99_ms)} ms (event ingest → persona update)`;
}

function freshness(r: RunReport): string {
  if (r.freshness_p50_ms === null || r.freshness_p50_ms === undefined) return '—';
  return `${Math.round(r.freshness_p50_ms)} / ${Math.round(r.freshness_p99_ms ?? 0)} ms (event entry → first persona update showing it)`;
}

function bar(v: number): string {
  return '█'.repeat(Math.round(v * 20)).padEnd(20, '·');
}
