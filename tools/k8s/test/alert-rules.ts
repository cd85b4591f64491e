/**
 * Checks of Prometheus alerting rules against the code that exports the metrics: PromQL syntax (the
 * Prometheus project's own Lezer grammar, as in its web UI), the metric names an expression selects,
 * and the metric names the services register (`new Counter|Gauge|Histogram({ name: '…' })` in their
 * sources; a histogram also exports `_bucket`, `_sum` and `_count`).
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parser } from '@prometheus-io/lezer-promql';

/** Series Prometheus itself writes for every target (not exported by a service). */
export const PROMETHEUS_SERIES = new Set(['up', 'scrape_duration_seconds', 'scrape_samples_scraped']);

/** Parses a PromQL expression: the metric names it selects, or the offset of its first syntax error. */
export function selectedMetrics(expr: string): { metrics: string[]; errorAt?: number } {
  const metrics = new Set<string>();
  let errorAt: number | undefined;
  parser.parse(expr).iterate({
    enter: (node) => {
      if (node.type.isError && errorAt === undefined) errorAt = node.from;
      if (node.name === 'Identifier' && node.node.parent?.name === 'VectorSelector') {
        metrics.add(expr.slice(node.from, node.to));
      }
    },
  });
  return { metrics: [...metrics].sort(), ...(errorAt !== undefined ? { errorAt } : {}) };
}

const METRIC_CONSTRUCTOR = /new (Counter|Gauge|Histogram|Summary)\(\{\s*name: '([a-z_:][a-z0-9_:]*)'/g;

/** The metric series the TypeScript sources under `dirs` register (test files excluded). */
export function exportedMetrics(dirs: readonly string[]): Set<string> {
  const out = new Set<string>();
  for (const file of dirs.flatMap(sourceFiles)) {
    for (const m of readFileSync(file, 'utf8').matchAll(METRIC_CONSTRUCTOR)) {
      const [, kind, name] = m as unknown as [string, string, string];
      out.add(name);
      if (kind === 'Histogram') for (const s of ['_bucket', '_sum', '_count']) out.add(name + s);
      if (kind === 'Summary') for (const s of ['_sum', '_count']) out.add(name + s);
    }
  }
  return out;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return name === 'node_modules' || name === 'dist' ? [] : sourceFiles(path);
    return name.endsWith('.ts') && !name.endsWith('.test.ts') ? [path] : [];
  });
}
