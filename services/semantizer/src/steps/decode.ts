import { fromBinary } from '@bufbuild/protobuf';
import { type EventRecord, EventRecordSchema } from '@personastream/contracts';
import type { StepResult } from '../core/types.js';
import { decodeEventRecordFast } from './fast-decode.js';

/** Header the simulator (and ingest) put on deliberately malformed payloads (raw JSON bytes). */
export const MALFORMED_HEADER = 'ps-malformed';

export interface DecodeInput {
  value: Uint8Array;
  headers?: Record<string, string>;
}

/**
 * Bytes → `EventRecord`. DLQ reasons: `malformed_event` (flagged by the producer), `empty_payload`,
 * `invalid_protobuf` (not decodable), `empty_record` (decodes to a record with neither payload).
 * JSON bytes are rejected even without the header: a protobuf `EventRecord` never starts with `{`
 * (it would be field 15 as a group), and raw JSON must not be misread as a valid record.
 */
export function createDecodeStep(): (input: DecodeInput) => StepResult<EventRecord> {
  return (input) => {
    if (input.headers?.[MALFORMED_HEADER] === '1') return { type: 'dlq', reason: 'malformed_event' };
    if (input.value.byteLength === 0) return { type: 'dlq', reason: 'empty_payload' };
    if (input.value[0] === 0x7b) return { type: 'dlq', reason: 'invalid_protobuf' };
    let record: EventRecord;
    try {
      // events take the direct decoder; markers and anything unusual take protobuf-es
      record = decodeEventRecordFast(input.value) ?? fromBinary(EventRecordSchema, input.value);
    } catch {
      return { type: 'dlq', reason: 'invalid_protobuf' };
    }
    if (record.kind.case === undefined) return { type: 'dlq', reason: 'empty_record' };
    return { type: 'ok', value: record };
  };
}
