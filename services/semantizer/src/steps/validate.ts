import { type BehaviorEvent, EventType, tenantIdProblem } from '@personastream/contracts';
import type { StepResult } from '../core/types.js';

export interface ValidateDeps {
  /** Earliest plausible event time, epoch ms (default 1990-01-01, as ingest: public datasets such as MovieLens 100K are from the 1990s). */
  minEventTimeMs?: number;
  /** Latest plausible event time, epoch ms (default 2100-01-01). */
  maxEventTimeMs?: number;
}

const KNOWN_TYPES = new Set<number>(Object.values(EventType).filter((v): v is number => typeof v === 'number'));

/**
 * Schema rules a behaviour event must meet before it enters a window. DLQ reasons (snake_case):
 * `missing_event_id`, `missing_tenant`, `invalid_tenant` (not of the tenant id character set,
 * `TENANT_ID_PATTERN`: keys built from it could collide), `missing_user_id`, `missing_event_time`, `invalid_event_time`,
 * `invalid_event_type`, `invalid_price`, `invalid_dwell`, `key_mismatch` (the Kafka key is not
 * `tenant/user_id`, so the event may sit on the wrong partition for its user's state).
 */
export function createValidateStep(
  deps: ValidateDeps = {},
): (event: BehaviorEvent, key?: string) => StepResult<BehaviorEvent> {
  const minT = deps.minEventTimeMs ?? Date.UTC(1990, 0, 1);
  const maxT = deps.maxEventTimeMs ?? Date.UTC(2100, 0, 1);
  // the last valid tenant: consecutive events mostly share one
  let goodTenant = '';
  return (e, key) => {
    if (e.eventId === '') return { type: 'dlq', reason: 'missing_event_id' };
    if (e.tenant === '') return { type: 'dlq', reason: 'missing_tenant' };
    if (e.tenant !== goodTenant) {
      if (tenantIdProblem(e.tenant) !== undefined) return { type: 'dlq', reason: 'invalid_tenant' };
      goodTenant = e.tenant;
    }
    if (e.userId === '') return { type: 'dlq', reason: 'missing_user_id' };
    if (e.eventTimeMs === 0) return { type: 'dlq', reason: 'missing_event_time' };
    if (!Number.isFinite(e.eventTimeMs) || e.eventTimeMs < minT || e.eventTimeMs > maxT) {
      return { type: 'dlq', reason: 'invalid_event_time' };
    }
    if (e.type === EventType.UNSPECIFIED || !KNOWN_TYPES.has(e.type))
      return { type: 'dlq', reason: 'invalid_event_type' };
    const price = e.item?.price ?? 0;
    if (!Number.isFinite(price) || price < 0) return { type: 'dlq', reason: 'invalid_price' };
    if (!Number.isFinite(e.dwellMs) || e.dwellMs < 0) return { type: 'dlq', reason: 'invalid_dwell' };
    if (key !== undefined && !isUserKey(key, e.tenant, e.userId)) return { type: 'dlq', reason: 'key_mismatch' };
    return { type: 'ok', value: e };
  };
}

/** `key === userKey(tenant, userId)` (`tenant/user_id`) without building the key. */
function isUserKey(key: string, tenant: string, userId: string): boolean {
  return (
    key.length === tenant.length + 1 + userId.length &&
    key.charCodeAt(tenant.length) === 0x2f &&
    key.startsWith(tenant) &&
    key.endsWith(userId)
  );
}
