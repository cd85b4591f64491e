import { create, type DescMessage, fromBinary, type MessageShape, toBinary, toJsonString } from '@bufbuild/protobuf';
import {
  type BehaviorEvent,
  BehaviorEventSchema,
  type EndOfRun,
  EndOfRunSchema,
} from './gen/personastream/v1/events_pb.js';

/** Encodes a message to bytes. */
export function encode<D extends DescMessage>(schema: D, message: MessageShape<D>): Uint8Array {
  return toBinary(schema, message);
}

/** Decodes bytes; unknown fields are kept (forward compatible). */
export function decode<D extends DescMessage>(schema: D, bytes: Uint8Array): MessageShape<D> {
  return fromBinary(schema, bytes);
}

/** Builds an end-of-run marker. */
export function endOfRun(
  init: Omit<Partial<EndOfRun>, '$typeName'> & { runId: string; partition: number; totalPartitions: number },
): EndOfRun {
  return create(EndOfRunSchema, { producedTimeMs: Date.now(), ...init });
}

/**
 * Canonical JSON of an event: proto3 JSON (camelCase names, defaults omitted), one line. HPR-Bench
 * measures raw bytes as these lines plus a newline each.
 */
export function canonicalEventJson(event: BehaviorEvent): string {
  return toJsonString(BehaviorEventSchema, event);
}
