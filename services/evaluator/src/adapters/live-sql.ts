/**
 * The live metrics as SQL over `live_updates` (deploy/clickhouse/migrations/004_live_updates.sql):
 * the queries the dashboard's API runs, valid on ClickHouse 18.16 and current releases. The Grafana
 * panels (deploy/grafana/personastream.json) use the same SQL with Grafana's time filter and tenant
 * variable in place of the bound values. Their definitions in TypeScript: core/live.ts
 * (`liveMinutes`, `liveTagDistribution`); the integration tests hold both to the same numbers.
 *
 * Every query reads `FINAL`, so a re-delivered update (same row identity) never counts twice.
 * Minutes are selected by the row's `minute` in [from, to).
 */
import { type SqlFragment, sql } from './sql.js';

const seconds = (ms: number) => Math.floor(ms / 1000);

function range(tenant: string, fromMs: number, toMs: number): SqlFragment {
  return sql`tenant = ${tenant} AND minute >= toDateTime(${seconds(fromMs)}) AND minute < toDateTime(${seconds(toMs)})`;
}

/**
 * Per minute: updates, distinct users, early share, flip rate, mean confidence, freshness
 * p50/p99 (`quantileExact`) and the rolling tag score of labelled users' updates.
 */
export function liveMinutesSql(tenant: string, fromMs: number, toMs: number): SqlFragment {
  return sql`SELECT
    toUInt64(minute) * 1000 AS minute_ms,
    count() AS updates,
    uniqExact(user_id) AS users,
    avg(early) AS early_share,
    countIf(flipped > 0) / count() AS flip_rate,
    avg(mean_confidence) AS avg_confidence,
    count(freshness_ms) AS freshness_count,
    quantileExact(0.5)(freshness_ms) AS freshness_p50_ms,
    quantileExact(0.99)(freshness_ms) AS freshness_p99_ms,
    count(tag_score) AS scored_updates,
    avg(tag_score) AS avg_tag_score
FROM live_updates FINAL
WHERE ${range(tenant, fromMs, toMs)}
GROUP BY minute
ORDER BY minute`;
}

/**
 * Tag value distribution per dimension: each user counts once per period with their latest update
 * (highest persona version) of the period — each minute when `perMinute`, else the whole range; a
 * value's share is its users / the users with any value of that dimension in the period.
 */
export function liveTagDistributionSql(tenant: string, fromMs: number, toMs: number, perMinute = false): SqlFragment {
  const where = range(tenant, fromMs, toMs);
  const m = perMinute ? sql`minute_ms, ` : sql``;
  const latest = (
    columns: SqlFragment,
  ) => sql`SELECT ${perMinute ? sql`toUInt64(minute) * 1000 AS minute_ms, ` : sql``}user_id, ${columns}
        FROM live_updates FINAL
        WHERE ${where}
        GROUP BY ${perMinute ? sql`minute, ` : sql``}user_id`;
  return sql`SELECT ${m}dimension, value, users, users / dim_users AS share
FROM
(
    SELECT ${m}dimension, value, uniqExact(user_id) AS users
    FROM
    (
        ${latest(sql`argMax(tag_dimension, persona_version) AS dims, argMax(tag_value, persona_version) AS vals`)}
    )
    ARRAY JOIN dims AS dimension, vals AS value
    GROUP BY ${m}dimension, value
)
ANY INNER JOIN
(
    SELECT ${m}dimension, uniqExact(user_id) AS dim_users
    FROM
    (
        ${latest(sql`argMax(tag_dimension, persona_version) AS dims`)}
    )
    ARRAY JOIN dims AS dimension
    GROUP BY ${m}dimension
) USING (${m}dimension)
ORDER BY ${m}dimension, users DESC, value`;
}

/**
 * Tenants with live rows since `sinceMs`, with their latest update time. No FINAL: a row counted
 * twice changes neither the tenant set nor the latest time.
 */
export function liveTenantsSql(sinceMs: number): SqlFragment {
  return sql`SELECT tenant, max(time_ms) AS last_ms
FROM live_updates
WHERE minute >= toDateTime(${seconds(sinceMs)})
GROUP BY tenant
ORDER BY tenant`;
}
